use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    f64::rem_euclid(x, 2.0)
}

fn main() {
    let _ = f(1.0);
}
