use sgrad::differentiable;

#[derive(Clone)]
struct Net {
    w: f64,
}

#[differentiable(net)]
fn f(net: &Net, x: f64) -> f64 {
    net.w * x
}

fn main() {
    let _ = f(&Net { w: 1.0 }, 0.5);
}
