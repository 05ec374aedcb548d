use sgrad::differentiable;

fn split(t: f64) -> (f64, f64) {
    (t, 2.0 * t)
}

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let (a, b) = split(x);
    a * b
}

fn main() {
    let _ = f(1.0);
}
