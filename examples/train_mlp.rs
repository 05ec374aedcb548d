//! Trains a one-hidden-layer network on y = sin(3x) with a parameter struct:
//! `#[derive(Differentiable)]` gives the gradient the struct's own type and
//! the arithmetic of the optimiser step (`axpy`, `scale`, `norm`,
//! `zeros_like`), here SGD with momentum and gradient clipping.
//!
//! `cargo run --release --example train_mlp`

use sgrad::{differentiable, Differentiable};

#[derive(Clone, Debug, Differentiable)]
struct Mlp {
    w1: Vec<f64>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: f64,
    #[sgrad(skip)]
    hidden: usize,
}

impl Mlp {
    /// Small deterministic weights (a fixed pseudo-random sequence).
    fn new(hidden: usize) -> Mlp {
        let mut t = 0.5_f64;
        let mut next = || {
            t = (t * 9.17 + 0.31).fract();
            2.0 * t - 1.0
        };
        Mlp {
            w1: (0..hidden).map(|_| 2.0 * next()).collect(),
            b1: (0..hidden).map(|_| next()).collect(),
            w2: (0..hidden).map(|_| 0.5 * next()).collect(),
            b2: 0.0,
            hidden,
        }
    }

    /// The network's output at `x`, differentiated with respect to the
    /// network itself (`self`).
    #[differentiable(self)]
    fn predict(&self, x: f64) -> f64 {
        let mut out = self.b2;
        for j in 0..self.hidden {
            out += self.w2[j] * (self.w1[j] * x + self.b1[j]).tanh();
        }
        out
    }
}

/// Mean squared error over the data; `predict` composes through its pullback.
#[differentiable(net)]
fn loss(net: &Mlp, xs: &[f64], ys: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        let r = net.predict(xs[i]) - ys[i];
        s += r * r;
    }
    s / xs.len() as f64
}

fn main() {
    let xs: Vec<f64> = (0..64).map(|i| -1.0 + 2.0 * i as f64 / 63.0).collect();
    let ys: Vec<f64> = xs.iter().map(|x| (3.0 * x).sin()).collect();
    let mut net = Mlp::new(16);
    let mut velocity = net.zeros_like();
    let (rate, momentum, clip) = (0.1, 0.9, 1.0);
    println!("{} parameters", net.num_params());
    for step in 0..=2000 {
        let (l, mut grad) = loss_grad(&net, &xs, &ys);
        let norm = grad.norm();
        if norm > clip {
            grad.scale(clip / norm);
        }
        // v ← μ·v + g;  θ ← θ − η·v
        velocity.scale(momentum);
        velocity.accumulate(&grad);
        net.axpy(-rate, &velocity);
        if step % 250 == 0 {
            println!("step {step:5}  loss {l:.6}  |grad| {norm:.4}");
        }
    }
    let (l, _) = loss_grad(&net, &xs, &ys);
    println!("final loss {l:.6}");
}
