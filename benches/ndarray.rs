//! A least-squares loss ½‖A x − y‖², its gradient with respect to the
//! matrix and the vector: on `ndarray` arrays (`&Array2<f64>`,
//! `ArrayView1<f64>`), the same function on slices (`&[Vec<f64>]`,
//! `&[f64]`), and a hand-written gradient, in one run.
//! `cargo bench --features ndarray --bench ndarray`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::{Array1, Array2, ArrayView1};
use sgrad::differentiable;

#[differentiable(a, x)]
fn loss_nd(a: &Array2<f64>, x: ArrayView1<f64>, y: ArrayView1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..a.nrows() {
        let mut r = -y[i];
        for j in 0..a.ncols() {
            r += a[[i, j]] * x[j];
        }
        s += 0.5 * r * r;
    }
    s
}

#[differentiable(a, x)]
fn loss_slices(a: &[Vec<f64>], x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        let mut r = -y[i];
        for j in 0..x.len() {
            r += a[i][j] * x[j];
        }
        s += 0.5 * r * r;
    }
    s
}

/// ∂/∂A = r xᵀ, ∂/∂x = Aᵀ r with r = A x − y, one pass over A each.
fn loss_grad_by_hand(
    a: &Array2<f64>,
    x: ArrayView1<f64>,
    y: ArrayView1<f64>,
) -> (f64, (Array2<f64>, Array1<f64>)) {
    let (m, n) = a.dim();
    let mut s = 0.0;
    let mut ga = Array2::zeros((m, n));
    let mut gx = Array1::zeros(n);
    for i in 0..m {
        let mut r = -y[i];
        for j in 0..n {
            r += a[[i, j]] * x[j];
        }
        s += 0.5 * r * r;
        for j in 0..n {
            ga[[i, j]] = r * x[j];
            gx[j] += a[[i, j]] * r;
        }
    }
    (s, (ga, gx))
}

fn problem(m: usize, n: usize) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let a = Array2::from_shape_fn((m, n), |(i, j)| ((i * n + j) as f64 * 0.37).sin());
    let x = Array1::from_shape_fn(n, |j| 1.0 + 0.5 * (j as f64 * 0.7).cos());
    let y = Array1::from_shape_fn(m, |i| (i as f64 * 0.3).sin());
    (a, x, y)
}

fn as_rows(a: &Array2<f64>) -> Vec<Vec<f64>> {
    a.rows().into_iter().map(|r| r.to_vec()).collect()
}

fn bench(c: &mut Criterion) {
    // The three agree before anything is timed.
    let (a, x, y) = problem(7, 5);
    let (v, (ga, gx)) = loss_nd_grad(&a, x.view(), y.view());
    assert_eq!(v, loss_nd(&a, x.view(), y.view()));
    let rows = as_rows(&a);
    let (vs, (gas, gxs)) = loss_slices_grad(&rows, x.as_slice().unwrap(), y.as_slice().unwrap());
    let (vh, (gah, gxh)) = loss_grad_by_hand(&a, x.view(), y.view());
    assert_eq!(v, vs);
    assert!((v - vh).abs() <= 1e-12 * v.abs());
    for ((i, j), g) in ga.indexed_iter() {
        assert_eq!(*g, gas[i][j]);
        assert!((g - gah[[i, j]]).abs() <= 1e-12 * g.abs().max(1.0));
    }
    for (j, g) in gx.iter().enumerate() {
        assert_eq!(*g, gxs[j]);
        assert!((g - gxh[j]).abs() <= 1e-12 * g.abs().max(1.0));
    }

    let mut group = c.benchmark_group("ndarray");
    for n in [16, 256] {
        let (a, x, y) = problem(n, n);
        let rows = as_rows(&a);
        let (xs, ys) = (x.to_vec(), y.to_vec());
        group.bench_with_input(BenchmarkId::new("value_ndarray", n), &n, |b, _| {
            b.iter(|| loss_nd(black_box(&a), black_box(x.view()), black_box(y.view())))
        });
        group.bench_with_input(BenchmarkId::new("grad_ndarray", n), &n, |b, _| {
            b.iter(|| loss_nd_grad(black_box(&a), black_box(x.view()), black_box(y.view())))
        });
        group.bench_with_input(BenchmarkId::new("grad_slices", n), &n, |b, _| {
            b.iter(|| loss_slices_grad(black_box(&rows), black_box(&xs), black_box(&ys)))
        });
        group.bench_with_input(BenchmarkId::new("grad_by_hand", n), &n, |b, _| {
            b.iter(|| loss_grad_by_hand(black_box(&a), black_box(x.view()), black_box(y.view())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
