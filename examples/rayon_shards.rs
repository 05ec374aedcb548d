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
use sgrad::Differentiable;

#[path = "../benches/shards/mod.rs"]
mod shards;
use shards::{parallel_grad, sum_sq_error_grad, Net, D, H};

/// The network's output at `x`.
fn predict(net: &Net, x: &[f64]) -> f64 {
    let hidden = net.w1.iter().zip(&net.b1).map(|(w, b)| {
        let a: f64 = w.iter().zip(x).map(|(wi, xi)| wi * xi).sum();
        (a + b).tanh()
    });
    net.b2 + hidden.zip(&net.w2).map(|(h, w)| h * w).sum::<f64>()
}

/// `n` points x ~ N(0, I), y = teacher(x) + N(0, 0.1²).
fn data(teacher: &Net, n: usize, rng: &mut StdRng) -> (Vec<Vec<f64>>, Vec<f64>) {
    let noise = Normal::new(0.0, 0.1).unwrap();
    let xs: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..D).map(|_| rng.sample(StandardNormal)).collect())
        .collect();
    let ys = xs
        .iter()
        .map(|x| predict(teacher, x) + rng.sample(noise))
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
        .map(|(x, y)| (predict(&net, x) - y).powi(2))
        .sum::<f64>()
        / n as f64;
    println!(
        "{} minibatch steps in {:.2} s; final mean squared error {mse:.5} (noise variance 0.01)",
        epochs * n.div_ceil(batch),
        start.elapsed().as_secs_f64()
    );
}
