//! Generated code must not trip lints in a crate that denies warnings, and
//! importing `sg_for` must not be reported unused when only annotated code
//! uses it.
#![deny(warnings)]
#![warn(clippy::all, clippy::pedantic)]
// A lint about the user's own function, not the generated one.
#![allow(clippy::many_single_char_names)]

use sgrad::{differentiable, grad, sg, sg_for};

/// Every construct in one function, so each shows its generated code to the lints.
#[differentiable(x, y; forward)]
fn everything(x: f64, y: f64, c: f64) -> f64 {
    let t = x * y;
    let mut s = sg_for!(x, t.sin()) + sg(y).exp() * x;
    if s > c {
        s -= 1.0;
    } else if s < -c {
        return s * 2.0;
    }
    let (a, b) = (s.powi(2), f64::max(x, y));
    a + b * c
}

#[test]
fn lint_clean_code_runs() {
    let (v, (dx, dy)) = everything_grad(0.3, 0.4, 2.0);
    assert_eq!(v.to_bits(), everything(0.3, 0.4, 2.0).to_bits());
    assert!(dx.is_finite() && dy.is_finite());
    let (vj, t) = everything_jvp(0.3, 0.4, 2.0, 1.0, 0.0);
    assert_eq!(vj.to_bits(), v.to_bits());
    assert!((t - dx).abs() <= 1e-12 * dx.abs());
    assert!((everything_jvp(0.3, 0.4, 2.0, 0.0, 1.0).1 - dy).abs() <= 1e-12 * dy.abs());
    let g = grad!(|x: f64| x * x);
    assert_eq!(g(3.0), (9.0, 6.0));
}
