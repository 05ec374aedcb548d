use sgrad::differentiable;

#[differentiable(x)]
fn double(x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for i in 0..x.len() {
        out[i] = 2.0 * x[i];
    }
    out
}

#[differentiable(w; forward)]
fn f(w: &[f64]) -> f64 {
    let d = double(w);
    d[0] * d[1]
}

fn main() {}
