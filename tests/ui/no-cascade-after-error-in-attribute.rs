// A misspelled variable in the attribute should be the only error: the
// caller destructures the gradient the way the attribute was meant.
use sgrad::differentiable;

#[differentiable(x, yy)]
fn f(x: f64, y: f64) -> f64 {
    x * y
}

fn main() {
    let v: f64 = f(1.0, 2.0);
    let (v2, (dx, dy)) = f_grad(1.0, 2.0);
    assert_eq!(v, v2 + dx + dy);
}
