use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64, n: Option<u32>) -> f64 {
    match n {
        Some(k) => x * f64::from(k),
        None => 2.0 * x,
    }
}

fn main() {
    let _ = f(1.0, Some(2));
}
