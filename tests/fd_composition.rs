//! Composition and control flow together: differentiated functions calling
//! other `#[differentiable]` functions (free functions, module paths,
//! methods, const-generic and recursive callees, `#[pullback_of]` rules) with
//! scalar, array, row and constant arguments, from inside loops, branches,
//! `while` conditions, `break` values and `return`s; `return` inside loops,
//! labeled `break`/`continue` across `for`/`while`/`loop`, `break` with a
//! value, stepped ranges; local arrays built, changed and passed around.
//!
//! Each program is checked twice:
//!
//! 1. the value of `<name>_grad` is bit for bit the value of `<name>`;
//! 2. the gradient against central differences of the oracle program of
//!    SEMANTICS.md: the plain function when no site blocks the variable,
//!    otherwise a copy in which every site that blocks it is frozen at its
//!    value at the base point. A callee's own sites refer to the callee's
//!    parameters (consequence 4): in the oracle such a callee is replaced by
//!    its linearization `Lin`, whose derivative in each argument is the
//!    callee's own derivative for that parameter, around the arguments the
//!    call had at the base point (recorded by a first run of the copy).
//!
//! The points are chosen away from branch switches; `fd` checks that. Each
//! gradient is also checked against forward mode by the dot-product identity
//! `<gradient, v> = jvp(v)` (`jvp_identity`), one variable at a time and all
//! together.
//!
//! Bugs found while writing this file are kept as `#[ignore = "bug: .."]`
//! tests at the end.

#![allow(
    clippy::needless_range_loop,
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::too_many_arguments
)]

use sgrad::{differentiable, grad, log_sum_exp, sg, sg_for, NoGradient};
use std::hint::black_box as bb;

mod common;
use common::{
    assert_dot_identity_rel, assert_jvp, like, per_variable, Flat, Jvp, Rng, JVP_REL_F32,
};

// ---------------------------------------------------------------------------
// Helpers.

/// Central differences with h = 1e-6: truncation ~h² f''' ≈ 1e-12 and
/// rounding ~1e-16 |f| / h ≈ 1e-10 on these O(1..10) programs, so 1e-6
/// relative leaves a wide margin while any wrong term shows at O(0.1). The
/// difference with h / 4 must agree to 1e-4: otherwise a branch switches
/// between the points and the comparison would be noise.
fn fd(what: &str, f: &dyn Fn(&[f64]) -> f64, x: &[f64], g: &[f64]) {
    assert_eq!(x.len(), g.len(), "{what}");
    for i in 0..x.len() {
        let diff = |h: f64| {
            let (mut a, mut b) = (x.to_vec(), x.to_vec());
            a[i] += h;
            b[i] -= h;
            (f(&a) - f(&b)) / (2.0 * h)
        };
        let (d, d4) = (diff(1e-6), diff(2.5e-7));
        assert!(
            (d - d4).abs() <= 1e-4 * d.abs().max(1.0),
            "{what}[{i}]: not smooth here ({d} vs {d4}); move the point"
        );
        assert!(
            (d - g[i]).abs() <= 1e-6 * d.abs().max(1.0),
            "{what}[{i}]: gradient {} vs central difference {d}",
            g[i]
        );
    }
}

fn same(what: &str, a: f64, b: f64) {
    assert_eq!(a.to_bits(), b.to_bits(), "{what}: value {a} vs {b}");
}

/// Forward mode against the gradient: `<g, v> = jvp(v)` in seeded random
/// directions, with a tangent on one variable at a time (`shape`: the
/// components of each variable, in order; the callees' and the caller's
/// sites make the variables see different programs) and on all of them, and
/// the jvp's value bit for bit `value` (`common::assert_jvp`).
#[track_caller]
fn jvp_identity(what: &str, value: f64, grad: &[f64], shape: &[usize], jvp: Jvp) {
    let groups = per_variable(shape);
    assert_jvp(what, value, grad, &groups, jvp, &mut Rng::new(17));
}

fn m23(p: &[f64]) -> [[f64; 3]; 2] {
    [[p[0], p[1], p[2]], [p[3], p[4], p[5]]]
}

/// A callee `f(a, b)` whose sites block its own `a` (and nothing else),
/// replaced by its linearization in the oracle copies: `a_frozen(a, b, a0)`
/// is `f` with every site evaluated at `a0`, so
/// `a_frozen(a, b0, a0) + f(a0, b) - f(a0, b0)` has derivative ∂P_a/∂a in
/// `a` and ∂f/∂b in `b` at `(a0, b0)`, and the value `f(a0, b0)` there.
struct Lin {
    f: fn(f64, f64) -> f64,
    a_frozen: fn(f64, f64, f64) -> f64,
    base: Vec<(f64, f64)>,
    next: Option<usize>,
}

impl Lin {
    fn new(f: fn(f64, f64) -> f64, a_frozen: fn(f64, f64, f64) -> f64) -> Self {
        Lin {
            f,
            a_frozen,
            base: Vec::new(),
            next: None,
        }
    }

    /// Records the arguments while `next` is `None` (the run at the base
    /// point), then linearizes around them, call by call.
    fn call(&mut self, a: f64, b: f64) -> f64 {
        match self.next {
            None => {
                self.base.push((a, b));
                (self.f)(a, b)
            }
            Some(k) => {
                let (a0, b0) = self.base[k];
                self.next = Some(k + 1);
                (self.a_frozen)(a, b0, a0) + (self.f)(a0, b) - (self.f)(a0, b0)
            }
        }
    }
}

/// The oracle of a program whose calls of one callee go through `Lin`: run
/// it at the base point to record the calls, then at `p`.
fn linearized(
    lin: fn() -> Lin,
    prog: &dyn Fn(&[f64], &mut Lin) -> f64,
    base: &[f64],
    p: &[f64],
) -> f64 {
    let mut l = lin();
    prog(base, &mut l);
    l.next = Some(0);
    let v = prog(p, &mut l);
    assert_eq!(
        l.next,
        Some(l.base.len()),
        "the same calls at the base point"
    );
    v
}

// ---------------------------------------------------------------------------
// Callees.

mod m {
    pub mod inner {
        use sgrad::{differentiable, sg_for};

        /// ⊥_a[a·b] + sin(a)·b.
        #[differentiable(a, b; forward)]
        pub fn mix(a: f64, b: f64) -> f64 {
            sg_for!(a, a * b) + a.sin() * b
        }

        pub fn mix_a_frozen(a: f64, b: f64, a0: f64) -> f64 {
            a0 * b + a.sin() * b
        }
    }

    use sgrad::differentiable;

    #[differentiable(v; forward)]
    pub fn sumsq(v: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..v.len() {
            s += v[i] * v[i];
        }
        s
    }

    #[differentiable(p; forward)]
    pub fn first_last<const N: usize>(p: [f64; N]) -> f64 {
        p[0] * p[N - 1] + p[N / 2]
    }

    #[differentiable(p; forward)]
    pub fn row3(p: &[f64; 3]) -> f64 {
        p[0] * p[1] + p[2].exp()
    }
}

// Importing a differentiated function by name takes its pullback along.
use m::inner::{mix, mix_a_frozen, mix_pullback};

fn mix_lin() -> Lin {
    Lin::new(mix, mix_a_frozen)
}

#[differentiable(a, b; forward)]
fn h(a: f64, b: f64) -> f64 {
    a * b.sin() + a * a * 0.1
}

#[differentiable(v; forward)]
fn nrm(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    (s + 1.0).sqrt()
}

#[differentiable(v, w; forward)]
fn wsum(v: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * (i as f64 + w);
    }
    s
}

#[differentiable(v, c; forward)]
fn lin(v: &[f64], c: f64) -> f64 {
    let mut s = c;
    for i in 0..v.len() {
        s = s * 0.5 + v[i] * (i as f64 + 1.0);
    }
    s.tanh()
}

#[differentiable(p; forward)]
fn quad<const N: usize>(p: &[f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += p[i] * p[(i + 1) % N];
    }
    s
}

// ---------------------------------------------------------------------------
// Composition.

/// Module paths, the same variable in both arguments of a callee whose site
/// blocks its first parameter, and a constant argument.
#[differentiable(x, y; forward)]
fn path_calls(x: f64, y: f64) -> f64 {
    let u = m::inner::mix(x, x * y);
    u + crate::m::inner::mix(y, 2.0) * x
}

fn path_calls_copy(p: &[f64], l: &mut Lin) -> f64 {
    let (x, y) = (p[0], p[1]);
    let u = l.call(x, x * y);
    u + l.call(y, 2.0) * x
}

#[test]
fn calls_by_path_use_the_callee_sites() {
    let (x, y) = (0.7, 1.3);
    let (v, (gx, gy)) = path_calls_grad(bb(x), bb(y));
    same("path_calls", v, path_calls(bb(x), bb(y)));
    jvp_identity("path_calls", v, &[gx, gy], &[1, 1], &|d| {
        path_calls_jvp(x, y, d[0], d[1])
    });
    let base = [x, y];
    fd(
        "path_calls",
        &|p| linearized(mix_lin, &path_calls_copy, &base, p),
        &base,
        &[gx, gy],
    );
}

/// Rows of a nested array to `&[f64; 3]`, the whole array by value and by
/// reference to const-generic callees, an array literal of elements, a
/// turbofish, and constant data.
#[differentiable(w; forward)]
fn rows_and_arrays(w: [[f64; 3]; 2], z: [f64; 5]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        s += m::row3(&w[i]) * m::first_last([w[i][0], w[i][1], w[i][2]]);
        s += quad(&w[i]) * m::row3(&w[1 - i]);
    }
    let whole = m::first_last::<5>(z) * m::first_last([w[0][0], w[1][2], 3.0, w[0][1]]);
    s + whole + matrix(&w) + matrix_by_value(w)
}

#[differentiable(w; forward)]
fn matrix<const N: usize, const M: usize>(w: &[[f64; N]; M]) -> f64 {
    let mut s = 0.0;
    for i in 0..M {
        for j in 0..N {
            s += w[i][j] * w[i][j] * (i + j) as f64;
        }
    }
    s
}

#[differentiable(w; forward)]
fn matrix_by_value(w: [[f64; 3]; 2]) -> f64 {
    w[0][1] * w[1][2]
}

#[differentiable(x; forward)]
fn array_by_value_and_reference(x: [f64; 3]) -> f64 {
    m::first_last(x) * quad(&x) + m::row3(&x)
}

#[test]
fn rows_whole_arrays_and_const_generics() {
    let w = [[0.3, -0.5, 0.2], [0.9, 0.1, -0.4]];
    let z = [1.0, 2.0, 3.0, 4.0, 5.0];
    let (v, g) = rows_and_arrays_grad(bb(w), z);
    same("rows_and_arrays", v, rows_and_arrays(bb(w), z));
    jvp_identity("rows_and_arrays", v, &g.concat(), &[6], &|d| {
        rows_and_arrays_jvp(w, z, m23(d))
    });
    fd(
        "rows_and_arrays",
        &|p| rows_and_arrays(m23(p), z),
        &w.concat(),
        &g.concat(),
    );
    let x = [0.3, 0.5, -0.2];
    let (v, g) = array_by_value_and_reference_grad(bb(x));
    same("by value", v, array_by_value_and_reference(bb(x)));
    jvp_identity("by value", v, &g, &[3], &|d| {
        array_by_value_and_reference_jvp(x, like(&x, d))
    });
    fd(
        "by value",
        &|p| array_by_value_and_reference([p[0], p[1], p[2]]),
        &x,
        &g,
    );
}

#[differentiable(v; forward)]
fn sum_vec(v: &Vec<f64>) -> f64 {
    v[0] * v[1] + v[1].sin()
}

#[differentiable(w; forward)]
fn vec_rows(w: &[Vec<f64>]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        s += m::sumsq(&w[i]) * w[i][0];
    }
    s
}

#[differentiable(w; forward)]
fn vec_rows_while(w: &Vec<Vec<f64>>) -> f64 {
    let mut s: f64 = 0.0;
    let mut i = 0;
    while i < w.len() {
        s += sum_vec(&w[i]) * s.cos() + vec_rows(w);
        i += 1;
    }
    s
}

#[test]
fn rows_of_vecs_to_slices_and_vecs() {
    let w = vec![vec![0.3, -0.5, 0.2], vec![0.9, 0.1, -0.4]];
    let vv = |p: &[f64]| vec![p[0..3].to_vec(), p[3..6].to_vec()];
    let (v, g) = vec_rows_grad(bb(&w));
    same("vec_rows", v, vec_rows(bb(&w)));
    jvp_identity("vec_rows", v, &g.concat(), &[6], &|d| {
        vec_rows_jvp(&w, &vv(d))
    });
    fd("vec_rows", &|p| vec_rows(&vv(p)), &w.concat(), &g.concat());
    let (v, g) = vec_rows_while_grad(bb(&w));
    same("vec_rows_while", v, vec_rows_while(bb(&w)));
    jvp_identity("vec_rows_while", v, &g.concat(), &[6], &|d| {
        vec_rows_while_jvp(&w, &vv(d))
    });
    fd(
        "vec_rows_while",
        &|p| vec_rows_while(&vv(p)),
        &w.concat(),
        &g.concat(),
    );
}

/// Recursion whose own site blocks `x` (each level's parameter), and the
/// roles of `x` and `y` swapped in the second call.
#[differentiable(x, y; forward)]
fn swap_rec(x: f64, y: f64, n: u32) -> f64 {
    if n == 0 {
        return x * y;
    }
    sg_for!(x, swap_rec(x, y, n - 1)) * x + swap_rec(y, x, n - 1) * y.cos()
}

#[differentiable(x; forward)]
fn even(x: f64, n: u32) -> f64 {
    if n == 0 {
        return x;
    }
    odd(x * 1.1, n - 1).sin() + x
}

#[differentiable(x; forward)]
fn odd(x: f64, n: u32) -> f64 {
    if n == 0 {
        return x * x;
    }
    even(x * 0.9, n - 1) * x
}

/// Recursion inside a loop that returns early.
#[differentiable(x; forward)]
fn rec_loop(x: &[f64], depth: usize) -> f64 {
    if depth == 0 {
        return x[0];
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += rec_loop(x, depth - 1) * x[i] * 0.5;
        if s > 5.0 {
            return s;
        }
    }
    s
}

#[test]
fn recursion_mutual_recursion_and_recursion_in_loops() {
    let (x, y) = (0.7, 1.3);
    // swap_rec(x, y, 1) = ⊥_x[x·y]·x + (y·x)·cos y, whose inner call
    // swap_rec(y, x, 0) = y·x has no site: for x the first term is x₀·y·x.
    let (v, (gx, gy)) = swap_rec_grad(bb(x), bb(y), 1);
    same("swap_rec", v, swap_rec(bb(x), bb(y), 1));
    for n in 0..4 {
        let (v, (gx, gy)) = swap_rec_grad(x, y, n);
        jvp_identity("swap_rec", v, &[gx, gy], &[1, 1], &|d| {
            swap_rec_jvp(x, y, n, d[0], d[1])
        });
    }
    assert!((gx - (x * y + y * y.cos())).abs() < 1e-12, "{gx}");
    assert!(
        (gy - (x * x + x * y.cos() - x * y * y.sin())).abs() < 1e-12,
        "{gy}"
    );
    for n in 0..5 {
        let (v, g) = even_grad(bb(0.7), n);
        same("even", v, even(bb(0.7), n));
        jvp_identity("even", v, &[g], &[1], &|d| even_jvp(0.7, n, d[0]));
        fd("even", &|p| even(p[0], n), &[0.7], &[g]);
    }
    let x = [1.3, 0.8, 1.9];
    for d in 0..4 {
        let (v, g) = rec_loop_grad(bb(&x), d);
        same("rec_loop", v, rec_loop(bb(&x), d));
        jvp_identity("rec_loop", v, &g, &[3], &|t| rec_loop_jvp(&x, d, t));
        fd("rec_loop", &|p| rec_loop(p, d), &x, &g);
    }
}

/// `sg_for!` and `sg` around calls of a callee with its own site: three
/// sites in the caller, two classes.
#[differentiable(x, y; forward)]
fn sites_around_calls(x: f64, y: f64) -> f64 {
    let a = sg_for!(x, mix(x, y));
    let b = sg_for!(y, mix(y, x * x));
    let c = sg(mix(x, y)) * x;
    a * b + c
}

fn sites_around_calls_copy(p: &[f64], base: &[f64], for_x: bool, l: &mut Lin) -> f64 {
    let (x, y) = (p[0], p[1]);
    let (x0, y0) = (base[0], base[1]);
    let a = if for_x { mix(x0, y0) } else { l.call(x, y) };
    let b = if for_x {
        l.call(y, x * x)
    } else {
        mix(y0, x0 * x0)
    };
    let c = mix(x0, y0) * x;
    a * b + c
}

#[test]
fn sites_around_calls_cut_per_class() {
    let (x, y) = (0.7, 1.3);
    let (v, (gx, gy)) = sites_around_calls_grad(bb(x), bb(y));
    same("sites_around_calls", v, sites_around_calls(bb(x), bb(y)));
    jvp_identity("sites_around_calls", v, &[gx, gy], &[1, 1], &|d| {
        sites_around_calls_jvp(x, y, d[0], d[1])
    });
    let base = [x, y];
    fd(
        "sites x",
        &|p| {
            linearized(
                mix_lin,
                &|q, l| sites_around_calls_copy(&[q[0], y], &base, true, l),
                &base,
                &[p[0], y],
            )
        },
        &[x],
        &[gx],
    );
    fd(
        "sites y",
        &|p| {
            linearized(
                mix_lin,
                &|q, l| sites_around_calls_copy(&[x, q[1]], &base, false, l),
                &base,
                &[x, p[0]],
            )
        },
        &[y],
        &[gy],
    );
}

/// A call whose value is unused, a call as a statement, a call in a `while`
/// condition, and a call in a `return` inside a loop.
#[differentiable(x; forward)]
fn unused_condition_return(x: &[f64], t: f64) -> f64 {
    let _unused = m::sumsq(x);
    m::sumsq(x);
    let mut s = 0.0;
    let mut i = 0;
    while m::sumsq(x) * s < t {
        s += x[i % x.len()] + 0.5;
        i += 1;
        if i > 20 {
            break;
        }
    }
    for j in 0..x.len() {
        if s > 2.0 * t {
            return mix(s, x[j]) * m::sumsq(x);
        }
        s += x[j];
    }
    s
}

fn unused_condition_return_copy(x: &[f64], t: f64, l: &mut Lin) -> f64 {
    let sumsq = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>();
    let mut s = 0.0;
    let mut i = 0;
    while sumsq(x) * s < t {
        s += x[i % x.len()] + 0.5;
        i += 1;
        if i > 20 {
            break;
        }
    }
    for j in 0..x.len() {
        if s > 2.0 * t {
            return l.call(s, x[j]) * sumsq(x);
        }
        s += x[j];
    }
    s
}

#[test]
fn unused_calls_calls_in_conditions_and_returns() {
    let x = [0.3, 0.6, -0.2];
    for t in [0.5, 1.1, 3.0, 8.0] {
        let (v, g) = unused_condition_return_grad(bb(&x), t);
        same("unused", v, unused_condition_return(bb(&x), t));
        jvp_identity("unused", v, &g, &[3], &|d| {
            unused_condition_return_jvp(&x, t, d)
        });
        fd(
            &format!("unused {t}"),
            &|p| {
                linearized(
                    mix_lin,
                    &|q, l| unused_condition_return_copy(q, t, l),
                    &x,
                    p,
                )
            },
            &x,
            &g,
        );
    }
}

/// ⊥_a[a·s + b]·(k + 1)·a summed over a loop: a callee whose site is inside
/// its own loop.
#[differentiable(a, b; forward)]
fn q(a: f64, b: f64) -> f64 {
    let mut s = 0.0;
    for k in 0..3 {
        s += sg_for!(a, a * s + b) * (k as f64 + 1.0) * a;
    }
    s
}

fn q_a_frozen(a: f64, b: f64, a0: f64) -> f64 {
    let (mut s, mut s0) = (0.0, 0.0);
    for k in 0..3 {
        let site = a0 * s0 + b;
        s0 += site * (k as f64 + 1.0) * a0;
        s += site * (k as f64 + 1.0) * a;
    }
    s
}

fn q_lin() -> Lin {
    Lin::new(q, q_a_frozen)
}

/// Calls inside a caller loop with two sites that block different
/// variables, each around a call.
#[differentiable(x, y; forward)]
fn two_classes_in_a_loop(x: f64, y: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let t = q(x, y * i as f64);
        let u = sg_for!(x, q(s, x));
        let w = sg_for!(y, q(y, t));
        s = s * 0.5 + t * u + w;
    }
    s
}

/// The oracle: the sites that block the variable hold their values at the
/// base point (`frozen`), the other calls are linearized.
fn two_classes_copy(p: &[f64], n: usize, frozen: &[(f64, f64)], for_x: bool, l: &mut Lin) -> f64 {
    let (x, y) = (p[0], p[1]);
    let mut s = 0.0;
    for i in 0..n {
        let t = l.call(x, y * i as f64);
        let u = if for_x { frozen[i].0 } else { l.call(s, x) };
        let w = if for_x { l.call(y, t) } else { frozen[i].1 };
        s = s * 0.5 + t * u + w;
    }
    s
}

#[test]
fn callee_sites_inside_a_two_class_caller_loop() {
    let (x, y) = (0.7, 0.3);
    for n in [1, 2, 4] {
        let (v, (gx, gy)) = two_classes_in_a_loop_grad(bb(x), bb(y), n);
        same("two classes", v, two_classes_in_a_loop(bb(x), bb(y), n));
        jvp_identity("two classes", v, &[gx, gy], &[1, 1], &|d| {
            two_classes_in_a_loop_jvp(x, y, n, d[0], d[1])
        });
        // The site values at the base point.
        let mut frozen = Vec::new();
        let mut s = 0.0;
        for i in 0..n {
            let t = q(x, y * i as f64);
            let (u, w) = (q(s, x), q(y, t));
            frozen.push((u, w));
            s = s * 0.5 + t * u + w;
        }
        let base = [x, y];
        fd(
            "two classes x",
            &|p| {
                linearized(
                    q_lin,
                    &|r, l| two_classes_copy(r, n, &frozen, true, l),
                    &base,
                    &[p[0], y],
                )
            },
            &[x],
            &[gx],
        );
        fd(
            "two classes y",
            &|p| {
                linearized(
                    q_lin,
                    &|r, l| two_classes_copy(r, n, &frozen, false, l),
                    &base,
                    &[x, p[0]],
                )
            },
            &[y],
            &[gy],
        );
    }
}

#[differentiable(v, w; forward)]
fn cubic_form(v: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * w[i] * v[i];
    }
    s
}

/// An array variable blocked around a call that reads it twice.
#[differentiable(x, k; forward)]
fn blocked_array_calls(x: &[f64], k: f64) -> f64 {
    let mut tot = 0.0;
    for i in 0..x.len() {
        let d = sg_for!(x, cubic_form(x, x)) * k;
        tot += d * x[i] + sg_for!(k, k * cubic_form(x, x));
    }
    tot
}

fn blocked_array_calls_copy(x: &[f64], k: f64, x0: &[f64], k0: f64, for_x: bool) -> f64 {
    let mut tot = 0.0;
    for i in 0..x.len() {
        let d = if for_x {
            cubic_form(x0, x0)
        } else {
            cubic_form(x, x)
        } * k;
        tot += d * x[i]
            + if for_x {
                k * cubic_form(x, x)
            } else {
                k0 * cubic_form(x0, x0)
            };
    }
    tot
}

#[test]
fn an_array_blocked_around_calls() {
    let x = [0.3, -0.2, 0.5];
    let k = 1.3;
    let (v, (gx, gk)) = blocked_array_calls_grad(bb(&x), bb(k));
    same("blocked array", v, blocked_array_calls(bb(&x), bb(k)));
    jvp_identity(
        "blocked array",
        v,
        &[&gx[..], &[gk]].concat(),
        &[3, 1],
        &|d| blocked_array_calls_jvp(&x, k, &d[..3], d[3]),
    );
    fd(
        "blocked array x",
        &|p| blocked_array_calls_copy(p, k, &x, k, true),
        &x,
        &gx,
    );
    fd(
        "blocked array k",
        &|p| blocked_array_calls_copy(&x, p[0], &x, k, false),
        &[k],
        &[gk],
    );
}

struct Net<const N: usize> {
    w: [f64; N],
    bias: f64,
}

impl<const N: usize> Net<N> {
    #[differentiable(x; forward)]
    fn layer(&self, x: &[f64; N]) -> f64 {
        let mut s = self.bias;
        for i in 0..N {
            s += self.w[i] * x[i];
        }
        s.tanh()
    }

    #[differentiable(x, k; forward)]
    fn scaled(x: f64, k: f64) -> f64 {
        x * k + x.sin()
    }

    /// `self.method`, `Self::f` and `Net::<N>::f`, recursion through a
    /// method, and a local array passed by value.
    #[differentiable(x; forward)]
    fn deep(&self, x: [f64; N], depth: usize) -> f64 {
        if depth == 0 {
            return self.layer(&x);
        }
        let mut y = [0.0; N];
        for i in 0..N {
            y[i] = Self::scaled(x[i], self.layer(&x)) + Net::<N>::scaled(x[i], 0.5);
        }
        self.deep(y, depth - 1) + x[0]
    }
}

struct Counter {
    n: usize,
}

impl Counter {
    #[differentiable(x; forward)]
    fn step(&mut self, x: f64) -> f64 {
        self.n += 1;
        x * self.n as f64
    }

    #[differentiable(x; forward)]
    fn run(&mut self, x: f64) -> f64 {
        self.step(x) * self.step(x * x)
    }
}

#[test]
fn methods_associated_functions_and_mut_self() {
    let net = Net {
        w: [0.3, -0.4, 0.8],
        bias: 0.1,
    };
    let x = [0.5, -0.2, 0.9];
    for d in 0..3 {
        let (v, g) = net.deep_grad(bb(x), d);
        same("deep", v, net.deep(bb(x), d));
        jvp_identity("deep", v, &g, &[3], &|t| net.deep_jvp(x, d, like(&x, t)));
        fd("deep", &|p| net.deep([p[0], p[1], p[2]], d), &x, &g);
    }
    // (x·1)·(x²·2) = 2x³: the pullbacks run the side effects once each.
    let mut c = Counter { n: 0 };
    let (v, g) = c.run_grad(bb(0.7));
    assert_eq!(c.n, 2);
    same("run", v, Counter { n: 0 }.run(bb(0.7)));
    jvp_identity("run", v, &[g], &[1], &|d| {
        Counter { n: 0 }.run_jvp(0.7, d[0])
    });
    assert!((g - 6.0 * 0.7 * 0.7).abs() < 1e-12, "{g}");
}

mod lib {
    /// A function the macro cannot see into (iterator chains).
    pub fn lse<const N: usize>(v: &[f64; N]) -> f64 {
        let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    }

    #[sgrad::pullback_of(lse)]
    pub fn lse_rule<const N: usize>(v: &[f64; N]) -> (f64, ([f64; N],)) {
        let l = lse(v);
        (l, (std::array::from_fn(|i| (v[i] - l).exp()),))
    }

    pub fn cube(x: f64, k: u32) -> f64 {
        x.powi(3) * k as f64
    }

    #[sgrad::pullback_of(cube)]
    pub fn cube_rule(x: f64, k: u32) -> (f64, (f64, sgrad::NoGradient)) {
        (cube(x, k), (3.0 * x * x * k as f64, sgrad::NoGradient))
    }

    /// Rounding with a straight-through derivative: the rule, not the
    /// function, defines the derivative.
    pub fn round_ste(x: f64) -> f64 {
        x.round()
    }

    #[sgrad::pullback_of(round_ste)]
    pub fn round_ste_rule(x: f64) -> (f64, (f64,)) {
        (round_ste(x), (1.0,))
    }
}

/// Rules in a loop, on a local array, on a parameter array inside a site,
/// on an array literal with a turbofish, and a straight-through rule.
#[differentiable(x, y; forward)]
#[allow(deprecated)] // stops that stop nothing, on purpose (sgrad warns of them)
fn uses_rules(x: [f64; 3], y: f64) -> f64 {
    let mut s = 0.0;
    let mut a = [0.0; 3];
    for i in 0..3 {
        a[i] = x[i] * y;
        s += lib::cube(a[i], 2);
    }
    s + lib::lse(&a) * sg_for!(y, lib::lse(&x))
        + lib::lse::<3>(&[y, 1.0, x[1]])
        + lib::round_ste(3.0 * y) * x[0]
}

/// `round_ste` replaced by its straight-through derivative: the identity
/// around its base value.
fn uses_rules_copy(x: [f64; 3], y: f64, x0: [f64; 3], y0: f64, for_y: bool) -> f64 {
    let mut s = 0.0;
    let mut a = [0.0; 3];
    for i in 0..3 {
        a[i] = x[i] * y;
        s += lib::cube(a[i], 2);
    }
    let ste = (3.0 * y0).round() + 3.0 * (y - y0);
    s + lib::lse(&a) * lib::lse(if for_y { &x0 } else { &x })
        + lib::lse(&[y, 1.0, x[1]])
        + ste * x[0]
}

#[test]
fn hand_written_rules_in_loops_sites_and_literals() {
    let x = [0.3, -0.7, 1.1];
    let y = 0.8;
    let (v, (gx, gy)) = uses_rules_grad(bb(x), bb(y));
    same("uses_rules", v, uses_rules(bb(x), bb(y)));
    jvp_identity("uses_rules", v, &[&gx[..], &[gy]].concat(), &[3, 1], &|d| {
        uses_rules_jvp(x, y, like(&x, &d[..3]), d[3])
    });
    fd(
        "rules x",
        &|p| uses_rules_copy([p[0], p[1], p[2]], y, x, y, false),
        &x,
        &gx,
    );
    fd(
        "rules y",
        &|p| uses_rules_copy(x, p[0], x, y, true),
        &[y],
        &[gy],
    );
}

#[test]
fn closures_call_functions_methods_and_rules() {
    let k = 0.3;
    let g = grad!(|x: f64, y: f64| lib::cube(x * y, 3) + Net::<2>::scaled(y, k) * x + mix(x, y));
    let plain = |x: f64, y: f64| lib::cube(x * y, 3) + Net::<2>::scaled(y, k) * x + mix(x, y);
    let (v, (gx, gy)) = g(bb(0.4), bb(1.2));
    same("closure", v, plain(bb(0.4), bb(1.2)));
    // mix blocks its own `a`, here x: a₀·y.
    let copy = |p: &[f64], x0: f64| {
        lib::cube(p[0] * p[1], 3) + Net::<2>::scaled(p[1], k) * p[0] + mix_a_frozen(p[0], p[1], x0)
    };
    fd("closure x", &|p| copy(&[p[0], 1.2], 0.4), &[0.4], &[gx]);
    fd("closure y", &|p| copy(&[0.4, p[0]], 0.4), &[1.2], &[gy]);
}

#[differentiable(x; forward)]
fn with_mut(mut x: f64, n: usize) -> f64 {
    for _ in 0..n {
        x = x * x * 0.5 + 0.1;
    }
    x
}

#[differentiable(x; forward)]
fn with_closure(x: f64, g: impl Fn(f64) -> f64) -> f64 {
    x * g(2.0)
}

#[differentiable(x; forward)]
fn single(x: f32) -> f32 {
    x.sin() * x
}

#[differentiable(x; forward)]
fn lifetimes<'a>(x: &'a [f64], w: &'a [f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * w[i];
    }
    s
}

#[differentiable(x; forward)]
fn with_where<T>(x: f64, t: T) -> f64
where
    T: Copy + Into<f64>,
{
    x * t.into()
}

/// Callees with a `mut` parameter, an `impl Fn` parameter given a closure,
/// `f32`, lifetimes, a `where` clause, a turbofish on a type parameter.
#[differentiable(x)]
fn signatures(x: &[f64]) -> f64 {
    let w = [1.0, 2.0, 3.0];
    let a = with_mut(x[0], 3);
    let b = with_closure(x[1], |t| t * 3.0);
    let c = single(x[2] as f32) as f64;
    let d = lifetimes(x, &w);
    let e = with_where(x[0], 3u8) + with_where::<f32>(x[1], 2.0f32);
    a * b + c + d * e
}

#[test]
fn callee_signatures() {
    let x = [0.3, -0.6, 0.9];
    let (v, g) = signatures_grad(bb(&x));
    same("signatures", v, signatures(bb(&x)));
    // `single` rounds through f32: its part of the derivative only to ~1e-7.
    let exact = {
        let (x0, x1, x2) = (x[0], x[1], x[2]);
        let a = with_mut(x0, 3);
        let (b, e) = (x1 * 6.0, 3.0 * x0 + 2.0 * x1);
        let d = x0 + 2.0 * x1 + 3.0 * x2;
        let (_, da) = with_mut_grad(x0, 3);
        let dc = (x2 as f32).sin() as f64 + x2 * x2.cos();
        [
            da * b + d * 3.0 + e,
            a * 6.0 + 2.0 * e + 2.0 * d,
            dc + 3.0 * e,
        ]
    };
    for i in 0..3 {
        assert!(
            (g[i] - exact[i]).abs() < 1e-6,
            "{i}: {} vs {}",
            g[i],
            exact[i]
        );
    }
    fd(
        "with_mut",
        &|p| with_mut(p[0], 3),
        &[x[0]],
        &[with_mut_grad(x[0], 3).1],
    );
}

// ---------------------------------------------------------------------------
// Calls inside control flow, with local arrays.

/// An array built by `push` in a loop, passed, changed in a loop, passed
/// again, changed and passed with a scalar that depends on it.
#[differentiable(x; forward)]
fn built_passed_changed(x: &[f64]) -> f64 {
    let mut a = Vec::new();
    for i in 0..x.len() {
        a.push(x[i] * x[(i + 1) % x.len()]);
    }
    let u = nrm(&a);
    for i in 0..a.len() {
        a[i] = a[i] * u + x[i];
    }
    let w = nrm(&a);
    a[0] = w * w;
    u * w + wsum(&a, u)
}

/// An array changed in a loop that calls with it and returns early.
#[differentiable(x; forward)]
fn changed_with_return(x: &[f64], t: f64) -> f64 {
    let mut a = vec![0.0; x.len()];
    let mut s = 0.0;
    for i in 0..x.len() {
        a[i] = x[i] * 2.0 + s;
        s += nrm(&a) * x[i];
        if s > t {
            return s + wsum(&a, s);
        }
    }
    s * nrm(&a)
}

/// Stores after the call in the same iteration.
#[differentiable(x; forward)]
fn store_after_call(x: &[f64]) -> f64 {
    let mut a = vec![0.5; x.len()];
    for i in 0..x.len() {
        let u = nrm(&a);
        a[i] = u * x[i] + a[(i + 1) % x.len()];
        a[(i + 2) % x.len()] *= 1.0 + 0.1 * u;
    }
    lin(&a, a[0])
}

/// An array declared inside the loop, passed whole and by element.
#[differentiable(x; forward)]
fn array_per_iteration(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut b = [0.0; 3];
        for j in 0..3 {
            b[j] = x[(i + j) % x.len()] * (s + 1.0);
        }
        s += (nrm(&b) * h(b[1], s) + lin(&b, b[2])).tanh();
    }
    s
}

/// Calls on a growing array in both branches of an `if` and in a `return`.
#[differentiable(x; forward)]
fn branches_and_return(x: &[f64], t: f64) -> f64 {
    let mut a = Vec::with_capacity(x.len());
    let mut s = 0.0;
    for i in 0..x.len() {
        a.push(x[i] * x[i] + s);
        if i % 2 == 1 {
            s = lin(&a, s);
        } else {
            s += nrm(&a);
        }
        if s > t {
            return lin(&a, x[i]) + s;
        }
    }
    s
}

/// `log_sum_exp` and a callee on an array of call values.
#[differentiable(x; forward)]
fn array_of_calls(x: &[f64]) -> f64 {
    let mut z = vec![];
    for i in 0..x.len() {
        z.push(h(x[i], x[(i + 1) % x.len()]));
    }
    log_sum_exp(&z) + nrm(&z)
}

/// A push after each call, and a `break` on the call's value.
#[differentiable(x; forward)]
fn push_after_call(x: &[f64]) -> f64 {
    let mut a = vec![x[0]];
    for i in 1..x.len() {
        let u = lin(&a, x[i]);
        a.push(u * x[i]);
        if u > 0.95 {
            break;
        }
    }
    lin(&a, 1.0) + a[a.len() - 1]
}

#[test]
fn local_arrays_passed_to_callees() {
    let x = [0.3, -0.6, 0.9, 0.4, 1.1, -0.2, 0.7, 0.5];
    let (v, g) = built_passed_changed_grad(bb(&x));
    same("built_passed_changed", v, built_passed_changed(bb(&x)));
    jvp_identity("built_passed_changed", v, &g, &[8], &|d| {
        built_passed_changed_jvp(&x, d)
    });
    fd("built_passed_changed", &|p| built_passed_changed(p), &x, &g);
    for t in [0.1, 1.0, 3.0, 100.0] {
        let (v, g) = changed_with_return_grad(bb(&x), t);
        same("changed_with_return", v, changed_with_return(bb(&x), t));
        jvp_identity("changed_with_return", v, &g, &[8], &|d| {
            changed_with_return_jvp(&x, t, d)
        });
        fd(
            &format!("changed_with_return {t}"),
            &|p| changed_with_return(p, t),
            &x,
            &g,
        );
    }
    let (v, g) = store_after_call_grad(bb(&x));
    same("store_after_call", v, store_after_call(bb(&x)));
    jvp_identity("store_after_call", v, &g, &[8], &|d| {
        store_after_call_jvp(&x, d)
    });
    fd("store_after_call", &|p| store_after_call(p), &x, &g);
    let (v, g) = array_per_iteration_grad(bb(&x));
    same("array_per_iteration", v, array_per_iteration(bb(&x)));
    jvp_identity("array_per_iteration", v, &g, &[8], &|d| {
        array_per_iteration_jvp(&x, d)
    });
    fd("array_per_iteration", &|p| array_per_iteration(p), &x, &g);
    for t in [0.3, 1.1, 3.0, 1e9] {
        let (v, g) = branches_and_return_grad(bb(&x), t);
        same("branches_and_return", v, branches_and_return(bb(&x), t));
        jvp_identity("branches_and_return", v, &g, &[8], &|d| {
            branches_and_return_jvp(&x, t, d)
        });
        fd(
            &format!("branches_and_return {t}"),
            &|p| branches_and_return(p, t),
            &x,
            &g,
        );
    }
    let (v, g) = array_of_calls_grad(bb(&x));
    same("array_of_calls", v, array_of_calls(bb(&x)));
    jvp_identity("array_of_calls", v, &g, &[8], &|d| {
        array_of_calls_jvp(&x, d)
    });
    fd("array_of_calls", &|p| array_of_calls(p), &x, &g);
    let x5 = [0.3, -0.6, 0.9, 0.4, 1.1];
    let (v, g) = push_after_call_grad(bb(&x5));
    same("push_after_call", v, push_after_call(bb(&x5)));
    jvp_identity("push_after_call", v, &g, &[5], &|d| {
        push_after_call_jvp(&x5, d)
    });
    fd("push_after_call", &|p| push_after_call(p), &x5, &g);
}

/// Calls in a `while` with `continue` and `break`.
#[differentiable(x, y; forward)]
fn while_continue_break(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut k = 0;
    while k < 10 {
        k += 1;
        if k % 3 == 0 {
            s = h(s, y) * 0.5;
            continue;
        }
        s += h(y, s) * 0.1;
        if s > 5.0 {
            break;
        }
    }
    s
}

/// `break` with a call's value from a `loop` nested in a `for`.
#[differentiable(x; forward)]
fn break_a_call(x: [f64; 3]) -> f64 {
    let mut tot = 0.0;
    for i in 0..3 {
        let mut z = x[i];
        let r = loop {
            z = z * 1.3 + 0.2;
            if z > 2.0 {
                break h(z, x[(i + 1) % 3]);
            }
        };
        tot += r;
    }
    tot
}

/// A call in a `while` condition whose argument the loop changes.
#[differentiable(x; forward)]
fn call_in_condition(x: &[f64]) -> f64 {
    let mut s = 0.1;
    let mut n = 0;
    while wsum(x, s) < 4.0 && n < 50 {
        s += 0.3 * x[n % x.len()].abs() + 0.05;
        n += 1;
    }
    s * wsum(x, s)
}

/// `return` of calls from nested loops with `continue 'outer`.
#[differentiable(x; forward)]
fn return_from_labeled(x: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    'outer: for i in 0..x.len() {
        for j in 0..x.len() {
            if j == i {
                continue 'outer;
            }
            s += h(x[i], x[j]);
            if s > t {
                return h(s, x[j]) * nrm(x);
            }
        }
    }
    s
}

/// Calls in stepped ranges, forward and reversed.
#[differentiable(x; forward)]
fn stepped_calls(x: &[f64]) -> f64 {
    let mut s = 0.5;
    for i in (0..x.len()).step_by(2) {
        s = h(s, x[i]);
    }
    for i in (1..x.len()).rev().step_by(3) {
        s += h(x[i], s) * 0.3;
    }
    s
}

#[test]
fn calls_in_while_break_values_conditions_returns_and_steps() {
    for (x, y) in [(0.3, 0.5), (1.2, 0.8), (-0.5, 2.0)] {
        let (v, (gx, gy)) = while_continue_break_grad(bb(x), bb(y));
        same(
            "while_continue_break",
            v,
            while_continue_break(bb(x), bb(y)),
        );
        jvp_identity("while_continue_break", v, &[gx, gy], &[1, 1], &|d| {
            while_continue_break_jvp(x, y, d[0], d[1])
        });
        fd(
            "while_continue_break",
            &|p| while_continue_break(p[0], p[1]),
            &[x, y],
            &[gx, gy],
        );
    }
    let x3 = [0.3, 0.8, -0.4];
    let (v, g) = break_a_call_grad(bb(x3));
    same("break_a_call", v, break_a_call(bb(x3)));
    jvp_identity("break_a_call", v, &g, &[3], &|d| {
        break_a_call_jvp(x3, like(&x3, d))
    });
    fd(
        "break_a_call",
        &|p| break_a_call([p[0], p[1], p[2]]),
        &x3,
        &g,
    );
    let x = [0.3, -0.6, 0.9, 0.4, 1.1, -0.2, 0.7, 0.5];
    let (v, g) = call_in_condition_grad(bb(&x));
    same("call_in_condition", v, call_in_condition(bb(&x)));
    jvp_identity("call_in_condition", v, &g, &[8], &|d| {
        call_in_condition_jvp(&x, d)
    });
    fd("call_in_condition", &|p| call_in_condition(p), &x, &g);
    for t in [0.05, 0.8, 2.0, 100.0] {
        let (v, g) = return_from_labeled_grad(bb(&x), t);
        same("return_from_labeled", v, return_from_labeled(bb(&x), t));
        jvp_identity("return_from_labeled", v, &g, &[8], &|d| {
            return_from_labeled_jvp(&x, t, d)
        });
        fd(
            &format!("return_from_labeled {t}"),
            &|p| return_from_labeled(p, t),
            &x,
            &g,
        );
    }
    for n in [1, 2, 4, 7, 8] {
        let xs = &x[..n];
        let (v, g) = stepped_calls_grad(bb(xs));
        same("stepped_calls", v, stepped_calls(bb(xs)));
        jvp_identity("stepped_calls", v, &g, &[n], &|d| stepped_calls_jvp(xs, d));
        fd(&format!("stepped_calls {n}"), &|p| stepped_calls(p), xs, &g);
    }
}

/// A call with array gradients in the inner loop of a nested loop.
#[differentiable(x, w; forward)]
fn nested_calls(x: &[f64], w: [[f64; 3]; 2]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        for j in 0..2 {
            s += lin(x, s * 0.1) * quad(&w[j]) * x[i];
        }
    }
    s
}

/// A `while` inside a `for`, calling with an array the `for` changes.
#[differentiable(x; forward)]
fn while_in_for(x: &[f64]) -> f64 {
    let mut a = vec![0.0; 3];
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut k = 0;
        while k < i % 3 + 1 {
            s += lin(&a, x[i]) * 0.5;
            k += 1;
        }
        a[i % 3] = s * x[i];
    }
    s + lin(&a, 0.0)
}

/// Sites for different variables around calls in a loop.
#[differentiable(x, w; forward)]
fn sites_in_a_loop(x: &[f64], w: [[f64; 3]; 2]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let a = sg_for!(x, lin(x, quad(&w[i % 2])));
        let b = sg_for!(w, quad(&w[0]) * lin(x, 0.5));
        s += a * b + quad(&w[1]) * x[i];
    }
    s
}

fn sites_in_a_loop_copy(
    x: &[f64],
    w: [[f64; 3]; 2],
    x0: &[f64],
    w0: [[f64; 3]; 2],
    for_x: bool,
) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let a = if for_x {
            lin(x0, quad(&w0[i % 2]))
        } else {
            lin(x, quad(&w[i % 2]))
        };
        let b = if for_x {
            quad(&w[0]) * lin(x, 0.5)
        } else {
            quad(&w0[0]) * lin(x0, 0.5)
        };
        s += a * b + quad(&w[1]) * x[i];
    }
    s
}

#[test]
fn calls_in_nested_loops() {
    let x = [0.3, -0.6, 0.9, 0.4];
    let w = [[0.3, -0.5, 0.2], [0.9, 0.1, -0.4]];
    let (v, (gx, gw)) = nested_calls_grad(bb(&x), bb(w));
    same("nested_calls", v, nested_calls(bb(&x), bb(w)));
    jvp_identity("nested_calls", v, &(&gx, gw).flat(), &[4, 6], &|d| {
        nested_calls_jvp(&x, w, &d[..4], m23(&d[4..]))
    });
    fd("nested_calls x", &|p| nested_calls(p, w), &x, &gx);
    fd(
        "nested_calls w",
        &|p| nested_calls(&x, m23(p)),
        &w.concat(),
        &gw.concat(),
    );
    let (v, g) = while_in_for_grad(bb(&x));
    same("while_in_for", v, while_in_for(bb(&x)));
    jvp_identity("while_in_for", v, &g, &[4], &|d| while_in_for_jvp(&x, d));
    fd("while_in_for", &|p| while_in_for(p), &x, &g);
    let (v, (gx, gw)) = sites_in_a_loop_grad(bb(&x), bb(w));
    same("sites_in_a_loop", v, sites_in_a_loop(bb(&x), bb(w)));
    jvp_identity("sites_in_a_loop", v, &(&gx, gw).flat(), &[4, 6], &|d| {
        sites_in_a_loop_jvp(&x, w, &d[..4], m23(&d[4..]))
    });
    fd(
        "sites_in_a_loop x",
        &|p| sites_in_a_loop_copy(p, w, &x, w, true),
        &x,
        &gx,
    );
    fd(
        "sites_in_a_loop w",
        &|p| sites_in_a_loop_copy(&x, m23(p), &x, w, false),
        &w.concat(),
        &gw.concat(),
    );
}

#[differentiable(v, c; forward)]
fn lin32(v: &[f32], c: f32) -> f32 {
    let mut s = c;
    for i in 0..v.len() {
        s = s * 0.5 + v[i].sin();
    }
    s
}

/// `f32`: pushes and calls in a reversed stepped range.
#[differentiable(x; forward)]
fn single_precision(x: f32, n: usize) -> f32 {
    let mut a = Vec::new();
    let mut s = x;
    for i in (0..n).rev().step_by(2) {
        a.push(s);
        s = lin32(&a, s) + x * i as f32 * 0.1;
    }
    s
}

#[test]
fn single_precision_calls() {
    for n in 1..6 {
        let (v, g) = single_precision_grad(bb(0.7), n);
        assert_eq!(v.to_bits(), single_precision(bb(0.7), n).to_bits());
        let (vj, t) = single_precision_jvp(bb(0.7), n, 1.0);
        assert_eq!(vj.to_bits(), v.to_bits());
        assert_dot_identity_rel(
            "single_precision",
            &[g as f64],
            t as f64,
            &[1.0],
            JVP_REL_F32,
        );
        // The f64 copy of the program is the oracle.
        let copy = |x: f64| {
            let mut a: Vec<f64> = Vec::new();
            let mut s = x;
            for i in (0..n).rev().step_by(2) {
                a.push(s);
                let mut l = s;
                for v in &a {
                    l = l * 0.5 + v.sin();
                }
                s = l + x * i as f64 * 0.1;
            }
            s
        };
        let d = (copy(0.7 + 1e-6) - copy(0.7 - 1e-6)) / 2e-6;
        assert!(
            (d - g as f64).abs() < 1e-5 * d.abs().max(1.0),
            "{n}: {g} vs {d}"
        );
    }
}

// ---------------------------------------------------------------------------
// Control flow.

/// `break 'outer` from a `loop` inside a `while` inside a `for`.
#[differentiable(x; forward)]
fn break_three_levels(x: &[f64], t: f64) -> f64 {
    let mut s = 0.1;
    'outer: for i in 0..x.len() {
        let mut j = 0;
        while j < 3 {
            let mut k = 0;
            loop {
                s = s * 1.1 + x[(i + j + k) % x.len()] * x[i];
                k += 1;
                if s > t {
                    break 'outer;
                }
                if k >= 2 {
                    break;
                }
            }
            j += 1;
        }
    }
    s * s
}

/// `continue 'mid` and `continue 'outer` from a `loop` inside a labeled
/// `while` inside a labeled `for`.
#[differentiable(x; forward)]
fn continue_two_levels(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut p = 1.0;
    'outer: for i in 0..x.len() {
        let mut j = 0;
        'mid: while j < x.len() {
            j += 1;
            let mut k = 0;
            loop {
                k += 1;
                p *= 1.0 + 0.05 * x[(i * j + k) % x.len()];
                if k > i {
                    continue 'mid;
                }
                if p > 1.3 {
                    p = p.sqrt();
                    continue 'outer;
                }
                s += p * x[i];
                if k > 3 {
                    break;
                }
            }
            s += 0.5 * p;
        }
    }
    s + p
}

/// A search: `break 'search` from a `for` inside a `loop`.
#[differentiable(x; forward)]
fn search(x: &[f64]) -> f64 {
    let mut acc = 0.0;
    let mut round = 0;
    let mut found = 0.0;
    'search: loop {
        round += 1;
        for i in 0..x.len() {
            acc += x[i] * x[i] * round as f64;
            if acc > 3.0 {
                found = acc.ln() * x[i];
                break 'search;
            }
        }
        if round > 10 {
            break;
        }
    }
    found + acc
}

/// `return` from both branches of an `if` in nested loops that change an
/// array.
#[differentiable(x; forward)]
fn return_with_stores(x: &[f64], t: f64) -> f64 {
    let mut a = vec![1.0; x.len()];
    for i in 0..x.len() {
        for j in 0..i {
            a[j] = a[j] * x[i] + a[i];
            if a[j] > t {
                if j % 2 == 0 {
                    return a[j] * x[j];
                } else {
                    return a[j].sin() + a[0];
                }
            }
        }
        a[i] += x[i].exp();
    }
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i];
    }
    s
}

/// `return` of two values blocked for different variables, from a loop
/// that changes an array.
#[differentiable(x, y; forward)]
fn return_blocked(x: &[f64], y: f64, t: f64) -> f64 {
    let mut a = [0.0; 4];
    let mut s = y;
    for i in 0..4 {
        a[i] = x[i] * s;
        s += a[i] * y;
        if s > t {
            return sg_for!(x, a[i] * s) + sg_for!(y, s * x[0]) + a[0];
        }
    }
    s * a[3]
}

fn return_blocked_copy(x: &[f64], y: f64, t: f64, x0: &[f64], y0: f64, for_x: bool) -> f64 {
    // The sites' values at the base point.
    let mut a0 = [0.0; 4];
    let mut s0 = y0;
    let mut sites = None;
    for i in 0..4 {
        a0[i] = x0[i] * s0;
        s0 += a0[i] * y0;
        if s0 > t {
            sites = Some((a0[i] * s0, s0 * x0[0]));
            break;
        }
    }
    let mut a = [0.0; 4];
    let mut s = y;
    for i in 0..4 {
        a[i] = x[i] * s;
        s += a[i] * y;
        if s > t {
            let (v1, v2) = sites.expect("the same branch as at the base point");
            let first = if for_x { v1 } else { a[i] * s };
            let second = if for_x { s * x[0] } else { v2 };
            return first + second + a[0];
        }
    }
    s * a[3]
}

/// Steps that are variables, reversed inclusive ranges, a stepped loop
/// nested in another.
#[differentiable(x; forward)]
fn variable_steps(x: &[f64], k: usize) -> f64 {
    let mut s = 1.0;
    for i in (0..=x.len() - 1).rev().step_by(k) {
        s = s * x[i] + x[(i + 1) % x.len()];
        for j in (i..x.len()).step_by(k + 1) {
            s += x[j] * s.tanh();
        }
    }
    s
}

/// `continue 'w` and `break 'w` from a `loop` inside a labeled `while`, and
/// `return` from the same `loop`.
#[differentiable(x; forward)]
fn while_loop_exits(x: &[f64], lim: f64) -> f64 {
    let mut i = 0;
    let mut s = 0.0;
    'w: while i < x.len() {
        i += 1;
        let mut k = 0;
        loop {
            k += 1;
            s += x[i - 1] * k as f64;
            if s < -lim {
                return s * 2.0;
            }
            if k == 2 {
                continue 'w;
            }
            if s > lim {
                break 'w;
            }
        }
    }
    s * x[0]
}

#[test]
fn labeled_exits_returns_and_steps() {
    let x = [0.3, -0.6, 0.9, 0.4, 1.1, -0.2, 0.7, 0.5];
    for t in [0.35, 1.0, 2.5, 100.0] {
        let (v, g) = break_three_levels_grad(bb(&x), t);
        same("break_three_levels", v, break_three_levels(bb(&x), t));
        jvp_identity("break_three_levels", v, &g, &[8], &|d| {
            break_three_levels_jvp(&x, t, d)
        });
        fd(
            &format!("break_three_levels {t}"),
            &|p| break_three_levels(p, t),
            &x,
            &g,
        );
    }
    let (v, g) = continue_two_levels_grad(bb(&x));
    same("continue_two_levels", v, continue_two_levels(bb(&x)));
    jvp_identity("continue_two_levels", v, &g, &[8], &|d| {
        continue_two_levels_jvp(&x, d)
    });
    fd("continue_two_levels", &|p| continue_two_levels(p), &x, &g);
    for xs in [&x[..], &[0.1, 0.05, 0.02][..], &[2.0, 1.0][..]] {
        let (v, g) = search_grad(bb(xs));
        same("search", v, search(bb(xs)));
        jvp_identity("search", v, &g, &[xs.len()], &|d| search_jvp(xs, d));
        fd("search", &|p| search(p), xs, &g);
    }
    let xp = [1.3, 0.6, 0.9, 0.4, 1.1, 0.2, 0.7, 0.5];
    for t in [1.5, 2.7, 5.0, 1e9] {
        let (v, g) = return_with_stores_grad(bb(&xp), t);
        same("return_with_stores", v, return_with_stores(bb(&xp), t));
        jvp_identity("return_with_stores", v, &g, &[8], &|d| {
            return_with_stores_jvp(&xp, t, d)
        });
        fd(
            &format!("return_with_stores {t}"),
            &|p| return_with_stores(p, t),
            &xp,
            &g,
        );
    }
    let x4 = &xp[..4];
    let y = 0.8;
    for t in [0.9, 1.3, 2.0, 100.0] {
        let (v, (gx, gy)) = return_blocked_grad(bb(x4), bb(y), t);
        same("return_blocked", v, return_blocked(bb(x4), bb(y), t));
        jvp_identity(
            "return_blocked",
            v,
            &[&gx[..], &[gy]].concat(),
            &[4, 1],
            &|d| return_blocked_jvp(x4, y, t, &d[..4], d[4]),
        );
        fd(
            &format!("return_blocked x {t}"),
            &|p| return_blocked_copy(p, y, t, x4, y, true),
            x4,
            &gx,
        );
        fd(
            &format!("return_blocked y {t}"),
            &|p| return_blocked_copy(x4, p[0], t, x4, y, false),
            &[y],
            &[gy],
        );
    }
    for k in 1..4 {
        let (v, g) = variable_steps_grad(bb(&x), k);
        same("variable_steps", v, variable_steps(bb(&x), k));
        jvp_identity("variable_steps", v, &g, &[8], &|d| {
            variable_steps_jvp(&x, k, d)
        });
        fd(
            &format!("variable_steps {k}"),
            &|p| variable_steps(p, k),
            &x,
            &g,
        );
    }
    let xs = [0.3, -0.6, -0.9, -0.4, 1.1];
    for lim in [0.5, 1.5, 4.3, 100.0] {
        let (v, g) = while_loop_exits_grad(bb(&xs), lim);
        same("while_loop_exits", v, while_loop_exits(bb(&xs), lim));
        jvp_identity("while_loop_exits", v, &g, &[5], &|d| {
            while_loop_exits_jvp(&xs, lim, d)
        });
        fd(
            &format!("while_loop_exits {lim}"),
            &|p| while_loop_exits(p, lim),
            &xs,
            &g,
        );
    }
}

/// Stores and pushes before and after labeled exits of nested loops.
#[differentiable(x; forward)]
fn stores_around_exits(x: &[f64], t: f64) -> f64 {
    let n = x.len();
    let mut a = vec![0.0; n];
    let mut p = Vec::new();
    'outer: for i in 0..n {
        for j in 0..n {
            a[j] += x[i] * x[j];
            if a[j] > t {
                p.push(a[j] * 0.5);
                continue 'outer;
            }
            a[(j + 1) % n] = a[j] * 0.9 + x[j];
            if a[(j + 1) % n] < -t {
                break 'outer;
            }
        }
        p.push(a[i]);
    }
    lin(&a, 0.0) + lin(&p, 1.0)
}

/// `break` with a call on an array the `loop` pushes to.
#[differentiable(x; forward)]
fn break_value_of_pushes(x: &[f64]) -> f64 {
    let mut p = vec![x[0]];
    let mut k = 0;
    let r = loop {
        let last = p[p.len() - 1];
        p.push(last * 1.2 + x[k % x.len()]);
        k += 1;
        if p[k] > 3.0 || k > 12 {
            break lin(&p, last);
        }
    };
    r * p[1]
}

/// `return` from a `while` after pushes; `log_sum_exp` of the pushed array.
#[differentiable(x; forward)]
fn return_after_pushes(x: &[f64], t: f64) -> f64 {
    let mut z = Vec::new();
    let mut i = 0;
    while i < x.len() {
        z.push(x[i] * (i as f64 + 1.0));
        if lin(&z, 0.0) > t {
            return lin(&z, x[i]) * x[0];
        }
        i += 1;
    }
    log_sum_exp(&z)
}

#[test]
fn arrays_around_labeled_exits_break_values_and_returns() {
    let x = [0.3, -0.6, 0.9, 0.4, 1.1];
    for t in [0.2, 0.5, 1.0, 2.0, 100.0] {
        let (v, g) = stores_around_exits_grad(bb(&x), t);
        same("stores_around_exits", v, stores_around_exits(bb(&x), t));
        jvp_identity("stores_around_exits", v, &g, &[5], &|d| {
            stores_around_exits_jvp(&x, t, d)
        });
        fd(
            &format!("stores_around_exits {t}"),
            &|p| stores_around_exits(p, t),
            &x,
            &g,
        );
    }
    for xs in [&x[..], &[0.01, 0.02][..], &[2.5, 1.0][..]] {
        let (v, g) = break_value_of_pushes_grad(bb(xs));
        same("break_value_of_pushes", v, break_value_of_pushes(bb(xs)));
        jvp_identity("break_value_of_pushes", v, &g, &[xs.len()], &|d| {
            break_value_of_pushes_jvp(xs, d)
        });
        fd(
            "break_value_of_pushes",
            &|p| break_value_of_pushes(p),
            xs,
            &g,
        );
    }
    for t in [0.2, 1.0, 3.0, 100.0] {
        let (v, g) = return_after_pushes_grad(bb(&x), t);
        same("return_after_pushes", v, return_after_pushes(bb(&x), t));
        jvp_identity("return_after_pushes", v, &g, &[5], &|d| {
            return_after_pushes_jvp(&x, t, d)
        });
        fd(
            &format!("return_after_pushes {t}"),
            &|p| return_after_pushes(p, t),
            &x,
            &g,
        );
    }
}

/// A `loop` whose only exit is `return`.
#[differentiable(x; forward)]
fn only_return(x: f64) -> f64 {
    let mut s = x;
    loop {
        s = s * 1.5 + h(x, s).abs() + 0.2;
        if s > 10.0 {
            return s.ln() * x;
        }
    }
}

/// A `loop` with two `break` values as the function's tail.
#[differentiable(x; forward)]
fn loop_tail(x: f64) -> f64 {
    let mut s = x;
    let mut n = 0;
    loop {
        n += 1;
        s = s * 1.3 + x * 0.1;
        if s > 4.0 {
            break s * x;
        } else if n > 20 {
            break h(s, 1.0);
        }
    }
}

/// A labeled `break`/`continue` out of `zip` in `enumerate`.
#[differentiable(x, y; forward)]
fn zip_exits(x: &[f64], y: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    'o: for (i, v) in x.iter().enumerate() {
        for (a, b) in x.iter().zip(y.iter()) {
            s += h(*v, *a) * *b;
            if s > t {
                break 'o;
            }
            if s < -t {
                continue 'o;
            }
        }
        s += y[i];
    }
    s
}

/// A loop returning inside an `if`, followed by a reversed loop returning.
#[differentiable(x; forward)]
fn guarded_returns(x: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    if x[0] > 0.0 {
        for i in 0..x.len() {
            s += x[i] * x[i];
            if s > t {
                return s * x[i];
            }
        }
        s = s.sqrt();
    } else {
        s = x[1];
    }
    for i in (0..x.len()).rev() {
        s = s * 0.9 + x[i];
        if s > 2.0 * t {
            return h(s, x[i]);
        }
    }
    s
}

/// `return` from a block inside a `while`.
#[differentiable(x; forward)]
fn return_in_block(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while i < x.len() {
        {
            let t = x[i] * 2.0;
            s += t;
            if s > 1.5 {
                return s * t;
            }
        }
        i += 1;
    }
    s
}

#[test]
fn loop_forms() {
    for x in [0.3, 1.1, 2.0] {
        let (v, g) = only_return_grad(bb(x));
        same("only_return", v, only_return(bb(x)));
        jvp_identity("only_return", v, &[g], &[1], &|d| only_return_jvp(x, d[0]));
        fd("only_return", &|p| only_return(p[0]), &[x], &[g]);
        let (v, g) = loop_tail_grad(bb(x));
        same("loop_tail", v, loop_tail(bb(x)));
        jvp_identity("loop_tail", v, &[g], &[1], &|d| loop_tail_jvp(x, d[0]));
        fd("loop_tail", &|p| loop_tail(p[0]), &[x], &[g]);
    }
    let x = [0.3, -0.6, 0.9, 0.4, 1.1];
    let y = [0.5, 0.2, -0.3, 0.8, -0.1];
    for t in [0.2, 0.7, 1.5, 100.0] {
        let (v, (gx, gy)) = zip_exits_grad(bb(&x), bb(&y), t);
        same("zip_exits", v, zip_exits(bb(&x), bb(&y), t));
        jvp_identity("zip_exits", v, &[&gx[..], &gy].concat(), &[5, 5], &|d| {
            zip_exits_jvp(&x, &y, t, &d[..5], &d[5..])
        });
        fd(
            &format!("zip_exits x {t}"),
            &|p| zip_exits(p, &y, t),
            &x,
            &gx,
        );
        fd(
            &format!("zip_exits y {t}"),
            &|p| zip_exits(&x, p, t),
            &y,
            &gy,
        );
    }
    for t in [0.05, 0.5, 1.3, 100.0] {
        for xs in [x, [-0.3, 0.6, 0.9, 0.4, 1.1]] {
            let (v, g) = guarded_returns_grad(bb(&xs), t);
            same("guarded_returns", v, guarded_returns(bb(&xs), t));
            jvp_identity("guarded_returns", v, &g, &[5], &|d| {
                guarded_returns_jvp(&xs, t, d)
            });
            fd(
                &format!("guarded_returns {t}"),
                &|p| guarded_returns(p, t),
                &xs,
                &g,
            );
        }
    }
    let (v, g) = return_in_block_grad(bb(&x));
    same("return_in_block", v, return_in_block(bb(&x)));
    jvp_identity("return_in_block", v, &g, &[5], &|d| {
        return_in_block_jvp(&x, d)
    });
    fd("return_in_block", &|p| return_in_block(p), &x, &g);
}

// ---------------------------------------------------------------------------
// Bugs: wrong gradients, kept until fixed.

struct Affine {
    k: f64,
}

impl Affine {
    #[differentiable(x, y; forward)]
    fn eval(&self, x: f64, y: f64) -> f64 {
        self.k * x + 10.0 * y
    }

    /// A method named like a float method with the same number of arguments.
    #[differentiable(x; forward)]
    fn log(&self, x: f64) -> f64 {
        self.k * x
    }

    #[differentiable(x; forward)]
    fn hypot(&self, x: f64) -> f64 {
        self.k * x
    }

    #[differentiable(x; forward)]
    fn powi(&self, x: f64) -> f64 {
        self.k * x
    }

    #[differentiable(x; forward)]
    fn calls_log_hypot_powi(&self, x: f64) -> f64 {
        self.log(x) + self.hypot(x) + self.powi(x)
    }
}

/// `Type::method(receiver, ..)`: the receiver is counted as an argument,
/// so argument i receives the gradient of parameter i + 1.
#[differentiable(x; forward)]
fn ufcs_method_call(m: &Affine, x: f64) -> f64 {
    Affine::eval(m, x, 1.0)
}

#[test]
fn ufcs_method_calls_use_the_gradient_of_their_own_parameter() {
    let m = Affine { k: 2.0 };
    let (v, g) = ufcs_method_call_grad(bb(&m), bb(0.5));
    same("ufcs", v, ufcs_method_call(bb(&m), bb(0.5)));
    jvp_identity("ufcs", v, &[g], &[1], &|d| {
        ufcs_method_call_jvp(&m, 0.5, d[0])
    });
    assert_eq!(g, 2.0);
}

#[test]
fn a_method_named_like_a_float_method_is_the_users_method() {
    let m = Affine { k: 3.0 };
    let (v, g) = m.calls_log_hypot_powi_grad(bb(2.0));
    same("float names", v, m.calls_log_hypot_powi(bb(2.0)));
    jvp_identity("float names", v, &[g], &[1], &|d| {
        m.calls_log_hypot_powi_jvp(2.0, d[0])
    });
    assert!((g - 9.0).abs() < 1e-12, "{g}");
}

mod shadow {
    use sgrad::differentiable;

    /// A user's own `dot`, weighted: not the runtime's. A bare `dot(..)` is
    /// taken to be `sgrad::dot` (and is a type error if it is not, see
    /// tests/ui/bare-call-of-own-sum.rs); the user's is called by path.
    #[differentiable(a, b; forward)]
    pub fn dot(a: &[f64], b: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..a.len() {
            s += a[i] * b[i] * (i as f64 + 1.0);
        }
        s
    }

    #[differentiable(x; forward)]
    pub fn calls_own_dot(x: &[f64], y: &[f64]) -> f64 {
        self::dot(x, y)
    }
}

#[test]
fn a_users_function_named_dot_is_differentiated_through_its_pullback() {
    let (x, y) = ([1.0, 1.0], [1.0, 1.0]);
    let (v, g) = shadow::calls_own_dot_grad(bb(&x), &y);
    same("own dot", v, shadow::calls_own_dot(bb(&x), &y));
    jvp_identity("own dot", v, &g, &[2], &|d| {
        shadow::calls_own_dot_jvp(&x, &y, d)
    });
    assert_eq!(g, vec![1.0, 2.0]);
}

/// `NoGradient` is part of the pullback's shape.
#[test]
fn pullbacks_report_no_gradient_for_constants() {
    let (v, (dx, NoGradient)) = with_mut_pullback(0.4, 2);
    assert_eq!(v.to_bits(), with_mut(0.4, 2).to_bits());
    assert_eq!(dx, with_mut_grad(0.4, 2).1);
}

#[differentiable(p; forward)]
fn first_last<const N: usize>(p: [f64; N]) -> f64 {
    p[0] * p[N - 1]
}
#[differentiable(w; forward)]
fn rows_by_value(w: [[f64; 3]; 2]) -> f64 {
    first_last(w[1]) + first_last(w[0]) * 2.0
}
#[differentiable(v; forward)]
fn sq_plus(v: &[f64]) -> f64 {
    v[0] * v[0] + v[1]
}
#[differentiable(x; forward)]
fn array_to_slice(x: [f64; 2]) -> f64 {
    sq_plus(&x) * 3.0
}
#[differentiable(x; forward)]
fn array_ref_to_slice(x: &[f64; 2]) -> f64 {
    sq_plus(x)
}
#[differentiable(w; forward)]
fn row_to_slice(w: [[f64; 2]; 2]) -> f64 {
    sq_plus(&w[1])
}
/// Arrays passed to callees whose parameters have other containers: a row by
/// value, `[f64; N]` to `&[f64]` (the callee's gradient is a `Vec`).
#[test]
fn array_arguments_of_other_containers() {
    let w = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    assert_eq!(rows_by_value_grad(w).0, rows_by_value(w));
    assert_eq!(
        sq_plus(&[2.0, 5.0]) * 3.0,
        array_to_slice_grad([2.0, 5.0]).0
    );
    assert_eq!(
        array_ref_to_slice(&[2.0, 5.0]),
        row_to_slice([[0.0, 0.0], [2.0, 5.0]])
    );
    assert_eq!(
        (array_to_slice([2.0, 5.0]), first_last([2.0, 3.0])),
        (27.0, 6.0)
    );
    assert_eq!(
        rows_by_value_grad([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).1,
        [[6.0, 0.0, 2.0], [6.0, 0.0, 4.0]]
    );
    assert_eq!(array_to_slice_grad([2.0, 5.0]).1, [12.0, 3.0]);
    assert_eq!(array_ref_to_slice_grad(&[2.0, 5.0]).1, [4.0, 1.0]);
    assert_eq!(
        row_to_slice_grad([[0.0, 0.0], [2.0, 5.0]]).1,
        [[0.0, 0.0], [4.0, 1.0]]
    );
    let (v, g) = rows_by_value_grad(w);
    jvp_identity("rows_by_value", v, &g.concat(), &[6], &|d| {
        rows_by_value_jvp(w, m23(d))
    });
    let x = [2.0, 5.0];
    let (v, g) = array_to_slice_grad(x);
    jvp_identity("array_to_slice", v, &g, &[2], &|d| {
        array_to_slice_jvp(x, like(&x, d))
    });
    let (v, g) = array_ref_to_slice_grad(&x);
    jvp_identity("array_ref_to_slice", v, &g, &[2], &|d| {
        array_ref_to_slice_jvp(&x, &like(&x, d))
    });
    let r = [[0.0, 0.0], [2.0, 5.0]];
    let (v, g) = row_to_slice_grad(r);
    jvp_identity("row_to_slice", v, &g.concat(), &[4], &|d| {
        row_to_slice_jvp(r, like(&r, d))
    });
}

/// Every callee above on its own: forward mode against its gradient, one
/// variable at a time and all together.
#[test]
fn callees_forward_mode_agrees_with_their_gradients() {
    let (a, b) = (0.7, -1.3);
    let x3 = [0.3, -0.6, 0.9];
    let x4 = [0.3, -0.6, 0.9, 0.4];
    let w = [[0.3, -0.5, 0.2], [0.9, 0.1, -0.4]];
    let (v, (ga, gb)) = m::inner::mix_grad(a, b);
    jvp_identity("mix", v, &[ga, gb], &[1, 1], &|d| {
        m::inner::mix_jvp(a, b, d[0], d[1])
    });
    let (v, g) = m::sumsq_grad(&x4);
    jvp_identity("sumsq", v, &g, &[4], &|d| m::sumsq_jvp(&x4, d));
    let (v, g) = m::first_last_grad(x4);
    jvp_identity("m::first_last", v, &g, &[4], &|d| {
        m::first_last_jvp(x4, like(&x4, d))
    });
    let (v, g) = m::row3_grad(&x3);
    jvp_identity("row3", v, &g, &[3], &|d| m::row3_jvp(&x3, &like(&x3, d)));
    let (v, (ga, gb)) = h_grad(a, b);
    jvp_identity("h", v, &[ga, gb], &[1, 1], &|d| h_jvp(a, b, d[0], d[1]));
    let (v, g) = nrm_grad(&x4);
    jvp_identity("nrm", v, &g, &[4], &|d| nrm_jvp(&x4, d));
    let (v, (gv, gw)) = wsum_grad(&x4, a);
    let grad = [&gv[..], &[gw]].concat();
    jvp_identity("wsum", v, &grad, &[4, 1], &|d| {
        wsum_jvp(&x4, a, &d[..4], d[4])
    });
    let (v, (gv, gc)) = lin_grad(&x4, a);
    let grad = [&gv[..], &[gc]].concat();
    jvp_identity("lin", v, &grad, &[4, 1], &|d| {
        lin_jvp(&x4, a, &d[..4], d[4])
    });
    let (v, g) = quad_grad(&x4);
    jvp_identity("quad", v, &g, &[4], &|d| quad_jvp(&x4, &like(&x4, d)));
    let (v, g) = matrix_grad(&w);
    jvp_identity("matrix", v, &g.concat(), &[6], &|d| matrix_jvp(&w, &m23(d)));
    let (v, g) = matrix_by_value_grad(w);
    jvp_identity("matrix_by_value", v, &g.concat(), &[6], &|d| {
        matrix_by_value_jvp(w, m23(d))
    });
    let wv = vec![0.3, -0.5, 0.2];
    let (v, g) = sum_vec_grad(&wv);
    jvp_identity("sum_vec", v, &g, &[3], &|d| sum_vec_jvp(&wv, &d.to_vec()));
    for (qa, qb) in [(a, b), (b, a), (0.2, 0.4)] {
        let (v, (ga, gb)) = q_grad(qa, qb);
        jvp_identity("q", v, &[ga, gb], &[1, 1], &|d| q_jvp(qa, qb, d[0], d[1]));
    }
    let (v, (gv, gw)) = cubic_form_grad(&x4, &x4);
    let grad = [gv, gw].concat();
    jvp_identity("cubic_form", v, &grad, &[4, 4], &|d| {
        cubic_form_jvp(&x4, &x4, &d[..4], &d[4..])
    });
    let net = Net { w: x3, bias: 0.1 };
    let (v, g) = net.layer_grad(&x3);
    jvp_identity("layer", v, &g, &[3], &|d| net.layer_jvp(&x3, &like(&x3, d)));
    let (v, (gx, gk)) = Net::<3>::scaled_grad(a, b);
    jvp_identity("scaled", v, &[gx, gk], &[1, 1], &|d| {
        Net::<3>::scaled_jvp(a, b, d[0], d[1])
    });
    let (v, g) = Counter { n: 2 }.step_grad(a);
    jvp_identity("step", v, &[g], &[1], &|d| {
        Counter { n: 2 }.step_jvp(a, d[0])
    });
    let (v, g) = with_mut_grad(a, 3);
    jvp_identity("with_mut", v, &[g], &[1], &|d| with_mut_jvp(a, 3, d[0]));
    let (v, g) = with_closure_grad(a, |t| t * 3.0);
    jvp_identity("with_closure", v, &[g], &[1], &|d| {
        with_closure_jvp(a, |t| t * 3.0, d[0])
    });
    let (v, g) = single_grad(0.7f32);
    let (vj, t) = single_jvp(0.7f32, 1.0);
    assert_eq!(vj.to_bits(), v.to_bits());
    assert_dot_identity_rel("single", &[g as f64], t as f64, &[1.0], JVP_REL_F32);
    let (v, g) = lifetimes_grad(&x3, &x3);
    jvp_identity("lifetimes", v, &g, &[3], &|d| lifetimes_jvp(&x3, &x3, d));
    let (v, g) = with_where_grad(a, 3u8);
    jvp_identity("with_where", v, &[g], &[1], &|d| {
        with_where_jvp(a, 3u8, d[0])
    });
    for n in 0..4 {
        let (v, g) = odd_grad(a, n);
        jvp_identity("odd", v, &[g], &[1], &|d| odd_jvp(a, n, d[0]));
    }
    let v32 = [0.3f32, -0.6, 0.9];
    let (v, (gv, gc)) = lin32_grad(&v32, 0.5);
    let grad: Vec<f64> = gv.iter().chain([&gc]).map(|&g| g as f64).collect();
    let dir = [0.5, -1.0, 0.25, 2.0];
    let (vj, t) = lin32_jvp(&v32, 0.5, &[0.5, -1.0, 0.25], 2.0);
    assert_eq!(vj.to_bits(), v.to_bits());
    assert_dot_identity_rel("lin32", &grad, t as f64, &dir, JVP_REL_F32);
    let m = Affine { k: 2.0 };
    let (v, (gx, gy)) = m.eval_grad(a, b);
    jvp_identity("eval", v, &[gx, gy], &[1, 1], &|d| {
        m.eval_jvp(a, b, d[0], d[1])
    });
    let (v, g) = m.log_grad(a);
    jvp_identity("log", v, &[g], &[1], &|d| m.log_jvp(a, d[0]));
    let (v, g) = m.hypot_grad(a);
    jvp_identity("hypot", v, &[g], &[1], &|d| m.hypot_jvp(a, d[0]));
    let (v, g) = m.powi_grad(a);
    jvp_identity("powi", v, &[g], &[1], &|d| m.powi_jvp(a, d[0]));
    let (v, (ga, gb)) = shadow::dot_grad(&x3, &x3);
    let grad = [ga, gb].concat();
    jvp_identity("own dot", v, &grad, &[3, 3], &|d| {
        shadow::dot_jvp(&x3, &x3, &d[..3], &d[3..])
    });
    let (v, g) = first_last_grad(x3);
    jvp_identity("first_last", v, &g, &[3], &|d| {
        first_last_jvp(x3, like(&x3, d))
    });
    let (v, g) = sq_plus_grad(&x3);
    jvp_identity("sq_plus", v, &g, &[3], &|d| sq_plus_jvp(&x3, d));
}
