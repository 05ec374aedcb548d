#![deny(deprecated)]
use sgrad::{differentiable, sg_for};

// `sg_for!(y, ..)` around a value that does not depend on `y`: the stop was
// meant for `x`, or belongs around another expression.
#[differentiable(x, y)]
fn f(x: f64, y: f64) -> f64 {
    sg_for!(y, x.sin()) * y + x
}

fn main() {}
