use sgrad::{differentiable, sg_for};

#[differentiable(x)]
fn f(x: f64, c: f64) -> f64 {
    sg_for!(c, x * c) + x
}

fn main() {
    let _ = f(1.0, 2.0);
}
