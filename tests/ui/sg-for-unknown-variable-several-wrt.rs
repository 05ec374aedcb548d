use sgrad::{differentiable, sg_for};

#[differentiable(phi1, phi2)]
fn f(phi1: f64, phi2: f64, y: f64) -> f64 {
    sg_for!(phi3, phi1 * phi2) + y
}

fn main() {
    let _ = f(1.0, 2.0, 3.0);
}
