use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let [a, b]: [f64; 2];
    a = x;
    b = x;
    a * b
}

fn main() {
    let _ = f(1.0);
}
