use sgrad::differentiable;

#[differentiable(x; backward)]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = f(1.0);
}
