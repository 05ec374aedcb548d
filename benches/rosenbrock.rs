//! Rosenbrock on `&[f64]`: the generated gradient against a hand-written one,
//! num-dual's forward mode (n = 1000 only) and the objective alone, in one
//! run. `cargo bench --bench rosenbrock`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use num_dual::{DualDVec64, DualNum};
use sgrad::differentiable;

#[differentiable(x)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    s
}

/// The same function as users often write it: named temporaries, `a * a`.
#[differentiable(x)]
fn rosenbrock_let(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// And once more with a counter for the next index and the sum written out.
#[allow(clippy::explicit_counter_loop)]
#[differentiable(x)]
fn rosenbrock_counter(x: &[f64]) -> f64 {
    let n = x.len();
    let mut total = 0.0;
    let mut j = 1;
    for i in 0..n - 1 {
        let t1 = x[j] - x[i].powi(2);
        let t2 = 1.0 - x[i];
        total = total + 100.0 * t1 * t1 + t2 * t2;
        j += 1;
    }
    total
}

/// ∂/∂xᵢ of Σ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)², written by hand as well as we
/// can: pairs walked without bounds checks, the output written once per
/// element, the part of xᵢ₊₁'s derivative from term i carried in a register
/// to the next iteration.
fn rosenbrock_grad_by_hand(x: &[f64]) -> (f64, Vec<f64>) {
    let n = x.len();
    let mut s = 0.0;
    let mut g = vec![0.0; n];
    let mut carry = 0.0;
    for (gi, w) in g.iter_mut().zip(x.windows(2)) {
        let (xi, xn) = (w[0], w[1]);
        let a = xn - xi * xi;
        let b = 1.0 - xi;
        s += 100.0 * a * a + b * b;
        *gi = carry - 400.0 * a * xi - 2.0 * b;
        carry = 200.0 * a;
    }
    if let Some(last) = g.last_mut() {
        *last = carry;
    }
    (s, g)
}

/// Rosenbrock again, on num-dual's dynamically sized dual vectors: n = 1000
/// derivative directions per number are too many for a fixed-size one on the
/// stack.
fn rosenbrock_dual(x: &[DualDVec64]) -> DualDVec64 {
    let mut s = DualDVec64::from_re(0.0);
    for i in 0..x.len() - 1 {
        let a = &x[i + 1] - &x[i] * &x[i];
        let b = -&x[i] + 1.0;
        s += a.powi(2) * 100.0 + b.powi(2);
    }
    s
}

/// num-dual's full gradient in one forward sweep, the variables seeded as
/// `num_dual::gradient` seeds them (which takes nalgebra vectors, not one of
/// our dependencies).
fn rosenbrock_grad_num_dual(x: &[f64]) -> (f64, Vec<f64>) {
    let n = x.len();
    let xs: Vec<DualDVec64> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| DualDVec64::from_re(v).derivative(n, i))
        .collect();
    let r = rosenbrock_dual(&xs);
    let g = r
        .eps
        .0
        .map_or_else(|| vec![0.0; n], |e| e.as_slice().to_vec());
    (r.re, g)
}

fn point(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 1.0 + 0.5 * ((i as f64) * 0.7).sin())
        .collect()
}

fn bench(c: &mut Criterion) {
    let x = point(50);
    let (v, g) = rosenbrock_grad(&x);
    let (hv, hg) = rosenbrock_grad_by_hand(&x);
    let (nv, ng) = rosenbrock_grad_num_dual(&x);
    assert_eq!(v, rosenbrock(&x));
    assert!((v - hv).abs() <= 1e-12 * v.abs());
    assert!((v - nv).abs() <= 1e-12 * v.abs());
    let (_, lg) = rosenbrock_let_grad(&x);
    let (_, cg) = rosenbrock_counter_grad(&x);
    assert_eq!(rosenbrock_let(&x), rosenbrock_counter(&x));
    let all = g.iter().chain(&ng).chain(&lg).chain(&cg);
    for (a, b) in all.zip(hg.iter().cycle()) {
        assert!((a - b).abs() <= 1e-10 * b.abs().max(1.0), "{a} vs {b}");
    }

    let mut group = c.benchmark_group("rosenbrock");
    for n in [10, 1_000, 100_000] {
        let x = point(n);
        group.bench_with_input(BenchmarkId::new("value", n), &x, |b, x| {
            b.iter(|| rosenbrock(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("grad_sgrad", n), &x, |b, x| {
            b.iter(|| rosenbrock_grad(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("grad_sgrad_let", n), &x, |b, x| {
            b.iter(|| rosenbrock_let_grad(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("grad_sgrad_counter", n), &x, |b, x| {
            b.iter(|| rosenbrock_counter_grad(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("grad_by_hand", n), &x, |b, x| {
            b.iter(|| rosenbrock_grad_by_hand(black_box(x)))
        });
        if n == 1_000 {
            group.bench_with_input(BenchmarkId::new("grad_num_dual", n), &x, |b, x| {
                b.iter(|| rosenbrock_grad_num_dual(black_box(x)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
