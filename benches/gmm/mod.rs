//! The GMM objective of ADBench / GradBench (Gaussian mixture log-likelihood
//! with a Wishart prior), a deterministic instance generator, and a gradient
//! derived by hand. Shared by `benches/gmm.rs` and `tests/gmm_hand.rs` through
//! `#[path = ...] mod gmm;`.
//!
//! # The objective
//!
//! Data xᵢ ∈ ℝᵈ (i < n); K components with weights `alphas` (K), means μₖ
//! (`means`, K × d) and `icf` (K × d(d+1)/2). Row k of `icf` holds the inverse
//! Cholesky factor Qₖ: its first d entries are the log-diagonal, the remaining
//! d(d−1)/2 the strictly lower triangle in column-major order (column 0 rows
//! 1..d, then column 1 rows 2..d, …), exactly as ADBench's `Qtimesx`. So
//!
//! * Qₖ = diag(exp(icfₖ[0..d])) + Lₖ, with (Lₖ)ᵣ꜀ = icfₖ[d + c(2d − c − 1)/2 + r − c − 1] for c < r,
//! * sum_qsₖ = Σ_{j<d} icfₖ[j] = ln det Qₖ (log-diagonal entries only, as in ADBench),
//!
//! and the function computed is ADBench's `gmm_objective`, sign included:
//!
//! ```text
//! f = Σᵢ logsumexpₖ( alphasₖ + sum_qsₖ − ½‖Qₖ(xᵢ − μₖ)‖² )
//!     − n · logsumexp(alphas)
//!     + Σₖ ( ½γ² (‖exp(icfₖ[0..d])‖² + ‖icfₖ[d..]‖²) − m · sum_qsₖ )
//!     − n·d·½·ln(2π)
//! ```
//!
//! # Constants
//!
//! The data constant −n·d·½·ln(2π) **is** included. ADBench's Wishart
//! normaliser −K·C, C = n_w·d·(ln γ − ½ ln 2) − ln Γ_d(n_w / 2) with
//! n_w = d + m + 1, is **left out** of [`gmm_objective`] and
//! [`gmm_grad_by_hand`] alike (it needs ln Γ and does not depend on the
//! differentiated parameters). [`gmm_wishart_constant`] returns it: ADBench's
//! full value is `gmm_objective(..) + gmm_wishart_constant(d, K, γ, m)`.

// Each includer uses a different subset of this module.
#![allow(dead_code)]

use std::f64::consts::PI;

/// Everything of an instance that is not differentiated.
#[derive(Clone, Debug)]
pub struct GmmData {
    /// Dimension of a data point.
    pub d: usize,
    /// Number of mixture components.
    pub k: usize,
    /// Number of data points.
    pub n: usize,
    /// The data, `n` rows of length `d`.
    pub x: Vec<Vec<f64>>,
    /// Wishart prior scale γ.
    pub gamma: f64,
    /// Wishart prior degrees-of-freedom offset m (an integer, as in ADBench).
    pub m: i32,
}

/// xorshift64* — small, fast, deterministic; plenty for test and bench data.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // xorshift's state must not be zero; mixing in a constant makes
        // seed 0 usable and decorrelates nearby seeds a little.
        let s = (seed ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        XorShift(if s == 0 { 1 } else { s })
    }

    fn next_u64(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        self.0 = s;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform on [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        lo + (hi - lo) * u
    }

    fn vec(&mut self, len: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..len).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// A deterministic instance: `(alphas, means, icf, data)`. Parameters and data
/// are uniform draws (alphas ∈ [−1, 1), means ∈ [−1, 1), icf ∈ [−½, ½),
/// x ∈ [−2, 2)); the prior is ADBench's γ = 1, m = 0.
#[allow(clippy::type_complexity)]
pub fn gmm_instance(
    d: usize,
    k: usize,
    n: usize,
    seed: u64,
) -> (Vec<f64>, Vec<Vec<f64>>, Vec<Vec<f64>>, GmmData) {
    let mut rng = XorShift::new(seed);
    let alphas = rng.vec(k, -1.0, 1.0);
    let means = (0..k).map(|_| rng.vec(d, -1.0, 1.0)).collect();
    let icf = (0..k)
        .map(|_| rng.vec(d * (d + 1) / 2, -0.5, 0.5))
        .collect();
    let x = (0..n).map(|_| rng.vec(d, -2.0, 2.0)).collect();
    let data = GmmData {
        d,
        k,
        n,
        x,
        gamma: 1.0,
        m: 0,
    };
    (alphas, means, icf, data)
}

/// The GMM objective (see the module documentation for the formula and the
/// constants it includes), written in the plain loop-and-index style that
/// `#[differentiable(alphas, means, icf)]` is meant to take: `d` is read from
/// `means[0]`, so `K ≥ 1` and every row must have the same length.
#[allow(clippy::needless_range_loop)]
#[sgrad::differentiable(alphas, means, icf)]
pub fn gmm_objective(
    alphas: &[f64],
    means: &[Vec<f64>],
    icf: &[Vec<f64>],
    x: &[Vec<f64>],
    gamma: f64,
    m: f64,
) -> f64 {
    let kk = alphas.len();
    let n = x.len();
    let d = means[0].len();

    // Per component: exp of the log-diagonal (flat, k * d + j) and ln det Q.
    let mut qdiag = vec![0.0; kk * d];
    let mut sum_qs = vec![0.0; kk];
    for k in 0..kk {
        for j in 0..d {
            qdiag[k * d + j] = icf[k][j].exp();
            sum_qs[k] += icf[k][j];
        }
    }

    let mut slse = 0.0;
    for i in 0..n {
        let mut main_term = vec![0.0; kk];
        for k in 0..kk {
            // ‖Q (x − μ)‖², one row of Q at a time; row j of the strictly
            // lower part is L[j][l], l < j, stored column-major.
            let mut sq = 0.0;
            for j in 0..d {
                let mut qx = qdiag[k * d + j] * (x[i][j] - means[k][j]);
                for l in 0..j {
                    qx += icf[k][d + l * (2 * d - l - 1) / 2 + j - l - 1] * (x[i][l] - means[k][l]);
                }
                sq += qx * qx;
            }
            main_term[k] = alphas[k] + sum_qs[k] - 0.5 * sq;
        }
        slse += sgrad::log_sum_exp(&main_term);
    }

    let mut prior = 0.0;
    for k in 0..kk {
        let mut frob = 0.0;
        for j in 0..d {
            frob += qdiag[k * d + j] * qdiag[k * d + j];
        }
        for j in d..icf[k].len() {
            frob += icf[k][j] * icf[k][j];
        }
        prior += 0.5 * gamma * gamma * frob - m * sum_qs[k];
    }

    let nf = n as f64;
    let df = d as f64;
    slse - nf * sgrad::log_sum_exp(alphas) + prior - 0.5 * nf * df * (2.0 * PI).ln()
}

/// [`gmm_objective`] as it is written on flat slices with computed indices
/// (`x[i * d + j]`, `icf[k * t + ..]`, t = d(d+1)/2): the same value, the
/// parameters' layout row after row.
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
#[sgrad::differentiable(alphas, means, icf)]
pub fn gmm_objective_flat(
    d: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    gamma: f64,
    m: f64,
) -> f64 {
    let kk = alphas.len();
    let n = x.len() / d;
    let t = d * (d + 1) / 2;
    let mut qdiag = vec![0.0; kk * d];
    let mut sum_qs = vec![0.0; kk];
    for k in 0..kk {
        for j in 0..d {
            qdiag[k * d + j] = icf[k * t + j].exp();
            sum_qs[k] += icf[k * t + j];
        }
    }
    let mut slse = 0.0;
    for i in 0..n {
        let mut main_term = vec![0.0; kk];
        for k in 0..kk {
            let mut sq = 0.0;
            for j in 0..d {
                let mut qx = qdiag[k * d + j] * (x[i * d + j] - means[k * d + j]);
                for l in 0..j {
                    let lij = icf[k * t + d + l * (2 * d - l - 1) / 2 + j - l - 1];
                    qx += lij * (x[i * d + l] - means[k * d + l]);
                }
                sq += qx * qx;
            }
            main_term[k] = alphas[k] + sum_qs[k] - 0.5 * sq;
        }
        slse += sgrad::log_sum_exp(&main_term);
    }
    let mut prior = 0.0;
    for k in 0..kk {
        let mut frob = 0.0;
        for j in 0..d {
            frob += qdiag[k * d + j] * qdiag[k * d + j];
        }
        for j in d..t {
            frob += icf[k * t + j] * icf[k * t + j];
        }
        prior += 0.5 * gamma * gamma * frob - m * sum_qs[k];
    }
    let nf = n as f64;
    let df = d as f64;
    slse - nf * sgrad::log_sum_exp(alphas) + prior - 0.5 * nf * df * (2.0 * PI).ln()
}

/// Rows laid end to end: the flat layout of [`gmm_objective_flat`].
pub fn flatten(rows: &[Vec<f64>]) -> Vec<f64> {
    rows.iter().flatten().copied().collect()
}

/// The value of [`gmm_objective`] and its gradients with respect to `alphas`,
/// `means` and `icf`, derived by hand.
///
/// With xc = xᵢ − μₖ, y = Qₖ xc, mainᵢₖ = alphasₖ + sum_qsₖ − ½‖y‖²,
/// wᵢₖ = softmaxₖ(mainᵢ)ₖ and q = exp(icfₖ[0..d]):
///
/// * ∂f/∂alphasₖ = Σᵢ wᵢₖ − n · softmax(alphas)ₖ
/// * ∂f/∂μₖ = Qₖᵀ Σᵢ wᵢₖ yᵢₖ (Qₖ is fixed per component, so it is applied once)
/// * ∂f/∂icfₖ[j], j < d: Σᵢ wᵢₖ (1 − qⱼ yⱼ xcⱼ) + γ² qⱼ² − m
/// * ∂f/∂(Lₖ)ᵣ꜀: −Σᵢ wᵢₖ yᵣ xc꜀ + γ² (Lₖ)ᵣ꜀
///
/// One pass over the data; the scratch buffers are allocated once.
#[allow(clippy::type_complexity)]
pub fn gmm_grad_by_hand(
    alphas: &[f64],
    means: &[Vec<f64>],
    icf: &[Vec<f64>],
    x: &[Vec<f64>],
    gamma: f64,
    m: f64,
) -> (f64, Vec<f64>, Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let kk = alphas.len();
    let n = x.len();
    let d = means[0].len();

    let mut qdiag = vec![0.0; kk * d];
    let mut sum_qs = vec![0.0; kk];
    for ((q, s), row) in qdiag.chunks_exact_mut(d).zip(&mut sum_qs).zip(icf) {
        for (qj, &lj) in q.iter_mut().zip(&row[..d]) {
            *qj = lj.exp();
            *s += lj;
        }
    }

    // Accumulated over the data: Σᵢ wᵢₖ (into g_alphas), Σᵢ wᵢₖ yᵢₖ (wy) and
    // Σᵢ wᵢₖ yᵣ xc꜀ for c ≤ r, laid out like icf (into g_icf).
    let mut g_alphas = vec![0.0; kk];
    let mut wy = vec![vec![0.0; d]; kk];
    let mut g_icf: Vec<Vec<f64>> = icf.iter().map(|row| vec![0.0; row.len()]).collect();

    // Scratch, reused for every data point.
    let mut xc = vec![0.0; kk * d];
    let mut y = vec![0.0; kk * d];
    let mut main_term = vec![0.0; kk];

    let mut slse = 0.0;
    for xi in x {
        for k in 0..kk {
            let xck = &mut xc[k * d..(k + 1) * d];
            let yk = &mut y[k * d..(k + 1) * d];
            let q = &qdiag[k * d..(k + 1) * d];
            for j in 0..d {
                xck[j] = xi[j] - means[k][j];
                yk[j] = q[j] * xck[j];
            }
            // Column c of the strictly lower part: d − 1 − c entries, rows c+1..d.
            let mut rest = &icf[k][d..];
            for (c, &xc_c) in xck.iter().enumerate() {
                let (col, tail) = rest.split_at(d - 1 - c);
                rest = tail;
                for (yr, &l) in yk[c + 1..].iter_mut().zip(col) {
                    *yr += l * xc_c;
                }
            }
            let sq: f64 = yk.iter().map(|v| v * v).sum();
            main_term[k] = alphas[k] + sum_qs[k] - 0.5 * sq;
        }
        // logsumexp and softmax with one exp per component: shift by the
        // largest term, turn main_term into exp(main − max) in place.
        let top = main_term.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let mut total = 0.0;
        for t in main_term.iter_mut() {
            *t = (*t - top).exp();
            total += *t;
        }
        slse += top + total.ln();
        let inv_total = 1.0 / total;

        for k in 0..kk {
            let w = main_term[k] * inv_total;
            g_alphas[k] += w;
            let xck = &xc[k * d..(k + 1) * d];
            let yk = &y[k * d..(k + 1) * d];
            let wyk = &mut wy[k];
            let (g_diag, g_lower) = g_icf[k].split_at_mut(d);
            for j in 0..d {
                let wyj = w * yk[j];
                wyk[j] += wyj;
                g_diag[j] += wyj * xck[j];
            }
            let mut rest = g_lower;
            for (c, &xc_c) in xck.iter().enumerate() {
                let (col, tail) = rest.split_at_mut(d - 1 - c);
                rest = tail;
                let wxc = w * xc_c;
                for (g, &yr) in col.iter_mut().zip(&yk[c + 1..]) {
                    *g += wxc * yr;
                }
            }
        }
    }

    let nf = n as f64;
    let lse_alphas = sgrad::log_sum_exp(alphas);
    let g2 = gamma * gamma;
    let mut value = slse - nf * lse_alphas - 0.5 * nf * d as f64 * (2.0 * PI).ln();
    let mut g_means = vec![vec![0.0; d]; kk];
    for k in 0..kk {
        let q = &qdiag[k * d..(k + 1) * d];
        let (diag, lower) = icf[k].split_at(d);
        let (g_diag, g_lower) = g_icf[k].split_at_mut(d);
        let w_sum = g_alphas[k];

        // μ: Qᵀ (Σᵢ w y), column c of Q is (q_c at row c, L[r][c] for r > c).
        let wyk = &wy[k];
        let gm = &mut g_means[k];
        let mut rest = lower;
        for (c, gm_c) in gm.iter_mut().enumerate() {
            let (col, tail) = rest.split_at(d - 1 - c);
            rest = tail;
            let mut s = q[c] * wyk[c];
            for (&l, &wyr) in col.iter().zip(&wyk[c + 1..]) {
                s += l * wyr;
            }
            *gm_c = s;
        }

        // icf and the prior's value.
        let mut frob = 0.0;
        for j in 0..d {
            let q2 = q[j] * q[j];
            frob += q2;
            g_diag[j] = w_sum - q[j] * g_diag[j] + g2 * q2 - m;
        }
        for (g, &l) in g_lower.iter_mut().zip(lower) {
            frob += l * l;
            *g = g2 * l - *g;
        }
        value += 0.5 * g2 * frob - m * diag.iter().sum::<f64>();

        g_alphas[k] = w_sum - nf * (alphas[k] - lse_alphas).exp();
    }

    (value, g_alphas, g_means, g_icf)
}

/// ADBench's Wishart normaliser, the constant left out of [`gmm_objective`]:
/// −K·C with C = n_w·d·(ln γ − ½ ln 2) − ln Γ_d(n_w / 2), n_w = d + m + 1,
/// and the multivariate ln Γ_d(a) = ¼ d(d−1) ln π + Σ_{j=1..d} ln Γ(a + (1 − j)/2).
/// Requires n_w ≥ 2 (every ln Γ argument positive).
pub fn gmm_wishart_constant(d: usize, k: usize, gamma: f64, m: i32) -> f64 {
    let n_w = d as i64 + i64::from(m) + 1;
    assert!(n_w >= 2, "Wishart prior needs d + m + 1 ≥ 2");
    let df = d as f64;
    let mut ln_gamma_d = 0.25 * df * (df - 1.0) * PI.ln();
    for j in 1..=d as i64 {
        // a + (1 − j)/2 = (n_w + 1 − j)/2, a positive multiple of ½.
        ln_gamma_d += ln_gamma_half(n_w + 1 - j);
    }
    let c = n_w as f64 * df * (gamma.ln() - 0.5 * std::f64::consts::LN_2) - ln_gamma_d;
    -(k as f64) * c
}

/// ln Γ(t / 2) for an integer t ≥ 1, by Γ(z + 1) = z Γ(z) from Γ(1) = 1 or
/// Γ(½) = √π.
pub fn ln_gamma_half(t: i64) -> f64 {
    assert!(t >= 1, "ln Γ(t/2) needs t ≥ 1");
    let (mut z, mut acc) = if t % 2 == 0 {
        (1.0, 0.0)
    } else {
        (0.5, 0.5 * PI.ln())
    };
    let target = t as f64 / 2.0;
    while z < target {
        acc += z.ln();
        z += 1.0;
    }
    acc
}
