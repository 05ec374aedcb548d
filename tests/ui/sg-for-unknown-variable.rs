use sgrad::{differentiable, sg_for};

#[differentiable(x)]
fn f(x: f64) -> f64 {
    sg_for!(phi, x * x) + x
}

fn main() {
    let _ = f(1.0);
}
