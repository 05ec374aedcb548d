// The documented forms, with every lint the generated code could trip denied.
#![deny(warnings)]

use sgrad::{differentiable, grad, sg, sg_for};

#[differentiable(x, y)]
fn f(x: f64, y: f64, c: f64) -> f64 {
    let t = x * y;
    sg_for!(x, t.sin()) + sg(y).exp() * x + c
}

#[differentiable]
fn g(a: f32, n: i32, b: f32) -> f32 {
    let mut s = a.powi(n) + sg_for!([a, b], a * b);
    if s > 1.0 {
        s *= b;
    }
    s
}

#[differentiable(x)]
pub fn relu(x: f64) -> f64 {
    if x < 0.0 {
        return 0.0;
    }
    x
}

fn main() {
    let (v, (dx, dy)) = f_grad(1.0, 2.0, 3.0);
    assert_eq!(v, f(1.0, 2.0, 3.0));
    assert!((dx - 2f64.exp()).abs() < 1e-12);
    assert!((dy - 2f64.cos()).abs() < 1e-12);

    let (w, (da, db)) = g_grad(2.0, 2, 3.0);
    assert_eq!(w, g(2.0, 2, 3.0));
    assert_eq!((da, db), (12.0, 10.0));

    assert_eq!(relu_grad(-1.0), (0.0, 0.0));
    assert_eq!(relu_grad(2.0), (2.0, 1.0));

    let scale = 3.0;
    let h = grad!(|x: f64, y: f64| scale * x * y + sg_for!(y, x * y));
    assert_eq!(h(2.0, 5.0), (40.0, (20.0, 6.0)));
    let k = grad!(|x: f64, y: f64| x * y, wrt(y));
    assert_eq!(k(2.0, 5.0), (10.0, 2.0));
}
