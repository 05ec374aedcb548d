#[differentiable(w, x)]
fn layer(w: &[f64], x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; w.len()];
    for i in 0..w.len() {
        out[i] = (w[i] * x[i]).tanh();
    }
    out
}

#[differentiable(w)]
fn unroll(w: &[f64], xs: &[f64]) -> f64 {
    let mut h = vec![0.0; w.len()];
    for t in 0..xs.len() {
        h[0] += xs[t];
        h = layer(w, &h);
    }
    h[0] * h[1]
}
