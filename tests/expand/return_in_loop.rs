#[differentiable(x)]
fn early_return(x: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
        if s > t {
            return s.sqrt() * x[i];
        }
    }
    s * 2.0
}
