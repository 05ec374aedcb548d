//! Programs that once gave a wrong value or gradient, each against a
//! hand-derived derivative, in reverse and forward mode. The name of each
//! test says what went wrong.

#![allow(
    clippy::needless_range_loop,
    clippy::never_loop,
    clippy::assign_op_pattern,
    clippy::useless_vec,
    unused_mut
)]

use sgrad::differentiable;

/// `total = x + 2x`: the store in the inner loop doubles `h[0]` for the
/// second iteration.
#[differentiable(x; forward)]
fn store_in_inner_loop(x: f64) -> f64 {
    let mut h = vec![x];
    let mut total = 0.0;
    for _k in 0..2 {
        total += h[0];
        for i in 0..1 {
            h[i] = h[i] * 2.0;
        }
    }
    total
}

/// The same store inside an `if`.
#[differentiable(x; forward)]
fn store_in_if(x: f64) -> f64 {
    let mut h = vec![x];
    let mut total = 0.0;
    for k in 0..2 {
        total += h[0];
        if k == 0 {
            h[0] = h[0] * 2.0;
        }
    }
    total
}

/// `push` in an inner loop, read by the next outer iteration: the sum of
/// `x, x², x⁴` is `x + x² + x⁴`.
#[differentiable(x; forward)]
fn push_in_inner_loop(x: f64) -> f64 {
    let mut s = vec![x];
    let mut total = 0.0;
    for k in 0..3 {
        total += s[k];
        for _ in 0..1 {
            let last = s[k];
            s.push(last * last);
        }
    }
    total
}

/// A `loop` whose body shadows the variable the function returns.
#[differentiable(x; forward)]
fn shadow_in_loop_with_break(x: f64) -> f64 {
    let mut t = x;
    loop {
        let mut t = 0.5;
        t += t;
        let _ = t;
        break;
    }
    t
}

#[test]
fn a_store_nested_in_a_loop_body_reaches_earlier_iterations() {
    for x in [1.0, -0.7, 2.5] {
        let want = 3.0;
        assert_eq!(store_in_inner_loop_grad(x), (3.0 * x, want));
        assert_eq!(store_in_inner_loop_jvp(x, 1.0), (3.0 * x, want));
        assert_eq!(store_in_if_grad(x), (3.0 * x, want));
        assert_eq!(store_in_if_jvp(x, 1.0), (3.0 * x, want));
        let d = 1.0 + 2.0 * x + 4.0 * x.powi(3);
        let (v, g) = push_in_inner_loop_grad(x);
        assert_eq!(v, push_in_inner_loop(x));
        assert!((g - d).abs() <= 1e-12 * d.abs(), "{g} vs {d}");
        let (_, t) = push_in_inner_loop_jvp(x, 1.0);
        assert!((t - d).abs() <= 1e-12 * d.abs(), "{t} vs {d}");
    }
}

#[test]
fn a_shadowing_local_in_a_loop_with_an_exit_leaves_the_outer_variable_alone() {
    assert_eq!(shadow_in_loop_with_break(3.0), 3.0);
    assert_eq!(shadow_in_loop_with_break_grad(3.0), (3.0, 1.0));
    assert_eq!(shadow_in_loop_with_break_jvp(3.0, 1.0), (3.0, 1.0));
}
