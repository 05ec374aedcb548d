//! The consequences of `SEMANTICS.md`, one test each, checked against an
//! independent oracle.
//!
//! The oracle is the rule itself. For each differentiated function the test
//! holds a hand-written copy of its body in plain Rust in which every `sg` /
//! `sg_for!` site is a call `s.cut(id, e)`, and a table saying which variables
//! each site blocks (`Cut::All` for `sg`, `Cut::For(..)` for `sg_for!`). The
//! derivative with respect to xₖ must be the derivative of Pₖ: the copy with
//! every site that blocks xₖ frozen at its value at the base point. Pₖ is
//! differentiated by central differences, per variable, and in a seeded random
//! direction over each set of variables that see the same program. Several
//! tests also state the gradient as a hand-derived formula.
//!
//! Forward mode (`; forward`) is checked against the gradient by the
//! dot-product identity `<gradient, v> = jvp(v)`: forward mode honours the
//! sites per variable too, so a tangent on one group of variables blocked at
//! the same sites gives that group's part of the gradient
//! (`Oracle::check_all`).

use sgrad::{differentiable, grad, sg, sg_for};
use std::hint::black_box;

mod common;
use common::per_site::{self, Body, Sites};
use common::{
    assert_bits, assert_close, assert_directional, assert_jvp, assert_jvp_plain, directional,
    groups, Cut, Jvp, Rng, Tol,
};

// ---------------------------------------------------------------------------
// The oracle: a hand-written copy with its sites (`common::per_site`), frozen
// per variable.

struct Oracle<'a> {
    name: &'a str,
    copy: Body<'a>,
    sites: &'a [Cut],
}

/// Relative tolerance of the comparisons with the oracle (`f64`).
const REL: f64 = 1e-6;

impl Oracle<'_> {
    fn eval(&self, x: &[f64], frozen: Vec<Option<f64>>) -> (f64, Vec<Option<f64>>) {
        per_site::eval(self.copy, x, frozen)
    }

    /// The sites blocked for variable `k`.
    fn blocked_for(&self, k: usize) -> Vec<bool> {
        self.sites.iter().map(|c| c.blocks(k)).collect()
    }

    /// Pₖ for every variable with the same blocked sites: the copy with those
    /// sites frozen at their values at `base`.
    fn program(&self, base: &[f64], blocked: &[bool]) -> impl Fn(&[f64]) -> f64 + '_ {
        let (_, seen) = self.eval(base, Vec::new());
        let frozen: Vec<Option<f64>> = seen
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if blocked.get(i).copied().unwrap_or(false) {
                    *v
                } else {
                    None
                }
            })
            .collect();
        move |x: &[f64]| self.eval(x, frozen.clone()).0
    }

    /// Checks `value` and `grad` at `x` against the copy: value, each
    /// partial, and a random direction within each group of variables that
    /// share a program.
    #[track_caller]
    fn check(&self, x: &[f64], value: f64, grad: &[f64], rng: &mut Rng, rel: f64) {
        let (name, tol) = (self.name, Tol::rel(rel));
        assert_eq!(grad.len(), x.len(), "{name}");
        let (v0, _) = self.eval(x, Vec::new());
        assert!(
            (v0 - value).abs() <= 1e-12 * v0.abs().max(1e-300),
            "{name} at {x:?}: the copy computes {v0:e}, the function {value:e} (the copy is wrong)"
        );
        let n = x.len();
        for k in 0..n {
            let mut e = vec![0.0; n];
            e[k] = 1.0;
            let blocked = self.blocked_for(k);
            let p = self.program(x, &blocked);
            assert_directional(&format!("{name} d/dx{k}"), &p, x, &e, grad[k], tol);
        }
        let mut groups: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
        for k in 0..n {
            let b = self.blocked_for(k);
            match groups.iter_mut().find(|(g, _)| *g == b) {
                Some((_, vars)) => vars.push(k),
                None => groups.push((b, vec![k])),
            }
        }
        for (blocked, vars) in groups {
            let mut v = vec![0.0; n];
            for &k in &vars {
                v[k] = rng.normal();
            }
            let dot: f64 = vars.iter().map(|&k| grad[k] * v[k]).sum();
            let p = self.program(x, &blocked);
            assert_directional(
                &format!("{name} along {v:?} (variables {vars:?})"),
                &p,
                x,
                &v,
                dot,
                tol,
            );
        }
    }

    /// The groups of variables blocked at the same sites (one component
    /// each).
    fn groups(&self, n: usize) -> Vec<Vec<usize>> {
        groups(&vec![1; n], |k| self.blocked_for(k))
    }

    /// The whole oracle: `f` (the function itself, on inputs the optimiser
    /// cannot see) bit for bit the value of `f_grad`, [`Self::check`] at
    /// `REL`, and the dot-product identity with `f_jvp` (`jvp`, over the
    /// direction) in random directions per group of variables blocked at
    /// the same sites and over all of them.
    #[track_caller]
    fn check_all(&self, x: &[f64], f: f64, (value, grad): (f64, &[f64]), jvp: Jvp, rng: &mut Rng) {
        assert_bits(self.name, f, value);
        self.check(x, value, grad, rng, REL);
        assert_jvp(self.name, value, grad, &self.groups(x.len()), jvp, rng);
    }
}

/// Each variable on its own: one group per variable.
fn each(n: usize) -> Vec<Vec<usize>> {
    (0..n).map(|k| vec![k]).collect()
}

// ---------------------------------------------------------------------------
// Rule 1: data flow, not syntax.

#[differentiable(phi1, phi2; forward)]
fn two_stage(phi1: f64, phi2: f64, eps1: f64, eps2: f64, y2: f64) -> f64 {
    // `theta1` depends on `phi1` and is computed outside the brackets.
    let theta1 = eps1 * phi1.exp() + phi1;
    let theta2 = theta1 + phi2 * eps2 + phi2 * phi2;
    let fit = sg_for!(phi1, -(y2 - theta1 * theta2).powi(2));
    theta1.sin() + fit + theta2 * 0.3
}

#[test]
fn rule1_data_flow_cut_blocks_paths_through_intermediates() {
    let mut rng = Rng::new(1);
    for _ in 0..20 {
        let (phi1, phi2) = (rng.uniform(-1.5, 1.0), rng.uniform(-1.0, 1.0));
        let (eps1, eps2, y2) = (rng.normal(), rng.normal(), rng.uniform(-2.0, 2.0));
        let copy = |x: &[f64], s: &mut Sites| {
            let theta1 = eps1 * x[0].exp() + x[0];
            let theta2 = theta1 + x[1] * eps2 + x[1] * x[1];
            let fit = s.cut(0, -(y2 - theta1 * theta2).powi(2));
            theta1.sin() + fit + theta2 * 0.3
        };
        let oracle = Oracle {
            name: "two_stage",
            copy: &copy,
            sites: &[Cut::For(&[0])],
        };
        let (v, (d1, d2)) = two_stage_grad(phi1, phi2, eps1, eps2, y2);
        let jvp = |d: &[f64]| two_stage_jvp(phi1, phi2, eps1, eps2, y2, d[0], d[1]);
        let f = two_stage(black_box(phi1), phi2, eps1, eps2, y2);
        oracle.check_all(&[phi1, phi2], f, (v, &[d1, d2]), &jvp, &mut rng);

        // By hand. θ₁' = ε₁ e^φ₁ + 1 (d/dφ₁), θ₂ = θ₁ + φ₂ε₂ + φ₂².
        // d/dφ₁: `fit` is constant, including its path through θ₁ and θ₂:
        //   cos θ₁ θ₁' + 0.3 θ₁'.
        // d/dφ₂: everything open, θ₁ does not depend on φ₂:
        //   2 (y₂ − θ₁θ₂) θ₁ (ε₂ + 2φ₂) + 0.3 (ε₂ + 2φ₂).
        let theta1 = eps1 * phi1.exp() + phi1;
        let theta2 = theta1 + phi2 * eps2 + phi2 * phi2;
        let dth1 = eps1 * phi1.exp() + 1.0;
        let dth2 = eps2 + 2.0 * phi2;
        assert_close("two_stage d/dphi1", d1, (theta1.cos() + 0.3) * dth1, 1e-12);
        assert_close(
            "two_stage d/dphi2",
            d2,
            2.0 * (y2 - theta1 * theta2) * theta1 * dth2 + 0.3 * dth2,
            1e-12,
        );
    }
}

// ---------------------------------------------------------------------------
// Rule 2: per variable. One site, cut for one variable, open for another.

#[differentiable(a, b; forward)]
fn split(a: f64, b: f64, c: f64) -> f64 {
    let u = a * b + c;
    sg_for!(a, u.sin() * b) + a * u
}

#[test]
fn rule2_one_site_cut_for_one_variable_open_for_another_in_one_call() {
    let mut rng = Rng::new(2);
    for _ in 0..20 {
        let (a, b, c) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0), rng.normal());
        let copy = |x: &[f64], s: &mut Sites| {
            let u = x[0] * x[1] + c;
            s.cut(0, u.sin() * x[1]) + x[0] * u
        };
        let oracle = Oracle {
            name: "split",
            copy: &copy,
            sites: &[Cut::For(&[0])],
        };
        let (v, (da, db)) = split_grad(a, b, c);
        let jvp = |d: &[f64]| split_jvp(a, b, c, d[0], d[1]);
        let f = split(black_box(a), b, c);
        oracle.check_all(&[a, b], f, (v, &[da, db]), &jvp, &mut rng);
        // d/da = u + a b (site constant); d/db = cos(u) a b + sin(u) + a².
        let u = a * b + c;
        assert_close("split d/da", da, u + a * b, 1e-12);
        assert_close("split d/db", db, u.cos() * a * b + u.sin() + a * a, 1e-12);
    }
}

#[differentiable(a, b, c; forward)]
fn listed(a: f64, b: f64, c: f64) -> f64 {
    let t = a * b * c;
    let w = sg_for!([a, b], (t + c).exp());
    w * a + t.tanh() + sg_for!([c, a], b.sin() * c * a)
}

#[test]
fn rule2_list_form_blocks_each_listed_variable() {
    let mut rng = Rng::new(3);
    for _ in 0..20 {
        let (a, b, c) = (
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
        );
        let copy = |x: &[f64], s: &mut Sites| {
            let t = x[0] * x[1] * x[2];
            let w = s.cut(0, (t + x[2]).exp());
            w * x[0] + t.tanh() + s.cut(1, x[1].sin() * x[2] * x[0])
        };
        // a: both sites; b: the first; c: the second. Three programs.
        let oracle = Oracle {
            name: "listed",
            copy: &copy,
            sites: &[Cut::For(&[0, 1]), Cut::For(&[2, 0])],
        };
        let (v, (da, db, dc)) = listed_grad(a, b, c);
        let jvp = |d: &[f64]| listed_jvp(a, b, c, d[0], d[1], d[2]);
        let f = listed(black_box(a), b, c);
        oracle.check_all(&[a, b, c], f, (v, &[da, db, dc]), &jvp, &mut rng);
        let t = a * b * c;
        let w = (t + c).exp();
        let sech2 = 1.0 - t.tanh().powi(2);
        assert_close("listed d/da", da, w + sech2 * b * c, 1e-12);
        assert_close("listed d/db", db, sech2 * a * c + b.cos() * c * a, 1e-12);
        assert_close(
            "listed d/dc",
            dc,
            w * (a * b + 1.0) * a + sech2 * a * b,
            1e-12,
        );
    }
}

#[differentiable(a, b, c; forward)]
fn nested(a: f64, b: f64, c: f64) -> f64 {
    let inner = a * b + c;
    let outer = sg_for!(a, sg_for!(b, inner.cos()) * c + a * b);
    outer * a + b * c
}

#[test]
fn rule2_nested_sg_for_blocks_each_variable_at_its_own_site() {
    let mut rng = Rng::new(4);
    for _ in 0..20 {
        let (a, b, c) = (
            rng.uniform(-2.0, 2.0),
            rng.uniform(-2.0, 2.0),
            rng.uniform(-2.0, 2.0),
        );
        let copy = |x: &[f64], s: &mut Sites| {
            let inner = x[0] * x[1] + x[2];
            let inner_cut = s.cut(0, inner.cos());
            let outer = s.cut(1, inner_cut * x[2] + x[0] * x[1]);
            outer * x[0] + x[1] * x[2]
        };
        let oracle = Oracle {
            name: "nested",
            copy: &copy,
            sites: &[Cut::For(&[1]), Cut::For(&[0])],
        };
        let (v, (da, db, dc)) = nested_grad(a, b, c);
        let jvp = |d: &[f64]| nested_jvp(a, b, c, d[0], d[1], d[2]);
        let f = nested(black_box(a), b, c);
        oracle.check_all(&[a, b, c], f, (v, &[da, db, dc]), &jvp, &mut rng);
        // a: the outer site is constant: d/da = outer.
        // b: the inner site is constant: outer = K c + a b, d/db = a·a + c.
        // c: open: d/dc = a (cos(i) − sin(i) c) + b, i = a b + c.
        let i = a * b + c;
        let outer = i.cos() * c + a * b;
        assert_close("nested d/da", da, outer, 1e-12);
        assert_close("nested d/db", db, a * a + c, 1e-12);
        assert_close("nested d/dc", dc, a * (i.cos() - i.sin() * c) + b, 1e-12);
    }
}

// ---------------------------------------------------------------------------
// `sg` on a variable that is also used directly.

#[differentiable(x, y; forward)]
fn reuse(x: f64, y: f64) -> f64 {
    x * sg(x) + sg(x * y) * y + (x * y).sin()
}

#[test]
fn sg_on_a_reused_variable_blocks_only_that_use() {
    let mut rng = Rng::new(5);
    for _ in 0..20 {
        let (x, y) = (rng.uniform(-3.0, 3.0), rng.uniform(-3.0, 3.0));
        let copy = |p: &[f64], s: &mut Sites| {
            p[0] * s.cut(0, p[0]) + s.cut(1, p[0] * p[1]) * p[1] + (p[0] * p[1]).sin()
        };
        let oracle = Oracle {
            name: "reuse",
            copy: &copy,
            sites: &[Cut::All, Cut::All],
        };
        let (v, (dx, dy)) = reuse_grad(x, y);
        let jvp = |d: &[f64]| reuse_jvp(x, y, d[0], d[1]);
        let f = reuse(black_box(x), y);
        oracle.check_all(&[x, y], f, (v, &[dx, dy]), &jvp, &mut rng);
        assert_close("reuse d/dx", dx, x + (x * y).cos() * y, 1e-12);
        assert_close("reuse d/dy", dy, x * y + (x * y).cos() * x, 1e-12);
    }
    let g = grad!(|x: f64| x * sg(x));
    for x in [-2.0, 0.5, 3.0] {
        assert_eq!(g(x), (x * x, x));
    }
    let g = grad!(|x: f64| sg(x) * sg(x) + sg(x.exp()));
    assert_eq!(g(1.5).1, 0.0);
}

// ---------------------------------------------------------------------------
// Shadowing and reassignment; rule 5: a name in `sg_for!` is the parameter.

#[differentiable(a, b; forward)]
fn shadow(a: f64, b: f64) -> f64 {
    let a = a * 2.0 + b;
    let mut t = a * b;
    t += a.sin();
    t *= 1.5;
    t -= b / 4.0;
    t /= 1.0 + b * b;
    let t = t - b;
    // `a` names the parameter: every path from it into this expression,
    // including through the local `a` and `t`, is blocked.
    let mut acc = sg_for!(a, t.exp() * a);
    acc -= b * a;
    acc / 3.0 + t
}

#[test]
fn shadowing_and_reassignment() {
    let mut rng = Rng::new(6);
    for _ in 0..20 {
        let (a, b) = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0));
        let copy = |x: &[f64], s: &mut Sites| {
            let a1 = x[0] * 2.0 + x[1];
            let b = x[1];
            let mut t = a1 * b;
            t += a1.sin();
            t *= 1.5;
            t -= b / 4.0;
            t /= 1.0 + b * b;
            let t2 = t - b;
            let mut acc = s.cut(0, t2.exp() * a1);
            acc -= b * a1;
            acc / 3.0 + t2
        };
        let oracle = Oracle {
            name: "shadow",
            copy: &copy,
            sites: &[Cut::For(&[0])],
        };
        let (v, (da, db)) = shadow_grad(a, b);
        let jvp = |d: &[f64]| shadow_jvp(a, b, d[0], d[1]);
        let f = shadow(black_box(a), b);
        oracle.check_all(&[a, b], f, (v, &[da, db]), &jvp, &mut rng);
    }
}

#[differentiable(a, b; forward)]
#[allow(deprecated)] // stops that stop nothing, on purpose (sgrad warns of them)
fn shadow_unrelated(a: f64, b: f64) -> f64 {
    let p = a;
    let a = b * 3.0;
    // The local `a` depends on `b` only; `sg_for!(a, ..)` still names the
    // parameter `a`, so this site is open for `b`.
    sg_for!(a, a * a) + p * a
}

#[test]
fn rule5_sg_for_names_the_parameter_even_where_a_let_shadows_it() {
    let mut rng = Rng::new(7);
    for _ in 0..20 {
        let (a, b) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        let copy = |x: &[f64], s: &mut Sites| {
            let p = x[0];
            let a = x[1] * 3.0;
            s.cut(0, a * a) + p * a
        };
        let oracle = Oracle {
            name: "shadow_unrelated",
            copy: &copy,
            sites: &[Cut::For(&[0])],
        };
        let (v, (da, db)) = shadow_unrelated_grad(a, b);
        let jvp = |d: &[f64]| shadow_unrelated_jvp(a, b, d[0], d[1]);
        let f = shadow_unrelated(black_box(a), b);
        oracle.check_all(&[a, b], f, (v, &[da, db]), &jvp, &mut rng);
        // d/da = 3b; d/db = 18 b + 3 a (not 3 a: the site is open for b).
        assert_close("shadow_unrelated d/da", da, 3.0 * b, 1e-14);
        assert_close("shadow_unrelated d/db", db, 18.0 * b + 3.0 * a, 1e-14);
    }
}

// ---------------------------------------------------------------------------
// Branches holding different sites.

#[differentiable(a, b; forward)]
fn branchy(a: f64, b: f64, mode: f64) -> f64 {
    let u = a * b;
    let r = if mode > 0.0 {
        sg_for!(a, u.sin()) + a
    } else if mode < -1.0 {
        sg(u.cos()) * b
    } else {
        sg_for!(b, u * u) - b
    };
    let mut out = r * a;
    if u > 0.5 {
        out += sg_for!(b, u.exp());
    } else {
        out -= b.sin();
    }
    out
}

#[test]
fn branches_hold_different_sites() {
    let mut rng = Rng::new(8);
    let mut taken = [0usize; 6];
    for mode in [1.0, -2.0, -0.5] {
        let mut n = 0;
        while n < 20 {
            let (a, b) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
            if (a * b - 0.5).abs() < 1e-3 {
                continue; // too close to the branch boundary for a difference
            }
            n += 1;
            taken[(mode < 0.0) as usize + (mode < -1.0) as usize + 3 * (a * b > 0.5) as usize] += 1;
            let copy = |x: &[f64], s: &mut Sites| {
                let (a, b) = (x[0], x[1]);
                let u = a * b;
                let r = if mode > 0.0 {
                    s.cut(0, u.sin()) + a
                } else if mode < -1.0 {
                    s.cut(1, u.cos()) * b
                } else {
                    s.cut(2, u * u) - b
                };
                let mut out = r * a;
                if u > 0.5 {
                    out += s.cut(3, u.exp());
                } else {
                    out -= b.sin();
                }
                out
            };
            let sites = [Cut::For(&[0]), Cut::All, Cut::For(&[1]), Cut::For(&[1])];
            let oracle = Oracle {
                name: "branchy",
                copy: &copy,
                sites: &sites,
            };
            let (v, (da, db)) = branchy_grad(a, b, mode);
            let jvp = |d: &[f64]| branchy_jvp(a, b, mode, d[0], d[1]);
            let f = branchy(black_box(a), b, mode);
            oracle.check_all(&[a, b], f, (v, &[da, db]), &jvp, &mut rng);
        }
    }
    assert!(
        taken.iter().all(|&n| n > 0),
        "every path exercised: {taken:?}"
    );
}

// ---------------------------------------------------------------------------
// Early return.

#[differentiable(x, y; forward)]
fn early(x: f64, y: f64) -> f64 {
    let s = x * y;
    if s > 1.0 {
        return sg_for!(x, s.ln()) * x;
    }
    let t = sg_for!(y, (s + 2.0).sqrt());
    if x < 0.0 {
        return t * y;
    }
    t + x * y
}

#[test]
fn early_return() {
    let mut rng = Rng::new(9);
    let mut paths = [0usize; 3];
    let mut n = 0;
    while n < 60 {
        let (x, y) = (rng.uniform(-0.9, 2.5), rng.uniform(-0.7, 1.5));
        if (x * y - 1.0).abs() < 1e-3 || x.abs() < 1e-3 {
            continue;
        }
        n += 1;
        paths[if x * y > 1.0 {
            0
        } else if x < 0.0 {
            1
        } else {
            2
        }] += 1;
        let copy = |p: &[f64], st: &mut Sites| {
            let (x, y) = (p[0], p[1]);
            let s = x * y;
            if s > 1.0 {
                return st.cut(0, s.ln()) * x;
            }
            let t = st.cut(1, (s + 2.0).sqrt());
            if x < 0.0 {
                return t * y;
            }
            t + x * y
        };
        let oracle = Oracle {
            name: "early",
            copy: &copy,
            sites: &[Cut::For(&[0]), Cut::For(&[1])],
        };
        let (v, (dx, dy)) = early_grad(x, y);
        let jvp = |d: &[f64]| early_jvp(x, y, d[0], d[1]);
        let f = early(black_box(x), y);
        oracle.check_all(&[x, y], f, (v, &[dx, dy]), &jvp, &mut rng);
    }
    assert!(
        paths.iter().all(|&k| k > 0),
        "every return exercised: {paths:?}"
    );
    // By hand, first return: d/dx = ln(xy) (site constant), d/dy = x·(1/y).
    let (_, (dx, dy)) = early_grad(2.0, 1.5);
    assert_close("early d/dx", dx, 3f64.ln(), 1e-15);
    assert_close("early d/dy", dy, 2.0 / 1.5, 1e-15);
}

// ---------------------------------------------------------------------------
// `&&`, `||` and `!` in conditions read differentiated values.

// `!(y > -1.0)` on purpose: `!` is part of what the macro must accept.
#[differentiable(x, y; forward)]
#[allow(deprecated)] // stops that stop nothing, on purpose (sgrad warns of them)
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn gated(x: f64, y: f64, k: f64) -> f64 {
    let p = x * y;
    if (p > 0.0 && x < k) || !(y > -1.0) {
        sg_for!(y, p.tanh()) + x
    } else {
        p * sg_for!(x, y.exp())
    }
}

#[test]
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn and_or_not_conditions() {
    let mut rng = Rng::new(10);
    let mut branch = [0usize; 2];
    for _ in 0..60 {
        let (x, y, k) = (
            rng.uniform(-2.0, 2.0),
            rng.uniform(-2.0, 2.0),
            rng.uniform(-1.0, 1.0),
        );
        if (x * y).abs() < 1e-3 || (x - k).abs() < 1e-3 || (y + 1.0).abs() < 1e-3 {
            continue;
        }
        let then = (x * y > 0.0 && x < k) || y <= -1.0;
        branch[then as usize] += 1;
        let copy = |p: &[f64], s: &mut Sites| {
            let q = p[0] * p[1];
            if (q > 0.0 && p[0] < k) || !(p[1] > -1.0) {
                s.cut(0, q.tanh()) + p[0]
            } else {
                q * s.cut(1, p[1].exp())
            }
        };
        let oracle = Oracle {
            name: "gated",
            copy: &copy,
            sites: &[Cut::For(&[1]), Cut::For(&[0])],
        };
        let (v, (dx, dy)) = gated_grad(x, y, k);
        let jvp = |d: &[f64]| gated_jvp(x, y, k, d[0], d[1]);
        let f = gated(black_box(x), y, k);
        oracle.check_all(&[x, y], f, (v, &[dx, dy]), &jvp, &mut rng);
        let (want_dx, want_dy) = if then {
            ((1.0 - (x * y).tanh().powi(2)) * y + 1.0, 0.0)
        } else {
            (y * y.exp(), x * y.exp() + x * y * y.exp())
        };
        assert_close("gated d/dx", dx, want_dx, 1e-12);
        assert!(
            (dy - want_dy).abs() <= 1e-12 * want_dy.abs(),
            "gated d/dy: {dy} vs {want_dy}"
        );
    }
    assert!(branch[0] > 0 && branch[1] > 0, "{branch:?}");
}

// ---------------------------------------------------------------------------
// f32.

#[differentiable(a, b)]
fn mixed32(a: f32, b: f32, c: f32) -> f32 {
    let u = a * b + c;
    let v = sg_for!(a, u.sin()) * a;
    let w = ((u as f64) * 0.5).exp() as f32;
    let mut out = v + sg_for!(b, w * b) + a.powi(2);
    if u > 0.0 {
        out -= sg(u) * b;
    }
    out
}

#[test]
fn f32_functions() {
    let mut rng = Rng::new(11);
    for _ in 0..20 {
        // Points representable in f32, so the f64 copy sees the same inputs.
        let (a, b, c) = (
            rng.uniform(-1.5, 1.5) as f32,
            rng.uniform(-1.5, 1.5) as f32,
            rng.normal() as f32,
        );
        if (a * b + c).abs() < 1e-2 {
            continue;
        }
        let copy = |x: &[f64], s: &mut Sites| {
            let c = c as f64;
            let u = x[0] * x[1] + c;
            let v = s.cut(0, u.sin()) * x[0];
            let w = (u * 0.5).exp();
            let mut out = v + s.cut(1, w * x[1]) + x[0].powi(2);
            if u > 0.0 {
                out -= s.cut(2, u) * x[1];
            }
            out
        };
        let oracle = Oracle {
            name: "mixed32",
            copy: &copy,
            sites: &[Cut::For(&[0]), Cut::For(&[1]), Cut::All],
        };
        let (v, (da, db)) = mixed32_grad(a, b, c);
        assert_eq!(
            v.to_bits(),
            mixed32(black_box(a), black_box(b), c).to_bits()
        );
        // The value is f32, so compare it loosely with the f64 copy.
        let (v64, _) = oracle.eval(&[a as f64, b as f64], Vec::new());
        assert_close("mixed32 value", v as f64, v64, 1e-5);
        // Per-variable programs, f64 central differences, f32 tolerance.
        for (k, d) in [(0, da), (1, db)] {
            let mut e = [0.0; 2];
            e[k] = 1.0;
            let p = oracle.program(&[a as f64, b as f64], &oracle.blocked_for(k));
            let (fd, _) = directional(&p, &[a as f64, b as f64], &e, 1e-6);
            assert!(
                (d as f64 - fd).abs() <= 1e-4 * fd.abs() + 1e-5,
                "mixed32 d/dx{k} at ({a}, {b}, {c}): {d} vs {fd}"
            );
        }
    }
    // grad! on f32 closures too.
    let g = grad!(|x: f32, y: f32| sg_for!(x, x * y) * x + y);
    assert_eq!(g(2.0, 3.0), (15.0, (6.0, 5.0)));
}

// ---------------------------------------------------------------------------
// grad! closures capturing constants.

#[test]
fn grad_closures_with_captured_constants() {
    let mut rng = Rng::new(12);
    let k = 2.5;
    let offset = -0.75;
    let n = 3;
    let g = grad!(|a: f64, b: f64| {
        let u = a * b + offset;
        k * sg_for!(a, u.powi(n)) + sg(k * a) * b + u.sin()
    });
    let g_a = grad!(
        |a: f64, b: f64| k * a * b + sg_for!(a, (a * b).exp()),
        wrt(a)
    );
    let g_b = grad!(
        |a: f64, b: f64| k * a * b + sg(b * b) * (a * b).exp(),
        wrt(b)
    );
    for _ in 0..20 {
        let (a, b) = (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5));
        let copy = |x: &[f64], s: &mut Sites| {
            let u = x[0] * x[1] + offset;
            k * s.cut(0, u.powi(n)) + s.cut(1, k * x[0]) * x[1] + u.sin()
        };
        let oracle = Oracle {
            name: "grad! closure",
            copy: &copy,
            sites: &[Cut::For(&[0]), Cut::All],
        };
        let (v, (da, db)) = g(a, b);
        oracle.check(&[a, b], v, &[da, db], &mut rng, REL);
        let u = a * b + offset;
        assert_close("closure d/da", da, u.cos() * b, 1e-12);
        assert_close(
            "closure d/db",
            db,
            k * 3.0 * u * u * a + k * a + u.cos() * a,
            1e-12,
        );

        let (v, da) = g_a(a, b);
        assert_eq!(v.to_bits(), (k * a * b + (a * b).exp()).to_bits());
        assert_close("wrt(a) d/da", da, k * b, 1e-14);
        let (v, db) = g_b(a, b);
        assert_eq!(v.to_bits(), (k * a * b + (b * b) * (a * b).exp()).to_bits());
        assert_close("wrt(b) d/db", db, k * a + b * b * (a * b).exp() * a, 1e-12);
    }
}

// ---------------------------------------------------------------------------
// The body syntax the macro accepts, together, against the oracle.

/// Tuple patterns, typed `let`, block values, `else if`, a `mut` parameter,
/// compound assignment, an `if` expression inside `sg_for!`, a shadowing block,
/// an early return, a constant path, an integer computed from a branch, and
/// an attribute order that differs from the parameter order.
#[differentiable(b, a; forward)]
fn syntax_mix(mut a: f64, b: f64, c: f32, n: i32) -> f64 {
    let (p, q): (f64, f64) = (a * b, sg_for!(a, a + b * b));
    let t: f64 = {
        let u = p.sin() + q;
        u * std::f64::consts::PI
    };
    let mut acc = t;
    let k = if n > 2 { n } else { 2 };
    if p > 0.0 {
        acc -= sg_for!(b, t.powi(k)) * 0.01;
    } else if p < -1.0 {
        acc *= (c as f64) + sg(q);
    }
    a *= 1.5;
    let mut s = sg_for!(a, acc * a);
    s += f64::sqrt(a * a + 1.0) + sg_for!(b, if p > 0.0 { a * b } else { b });
    if s.abs() > 100.0 {
        return s / 100.0;
    }
    {
        let a = s * 0.5;
        s = a + sg_for!(a, a * a * 0.01);
    }
    s + a + q * 0.1
}

#[test]
fn body_syntax_together() {
    let mut rng = Rng::new(15);
    let mut paths = [0usize; 4];
    let mut n_ok = 0;
    while n_ok < 80 {
        let (a, b) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        let c = rng.uniform(-1.0, 1.0) as f32;
        let n = if rng.unit() < 0.5 { 1 } else { 4 };
        // x[0] = b, x[1] = a: the attribute's order.
        let copy = |x: &[f64], s: &mut Sites| {
            let (b, mut a) = (x[0], x[1]);
            let p = a * b;
            let q = s.cut(0, a + b * b);
            let t = (p.sin() + q) * std::f64::consts::PI;
            let mut acc = t;
            let k = if n > 2 { n } else { 2 };
            if p > 0.0 {
                acc -= s.cut(1, t.powi(k)) * 0.01;
            } else if p < -1.0 {
                acc *= (c as f64) + s.cut(2, q);
            }
            a *= 1.5;
            let mut sum = s.cut(3, acc * a);
            sum += (a * a + 1.0).sqrt() + s.cut(4, if p > 0.0 { a * b } else { b });
            if sum.abs() > 100.0 {
                return sum / 100.0;
            }
            let half = sum * 0.5;
            sum = half + s.cut(5, half * half * 0.01);
            sum + a + q * 0.1
        };
        let sites = [
            Cut::For(&[1]),
            Cut::For(&[0]),
            Cut::All,
            Cut::For(&[1]),
            Cut::For(&[0]),
            Cut::For(&[1]),
        ];
        let oracle = Oracle {
            name: "syntax_mix",
            copy: &copy,
            sites: &sites,
        };
        // Stay away from the branch boundaries (p = 0, p = -1, |s| = 100).
        let (_, seen) = oracle.eval(&[b, a], Vec::new());
        let p = a * b;
        let sum = seen[3].unwrap() + ((1.5 * a) * (1.5 * a) + 1.0).sqrt() + seen[4].unwrap();
        if p.abs() < 1e-3 || (p + 1.0).abs() < 1e-3 || (sum.abs() - 100.0).abs() < 1e-2 {
            continue;
        }
        n_ok += 1;
        paths[if p > 0.0 {
            0
        } else if p < -1.0 {
            1
        } else {
            2
        }] += 1;
        paths[3] += (sum.abs() > 100.0) as usize;
        let (v, (db, da)) = syntax_mix_grad(a, b, c, n);
        // The tangents in the attribute's order too: b, then a.
        let jvp = |d: &[f64]| syntax_mix_jvp(a, b, c, n, d[0], d[1]);
        let f = syntax_mix(black_box(a), b, c, n);
        oracle.check_all(&[b, a], f, (v, &[db, da]), &jvp, &mut rng);
    }
    assert!(
        paths.iter().all(|&k| k > 0),
        "every path exercised: {paths:?}"
    );
}

// Written this way on purpose: the macro must accept a late-initialised `let`.
#[differentiable(a, b; forward)]
#[allow(clippy::needless_late_init)]
fn uninitialised_let(a: f64, b: f64) -> f64 {
    let t;
    if a > b {
        t = a * a;
    } else {
        t = sg_for!(a, b * 3.0 * a);
    }
    t
}

// Nested on purpose: `return` two `if`s deep.
#[differentiable(a, b; forward)]
#[allow(clippy::collapsible_if)]
fn nested_return(a: f64, b: f64) -> f64 {
    if a > 0.0 {
        if b > 0.0 {
            return sg_for!(b, a * b) * b;
        }
    }
    a - b
}

#[differentiable(x, y; forward)]
fn same_site_read_twice(x: f64, y: f64) -> f64 {
    let s = sg_for!(x, x * y);
    s * s + s * x
}

#[differentiable(x, y; forward)]
fn compare_stopped(x: f64, y: f64) -> f64 {
    if sg(x) > sg_for!(y, y * 2.0) {
        x * y
    } else {
        x + y
    }
}

#[differentiable]
fn mixed_precision(x: f32, y: f64, n: i32) -> f64 {
    (x as f64) * y + n as f64
}

#[test]
fn small_bodies_by_hand() {
    // Uninitialised `let` assigned in both branches.
    assert_eq!(uninitialised_let_grad(2.0, 1.0), (4.0, (4.0, 0.0)));
    assert_eq!(uninitialised_let_grad(2.0, 3.0), (18.0, (0.0, 6.0)));
    // `return` inside nested `if`s, and the fall-through.
    assert_eq!(nested_return_grad(2.0, 3.0), (18.0, (9.0, 6.0)));
    assert_eq!(nested_return_grad(2.0, -3.0), (5.0, (1.0, -1.0)));
    assert_eq!(nested_return_grad(-2.0, 3.0), (-5.0, (1.0, -1.0)));
    // One site read twice: d/dx = s (s constant), d/dy = 2 s x + x².
    assert_eq!(same_site_read_twice_grad(2.0, 3.0), (48.0, (6.0, 28.0)));
    // Comparisons of stopped values choose the branch; no derivative.
    assert_eq!(compare_stopped_grad(2.0, 3.0), (5.0, (1.0, 1.0)));
    assert_eq!(compare_stopped_grad(7.0, 3.0), (21.0, (3.0, 7.0)));
    // Bare attribute, mixed precision: one gradient per float parameter, each
    // of its parameter's type.
    let (v, (dx, dy)): (f64, (f32, f64)) = mixed_precision_grad(2.0, 3.0, 1);
    assert_eq!((v, dx, dy), (7.0, 3.0, 2.0));
    assert_eq!(mixed_precision(2.0, 3.0, 1), 7.0);

    // Forward mode, one tangent per variable (their sites differ).
    let mut rng = Rng::new(16);
    for _ in 0..20 {
        let (a, b) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        let (v, (da, db)) = uninitialised_let_grad(a, b);
        let jvp = |d: &[f64]| uninitialised_let_jvp(a, b, d[0], d[1]);
        assert_jvp("uninitialised_let", v, &[da, db], &each(2), &jvp, &mut rng);
        let (v, (da, db)) = nested_return_grad(a, b);
        let jvp = |d: &[f64]| nested_return_jvp(a, b, d[0], d[1]);
        assert_jvp("nested_return", v, &[da, db], &each(2), &jvp, &mut rng);
        let (v, (dx, dy)) = same_site_read_twice_grad(a, b);
        let jvp = |d: &[f64]| same_site_read_twice_jvp(a, b, d[0], d[1]);
        let grad = [dx, dy];
        assert_jvp("same_site_read_twice", v, &grad, &each(2), &jvp, &mut rng);
        let (v, (dx, dy)) = compare_stopped_grad(a, b);
        let jvp = |d: &[f64]| compare_stopped_jvp(a, b, d[0], d[1]);
        assert_jvp("compare_stopped", v, &[dx, dy], &each(2), &jvp, &mut rng);
    }
    assert_eq!(same_site_read_twice_jvp(2.0, 3.0, 1.0, 0.0), (48.0, 6.0));
    assert_eq!(same_site_read_twice_jvp(2.0, 3.0, 0.0, 1.0), (48.0, 28.0));
}

// ---------------------------------------------------------------------------
// Rule 3: values are untouched, bit for bit.

#[test]
fn rule3_values_are_bit_for_bit_the_function() {
    let mut rng = Rng::new(13);
    for _ in 0..200 {
        let x: [f64; 5] = rng.array(-2.0, 2.0);
        let x = black_box(x);
        assert_bits(
            "two_stage",
            two_stage(x[0], x[1], x[2], x[3], x[4]),
            two_stage_grad(x[0], x[1], x[2], x[3], x[4]).0,
        );
        assert_bits(
            "split",
            split(x[0], x[1], x[2]),
            split_grad(x[0], x[1], x[2]).0,
        );
        assert_bits(
            "listed",
            listed(x[0], x[1], x[2]),
            listed_grad(x[0], x[1], x[2]).0,
        );
        assert_bits(
            "nested",
            nested(x[0], x[1], x[2]),
            nested_grad(x[0], x[1], x[2]).0,
        );
        assert_bits("reuse", reuse(x[0], x[1]), reuse_grad(x[0], x[1]).0);
        assert_bits("shadow", shadow(x[0], x[1]), shadow_grad(x[0], x[1]).0);
        assert_bits(
            "shadow_unrelated",
            shadow_unrelated(x[0], x[1]),
            shadow_unrelated_grad(x[0], x[1]).0,
        );
        assert_bits(
            "branchy",
            branchy(x[0], x[1], x[2]),
            branchy_grad(x[0], x[1], x[2]).0,
        );
        assert_bits("early", early(x[0], x[1]), early_grad(x[0], x[1]).0);
        assert_bits(
            "gated",
            gated(x[0], x[1], x[2]),
            gated_grad(x[0], x[1], x[2]).0,
        );
        assert_bits(
            "rosen",
            rosen(x[0], x[1], x[2]),
            rosen_grad(x[0], x[1], x[2]).0,
        );
        assert_bits(
            "lse",
            lse(x[0], x[1], x[2], x[3]),
            lse_grad(x[0], x[1], x[2], x[3]).0,
        );
        assert_bits(
            "kitchen_sink",
            kitchen_sink(x[0], x[1], x[2]),
            kitchen_sink_grad(x[0], x[1], x[2]).0,
        );
        let n = if x[3] > 0.0 { 1 } else { 4 };
        let c = x[4] as f32;
        assert_bits(
            "syntax_mix",
            syntax_mix(x[0], x[1], c, n),
            syntax_mix_grad(x[0], x[1], c, n).0,
        );
        assert_bits(
            "uninitialised_let",
            uninitialised_let(x[0], x[1]),
            uninitialised_let_grad(x[0], x[1]).0,
        );
        assert_bits(
            "nested_return",
            nested_return(x[0], x[1]),
            nested_return_grad(x[0], x[1]).0,
        );
        assert_bits(
            "same_site_read_twice",
            same_site_read_twice(x[0], x[1]),
            same_site_read_twice_grad(x[0], x[1]).0,
        );
        assert_bits(
            "compare_stopped",
            compare_stopped(x[0], x[1]),
            compare_stopped_grad(x[0], x[1]).0,
        );
        let (a, b, c) = (x[0] as f32, x[1] as f32, x[2] as f32);
        assert_bits("mixed32", mixed32(a, b, c), mixed32_grad(a, b, c).0);
    }
}

// ---------------------------------------------------------------------------
// Reverse mode passes the directional-derivative check <∇f, v> ≈ D_v f.

#[differentiable(; forward)]
fn rosen(x: f64, y: f64, z: f64) -> f64 {
    (1.0 - x).powi(2)
        + 100.0 * (y - x * x).powi(2)
        + (1.0 - y).powi(2)
        + 100.0 * (z - y * y).powi(2)
}

#[differentiable(; forward)]
fn lse(a: f64, b: f64, c: f64, d: f64) -> f64 {
    let m = a.max(b).max(c.max(d));
    m + ((a - m).exp() + (b - m).exp() + (c - m).exp() + (d - m).exp()).ln()
}

#[differentiable(; forward)]
fn kitchen_sink(x: f64, y: f64, z: f64) -> f64 {
    let r = x.hypot(y) + 0.1;
    let mut acc = r.ln() * z.cos() + y.atan2(x + 3.0) - (x * z).tanh();
    acc += (z * z + 1.0).sqrt().powf(y * 0.5 + 1.0);
    acc *= 1.0 + 0.25 * (x - y).sin();
    let w = if acc > 0.0 {
        acc.asinh()
    } else {
        (-acc).ln_1p()
    };
    w / (1.0 + y * y) + x.mul_add(y, z) % 7.0
}

#[test]
fn reverse_mode_passes_the_directional_derivative_check() {
    let mut rng = Rng::new(14);
    let check =
        |what: &str, f: &dyn Fn(&[f64]) -> f64, x: &[f64], grad: &[f64], v: &[f64], rel: f64| {
            let dot: f64 = grad.iter().zip(v).map(|(g, v)| g * v).sum();
            assert_directional(what, &|p: &[f64]| f(p), x, v, dot, Tol::rel(rel));
        };
    for _ in 0..50 {
        let x: [f64; 4] = rng.array(-1.5, 1.5);
        let v3: Vec<f64> = (0..3).map(|_| rng.normal()).collect();
        let v4: Vec<f64> = (0..4).map(|_| rng.normal()).collect();

        let (value, (a, b, c)) = rosen_grad(x[0], x[1], x[2]);
        check(
            "rosen",
            &|p| rosen(p[0], p[1], p[2]),
            &x[..3],
            &[a, b, c],
            &v3,
            REL,
        );
        let jvp = |d: &[f64]| rosen_jvp(x[0], x[1], x[2], d[0], d[1], d[2]);
        assert_jvp_plain("rosen", value, &[a, b, c], &jvp, &mut rng);

        let (value, (a, b, c, d)) = lse_grad(x[0], x[1], x[2], x[3]);
        check(
            "lse",
            &|p| lse(p[0], p[1], p[2], p[3]),
            &x,
            &[a, b, c, d],
            &v4,
            REL,
        );
        let jvp = |t: &[f64]| lse_jvp(x[0], x[1], x[2], x[3], t[0], t[1], t[2], t[3]);
        assert_jvp_plain("lse", value, &[a, b, c, d], &jvp, &mut rng);
        // Softmax weights sum to one.
        assert!((a + b + c + d - 1.0).abs() < 1e-14);

        let (value, (a, b, c)) = kitchen_sink_grad(x[0], x[1], x[2]);
        check(
            "kitchen_sink",
            &|p| kitchen_sink(p[0], p[1], p[2]),
            &x[..3],
            &[a, b, c],
            &v3,
            REL,
        );
        let jvp = |d: &[f64]| kitchen_sink_jvp(x[0], x[1], x[2], d[0], d[1], d[2]);
        assert_jvp_plain("kitchen_sink", value, &[a, b, c], &jvp, &mut rng);
    }
}
