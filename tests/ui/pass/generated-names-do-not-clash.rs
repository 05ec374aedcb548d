// User names that look like generated ones, and shadowing.
use sgrad::{differentiable, sg_for};

#[differentiable(x)]
fn f(x: f64, __ad_1: f64) -> f64 {
    let __ad_x = x * __ad_1;
    let x2 = sg_for!(x, __ad_x * x);
    let __ad_d_x = x2 + __ad_x;
    __ad_d_x
}

fn main() {
    let (v, dx) = f_grad(3.0, 2.0);
    assert_eq!(v, f(3.0, 2.0));
    assert_eq!(dx, 2.0);
}
