use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let mut p = (x, 1.0);
    p.1 = 3.0;
    p.0 * p.1
}

fn main() {
    let _ = f(1.0);
}
