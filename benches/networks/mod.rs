//! The networks of the `mlp` benchmark, shared with `tests/mlp_hand.rs`.

#![allow(dead_code, clippy::needless_range_loop)]

use sgrad::{differentiable, Differentiable};

#[derive(Clone, Debug, Differentiable)]
pub struct Mlp {
    pub w1: Vec<Vec<f64>>,
    pub b1: Vec<f64>,
    pub w2: Vec<f64>,
    pub b2: f64,
}

#[differentiable(net)]
pub fn loss_struct(net: &Mlp, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
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
    loss / xs.len() as f64
}

impl Mlp {
    #[differentiable(self)]
    fn predict(&self, x: &[f64]) -> f64 {
        let mut out = self.b2;
        for j in 0..self.b1.len() {
            let mut a = self.b1[j];
            for i in 0..x.len() {
                a += self.w1[j][i] * x[i];
            }
            out += self.w2[j] * a.tanh();
        }
        out
    }
}

#[differentiable(net)]
pub fn loss_method(net: &Mlp, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let r = net.predict(&xs[n]) - ys[n];
        loss += r * r;
    }
    loss / xs.len() as f64
}

/// The hidden layer as a helper that returns its activations.
#[differentiable(w, b)]
fn hidden(w: &[Vec<f64>], b: &[f64], x: &[f64]) -> Vec<f64> {
    let mut a = vec![0.0; b.len()];
    for j in 0..b.len() {
        let mut s = b[j];
        for i in 0..x.len() {
            s += w[j][i] * x[i];
        }
        a[j] = s.tanh();
    }
    a
}

#[differentiable(net)]
pub fn loss_layer(net: &Mlp, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let a = hidden(&net.w1, &net.b1, &xs[n]);
        let mut out = net.b2;
        for j in 0..a.len() {
            out += net.w2[j] * a[j];
        }
        let r = out - ys[n];
        loss += r * r;
    }
    loss / xs.len() as f64
}

#[differentiable(net)]
pub fn loss_zip(net: &Mlp, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let mut out = net.b2;
        for j in 0..net.b1.len() {
            let a: f64 = net.w1[j].iter().zip(&xs[n]).map(|(w, x)| w * x).sum();
            out += net.w2[j] * (a + net.b1[j]).tanh();
        }
        let r = out - ys[n];
        loss += r * r;
    }
    loss / xs.len() as f64
}

/// The same network with its weights as separate slices, `w1` row-major.
#[differentiable(w1, b1, w2, b2)]
pub fn loss_flat(w1: &[f64], b1: &[f64], w2: &[f64], b2: f64, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
    let d = xs[0].len();
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let mut out = b2;
        for j in 0..b1.len() {
            let mut a = b1[j];
            for i in 0..d {
                a += w1[j * d + i] * xs[n][i];
            }
            out += w2[j] * a.tanh();
        }
        let r = out - ys[n];
        loss += r * r;
    }
    loss / xs.len() as f64
}

/// Backpropagation by hand: hidden activations kept per sample, weights'
/// gradients accumulated row by row.
pub fn loss_by_hand(net: &Mlp, xs: &[Vec<f64>], ys: &[f64]) -> (f64, Mlp) {
    let mut g = net.zeros_like();
    let h = net.b1.len();
    let mut act = vec![0.0; h];
    let scale = 1.0 / xs.len() as f64;
    let mut loss = 0.0;
    for (x, y) in xs.iter().zip(ys) {
        let mut out = net.b2;
        for j in 0..h {
            let a = net.b1[j] + net.w1[j].iter().zip(x).map(|(w, x)| w * x).sum::<f64>();
            act[j] = a.tanh();
            out += net.w2[j] * act[j];
        }
        let r = out - y;
        loss += r * r;
        let dout = 2.0 * r * scale;
        g.b2 += dout;
        for j in 0..h {
            g.w2[j] += dout * act[j];
            let da = dout * net.w2[j] * (1.0 - act[j] * act[j]);
            g.b1[j] += da;
            for (gw, xi) in g.w1[j].iter_mut().zip(x) {
                *gw += da * xi;
            }
        }
    }
    (loss * scale, g)
}

pub fn setup(d: usize, h: usize, n: usize) -> (Mlp, Vec<Vec<f64>>, Vec<f64>) {
    let mut t = 0.3_f64;
    let mut next = || {
        t = (t * 7.31 + 0.17).fract();
        t - 0.5
    };
    let net = Mlp {
        w1: (0..h).map(|_| (0..d).map(|_| next()).collect()).collect(),
        b1: (0..h).map(|_| next()).collect(),
        w2: (0..h).map(|_| next()).collect(),
        b2: next(),
    };
    let xs = (0..n).map(|_| (0..d).map(|_| next()).collect()).collect();
    let ys = (0..n).map(|_| next()).collect();
    (net, xs, ys)
}
