#[differentiable(x, y)]
fn f(x: f64, y: f64, c: f64) -> f64 {
    let t = x * y;
    sg_for!(x, t.sin()) + sg(y).exp() * x + c
}
