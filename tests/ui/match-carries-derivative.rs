use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64, n: u32) -> f64 {
    match n {
        0 => x,
        _ => 2.0 * x,
    }
}

fn main() {
    let _ = f(1.0, 0);
}
