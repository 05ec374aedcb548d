//! A gradient summed over a data set, in one sequential call and in one
//! shard per rayon thread, the shards' gradients added with the parameter
//! struct's `accumulate` (the network and loss of
//! `examples/rayon_shards.rs`). `cargo bench --bench rayon_shards`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

mod shards;
use shards::*;

/// A network with N(0, 1/fan-in) weights and `n` standard normal inputs
/// with standard normal targets (the values do not change the work).
fn setup(n: usize) -> (Net, Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(0x5eed_5a4d);
    let net = Net::random(&mut rng);
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
