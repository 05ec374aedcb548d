//! The README's quick start: `cargo run --example quickstart`.

use sgrad::{differentiable, grad, sg, sg_for, GradCheck};

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

    // Check the gradient against central differences. Differences of `f`
    // itself see no stops, so each variable is checked against its frozen
    // program: the sites that block it replaced by their values at (1, 2).
    let (x0, y0, c) = (1.0_f64, 2.0_f64, 3.0);
    let (point, gradient) = ([x0, y0], [dx, dy]);
    let check = GradCheck::new().variable("x", 1).variable("y", 1);
    let (sin0, exp0) = ((x0 * y0).sin(), y0.exp());
    let p_x = |v: &[f64]| sin0 + exp0 * v[0] + c; // both sites frozen
    let p_y = |v: &[f64]| (v[0] * v[1]).sin() + exp0 * v[0] + c; // sg(y) frozen
    println!(
        "check x: {}",
        check.clone().only("x").assert(p_x, &point, &gradient)
    );
    println!(
        "check y: {}",
        check.clone().only("y").assert(p_y, &point, &gradient)
    );
    // Against `f` with no stops the check fails, and says where.
    let unfrozen = check.run(|v| f(v[0], v[1], c), &point, &gradient);
    assert!(!unfrozen.is_ok());
    println!("check f itself (no stops), as expected:\n{unfrozen}");
}
