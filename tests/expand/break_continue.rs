#[differentiable(a)]
fn f2(a: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        if a[i] < 0.0 {
            continue;
        }
        s += a[i] * a[i];
        if s > 4.0 {
            break;
        }
        s += sg(a[i]) * a[i];
    }
    s
}
