//! Functions that return arrays (`-> Vec<f64>`, a layer): their `_vjp`
//! against central differences, and callers composing through them (a
//! Q-network of `dense` layers, a recurrent unroll that replaces its state
//! with a cell's output, `sg_for!` inside the helper, methods), each against
//! central differences of the plain program (with its `sg_for!` sites frozen
//! where it has them).

#![allow(clippy::needless_range_loop)] // loops written as users write them

mod common;

use common::*;
use sgrad::{differentiable, sg, sg_for, Differentiable, Real};

/// Central differences of `f` at `x`, coordinate by coordinate.
fn numeric(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|k| {
            let h = 1e-6;
            let at = |d: f64| {
                let mut y = x.to_vec();
                y[k] += d;
                f(&y)
            };
            (at(h) - at(-h)) / (2.0 * h)
        })
        .collect()
}

/// Central differences of `f` at the parameters of `p`.
fn numeric_params<P: Differentiable>(p: &P, f: impl Fn(&P) -> f64) -> Vec<f64> {
    numeric(
        |x| {
            let mut q = p.clone();
            let mut i = 0;
            q.map_params(&mut |_| {
                i += 1;
                x[i - 1]
            });
            f(&q)
        },
        &p.params(),
    )
}

fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_close_all(what, got, want, &vec![1.0; want.len()], 1e-6);
}

fn matrix(rng: &mut Rng, rows: usize, cols: usize) -> Vec<Vec<f64>> {
    (0..rows).map(|_| rng.vec(cols, -1.0, 1.0)).collect()
}

fn project(y: &[f64], c: &[f64]) -> f64 {
    y.iter().zip(c).map(|(a, b)| a * b).sum()
}

/// A dense layer with `tanh`: `out[j] = tanh(b[j] + Σ_i w[j][i] x[i])`.
#[differentiable(w, b, x)]
fn dense(w: &[Vec<f64>], b: &[f64], x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; b.len()];
    for j in 0..b.len() {
        let mut s = b[j];
        for i in 0..x.len() {
            s += w[j][i] * x[i];
        }
        out[j] = s.tanh();
    }
    out
}

#[test]
fn dense_vjp_against_differences() {
    let mut rng = Rng::new(1);
    let (m, n) = (3, 4);
    let w = matrix(&mut rng, m, n);
    let b = rng.vec(m, -1.0, 1.0);
    let x = rng.vec(n, -1.0, 1.0);
    let dy = rng.vec(m, -1.0, 1.0);
    let (v, (gw, gb, gx)) = dense_vjp(&w, &b, &x, &dy);
    assert_bits("value", project(&v, &dy), project(&dense(&w, &b, &x), &dy));
    let flat_w = w.concat();
    let fw = numeric(
        |fw| {
            project(
                &dense(
                    &fw.chunks(n).map(<[f64]>::to_vec).collect::<Vec<_>>(),
                    &b,
                    &x,
                ),
                &dy,
            )
        },
        &flat_w,
    );
    close("w", &gw.concat(), &fw);
    close("b", &gb, &numeric(|b| project(&dense(&w, b, &x), &dy), &b));
    close("x", &gx, &numeric(|x| project(&dense(&w, &b, x), &dy), &x));
}

#[test]
#[should_panic(expected = "the cotangent has 2 elements, but the function returned 3")]
fn a_cotangent_of_the_wrong_length_panics() {
    let w = vec![vec![1.0]; 3];
    let _ = dense_vjp(&w, &[0.0; 3], &[1.0], &[1.0, 2.0]);
}

/// The Q-network: a parameter struct, a `dense` helper per layer.
#[derive(Clone, Debug, Differentiable)]
struct Mlp {
    w1: Vec<Vec<f64>>,
    b1: Vec<f64>,
    w2: Vec<Vec<f64>>,
    b2: Vec<f64>,
}

impl Mlp {
    fn random(rng: &mut Rng, n: usize, h: usize, m: usize) -> Mlp {
        Mlp {
            w1: matrix(rng, h, n),
            b1: rng.vec(h, -1.0, 1.0),
            w2: matrix(rng, m, h),
            b2: rng.vec(m, -1.0, 1.0),
        }
    }

    /// The hidden layer as a method (`self` differentiated too).
    #[differentiable(self, s)]
    fn hidden(&self, s: &[f64]) -> Vec<f64> {
        dense(&self.w1, &self.b1, s)
    }
}

#[differentiable(net)]
fn q_loss(net: &Mlp, s: &[f64], a: usize, target: f64) -> f64 {
    let h = dense(&net.w1, &net.b1, s);
    let q = dense(&net.w2, &net.b2, &h);
    let d = q[a] - sg(target);
    d * d
}

#[test]
fn q_network_with_a_dense_helper() {
    let mut rng = Rng::new(2);
    let net = Mlp::random(&mut rng, 3, 5, 2);
    let s = rng.vec(3, -1.0, 1.0);
    let (v, g) = q_loss_grad(&net, &s, 1, 0.3);
    assert_bits("value", v, q_loss(&net, &s, 1, 0.3));
    // `sg(target)` with a constant target: nothing to freeze.
    close(
        "net",
        &g.params(),
        &numeric_params(&net, |n| q_loss(n, &s, 1, 0.3)),
    );
}

/// A batch in a loop, rows of constant data passed to the helper, the
/// hidden layer through a method on the struct, the TD target held by `sg`
/// (frozen at its value in the oracle).
#[differentiable(net)]
fn td_loss(net: &Mlp, states: &[Vec<f64>], next: &[Vec<f64>], actions: &[usize]) -> f64 {
    let mut loss = 0.0;
    for k in 0..states.len() {
        let h = net.hidden(&states[k]);
        let q = dense(&net.w2, &net.b2, &h);
        let h_next = net.hidden(&next[k]);
        let q_next = dense(&net.w2, &net.b2, &h_next);
        let mut best = q_next[0];
        for j in 1..q_next.len() {
            best = best.max(q_next[j]);
        }
        let d = q[actions[k]] - sg(0.5 + 0.9 * best);
        loss += d * d;
    }
    loss / states.len() as f64
}

#[test]
fn td_loss_over_a_batch() {
    let mut rng = Rng::new(3);
    let net = Mlp::random(&mut rng, 3, 4, 3);
    let states = matrix(&mut rng, 5, 3);
    let next = matrix(&mut rng, 5, 3);
    let actions = [0, 2, 1, 1, 0];
    let (v, g) = td_loss_grad(&net, &states, &next, &actions);
    assert_bits("value", v, td_loss(&net, &states, &next, &actions));
    // The frozen program: targets computed once at `net`, then constants.
    let targets: Vec<f64> = (0..5)
        .map(|k| {
            let q = dense(&net.w2, &net.b2, &net.hidden(&next[k]));
            0.5 + 0.9 * q.iter().copied().fold(f64::MIN, f64::max)
        })
        .collect();
    let frozen = |n: &Mlp| {
        (0..5)
            .map(|k| {
                let q = dense(&n.w2, &n.b2, &n.hidden(&states[k]));
                (q[actions[k]] - targets[k]).powi(2)
            })
            .sum::<f64>()
            / 5.0
    };
    close("net", &g.params(), &numeric_params(&net, frozen));
}

/// A recurrent cell: `h' = tanh(W h + u x)`.
#[differentiable(w, u, h)]
fn cell(w: &[Vec<f64>], u: &[f64], h: &[f64], x: f64) -> Vec<f64> {
    let mut next = Vec::with_capacity(h.len());
    for i in 0..h.len() {
        let mut s = u[i] * x;
        for j in 0..h.len() {
            s += w[i][j] * h[j];
        }
        next.push(s.tanh());
    }
    next
}

/// An RNN unroll that replaces its state with the cell's output each step,
/// written both ways: `h = cell(..)` and `let next = cell(..); h = next;`.
#[differentiable(w, u)]
fn unroll(w: &[Vec<f64>], u: &[f64], xs: &[f64], readout: &[f64]) -> f64 {
    let mut h = vec![0.0; u.len()];
    let mut loss = 0.0;
    for t in 0..xs.len() {
        if t % 2 == 0 {
            h = cell(w, u, &h, xs[t]);
        } else {
            let next = cell(w, u, &h, xs[t]);
            h = next;
        }
        let mut y = 0.0;
        for i in 0..h.len() {
            y += readout[i] * h[i];
        }
        loss += (y - 0.1 * t as f64).powi(2);
    }
    loss
}

#[test]
fn rnn_unroll_replacing_its_state() {
    let mut rng = Rng::new(4);
    let n = 3;
    let w = matrix(&mut rng, n, n);
    let u = rng.vec(n, -1.0, 1.0);
    let xs = rng.vec(6, -1.0, 1.0);
    let readout = rng.vec(n, -1.0, 1.0);
    let (v, (gw, gu)) = unroll_grad(&w, &u, &xs, &readout);
    assert_bits("value", v, unroll(&w, &u, &xs, &readout));
    let rows = |f: &[f64]| f.chunks(n).map(<[f64]>::to_vec).collect::<Vec<_>>();
    close(
        "w",
        &gw.concat(),
        &numeric(|f| unroll(&rows(f), &u, &xs, &readout), &w.concat()),
    );
    close("u", &gu, &numeric(|u| unroll(&w, u, &xs, &readout), &u));
}

/// `sg_for!` inside the helper names the helper's own parameter `p`.
#[differentiable(p, q)]
fn blend(p: &[f64], q: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; p.len()];
    for i in 0..p.len() {
        out[i] = p[i] * q[i] + sg_for!(p, (p[i] * q[i]).exp());
    }
    out
}

/// The same with the blocked site's `p` given separately: the oracle.
fn blend_frozen(p: &[f64], p_site: &[f64], q: &[f64]) -> Vec<f64> {
    (0..p.len())
        .map(|i| p[i] * q[i] + (p_site[i] * q[i]).exp())
        .collect()
}

#[differentiable(theta)]
fn through_blend(theta: &[f64]) -> f64 {
    let mut q = vec![0.0; theta.len()];
    for i in 0..theta.len() {
        q[i] = theta[i].sin();
    }
    let out = blend(theta, &q);
    let mut s = 0.0;
    for i in 0..out.len() {
        s += out[i] * out[i];
    }
    s
}

#[test]
fn sg_for_inside_the_helper_refers_to_its_own_parameter() {
    let theta = [0.3, -0.7, 0.5];
    let (v, g) = through_blend_grad(&theta);
    assert_bits("value", v, through_blend(&theta));
    // `p`'s path through the site frozen at `theta`; `q`'s path not.
    let frozen = |t: &[f64]| {
        let q: Vec<f64> = t.iter().map(|x| x.sin()).collect();
        blend_frozen(t, &theta, &q)
            .iter()
            .map(|o| o * o)
            .sum::<f64>()
    };
    close("theta", &g, &numeric(frozen, &theta));
    // And the helper's own vjp: the site blocks `p`, not `q`.
    let dy = [1.0, -2.0, 0.5];
    let q = [0.2, 0.4, -0.1];
    let (_, (gp, gq)) = blend_vjp(&theta, &q, &dy);
    close(
        "p",
        &gp,
        &numeric(|p| project(&blend_frozen(p, &theta, &q), &dy), &theta),
    );
    close(
        "q",
        &gq,
        &numeric(|q| project(&blend_frozen(&theta, &theta, q), &dy), &q),
    );
}

/// An array result (`[T; 2]`), generic over `T: Real`: its vjp's rows against
/// the Jacobian by forward mode (dual numbers) and by hand.
#[differentiable(p)]
fn polar<T: Real>(p: &[T]) -> [T; 2] {
    [p[0] * p[1].cos(), p[0] * p[1].sin()]
}

#[test]
fn rows_of_the_jacobian() {
    let (r, t) = (2.0_f64, 0.5_f64);
    let by_dual = sgrad::jacobian(|p: &[sgrad::DualVec<f64, 2>]| polar(p).to_vec(), &[r, t]);
    let by_hand = [[t.cos(), -r * t.sin()], [t.sin(), r * t.cos()]];
    for (i, e) in [[1.0, 0.0], [0.0, 1.0]].iter().enumerate() {
        let (v, row) = polar_vjp(&[r, t], e);
        assert_eq!(v, polar(&[r, t]));
        close("row", &row, &by_dual[i]);
        close("row by hand", &row, &by_hand[i]);
    }
}

/// Straight-line steps that replace the state (`h = cell(.., &h, ..)`, the
/// state read by the call it is replaced with), one of them in a branch, and
/// an array result (`[T; 2]`) of a list built in place.
#[differentiable(w, u)]
fn two_steps(w: &[Vec<f64>], u: &[f64], x0: f64, x1: f64) -> f64 {
    let mut h = vec![0.1; u.len()];
    h = cell(w, u, &h, x0);
    if x1 > 0.0 {
        h = cell(w, u, &h, x1);
    }
    let p = polar(&[h[0], h[1]]);
    p[0] + h[2] * p[1]
}

#[test]
fn straight_line_state_replacement() {
    let mut rng = Rng::new(5);
    let n = 3;
    let w = matrix(&mut rng, n, n);
    let u = rng.vec(n, -1.0, 1.0);
    let rows = |f: &[f64]| f.chunks(n).map(<[f64]>::to_vec).collect::<Vec<_>>();
    for x1 in [0.7, -0.7] {
        let (v, (gw, gu)) = two_steps_grad(&w, &u, 0.4, x1);
        assert_bits("value", v, two_steps(&w, &u, 0.4, x1));
        close(
            "w",
            &gw.concat(),
            &numeric(|f| two_steps(&rows(f), &u, 0.4, x1), &w.concat()),
        );
        close("u", &gu, &numeric(|u| two_steps(&w, u, 0.4, x1), &u));
    }
}

/// Layers nested in one expression: the inner call is lent by reference.
#[differentiable(net)]
fn q_nested(net: &Mlp, s: &[f64]) -> f64 {
    let q = dense(&net.w2, &net.b2, &dense(&net.w1, &net.b1, s));
    q[0] * q[1]
}

#[test]
fn nested_layers() {
    let mut rng = Rng::new(6);
    let net = Mlp::random(&mut rng, 3, 4, 2);
    let s = rng.vec(3, -1.0, 1.0);
    let (v, g) = q_nested_grad(&net, &s);
    assert_bits("value", v, q_nested(&net, &s));
    close(
        "net",
        &g.params(),
        &numeric_params(&net, |n| q_nested(n, &s)),
    );
}
