use sgrad::differentiable;

#[differentiable(t)]
fn inner(t: f64) -> f64 {
    t * t
}

#[differentiable(x)]
fn f(x: f64) -> f64 {
    inner(x) + 1.0
}

fn main() {
    let _ = f(1.0);
}
