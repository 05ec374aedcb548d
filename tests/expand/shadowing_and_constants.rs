#[differentiable(x)]
fn shadowed(x: f64, n: usize) -> f64 {
    let mut k = 0.0;
    for i in 0..n {
        k += i as f64;
    }
    let x2 = x * sg(x);
    let x = x2 + k;
    let x = sg_for!(x, x.exp()) + x * std::f64::consts::PI;
    x
}
