//! The `recompute` option (`#[differentiable(x; recompute)]`): loops record
//! only the values they carry from one iteration to the next and compute the
//! rest of an iteration again in the backward sweep. Each function is checked
//! against central differences, its value bit for bit against the plain
//! function, and its gradient against the same function without the option.

// Written the way the equations read (`y = y + dt * f`).
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

use sgrad::differentiable;
use std::hint::black_box;

mod common;
use common::{assert_bits, assert_directional, Rng, F64};

/// An explicit Euler integration: the tape holds one value per step.
#[differentiable(k, y0; recompute)]
fn euler(k: f64, y0: f64, n: usize) -> f64 {
    let mut y = y0;
    let dt = 0.01;
    for _ in 0..n {
        let f = -k * y * y.sin().exp();
        y = y + dt * f;
    }
    y
}

#[differentiable(k, y0)]
fn euler_taped(k: f64, y0: f64, n: usize) -> f64 {
    let mut y = y0;
    let dt = 0.01;
    for _ in 0..n {
        let f = -k * y * y.sin().exp();
        y = y + dt * f;
    }
    y
}

/// Two carried values, a branch and a `while` loop.
#[differentiable(a, b; recompute)]
fn oscillator(a: f64, b: f64, steps: usize) -> f64 {
    let (mut p, mut q) = (a, b);
    let mut t = 0;
    while t < steps {
        let r = (p * p + q * q).sqrt();
        let s = if r > 1.0 { r.ln() } else { r * r };
        let np = p + 0.05 * q - 0.01 * s * p;
        q = q - 0.05 * p.tanh();
        p = np;
        t += 1;
    }
    p * q
}

#[differentiable(a, b)]
fn oscillator_taped(a: f64, b: f64, steps: usize) -> f64 {
    let (mut p, mut q) = (a, b);
    let mut t = 0;
    while t < steps {
        let r = (p * p + q * q).sqrt();
        let s = if r > 1.0 { r.ln() } else { r * r };
        let np = p + 0.05 * q - 0.01 * s * p;
        q = q - 0.05 * p.tanh();
        p = np;
        t += 1;
    }
    p * q
}

/// A recurrence over an array parameter, with an inner loop.
#[differentiable(w; recompute)]
fn recurrence(w: &[f64], xs: &[f64]) -> f64 {
    let mut h = 0.0;
    for t in 0..xs.len() {
        let mut z = 0.0;
        for j in 0..w.len() {
            z += w[j] * (xs[t] + j as f64).cos();
        }
        h = (h * w[0] + z).tanh();
    }
    h
}

#[differentiable(w)]
fn recurrence_taped(w: &[f64], xs: &[f64]) -> f64 {
    let mut h = 0.0;
    for t in 0..xs.len() {
        let mut z = 0.0;
        for j in 0..w.len() {
            z += w[j] * (xs[t] + j as f64).cos();
        }
        h = (h * w[0] + z).tanh();
    }
    h
}

#[track_caller]
fn same_gradient(what: &str, a: &[f64], b: &[f64]) {
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= 1e-14 * y.abs().max(1.0),
            "{what}: recompute {a:?} vs taped {b:?}"
        );
    }
}

#[test]
fn euler_against_differences() {
    let mut rng = Rng::new(1);
    for n in [0, 1, 7, 300] {
        for _ in 0..5 {
            let (k, y0) = (rng.uniform(0.1, 2.0), rng.uniform(-2.0, 2.0));
            let (v, (gk, gy)) = euler_grad(k, y0, n);
            assert_bits("euler", euler(black_box(k), y0, n), v);
            let (_, (tk, ty)) = euler_taped_grad(k, y0, n);
            same_gradient("euler", &[gk, gy], &[tk, ty]);
            let p = |x: &[f64]| euler(x[0], x[1], n);
            let dir = [rng.normal(), rng.normal()];
            let got = gk * dir[0] + gy * dir[1];
            assert_directional("euler", &p, &[k, y0], &dir, got, F64);
        }
    }
}

#[test]
fn oscillator_against_differences() {
    let mut rng = Rng::new(2);
    for steps in [0, 1, 5, 80] {
        for _ in 0..5 {
            let (a, b) = (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5));
            let (v, (ga, gb)) = oscillator_grad(a, b, steps);
            assert_bits("oscillator", oscillator(black_box(a), b, steps), v);
            let (_, (ta, tb)) = oscillator_taped_grad(a, b, steps);
            same_gradient("oscillator", &[ga, gb], &[ta, tb]);
            let p = |x: &[f64]| oscillator(x[0], x[1], steps);
            let dir = [rng.normal(), rng.normal()];
            assert_directional(
                "oscillator",
                &p,
                &[a, b],
                &dir,
                ga * dir[0] + gb * dir[1],
                F64,
            );
        }
    }
}

#[test]
fn recurrence_against_differences() {
    let mut rng = Rng::new(3);
    for (d, t) in [(1, 1), (3, 4), (5, 40)] {
        let w = rng.vec(d, -0.8, 0.8);
        let xs = rng.vec(t, -2.0, 2.0);
        let (v, g) = recurrence_grad(&w, &xs);
        assert_bits("recurrence", recurrence(black_box(&w), &xs), v);
        let (_, tg) = recurrence_taped_grad(&w, &xs);
        same_gradient("recurrence", &g, &tg);
        let p = |x: &[f64]| recurrence(x, &xs);
        let dir: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        let got: f64 = g.iter().zip(&dir).map(|(a, b)| a * b).sum();
        assert_directional("recurrence", &p, &w, &dir, got, F64);
    }
}
