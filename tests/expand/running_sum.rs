// A sum over data points with an inner loop: differentiated point by point
// (`sweep/running_sums.rs`), the inner loop's tape shared and reused.
#[differentiable(mu)]
fn sq_dist(mu: &[f64], x: &[Vec<f64>]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        for j in 0..mu.len() {
            s += (x[i][j] - mu[j]).powi(2) * (j as f64 + 1.0).ln();
        }
    }
    s.sqrt()
}
