use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    for i in 0..3 {
        if i == 2 {
            return x;
        }
    }
    x * 2.0
}

fn main() {
    let _ = f(1.0);
}
