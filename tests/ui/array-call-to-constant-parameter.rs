use sgrad::differentiable;

#[differentiable(x)]
fn scaled(x: &[f64], s: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for i in 0..x.len() {
        out[i] = s[i] * x[i];
    }
    out
}

#[differentiable(w)]
fn f(w: &[f64]) -> f64 {
    let y = scaled(&[1.0, 2.0], w);
    y[0] + y[1]
}

fn main() {}
