//! Calls between differentiated functions: the caller's chain rule uses the
//! callee's own derivative (its `_pullback`), so the callee's `sg_for!` sites
//! refer to the callee's parameters (SEMANTICS.md, consequence 4). Gradients
//! are checked against central differences of hand-frozen programs, and
//! against forward mode by the dot-product identity `<gradient, v> = jvp(v)`
//! (one variable at a time and all together).

#![allow(clippy::needless_range_loop)]

use sgrad::{differentiable, sg_for, NoGradient};

mod common;
use common::{assert_jvp, per_variable, Jvp, Rng};

/// Forward mode against the gradient: a tangent on one variable at a time
/// (`shape`: each variable's components) and on all of them, in seeded
/// random directions; the jvp's value bit for bit `value`.
#[track_caller]
fn jvp_identity(what: &str, value: f64, grad: &[f64], shape: &[usize], jvp: Jvp) {
    assert_jvp(
        what,
        value,
        grad,
        &per_variable(shape),
        jvp,
        &mut Rng::new(5),
    );
}

/// Central differences, h = 1e-6; the programs are O(1) and smooth, so the
/// error is ~1e-10 and 1e-6 (relative) cannot hide a wrong term.
fn assert_fd(what: &str, f: &dyn Fn(&[f64]) -> f64, x: &[f64], g: &[f64]) {
    assert_eq!(x.len(), g.len(), "{what}");
    for i in 0..x.len() {
        let h = 1e-6;
        let (mut a, mut b) = (x.to_vec(), x.to_vec());
        a[i] += h;
        b[i] -= h;
        let fd = (f(&a) - f(&b)) / (2.0 * h);
        assert!(
            (fd - g[i]).abs() <= 1e-6 * fd.abs().max(1.0),
            "{what}[{i}]: gradient {} vs central difference {fd}",
            g[i]
        );
    }
}

#[differentiable(x, mu; forward)]
fn log_normal(x: f64, mu: f64, sigma: f64) -> f64 {
    let z = (x - mu) / sigma;
    -0.5 * z * z - sigma.ln()
}

/// ⊥_a[a·b] + a²: the site blocks the callee's own `a`.
#[differentiable(a, b; forward)]
fn blocked(a: f64, b: f64) -> f64 {
    sg_for!(a, a * b) + a * a
}

mod shapes {
    use sgrad::differentiable;

    #[differentiable(v; forward)]
    pub fn weighted_sq_norm(v: &[f64], w: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..v.len() {
            s += v[i] * v[i] * w;
        }
        s
    }

    #[differentiable(p; forward)]
    pub fn pair<const N: usize>(p: [f64; N]) -> f64 {
        p[0] * p[N - 1]
    }
}

#[differentiable(x, y; forward)]
fn caller(x: f64, y: f64, v: &[f64]) -> f64 {
    let a = log_normal(x, y, 2.0);
    let b = blocked(x, x * y);
    a * b + shapes::weighted_sq_norm(v, 3.0) + blocked(y, 1.0)
}

/// `caller` with each of `blocked`'s sites frozen where it blocks `a`:
/// blocked(a, b) seen as a₀·b + a² with a₀ the value at the base point.
fn caller_frozen(x: f64, y: f64, x0: f64, y0: f64, v: &[f64]) -> f64 {
    let a = log_normal(x, y, 2.0);
    a * (x0 * (x * y) + x * x) + shapes::weighted_sq_norm(v, 3.0) + (y0 + y * y)
}

#[differentiable(v; forward)]
fn in_a_loop(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += shapes::weighted_sq_norm(v, i as f64) * v[i];
    }
    s + shapes::pair([v[0], v[2]])
}

struct Model {
    data: Vec<f64>,
    scale: f64,
}

impl Model {
    #[differentiable(mu; forward)]
    fn loglik(&self, mu: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..self.data.len() {
            s += log_normal(self.data[i], mu, self.scale);
        }
        s
    }

    #[differentiable(mu, tau; forward)]
    fn posterior(&self, mu: f64, tau: f64) -> f64 {
        self.loglik(mu) + log_normal(mu, 0.0, 1.0) * tau
    }
}

/// A recursive function differentiates through its own pullback.
#[differentiable(x; forward)]
fn power(x: f64, n: u32) -> f64 {
    if n == 0 {
        return 1.0;
    }
    x * power(x, n - 1)
}

#[test]
fn pullbacks_have_one_gradient_per_parameter() {
    let (v, (dx, db)) = blocked_pullback(1.5, 2.0);
    assert_eq!(v, blocked(1.5, 2.0));
    assert_eq!((dx, db), (3.0, 1.5));
    // `sigma` is not listed, but callers may pass a derivative through it:
    // the pullback has its derivative too (z²/σ − 1/σ, by hand).
    let (v, (dx, dmu, dsigma)) = log_normal_pullback(1.0, 0.5, 2.0);
    assert_eq!(v, log_normal(1.0, 0.5, 2.0));
    assert_eq!((dx, dmu, dsigma), (-0.125, 0.125, 0.0625 / 2.0 - 0.5));
    // An integer parameter has none.
    let (v, (dx, NoGradient)) = power_pullback(1.5, 3);
    assert_eq!((v, dx), (3.375, 6.75));
}

#[test]
fn a_callee_sg_for_blocks_the_callee_parameter() {
    let v = [0.3, 0.4, 0.5];
    let (x, y) = (0.7, 1.3);
    let (value, (gx, gy)) = caller_grad(x, y, &v);
    assert_eq!(value.to_bits(), caller(x, y, &v).to_bits());
    assert_fd(
        "caller",
        &|p| caller_frozen(p[0], p[1], x, y, &v),
        &[x, y],
        &[gx, gy],
    );
    let jvp = |d: &[f64]| caller_jvp(x, y, &v, d[0], d[1]);
    jvp_identity("caller", value, &[gx, gy], &[1, 1], &jvp);
}

#[test]
fn callees_forward_mode_agrees_with_their_gradients() {
    let (x, mu) = (0.7, -0.4);
    let (v, (gx, gmu)) = log_normal_grad(x, mu, 2.0);
    let jvp = |d: &[f64]| log_normal_jvp(x, mu, 2.0, d[0], d[1]);
    jvp_identity("log_normal", v, &[gx, gmu], &[1, 1], &jvp);
    let (v, (ga, gb)) = blocked_grad(x, mu);
    let jvp = |d: &[f64]| blocked_jvp(x, mu, d[0], d[1]);
    jvp_identity("blocked", v, &[ga, gb], &[1, 1], &jvp);
    let w = [0.3, -0.4, 0.5];
    let (v, g) = shapes::weighted_sq_norm_grad(&w, 3.0);
    let jvp = |d: &[f64]| shapes::weighted_sq_norm_jvp(&w, 3.0, d);
    jvp_identity("weighted_sq_norm", v, &g, &[3], &jvp);
    let (v, g) = shapes::pair_grad(w);
    let jvp = |d: &[f64]| shapes::pair_jvp(w, [d[0], d[1], d[2]]);
    jvp_identity("pair", v, &g, &[3], &jvp);
    let m = Model {
        data: vec![0.5, -0.2, 1.1],
        scale: 0.8,
    };
    let (v, g) = m.loglik_grad(mu);
    jvp_identity("loglik", v, &[g], &[1], &|d| m.loglik_jvp(mu, d[0]));
}

#[test]
fn calls_in_loops_with_array_arguments_and_const_generics() {
    let v = [0.3, -0.4, 0.5];
    let (value, g) = in_a_loop_grad(&v);
    assert_eq!(value.to_bits(), in_a_loop(&v).to_bits());
    assert_fd("in_a_loop", &|p| in_a_loop(p), &v, &g);
    jvp_identity("in_a_loop", value, &g, &[3], &|d| in_a_loop_jvp(&v, d));
}

#[test]
fn methods_call_methods_and_functions() {
    let m = Model {
        data: vec![0.5, -0.2, 1.1],
        scale: 0.8,
    };
    let (value, (dmu, dtau)) = m.posterior_grad(0.3, 2.0);
    assert_eq!(value.to_bits(), m.posterior(0.3, 2.0).to_bits());
    assert_fd(
        "posterior",
        &|p| m.posterior(p[0], p[1]),
        &[0.3, 2.0],
        &[dmu, dtau],
    );
    let jvp = |d: &[f64]| m.posterior_jvp(0.3, 2.0, d[0], d[1]);
    jvp_identity("posterior", value, &[dmu, dtau], &[1, 1], &jvp);
}

#[test]
fn recursion() {
    let (value, d) = power_grad(1.3, 5);
    assert_eq!(value.to_bits(), power(1.3, 5).to_bits());
    assert!((d - 5.0 * 1.3f64.powi(4)).abs() < 1e-12);
    jvp_identity("power", value, &[d], &[1], &|t| power_jvp(1.3, 5, t[0]));
}

/// A function the macro cannot see into (an iterator chain), with a rule.
fn soft_max_norm(v: &[f64], t: f64) -> f64 {
    t * v.iter().map(|x| (x / t).exp()).sum::<f64>().ln()
}

#[sgrad::pullback_of(soft_max_norm)]
fn soft_max_norm_rule(v: &[f64], t: f64) -> (f64, (Vec<f64>, NoGradient)) {
    let total: f64 = v.iter().map(|x| (x / t).exp()).sum();
    let grad = v.iter().map(|x| (x / t).exp() / total).collect();
    (soft_max_norm(v, t), (grad, NoGradient))
}

#[differentiable(w; forward)]
fn uses_a_rule(w: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        s += soft_max_norm(w, t) * (i as f64 + 1.0);
    }
    s * w[0]
}

#[test]
fn a_hand_written_rule_is_used_by_callers() {
    let w = [0.3, -0.5, 1.2];
    let (value, g) = uses_a_rule_grad(&w, 0.7);
    assert_eq!(value.to_bits(), uses_a_rule(&w, 0.7).to_bits());
    assert_fd("uses_a_rule", &|p| uses_a_rule(p, 0.7), &w, &g);
    let jvp = |d: &[f64]| uses_a_rule_jvp(&w, 0.7, d);
    jvp_identity("uses_a_rule", value, &g, &[3], &jvp);
}
