#[differentiable(x, w)]
fn weighted(x: &[f64], w: f64, tol: f64) -> f64 {
    let mut s = 0.0;
    for (i, v) in x.iter().enumerate() {
        let t = (w * v).tanh();
        s += t * i as f64;
    }
    let mut r = s;
    while r * r > tol {
        r = sg_for!(w, r.sin()) * 0.5;
    }
    r + x.iter().sum::<f64>()
}
