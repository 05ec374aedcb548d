use sgrad::differentiable;

fn helper(t: f64) -> f64 {
    t * t
}

#[differentiable(x)]
fn f(x: f64) -> f64 {
    helper(x) + 1.0
}

fn main() {
    let _ = f(1.0);
}
