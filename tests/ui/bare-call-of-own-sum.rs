use sgrad::differentiable;

/// The user's own `sum`, not `sgrad::sum`.
fn sum(v: &[f64]) -> f64 {
    v.iter().map(|t| t * t).sum()
}

#[differentiable(x)]
fn f(x: &[f64]) -> f64 {
    sum(x) * 2.0
}

fn main() {
    let _ = f(&[1.0]);
}
