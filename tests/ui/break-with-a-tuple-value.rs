use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let r = loop {
        if x > 0.0 {
            break (x, x);
        }
    };
    r.0
}

fn main() {}
