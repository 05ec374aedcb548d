use sgrad::{differentiable, sg_for, Differentiable};

#[derive(Clone, Differentiable)]
struct Net {
    w: f64,
    b: f64,
}

#[differentiable(net)]
fn f(net: &Net, x: f64) -> f64 {
    net.w * x + sg_for!(net.b, net.b * x)
}

fn main() {
    let _ = f(&Net { w: 1.0, b: 2.0 }, 0.5);
}
