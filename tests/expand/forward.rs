#[differentiable(x, w; forward)]
fn forward_mode(x: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (w * x[i]).tanh();
    }
    if s > 1.0 { s.ln() } else { s * w }
}
