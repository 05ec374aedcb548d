//! Valid Rust that once was rejected: an integer index computed from a
//! differentiated value, a constant tuple destructured, a diverging body.
use sgrad::differentiable;

const PAIR: (f64, f64) = (2.0, 3.0);

/// The index is an integer: no derivative flows through it.
#[differentiable(x)]
fn lookup(x: f64, table: [f64; 4]) -> f64 {
    table[x as usize] * x
}

#[differentiable(x)]
fn scaled(x: f64) -> f64 {
    let (a, b) = PAIR;
    x * a * b
}

#[differentiable(x)]
#[allow(unreachable_code, clippy::diverging_sub_expression)]
fn unfinished(x: f64) -> f64 {
    let _y = x * 2.0;
    unimplemented!();
}

fn main() {
    let table = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(lookup_grad(1.5, table), (3.0, 2.0));
    assert_eq!(scaled_grad(1.0), (6.0, 6.0));
    let _ = (unfinished as fn(f64) -> f64, unfinished_grad as fn(f64) -> (f64, f64));
    // 1.5 → 3 → 6 → 12: three doublings, derivative 8.
    assert_eq!(doubling_grad(1.5), (12.0, 8.0));
}

/// `while` with a float condition on a carried value.
#[differentiable(x)]
fn doubling(x: f64) -> f64 {
    let mut s = x;
    while s < 10.0 {
        s *= 2.0;
    }
    s
}

