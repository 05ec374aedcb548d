use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let t = if x > 0.0 { (x, 1.0) } else { x };
    t.0
}

fn main() {
    let _ = f(1.0);
}
