use sgrad::differentiable;

#[differentiable(x)]
fn double(x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for i in 0..x.len() {
        out[i] = 2.0 * x[i];
    }
    out
}

#[differentiable(w)]
fn f(w: &[f64]) -> f64 {
    let mut h = vec![w[0], w[1]];
    let d = double(&h);
    // `double`'s pullback runs in the backward sweep and reads `h` again.
    h[0] = 0.0;
    d[0] + d[1] + h[0]
}

fn main() {}
