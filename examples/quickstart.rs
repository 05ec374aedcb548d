//! The README's quick start: `cargo run --example quickstart`.

use sgrad::{differentiable, grad, sg, sg_for};

/// `sg_for!(x, ..)` is a constant for `x` only; `sg(y)` is a constant for both.
#[differentiable(x, y)]
fn f(x: f64, y: f64, c: f64) -> f64 {
    let t = x * y;
    sg_for!(x, t.sin()) + sg(y).exp() * x + c
}

fn main() {
    let v = f(1.0, 2.0, 3.0);
    let (v2, (dx, dy)) = f_grad(1.0, 2.0, 3.0);
    assert_eq!(v.to_bits(), v2.to_bits());
    println!("f(1, 2, 3)  = {v}");
    println!("df/dx       = {dx}   (exp(2): sin(xy) is blocked for x)");
    println!("df/dy       = {dy}   (x cos(xy): exp(y) is blocked for y)");

    // Closures: captured variables are constants.
    let scale = 3.0;
    let h = grad!(|x: f64, y: f64| scale * x * y + sg_for!(y, x * y));
    let (value, (hx, hy)) = h(2.0, 5.0);
    println!("h(2, 5) = {value}, dh/dx = {hx}, dh/dy = {hy}");
}
