#[differentiable(x)]
fn relu_sqrt(x: f64, floor: f64) -> f64 {
    if x < floor {
        return 0.0;
    }
    let r = x.sqrt();
    let mut s = r;
    if r > 1.0 {
        s = r * r.ln();
    }
    s
}
