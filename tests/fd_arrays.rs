//! Local arrays that carry derivatives, and nested arrays as differentiation
//! variables, in programs written the way users write them: softmax
//! regression, small MLPs, cumulative sums and products, polynomials built by
//! `push`, recurrences stored in a `Vec`, attention with `log_softmax`, HMMs,
//! arrays per iteration and per branch, `f32`, and `sg` / `sg_for!` on
//! stored values.
//!
//! Each program is checked three times (`check_plain`, `check_sites`):
//!
//! 1. the value of `<name>_grad` is bit for bit the value of `<name>`;
//! 2. the gradient against central differences of the oracle program of
//!    `SEMANTICS.md` (the body with every occurrence of a site that blocks
//!    the variable frozen at its value at the base point), per component and
//!    in seeded random directions, to the tolerances `F64` (relative 1e-6) and
//!    `F32` (relative and absolute 2e-4), plus the difference's rounding noise;
//! 3. the gradient against forward mode (`<name>_jvp`, `; forward`): the
//!    dot-product identity `<gradient, v> = jvp(v)` in seeded random
//!    directions within each group of variables blocked at the same sites and
//!    over all of them, to 1e-10 of `Σ |gᵢ vᵢ|` (1e-5 in `f32`), and the
//!    jvp's value bit for bit.
//!
//! Programs without sites are their own oracle; the others have a copy in
//! which each site is `st.cut(site, e)` (as in `fd_loops.rs`). Copies also
//! mark data-dependent branches with `st.mark(..)`, so that a perturbed point
//! that takes another branch fails loudly instead of giving a wrong
//! difference.

// The programs index in `for i in a..b` loops, copy and swap element by
// element, build arrays by `push` and use `vec![..]` where an array would
// do on purpose: those are the forms under test (`copy_from_slice` and
// `swap` are not differentiated). `&Vec` parameters are supported and tested
// on purpose.
#![allow(
    clippy::needless_range_loop,
    clippy::ptr_arg,
    clippy::manual_memcpy,
    clippy::manual_swap,
    clippy::assign_op_pattern,
    clippy::vec_init_then_push,
    clippy::type_complexity,
    clippy::useless_vec
)]

use sgrad::{differentiable, dot, log_softmax, log_sum_exp, sg, sg_for, sum};
use std::hint::black_box;

mod common;
use common::per_occurrence::{Body, Oracle, Sites};
use common::{assert_bits, assert_jvp_plain, assert_jvp_rel, Cut, Jvp, Rng, F32, F64, JVP_REL_F32};

// ---------------------------------------------------------------------------
// Helpers of this file's own (the shared ones are in `common`).

/// Draws of this file's own, on the shared generator.
trait Draws {
    /// In `0..n`, by scaling `unit()` (not `Rng::below`'s remainder: this
    /// file's points are drawn this way).
    fn index_below(&mut self, n: usize) -> usize;
    /// Numbers representable in `f32`, as `f64`.
    fn vec32(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64>;
}

impl Draws for Rng {
    fn index_below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n
    }
    fn vec32(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi) as f32 as f64).collect()
    }
}

/// A branch marker: a site that blocks nothing, reached only to record the
/// path (`Sites::mark`).
const MARK: Cut = Cut::For(&[]);

/// A program without sites against itself, at `f64` tolerance: the value of
/// `f_grad` bit for bit `f`'s, the frozen program's differences, the jvp
/// identity (`jvp` is `f_jvp` over the flat direction).
#[track_caller]
fn check_plain(
    name: &str,
    f: &dyn Fn(&[f64]) -> f64,
    shape: &[usize],
    x: &[f64],
    grad: (f64, &[f64]),
    jvp: Jvp,
    rng: &mut Rng,
) {
    let copy = |p: &[f64], _: &mut Sites| f(p);
    let oracle = Oracle {
        name,
        copy: &copy,
        sites: &[],
        shape,
    };
    oracle.check_all_with(x, f(black_box(x)), grad, jvp, rng, (F64, 0.0));
}

/// A program with sites against its copy, at `f64` tolerance: `f` (the
/// function's value) bit for bit the value of `f_grad`, the frozen programs'
/// differences, the jvp identity per group of variables blocked at the same
/// sites.
#[track_caller]
#[allow(clippy::too_many_arguments)]
fn check_sites(
    name: &str,
    copy: Body,
    sites: &[Cut],
    shape: &[usize],
    x: &[f64],
    f: f64,
    grad: (f64, &[f64]),
    jvp: Jvp,
    rng: &mut Rng,
) {
    let oracle = Oracle {
        name,
        copy,
        sites,
        shape,
    };
    oracle.check_all_with(x, f, grad, jvp, rng, (F64, 1e-12));
}

/// The jvp identity of an `f32` function (`jvp` returns its value and
/// tangent widened), at `f32` tolerance.
#[track_caller]
fn check_jvp32(oracle: &Oracle, value: f32, grad: &[f64], jvp: Jvp, rng: &mut Rng) {
    let groups = oracle.groups();
    assert_jvp_rel(
        oracle.name,
        value as f64,
        grad,
        &groups,
        jvp,
        rng,
        JVP_REL_F32,
    );
}

fn rows(p: &[f64], cols: usize) -> Vec<Vec<f64>> {
    p.chunks(cols).map(|r| r.to_vec()).collect()
}

fn mat<const R: usize, const C: usize>(p: &[f64]) -> [[f64; C]; R] {
    std::array::from_fn(|i| std::array::from_fn(|j| p[i * C + j]))
}

fn arr<const N: usize>(p: &[f64]) -> [f64; N] {
    p.try_into().unwrap()
}

fn to32(p: &[f64]) -> Vec<f32> {
    p.iter().map(|&a| a as f32).collect()
}

fn to64(p: &[f32]) -> Vec<f64> {
    p.iter().map(|&a| a as f64).collect()
}

// ===========================================================================
// Models.

// ---------------------------------------------------------------------------
// Softmax regression: a `vec![0.0; k]` of logits per sample, filled with
// `+=`, read by `log_sum_exp` and by index; `w: &[Vec<f64>]` read as
// `w[c][j]` and row by row in `for row in w.iter()`.

#[differentiable(w, b; forward)]
fn softmax_regression(w: &[Vec<f64>], b: &[f64], xs: &[Vec<f64>], ys: &[usize], l2: f64) -> f64 {
    let k = b.len();
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let mut logits = vec![0.0; k];
        for c in 0..k {
            logits[c] = b[c];
            for j in 0..xs[n].len() {
                logits[c] += w[c][j] * xs[n][j];
            }
        }
        loss += log_sum_exp(&logits) - logits[ys[n]];
    }
    let mut reg = 0.0;
    for row in w.iter() {
        for j in 0..row.len() {
            reg += row[j] * row[j];
        }
    }
    loss / xs.len() as f64 + l2 * reg
}

#[test]
fn softmax_regression_nested_slice_of_vecs() {
    let mut rng = Rng::new(1);
    for (k, d, n) in [(3usize, 2usize, 5usize), (2, 4, 1), (4, 3, 8)] {
        for _ in 0..6 {
            let w: Vec<Vec<f64>> = (0..k).map(|_| rng.vec(d, -1.5, 1.5)).collect();
            let b = rng.vec(k, -1.0, 1.0);
            let xs: Vec<Vec<f64>> = (0..n).map(|_| rng.vec(d, -2.0, 2.0)).collect();
            let ys: Vec<usize> = (0..n).map(|_| rng.index_below(k)).collect();
            let (v, (gw, gb)) = softmax_regression_grad(&w, &b, &xs, &ys, 0.01);
            assert_eq!(gw.len(), k);
            assert!(gw.iter().all(|r| r.len() == d));
            let f =
                |p: &[f64]| softmax_regression(&rows(&p[..k * d], d), &p[k * d..], &xs, &ys, 0.01);
            let x = [w.concat(), b.clone()].concat();
            let g = [gw.concat(), gb].concat();
            check_plain(
                "softmax_regression",
                &f,
                &[k * d, k],
                &x,
                (v, &g),
                &|dir: &[f64]| {
                    softmax_regression_jvp(
                        &w,
                        &b,
                        &xs,
                        &ys,
                        0.01,
                        &rows(&dir[..k * d], d),
                        &dir[k * d..],
                    )
                },
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// A regression MLP: the hidden layer is a `Vec::with_capacity` filled by
// `push`, each row of `w1: &Vec<Vec<f64>>` taken as `let row = &w1[i]`, the
// output a `dot` with a parameter.

#[differentiable(w1, b1, w2; forward)]
fn mlp_regression(w1: &Vec<Vec<f64>>, b1: &[f64], w2: &[f64], xs: &[Vec<f64>], ys: &[f64]) -> f64 {
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let mut hidden = Vec::with_capacity(b1.len());
        for i in 0..b1.len() {
            let row = &w1[i];
            let mut z = b1[i];
            for j in 0..xs[n].len() {
                z += row[j] * xs[n][j];
            }
            hidden.push(z.tanh());
        }
        let out = dot(&hidden, w2);
        loss += (out - ys[n]).powi(2);
    }
    0.5 * loss
}

#[test]
fn mlp_with_pushed_hidden_layer() {
    let mut rng = Rng::new(2);
    for (h, d, n) in [(4usize, 3usize, 3usize), (1, 1, 1), (6, 2, 5)] {
        for _ in 0..6 {
            let w1: Vec<Vec<f64>> = (0..h).map(|_| rng.vec(d, -1.0, 1.0)).collect();
            let b1 = rng.vec(h, -0.5, 0.5);
            let w2 = rng.vec(h, -1.0, 1.0);
            let xs: Vec<Vec<f64>> = (0..n).map(|_| rng.vec(d, -2.0, 2.0)).collect();
            let ys = rng.vec(n, -1.0, 1.0);
            let (v, (g1, gb, g2)) = mlp_regression_grad(&w1, &b1, &w2, &xs, &ys);
            let f = |p: &[f64]| {
                let (a, rest) = p.split_at(h * d);
                let (b, c) = rest.split_at(h);
                mlp_regression(&rows(a, d), b, c, &xs, &ys)
            };
            let x = [w1.concat(), b1.clone(), w2.clone()].concat();
            let g = [g1.concat(), gb, g2].concat();
            check_plain(
                "mlp_regression",
                &f,
                &[h * d, h, h],
                &x,
                (v, &g),
                &|dir: &[f64]| {
                    let (a, rest) = dir.split_at(h * d);
                    let (tb, tc) = rest.split_at(h);
                    mlp_regression_jvp(&w1, &b1, &w2, &xs, &ys, &rows(a, d), tb, tc)
                },
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// A classifier MLP on fixed-size nested arrays: `[0.0; 4]` hidden layer with
// softplus, `[0.0; 3]` logits, `log_softmax` and a label.

#[differentiable(w1, w2; forward)]
fn mlp_classifier(w1: [[f64; 3]; 4], w2: [[f64; 4]; 3], x: [f64; 3], label: usize) -> f64 {
    let mut hidden = [0.0; 4];
    for i in 0..4 {
        for j in 0..3 {
            hidden[i] += w1[i][j] * x[j];
        }
        hidden[i] = hidden[i].exp().ln_1p();
    }
    let mut logits = [0.0; 3];
    for c in 0..3 {
        for i in 0..4 {
            logits[c] += w2[c][i] * hidden[i];
        }
    }
    let logp = log_softmax(&logits);
    -logp[label]
}

#[test]
fn mlp_classifier_nested_arrays_by_value() {
    let mut rng = Rng::new(3);
    for _ in 0..15 {
        let w1: [[f64; 3]; 4] = mat(&rng.vec(12, -1.0, 1.0));
        let w2: [[f64; 4]; 3] = mat(&rng.vec(12, -1.0, 1.0));
        let x: [f64; 3] = rng.array(-2.0, 2.0);
        let label = rng.index_below(3);
        let (v, (g1, g2)): (f64, ([[f64; 3]; 4], [[f64; 4]; 3])) =
            mlp_classifier_grad(w1, w2, x, label);
        let f = |p: &[f64]| mlp_classifier(mat(&p[..12]), mat(&p[12..]), x, label);
        let flat = [w1.concat(), w2.concat()].concat();
        let g = [g1.concat(), g2.concat()].concat();
        check_plain(
            "mlp_classifier",
            &f,
            &[12, 12],
            &flat,
            (v, &g),
            &|dir: &[f64]| mlp_classifier_jvp(w1, w2, x, label, mat(&dir[..12]), mat(&dir[12..])),
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// Cumulative sums: each element written from the previous one, then read
// back with `for &v in c.iter()` and `for v in c.iter()`.

#[differentiable(x; forward)]
fn cumsum_energy(x: &[f64]) -> f64 {
    let n = x.len();
    let mut c = vec![0.0; n];
    c[0] = x[0];
    for i in 1..n {
        c[i] = c[i - 1] + x[i];
    }
    let mut e = 0.0;
    for &v in c.iter() {
        e += v.sin() * v;
    }
    let mut m = 0.0;
    for v in c.iter() {
        m += v * 0.5;
    }
    e + m * m
}

// Prefix products in `[1.0; 5]`, summed with `p.iter().sum()`.
#[differentiable(x; forward)]
fn prefix_products(x: [f64; 5]) -> f64 {
    let mut p = [1.0; 5];
    p[0] = x[0];
    for i in 1..5 {
        p[i] = p[i - 1] * x[i];
    }
    let mut s = 0.0;
    for i in 0..5 {
        s += p[i] / (i as f64 + 1.0);
    }
    let t: f64 = p.iter().sum();
    s + t * t
}

#[test]
fn cumulative_sums_and_prefix_products() {
    let mut rng = Rng::new(4);
    for n in [1usize, 2, 7, 30] {
        for _ in 0..6 {
            let x = rng.vec(n, -1.5, 1.5);
            let (v, g) = cumsum_energy_grad(&x);
            check_plain(
                "cumsum_energy",
                &|p| cumsum_energy(p),
                &[n],
                &x,
                (v, &g),
                &|dir: &[f64]| cumsum_energy_jvp(&x, dir),
                &mut rng,
            );
        }
    }
    for _ in 0..15 {
        let x: [f64; 5] = rng.array(-1.5, 1.5);
        let (v, g) = prefix_products_grad(x);
        check_plain(
            "prefix_products",
            &|p| prefix_products(arr(p)),
            &[5],
            &x,
            (v, &g),
            &|dir: &[f64]| prefix_products_jvp(x, arr(dir)),
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// The coefficients of ∏ (t − rᵢ), built by `push` and updated in place from
// the back (each step reads the element it is about to overwrite and its
// neighbour), then evaluated by Horner's rule at data points.

#[differentiable(r; forward)]
fn poly_from_roots(r: &[f64], ts: &[f64]) -> f64 {
    let mut c = Vec::new();
    c.push(1.0);
    for i in 0..r.len() {
        c.push(0.0);
        for k in (1..c.len()).rev() {
            c[k] -= r[i] * c[k - 1];
        }
    }
    let mut loss = 0.0;
    for j in 0..ts.len() {
        let mut p = 0.0;
        for k in 0..c.len() {
            p = p * ts[j] + c[k];
        }
        loss += p * p;
    }
    loss + sum(&c)
}

// Coefficients pushed from expressions of the parameters, with a `vec![..]`
// of data weights; Horner's rule over `c.len()`.
#[differentiable(theta; forward)]
fn poly_fit(theta: [f64; 3], ts: &[f64], ys: &[f64]) -> f64 {
    let mut c = Vec::with_capacity(4);
    c.push(theta[0]);
    c.push(theta[1] * theta[0]);
    c.push(theta[2].exp());
    c.push(theta[1] - theta[2]);
    let wts = vec![1.0, 0.5];
    let mut loss = 0.0;
    for j in 0..ts.len() {
        let mut p = 0.0;
        for k in 0..c.len() {
            p = p * ts[j] + c[k];
        }
        loss += wts[j % 2] * (p - ys[j]).powi(2);
    }
    loss + 0.1 * dot(&c, &c)
}

#[test]
fn polynomials_built_by_push() {
    let mut rng = Rng::new(5);
    for nr in [0usize, 1, 3, 5] {
        for _ in 0..6 {
            let r = rng.vec(nr, -1.2, 1.2);
            let ts = rng.vec(4, -1.5, 1.5);
            let (v, g) = poly_from_roots_grad(&r, &ts);
            let f = |p: &[f64]| poly_from_roots(p, &ts);
            check_plain(
                "poly_from_roots",
                &f,
                &[nr],
                &r,
                (v, &g),
                &|dir: &[f64]| poly_from_roots_jvp(&r, &ts, dir),
                &mut rng,
            );
        }
    }
    for _ in 0..15 {
        let theta: [f64; 3] = rng.array(-1.0, 1.0);
        let ts = rng.vec(5, -1.5, 1.5);
        let ys = rng.vec(5, -1.0, 1.0);
        let (v, g) = poly_fit_grad(theta, &ts, &ys);
        let f = |p: &[f64]| poly_fit(arr(p), &ts, &ys);
        check_plain(
            "poly_fit",
            &f,
            &[3],
            &theta,
            (v, &g),
            &|dir: &[f64]| poly_fit_jvp(theta, &ts, &ys, arr(dir)),
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// A moving average: `+=` in an inner loop, then `/=`, then a smoothness
// penalty on neighbours and `sum(&ma)`.

#[differentiable(x; forward)]
fn moving_average(x: &Vec<f64>, k: usize) -> f64 {
    let m = x.len() + 1 - k;
    let mut ma = vec![0.0; m];
    for i in 0..m {
        for j in 0..k {
            ma[i] += x[i + j];
        }
        ma[i] /= k as f64;
    }
    let mut s = 0.0;
    for i in 1..m {
        s += (ma[i] - ma[i - 1]).powi(2);
    }
    s + sum(&ma).sin()
}

#[test]
fn moving_average_compound_updates() {
    let mut rng = Rng::new(6);
    for (n, k) in [(6usize, 3usize), (5, 1), (4, 4), (20, 5)] {
        for _ in 0..6 {
            let x = rng.vec(n, -2.0, 2.0);
            let (v, g) = moving_average_grad(&x, k);
            let f = |p: &[f64]| moving_average(&p.to_vec(), k);
            check_plain(
                "moving_average",
                &f,
                &[n],
                &x,
                (v, &g),
                &|dir: &[f64]| moving_average_jvp(&x, k, &dir.to_vec()),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Recurrences stored in a `Vec`.

/// An RNN whose states live only in the array: `h[t + 1]` from `h[t]`.
#[differentiable(w, u; forward)]
fn rnn_indexed(w: f64, u: f64, xs: &[f64]) -> f64 {
    let mut h = vec![0.0; xs.len() + 1];
    for t in 0..xs.len() {
        h[t + 1] = (w * h[t] + u * xs[t]).tanh();
    }
    let mut loss = 0.0;
    for t in 1..h.len() {
        loss += (h[t] - 0.5 * xs[t - 1]).powi(2);
    }
    loss
}

/// The same RNN written with a running state `h` that is pushed each step;
/// the loss reads only the `Vec`, so `h` leaves the loop only through the
/// stores (its derivative was lost before dad5dd1).
#[differentiable(w, u; forward)]
fn rnn_pushed(w: f64, u: f64, xs: &[f64]) -> f64 {
    let mut hs = Vec::with_capacity(xs.len());
    let mut h = 0.0;
    for t in 0..xs.len() {
        h = (w * h + u * xs[t]).tanh();
        hs.push(h);
    }
    let mut loss = 0.0;
    for t in 0..hs.len() {
        loss += (hs[t] - 0.5 * xs[t]).powi(2);
    }
    loss
}

/// Exponential smoothing from `vec![x0; n]`, with a learned rate.
#[differentiable(rate, x0; forward)]
fn exp_smoothing(rate: f64, x0: f64, ys: &[f64]) -> f64 {
    let alpha = 1.0 / (1.0 + (-rate).exp());
    let n = ys.len();
    let mut s = vec![x0; n + 1];
    for i in 0..n {
        s[i + 1] = alpha * ys[i] + (1.0 - alpha) * s[i];
    }
    let mut err = 0.0;
    for i in 0..n {
        err += (s[i] - ys[i]).powi(2);
    }
    err
}

#[test]
fn recurrence_stored_in_a_vec() {
    let mut rng = Rng::new(7);
    for n in [1usize, 2, 10] {
        for _ in 0..8 {
            let xs = rng.vec(n, -2.0, 2.0);
            let wu: [f64; 2] = rng.array(-1.2, 1.2);
            let (v, (gw, gu)) = rnn_indexed_grad(wu[0], wu[1], &xs);
            let f = |p: &[f64]| rnn_indexed(p[0], p[1], &xs);
            check_plain(
                "rnn_indexed",
                &f,
                &[1, 1],
                &wu,
                (v, &[gw, gu]),
                &|dir: &[f64]| rnn_indexed_jvp(wu[0], wu[1], &xs, dir[0], dir[1]),
                &mut rng,
            );
            let (v, (gr, gx)) = exp_smoothing_grad(wu[0], wu[1], &xs);
            let f = |p: &[f64]| exp_smoothing(p[0], p[1], &xs);
            check_plain(
                "exp_smoothing",
                &f,
                &[1, 1],
                &wu,
                (v, &[gr, gx]),
                &|dir: &[f64]| exp_smoothing_jvp(wu[0], wu[1], &xs, dir[0], dir[1]),
                &mut rng,
            );
        }
    }
}

#[test]
fn recurrence_pushed_from_a_running_state() {
    let mut rng = Rng::new(8);
    for n in [1usize, 2, 10] {
        for _ in 0..8 {
            let xs = rng.vec(n, -2.0, 2.0);
            let wu: [f64; 2] = rng.array(-1.2, 1.2);
            let (v, (gw, gu)) = rnn_pushed_grad(wu[0], wu[1], &xs);
            let f = |p: &[f64]| rnn_pushed(p[0], p[1], &xs);
            check_plain(
                "rnn_pushed",
                &f,
                &[1, 1],
                &wu,
                (v, &[gw, gu]),
                &|dir: &[f64]| rnn_pushed_jvp(wu[0], wu[1], &xs, dir[0], dir[1]),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Matrix-vector products with a nested parameter: rows as `let row = &m[i]`,
// `m[i].len()`, `log_sum_exp(&m[i])`, `for row in m.iter()`.

#[differentiable(m, v; forward)]
fn matvec(m: [[f64; 3]; 2], v: [f64; 3]) -> f64 {
    let mut y = [0.0; 2];
    for i in 0..2 {
        let row = &m[i];
        for j in 0..m[i].len() {
            y[i] += row[j] * v[j];
        }
    }
    let mut colsum = [0.0; 3];
    for row in m.iter() {
        for j in 0..3 {
            colsum[j] += row[j].sin();
        }
    }
    y[0].sin() * y[1] + log_sum_exp(&y) + log_sum_exp(&m[1]) * dot(&colsum, &v)
}

/// `Vec<Vec<f64>>` by value: a quadratic form xᵀ A x with A = M Mᵀ.
#[differentiable(m; forward)]
fn gram_quadratic(m: Vec<Vec<f64>>, x: &[f64]) -> f64 {
    let n = m.len();
    let mut mx = vec![0.0; m[0].len()];
    for i in 0..n {
        for j in 0..m[i].len() {
            mx[j] += m[i][j] * x[i];
        }
    }
    let mut q = 0.0;
    for j in 0..mx.len() {
        q += mx[j] * mx[j];
    }
    let mut lse_rows = 0.0;
    for i in 0..n {
        lse_rows += log_sum_exp(&m[i]);
    }
    q + lse_rows
}

#[test]
fn matrix_vector_products_with_nested_parameters() {
    let mut rng = Rng::new(9);
    for _ in 0..15 {
        let m: [[f64; 3]; 2] = mat(&rng.vec(6, -1.5, 1.5));
        let v: [f64; 3] = rng.array(-1.5, 1.5);
        let (val, (gm, gv)) = matvec_grad(m, v);
        let f = |p: &[f64]| matvec(mat(&p[..6]), arr(&p[6..]));
        let x = [&m.concat()[..], &v].concat();
        let g = [&gm.concat()[..], &gv].concat();
        check_plain(
            "matvec",
            &f,
            &[6, 3],
            &x,
            (val, &g),
            &|dir: &[f64]| matvec_jvp(m, v, mat(&dir[..6]), arr(&dir[6..])),
            &mut rng,
        );
    }
    for (r, c) in [(3usize, 2usize), (1, 1), (4, 5)] {
        for _ in 0..6 {
            let m: Vec<Vec<f64>> = (0..r).map(|_| rng.vec(c, -1.5, 1.5)).collect();
            let x = rng.vec(r, -1.0, 1.0);
            let (val, gm) = gram_quadratic_grad(m.clone(), &x);
            let f = |p: &[f64]| gram_quadratic(rows(p, c), &x);
            check_plain(
                "gram_quadratic",
                &f,
                &[r * c],
                &m.concat(),
                (val, &gm.concat()),
                &|dir: &[f64]| gram_quadratic_jvp(m.clone(), &x, rows(dir, c)),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Attention: scores pushed per key (`for key in keys.iter()`), weights from
// `log_softmax`, a weighted sum of values.

#[differentiable(q, keys, values; forward)]
fn attention(q: &[f64], keys: &[Vec<f64>], values: &[f64]) -> f64 {
    let scale = 1.0 / (q.len() as f64).sqrt();
    let mut scores = Vec::with_capacity(keys.len());
    for key in keys.iter() {
        let mut s = 0.0;
        for j in 0..q.len() {
            s += q[j] * key[j];
        }
        scores.push(s * scale);
    }
    let logw = log_softmax(&scores);
    let mut out = 0.0;
    for j in 0..logw.len() {
        out += logw[j].exp() * values[j];
    }
    let entropy = -dot(&logw, &logw);
    out * out + 0.1 * entropy
}

#[test]
fn attention_with_log_softmax() {
    let mut rng = Rng::new(10);
    for (d, t) in [(2usize, 3usize), (4, 1), (3, 6)] {
        for _ in 0..6 {
            let q = rng.vec(d, -1.5, 1.5);
            let keys: Vec<Vec<f64>> = (0..t).map(|_| rng.vec(d, -1.5, 1.5)).collect();
            let values = rng.vec(t, -2.0, 2.0);
            let (v, (gq, gk, gv)) = attention_grad(&q, &keys, &values);
            let f = |p: &[f64]| attention(&p[..d], &rows(&p[d..d + t * d], d), &p[d + t * d..]);
            let x = [q.clone(), keys.concat(), values.clone()].concat();
            let g = [gq, gk.concat(), gv].concat();
            check_plain(
                "attention",
                &f,
                &[d, t * d, t],
                &x,
                (v, &g),
                &|dir: &[f64]| {
                    attention_jvp(
                        &q,
                        &keys,
                        &values,
                        &dir[..d],
                        &rows(&dir[d..d + t * d], d),
                        &dir[d + t * d..],
                    )
                },
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Element updates: one element overwritten many times (with `=`, `+=`,
// `*=`, `-=`, `/=`, a constant in between), and read-after-write and
// write-after-read on neighbours within one loop iteration.

#[differentiable(x, y; forward)]
fn overwrite_many(x: [f64; 3], y: f64) -> f64 {
    let mut a = [x[0], x[1] * y, x[2]];
    a[0] = a[0] * a[1];
    a[0] = a[0].sin() + y;
    a[1] = 2.0;
    a[2] += a[0];
    a[2] *= a[2];
    a[1] -= a[2] * x[0];
    a[0] /= 1.0 + a[1] * a[1];
    a[1] = a[1] * a[0] + a[2];
    a[0] + a[1] + a[2]
}

#[differentiable(x; forward)]
fn read_write_neighbours(x: &[f64]) -> f64 {
    let n = x.len();
    let mut a = vec![0.0; n];
    for i in 0..n {
        a[i] = x[i];
    }
    for i in 1..n {
        let old = a[i];
        a[i] = a[i - 1] * old + x[i];
        let t = a[i];
        a[i - 1] = t.cos() - old;
        a[i] += a[i - 1] * 0.5;
    }
    for _sweep in 0..2 {
        for i in 0..n {
            a[i] = 0.5 * a[i] + 0.25 * a[(i + 1) % n] * a[i];
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += a[i] * (i as f64 + 1.0);
    }
    s
}

#[test]
fn elements_overwritten_and_read_back() {
    let mut rng = Rng::new(11);
    for _ in 0..20 {
        let x: [f64; 3] = rng.array(-1.5, 1.5);
        let y = rng.uniform(-1.5, 1.5);
        let (v, (gx, gy)) = overwrite_many_grad(x, y);
        let f = |p: &[f64]| overwrite_many(arr(&p[..3]), p[3]);
        let flat = [&x[..], &[y]].concat();
        check_plain(
            "overwrite_many",
            &f,
            &[3, 1],
            &flat,
            (v, &[&gx[..], &[gy]].concat()),
            &|dir: &[f64]| overwrite_many_jvp(x, y, arr(&dir[..3]), dir[3]),
            &mut rng,
        );
    }
    for n in [1usize, 2, 5, 12] {
        for _ in 0..6 {
            let x = rng.vec(n, -1.2, 1.2);
            let (v, g) = read_write_neighbours_grad(&x);
            check_plain(
                "read_write_neighbours",
                &|p| read_write_neighbours(p),
                &[n],
                &x,
                (v, &g),
                &|dir: &[f64]| read_write_neighbours_jvp(&x, dir),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Arrays created anew in each iteration (`[a, b, c]` and `vec![..; k]`),
// consumed in that iteration.

#[differentiable(x, w; forward)]
fn per_iteration_arrays(x: &[f64], w: [f64; 3]) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        let feats = [x[i], x[i] * x[i], x[i].sin()];
        let mut acc = 0.0;
        for j in 0..3 {
            acc += feats[j] * w[j];
        }
        let scores = vec![acc, -acc, total * 0.1];
        total += log_sum_exp(&scores) - scores[i % 3];
        let mut tmp = vec![0.0; 2];
        tmp[i % 2] = acc * w[0];
        tmp[1 - i % 2] = total;
        total = tmp[0] * 0.5 + tmp[1];
    }
    total
}

#[test]
fn arrays_per_loop_iteration() {
    let mut rng = Rng::new(12);
    for n in [0usize, 1, 4, 9] {
        for _ in 0..6 {
            let x = rng.vec(n, -1.5, 1.5);
            let w: [f64; 3] = rng.array(-1.0, 1.0);
            let (v, (gx, gw)) = per_iteration_arrays_grad(&x, w);
            let f = |p: &[f64]| per_iteration_arrays(&p[..n], arr(&p[n..]));
            let flat = [&x[..], &w].concat();
            check_plain(
                "per_iteration_arrays",
                &f,
                &[n, 3],
                &flat,
                (v, &[gx, gw.to_vec()].concat()),
                &|dir: &[f64]| per_iteration_arrays_jvp(&x, w, &dir[..n], arr(&dir[n..])),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Arrays built in branches: stores and a `push` in some branches only, a
// branch on a constant and one on a differentiated value.

#[differentiable(x; forward)]
fn branch_built(x: &[f64], mode: usize) -> f64 {
    let mut a = vec![0.0; 3];
    if mode == 0 {
        a[0] = x[0] * x[1];
        a[2] = x[2];
    } else if mode == 1 {
        a[1] = x[1].exp();
        a.push(x[0]);
    } else {
        for i in 0..3 {
            a[i] = x[i] - x[(i + 1) % 3];
        }
    }
    if x[0] > x[1] {
        a[1] += a[0] * x[2];
    } else {
        a[0] = a[2].cos();
        a.push(a[1]);
    }
    let mut s = 0.0;
    for v in a.iter() {
        s += v * v;
    }
    s + a[a.len() - 1]
}

/// A copy with markers on the branch on `x`.
fn branch_built_copy(x: &[f64], mode: usize, st: &mut Sites) -> f64 {
    let mut a = vec![0.0; 3];
    if mode == 0 {
        a[0] = x[0] * x[1];
        a[2] = x[2];
    } else if mode == 1 {
        a[1] = x[1].exp();
        a.push(x[0]);
    } else {
        for i in 0..3 {
            a[i] = x[i] - x[(i + 1) % 3];
        }
    }
    if x[0] > x[1] {
        st.mark(0);
        a[1] += a[0] * x[2];
    } else {
        st.mark(1);
        a[0] = a[2].cos();
        a.push(a[1]);
    }
    let s: f64 = a.iter().map(|v| v * v).sum();
    s + a[a.len() - 1]
}

#[test]
fn arrays_built_in_branches() {
    let mut rng = Rng::new(13);
    for mode in 0..3 {
        for _ in 0..10 {
            let x = rng.vec(3, -1.5, 1.5);
            if (x[0] - x[1]).abs() < 1e-3 {
                continue;
            }
            let (v, g) = branch_built_grad(&x, mode);
            let copy = |p: &[f64], st: &mut Sites| branch_built_copy(p, mode, st);
            check_sites(
                "branch_built",
                &copy,
                &[MARK, MARK],
                &[3],
                &x,
                branch_built(black_box(&x), mode),
                (v, &g),
                &|dir: &[f64]| branch_built_jvp(&x, mode, dir),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// `f32`: softmax cross-entropy with a nested `[[f32; 2]; 3]` weight and a
// `[0.0f32; 3]` of logits; running statistics pushed into a `Vec<f32>`.

#[differentiable(w; forward)]
fn softmax_ce32(w: [[f32; 2]; 3], x: [f32; 2], label: usize) -> f32 {
    let mut logits = [0.0f32; 3];
    for c in 0..3 {
        logits[c] = w[c][0] * x[0] + w[c][1] * x[1];
    }
    log_sum_exp(&logits) - logits[label]
}

fn softmax_ce32_copy(w: &[f64], x: [f32; 2], label: usize) -> f64 {
    let mut logits = [0.0; 3];
    for c in 0..3 {
        logits[c] = w[2 * c] * x[0] as f64 + w[2 * c + 1] * x[1] as f64;
    }
    log_sum_exp(&logits) - logits[label]
}

#[differentiable(x; forward)]
fn running_stats32(x: &[f32]) -> f32 {
    let mut means = Vec::with_capacity(x.len());
    let mut sq = vec![0.0; x.len()];
    let mut total = 0.0f32;
    for i in 0..x.len() {
        total += x[i];
        means.push(total / (i + 1) as f32);
        sq[i] = (x[i] - means[i]) * (x[i] - means[i]);
    }
    let s: f32 = sq.iter().sum();
    s + dot(&means, &means) + log_sum_exp(&sq)
}

fn running_stats32_copy(x: &[f64]) -> f64 {
    let mut means = Vec::with_capacity(x.len());
    let mut sq = vec![0.0; x.len()];
    let mut total = 0.0;
    for i in 0..x.len() {
        total += x[i];
        means.push(total / (i + 1) as f64);
        sq[i] = (x[i] - means[i]) * (x[i] - means[i]);
    }
    let s: f64 = sq.iter().sum();
    s + dot(&means, &means) + log_sum_exp(&sq)
}

/// Features pushed two per input, products of neighbours in a `vec!`.
#[differentiable(x; forward)]
fn features32(x: &[f32]) -> f32 {
    let mut feats = Vec::with_capacity(2 * x.len());
    for i in 0..x.len() {
        feats.push(x[i] * x[i]);
        feats.push((x[i] * 0.5).sin());
    }
    let mut prod = vec![0.0; feats.len()];
    for i in 0..feats.len() {
        prod[i] = feats[i] * feats[(i + 1) % feats.len()];
    }
    let s: f32 = prod.iter().sum();
    s + dot(&feats, &feats) + log_sum_exp(&prod)
}

fn features32_copy(x: &[f64]) -> f64 {
    let mut feats = Vec::new();
    for &v in x {
        feats.push(v * v);
        feats.push((v * 0.5).sin());
    }
    let n = feats.len();
    let prod: Vec<f64> = (0..n).map(|i| feats[i] * feats[(i + 1) % n]).collect();
    prod.iter().sum::<f64>() + dot(&feats, &feats) + log_sum_exp(&prod)
}

#[test]
fn f32_local_arrays() {
    let mut rng = Rng::new(14);
    for _ in 0..15 {
        let w64 = rng.vec32(6, -1.5, 1.5);
        let w: [[f32; 2]; 3] = mat::<3, 2>(&w64).map(|r| r.map(|a| a as f32));
        let x: [f32; 2] = [rng.uniform(-2.0, 2.0) as f32, rng.uniform(-2.0, 2.0) as f32];
        let label = rng.index_below(3);
        let (v, g) = softmax_ce32_grad(w, x, label);
        assert_bits("softmax_ce32", softmax_ce32(black_box(w), x, label), v);
        let copy = |p: &[f64], _: &mut Sites| softmax_ce32_copy(p, x, label);
        let oracle = Oracle {
            name: "softmax_ce32",
            copy: &copy,
            sites: &[],
            shape: &[6],
        };
        let g64 = to64(&g.concat());
        oracle.check_with(&w64, v as f64, &g64, &mut rng, F32, 1e-5);
        let jvp = |dir: &[f64]| {
            let t: [[f32; 2]; 3] = mat::<3, 2>(dir).map(|r| r.map(|a| a as f32));
            let (v, t) = softmax_ce32_jvp(w, x, label, t);
            (v as f64, t as f64)
        };
        check_jvp32(&oracle, v, &g64, &jvp, &mut rng);
    }
    for n in [1usize, 3, 8] {
        for _ in 0..6 {
            let x64 = rng.vec32(n, -1.5, 1.5);
            let x = to32(&x64);
            let (v, g) = features32_grad(&x);
            assert_bits("features32", features32(black_box(&x)), v);
            let copy = |p: &[f64], _: &mut Sites| features32_copy(p);
            let oracle = Oracle {
                name: "features32",
                copy: &copy,
                sites: &[],
                shape: &[n],
            };
            oracle.check_with(&x64, v as f64, &to64(&g), &mut rng, F32, 1e-5);
            let jvp = |dir: &[f64]| {
                let (v, t) = features32_jvp(&x, &to32(dir));
                (v as f64, t as f64)
            };
            check_jvp32(&oracle, v, &to64(&g), &jvp, &mut rng);
        }
    }
}

#[test]
fn f32_running_statistics() {
    let mut rng = Rng::new(28);
    for n in [1usize, 3, 8] {
        for _ in 0..6 {
            let x64 = rng.vec32(n, -1.5, 1.5);
            let x = to32(&x64);
            let (v, g) = running_stats32_grad(&x);
            assert_bits("running_stats32", running_stats32(black_box(&x)), v);
            let copy = |p: &[f64], _: &mut Sites| running_stats32_copy(p);
            let oracle = Oracle {
                name: "running_stats32",
                copy: &copy,
                sites: &[],
                shape: &[n],
            };
            oracle.check_with(&x64, v as f64, &to64(&g), &mut rng, F32, 1e-5);
            let jvp = |dir: &[f64]| {
                let (v, t) = running_stats32_jvp(&x, &to32(dir));
                (v as f64, t as f64)
            };
            check_jvp32(&oracle, v, &to64(&g), &jvp, &mut rng);
        }
    }
}

// ---------------------------------------------------------------------------
// `f32` data in an `f64` local array, and an `f32` recurrence in `[f32; N]`.

#[differentiable(x)]
fn widened_sum(x: &[f32]) -> f64 {
    let mut a = vec![0.0f64; x.len()];
    for i in 0..x.len() {
        a[i] = (x[i] as f64).powi(2) * (i as f64 + 1.0);
    }
    log_sum_exp(&a)
}

#[differentiable(x; forward)]
fn recurrence32(x: [f32; 4]) -> f32 {
    let mut h = [0.0f32; 5];
    for t in 0..4 {
        h[t + 1] = (h[t] * 0.8 + x[t]).sin();
    }
    h[4] + h[2] * h[3]
}

fn recurrence32_copy(x: &[f64]) -> f64 {
    let mut h = [0.0; 5];
    for t in 0..4 {
        h[t + 1] = (h[t] * 0.8 + x[t]).sin();
    }
    h[4] + h[2] * h[3]
}

#[test]
fn f32_data_in_f64_arrays_and_f32_recurrence() {
    let mut rng = Rng::new(15);
    for n in [1usize, 4] {
        for _ in 0..8 {
            let x64 = rng.vec32(n, -1.5, 1.5);
            let x = to32(&x64);
            let (v, g): (f64, Vec<f32>) = widened_sum_grad(&x);
            assert_bits("widened_sum", widened_sum(black_box(&x)), v);
            // The same in f64 on the same inputs; the gradient is rounded to
            // f32 once.
            let copy = |p: &[f64], _: &mut Sites| {
                let a: Vec<f64> = (0..n).map(|i| p[i].powi(2) * (i as f64 + 1.0)).collect();
                log_sum_exp(&a)
            };
            let oracle = Oracle {
                name: "widened_sum",
                copy: &copy,
                sites: &[],
                shape: &[n],
            };
            oracle.check_with(&x64, v, &to64(&g), &mut rng, F32, 1e-15);
        }
    }
    for _ in 0..15 {
        let x64 = rng.vec32(4, -1.5, 1.5);
        let x: [f32; 4] = to32(&x64).try_into().unwrap();
        let (v, g) = recurrence32_grad(x);
        assert_bits("recurrence32", recurrence32(black_box(x)), v);
        let copy = |p: &[f64], _: &mut Sites| recurrence32_copy(p);
        let oracle = Oracle {
            name: "recurrence32",
            copy: &copy,
            sites: &[],
            shape: &[4],
        };
        oracle.check_with(&x64, v as f64, &to64(&g), &mut rng, F32, 1e-5);
        let jvp = |dir: &[f64]| {
            let (v, t) = recurrence32_jvp(x, to32(dir).try_into().unwrap());
            (v as f64, t as f64)
        };
        check_jvp32(&oracle, v, &to64(&g), &jvp, &mut rng);
    }
}

// ===========================================================================
// `sg` and `sg_for!` on values stored into arrays and read from them.

// ---------------------------------------------------------------------------
// TD(0): the bootstrapped target is constant for the value weights `theta`
// (semi-gradient) and live for the discount's logit `g`.

#[differentiable(theta, g; forward)]
fn td_loss(theta: [f64; 2], g: f64, states: &[f64], rewards: &[f64]) -> f64 {
    let n = states.len();
    let gamma = 1.0 / (1.0 + (-g).exp());
    let mut v = vec![0.0; n];
    for i in 0..n {
        v[i] = theta[0] + theta[1] * states[i];
    }
    let mut target = Vec::with_capacity(n - 1);
    for i in 0..n - 1 {
        target.push(rewards[i] + sg_for!(theta, gamma * v[i + 1]));
    }
    let mut loss = 0.0;
    for i in 0..n - 1 {
        let d = v[i] - target[i];
        loss += d * d;
    }
    loss / (n - 1) as f64
}

fn td_loss_copy(p: &[f64], states: &[f64], rewards: &[f64], st: &mut Sites) -> f64 {
    let (theta, g) = (&p[..2], p[2]);
    let n = states.len();
    let gamma = 1.0 / (1.0 + (-g).exp());
    let v: Vec<f64> = states.iter().map(|s| theta[0] + theta[1] * s).collect();
    let mut loss = 0.0;
    for i in 0..n - 1 {
        let d = v[i] - (rewards[i] + st.cut(0, gamma * v[i + 1]));
        loss += d * d;
    }
    loss / (n - 1) as f64
}

#[test]
fn td_target_stopped_for_one_variable() {
    let mut rng = Rng::new(16);
    for n in [2usize, 3, 10] {
        for _ in 0..6 {
            let theta: [f64; 2] = rng.array(-1.0, 1.0);
            let g = rng.uniform(-2.0, 2.0);
            let states = rng.vec(n, -2.0, 2.0);
            let rewards = rng.vec(n, -1.0, 1.0);
            let (v, (gt, gg)) = td_loss_grad(theta, g, &states, &rewards);
            let copy = |p: &[f64], st: &mut Sites| td_loss_copy(p, &states, &rewards, st);
            let x = [&theta[..], &[g]].concat();
            let grad = [&gt[..], &[gg]].concat();
            check_sites(
                "td_loss",
                &copy,
                &[Cut::For(&[0])],
                &[2, 1],
                &x,
                td_loss(black_box(theta), g, &states, &rewards),
                (v, &grad),
                &|dir: &[f64]| td_loss_jvp(theta, g, &states, &rewards, arr(&dir[..2]), dir[2]),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Truncated backpropagation through time: the state read from the array is
// cut for `w` every `k` steps only (a site reached on some iterations).

#[differentiable(w, u; forward)]
fn truncated_bptt(w: f64, u: f64, xs: &[f64], k: usize) -> f64 {
    let n = xs.len();
    let mut h = vec![0.0; n + 1];
    let mut loss = 0.0;
    for t in 0..n {
        let prev = if t % k == 0 { sg_for!(w, h[t]) } else { h[t] };
        h[t + 1] = (w * prev + u * xs[t]).tanh();
        loss += (h[t + 1] - 0.5 * xs[t]).powi(2);
    }
    loss
}

fn truncated_bptt_copy(p: &[f64], xs: &[f64], k: usize, st: &mut Sites) -> f64 {
    let (w, u) = (p[0], p[1]);
    let n = xs.len();
    let mut h = vec![0.0; n + 1];
    let mut loss = 0.0;
    for t in 0..n {
        let prev = if t % k == 0 { st.cut(0, h[t]) } else { h[t] };
        h[t + 1] = (w * prev + u * xs[t]).tanh();
        loss += (h[t + 1] - 0.5 * xs[t]).powi(2);
    }
    loss
}

#[test]
fn truncated_bptt_cut_on_some_iterations() {
    let mut rng = Rng::new(17);
    for (n, k) in [(6usize, 2usize), (7, 3), (5, 1), (4, 10)] {
        for _ in 0..6 {
            let xs = rng.vec(n, -2.0, 2.0);
            let wu: [f64; 2] = rng.array(-1.2, 1.2);
            let (v, (gw, gu)) = truncated_bptt_grad(wu[0], wu[1], &xs, k);
            let copy = |p: &[f64], st: &mut Sites| truncated_bptt_copy(p, &xs, k, st);
            check_sites(
                "truncated_bptt",
                &copy,
                &[Cut::For(&[0])],
                &[1, 1],
                &wu,
                truncated_bptt(black_box(wu[0]), wu[1], &xs, k),
                (v, &[gw, gu]),
                &|dir: &[f64]| truncated_bptt_jvp(wu[0], wu[1], &xs, k, dir[0], dir[1]),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// REINFORCE with a learned baseline: advantages stored in a local array and
// stopped (`sg`) where they weight the log-probabilities from `log_softmax`
// of the parameter itself.

#[differentiable(logits, b; forward)]
fn policy_gradient(logits: &[f64], b: f64, actions: &[usize], rewards: &[f64]) -> f64 {
    let logp = log_softmax(logits);
    let n = rewards.len() as f64;
    let mut adv = vec![0.0; rewards.len()];
    for i in 0..rewards.len() {
        adv[i] = rewards[i] - b;
    }
    let mut surrogate = 0.0;
    let mut baseline_loss = 0.0;
    for i in 0..actions.len() {
        surrogate += logp[actions[i]] * sg(adv[i]);
        baseline_loss += adv[i] * adv[i];
    }
    -surrogate / n + 0.5 * baseline_loss / n
}

fn policy_gradient_copy(p: &[f64], actions: &[usize], rewards: &[f64], st: &mut Sites) -> f64 {
    let (logits, b) = p.split_at(p.len() - 1);
    let logp = log_softmax(logits);
    let n = rewards.len() as f64;
    let mut surrogate = 0.0;
    let mut baseline_loss = 0.0;
    for i in 0..actions.len() {
        let adv = rewards[i] - b[0];
        surrogate += logp[actions[i]] * st.cut(0, adv);
        baseline_loss += adv * adv;
    }
    -surrogate / n + 0.5 * baseline_loss / n
}

#[test]
fn policy_gradient_with_stopped_advantages() {
    let mut rng = Rng::new(18);
    for (k, n) in [(3usize, 5usize), (2, 1), (5, 12)] {
        for _ in 0..6 {
            let logits = rng.vec(k, -2.0, 2.0);
            let b = rng.uniform(-1.0, 1.0);
            let actions: Vec<usize> = (0..n).map(|_| rng.index_below(k)).collect();
            let rewards = rng.vec(n, -1.0, 2.0);
            let (v, (gl, gb)) = policy_gradient_grad(&logits, b, &actions, &rewards);
            let copy = |p: &[f64], st: &mut Sites| policy_gradient_copy(p, &actions, &rewards, st);
            let x = [&logits[..], &[b]].concat();
            let grad = [&gl[..], &[gb]].concat();
            check_sites(
                "policy_gradient",
                &copy,
                &[Cut::All],
                &[k, 1],
                &x,
                policy_gradient(black_box(&logits), b, &actions, &rewards),
                (v, &grad),
                &|dir: &[f64]| {
                    policy_gradient_jvp(&logits, b, &actions, &rewards, &dir[..k], dir[k])
                },
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Matrix factorisation in the style of alternating least squares: each
// factor's contribution is frozen for the other (`sg_for!` on elements of
// nested parameters), and a term is frozen for both factors but not for the
// bias (`sg_for!([u, v], ..)` on a value read from a local array).

#[differentiable(u, v, c; forward)]
#[allow(deprecated)] // stops that stop nothing, on purpose (sgrad warns of them)
fn factorization(u: &[Vec<f64>], v: &[Vec<f64>], c: f64, obs: &[(usize, usize, f64)]) -> f64 {
    let rank = u[0].len();
    let mut pred = vec![0.0; obs.len()];
    let mut loss = 0.0;
    for o in 0..obs.len() {
        let (i, j, y) = obs[o];
        for r in 0..rank {
            pred[o] += sg_for!(v, u[i][r]) * v[j][r] + u[i][r] * sg_for!(u, v[j][r]);
        }
        pred[o] *= 0.5;
        let resid = pred[o] + c - y;
        loss += resid * resid + 0.1 * sg_for!([u, v], pred[o] * c).tanh();
    }
    loss
}

fn factorization_copy(
    p: &[f64],
    nu: usize,
    rank: usize,
    obs: &[(usize, usize, f64)],
    st: &mut Sites,
) -> f64 {
    let (u, rest) = p.split_at(nu * rank);
    let (v, c) = rest.split_at(rest.len() - 1);
    let c = c[0];
    let mut loss = 0.0;
    for &(i, j, y) in obs {
        let mut pred = 0.0;
        for r in 0..rank {
            pred += st.cut(0, u[i * rank + r]) * v[j * rank + r]
                + u[i * rank + r] * st.cut(1, v[j * rank + r]);
        }
        pred *= 0.5;
        let resid = pred + c - y;
        loss += resid * resid + 0.1 * st.cut(2, pred * c).tanh();
    }
    loss
}

#[test]
fn factorization_sg_for_on_nested_elements() {
    let mut rng = Rng::new(19);
    for (nu, nv, rank, n) in [(3usize, 2usize, 2usize, 5usize), (1, 1, 1, 1), (4, 3, 3, 9)] {
        for _ in 0..6 {
            let u: Vec<Vec<f64>> = (0..nu).map(|_| rng.vec(rank, -1.0, 1.0)).collect();
            let v: Vec<Vec<f64>> = (0..nv).map(|_| rng.vec(rank, -1.0, 1.0)).collect();
            let c = rng.uniform(-1.0, 1.0);
            let obs: Vec<(usize, usize, f64)> = (0..n)
                .map(|_| {
                    (
                        rng.index_below(nu),
                        rng.index_below(nv),
                        rng.uniform(-1.0, 1.0),
                    )
                })
                .collect();
            let (val, (gu, gv, gc)) = factorization_grad(&u, &v, c, &obs);
            let copy = |p: &[f64], st: &mut Sites| factorization_copy(p, nu, rank, &obs, st);
            let x = [u.concat(), v.concat(), vec![c]].concat();
            let grad = [gu.concat(), gv.concat(), vec![gc]].concat();
            let sites = [Cut::For(&[1]), Cut::For(&[0]), Cut::For(&[0, 1])];
            check_sites(
                "factorization",
                &copy,
                &sites,
                &[nu * rank, nv * rank, 1],
                &x,
                factorization(black_box(&u), &v, c, &obs),
                (val, &grad),
                &|dir: &[f64]| {
                    let (tu, rest) = dir.split_at(nu * rank);
                    let (tv, tc) = rest.split_at(nv * rank);
                    factorization_jvp(&u, &v, c, &obs, &rows(tu, rank), &rows(tv, rank), tc[0])
                },
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// `sg` on values stored on some iterations only, and `sg_for!` around reads
// of elements and around whole-array functions.

#[differentiable(x, y; forward)]
fn stored_sometimes_stopped(x: &[f64], y: f64) -> f64 {
    let n = x.len();
    let mut a = vec![0.0; n];
    for i in 0..n {
        if i % 3 == 1 {
            a[i] = sg(x[i] * y);
        } else {
            a[i] = x[i] * y;
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += sg_for!(x, a[i]) * a[i] + a[i].sin();
    }
    s + sg_for!(y, log_sum_exp(&a)) * y
}

fn stored_sometimes_stopped_copy(p: &[f64], st: &mut Sites) -> f64 {
    let n = p.len() - 1;
    let (x, y) = (&p[..n], p[n]);
    let mut a = vec![0.0; n];
    for i in 0..n {
        a[i] = if i % 3 == 1 {
            st.cut(0, x[i] * y)
        } else {
            x[i] * y
        };
    }
    let mut s = 0.0;
    for i in 0..n {
        s += st.cut(1, a[i]) * a[i] + a[i].sin();
    }
    s + st.cut(2, log_sum_exp(&a)) * y
}

#[test]
fn sg_on_stores_and_sg_for_on_reads() {
    let mut rng = Rng::new(20);
    for n in [1usize, 2, 4, 9] {
        for _ in 0..6 {
            let x = rng.vec(n, -1.5, 1.5);
            let y = rng.uniform(-1.5, 1.5);
            let (v, (gx, gy)) = stored_sometimes_stopped_grad(&x, y);
            let copy = |p: &[f64], st: &mut Sites| stored_sometimes_stopped_copy(p, st);
            let sites = [Cut::All, Cut::For(&[0]), Cut::For(&[1])];
            let flat = [&x[..], &[y]].concat();
            let grad = [&gx[..], &[gy]].concat();
            check_sites(
                "stored_sometimes_stopped",
                &copy,
                &sites,
                &[n, 1],
                &flat,
                stored_sometimes_stopped(black_box(&x), y),
                (v, &grad),
                &|dir: &[f64]| stored_sometimes_stopped_jvp(&x, y, &dir[..n], dir[n]),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Mixture log-likelihood with `means: &[Vec<f64>]`: a `vec![0.0; k]` of
// component scores per sample, `log_sum_exp` of it and of the weights; the
// means' prior is stopped for the weights only, on a pushed array.

#[differentiable(means, log_w; forward)]
fn gmm_loglik(means: &[Vec<f64>], log_w: &[f64], data: &[Vec<f64>]) -> f64 {
    let k = log_w.len();
    let norm = log_sum_exp(log_w);
    let mut ll = 0.0;
    for x in data.iter() {
        let mut comp = vec![0.0; k];
        for c in 0..k {
            let mut d2 = 0.0;
            for j in 0..means[c].len() {
                let d = x[j] - means[c][j];
                d2 += d * d;
            }
            comp[c] = log_w[c] - norm - 0.5 * d2;
        }
        ll += log_sum_exp(&comp);
    }
    let mut prior = Vec::new();
    for c in 0..k {
        let row = &means[c];
        let mut s = 0.0;
        for j in 0..row.len() {
            s += row[j] * row[j];
        }
        prior.push(-0.5 * s * log_w[c].exp());
    }
    ll + sg_for!(log_w, sum(&prior))
}

fn gmm_loglik_copy(p: &[f64], k: usize, d: usize, data: &[Vec<f64>], st: &mut Sites) -> f64 {
    let (means, log_w) = p.split_at(k * d);
    let norm = log_sum_exp(log_w);
    let mut ll = 0.0;
    for x in data {
        let comp: Vec<f64> = (0..k)
            .map(|c| {
                let d2: f64 = (0..d).map(|j| (x[j] - means[c * d + j]).powi(2)).sum();
                log_w[c] - norm - 0.5 * d2
            })
            .collect();
        ll += log_sum_exp(&comp);
    }
    let prior: f64 = (0..k)
        .map(|c| {
            let s: f64 = (0..d).map(|j| means[c * d + j].powi(2)).sum();
            -0.5 * s * log_w[c].exp()
        })
        .sum();
    ll + st.cut(0, prior)
}

#[test]
fn gaussian_mixture_nested_means() {
    let mut rng = Rng::new(21);
    for (k, d, n) in [(3usize, 2usize, 6usize), (1, 1, 1), (4, 3, 10)] {
        for _ in 0..5 {
            let means: Vec<Vec<f64>> = (0..k).map(|_| rng.vec(d, -2.0, 2.0)).collect();
            let log_w = rng.vec(k, -1.0, 1.0);
            let data: Vec<Vec<f64>> = (0..n).map(|_| rng.vec(d, -3.0, 3.0)).collect();
            let (v, (gm, gw)) = gmm_loglik_grad(&means, &log_w, &data);
            let copy = |p: &[f64], st: &mut Sites| gmm_loglik_copy(p, k, d, &data, st);
            let x = [means.concat(), log_w.clone()].concat();
            let grad = [gm.concat(), gw].concat();
            check_sites(
                "gmm_loglik",
                &copy,
                &[Cut::For(&[1])],
                &[k * d, k],
                &x,
                gmm_loglik(black_box(&means), &log_w, &data),
                (v, &grad),
                &|dir: &[f64]| {
                    gmm_loglik_jvp(
                        &means,
                        &log_w,
                        &data,
                        &rows(&dir[..k * d], d),
                        &dir[k * d..],
                    )
                },
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The HMM forward algorithm in log space: a flat `alpha` array written at
// time t from its values at t − 1, a fresh `terms` array per state and step,
// the last column collected by `push`.

#[differentiable(log_init, log_trans; forward)]
fn hmm_forward(log_init: &[f64], log_trans: &[Vec<f64>], log_emit: &[Vec<f64>]) -> f64 {
    let k = log_init.len();
    let t_len = log_emit.len();
    let mut alpha = vec![0.0; k * t_len];
    for j in 0..k {
        alpha[j] = log_init[j] + log_emit[0][j];
    }
    for t in 1..t_len {
        for j in 0..k {
            let mut terms = vec![0.0; k];
            for i in 0..k {
                terms[i] = alpha[(t - 1) * k + i] + log_trans[i][j];
            }
            alpha[t * k + j] = log_sum_exp(&terms) + log_emit[t][j];
        }
    }
    let mut last = Vec::with_capacity(k);
    for j in 0..k {
        last.push(alpha[(t_len - 1) * k + j]);
    }
    log_sum_exp(&last)
}

#[test]
fn hmm_forward_algorithm() {
    let mut rng = Rng::new(22);
    for (k, t) in [(2usize, 3usize), (3, 1), (3, 8)] {
        for _ in 0..5 {
            let log_init = rng.vec(k, -2.0, 0.0);
            let log_trans: Vec<Vec<f64>> = (0..k).map(|_| rng.vec(k, -3.0, 0.0)).collect();
            let log_emit: Vec<Vec<f64>> = (0..t).map(|_| rng.vec(k, -3.0, 0.0)).collect();
            let (v, (gi, gt)) = hmm_forward_grad(&log_init, &log_trans, &log_emit);
            let f = |p: &[f64]| hmm_forward(&p[..k], &rows(&p[k..], k), &log_emit);
            let x = [log_init.clone(), log_trans.concat()].concat();
            let g = [gi, gt.concat()].concat();
            check_plain(
                "hmm_forward",
                &f,
                &[k, k * k],
                &x,
                (v, &g),
                &|dir: &[f64]| {
                    hmm_forward_jvp(
                        &log_init,
                        &log_trans,
                        &log_emit,
                        &dir[..k],
                        &rows(&dir[k..], k),
                    )
                },
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Layer normalisation over `[0.0; 6]` arrays.

#[differentiable(x, gamma; forward)]
fn layer_norm(x: [f64; 6], gamma: [f64; 6], target: [f64; 6]) -> f64 {
    let mean: f64 = x.iter().sum::<f64>() / 6.0;
    let mut centered = [0.0; 6];
    let mut var = 0.0;
    for i in 0..6 {
        centered[i] = x[i] - mean;
        var += centered[i] * centered[i];
    }
    var /= 6.0;
    let inv = 1.0 / (var + 1e-5).sqrt();
    let mut y = [0.0; 6];
    for i in 0..6 {
        y[i] = centered[i] * inv * gamma[i];
        y[i] -= target[i];
    }
    dot(&y, &y)
}

#[test]
fn layer_norm_arrays() {
    let mut rng = Rng::new(23);
    for _ in 0..15 {
        let x: [f64; 6] = rng.array(-2.0, 2.0);
        let gamma: [f64; 6] = rng.array(0.5, 1.5);
        let target: [f64; 6] = rng.array(-1.0, 1.0);
        let (v, (gx, gg)) = layer_norm_grad(x, gamma, target);
        let f = |p: &[f64]| layer_norm(arr(&p[..6]), arr(&p[6..]), target);
        let flat = [x, gamma].concat();
        check_plain(
            "layer_norm",
            &f,
            &[6, 6],
            &flat,
            (v, &[gx, gg].concat()),
            &|dir: &[f64]| layer_norm_jvp(x, gamma, target, arr(&dir[..6]), arr(&dir[6..])),
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// Running maximum (`max` into the array), a second-difference smoothness
// penalty, and boundary terms in a `vec![a, b]`.

#[differentiable(x; forward)]
fn running_max_smooth(x: &[f64], y0: f64, y1: f64) -> f64 {
    let n = x.len();
    let mut m = vec![0.0; n];
    m[0] = x[0];
    for i in 1..n {
        m[i] = m[i - 1].max(x[i]);
    }
    let mut d = vec![0.0; n - 2];
    for i in 0..n - 2 {
        d[i] = x[i] - 2.0 * x[i + 1] + x[i + 2];
    }
    let ends = vec![x[0] - y0, x[n - 1] - y1];
    sum(&m) + dot(&d, &d) + dot(&ends, &ends)
}

#[test]
fn running_max_and_smoothness() {
    let mut rng = Rng::new(24);
    for n in [2usize, 3, 8] {
        for _ in 0..8 {
            let x = rng.vec(n, -2.0, 2.0);
            let (y0, y1) = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0));
            let (v, g) = running_max_smooth_grad(&x, y0, y1);
            let f = |p: &[f64]| running_max_smooth(p, y0, y1);
            check_plain(
                "running_max_smooth",
                &f,
                &[n],
                &x,
                (v, &g),
                &|dir: &[f64]| running_max_smooth_jvp(&x, y0, y1, dir),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// An ordered weighted average: bubble sort with swaps through a temporary
// (`let t = a[j]; a[j] = a[j + 1]; a[j + 1] = t;`), then weights by rank.

#[differentiable(x; forward)]
fn ordered_weighted_average(x: &[f64], w: &[f64]) -> f64 {
    let n = x.len();
    let mut a = vec![0.0; n];
    for i in 0..n {
        a[i] = x[i] * x[i] - x[i];
    }
    for pass in 0..n {
        for j in 0..n - 1 - pass.min(n - 1) {
            if a[j] > a[j + 1] {
                let t = a[j];
                a[j] = a[j + 1];
                a[j + 1] = t;
            }
        }
    }
    dot(&a, w)
}

fn ordered_weighted_average_copy(x: &[f64], w: &[f64], st: &mut Sites) -> f64 {
    let n = x.len();
    let mut a: Vec<f64> = x.iter().map(|v| v * v - v).collect();
    for pass in 0..n {
        for j in 0..n - 1 - pass.min(n - 1) {
            if a[j] > a[j + 1] {
                st.mark(0);
                a.swap(j, j + 1);
            } else {
                st.mark(1);
            }
        }
    }
    dot(&a, w)
}

#[test]
fn bubble_sort_by_element_swaps() {
    let mut rng = Rng::new(25);
    for n in [1usize, 2, 4, 7] {
        for _ in 0..8 {
            let x = rng.vec(n, -2.0, 2.0);
            let w = rng.vec(n, 0.0, 1.0);
            let (v, g) = ordered_weighted_average_grad(&x, &w);
            let copy = |p: &[f64], st: &mut Sites| ordered_weighted_average_copy(p, &w, st);
            check_sites(
                "owa",
                &copy,
                &[MARK, MARK],
                &[n],
                &x,
                ordered_weighted_average(black_box(&x), &w),
                (v, &g),
                &|dir: &[f64]| ordered_weighted_average_jvp(&x, &w, dir),
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// `while`, `loop`, `break` and `continue` with local arrays.

/// A trajectory grown by `push` in a `while` until it would pass a cap; the
/// step reads the last element back.
#[differentiable(x, rate; forward)]
fn growth_until_cap(x: f64, rate: f64, cap: f64) -> f64 {
    let mut traj = vec![x];
    let mut i = 0;
    while i < 50 {
        let next = traj[i] * (1.0 + rate) + 0.1;
        if next > cap {
            break;
        }
        traj.push(next);
        i += 1;
    }
    let mut s = 0.0;
    for v in traj.iter() {
        s += v.ln() * 0.5 + v;
    }
    s
}

fn growth_until_cap_copy(p: &[f64], cap: f64, st: &mut Sites) -> f64 {
    let (x, rate) = (p[0], p[1]);
    let mut traj = vec![x];
    let mut i = 0;
    while i < 50 {
        let next = traj[i] * (1.0 + rate) + 0.1;
        if next > cap {
            break;
        }
        st.mark(0);
        traj.push(next);
        i += 1;
    }
    traj.iter().map(|v| v.ln() * 0.5 + v).sum()
}

/// Positive scores kept with `continue`, an early `break` on a constant
/// budget, and `log_sum_exp` of what was kept.
#[differentiable(x, temp; forward)]
fn kept_scores(x: &[f64], temp: f64, mask: &[bool], budget: usize) -> f64 {
    let mut kept = Vec::new();
    kept.push(0.0);
    for i in 0..x.len() {
        if !mask[i] {
            continue;
        }
        if kept.len() > budget {
            break;
        }
        kept.push(x[i] / temp);
        let last = kept.len() - 1;
        kept[last] += 0.1 * x[i] * x[i];
    }
    temp * log_sum_exp(&kept)
}

/// A nested by-value parameter read in a `while` with `continue` and
/// `break`, accumulated into `[0.0; 3]` with `+=`.
#[differentiable(m; forward)]
fn nested_while(m: [[f64; 3]; 2]) -> f64 {
    let mut acc = [0.0; 3];
    let mut i = 0;
    while i < 6 {
        let r = i % 2;
        let c = i % 3;
        i += 1;
        if c == 1 {
            continue;
        }
        acc[c] += m[r][c] * m[1 - r][c];
        if i > 4 {
            break;
        }
    }
    acc[0] * acc[2] + log_sum_exp(&m[1]) + acc[1]
}

/// `loop` with a data-independent exit writing into a fixed array.
#[differentiable(x; forward)]
fn loop_fill(x: [f64; 4]) -> f64 {
    let mut a = [0.0; 4];
    let mut k = 0;
    loop {
        a[k] = x[k] * x[(k + 1) % 4];
        if k > 0 {
            a[k] += a[k - 1].sin();
        }
        k += 1;
        if k == 4 {
            break;
        }
    }
    a[3] + a[1] * a[2]
}

#[test]
fn while_loop_break_continue() {
    let mut rng = Rng::new(26);
    for _ in 0..20 {
        let x = rng.uniform(0.5, 2.0);
        let rate = rng.uniform(0.05, 0.5);
        let cap = rng.uniform(3.0, 20.0);
        let (v, (gx, gr)) = growth_until_cap_grad(x, rate, cap);
        let copy = |p: &[f64], st: &mut Sites| growth_until_cap_copy(p, cap, st);
        check_sites(
            "growth_until_cap",
            &copy,
            &[MARK],
            &[1, 1],
            &[x, rate],
            growth_until_cap(black_box(x), rate, cap),
            (v, &[gx, gr]),
            &|dir: &[f64]| growth_until_cap_jvp(x, rate, cap, dir[0], dir[1]),
            &mut rng,
        );
    }
    for n in [0usize, 1, 5, 10] {
        for budget in [0usize, 2, 20] {
            let x = rng.vec(n, -2.0, 2.0);
            let temp = rng.uniform(0.5, 2.0);
            let mask: Vec<bool> = (0..n).map(|_| rng.unit() < 0.7).collect();
            let (v, (gx, gt)) = kept_scores_grad(&x, temp, &mask, budget);
            let f = |p: &[f64]| kept_scores(&p[..n], p[n], &mask, budget);
            let flat = [&x[..], &[temp]].concat();
            check_plain(
                "kept_scores",
                &f,
                &[n, 1],
                &flat,
                (v, &[&gx[..], &[gt]].concat()),
                &|dir: &[f64]| kept_scores_jvp(&x, temp, &mask, budget, &dir[..n], dir[n]),
                &mut rng,
            );
        }
    }
    for _ in 0..15 {
        let m: [[f64; 3]; 2] = mat(&rng.vec(6, -1.5, 1.5));
        let (v, g) = nested_while_grad(m);
        check_plain(
            "nested_while",
            &|p| nested_while(mat(p)),
            &[6],
            &m.concat(),
            (v, &g.concat()),
            &|dir: &[f64]| nested_while_jvp(m, mat(dir)),
            &mut rng,
        );
        let x: [f64; 4] = rng.array(-1.5, 1.5);
        let (v, g) = loop_fill_grad(x);
        check_plain(
            "loop_fill",
            &|p| loop_fill(arr(p)),
            &[4],
            &x,
            (v, &g),
            &|dir: &[f64]| loop_fill_jvp(x, arr(dir)),
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// A heat equation: two buffers exchanged element by element each time step
// (the arrays live across the outer loop and are overwritten in it).

#[differentiable(u0, kappa; forward)]
fn heat_equation(u0: &[f64], kappa: f64, steps: usize) -> f64 {
    let n = u0.len();
    let mut u = vec![0.0; n];
    for i in 0..n {
        u[i] = u0[i];
    }
    let mut next = vec![0.0; n];
    for _ in 0..steps {
        for i in 1..n - 1 {
            next[i] = u[i] + kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1]) - 0.05 * u[i] * u[i] * u[i];
        }
        for i in 1..n - 1 {
            u[i] = next[i];
        }
    }
    let mut s = 0.0;
    for v in u.iter() {
        s += v * v;
    }
    s
}

#[test]
fn heat_equation_buffers_across_time_steps() {
    let mut rng = Rng::new(27);
    for (n, steps) in [(3usize, 1usize), (6, 4), (10, 12)] {
        for _ in 0..5 {
            let u0 = rng.vec(n, -1.0, 1.0);
            let kappa = rng.uniform(0.05, 0.3);
            let (v, (gu, gk)) = heat_equation_grad(&u0, kappa, steps);
            let f = |p: &[f64]| heat_equation(&p[..n], p[n], steps);
            let flat = [&u0[..], &[kappa]].concat();
            check_plain(
                "heat_equation",
                &f,
                &[n, 1],
                &flat,
                (v, &[&gu[..], &[gk]].concat()),
                &|dir: &[f64]| heat_equation_jvp(&u0, kappa, steps, &dir[..n], dir[n]),
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// Dynamic programming, scatter and gather.

// ---------------------------------------------------------------------------
// 0/1 knapsack over a `vec![0.0f64; cap + 1]` updated in place from the back
// with `max`: the optimum's gradient with respect to the item values.

#[differentiable(vals; forward)]
fn knapsack(vals: &[f64], wts: &[usize], cap: usize) -> f64 {
    let mut dp = vec![0.0f64; cap + 1];
    for i in 0..vals.len() {
        for c in (wts[i]..cap + 1).rev() {
            dp[c] = dp[c].max(dp[c - wts[i]] + vals[i]);
        }
    }
    dp[cap]
}

fn knapsack_copy(vals: &[f64], wts: &[usize], cap: usize, st: &mut Sites) -> f64 {
    let mut dp = vec![0.0f64; cap + 1];
    for i in 0..vals.len() {
        for c in (wts[i]..cap + 1).rev() {
            let take = dp[c - wts[i]] + vals[i];
            st.mark(if take > dp[c] { 0 } else { 1 });
            dp[c] = dp[c].max(take);
        }
    }
    dp[cap]
}

// Soft-DTW: a flat `(n + 1) × (m + 1)` table, a fresh `[a, b, c]` per cell
// for the soft minimum by `log_sum_exp`.
#[differentiable(x, y; forward)]
fn soft_dtw(x: &[f64], y: &[f64], gamma: f64) -> f64 {
    let (n, m) = (x.len(), y.len());
    let w = m + 1;
    let mut r = vec![1e10; (n + 1) * w];
    r[0] = 0.0;
    for i in 1..n + 1 {
        for j in 1..m + 1 {
            let cost = (x[i - 1] - y[j - 1]).powi(2);
            let c = [
                -r[(i - 1) * w + j - 1] / gamma,
                -r[(i - 1) * w + j] / gamma,
                -r[i * w + j - 1] / gamma,
            ];
            r[i * w + j] = cost - gamma * log_sum_exp(&c);
        }
    }
    r[n * w + m]
}

// Segment sums by scatter-add with repeated indices (`seg[idx[k]] += ..`),
// then a gather back (`g[k] = seg[idx[k]] * x[k]`).
#[differentiable(x; forward)]
fn scatter_gather(x: &[f64], idx: &[usize], segments: usize) -> f64 {
    let mut seg = vec![0.0; segments];
    for k in 0..x.len() {
        seg[idx[k]] += x[k] * x[k];
    }
    let mut g = vec![0.0; x.len()];
    for k in 0..x.len() {
        g[k] = seg[idx[k]] * x[k];
    }
    log_sum_exp(&seg) + sum(&g)
}

#[test]
fn dynamic_programming_scatter_gather() {
    let mut rng = Rng::new(29);
    for (n, cap) in [(1usize, 3usize), (4, 5), (8, 12)] {
        for _ in 0..6 {
            let vals = rng.vec(n, 0.1, 3.0);
            let wts: Vec<usize> = (0..n).map(|_| 1 + rng.index_below(4)).collect();
            let (v, g) = knapsack_grad(&vals, &wts, cap);
            let copy = |p: &[f64], st: &mut Sites| knapsack_copy(p, &wts, cap, st);
            check_sites(
                "knapsack",
                &copy,
                &[MARK, MARK],
                &[n],
                &vals,
                knapsack(black_box(&vals), &wts, cap),
                (v, &g),
                &|dir: &[f64]| knapsack_jvp(&vals, &wts, cap, dir),
                &mut rng,
            );
        }
    }
    for (n, m) in [(1usize, 1usize), (3, 4), (6, 5)] {
        for _ in 0..5 {
            let x = rng.vec(n, -1.0, 1.0);
            let y = rng.vec(m, -1.0, 1.0);
            let gamma = rng.uniform(0.3, 1.0);
            let (v, (gx, gy)) = soft_dtw_grad(&x, &y, gamma);
            let f = |p: &[f64]| soft_dtw(&p[..n], &p[n..], gamma);
            let flat = [&x[..], &y].concat();
            check_plain(
                "soft_dtw",
                &f,
                &[n, m],
                &flat,
                (v, &[gx, gy].concat()),
                &|dir: &[f64]| soft_dtw_jvp(&x, &y, gamma, &dir[..n], &dir[n..]),
                &mut rng,
            );
        }
    }
    for (n, segments) in [(1usize, 1usize), (5, 3), (12, 4)] {
        for _ in 0..5 {
            let x = rng.vec(n, -1.5, 1.5);
            let idx: Vec<usize> = (0..n).map(|_| rng.index_below(segments)).collect();
            let (v, g) = scatter_gather_grad(&x, &idx, segments);
            let f = |p: &[f64]| scatter_gather(p, &idx, segments);
            check_plain(
                "scatter_gather",
                &f,
                &[n],
                &x,
                (v, &g),
                &|dir: &[f64]| scatter_gather_jvp(&x, &idx, segments, dir),
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// More forms users write.

// ---------------------------------------------------------------------------
// Distillation: the teacher's distribution is `sg(log_softmax(..))` of a
// local array, the student's `log_softmax` of the parameter.

#[differentiable(teacher, student; forward)]
fn distillation(teacher: &[f64], student: &[f64], temp: f64) -> f64 {
    let mut t = vec![0.0; teacher.len()];
    for i in 0..t.len() {
        t[i] = teacher[i] / temp;
    }
    let target = sg(log_softmax(&t));
    let lp = log_softmax(student);
    let mut kl = 0.0;
    for i in 0..lp.len() {
        kl += target[i].exp() * (target[i] - lp[i]);
    }
    kl + 0.1 * target[0] * teacher[0]
}

fn distillation_copy(p: &[f64], k: usize, temp: f64, st: &mut Sites) -> f64 {
    let (teacher, student) = p.split_at(k);
    let t: Vec<f64> = teacher.iter().map(|v| v / temp).collect();
    let target: Vec<f64> = log_softmax(&t)
        .iter()
        .enumerate()
        .map(|(i, &v)| st.cut(i, v))
        .collect();
    let lp = log_softmax(student);
    let mut kl = 0.0;
    for i in 0..k {
        kl += target[i].exp() * (target[i] - lp[i]);
    }
    kl + 0.1 * target[0] * teacher[0]
}

#[test]
fn distillation_with_a_stopped_array() {
    let mut rng = Rng::new(30);
    for k in [1usize, 3, 6] {
        for _ in 0..6 {
            let teacher = rng.vec(k, -2.0, 2.0);
            let student = rng.vec(k, -2.0, 2.0);
            let temp = rng.uniform(0.5, 2.0);
            let (v, (gt, gs)) = distillation_grad(&teacher, &student, temp);
            // One site per element of the stopped array.
            let sites = vec![Cut::All; k];
            let copy = |p: &[f64], st: &mut Sites| distillation_copy(p, k, temp, st);
            let flat = [&teacher[..], &student].concat();
            check_sites(
                "distillation",
                &copy,
                &sites,
                &[k, k],
                &flat,
                distillation(black_box(&teacher), &student, temp),
                (v, &[gt, gs].concat()),
                &|dir: &[f64]| distillation_jvp(&teacher, &student, temp, &dir[..k], &dir[k..]),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Rows of a nested parameter passed whole to `dot`, `sum`, `log_softmax`
// and iterated (`for w in row.iter()`, `row.iter().sum()`, `enumerate`).

#[differentiable(m, v; forward)]
fn row_functions(m: &[Vec<f64>], v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..m.len() {
        s += dot(&m[i], v) + sum(&m[i]) * 0.5;
        let lp = log_softmax(&m[i]);
        s += lp[i % lp.len()];
    }
    for (i, row) in m.iter().enumerate() {
        for w in row.iter() {
            s += w * w * (i as f64 + 0.5);
        }
        let t: f64 = row.iter().sum();
        s += t.sin();
    }
    s
}

// A const-generic size for a local `[0.0; N]`.
#[differentiable(x; forward)]
fn ring_products<const N: usize>(x: [f64; N]) -> f64 {
    let mut a = [0.0; N];
    for i in 0..N {
        a[i] = x[i] * x[(i + 1) % N];
    }
    log_sum_exp(&a)
}

// Typed local arrays and the iterator forms on them: `enumerate`, `zip`,
// `rev`, `&b`, `product`.
#[differentiable(x; forward)]
fn typed_locals(x: &[f64]) -> f64 {
    let mut a: Vec<f64> = Vec::new();
    let mut b: [f64; 3] = [0.0; 3];
    let mut c = vec![0.0_f64; 2];
    for i in 0..x.len() {
        a.push(x[i].exp() - 1.0);
        b[i % 3] += x[i];
    }
    c[0] = -b[0];
    c[1] = a.len() as f64 * b[1];
    let mut s = 0.0;
    for (i, v) in a.iter().enumerate() {
        s += v * (i as f64);
    }
    for (p, q) in b.iter().zip(c.iter()) {
        s += p * q;
    }
    for v in a.iter().rev() {
        s = s * 0.5 + v;
    }
    for &v in &b {
        s += v * v;
    }
    let pr: f64 = b.iter().product();
    s + pr
}

#[test]
fn row_functions_generics_and_iterator_forms() {
    let mut rng = Rng::new(31);
    for (r, c) in [(1usize, 1usize), (2, 3), (4, 2)] {
        for _ in 0..6 {
            let m: Vec<Vec<f64>> = (0..r).map(|_| rng.vec(c, -1.5, 1.5)).collect();
            let v = rng.vec(c, -1.5, 1.5);
            let (val, (gm, gv)) = row_functions_grad(&m, &v);
            let f = |p: &[f64]| row_functions(&rows(&p[..r * c], c), &p[r * c..]);
            let flat = [m.concat(), v.clone()].concat();
            check_plain(
                "row_functions",
                &f,
                &[r * c, c],
                &flat,
                (val, &[gm.concat(), gv].concat()),
                &|dir: &[f64]| row_functions_jvp(&m, &v, &rows(&dir[..r * c], c), &dir[r * c..]),
                &mut rng,
            );
        }
    }
    for _ in 0..10 {
        let x: [f64; 3] = rng.array(-1.5, 1.5);
        let (v, g) = ring_products_grad(x);
        check_plain(
            "ring_products<3>",
            &|p| ring_products::<3>(arr(p)),
            &[3],
            &x,
            (v, &g),
            &|dir: &[f64]| ring_products_jvp(x, arr(dir)),
            &mut rng,
        );
        let x: [f64; 7] = rng.array(-1.5, 1.5);
        let (v, g) = ring_products_grad(x);
        check_plain(
            "ring_products<7>",
            &|p| ring_products::<7>(arr(p)),
            &[7],
            &x,
            (v, &g),
            &|dir: &[f64]| ring_products_jvp(x, arr(dir)),
            &mut rng,
        );
    }
    for n in [1usize, 2, 5, 8] {
        for _ in 0..6 {
            let x = rng.vec(n, -1.0, 1.0);
            let (v, g) = typed_locals_grad(&x);
            check_plain(
                "typed_locals",
                &|p| typed_locals(p),
                &[n],
                &x,
                (v, &g),
                &|dir: &[f64]| typed_locals_jvp(&x, dir),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Two sweep classes over one stored array: a read cut for `x` on every
// iteration and a product of neighbours cut for `y` from the second on.

#[differentiable(x, y; forward)]
fn two_classes_one_array(x: &[f64], y: f64) -> f64 {
    let n = x.len();
    let mut a = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        a[i] = x[i] * y;
        s += sg_for!(x, a[i]) * y;
        if i > 0 {
            s += sg_for!(y, a[i - 1] * a[i]);
        }
    }
    s + a[0]
}

fn two_classes_one_array_copy(p: &[f64], st: &mut Sites) -> f64 {
    let n = p.len() - 1;
    let (x, y) = (&p[..n], p[n]);
    let a: Vec<f64> = x.iter().map(|v| v * y).collect();
    let mut s = 0.0;
    for i in 0..n {
        s += st.cut(0, a[i]) * y;
        if i > 0 {
            s += st.cut(1, a[i - 1] * a[i]);
        }
    }
    s + a[0]
}

// Early `return`s between loops that push.
#[differentiable(x; forward)]
fn early_returns(x: &[f64], k: usize) -> f64 {
    let mut a = Vec::new();
    a.push(x[0]);
    if k == 0 {
        return a[0] * 2.0;
    }
    for i in 1..x.len() {
        for j in 0..2 {
            let t = a[a.len() - 1] * x[i] + j as f64 * 0.1;
            a.push(t);
        }
    }
    if k == 1 {
        return log_sum_exp(&a);
    }
    let mut b = vec![0.0; a.len()];
    for i in 0..a.len() {
        b[i] = a[i].sin();
    }
    dot(&b, &a)
}

// A loop over the length before it grows: each element pushes its image.
// An inner array shadows an outer one of the same name.
#[differentiable(x; forward)]
fn grow_and_shadow(x: &[f64]) -> f64 {
    let mut a = vec![x[0], x[1]];
    for i in 0..a.len() {
        let t = a[i] * x[2];
        a.push(t.sin());
    }
    let mut s = 0.0;
    for i in 0..2 {
        let mut a = [0.0; 2];
        a[i] = x[i] * 2.0;
        s += a[0] * a[1] + a[i];
    }
    s + dot(&a, &a)
}

#[test]
fn two_classes_early_returns_growth_and_shadowing() {
    let mut rng = Rng::new(32);
    for n in [1usize, 2, 6] {
        for _ in 0..6 {
            let x = rng.vec(n, -1.5, 1.5);
            let y = rng.uniform(-1.5, 1.5);
            let (v, (gx, gy)) = two_classes_one_array_grad(&x, y);
            let sites = [Cut::For(&[0]), Cut::For(&[1])];
            let flat = [&x[..], &[y]].concat();
            let grad = [&gx[..], &[gy]].concat();
            check_sites(
                "two_classes_one_array",
                &two_classes_one_array_copy,
                &sites,
                &[n, 1],
                &flat,
                two_classes_one_array(black_box(&x), y),
                (v, &grad),
                &|dir: &[f64]| two_classes_one_array_jvp(&x, y, &dir[..n], dir[n]),
                &mut rng,
            );
        }
    }
    for n in [1usize, 2, 4] {
        for k in 0..3 {
            let x = rng.vec(n, -1.2, 1.2);
            let (v, g) = early_returns_grad(&x, k);
            check_plain(
                "early_returns",
                &|p| early_returns(p, k),
                &[n],
                &x,
                (v, &g),
                &|dir: &[f64]| early_returns_jvp(&x, k, dir),
                &mut rng,
            );
        }
    }
    for _ in 0..10 {
        let x = rng.vec(3, -1.5, 1.5);
        let (v, g) = grow_and_shadow_grad(&x);
        check_plain(
            "grow_and_shadow",
            &|p| grow_and_shadow(p),
            &[3],
            &x,
            (v, &g),
            &|dir: &[f64]| grow_and_shadow_jvp(&x, dir),
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// Row-wise running sums: the inner loop's running total is stored, never
// read after the inner loop.

#[differentiable(m; forward)]
fn row_running_sums(m: [[f64; 3]; 2], v: [f64; 3]) -> f64 {
    let mut out = [0.0; 6];
    for i in 0..2 {
        let mut acc = 0.0;
        for j in 0..3 {
            acc += m[i][j] * v[j];
            out[3 * i + j] = acc;
        }
    }
    let mut s = 0.0;
    for k in 0..6 {
        s += out[k] * out[k];
    }
    s
}

#[test]
fn row_running_sums_inner_loop() {
    let mut rng = Rng::new(33);
    for _ in 0..10 {
        let m: [[f64; 3]; 2] = mat(&rng.vec(6, -1.5, 1.5));
        let v: [f64; 3] = rng.array(-1.5, 1.5);
        let (val, g) = row_running_sums_grad(m, v);
        let f = |p: &[f64]| row_running_sums(mat(p), v);
        check_plain(
            "row_running_sums",
            &f,
            &[6],
            &m.concat(),
            (val, &g.concat()),
            &|dir: &[f64]| row_running_sums_jvp(m, v, mat(dir)),
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// `grad!` with a local array.

#[test]
fn grad_closure_with_a_local_array() {
    let mut rng = Rng::new(34);
    let h = sgrad::grad!(|x: f64, y: f64| {
        let mut a = [x, y, x * y];
        a[0] *= a[1];
        a[2] += a[0].sin();
        a[0] + a[1] * a[2]
    });
    let plain = |p: &[f64]| {
        let mut a = [p[0], p[1], p[0] * p[1]];
        a[0] *= a[1];
        a[2] += a[0].sin();
        a[0] + a[1] * a[2]
    };
    for _ in 0..10 {
        let xy: [f64; 2] = rng.array(-1.5, 1.5);
        let (v, (gx, gy)) = h(xy[0], xy[1]);
        // `grad!` has no forward mode: the value and the differences only.
        assert_bits("grad! local array", plain(black_box(&xy)), v);
        let copy = |p: &[f64], _: &mut Sites| plain(p);
        let oracle = Oracle {
            name: "grad! local array",
            copy: &copy,
            sites: &[],
            shape: &[1, 1],
        };
        oracle.check_with(&xy, v, &[gx, gy], &mut rng, F64, 0.0);
    }
}

// ---------------------------------------------------------------------------
// A running state that leaves the loop through stores and, after the loop,
// only under `sg_for!(x, ..)`: for `x` the stores are its only way out.

#[differentiable(x, y; forward)]
fn state_cut_after_loop(x: f64, y: f64, n: usize) -> f64 {
    let mut a = vec![0.0; n];
    let mut v = x;
    for i in 0..n {
        v = v * y + 0.5;
        a[i] = v * v;
    }
    sum(&a) + sg_for!(x, v)
}

fn state_cut_after_loop_copy(p: &[f64], n: usize, st: &mut Sites) -> f64 {
    let (x, y) = (p[0], p[1]);
    let mut s = 0.0;
    let mut v = x;
    for _ in 0..n {
        v = v * y + 0.5;
        s += v * v;
    }
    s + st.cut(0, v)
}

#[test]
fn running_state_cut_after_the_loop_for_one_variable() {
    let mut rng = Rng::new(35);
    for n in [0usize, 1, 3, 8] {
        for _ in 0..6 {
            let xy: [f64; 2] = rng.array(-1.0, 1.0);
            let (v, (gx, gy)) = state_cut_after_loop_grad(xy[0], xy[1], n);
            let copy = |p: &[f64], st: &mut Sites| state_cut_after_loop_copy(p, n, st);
            check_sites(
                "state_cut_after_loop",
                &copy,
                &[Cut::For(&[0])],
                &[1, 1],
                &xy,
                state_cut_after_loop(black_box(xy[0]), xy[1], n),
                (v, &[gx, gy]),
                &|dir: &[f64]| state_cut_after_loop_jvp(xy[0], xy[1], n, dir[0], dir[1]),
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Searches that leave loops early while filling arrays: `return` from inside
// a loop, and `break 'outer` / `continue 'outer` from a nested one.

#[differentiable(x, y; forward)]
fn first_passage(x: &[f64], y: f64, cap: f64) -> f64 {
    let mut a = vec![0.0; x.len()];
    for i in 0..x.len() {
        a[i] = x[i] * y;
        if a[i] > cap {
            return a[i] + sum(&a);
        }
    }
    sum(&a) * y
}

fn first_passage_copy(p: &[f64], cap: f64, st: &mut Sites) -> f64 {
    let n = p.len() - 1;
    let (x, y) = (&p[..n], p[n]);
    let mut a = vec![0.0; n];
    for i in 0..n {
        a[i] = x[i] * y;
        if a[i] > cap {
            st.mark(0);
            return a[i] + a.iter().sum::<f64>();
        }
        st.mark(1);
    }
    a.iter().sum::<f64>() * y
}

#[differentiable(x; forward)]
fn pair_products_until(x: &[f64], cap: f64) -> f64 {
    let n = x.len();
    let mut a = Vec::new();
    let mut acc = 0.0;
    'outer: for i in 0..n {
        for j in 0..n {
            acc += x[i] * x[j];
            a.push(acc);
            if acc > cap {
                break 'outer;
            }
            if j > i {
                continue 'outer;
            }
        }
    }
    dot(&a, &a)
}

fn pair_products_until_copy(x: &[f64], cap: f64, st: &mut Sites) -> f64 {
    let n = x.len();
    let mut a = Vec::new();
    let mut acc = 0.0;
    'outer: for i in 0..n {
        for j in 0..n {
            acc += x[i] * x[j];
            a.push(acc);
            if acc > cap {
                st.mark(0);
                break 'outer;
            }
            st.mark(1);
            if j > i {
                continue 'outer;
            }
        }
    }
    dot(&a, &a)
}

#[test]
fn early_exits_from_loops_that_fill_arrays() {
    let mut rng = Rng::new(36);
    for n in [1usize, 3, 6] {
        for _ in 0..8 {
            let x = rng.vec(n, -1.5, 1.5);
            let y = rng.uniform(0.5, 1.5);
            let cap = rng.uniform(0.0, 2.0);
            let (v, (gx, gy)) = first_passage_grad(&x, y, cap);
            let copy = |p: &[f64], st: &mut Sites| first_passage_copy(p, cap, st);
            let flat = [&x[..], &[y]].concat();
            let grad = [&gx[..], &[gy]].concat();
            check_sites(
                "first_passage",
                &copy,
                &[MARK, MARK],
                &[n, 1],
                &flat,
                first_passage(black_box(&x), y, cap),
                (v, &grad),
                &|dir: &[f64]| first_passage_jvp(&x, y, cap, &dir[..n], dir[n]),
                &mut rng,
            );

            let (v, g) = pair_products_until_grad(&x, 2.0 * cap);
            let copy = |p: &[f64], st: &mut Sites| pair_products_until_copy(p, 2.0 * cap, st);
            check_sites(
                "pair_products_until",
                &copy,
                &[MARK, MARK],
                &[n],
                &x,
                pair_products_until(black_box(&x), 2.0 * cap),
                (v, &g),
                &|dir: &[f64]| pair_products_until_jvp(&x, 2.0 * cap, dir),
                &mut rng,
            );
        }
    }
}
/// Runtime array functions with constant arguments that are not array
/// variables (a `mut` parameter, a collected `Vec`, a range slice).
#[differentiable(x; forward)]
fn dot_with_constant_data(x: &[f64], mut w: Vec<f64>, ws: &[f64]) -> f64 {
    w[0] += 1.0;
    let v: Vec<f64> = ws.iter().map(|t| t * 2.0).collect();
    dot(x, &w) + dot(&v, x) + dot(x, &ws[..1]) + sum(&ws[1..])
}
#[test]
fn array_functions_of_constant_data() {
    let x = [0.5, 1.5];
    let (v, g) = dot_with_constant_data_grad(&x, vec![2.0, 3.0], &[1.0, 4.0]);
    assert_eq!(v, dot_with_constant_data(&x, vec![2.0, 3.0], &[1.0, 4.0]));
    assert_eq!(g, vec![3.0 + 2.0 + 1.0, 3.0 + 8.0]);
    let jvp = |dir: &[f64]| dot_with_constant_data_jvp(&x, vec![2.0, 3.0], &[1.0, 4.0], dir);
    assert_jvp_plain("dot_with_constant_data", v, &g, &jvp, &mut Rng::new(37));
}
