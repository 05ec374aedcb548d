//! Programs written the way users write them, checked three ways:
//!
//! * they compile;
//! * `f_grad(..).0` is bit-identical to `f(..)` on inputs the optimiser
//!   cannot see (`black_box`);
//! * the gradient matches central differences of a hand-written copy of the
//!   body in which every `sg` / `sg_for!` site that blocks the variable is
//!   frozen at its value at the base point (SEMANTICS.md), at several seeded
//!   random points;
//! * forward mode agrees with the gradient: `<gradient, v> = jvp(v)` for a
//!   tangent on one variable at a time and on all of them (`check`,
//!   `jvp_identity`).
//!
//! Tests marked `#[ignore = "bug: .."]` document bugs: they fail today.
//! Programs that do not compile at all cannot live in this file as code;
//! their ignored tests hold the source and compile it with `trybuild`.

use sgrad::{differentiable, grad, sg, sg_for};
use std::hint::black_box as bb;

mod common;
use common::per_site::{eval, Body, Sites};
use common::{assert_jvp_rel, per_variable, Cut, Jvp, Rng, JVP_REL, JVP_REL_F32};

// ---------------------------------------------------------------------------
// Random points, on the shared generator.

trait Points {
    /// A point with each coordinate uniform in its range.
    fn point(&mut self, ranges: &[(f64, f64)]) -> Vec<f64>;
}

impl Points for Rng {
    fn point(&mut self, ranges: &[(f64, f64)]) -> Vec<f64> {
        ranges
            .iter()
            .map(|&(lo, hi)| self.uniform(lo, hi))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The oracle: a hand-written copy whose `sg` / `sg_for!` sites are calls
// `s.cut(id, e)` (`common::per_site`); the sites blocking variable k are
// frozen at their base value and the copy is differentiated by central
// differences.

/// Compares the gradient `grad` at `x` with central differences of the copy,
/// one variable at a time. `tol` is relative to `1 + |fd|`.
#[track_caller]
fn check_fd(name: &str, copy: Body, sites: &[Cut], x: &[f64], value: f64, grad: &[f64], tol: f64) {
    assert_eq!(grad.len(), x.len(), "{name}");
    let (v0, seen) = eval(copy, x, Vec::new());
    assert!(
        (v0 - value).abs() <= tol * 1e-3 * (1.0 + v0.abs()),
        "{name} at {x:?}: the copy computes {v0:e}, the function {value:e} (the copy is wrong)"
    );
    for k in 0..x.len() {
        let frozen: Vec<Option<f64>> = seen
            .iter()
            .enumerate()
            .map(|(i, v)| match sites.get(i) {
                Some(c) if c.blocks(k) => *v,
                _ => None,
            })
            .collect();
        let h = 1e-6 * (1.0 + x[k].abs());
        let mut plus = x.to_vec();
        let mut minus = x.to_vec();
        plus[k] += h;
        minus[k] -= h;
        let fp = eval(copy, &plus, frozen.clone()).0;
        let fm = eval(copy, &minus, frozen).0;
        let fd = (fp - fm) / (2.0 * h);
        assert!(
            (grad[k] - fd).abs() <= tol * (1.0 + fd.abs()),
            "{name} d/dx{k} at {x:?}: generated {:e}, finite differences {fd:e}",
            grad[k]
        );
    }
}

/// The whole check: `f` (the function on inputs the optimiser cannot see)
/// bit for bit the value of `f_grad`, [`check_fd`], and the dot-product
/// identity with `f_jvp` (`jvp`, its value and tangent widened to `f64`)
/// one variable at a time and all together ([`jvp_identity`]), at `f32`
/// tolerance when `tol` is.
#[track_caller]
fn check(
    name: &str,
    copy: Body,
    sites: &[Cut],
    x: &[f64],
    (f, value, grad): (f64, f64, &[f64]),
    jvp: Jvp,
    tol: f64,
) {
    assert_eq!(
        f.to_bits(),
        value.to_bits(),
        "{name}: f = {f:e}, f_grad.0 = {value:e}"
    );
    check_fd(name, copy, sites, x, value, grad, tol);
    let rel = if tol > TOL { JVP_REL_F32 } else { JVP_REL };
    jvp_identity(name, value, grad, jvp, rel);
}

/// Forward mode against the gradient (`common::assert_jvp_rel`): a tangent
/// on one variable at a time (every variable is a scalar here) and on all
/// of them, in seeded random directions; the jvp's value bit for bit `value`.
#[track_caller]
fn jvp_identity(name: &str, value: f64, grad: &[f64], jvp: Jvp, rel: f64) {
    let groups = per_variable(&vec![1; grad.len()]);
    assert_jvp_rel(name, value, grad, &groups, jvp, &mut Rng::new(99), rel);
}

const TOL: f64 = 1e-6;
/// Gradients computed in `f32` against differences of an `f64` copy.
const TOL32: f64 = 2e-3;
const POINTS: usize = 40;

/// Compiles `src` as a program that must build and run (`fn main`), through
/// `trybuild`: the way to keep a program that does not compile in this file.
fn must_compile_and_run(name: &str, src: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("user_programs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.rs"));
    std::fs::write(&path, src).unwrap();
    trybuild::TestCases::new().pass(&path);
}

// ===========================================================================
// 1. A logistic loss.

#[differentiable(w, b; forward)]
fn logistic_loss(w: f64, b: f64, x: f64, y: f64) -> f64 {
    let z = w * x + b;
    let p = 1.0 / (1.0 + (-z).exp());
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

#[test]
fn logistic_loss_matches() {
    let mut rng = Rng::new(1);
    for _ in 0..POINTS {
        let v = rng.point(&[(-2.0, 2.0), (-1.0, 1.0), (-3.0, 3.0), (0.0, 1.0)]);
        let (w, b, x, y) = (v[0], v[1], v[2], v[3]);
        let f = logistic_loss(bb(w), bb(b), bb(x), bb(y));
        let (g0, (dw, db)) = logistic_loss_grad(bb(w), bb(b), bb(x), bb(y));
        let copy = |p: &[f64], _: &mut Sites| {
            let z = p[0] * x + p[1];
            let q = 1.0 / (1.0 + (-z).exp());
            -(y * q.ln() + (1.0 - y) * (1.0 - q).ln())
        };
        let jvp = |q: &[f64]| logistic_loss_jvp(w, b, x, y, q[0], q[1]);
        check(
            "logistic",
            &copy,
            &[],
            &[w, b],
            (f, g0, &[dw, db]),
            &jvp,
            TOL,
        );
        // The closed form: dL/dz = p - y.
        let p = 1.0 / (1.0 + (-(w * x + b)).exp());
        assert!((db - (p - y)).abs() < 1e-12);
        assert!((dw - (p - y) * x).abs() < 1e-12);
    }
}

// ===========================================================================
// 2. A softplus written by hand: early returns, and the stable form.

#[differentiable(; forward)]
fn softplus(z: f64) -> f64 {
    if z > 30.0 {
        return z;
    }
    if z < -30.0 {
        return z.exp();
    }
    (1.0 + z.exp()).ln()
}

#[differentiable(; forward)]
fn softplus_stable(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

#[test]
fn softplus_matches() {
    let mut rng = Rng::new(2);
    for _ in 0..POINTS {
        let z = rng.uniform(-45.0, 45.0);
        for (name, f, g, j) in [
            (
                "softplus",
                softplus as fn(f64) -> f64,
                softplus_grad as fn(f64) -> (f64, f64),
                softplus_jvp as fn(f64, f64) -> (f64, f64),
            ),
            (
                "softplus_stable",
                softplus_stable,
                softplus_stable_grad,
                softplus_stable_jvp,
            ),
        ] {
            let (v, d) = g(bb(z));
            let copy = |p: &[f64], _: &mut Sites| f(p[0]);
            check(
                name,
                &copy,
                &[],
                &[z],
                (f(bb(z)), v, &[d]),
                &|q| j(z, q[0]),
                TOL,
            );
            let sigmoid = 1.0 / (1.0 + (-z).exp());
            assert!(
                (d - sigmoid).abs() < 1e-9,
                "{name} at {z}: {d} vs {sigmoid}"
            );
        }
    }
}

// ===========================================================================
// 3. A piecewise Huber loss, with the threshold a constant.

#[differentiable(pred; forward)]
fn huber(pred: f64, target: f64, delta: f64) -> f64 {
    let r = pred - target;
    let a = r.abs();
    if a <= delta {
        0.5 * r * r
    } else {
        delta * (a - 0.5 * delta)
    }
}

#[test]
fn huber_matches() {
    let mut rng = Rng::new(3);
    for _ in 0..POINTS {
        let v = rng.point(&[(-5.0, 5.0), (-1.0, 1.0), (0.1, 2.0)]);
        let (p, t, d) = (v[0], v[1], v[2]);
        let (val, dp) = huber_grad(bb(p), bb(t), bb(d));
        let copy = |x: &[f64], _: &mut Sites| huber(x[0], t, d);
        check(
            "huber",
            &copy,
            &[],
            &[p],
            (huber(bb(p), bb(t), bb(d)), val, &[dp]),
            &|q: &[f64]| huber_jvp(p, t, d, q[0]),
            TOL,
        );
        assert_eq!(dp, (p - t).clamp(-d, d));
    }
}

// ===========================================================================
// 4. A log-density with branches, `let x;` assigned in every branch, and
//    constants from `std`.

#[differentiable(mu, log_sigma; forward)]
fn log_density(x: f64, mu: f64, log_sigma: f64, nu: f64) -> f64 {
    use std::f64::consts::PI;
    let sigma = log_sigma.exp();
    let z = (x - mu) / sigma;
    let log_norm = -0.5 * (2.0 * PI).ln() - log_sigma;
    let lp;
    if nu <= 0.0 {
        lp = log_norm - 0.5 * z * z;
    } else if z.abs() < 1e-3 {
        lp = log_norm - 0.5 * z * z * (1.0 - z * z / (2.0 * nu));
    } else {
        let t = (nu + 1.0) / 2.0;
        let scale = f64::ln(nu * PI) * 0.5;
        lp = log_norm - scale - t * (z * z / nu).ln_1p();
    }
    lp
}

#[test]
fn log_density_matches() {
    let mut rng = Rng::new(4);
    for i in 0..POINTS {
        let v = rng.point(&[(-3.0, 3.0), (-1.0, 1.0), (-1.0, 1.0)]);
        let nu = if i % 2 == 0 { 0.0 } else { 4.0 };
        let (x, mu, ls) = (v[0], v[1], v[2]);
        let (val, (dmu, dls)) = log_density_grad(bb(x), bb(mu), bb(ls), bb(nu));
        let copy = |p: &[f64], _: &mut Sites| log_density(x, p[0], p[1], nu);
        check(
            "log_density",
            &copy,
            &[],
            &[mu, ls],
            (log_density(bb(x), bb(mu), bb(ls), bb(nu)), val, &[dmu, dls]),
            &|q: &[f64]| log_density_jvp(x, mu, ls, nu, q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 5. An implicit-ish fixed formula with many shadowed lets, and `sg_for!`
//    naming parameters that locals shadow (SEMANTICS rule 5).

#[differentiable(x, y; forward)]
fn shadowed(x: f64, y: f64) -> f64 {
    let x = x * 2.0;
    let y = y + x;
    let x = x.sin() * y;
    let y = sg_for!(x, y * y);
    let x = x + y;
    let t = sg_for!(y, x.exp() * 0.1);
    let x = {
        let x = x * t;
        x - 1.0
    };
    let y = y.sqrt();
    x + y
}

fn shadowed_copy(p: &[f64], s: &mut Sites) -> f64 {
    let (x, y) = (p[0], p[1]);
    let x = x * 2.0;
    let y = y + x;
    let x = x.sin() * y;
    let y = s.cut(0, y * y);
    let x = x + y;
    let t = s.cut(1, x.exp() * 0.1);
    let x = {
        let x = x * t;
        x - 1.0
    };
    let y = y.sqrt();
    x + y
}

#[test]
fn shadowed_matches() {
    let mut rng = Rng::new(5);
    for _ in 0..POINTS {
        let v = rng.point(&[(-1.0, 1.0), (-1.0, 1.0)]);
        let (val, (dx, dy)) = shadowed_grad(bb(v[0]), bb(v[1]));
        let sites = [Cut::For(&[0]), Cut::For(&[1])];
        check(
            "shadowed",
            &shadowed_copy,
            &sites,
            &v,
            (shadowed(bb(v[0]), bb(v[1])), val, &[dx, dy]),
            &|q: &[f64]| shadowed_jvp(v[0], v[1], q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 6. `let m; if .. { m = .. } else { m = .. }`, typed and untyped.

#[differentiable(a, b; forward)]
fn deferred(a: f64, b: f64) -> f64 {
    let m;
    let s: f64;
    if a > b {
        m = a;
        s = a - b;
    } else {
        m = b;
        s = b - a;
    }
    m + (s + 1.0).sqrt() * sg_for!(a, m)
}

fn deferred_copy(p: &[f64], s_: &mut Sites) -> f64 {
    let (a, b) = (p[0], p[1]);
    let (m, s) = if a > b { (a, a - b) } else { (b, b - a) };
    m + (s + 1.0).sqrt() * s_.cut(0, m)
}

#[test]
fn deferred_matches() {
    let mut rng = Rng::new(6);
    for _ in 0..POINTS {
        let v = rng.point(&[(-2.0, 2.0), (-2.0, 2.0)]);
        let (val, (da, db)) = deferred_grad(bb(v[0]), bb(v[1]));
        check(
            "deferred",
            &deferred_copy,
            &[Cut::For(&[0])],
            &v,
            (deferred(bb(v[0]), bb(v[1])), val, &[da, db]),
            &|q: &[f64]| deferred_jvp(v[0], v[1], q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 7. Nested `if`s inside blocks used as values.

#[differentiable(x, y; forward)]
fn nested_values(x: f64, y: f64) -> f64 {
    let v = {
        let t = x * y;
        if t > 0.0 {
            let u = t.sqrt();
            if u > 1.0 {
                u.ln()
            } else {
                u - 1.0
            }
        } else if t > -1.0 {
            -t * {
                let w = x - y;
                w * w
            }
        } else {
            t.atan()
        }
    };
    v * x + {
        if y > 0.0 {
            y
        } else {
            -y * sg(x)
        }
    }
}

#[test]
fn nested_values_matches() {
    let mut rng = Rng::new(7);
    for _ in 0..POINTS {
        let p = rng.point(&[(-3.0, 3.0), (-3.0, 3.0)]);
        let (val, (dx, dy)) = nested_values_grad(bb(p[0]), bb(p[1]));
        let copy = |q: &[f64], s: &mut Sites| {
            let (x, y) = (q[0], q[1]);
            let t = x * y;
            let v = if t > 0.0 {
                let u = t.sqrt();
                if u > 1.0 {
                    u.ln()
                } else {
                    u - 1.0
                }
            } else if t > -1.0 {
                -t * (x - y) * (x - y)
            } else {
                t.atan()
            };
            v * x + if y > 0.0 { y } else { -y * s.cut(0, x) }
        };
        check(
            "nested_values",
            &copy,
            &[Cut::All],
            &p,
            (nested_values(bb(p[0]), bb(p[1])), val, &[dx, dy]),
            &|q: &[f64]| nested_values_jvp(p[0], p[1], q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 8. Returns at several depths.

#[differentiable(x, y; forward)]
fn many_returns(x: f64, y: f64) -> f64 {
    let a = x * y;
    if a > 4.0 {
        return a.ln();
    }
    let b = a + x;
    if b < -2.0 {
        if x > 0.0 {
            return b * x;
        } else if y > 0.0 {
            let c = b * y;
            if c < -10.0 {
                return c.abs().sqrt();
            }
            return c;
        }
        return -b;
    }
    {
        let d = b.exp();
        if d > 3.0 {
            return d - x;
        }
    }
    b * b
}

#[test]
fn many_returns_matches() {
    let mut rng = Rng::new(8);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 * POINTS {
        let p = rng.point(&[(-6.0, 6.0), (-6.0, 6.0)]);
        let (val, (dx, dy)) = many_returns_grad(bb(p[0]), bb(p[1]));
        let copy = |q: &[f64], _: &mut Sites| many_returns(q[0], q[1]);
        check(
            "many_returns",
            &copy,
            &[],
            &p,
            (many_returns(bb(p[0]), bb(p[1])), val, &[dx, dy]),
            &|q: &[f64]| many_returns_jvp(p[0], p[1], q[0], q[1]),
            TOL,
        );
        // Which return was taken, to be sure every path is exercised.
        let (x, y) = (p[0], p[1]);
        let a = x * y;
        let b = a + x;
        let path = if a > 4.0 {
            0
        } else if b < -2.0 {
            if x > 0.0 {
                1
            } else if y > 0.0 {
                if b * y < -10.0 {
                    2
                } else {
                    3
                }
            } else {
                4
            }
        } else if b.exp() > 3.0 {
            5
        } else {
            6
        };
        seen.insert(path);
    }
    assert_eq!(seen.len(), 7, "paths exercised: {seen:?}");
}

// ===========================================================================
// 9. `f32` throughout.

#[differentiable(w, b; forward)]
fn f32_model(w: f32, b: f32, x: f32, y: f32) -> f32 {
    let z = w * x + b;
    let r = if z > 0.0 { z } else { 0.01 * z };
    let e = r - y;
    let mut loss = 0.5 * e * e;
    loss += 1e-3 * (w * w + b * b);
    loss + sg(w).abs() * b.tanh() + std::f32::consts::FRAC_PI_4 * w.sin()
}

#[test]
fn f32_model_matches() {
    let mut rng = Rng::new(9);
    for _ in 0..POINTS {
        let p = rng.point(&[(-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0), (-1.0, 1.0)]);
        let (w, b, x, y) = (p[0] as f32, p[1] as f32, p[2] as f32, p[3] as f32);
        let (val, (dw, db)) = f32_model_grad(bb(w), bb(b), bb(x), bb(y));
        let f = f32_model(bb(w), bb(b), bb(x), bb(y));
        let copy = |q: &[f64], s: &mut Sites| {
            let (w, b, x, y) = (q[0], q[1], f64::from(x), f64::from(y));
            let z = w * x + b;
            let r = if z > 0.0 { z } else { 0.01 * z };
            let e = r - y;
            0.5 * e * e
                + 1e-3 * (w * w + b * b)
                + s.cut(0, w).abs() * b.tanh()
                + std::f64::consts::FRAC_PI_4 * w.sin()
        };
        let jvp = |q: &[f64]| {
            let (v, t) = f32_model_jvp(w, b, x, y, q[0] as f32, q[1] as f32);
            (f64::from(v), f64::from(t))
        };
        check(
            "f32_model",
            &copy,
            &[Cut::All],
            &[f64::from(w), f64::from(b)],
            (
                f64::from(f),
                f64::from(val),
                &[f64::from(dw), f64::from(db)],
            ),
            &jvp,
            TOL32,
        );
    }
}

// ===========================================================================
// 10. Mixed `f32`/`f64` with casts.

#[differentiable(x, y)]
fn mixed_precision(x: f64, y: f32) -> f64 {
    let xs = x as f32;
    let p = (xs * y).sin();
    let q = (p as f64) * x;
    let r = (y as f64).exp() + q;
    r + sg_for!(y, (x as f32 * y) as f64) + f64::from(1.5f32) * x
}

#[test]
fn mixed_precision_matches() {
    let mut rng = Rng::new(10);
    for _ in 0..POINTS {
        let p = rng.point(&[(-2.0, 2.0), (-2.0, 2.0)]);
        let (x, y) = (p[0], p[1] as f32);
        let (val, (dx, dy)) = mixed_precision_grad(bb(x), bb(y));
        assert_eq!(mixed_precision(bb(x), bb(y)).to_bits(), val.to_bits());
        let copy = |q: &[f64], s: &mut Sites| {
            let (x, y) = (q[0], q[1]);
            (x * y).sin() * x + y.exp() + s.cut(0, x * y) + 1.5 * x
        };
        check_fd(
            "mixed_precision",
            &copy,
            &[Cut::For(&[1])],
            &[x, f64::from(y)],
            val,
            &[dx, f64::from(dy)],
            TOL32,
        );
    }
}

// ===========================================================================
// 11. Methods in `impl` blocks, `&self` fields as constants, associated
//     constants, and a const-generic struct.

struct Gaussian {
    mu: f64,
    inv_var: f64,
    weights: [f64; 3],
}

impl Gaussian {
    const HALF: f64 = 0.5;

    #[differentiable(x; forward)]
    fn log_pdf(&self, x: f64) -> f64 {
        let d = x - self.mu;
        -Self::HALF * d * d * self.inv_var + self.weights[0] * x
    }

    #[differentiable(a, b; forward)]
    pub fn combined(&self, a: f64, b: f64) -> f64 {
        let t = (a - self.mu) * self.inv_var;
        if t > self.weights[1] {
            return sg_for!(b, t * b) + self.weights[2] * a;
        }
        t * t + b.exp() * self.mu
    }
}

struct Poly<const N: usize> {
    c: [f64; N],
}

impl<const N: usize> Poly<N> {
    #[differentiable(x; forward)]
    fn quadratic_part(&self, x: f64) -> f64 {
        self.c[0] + self.c[1 % N] * x + self.c[N - 1] * x * x
    }
}

#[test]
fn methods_match() {
    let g = Gaussian {
        mu: 0.3,
        inv_var: 2.0,
        weights: [0.1, 0.2, -0.7],
    };
    let mut rng = Rng::new(11);
    for _ in 0..POINTS {
        let p = rng.point(&[(-2.0, 2.0), (-2.0, 2.0)]);
        let (val, dx) = g.log_pdf_grad(bb(p[0]));
        assert_eq!(g.log_pdf(bb(p[0])).to_bits(), val.to_bits());
        assert!((dx - (-(p[0] - 0.3) * 2.0 + 0.1)).abs() < 1e-12);
        let jvp = |q: &[f64]| g.log_pdf_jvp(p[0], q[0]);
        jvp_identity("log_pdf", val, &[dx], &jvp, JVP_REL);

        let (val, (da, db)) = g.combined_grad(bb(p[0]), bb(p[1]));
        let copy = |q: &[f64], s: &mut Sites| {
            let (a, b) = (q[0], q[1]);
            let t = (a - 0.3) * 2.0;
            if t > 0.2 {
                return s.cut(0, t * b) + -0.7 * a;
            }
            t * t + b.exp() * 0.3
        };
        check(
            "combined",
            &copy,
            &[Cut::For(&[1])],
            &p,
            (g.combined(bb(p[0]), bb(p[1])), val, &[da, db]),
            &|q: &[f64]| g.combined_jvp(p[0], p[1], q[0], q[1]),
            TOL,
        );
    }
    let poly = Poly { c: [1.0, 2.0, 3.0] };
    assert_eq!(poly.quadratic_part(2.0), 17.0);
    assert_eq!(poly.quadratic_part_grad(2.0), (17.0, 14.0));
    assert_eq!(poly.quadratic_part_jvp(2.0, 1.0), (17.0, 14.0));
}

// ===========================================================================
// 12. `grad!` closures capturing structs, `move`, block bodies with returns,
//     `wrt(..)`.

#[test]
fn closures_capturing_structs() {
    let g = Gaussian {
        mu: -0.4,
        inv_var: 1.5,
        weights: [1.0, 2.0, 3.0],
    };
    let f = grad!(|x: f64, y: f64| g.mu * x + sg_for!(x, (x * y).sin()) * g.inv_var);
    let plain = |x: f64, y: f64| g.mu * x + (x * y).sin() * g.inv_var;
    let h = grad!(
        move |x: f64, k: f64| {
            let t = x * k * g.weights[1];
            if t > 1.0 {
                return t.ln();
            }
            let u = t - 1.0;
            u * u
        },
        wrt(x)
    );
    let plain_h = |x: f64, k: f64| {
        let t = x * k * 2.0;
        if t > 1.0 {
            return t.ln();
        }
        let u = t - 1.0;
        u * u
    };
    let mut rng = Rng::new(12);
    for _ in 0..POINTS {
        let p = rng.point(&[(-2.0, 2.0), (-2.0, 2.0)]);
        let (val, (dx, dy)) = f(bb(p[0]), bb(p[1]));
        assert_eq!(plain(bb(p[0]), bb(p[1])).to_bits(), val.to_bits());
        let copy = |q: &[f64], s: &mut Sites| -0.4 * q[0] + s.cut(0, (q[0] * q[1]).sin()) * 1.5;
        check_fd(
            "closure f",
            &copy,
            &[Cut::For(&[0])],
            &p,
            val,
            &[dx, dy],
            TOL,
        );

        let (val, dx) = h(bb(p[0]), bb(p[1]));
        assert_eq!(plain_h(bb(p[0]), bb(p[1])).to_bits(), val.to_bits());
        let k = p[1];
        let copy = |q: &[f64], _: &mut Sites| plain_h(q[0], k);
        check_fd("closure h", &copy, &[], &p[..1], val, &[dx], TOL);
    }
}

// ===========================================================================
// 13. `sg_for!` inside the branches of an `if`, and in its condition.

#[differentiable(p, q; forward)]
fn branchy_cut(p: f64, q: f64, c: f64) -> f64 {
    let t = p * q;
    let r;
    if c > 0.0 {
        r = sg_for!(p, t.sin()) + p;
    } else if sg_for!(q, t * q) > 0.5 {
        r = sg_for!(q, t.cos()) * q;
    } else {
        r = sg_for!([p, q], t.exp()) + t;
    }
    r * t
}

#[test]
fn branchy_cut_matches() {
    let mut rng = Rng::new(13);
    for i in 0..POINTS {
        let v = rng.point(&[(-2.0, 2.0), (-2.0, 2.0)]);
        let c = if i % 3 == 0 { 1.0 } else { -1.0 };
        let (val, (dp, dq)) = branchy_cut_grad(bb(v[0]), bb(v[1]), bb(c));
        let copy = |x: &[f64], s: &mut Sites| {
            let (p, q) = (x[0], x[1]);
            let t = p * q;
            let r = if c > 0.0 {
                s.cut(0, t.sin()) + p
            } else if s.cut(1, t * q) > 0.5 {
                s.cut(2, t.cos()) * q
            } else {
                s.cut(3, t.exp()) + t
            };
            r * t
        };
        let sites = [
            Cut::For(&[0]),
            Cut::For(&[1]),
            Cut::For(&[1]),
            Cut::For(&[0, 1]),
        ];
        check(
            "branchy_cut",
            &copy,
            &sites,
            &v,
            (branchy_cut(bb(v[0]), bb(v[1]), bb(c)), val, &[dp, dq]),
            &|q: &[f64]| branchy_cut_jvp(v[0], v[1], c, q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 14. Nested `sg_for!`, `sg` inside it, and the full paths.

#[differentiable(a, b, c; forward)]
fn nested_cuts(a: f64, b: f64, c: f64) -> f64 {
    let ab = a * b;
    let inner = sg_for!(a, ab * c + sg_for!([b, c], (a + b + c).exp()));
    sgrad::sg_for!(c, inner * ab) + sg(inner) * c + sgrad::sg(a * c) * b
}

#[test]
fn nested_cuts_matches() {
    let mut rng = Rng::new(14);
    for _ in 0..POINTS {
        let v = rng.point(&[(-1.0, 1.0), (-1.0, 1.0), (-1.0, 1.0)]);
        let (val, (da, db, dc)) = nested_cuts_grad(bb(v[0]), bb(v[1]), bb(v[2]));
        let copy = |x: &[f64], s: &mut Sites| {
            let (a, b, c) = (x[0], x[1], x[2]);
            let ab = a * b;
            let e = s.cut(0, (a + b + c).exp());
            let inner = s.cut(1, ab * c + e);
            s.cut(2, inner * ab) + s.cut(3, inner) * c + s.cut(4, a * c) * b
        };
        let sites = [
            Cut::For(&[1, 2]),
            Cut::For(&[0]),
            Cut::For(&[2]),
            Cut::All,
            Cut::All,
        ];
        check(
            "nested_cuts",
            &copy,
            &sites,
            &v,
            (
                nested_cuts(bb(v[0]), bb(v[1]), bb(v[2])),
                val,
                &[da, db, dc],
            ),
            &|q: &[f64]| nested_cuts_jvp(v[0], v[1], v[2], q[0], q[1], q[2]),
            TOL,
        );
    }
}

// ===========================================================================
// 15. `sg` and `sg_for!` inside the arguments of methods and path calls.

#[differentiable(x, y; forward)]
#[allow(deprecated)] // stops that stop nothing, on purpose (sgrad warns of them)
fn cuts_in_arguments(x: f64, y: f64, lo: f64) -> f64 {
    let a = x.powf(sg(y));
    let b = x.max(sg_for!(x, y * x));
    let c = f64::hypot(x, sg(y));
    let d = x.mul_add(sg_for!(x, y), y);
    let e = x.clamp(sg(lo), sg_for!(y, y + 3.0));
    let f = y.atan2(sg_for!(y, x * x + 0.5));
    let g = x.log(sg(y) + 3.0);
    a + b + c + d + e + f + g
}

#[test]
fn cuts_in_arguments_matches() {
    let mut rng = Rng::new(15);
    for _ in 0..POINTS {
        let v = rng.point(&[(0.5, 2.0), (-1.0, 1.0)]);
        let lo = 0.2;
        let (val, (dx, dy)) = cuts_in_arguments_grad(bb(v[0]), bb(v[1]), bb(lo));
        let copy = |p: &[f64], s: &mut Sites| {
            let (x, y) = (p[0], p[1]);
            let a = x.powf(s.cut(0, y));
            let b = x.max(s.cut(1, y * x));
            let c = x.hypot(s.cut(2, y));
            let d = x.mul_add(s.cut(3, y), y);
            let e = x.clamp(s.cut(4, lo), s.cut(5, y + 3.0));
            let f = y.atan2(s.cut(6, x * x + 0.5));
            let g = x.log(s.cut(7, y) + 3.0);
            a + b + c + d + e + f + g
        };
        let sites = [
            Cut::All,
            Cut::For(&[0]),
            Cut::All,
            Cut::For(&[0]),
            Cut::All,
            Cut::For(&[1]),
            Cut::For(&[1]),
            Cut::All,
        ];
        check(
            "cuts_in_arguments",
            &copy,
            &sites,
            &v,
            (
                cuts_in_arguments(bb(v[0]), bb(v[1]), bb(lo)),
                val,
                &[dx, dy],
            ),
            &|q: &[f64]| cuts_in_arguments_jvp(v[0], v[1], lo, q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 16. A generic function with const generics and an inactive loop.

#[differentiable(x; forward)]
fn scaled_power<const N: usize>(x: f64, coeffs: [f64; N]) -> f64 {
    let mut total = 0.0;
    for c in coeffs.iter() {
        total += c;
    }
    let n = N as i32;
    x.powi(n) * total / (N as f64)
}

#[differentiable(x; forward)]
fn generic_scale<T: Copy + Into<f64>>(x: f64, k: T) -> f64 {
    let k: f64 = k.into();
    x * k + (x * k).sin()
}

#[test]
fn generics_match() {
    let mut rng = Rng::new(16);
    for _ in 0..POINTS {
        let x = rng.uniform(-2.0, 2.0);
        let c = [1.0, 2.0, 3.5];
        let (val, dx) = scaled_power_grad::<3>(bb(x), bb(c));
        let copy = |p: &[f64], _: &mut Sites| scaled_power(p[0], c);
        check(
            "scaled_power",
            &copy,
            &[],
            &[x],
            (scaled_power(bb(x), bb(c)), val, &[dx]),
            &|q: &[f64]| scaled_power_jvp(x, c, q[0]),
            TOL,
        );

        let (val, dx) = generic_scale_grad(bb(x), bb(3_i32));
        assert_eq!(generic_scale(bb(x), bb(3_i32)).to_bits(), val.to_bits());
        assert!((dx - (3.0 + 3.0 * (3.0 * x).cos())).abs() < 1e-12);
        let jvp = |q: &[f64]| generic_scale_jvp(x, 3_i32, q[0]);
        jvp_identity("generic_scale", val, &[dx], &jvp, JVP_REL);
    }
}

// ===========================================================================
// 17. Inactive code: loops over constants, `println!`, a nested `fn`, a
//     `const`, `vec!`, `debug_assert!`, `match` on a constant, closures that
//     only see constants.

// `vec!` on purpose: a local `Vec` the body only reads.
#[allow(clippy::useless_vec)]
#[differentiable(x; forward)]
fn with_inactive_code(x: f64, n: usize) -> f64 {
    const SCALE: f64 = 0.5;
    fn helper(k: usize) -> f64 {
        k as f64 * 0.25
    }
    let mut acc = 0.0;
    for i in 0..n {
        acc += helper(i);
    }
    let mut j = 0;
    while j < 3 {
        j += 1;
    }
    println!("x = {x}, acc = {}, j = {j}", acc);
    debug_assert!(x.is_finite());
    let v = vec![1.0, 2.0];
    let s: f64 = v.iter().sum();
    let k = match n {
        0 => 1.0,
        _ => 2.0,
    };
    let double = |t: f64| t * 2.0;
    let d = double(k);
    x * x * SCALE + acc * x + s * f64::from(j) * x.sin() + d * x
}

#[test]
fn inactive_code_matches() {
    let mut rng = Rng::new(17);
    for i in 0..POINTS {
        let x = rng.uniform(-2.0, 2.0);
        let n = i % 4;
        let (val, dx) = with_inactive_code_grad(bb(x), bb(n));
        let copy = |p: &[f64], _: &mut Sites| with_inactive_code(p[0], n);
        check(
            "inactive",
            &copy,
            &[],
            &[x],
            (with_inactive_code(bb(x), bb(n)), val, &[dx]),
            &|q: &[f64]| with_inactive_code_jvp(x, n, q[0]),
            TOL,
        );
    }
}

// ===========================================================================
// 18. `&&`, `||`, `!`, and comparisons of differentiated values.

#[differentiable(x, y; forward)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // the user's own style
fn gate(x: f64, y: f64) -> f64 {
    let inside = x > -1.0 && x < 1.0;
    let far = y.abs() > 2.0 || !(x * y < 0.5);
    let mut out = x * y;
    if inside && !far {
        out = out.sin();
    } else if far || x > y {
        out = out * 0.5 + x;
    }
    if (x < 0.0 || y < 0.0) && out > 0.0 {
        out *= -1.0;
    }
    out
}

#[test]
fn gate_matches() {
    let mut rng = Rng::new(18);
    for _ in 0..POINTS {
        let p = rng.point(&[(-3.0, 3.0), (-3.0, 3.0)]);
        let (val, (dx, dy)) = gate_grad(bb(p[0]), bb(p[1]));
        let copy = |q: &[f64], _: &mut Sites| gate(q[0], q[1]);
        check(
            "gate",
            &copy,
            &[],
            &p,
            (gate(bb(p[0]), bb(p[1])), val, &[dx, dy]),
            &|q: &[f64]| gate_jvp(p[0], p[1], q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 19. Compound assignment, reassignment, a `mut` parameter.

#[differentiable(x, y; forward)]
fn compound(mut x: f64, y: f64) -> f64 {
    let mut s = x;
    s += y * 2.0;
    s -= x.sin();
    s *= y;
    s /= 1.0 + x * x;
    s %= 7.0;
    x *= 3.0;
    x -= y;
    let mut t = 3.0;
    t *= x;
    t += s;
    t = t * t - s;
    t
}

#[test]
fn compound_matches() {
    let mut rng = Rng::new(19);
    for _ in 0..POINTS {
        let p = rng.point(&[(-2.0, 2.0), (-2.0, 2.0)]);
        let (val, (dx, dy)) = compound_grad(bb(p[0]), bb(p[1]));
        let copy = |q: &[f64], _: &mut Sites| compound(q[0], q[1]);
        check(
            "compound",
            &copy,
            &[],
            &p,
            (compound(bb(p[0]), bb(p[1])), val, &[dx, dy]),
            &|q: &[f64]| compound_jvp(p[0], p[1], q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 20. Tuple lets, tuple-valued `if`, typed tuples.

#[differentiable(x, y; forward)]
fn tuples(x: f64, y: f64) -> f64 {
    let (a, b) = (x * y, x - y);
    let (mut c, (d, e)) = (a + b, (a * 2.0, sg(b)));
    c *= d;
    let (p, q) = if c > 0.0 { (c, e) } else { (e, c) };
    let pair: (f64, f64) = (p.sin(), q.cos());
    let (u, _) = pair;
    u + pair.1 * e
}

#[test]
fn tuples_match() {
    let mut rng = Rng::new(20);
    for _ in 0..POINTS {
        let v = rng.point(&[(-2.0, 2.0), (-2.0, 2.0)]);
        let (val, (dx, dy)) = tuples_grad(bb(v[0]), bb(v[1]));
        let copy = |z: &[f64], s: &mut Sites| {
            let (x, y) = (z[0], z[1]);
            let (a, b) = (x * y, x - y);
            let c = (a + b) * (a * 2.0);
            let e = s.cut(0, b);
            let (p, q) = if c > 0.0 { (c, e) } else { (e, c) };
            p.sin() + q.cos() * e
        };
        check(
            "tuples",
            &copy,
            &[Cut::All],
            &v,
            (tuples(bb(v[0]), bb(v[1])), val, &[dx, dy]),
            &|q: &[f64]| tuples_jvp(v[0], v[1], q[0], q[1]),
            TOL,
        );
    }
}

// ===========================================================================
// 21. Odds and ends: identity, constant result, a returned parameter,
//     `return` as the last statement, every float method.

#[differentiable(x, y; forward)]
fn returns_param(x: f64, y: f64) -> f64 {
    let _unused = y * 2.0;
    x
}

#[differentiable(x; forward)]
#[allow(clippy::needless_return)]
fn return_last(x: f64) -> f64 {
    let t = -x;
    return -t * x;
}

#[differentiable(x; forward)]
fn constant_result(x: f64) -> f64 {
    let _t = x * x;
    std::f64::consts::E
}

#[differentiable(x; forward)]
fn every_method(x: f64) -> f64 {
    let u = x * 0.3; // in (-0.3, 0.3)
    let p = x * x + 1.5; // > 1
    u.exp()
        + u.exp2()
        + u.exp_m1()
        + p.ln()
        + u.ln_1p()
        + p.log(3.0)
        + p.log2()
        + p.log10()
        + p.sqrt()
        + p.cbrt()
        + u.powi(3)
        + p.powf(u)
        + p.recip()
        + u.sin()
        + u.cos()
        + u.tan()
        + u.asin()
        + u.acos()
        + u.atan()
        + u.atan2(p)
        + u.sinh()
        + u.cosh()
        + u.tanh()
        + u.asinh()
        + p.acosh()
        + u.atanh()
        + u.hypot(p)
        + u.abs()
        + u.signum()
        + u.min(p)
        + u.max(-p)
        + u.clamp(-0.1, 0.1)
        + u.mul_add(p, u)
        + u.floor()
        + u.ceil()
        + u.round()
        + u.trunc()
        + u.to_degrees()
        + u.to_radians()
        + f64::sin(u)
        + f64::max(u, 0.05)
        + f64::powi(p, -2)
}

#[test]
fn odds_and_ends() {
    assert_eq!(returns_param(bb(2.0), bb(5.0)), 2.0);
    assert_eq!(returns_param_grad(bb(2.0), bb(5.0)), (2.0, (1.0, 0.0)));
    assert_eq!(return_last(bb(3.0)), 9.0);
    assert_eq!(return_last_grad(bb(3.0)), (9.0, 6.0));
    assert_eq!(constant_result(bb(3.0)), std::f64::consts::E);
    assert_eq!(constant_result_grad(bb(3.0)), (std::f64::consts::E, 0.0));
    assert_eq!(returns_param_jvp(bb(2.0), bb(5.0), 1.0, 0.0), (2.0, 1.0));
    assert_eq!(returns_param_jvp(bb(2.0), bb(5.0), 0.0, 1.0), (2.0, 0.0));
    assert_eq!(return_last_jvp(bb(3.0), 1.0), (9.0, 6.0));
    assert_eq!(
        constant_result_jvp(bb(3.0), 1.0),
        (std::f64::consts::E, 0.0)
    );
    let mut rng = Rng::new(21);
    for _ in 0..POINTS {
        let x = rng.uniform(-0.99, 0.99);
        let (val, dx) = every_method_grad(bb(x));
        let copy = |p: &[f64], _: &mut Sites| every_method(p[0]);
        check(
            "every_method",
            &copy,
            &[],
            &[x],
            (every_method(bb(x)), val, &[dx]),
            &|q: &[f64]| every_method_jvp(x, q[0]),
            TOL,
        );
    }
}

// ===========================================================================
// 22. SEMANTICS rule 5 with a reassigned `mut` parameter, a `&mut self`
//     method with side effects, an `FnMut` closure.

#[differentiable(x, y; forward)]
fn mut_param_cut(mut x: f64, y: f64) -> f64 {
    x *= y;
    // `x` in the list is the parameter; the expression is the local.
    sg_for!(x, x) + x.sin()
}

struct Counter {
    calls: usize,
    k: f64,
}

impl Counter {
    #[differentiable(x; forward)]
    fn eval(&mut self, x: f64) -> f64 {
        self.calls += 1;
        let k = self.k;
        k * x * x
    }
}

#[test]
fn side_effects_and_rule_5() {
    let (x, y) = (0.7, 1.3);
    let (v, (dx, dy)) = mut_param_cut_grad(bb(x), bb(y));
    assert_eq!(v.to_bits(), mut_param_cut(bb(x), bb(y)).to_bits());
    // d/dx: the cut site is constant; d/dy: it is open.
    assert!((dx - y * (x * y).cos()).abs() < 1e-12);
    assert!((dy - (x + x * (x * y).cos())).abs() < 1e-12);
    // One tangent per variable: the site is cut for `x` only.
    let jvp = |q: &[f64]| mut_param_cut_jvp(x, y, q[0], q[1]);
    jvp_identity("mut_param_cut", v, &[dx, dy], &jvp, JVP_REL);

    let mut c = Counter { calls: 0, k: 2.0 };
    assert_eq!(c.eval(3.0), 18.0);
    assert_eq!(c.eval_grad(3.0), (18.0, 12.0));
    assert_eq!(c.calls, 2);
    assert_eq!(c.eval_jvp(3.0, 0.5), (18.0, 6.0));
    assert_eq!(c.calls, 3);

    let mut calls = 0;
    let mut h = grad!(|x: f64| {
        calls += 1;
        x * x
    });
    assert_eq!(h(3.0), (9.0, 6.0));
    assert_eq!(h(2.0), (4.0, 4.0));
    assert_eq!(calls, 2);
}

// ===========================================================================
// 23. Loops over ranges (README: carrying scalars is supported), and
//     inactive loops with `break` / `continue`.

#[differentiable(a; forward)]
fn newton_sqrt(a: f64) -> f64 {
    let mut z = a;
    for _ in 0..30 {
        z = 0.5 * (z + a / z);
    }
    z
}

#[differentiable(x, y; forward)]
fn loop_with_branches(x: f64, y: f64, n: usize) -> f64 {
    let mut s = 0.0;
    let mut p = x;
    for i in 0..n {
        let t = i as f64 * 0.1;
        if p > t {
            s += sg_for!(x, p * y) + t;
        } else {
            s -= p.sin() * sg(y);
        }
        p = p * 0.9 + y * 0.05;
    }
    s + p
}

#[differentiable(x; forward)]
fn inactive_break(x: f64, table: &[f64]) -> f64 {
    let mut k = 0;
    for (i, t) in table.iter().enumerate() {
        if *t > 0.5 {
            k = i;
            break;
        }
    }
    let mut m = 0.0;
    for t in table {
        if *t < 0.0 {
            continue;
        }
        m += t;
    }
    x * k as f64 + m * x
}

/// A loop in one branch of an `if`, and nested loops, both without anything
/// to record per iteration.
#[differentiable(x; forward)]
fn loop_in_branch(x: f64) -> f64 {
    let mut s = x;
    if x > 0.0 {
        for _ in 0..3 {
            s = s * 0.5 + 1.0;
        }
    }
    s
}

#[differentiable(x; forward)]
fn nested_loops(x: f64) -> f64 {
    let mut acc = x;
    for _ in 0..3 {
        for j in 0..2 {
            acc *= j as f64 + 1.5;
        }
    }
    acc
}

#[test]
fn loops_match() {
    let mut rng = Rng::new(23);
    for _ in 0..POINTS {
        let a = rng.uniform(0.5, 4.0);
        let (v, d) = newton_sqrt_grad(bb(a));
        assert_eq!(v.to_bits(), newton_sqrt(bb(a)).to_bits());
        assert!((d - 0.5 / a.sqrt()).abs() < 1e-9);
        let jvp = |q: &[f64]| newton_sqrt_jvp(a, q[0]);
        jvp_identity("newton_sqrt", v, &[d], &jvp, JVP_REL);

        let p = rng.point(&[(-1.0, 1.0), (-1.0, 1.0)]);
        let n = 7;
        let (val, (dx, dy)) = loop_with_branches_grad(bb(p[0]), bb(p[1]), bb(n));
        // Each iteration's sites get their own ids.
        let copy = |q: &[f64], s: &mut Sites| {
            let (x, y) = (q[0], q[1]);
            let mut acc = 0.0;
            let mut p = x;
            for i in 0..n {
                let t = i as f64 * 0.1;
                if p > t {
                    acc += s.cut(2 * i, p * y) + t;
                } else {
                    acc -= p.sin() * s.cut(2 * i + 1, y);
                }
                p = p * 0.9 + y * 0.05;
            }
            acc + p
        };
        let sites: Vec<Cut> = (0..n).flat_map(|_| [Cut::For(&[0]), Cut::All]).collect();
        check(
            "loop_with_branches",
            &copy,
            &sites,
            &p,
            (
                loop_with_branches(bb(p[0]), bb(p[1]), bb(n)),
                val,
                &[dx, dy],
            ),
            &|q: &[f64]| loop_with_branches_jvp(p[0], p[1], n, q[0], q[1]),
            TOL,
        );
    }
    assert_eq!(
        loop_in_branch_grad(bb(1.0)),
        (loop_in_branch(bb(1.0)), 0.125)
    );
    assert_eq!(loop_in_branch_grad(bb(-1.0)), (-1.0, 1.0));
    assert_eq!(
        nested_loops_grad(bb(1.0)),
        (nested_loops(bb(1.0)), 3.75_f64.powi(3))
    );
    let t = [0.1, -0.2, 0.7, 0.9];
    assert_eq!(inactive_break(2.0, &t), 7.4);
    assert_eq!(inactive_break_grad(2.0, &t), (7.4, 3.7));
    assert_eq!(inactive_break_jvp(2.0, &t, 2.0), (7.4, 7.4));
    assert_eq!(loop_in_branch_jvp(bb(1.0), 1.0).1, 0.125);
    assert_eq!(loop_in_branch_jvp(bb(-1.0), 1.0), (-1.0, 1.0));
    assert_eq!(nested_loops_jvp(bb(1.0), 1.0).1, 3.75_f64.powi(3));
}

// ===========================================================================
// 24. Guards with nested early returns (a small instance of the pattern
//     whose generated code grows exponentially, see the bug below).

#[differentiable(x; forward)]
fn guards(x: f64) -> f64 {
    let mut s = x;
    if s > 0.5 {
        s = s * 0.9 + 0.1;
        if s > 3.0 {
            return s;
        }
    }
    if s > 1.5 {
        s = s * 0.9 + 0.1;
        if s > 4.0 {
            return s.ln();
        }
    }
    if s > 2.5 {
        s = s * 0.9 + 0.1;
        if s > 5.0 {
            return s.sqrt();
        }
    }
    s * s
}

#[test]
fn guards_match() {
    let mut rng = Rng::new(24);
    for _ in 0..POINTS {
        let x = rng.uniform(-1.0, 8.0);
        let (v, d) = guards_grad(bb(x));
        let copy = |p: &[f64], _: &mut Sites| guards(p[0]);
        check(
            "guards",
            &copy,
            &[],
            &[x],
            (guards(bb(x)), v, &[d]),
            &|q: &[f64]| guards_jvp(x, q[0]),
            TOL,
        );
    }
}

// ===========================================================================
// BUGS: programs that compile but compute the wrong value or gradient.
// Each test states the correct result and is ignored until the bug is fixed.

/// A literal assigned to an `f32` variable after its typed `let`.
#[differentiable(x; forward)]
#[allow(unused_assignments)]
fn reassigned_f32_literal(x: f64) -> f64 {
    let mut a: f32 = 1.0;
    a = 0.1;
    x * (a as f64)
}

#[test]
fn regression_reassigned_f32_literal_changes_value() {
    let x = bb(2.0);
    let expected = 2.0 * f64::from(0.1_f32);
    assert_eq!(reassigned_f32_literal(x), expected);
    assert_eq!(
        reassigned_f32_literal_grad(x),
        (expected, f64::from(0.1_f32))
    );
    assert_eq!(
        reassigned_f32_literal_jvp(x, 1.0),
        (expected, f64::from(0.1_f32))
    );
}

/// A typed `let` whose value is an `if` of literals.
#[differentiable(x; forward)]
fn typed_if_of_literals(x: f64) -> f64 {
    let eps: f32 = if x > 0.0 { 1e-3 } else { 1e-4 };
    x + eps as f64
}

#[test]
fn regression_typed_if_of_literals_changes_value() {
    let x = bb(2.0);
    assert_eq!(
        typed_if_of_literals(x).to_bits(),
        typed_if_of_literals_grad(x).0.to_bits()
    );
    assert_eq!(
        typed_if_of_literals_jvp(x, 1.0),
        (typed_if_of_literals(x), 1.0)
    );
}

/// `let y;` assigned in one branch, the other diverging; `y` shadows a
/// parameter.
#[differentiable(x, y; forward)]
#[allow(unused_variables)]
fn deferred_init_with_panic(x: f64, y: f64) -> f64 {
    let y;
    if x > 0.0 {
        y = x * x;
    } else {
        unreachable!("x must be positive")
    }
    y
}

#[test]
fn regression_deferred_init_with_panic_reads_the_parameter() {
    assert_eq!(deferred_init_with_panic(3.0, 5.0), 9.0);
    assert_eq!(deferred_init_with_panic_grad(3.0, 5.0), (9.0, (6.0, 0.0)));
    assert_eq!(deferred_init_with_panic_jvp(3.0, 5.0, 1.0, 1.0), (9.0, 6.0));
}

/// Struct field shorthand in code the macro passes through.
struct Config {
    x: f64,
}

#[differentiable(t; forward)]
fn struct_shorthand(x: f64, t: f64) -> f64 {
    let x = x * 2.0;
    let cfg = Config { x };
    t * cfg.x
}

#[test]
fn regression_struct_shorthand_reads_the_wrong_binding() {
    assert_eq!(struct_shorthand(1.0, 3.0), 6.0);
    assert_eq!(struct_shorthand_grad(1.0, 3.0), (6.0, 2.0));
    assert_eq!(struct_shorthand_jvp(1.0, 3.0, 1.0), (6.0, 2.0));
}

/// A local that aliases a parameter, read in a closure whose own parameter
/// has the parameter's name (`|x|` is the most common closure parameter).
#[differentiable(w; forward)]
fn spread_loss(w: f64, x: f64, data: &[f64]) -> f64 {
    let center = x;
    let spread: f64 = data.iter().map(|x| (x - center).powi(2)).sum();
    w * spread
}

#[test]
fn regression_alias_captured_by_closure_parameter() {
    let d = [1.0, 2.0, 4.0];
    assert_eq!(spread_loss(2.0, 1.0, &d), 20.0);
    assert_eq!(spread_loss_grad(2.0, 1.0, &d), (20.0, 10.0));
    assert_eq!(spread_loss_jvp(2.0, 1.0, &d, 1.0), (20.0, 10.0));
}

/// `as _` (inferred target type) on a differentiated value.
#[differentiable(x)]
#[allow(clippy::cast_possible_truncation)]
fn inferred_cast(x: f64) -> f64 {
    let y: f32 = x as _;
    (y * y) as f64
}

#[test]
fn regression_inferred_cast_drops_the_derivative() {
    assert_eq!(inferred_cast(3.0), 9.0);
    assert_eq!(inferred_cast_grad(3.0), (9.0, 6.0));
}

/// `as Alias` with a type alias of a float type.
type Real = f32;

#[differentiable(x)]
fn alias_cast(x: f64) -> f64 {
    let y = x as Real;
    y as f64 * x
}

#[test]
fn regression_alias_cast_drops_the_derivative() {
    assert_eq!(alias_cast(3.0), 9.0);
    assert_eq!(alias_cast_grad(3.0), (9.0, 6.0));
}

/// A local named `d_<name>` where `<name>` is a parameter.
#[differentiable(mu; forward)]
fn named_d_mu(mu: f64, x: f64) -> f64 {
    let d_mu = (x - mu).sin();
    let a = d_mu * mu;
    let b = mu * 3.0;
    a + b
}

#[test]
fn regression_local_named_d_mu_clashes_with_an_adjoint() {
    let (mu, x) = (0.3, 1.2);
    let (v, d) = named_d_mu_grad(mu, x);
    assert_eq!(v, named_d_mu(mu, x));
    let expected = -(x - mu).cos() * mu + (x - mu).sin() + 3.0;
    assert!((d - expected).abs() < 1e-12, "{d} vs {expected}");
    let jvp = |q: &[f64]| named_d_mu_jvp(mu, x, q[0]);
    jvp_identity("named_d_mu", v, &[d], &jvp, JVP_REL);
}

// ===========================================================================
// BUGS: valid programs that do not compile. Each ignored test compiles and
// runs the program with `trybuild` (`cargo test --test fd_user_programs
// -- --ignored` shows the compiler's message).

#[test]
fn regression_deferred_init_with_panic_does_not_compile() {
    must_compile_and_run(
        "deferred_init_with_panic",
        r#"
use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let y;
    if x > 0.0 {
        y = x * 2.0;
    } else {
        panic!("negative");
    }
    y * x
}

fn main() {
    assert_eq!(f(3.0), 18.0);
    assert_eq!(f_grad(3.0), (18.0, 12.0));
}
"#,
    );
}

#[test]
fn regression_deferred_init_in_match_or_if_let_does_not_compile() {
    must_compile_and_run(
        "deferred_init_in_match",
        r#"
use sgrad::differentiable;

#[differentiable(x)]
fn by_mode(x: f64, mode: u8) -> f64 {
    let w;
    match mode {
        0 => w = 1.0,
        _ => w = 2.0,
    }
    x * w
}

#[differentiable(x)]
fn weighted(x: f64, weight: Option<f64>) -> f64 {
    let w;
    if let Some(v) = weight {
        w = v;
    } else {
        w = 1.0;
    }
    x * w
}

fn main() {
    assert_eq!(by_mode(3.0, 1), 6.0);
    assert_eq!(by_mode_grad(3.0, 1), (6.0, 2.0));
    assert_eq!(weighted(3.0, Some(2.0)), 6.0);
    assert_eq!(weighted_grad(3.0, Some(2.0)), (6.0, 2.0));
}
"#,
    );
}

#[test]
fn regression_typed_literal_then_method_does_not_compile() {
    must_compile_and_run(
        "typed_literal_then_method",
        r#"
use sgrad::differentiable;

#[differentiable(x)]
#[allow(unused_assignments)]
fn reassigned(x: f64) -> f64 {
    let mut s: f64 = 1.0;
    s = 2.0;
    s.ln() * x
}

#[differentiable(x)]
fn deferred(x: f64) -> f64 {
    let y: f64;
    if x > 0.0 {
        y = 1.0;
    } else {
        y = 2.0;
    }
    y.ln() * x
}

#[differentiable(x)]
fn typed_if(x: f64) -> f64 {
    let scale: f64 = if x > 0.0 { 2.0 } else { 0.5 };
    scale.ln() * x
}

fn main() {
    assert_eq!(reassigned_grad(3.0), (reassigned(3.0), 2f64.ln()));
    assert_eq!(deferred_grad(3.0), (deferred(3.0), 0.0));
    assert_eq!(typed_if_grad(1.0), (typed_if(1.0), 2f64.ln()));
}
"#,
    );
}

#[test]
fn regression_predicate_method_on_mut_variable_is_rejected() {
    must_compile_and_run(
        "predicate_method_on_mut_variable",
        r#"
use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64, y: f64) -> f64 {
    let mut acc = x * y;
    acc += 1.0;
    if !acc.is_finite() {
        return 0.0;
    }
    acc * acc
}

fn main() {
    assert_eq!(f(1.0, 2.0), 9.0);
    assert_eq!(f_grad(1.0, 2.0), (9.0, 12.0));
}
"#,
    );
}

#[test]
#[ignore = "bug: #[differentiable] on a method of a trait impl emits `loss_grad` into the impl: E0407"]
fn regression_method_in_trait_impl_does_not_compile() {
    must_compile_and_run(
        "method_in_trait_impl",
        r#"
use sgrad::differentiable;

trait Model {
    fn loss(&self, x: f64) -> f64;
}

struct Quadratic {
    a: f64,
}

impl Model for Quadratic {
    #[differentiable(x)]
    fn loss(&self, x: f64) -> f64 {
        self.a * x * x
    }
}

fn main() {
    assert_eq!(Quadratic { a: 1.0 }.loss(2.0), 4.0);
}
"#,
    );
}

#[test]
fn regression_item_in_branch_does_not_compile() {
    must_compile_and_run(
        "item_in_branch",
        r#"
use sgrad::differentiable;

#[differentiable(x)]
fn with_const(x: f64) -> f64 {
    let mut s = x;
    if x > 0.0 {
        const K: f64 = 3.0;
        s = s * K;
    }
    s
}

#[differentiable(x)]
fn with_use(x: f64) -> f64 {
    let mut s = x;
    if x > 0.0 {
        use std::f64::consts::PI;
        s = s * PI;
    }
    s
}

fn main() {
    assert_eq!(with_const_grad(1.0), (with_const(1.0), 3.0));
    assert_eq!(with_use_grad(1.0), (with_use(1.0), std::f64::consts::PI));
}
"#,
    );
}

#[test]
#[ignore = "bug: items in two sibling blocks are flattened into one scope: E0428 `K` defined multiple times"]
fn regression_items_in_sibling_blocks_do_not_compile() {
    must_compile_and_run(
        "items_in_sibling_blocks",
        r#"
use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let a = {
        const K: f64 = 2.0;
        x * K
    };
    let b = {
        const K: f64 = 3.0;
        x * K
    };
    a + b
}

fn main() {
    assert_eq!(f(1.0), 5.0);
    assert_eq!(f_grad(1.0), (5.0, 5.0));
}
"#,
    );
}

#[test]
fn regression_destructuring_assignment_does_not_compile() {
    must_compile_and_run(
        "destructuring_assignment",
        r#"
use sgrad::differentiable;

#[differentiable(x, y)]
fn ordered_gap(x: f64, y: f64) -> f64 {
    let (mut a, mut b) = (x, y);
    if a > b {
        (a, b) = (b, a);
    }
    a - b * 2.0
}

fn main() {
    assert_eq!(ordered_gap(3.0, 1.0), -5.0);
    assert_eq!(ordered_gap_grad(3.0, 1.0), (-5.0, (-2.0, 1.0)));
}
"#,
    );
}

#[test]
fn regression_field_name_in_macro_is_renamed() {
    must_compile_and_run(
        "field_name_in_macro",
        r#"
use sgrad::differentiable;

struct Point {
    x: f64,
}

#[differentiable(t)]
fn f(t: f64) -> f64 {
    let x = 1.0;
    let points = vec![Point { x: 2.0 }];
    t * x * points[0].x
}

fn main() {
    assert_eq!(f(1.0), 2.0);
    assert_eq!(f_grad(1.0), (2.0, 2.0));
}
"#,
    );
}

#[test]
fn regression_stop_gradient_of_a_tuple_does_not_compile() {
    must_compile_and_run(
        "stop_gradient_of_a_tuple",
        r#"
use sgrad::{differentiable, sg, sg_for};

#[differentiable(mu, sigma)]
fn normal_log_pdf(mu: f64, sigma: f64, x: f64) -> f64 {
    let (m, s) = sg((mu, sigma));
    let z = (x - mu) / sigma;
    -0.5 * z * z - sigma.ln() + 0.0 * m * s
}

#[differentiable(a, b)]
fn pair(a: f64, b: f64) -> f64 {
    let (p, q) = sg_for!(a, (a * b, a + b));
    p + q
}

fn main() {
    let (v, (dm, ds)) = normal_log_pdf_grad(0.5, 2.0, 1.0);
    assert_eq!(v, normal_log_pdf(0.5, 2.0, 1.0));
    assert!((dm - 0.125).abs() < 1e-12);
    assert!((ds - (0.25 * 0.25 / 2.0 - 0.5)).abs() < 1e-12);
    assert_eq!(pair_grad(2.0, 3.0), (pair(2.0, 3.0), (0.0, 3.0)));
}
"#,
    );
}

#[test]
fn regression_bare_attribute_takes_slice_parameters() {
    must_compile_and_run(
        "bare_attribute_and_slices",
        r#"
use sgrad::differentiable;

#[differentiable]
fn loss(w: f64, xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        s += (w * xs[i] - 1.0).powi(2);
    }
    s
}

fn main() {
    let xs = [1.0, 2.0];
    // README: "`#[differentiable]` alone takes every `f64`/`f32` parameter.
    // Other parameters are constants."
    let (v, dw): (f64, f64) = loss_grad(0.5, &xs);
    assert_eq!(v, loss(0.5, &xs));
    assert_eq!(dw, 2.0 * (0.5 - 1.0) * 1.0 + 2.0 * (1.0 - 1.0) * 2.0);
}
"#,
    );
}

#[test]
fn forward_mode_with_a_trailing_comma_in_the_parameters() {
    // rustfmt writes every parameter list that does not fit on one line this
    // way; `_jvp`'s signature becomes `(x: f64,, tangent_x: f64)`.
    must_compile_and_run(
        "forward_trailing_comma",
        r#"
use sgrad::differentiable;

#[differentiable(x; forward)]
fn trailing(
    x: f64,
) -> f64 {
    x * x
}

fn main() {
    assert_eq!(trailing_jvp(3.0, 1.0), (9.0, 6.0));
}
"#,
    );
}

#[test]
fn forward_mode_of_a_float_cast() {
    // `_jvp` casts the tangent like the cast's operand, not like its result.
    must_compile_and_run(
        "forward_float_cast",
        r#"
use sgrad::differentiable;

#[differentiable(x; forward)]
fn widen(x: f32) -> f64 {
    x as f64
}

#[differentiable(x; forward)]
fn round_trip(x: f32) -> f32 {
    (x as f64 * 2.0) as f32
}

fn main() {
    assert_eq!(widen_jvp(1.5, 1.0), (1.5, 1.0));
    assert_eq!(round_trip_jvp(1.5, 1.0), (3.0, 2.0));
}
"#,
    );
}

#[test]
fn forward_mode_of_a_call_with_a_whole_nested_array() {
    // No `Along` for `Vec<Vec<T>>` / `[[T; N]; M]` gradients.
    must_compile_and_run(
        "forward_call_with_nested_array",
        r#"
use sgrad::differentiable;

#[differentiable(w)]
fn rows_sum(w: &[Vec<f64>]) -> f64 {
    w[0][0] * w[1][1]
}

#[differentiable(w; forward)]
fn caller(w: &[Vec<f64>]) -> f64 {
    rows_sum(w) * 2.0
}

#[differentiable(w)]
fn corner(w: [[f64; 3]; 2]) -> f64 {
    w[0][1] * w[1][2]
}

#[differentiable(w; forward)]
fn caller2(w: [[f64; 3]; 2]) -> f64 {
    corner(w)
}

fn main() {
    let w = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
    assert_eq!(caller_jvp(&w, &[vec![1.0, 0.0], vec![0.0, 1.0]]), (8.0, 10.0));
    let m = [[0.3, -0.5, 0.2], [0.9, 0.1, -0.4]];
    let t = [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]];
    assert_eq!(caller2_jvp(m, t), (-0.5 * -0.4, -0.4));
}
"#,
    );
}

/// `n` blocks `if s > .. { s = ..; if s > .. { return s; } }` in sequence.
fn guard_program(n: usize) -> String {
    let mut body = String::new();
    for i in 0..n {
        body.push_str(&format!(
            "    if s > {i}.5 {{\n        s = s * 0.9 + 0.1;\n        if s > {}.0 {{\n            return s;\n        }}\n    }}\n",
            i + 3
        ));
    }
    format!(
        "use sgrad::differentiable;\n\n#[differentiable(x)]\nfn guards(x: f64) -> f64 {{\n    let mut s = x;\n{body}    s * s\n}}\n\nfn main() {{\n    assert_eq!(guards_grad(0.25).0, guards(0.25));\n}}\n"
    )
}

#[test]
#[ignore = "bug: code after an `if` holding a nested `return` is copied into both branches: exponential size"]
fn regression_nested_returns_grow_exponentially() {
    // Warm up trybuild (builds `sgrad` for its project), then time one
    // function of 11 guards (50 lines). Measured through trybuild on the
    // 2-core machine: 8 guards 1 s, 11 guards 22 s, 13 guards 305 s.
    must_compile_and_run("nested_returns_1", &guard_program(1));
    let start = std::time::Instant::now();
    must_compile_and_run("nested_returns_11", &guard_program(11));
    let secs = start.elapsed().as_secs_f64();
    assert!(secs < 10.0, "compiling 11 guards took {secs:.0} s");
}
