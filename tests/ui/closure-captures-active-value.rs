use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let scaled = || x * 2.0;
    scaled() + 1.0
}

fn main() {
    let _ = f(1.0);
}
