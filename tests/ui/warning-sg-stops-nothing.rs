#![deny(deprecated)]
use sgrad::{differentiable, sg};

// `sg(..)` of data that carries no derivative.
#[differentiable(x)]
fn f(x: f64, data: &[f64]) -> f64 {
    x * sg(data[0] * 2.0)
}

fn main() {}
