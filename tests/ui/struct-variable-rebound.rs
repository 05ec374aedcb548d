use sgrad::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Net {
    w: f64,
}

#[differentiable(net)]
fn f(net: &Net, x: f64) -> f64 {
    let y = net.w * x;
    let net = Net { w: y };
    net.w
}

fn main() {
    let _ = f(&Net { w: 1.0 }, 0.5);
}
