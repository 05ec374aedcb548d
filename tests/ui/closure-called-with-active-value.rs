use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let square = |t: f64| t * t;
    square(x) + 1.0
}

fn main() {
    let _ = f(1.0);
}
