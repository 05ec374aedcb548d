//! Data parallelism: the gradient of a loss summed over a large data set,
//! computed shard by shard on all cores with `rayon`, the shards' gradients
//! added with the arithmetic `#[derive(Differentiable)]` gives a parameter
//! struct (`zeros_like`, `accumulate`, `scale`, `axpy`).
//!
//! ```text
//! ∇ Σₙ ℓ(net; xₙ, yₙ) = Σ_shards ∇ Σ_{n ∈ shard} ℓ(net; xₙ, yₙ)
//! ```
//!
//! The example checks that the parallel gradient equals the sequential one
//! up to rounding (the sums are added in another order), times both, and
//! then trains a network on minibatches whose gradients are computed the
//! same way. `cargo run --release --example rayon_shards`

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Normal, StandardNormal};
use rayon::prelude::*;
use sgrad::{differentiable, Differentiable};

/// Inputs per point.
const D: usize = 8;
/// Hidden units.
const H: usize = 16;

/// One hidden layer of `tanh` units: out = b2 + Σⱼ w2[j] tanh(b1[j] + w1[j]·x).
#[derive(Clone, Debug, Differentiable)]
struct Net {
    w1: Vec<Vec<f64>>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: f64,
}

impl Net {
    /// Weights drawn from N(0, 1/fan-in).
    fn random(rng: &mut StdRng) -> Net {
        let layer1 = Normal::new(0.0, (1.0 / D as f64).sqrt()).unwrap();
        let layer2 = Normal::new(0.0, (1.0 / H as f64).sqrt()).unwrap();
        Net {
            w1: (0..H)
                .map(|_| (0..D).map(|_| rng.sample(layer1)).collect())
                .collect(),
            b1: (0..H).map(|_| rng.sample(layer1)).collect(),
            w2: (0..H).map(|_| rng.sample(layer2)).collect(),
            b2: 0.0,
        }
    }

    fn predict(&self, x: &[f64]) -> f64 {
        let hidden = self.w1.iter().zip(&self.b1).map(|(w, b)| {
            let a: f64 = w.iter().zip(x).map(|(wi, xi)| wi * xi).sum();
            (a + b).tanh()
        });
        self.b2 + hidden.zip(&self.w2).map(|(h, w)| h * w).sum::<f64>()
    }
}

/// The squared error summed over the points given: a sum, so the gradient
/// over a data set is the sum of the gradients over its shards.
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

/// The loss and gradient over all points, shard by shard on rayon's
/// threads: `shards` contiguous pieces of (about) equal size.
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

/// `n` points x ~ N(0, I), y = teacher(x) + N(0, 0.1²).
fn data(teacher: &Net, n: usize, rng: &mut StdRng) -> (Vec<Vec<f64>>, Vec<f64>) {
    let noise = Normal::new(0.0, 0.1).unwrap();
    let xs: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..D).map(|_| rng.sample(StandardNormal)).collect())
        .collect();
    let ys = xs
        .iter()
        .map(|x| teacher.predict(x) + rng.sample(noise))
        .collect();
    (xs, ys)
}

/// The best of `runs` timings of `f`, in milliseconds, and its last result.
fn time_ms<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = f();
    for _ in 0..runs {
        let start = Instant::now();
        out = f();
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    (best, out)
}

fn main() {
    let mut rng = StdRng::seed_from_u64(0x5eed_5a4d); // reproducible runs
    let teacher = Net::random(&mut rng);
    let n = 200_000;
    let (xs, ys) = data(&teacher, n, &mut rng);
    let mut net = Net::random(&mut rng);
    let threads = rayon::current_num_threads();
    println!(
        "{n} points, {D} inputs, {H} hidden units ({} parameters), {threads} threads",
        net.num_params()
    );

    // 1. One gradient over the whole data set, sequentially and in shards.
    let (seq_ms, (seq_loss, seq_grad)) = time_ms(5, || sum_sq_error_grad(&net, &xs, &ys));
    let (par_ms, (par_loss, par_grad)) = time_ms(5, || parallel_grad(&net, &xs, &ys, threads));
    let mut diff = par_grad.clone();
    diff.axpy(-1.0, &seq_grad);
    let rel = diff.norm() / seq_grad.norm();
    let rel_loss = (par_loss - seq_loss).abs() / seq_loss.abs();
    println!("full-batch gradient: sequential {seq_ms:.1} ms, {threads} shards {par_ms:.1} ms (speedup {:.2})", seq_ms / par_ms);
    println!(
        "parallel vs sequential: |Δgrad| / |grad| = {rel:.1e}, |Δloss| / |loss| = {rel_loss:.1e}"
    );
    assert!(
        rel < 1e-12 && rel_loss < 1e-12,
        "the shards' gradients do not add up to the sequential gradient"
    );
    println!("the parallel gradient equals the sequential one up to rounding (the sums are added in another order)\n");

    // 2. Minibatch SGD with momentum; each minibatch's gradient is computed
    //    in shards, summed, and scaled to the mean.
    let (batch, epochs, rate, momentum) = (10_000, 10, 0.05, 0.9);
    let mut velocity = net.zeros_like();
    println!("SGD with momentum, minibatches of {batch} points in {threads} shards");
    println!("epoch   mean squared error (all points)");
    let start = Instant::now();
    for epoch in 0..=epochs {
        if epoch > 0 {
            // The points are i.i.d., so consecutive slices are random minibatches.
            for (x, y) in xs.chunks(batch).zip(ys.chunks(batch)) {
                let (_, mut grad) = parallel_grad(&net, x, y, threads);
                grad.scale(1.0 / x.len() as f64);
                // v ← μ·v + g;  net ← net − η·v
                velocity.scale(momentum);
                velocity.accumulate(&grad);
                net.axpy(-rate, &velocity);
            }
        }
        if epoch % 2 == 0 {
            let (loss, _) = parallel_grad(&net, &xs, &ys, threads);
            println!("{epoch:5}   {:.5}", loss / n as f64);
        }
    }
    let mse = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (net.predict(x) - y).powi(2))
        .sum::<f64>()
        / n as f64;
    println!(
        "{} minibatch steps in {:.2} s; final mean squared error {mse:.5} (noise variance 0.01)",
        epochs * n.div_ceil(batch),
        start.elapsed().as_secs_f64()
    );
}
