//! Newton's method on L2-regularised logistic regression, with the Hessian
//! from forward-over-reverse: `cargo run --release --example newton_logistic`.
//!
//! The loss is generic over `T: Real`, so its generated gradient also runs on
//! `Dual<f64>`, and `sgrad::hessian` differentiates that gradient once more.
//! Each step solves `H d = g` by Gaussian elimination and sets `w ← w − d`;
//! the gradient norm falls quadratically. At the end the Hessian is checked
//! against central differences of the gradient.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use sgrad::{differentiable, hessian, Dual, Real};

/// Features per point, the first a constant 1 (the bias).
const D: usize = 4;
/// Number of points.
const N: usize = 200;
/// L2 penalty `λ/2 · |w|²` (the bias is penalised too, for simplicity).
const LAMBDA: f64 = 0.01;

/// Mean negative log-likelihood plus `λ/2 · |w|²`; `x` is `N × D`, row-major,
/// and `y[i]` is 0 or 1. `log(1 + exp(z))` is `z + ln(1 + exp(−z))` for
/// `z > 0` and `ln(1 + exp(z))` otherwise, which neither overflows nor loses
/// digits. (Not `max(z, 0) + ln(1 + exp(−|z|))`: at `z = 0` exactly, where
/// Newton starts, the rules' derivatives of `max` (½ on a tie) and `abs` (1 at
/// 0) are each a valid subgradient but together give a slope of 0, not ½.)
#[differentiable(w)]
fn loss<T: Real>(w: &[T], x: &[f64], y: &[f64]) -> T {
    let mut nll = T::zero();
    for i in 0..y.len() {
        let mut z = T::zero();
        for j in 0..w.len() {
            z += w[j] * T::from_f64(x[i * w.len() + j]);
        }
        // Both branches are exact, so derivatives of every order are right
        // whichever runs; `exp` only ever sees a non-positive argument.
        let softplus = if z > T::zero() {
            z + (-z).exp().ln_1p()
        } else {
            z.exp().ln_1p()
        };
        nll += softplus - T::from_f64(y[i]) * z;
    }
    nll / T::from_f64(y.len() as f64) + T::from_f64(0.5 * LAMBDA) * sgrad::dot(w, w)
}

/// `N` points with a bias column and `D − 1` standard normal features; labels
/// drawn from the logistic model with weights `w_true` (so the classes
/// overlap and the optimum is finite).
fn data(seed: u64) -> (Vec<f64>, Vec<f64>) {
    let w_true = [-0.4, 1.2, -0.8, 0.3];
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut x, mut y) = (Vec::with_capacity(N * D), Vec::with_capacity(N));
    for _ in 0..N {
        let mut z = 0.0;
        for (j, wj) in w_true.iter().enumerate() {
            let xj = if j == 0 {
                1.0
            } else {
                rng.sample(StandardNormal)
            };
            x.push(xj);
            z += wj * xj;
        }
        let p = 1.0 / (1.0 + (-z).exp());
        y.push(if rng.random_bool(p) { 1.0 } else { 0.0 });
    }
    (x, y)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        b.swap(col, pivot);
        assert!(a[col][col].abs() > 1e-300, "singular matrix");
        let (top, below) = a.split_at_mut(col + 1);
        let p = &top[col];
        for (offset, r) in below.iter_mut().enumerate() {
            let m = r[col] / p[col];
            for (rk, pk) in r[col..].iter_mut().zip(&p[col..]) {
                *rk -= m * pk;
            }
            b[col + 1 + offset] -= m * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    x
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|g| g * g).sum::<f64>().sqrt()
}

fn main() {
    let (x, y) = data(0x5EED_1234);
    let positives = y.iter().filter(|&&v| v == 1.0).count();
    println!("{N} points, {D} weights (incl. bias), {positives} positive, λ = {LAMBDA}");

    let hess = |w: &[f64]| hessian(|w: &[Dual<f64>]| loss_grad(w, &x, &y).1, w);

    let mut w = vec![0.0; D];
    println!("step  loss                  |grad|");
    for step in 0..=6 {
        let (value, g) = loss_grad(&w, &x, &y);
        println!("{step:>4}  {value:<20.16}  {:.3e}", norm(&g));
        if step == 6 {
            break;
        }
        let d = solve(hess(&w), g);
        for (wj, dj) in w.iter_mut().zip(&d) {
            *wj -= dj;
        }
    }
    let (value, g) = loss_grad(&w, &x, &y);
    assert_eq!(value.to_bits(), loss(&w, &x, &y).to_bits());
    assert!(
        norm(&g) < 1e-12,
        "Newton did not converge: |grad| = {}",
        norm(&g)
    );
    let shown: Vec<String> = w.iter().map(|v| format!("{v:.4}")).collect();
    println!(
        "w = [{}]  (data drawn with [-0.4, 1.2, -0.8, 0.3])",
        shown.join(", ")
    );

    // The final Hessian against central differences of the gradient.
    let h = hess(&w);
    let step = 1e-5;
    let mut max_err = 0.0_f64;
    for j in 0..D {
        let (mut a, mut b) = (w.clone(), w.clone());
        a[j] += step;
        b[j] -= step;
        let (ga, gb) = (loss_grad(&a, &x, &y).1, loss_grad(&b, &x, &y).1);
        for k in 0..D {
            let fd = (ga[k] - gb[k]) / (2.0 * step);
            max_err = max_err.max((h[k][j] - fd).abs());
        }
    }
    let symmetric = (0..D).all(|k| (0..D).all(|j| (h[k][j] - h[j][k]).abs() < 1e-14));
    println!("Hessian vs central differences of the gradient: max |error| = {max_err:.2e}");
    assert!(
        max_err < 1e-7,
        "Hessian disagrees with differences: {max_err}"
    );
    assert!(symmetric, "Hessian is not symmetric");
}
