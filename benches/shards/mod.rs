//! The network, loss and sharded gradient of `examples/rayon_shards.rs`
//! and `benches/rayon_shards.rs` (the example includes this file by path).

#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::RngExt;
use rand_distr::Normal;
use rayon::prelude::*;
use sgrad::{differentiable, Differentiable};

/// Inputs per point.
pub const D: usize = 8;
/// Hidden units.
pub const H: usize = 16;

/// One hidden layer of `tanh` units: out = b2 + Σⱼ w2[j] tanh(b1[j] + w1[j]·x).
#[derive(Clone, Debug, Differentiable)]
pub struct Net {
    pub w1: Vec<Vec<f64>>,
    pub b1: Vec<f64>,
    pub w2: Vec<f64>,
    pub b2: f64,
}

impl Net {
    /// Weights drawn from N(0, 1/fan-in).
    pub fn random(rng: &mut StdRng) -> Net {
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
}

/// The squared error summed over the points given: a sum, so the gradient
/// over a data set is the sum of the gradients over its shards.
#[differentiable(net)]
#[allow(clippy::needless_range_loop)] // sgrad differentiates indexed loops
pub fn sum_sq_error(net: &Net, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
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
pub fn parallel_grad(net: &Net, xs: &[Vec<f64>], ys: &[f64], shards: usize) -> (f64, Net) {
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
