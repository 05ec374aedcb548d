//! Forward mode: `#[differentiable(..; forward)]` also generates
//! `<name>_jvp(args.., tangents..)`. On every function below the directional
//! derivative equals the reverse-mode gradient dotted with the direction, to
//! rounding, in seeded random directions (and the value is bit for bit the
//! function's), with the same `sg`/`sg_for!` meaning per variable.

#![allow(clippy::needless_range_loop, dead_code)]

use sgrad::{differentiable, log_softmax, log_sum_exp, sg, sg_for};

/// xorshift64*: seeded directions in [-1, 1].
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let u = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        2.0 * u - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.unit()).collect()
    }
}

/// Forward and reverse agree to rounding: |jvp − g·v| ≤ 1e-12 · (1 + Σ|gᵢvᵢ|).
fn agree(what: &str, jvp: f64, grad: &[f64], dir: &[f64]) {
    let dot: f64 = grad.iter().zip(dir).map(|(g, v)| g * v).sum();
    let scale: f64 = 1.0
        + grad
            .iter()
            .zip(dir)
            .map(|(g, v)| (g * v).abs())
            .sum::<f64>();
    assert!(
        (jvp - dot).abs() <= 1e-12 * scale,
        "{what}: forward {jvp} vs reverse {dot}"
    );
}

#[differentiable(x, y; forward)]
fn scalar(x: f64, y: f64) -> f64 {
    let t = x * y;
    let u = if t > 0.5 { t.sin() * x } else { (t * t).exp() };
    u / y + x.powi(3) + y.ln_1p() + x.max(y)
}

#[differentiable(x, y; forward)]
fn classes(x: f64, y: f64) -> f64 {
    sg_for!(x, x * y.exp()) + sg_for!(y, (x * y).sin()) + sg(x) * y + x * y
}

#[differentiable(x; forward)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    s
}

#[differentiable(x; forward)]
fn local_arrays(x: &[f64]) -> f64 {
    let mut h = vec![0.0; x.len()];
    let mut pushed = Vec::new();
    for i in 0..x.len() {
        h[i] = (x[i] * 1.5).tanh();
        h[i] += x[(i + 1) % x.len()] * h[i];
        pushed.push(h[i] * x[i]);
    }
    let y = log_softmax(&h);
    log_sum_exp(&pushed) + y[0] * 2.0 + sgrad::dot(&h, x) + sgrad::sum(&pushed)
}

#[differentiable(m, v; forward)]
fn nested(m: [[f64; 3]; 2], v: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for row in m.iter() {
        let mut r = 0.0;
        for j in 0..3 {
            r += row[j] * v[j];
        }
        s += r.sin();
    }
    s + log_sum_exp(&m[1])
}

#[differentiable(x; forward)]
fn control(x: &[f64], t: f64) -> f64 {
    let mut p = 1.0;
    let mut i = 0;
    'outer: while i < x.len() {
        for j in 0..x.len() {
            if j > i {
                i += 1;
                continue 'outer;
            }
            p *= 1.0 + 0.1 * x[j];
            if p > t {
                return p.sqrt() * x[0];
            }
        }
        i += 1;
    }
    let r = loop {
        p = p * 0.5 + 0.1 * x[1];
        if p < 1.0 {
            break p * x[x.len() - 1];
        }
    };
    r + p
}

#[differentiable(x, mu)]
fn log_normal(x: f64, mu: f64) -> f64 {
    -0.5 * (x - mu) * (x - mu)
}

#[differentiable(mu, w; forward)]
fn calls(mu: f64, w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        s += log_normal(w[i], mu) * w[i] + sgrad::sigmoid(w[i] * mu);
    }
    s + rosenbrock(w)
}

#[differentiable(x; forward)]
fn single32(x: f32) -> f32 {
    (x * 2.0).sin() * x.exp()
}

#[test]
fn forward_equals_reverse_on_scalars_and_branches() {
    let mut rng = Rng(7);
    for _ in 0..20 {
        let (x, y) = (rng.unit() * 2.0, rng.unit() + 1.5);
        let d = rng.vec(2);
        let (v, (gx, gy)) = scalar_grad(x, y);
        let (v2, j) = scalar_jvp(x, y, d[0], d[1]);
        assert_eq!(v.to_bits(), v2.to_bits());
        agree("scalar", j, &[gx, gy], &d);
        let (v, (gx, gy)) = classes_grad(x, y);
        let (v2, j) = classes_jvp(x, y, d[0], d[1]);
        assert_eq!(v.to_bits(), v2.to_bits());
        agree("classes", j, &[gx, gy], &d);
    }
}

#[test]
fn forward_equals_reverse_through_loops_and_arrays() {
    let mut rng = Rng(11);
    for n in [2, 5, 9] {
        let x = rng.vec(n);
        let d = rng.vec(n);
        let (v, g) = rosenbrock_grad(&x);
        let (v2, j) = rosenbrock_jvp(&x, &d);
        assert_eq!(v.to_bits(), v2.to_bits());
        agree("rosenbrock", j, &g, &d);
        let (v, g) = local_arrays_grad(&x);
        let (v2, j) = local_arrays_jvp(&x, &d);
        assert_eq!(v.to_bits(), v2.to_bits());
        agree("local arrays", j, &g, &d);
        for t in [1.05, 1.3, 50.0] {
            let x: Vec<f64> = x.iter().map(|v| v.abs() + 0.2).collect();
            let (v, g) = control_grad(&x, t);
            let (v2, j) = control_jvp(&x, t, &d);
            assert_eq!(v.to_bits(), v2.to_bits());
            agree("control flow", j, &g, &d);
        }
    }
    let m = [[0.1, -0.4, 0.3], [0.7, 0.2, -0.5]];
    let v = [0.3, 0.9, -1.1];
    let (dm, dv) = ([[0.5, 0.1, -0.2], [0.3, -0.7, 0.4]], [0.2, -0.6, 0.8]);
    let (value, (gm, gv)) = nested_grad(m, v);
    let (value2, j) = nested_jvp(m, v, dm, dv);
    assert_eq!(value.to_bits(), value2.to_bits());
    let grad: Vec<f64> = gm.concat().into_iter().chain(gv).collect();
    let dir: Vec<f64> = dm.concat().into_iter().chain(dv).collect();
    agree("nested", j, &grad, &dir);
}

#[test]
fn forward_equals_reverse_through_calls_and_f32() {
    let w = [0.4, -0.3, 0.8];
    let (dmu, dw) = (0.7, [0.1, 0.5, -0.9]);
    let (v, (gmu, gw)) = calls_grad(0.2, &w);
    let (v2, j) = calls_jvp(0.2, &w, dmu, &dw);
    assert_eq!(v.to_bits(), v2.to_bits());
    let grad: Vec<f64> = std::iter::once(gmu).chain(gw).collect();
    let dir: Vec<f64> = std::iter::once(dmu).chain(dw).collect();
    agree("calls", j, &grad, &dir);
    let (v, g) = single32_grad(0.7);
    let (v2, j) = single32_jvp(0.7, 1.0);
    assert_eq!(v.to_bits(), v2.to_bits());
    assert!((g - j).abs() <= 1e-6 * g.abs());
}

fn bucket(x: f64) -> usize {
    (x.abs() * 3.0) as usize
}

/// A plain helper on a differentiated value whose result reaches no output
/// (it only picks a branch) needs no derivative, in either mode.
#[differentiable(x; forward)]
fn integer_helper(x: f64) -> f64 {
    let k = bucket(x);
    if k > 1 {
        x * x
    } else {
        x.sin()
    }
}

#[test]
fn calls_that_reach_no_output_need_no_derivative() {
    for x in [0.2, 0.9] {
        let (v, g) = integer_helper_grad(x);
        let (v2, j) = integer_helper_jvp(x, 1.0);
        assert_eq!(v.to_bits(), v2.to_bits());
        assert_eq!(g, j);
        let want = if x > 0.5 { 2.0 * x } else { x.cos() };
        assert!((g - want).abs() < 1e-15);
    }
}
