use sgrad::{differentiable, sg_for};

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += sg_for!(z, i as f64);
    }
    x * s
}

fn main() {
    let _ = f(1.0);
}
