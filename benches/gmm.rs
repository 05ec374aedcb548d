//! The ADBench / GradBench GMM objective (`benches/gmm/mod.rs`): its value,
//! the gradient sgrad generates from it and a gradient derived by hand, for
//! (d, K, n) = (2, 5, 1000), (10, 25, 1000), (20, 50, 1000) and (64, 5, 1000),
//! on `Vec<Vec<f64>>` rows and on flat slices (`gmm_objective_flat`).
//! `cargo bench --bench gmm`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[path = "gmm/mod.rs"]
mod gmm;

use gmm::{
    flatten, gmm_grad_by_hand, gmm_instance, gmm_objective, gmm_objective_flat_grad,
    gmm_objective_grad,
};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("gmm");
    for (d, k, n) in [(2, 5, 1000), (10, 25, 1000), (20, 50, 1000), (64, 5, 1000)] {
        let (alphas, means, icf, data) = gmm_instance(d, k, n, 42);
        let (x, gamma, m) = (&data.x, data.gamma, f64::from(data.m));
        let size = format!("d{d}_K{k}_n{n}");

        // The two agree before anything is timed.
        let v = gmm_objective(&alphas, &means, &icf, x, gamma, m);
        let (hv, ha, ..) = gmm_grad_by_hand(&alphas, &means, &icf, x, gamma, m);
        let (gv, (ga, ..)) = gmm_objective_grad(&alphas, &means, &icf, x, gamma, m);
        assert!((v - hv).abs() <= 1e-12 * v.abs(), "{v} vs {hv}");
        assert_eq!(v, gv);
        assert!((ga[0] - ha[0]).abs() <= 1e-9 * ha[0].abs().max(1.0));
        let (mf, icff, xf) = (flatten(&means), flatten(&icf), flatten(x));
        let (fv, (fa, ..)) = gmm_objective_flat_grad(d, &alphas, &mf, &icff, &xf, gamma, m);
        assert!((fv - hv).abs() <= 1e-12 * v.abs(), "{fv} vs {hv}");
        assert!((fa[0] - ha[0]).abs() <= 1e-9 * ha[0].abs().max(1.0));

        group.bench_function(BenchmarkId::new("value", &size), |b| {
            b.iter(|| {
                gmm_objective(
                    black_box(&alphas),
                    black_box(&means),
                    black_box(&icf),
                    black_box(x),
                    gamma,
                    m,
                )
            })
        });
        group.bench_function(BenchmarkId::new("grad_sgrad", &size), |b| {
            b.iter(|| {
                gmm_objective_grad(
                    black_box(&alphas),
                    black_box(&means),
                    black_box(&icf),
                    black_box(x),
                    gamma,
                    m,
                )
            })
        });
        group.bench_function(BenchmarkId::new("grad_sgrad_flat", &size), |b| {
            b.iter(|| {
                gmm_objective_flat_grad(
                    d,
                    black_box(&alphas),
                    black_box(&mf),
                    black_box(&icff),
                    black_box(&xf),
                    gamma,
                    m,
                )
            })
        });
        group.bench_function(BenchmarkId::new("grad_by_hand", &size), |b| {
            b.iter(|| {
                gmm_grad_by_hand(
                    black_box(&alphas),
                    black_box(&means),
                    black_box(&icf),
                    black_box(x),
                    gamma,
                    m,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
