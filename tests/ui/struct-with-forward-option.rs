use sgrad::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Net {
    w: f64,
}

#[differentiable(net, x; forward)]
fn f(net: &Net, x: f64) -> f64 {
    net.w * x
}

fn main() {}
