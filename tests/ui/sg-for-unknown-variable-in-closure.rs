use sgrad::{grad, sg_for};

fn main() {
    let g = grad!(|x: f64, y: f64| sg_for!(z, x * y) + x);
    let _ = g(1.0, 2.0);
}
