use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let t = (x, 1.0);
    t * 2.0
}

fn main() {
    let _ = f(1.0);
}
