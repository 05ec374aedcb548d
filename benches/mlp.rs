//! A one-hidden-layer network's mean squared error: the gradient with the
//! parameters in a `#[derive(Differentiable)]` struct, written four ways
//! (fields indexed, a `predict` method per sample, a `hidden` layer helper
//! returning a `Vec` per sample, rows of the weight matrix by
//! `iter().zip()`), against the same network with flat slices and against
//! backpropagation by hand, in one run. `cargo bench --bench mlp`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
mod networks;
use networks::*;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp");
    for (d, h, n) in [(4, 16, 64), (32, 64, 256)] {
        let (net, xs, ys) = setup(d, h, n);
        let flat: Vec<f64> = net.w1.concat();
        let id = format!("d{d}_h{h}_n{n}");
        group.bench_function(BenchmarkId::new("value", &id), |b| {
            b.iter(|| loss_struct(black_box(&net), &xs, &ys))
        });
        group.bench_function(BenchmarkId::new("grad_struct", &id), |b| {
            b.iter(|| loss_struct_grad(black_box(&net), &xs, &ys))
        });
        group.bench_function(BenchmarkId::new("grad_struct_method", &id), |b| {
            b.iter(|| loss_method_grad(black_box(&net), &xs, &ys))
        });
        group.bench_function(BenchmarkId::new("grad_struct_layer", &id), |b| {
            b.iter(|| loss_layer_grad(black_box(&net), &xs, &ys))
        });
        group.bench_function(BenchmarkId::new("grad_struct_zip", &id), |b| {
            b.iter(|| loss_zip_grad(black_box(&net), &xs, &ys))
        });
        group.bench_function(BenchmarkId::new("grad_flat", &id), |b| {
            b.iter(|| loss_flat_grad(black_box(&flat), &net.b1, &net.w2, net.b2, &xs, &ys))
        });
        group.bench_function(BenchmarkId::new("grad_by_hand", &id), |b| {
            b.iter(|| loss_by_hand(black_box(&net), &xs, &ys))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
