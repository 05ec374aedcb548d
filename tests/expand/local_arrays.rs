#[differentiable(w)]
fn layer(w: &[Vec<f64>], x: &[f64]) -> f64 {
    let mut h = vec![0.0; w.len()];
    for i in 0..w.len() {
        for j in 0..x.len() {
            h[i] += w[i][j] * x[j];
        }
        h[i] = h[i].tanh();
    }
    log_sum_exp(&h)
}
