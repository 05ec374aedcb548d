//! Iterator chains over arrays (`zip`, `map`, `enumerate`, `copied`, `sum`,
//! `product`, `fold`, `collect`), lowered to the loops they stand for. Each
//! function is checked against central differences of its frozen program
//! (`sg` / `sg_for!` sites frozen per occurrence, as in `fd_loops.rs`), the
//! dot-product identity with its `_jvp`, and its value bit for bit.

// The loops index rows on purpose: it is the form being differentiated.
#![allow(clippy::needless_range_loop)]

use sgrad::{differentiable, sg, sg_for};
use std::hint::black_box;

mod common;
use common::per_occurrence::{Oracle, Sites};
use common::{assert_bits, Cut, Rng};

/// A dot product, `zip` over a bare slice.
#[differentiable(w; forward)]
fn dot_zip(w: &[f64], x: &[f64]) -> f64 {
    w.iter().zip(x).map(|(a, b)| a * b).sum()
}

/// Norms and log-sum-exp written as chains, with turbofish and methods after.
#[differentiable(w; forward)]
fn norms(w: &[f64], x: &[f64]) -> f64 {
    let l2 = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let lse = w.iter().copied().map(|v| v.exp()).sum::<f64>().ln();
    let weighted: f64 = w.iter().zip(x.iter()).map(|(a, b)| a * b.sin()).sum();
    l2 + lse + weighted
}

/// `enumerate`, `fold`, a range, and two `map`s into a product.
#[differentiable(w; forward)]
fn shapes(w: &[f64], x: &[f64]) -> f64 {
    let ramp: f64 = w
        .iter()
        .enumerate()
        .map(|(i, v)| v * (i as f64 + 0.5))
        .sum();
    let folded = w.iter().fold(0.25, |acc, v| acc * 0.9 + v.powi(2));
    let ranged: f64 = (0..w.len()).map(|i| w[i] * x[i]).sum();
    let prod: f64 = w.iter().map(|v| v.tanh()).map(|t| 1.0 + t * t).product();
    ramp + folded + ranged + prod
}

/// `collect` into a local `Vec`, then read back.
#[differentiable(w; forward)]
fn collected(w: &[f64], x: &[f64]) -> f64 {
    let h: Vec<f64> = w.iter().zip(x).map(|(a, b)| (a + b).tanh()).collect();
    let mut s = 0.0;
    for i in 0..h.len() {
        s += h[i] * h[h.len() - 1 - i];
    }
    s
}

/// Chains inside a loop, over rows, with stops in the closures.
#[differentiable(w, c; forward)]
fn rows_with_stops(w: &[f64], c: f64, xs: &[Vec<f64>]) -> f64 {
    let mut total = 0.0;
    for r in 0..xs.len() {
        let z: f64 = xs[r].iter().zip(w).map(|(a, b)| a * b + sg(c * b)).sum();
        let q: f64 = w.iter().map(|b| sg_for!(w, b * c) + c).sum();
        total += z.tanh() * q;
    }
    total
}

/// `w` and `c` flattened for the oracle.
fn split(p: &[f64]) -> (&[f64], f64) {
    (&p[..p.len() - 1], p[p.len() - 1])
}

type Grad = fn(&[f64], &[f64]) -> (f64, Vec<f64>);
type Jvp = fn(&[f64], &[f64], &[f64]) -> (f64, f64);

#[track_caller]
fn check_one(name: &str, f: fn(&[f64], &[f64]) -> f64, grad: Grad, jvp: Jvp, rng: &mut Rng) {
    // (n = 0 in `an_empty_sum_..`: `norms` is −∞ there.)
    for n in [1, 2, 5] {
        let w = rng.vec(n, -1.2, 1.2);
        let x = rng.vec(n, -1.2, 1.2);
        let (v, g) = grad(&w, &x);
        let copy = |p: &[f64], _: &mut Sites| f(p, &x);
        let oracle = Oracle {
            name,
            copy: &copy,
            sites: &[],
            shape: &[n],
        };
        oracle.check_all(&w, f(black_box(&w), &x), (v, &g), &|d| jvp(&w, &x, d), rng);
    }
}

#[test]
fn chains_against_differences() {
    let mut rng = Rng::new(5);
    check_one("dot_zip", dot_zip, dot_zip_grad, dot_zip_jvp, &mut rng);
    check_one("norms", norms, norms_grad, norms_jvp, &mut rng);
    check_one("shapes", shapes, shapes_grad, shapes_jvp, &mut rng);
    check_one(
        "collected",
        collected,
        collected_grad,
        collected_jvp,
        &mut rng,
    );
}

#[test]
fn an_empty_sum_is_negative_zero_as_in_std() {
    let (v, g) = dot_zip_grad(&[], &[]);
    assert_bits("empty sum", dot_zip(&[], &[]), v);
    assert!(v.is_sign_negative() && g.is_empty());
    // The one-array fast path too.
    #[differentiable(w)]
    fn plain_sum(w: &[f64]) -> f64 {
        w.iter().sum()
    }
    assert_bits("[-0.0]", plain_sum(&[-0.0]), plain_sum_grad(&[-0.0]).0);
    assert_bits("[]", plain_sum(&[]), plain_sum_grad(&[]).0);
}

#[test]
fn chains_with_stops_against_the_frozen_program() {
    let mut rng = Rng::new(6);
    for (n, rows) in [(1, 1), (3, 2), (4, 3)] {
        let w = rng.vec(n, -1.0, 1.0);
        let c = rng.uniform(-1.0, 1.0);
        let xs: Vec<Vec<f64>> = (0..rows).map(|_| rng.vec(n, -1.0, 1.0)).collect();
        let (v, (gw, gc)) = rows_with_stops_grad(&w, c, &xs);
        // The frozen program: site 0 (`sg`) cuts both variables, site 1
        // (`sg_for!(w, ..)`) cuts w only.
        let copy = |p: &[f64], s: &mut Sites| {
            let (w, c) = split(p);
            let mut total = 0.0;
            for r in 0..xs.len() {
                let z: f64 = xs[r]
                    .iter()
                    .zip(w)
                    .map(|(a, b)| a * b + s.cut(0, c * b))
                    .sum();
                let q: f64 = w.iter().map(|b| s.cut(1, b * c) + c).sum();
                total += z.tanh() * q;
            }
            total
        };
        let sites = [Cut::All, Cut::For(&[0])];
        let oracle = Oracle {
            name: "rows_with_stops",
            copy: &copy,
            sites: &sites,
            shape: &[n, 1],
        };
        let mut p = w.clone();
        p.push(c);
        let mut g = gw.clone();
        g.push(gc);
        let jvp = |d: &[f64]| {
            let (dw, dc) = split(d);
            rows_with_stops_jvp(&w, c, &xs, dw, dc)
        };
        oracle.check_all(
            &p,
            rows_with_stops(black_box(&w), c, &xs),
            (v, &g),
            &jvp,
            &mut rng,
        );
    }
}

/// Closures bound with `let` and called in the body: inlined at each call.
#[differentiable(w; forward)]
fn with_closures(w: &[f64], x: &[f64]) -> f64 {
    let scale = 0.5 + w[0] * w[0];
    let act = |z: f64| (z * scale).tanh();
    let pair = |a: f64, b: f64| a * b + act(a - b);
    let mut s = 0.0;
    for i in 0..w.len() {
        s += pair(w[i], x[i]) + act(act(w[i]));
    }
    let norm = w.iter().map(|v| act(*v)).sum::<f64>();
    s * norm
}

#[test]
fn closures_called_in_the_body() {
    let mut rng = Rng::new(7);
    check_one(
        "with_closures",
        with_closures,
        with_closures_grad,
        with_closures_jvp,
        &mut rng,
    );
}

/// A closure capturing a differentiated value, called without arguments.
#[differentiable(x; forward)]
fn captured(x: &[f64], y: &[f64]) -> f64 {
    let scaled = || x[0] * 2.0;
    let square = |t: f64| t * t;
    square(scaled()) + y[0] * scaled()
}

#[test]
fn closures_capturing_and_squaring() {
    let mut rng = Rng::new(8);
    check_one("captured", captured, captured_grad, captured_jvp, &mut rng);
}

/// A recurrent state replaced each step: `h = next`, `copy_from_slice`,
/// `std::mem::swap`.
#[differentiable(w; forward)]
fn recurrent(w: &[f64], xs: &[f64]) -> f64 {
    let n = w.len();
    let mut h = vec![0.0; n];
    let mut spare = vec![0.0; n];
    for t in 0..xs.len() {
        let mut next = vec![0.0; n];
        for i in 0..n {
            next[i] = (w[i] * h[(i + 1) % n] + xs[t] + 0.1 * spare[i]).tanh();
        }
        if t % 2 == 0 {
            h = next;
        } else {
            h.copy_from_slice(&next);
            std::mem::swap(&mut h, &mut spare);
            std::mem::swap(&mut spare, &mut h);
            std::mem::swap(&mut spare, &mut h);
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += h[i] * w[i] + spare[i];
    }
    s
}

#[test]
fn a_recurrent_state_replaced_each_step() {
    let mut rng = Rng::new(9);
    check_one(
        "recurrent",
        recurrent,
        recurrent_grad,
        recurrent_jvp,
        &mut rng,
    );
}
