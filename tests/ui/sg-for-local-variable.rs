use sgrad::{differentiable, sg_for};

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let t = x * x;
    sg_for!(t, t.sin()) + x
}

fn main() {
    let _ = f(1.0);
}
