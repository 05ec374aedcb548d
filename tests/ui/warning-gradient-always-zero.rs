#![deny(deprecated)]
use sgrad::{differentiable, sg};

// `y` is listed, but read only inside `sg`: its gradient is always zero.
#[differentiable(x, y)]
fn f(x: f64, y: f64) -> f64 {
    x * sg(y).exp()
}

fn main() {}
