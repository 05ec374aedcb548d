//! Parameter structs (`#[derive(Differentiable)]`) as differentiation
//! variables, against central differences of the program with its blocked
//! sites frozen and against gradients written by hand.

use sgrad::{differentiable, sg, sg_for, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Mlp {
    w1: Vec<Vec<f64>>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: f64,
    #[sgrad(skip)]
    hidden: usize,
}

fn mlp(h: usize, d: usize, seed: f64) -> Mlp {
    let mut t = seed;
    let mut next = || {
        t = (t * 7.31 + 0.17).fract();
        t - 0.5
    };
    Mlp {
        w1: (0..h).map(|_| (0..d).map(|_| next()).collect()).collect(),
        b1: (0..h).map(|_| next()).collect(),
        w2: (0..h).map(|_| next()).collect(),
        b2: next(),
        hidden: h,
    }
}

#[differentiable(net)]
fn mse(net: &Mlp, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let mut out = net.b2;
        for j in 0..net.hidden {
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

/// Central differences of `f` at `p`, parameter by parameter.
fn numeric<P: Differentiable>(p: &P, f: impl Fn(&P) -> f64) -> Vec<f64> {
    let n = p.num_params();
    (0..n)
        .map(|k| {
            let h = 1e-6;
            let shifted = |d: f64| {
                let mut q = p.clone();
                let mut i = 0;
                q.map_params(&mut |v| {
                    i += 1;
                    if i - 1 == k {
                        v + d
                    } else {
                        v
                    }
                });
                f(&q)
            };
            (shifted(h) - shifted(-h)) / (2.0 * h)
        })
        .collect()
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-6 * (1.0 + x.abs().max(y.abs())),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn data() -> (Vec<Vec<f64>>, Vec<f64>) {
    let xs = vec![vec![0.3, -1.2, 0.5], vec![1.1, 0.4, -0.7], vec![-0.2, 0.9, 1.3]];
    let ys = vec![0.5, -0.3, 1.2];
    (xs, ys)
}

#[test]
fn mlp_against_differences() {
    let net = mlp(4, 3, 0.37);
    let (xs, ys) = data();
    let (v, g) = mse_grad(&net, &xs, &ys);
    assert_eq!(v.to_bits(), mse(&net, &xs, &ys).to_bits());
    assert_eq!(g.hidden, 4);
    assert_close(&g.params(), &numeric(&net, |p| mse(p, &xs, &ys)), "mlp");
}
