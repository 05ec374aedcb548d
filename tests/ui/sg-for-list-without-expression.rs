use sgrad::{differentiable, sg_for};

#[differentiable(x, y)]
fn f(x: f64, y: f64) -> f64 {
    sg_for!([x, y]) + x
}

fn main() {
    let _ = f(1.0, 2.0);
}
