use sgrad::{differentiable, sg, sg_for};

#[differentiable(x, y)]
fn f(x: f64, y: f64, c: f64) -> f64 {
    let t = x * y;
    sg_for!(x, t.sin()) + sg(y).exp() * x + c
}

fn main() {
    let v = f(1.0, 2.0, 3.0);
    let (v2, (dx, dy)) = f_grad(1.0, 2.0, 3.0);
    println!("{v} {v2} {dx} {dy}");
}
