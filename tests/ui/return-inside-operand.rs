use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    f64::max(x, return 2.0 * x)
}

fn main() {
    let _ = f(1.0);
}
