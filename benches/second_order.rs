//! Dense Hessians of Rosenbrock by forward-over-reverse: one `Dual` sweep
//! per column (`hessian`) against `N` columns per sweep on `DualVec`
//! (`hessian_chunked`), and the hand-derived tridiagonal Hessian, in one run.
//! `cargo bench --bench second_order`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sgrad::{differentiable, hessian, hessian_chunked, Dual, DualVec, Real};

#[differentiable(x)]
fn rosenbrock<T: Real>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = T::one() - x[i];
        s += T::from_f64(100.0) * a * a + b * b;
    }
    s
}

/// The Hessian written out: 1200 xᵢ² − 400 xᵢ₊₁ + 2 and 200 on the
/// diagonal, −400 xᵢ beside it.
fn rosenbrock_hessian_by_hand(x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        h[i][i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[i + 1][i + 1] += 200.0;
        h[i][i + 1] = -400.0 * x[i];
        h[i + 1][i] = -400.0 * x[i];
    }
    h
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("hessian");
    for n in [8, 32] {
        let x: Vec<f64> = (0..n).map(|i| 0.5 + 0.3 * (i as f64).sin()).collect();
        let by_columns = hessian(|x: &[Dual<f64>]| rosenbrock_grad(x).1, &x);
        let chunked = hessian_chunked(|x: &[DualVec<f64, 8>]| rosenbrock_grad(x).1, &x);
        assert_eq!(by_columns, chunked);
        let by_hand = rosenbrock_hessian_by_hand(&x);
        for (a, b) in by_columns.iter().flatten().zip(by_hand.iter().flatten()) {
            assert!((a - b).abs() <= 1e-10 * b.abs().max(1.0));
        }
        group.bench_with_input(BenchmarkId::new("dual_per_column", n), &x, |b, x| {
            b.iter(|| hessian(|x: &[Dual<f64>]| rosenbrock_grad(x).1, black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("dualvec_8_columns", n), &x, |b, x| {
            b.iter(|| hessian_chunked(|x: &[DualVec<f64, 8>]| rosenbrock_grad(x).1, black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("by_hand", n), &x, |b, x| {
            b.iter(|| rosenbrock_hessian_by_hand(black_box(x)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
