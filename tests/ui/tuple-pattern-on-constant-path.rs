use sgrad::differentiable;

const PAIR: (f64, f64) = (1.0, 2.0);

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let (a, b) = PAIR;
    x * a * b
}

fn main() {
    let _ = f(1.0);
}
