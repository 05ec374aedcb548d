use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    if x > 0.0 {
        return;
    }
    x
}

fn main() {
    let _ = f(1.0);
}
