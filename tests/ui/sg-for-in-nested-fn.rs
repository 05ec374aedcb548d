use sgrad::{differentiable, sg_for};

#[differentiable(x)]
fn f(x: f64) -> f64 {
    fn inner(t: f64) -> f64 {
        sg_for!(t, t * t)
    }
    x * inner(2.0)
}

fn main() {
    let _ = f(1.0);
}
