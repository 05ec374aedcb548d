// The error in `f`'s body is the only error: `f` and `f_grad` still exist,
// with their real signatures, so `main` type-checks.
use sgrad::{differentiable, sg_for};

#[differentiable(x, y)]
fn f(x: f64, y: f64, c: f64) -> f64 {
    let s = match Some(c as i32) {
        Some(k) if k == 0 => x,
        _ => 2.0 * x,
    };
    sg_for!(y, s * y) + c
}

fn main() {
    let v: f64 = f(1.0, 2.0, 3.0);
    let (v2, (dx, dy)): (f64, (f64, f64)) = f_grad(1.0, 2.0, 3.0);
    assert_eq!(v, v2 + dx + dy);
}
