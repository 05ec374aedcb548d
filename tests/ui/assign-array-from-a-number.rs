use sgrad::differentiable;

#[differentiable(x)]
fn total(x: &[f64]) -> f64 {
    x[0] + x[1]
}

#[differentiable(w)]
fn f(w: &[f64]) -> f64 {
    let mut h = vec![w[0], w[1]];
    h = total(&h);
    h[0]
}

fn main() {}
