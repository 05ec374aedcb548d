//! A gradient summed over a data set, in one sequential call and in one
//! shard per rayon thread, the shards' gradients added with the parameter
//! struct's `accumulate` (the network and loss of
//! `examples/rayon_shards.rs`). `cargo bench --bench rayon_shards`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Normal, StandardNormal};
use rayon::prelude::*;
use sgrad::{differentiable, Differentiable};

const D: usize = 8;
const H: usize = 16;

#[derive(Clone, Debug, Differentiable)]
struct Net {
    w1: Vec<Vec<f64>>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: f64,
}

/// The squared error summed over the points given.
#[differentiable(net)]
#[allow(clippy::needless_range_loop)] // sgrad differentiates indexed loops
fn sum_sq_error(net: &Net, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let mut out = net.b2;
        for j in 0..net.b1.len() {
            let mut a = net.b1[j];
            for i in 0..xs[n].len() {
                a += net.w1[j][i] * xs[n][i];
            }
            out += net.w2[j] * a.tanh();
        }
        let r = out - ys[n];
        loss += r * r;
    }
    loss
}

/// One shard per thread, gradients summed.
fn parallel_grad(net: &Net, xs: &[Vec<f64>], ys: &[f64], shards: usize) -> (f64, Net) {
    let size = xs.len().div_ceil(shards).max(1);
    xs.par_chunks(size)
        .zip(ys.par_chunks(size))
        .map(|(x, y)| sum_sq_error_grad(net, x, y))
        .reduce(
            || (0.0, net.zeros_like()),
            |(loss_a, mut grad_a), (loss_b, grad_b)| {
                grad_a.accumulate(&grad_b);
                (loss_a + loss_b, grad_a)
            },
        )
}

/// A network with N(0, 1/fan-in) weights and `n` standard normal inputs
/// with standard normal targets (the values do not change the work).
fn setup(n: usize) -> (Net, Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(0x5eed_5a4d);
    let layer1 = Normal::new(0.0, (1.0 / D as f64).sqrt()).unwrap();
    let layer2 = Normal::new(0.0, (1.0 / H as f64).sqrt()).unwrap();
    let net = Net {
        w1: (0..H)
            .map(|_| (0..D).map(|_| rng.sample(layer1)).collect())
            .collect(),
        b1: (0..H).map(|_| rng.sample(layer1)).collect(),
        w2: (0..H).map(|_| rng.sample(layer2)).collect(),
        b2: 0.0,
    };
    let xs = (0..n)
        .map(|_| (0..D).map(|_| rng.sample(StandardNormal)).collect())
        .collect();
    let ys = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    (net, xs, ys)
}

fn bench(c: &mut Criterion) {
    let threads = rayon::current_num_threads();
    let mut group = c.benchmark_group("rayon_shards");
    for n in [1_000, 10_000, 100_000] {
        let (net, xs, ys) = setup(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("sequential", n), |b| {
            b.iter(|| sum_sq_error_grad(black_box(&net), &xs, &ys))
        });
        group.bench_function(
            BenchmarkId::new(format!("parallel_{threads}_shards"), n),
            |b| b.iter(|| parallel_grad(black_box(&net), &xs, &ys, threads)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
