//! `gmm`: the log posterior of a Gaussian mixture with a Wishart prior on
//! the precision matrices `Qᵀ Q`, `Q` lower triangular with diagonal
//! `exp(q_k)` and `l_k` below it, column by column; written with the
//! eval's simplifications (β_{i,k}, logsumexp, the prior's closed form).

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sgrad::differentiable;

use super::lse::logsumexp;
use super::lse::logsumexp_pullback;
use super::{parse, unknown};
use crate::protocol::Evaluation;

/// `ln Γ_p(a)`, the multivariate gamma function's logarithm (a constant
/// here: it depends on sizes only).
pub fn log_gamma_distrib(a: f64, p: usize) -> f64 {
    let mut out = (p * (p - 1)) as f64 / 4.0 * PI.ln();
    for j in 1..=p {
        out += sgrad::ln_gamma(a + (1.0 - j as f64) / 2.0);
    }
    out
}

#[differentiable(alpha, mu, q, l)]
#[allow(clippy::too_many_arguments)]
pub fn objective(
    alpha: &[f64],
    mu: &[Vec<f64>],
    q: &[Vec<f64>],
    l: &[Vec<f64>],
    x: &[Vec<f64>],
    d: usize,
    m: usize,
    gamma: f64,
) -> f64 {
    let k = alpha.len();
    let n = x.len();
    // Diagonals of the Q_k and Σ_j q_kj, once.
    let mut qdiag = vec![0.0; k * d];
    let mut sum_qs = vec![0.0; k];
    for c in 0..k {
        for j in 0..d {
            qdiag[c * d + j] = q[c][j].exp();
            sum_qs[c] += q[c][j];
        }
    }
    // Σ_i logsumexp_k β_ik, β_ik = α_k + Σ_j q_kj − ½‖Q_k (x_i − μ_k)‖².
    let mut slse = 0.0;
    for i in 0..n {
        let mut beta = vec![0.0; k];
        for c in 0..k {
            let mut qx = vec![0.0; d];
            for j in 0..d {
                qx[j] = qdiag[c * d + j] * (x[i][j] - mu[c][j]);
            }
            let mut idx = 0;
            for j in 0..d {
                for r in (j + 1)..d {
                    qx[r] += l[c][idx] * (x[i][j] - mu[c][j]);
                    idx += 1;
                }
            }
            let mut sq = 0.0;
            for j in 0..d {
                sq += qx[j] * qx[j];
            }
            beta[c] = alpha[c] + sum_qs[c] - 0.5 * sq;
        }
        slse += logsumexp(&beta);
    }
    let log_likelihood =
        -(n as f64) * ((d as f64) / 2.0 * (2.0 * PI).ln() + logsumexp(alpha)) + slse;
    // The Wishart prior, V = I/γ², n_w = d + m + 1 degrees of freedom.
    let n_w = (d + m + 1) as f64;
    let per_component =
        n_w * (d as f64) * (gamma / 2f64.sqrt()).ln() - log_gamma_distrib(0.5 * n_w, d);
    let mut frobenius = 0.0;
    let mut sum_q = 0.0;
    for c in 0..k {
        for j in 0..d {
            frobenius += qdiag[c * d + j] * qdiag[c * d + j];
            sum_q += q[c][j];
        }
        for j in 0..l[c].len() {
            frobenius += l[c][j] * l[c][j];
        }
    }
    let log_prior =
        (k as f64) * per_component - gamma * gamma / 2.0 * frobenius + (m as f64) * sum_q;
    log_likelihood + log_prior
}

#[derive(Deserialize)]
struct Input {
    d: usize,
    x: Vec<Vec<f64>>,
    m: usize,
    gamma: f64,
    alpha: Vec<f64>,
    mu: Vec<Vec<f64>>,
    q: Vec<Vec<f64>>,
    l: Vec<Vec<f64>>,
}

/// The gradient, shaped like the input's independent variables.
#[derive(Debug, Serialize)]
pub struct Gradient {
    pub alpha: Vec<f64>,
    pub mu: Vec<Vec<f64>>,
    pub q: Vec<Vec<f64>>,
    pub l: Vec<Vec<f64>>,
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let p: Input = parse(input)?;
    let k = p.alpha.len();
    if p.mu.len() != k || p.q.len() != k || p.l.len() != k || p.d == 0 {
        return Err("gmm: alpha, mu, q and l must have k entries, d ≥ 1".into());
    }
    let obj = || objective(&p.alpha, &p.mu, &p.q, &p.l, &p.x, p.d, p.m, p.gamma);
    match function {
        "objective" => Evaluation::timed(input, obj),
        "jacobian" => Evaluation::timed(input, || {
            let (_, (alpha, mu, q, l)) =
                objective_grad(&p.alpha, &p.mu, &p.q, &p.l, &p.x, p.d, p.m, p.gamma);
            Gradient { alpha, mu, q, l }
        }),
        f => Err(unknown("gmm", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    fn rows(rng: &mut fd::Rng, n: usize, d: usize, lo: f64, hi: f64) -> Vec<Vec<f64>> {
        (0..n).map(|_| rng.vec(d, lo, hi)).collect()
    }

    #[test]
    fn gradient_against_central_differences() {
        let mut rng = fd::Rng(6);
        for (d, k, n, m) in [(1, 1, 1, 0), (2, 3, 4, 0), (3, 2, 5, 2), (4, 3, 6, 1)] {
            let x = rows(&mut rng, n, d, -1.0, 1.0);
            let alpha = rng.vec(k, -1.0, 1.0);
            let mu = rows(&mut rng, k, d, 0.0, 1.0);
            let q = rows(&mut rng, k, d, -0.5, 0.5);
            let l = rows(&mut rng, k, d * (d - 1) / 2, -0.5, 0.5);
            let gamma = 1.3;
            let (v, (ga, gm, gq, gl)) = objective_grad(&alpha, &mu, &q, &l, &x, d, m, gamma);
            assert_eq!(
                v.to_bits(),
                objective(&alpha, &mu, &q, &l, &x, d, m, gamma).to_bits()
            );
            // Flatten (alpha, mu, q, l) into one vector and back.
            let flat: Vec<f64> = alpha
                .iter()
                .chain(mu.iter().flatten())
                .chain(q.iter().flatten())
                .chain(l.iter().flatten())
                .copied()
                .collect();
            let unflat = |v: &[f64]| {
                let take = |off: usize, len: usize| -> Vec<Vec<f64>> {
                    (0..k)
                        .map(|c| v[off + c * len..off + (c + 1) * len].to_vec())
                        .collect()
                };
                let lsz = d * (d - 1) / 2;
                (
                    v[..k].to_vec(),
                    take(k, d),
                    take(k + k * d, d),
                    take(k + 2 * k * d, lsz),
                )
            };
            let f = |v: &[f64]| {
                let (a, mu, q, l) = unflat(v);
                objective(&a, &mu, &q, &l, &x, d, m, gamma)
            };
            let got: Vec<f64> = ga
                .iter()
                .chain(gm.iter().flatten())
                .chain(gq.iter().flatten())
                .chain(gl.iter().flatten())
                .copied()
                .collect();
            fd::assert_close(&got, &fd::gradient(f, &flat, 1e-6), 1e-6);
        }
    }

    #[test]
    fn one_component_in_one_dimension_is_a_normal_log_density() {
        // d = k = 1, m = 0: log N(x; μ, e^{-2q}) + the Wishart term.
        let (x, mu, q, gamma) = (0.3, 0.1, 0.4, 1.0);
        let v = objective(
            &[0.7],
            &[vec![mu]],
            &[vec![q]],
            &[vec![]],
            &[vec![x]],
            1,
            0,
            gamma,
        );
        let s = (-q).exp();
        let normal = sgrad::normal_log_pdf(x, mu, s);
        // Wishart with p = 1, n = 2, V = 1/γ²: a Gamma(1, rate γ²/2) in e^{2q}.
        let lam = (2.0 * q).exp();
        let wishart = (gamma * gamma / 2.0).ln() - gamma * gamma / 2.0 * lam;
        assert!(
            (v - (normal + wishart)).abs() < 1e-12,
            "{v} vs {}",
            normal + wishart
        );
    }
}
