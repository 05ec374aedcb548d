use sgrad::differentiable;

#[differentiable(k)]
fn f(x: f64, k: i32) -> f64 {
    x.powi(k)
}

fn main() {
    let _ = f(1.0, 2);
}
