//! DiCE (Foerster et al. 2018, "DiCE: The Infinitely Differentiable
//! Monte-Carlo Estimator") written with `sg`: the MagicBox
//! □(τ) = exp(τ − sg(τ)) has value 1 and derivative □(τ)·∇τ at every order,
//! so gradients *and* Hessians of a DiCE objective estimate those of the
//! expected cost. Checked on a stochastic computation graph whose expectation
//! has a closed form:
//!
//! ```text
//! a₁ ~ Bern(p₁), a₂ ~ Bern(p₂), independent,  pᵢ = σ(θᵢ)
//! c₁(a, θ) = a₁ (2 + θ₂)                 depends on a₁ only
//! c₂(a, θ) = 3 a₁ a₂ − a₂ + θ₁²          depends on a₁ and a₂
//! J(θ) = E[c₁ + c₂] = 3 p₁ p₂ + 2 p₁ − p₂ + θ₂ p₁ + θ₁²
//! ```
//!
//! DiCE objective of one sample (each cost boxed with the log-probabilities
//! of the stochastic nodes that influence it, τ₁ = log p(a₁),
//! τ₂ = log p(a₁) + log p(a₂)):
//!
//! ```text
//! L(θ; a) = □(τ₁) c₁ + □(τ₂) c₂
//! ```
//!
//! (a) exact: Σ over the four outcomes of sg(p(a))·L(θ; a) — the weights are
//! the probabilities at the current θ held constant — has ∇ = ∇J and
//! ∇² = ∇²J, to rounding. (b) Monte Carlo: the mean of ∇L, ∇²L over samples
//! a ~ p(θ) matches ∇J, ∇²J within 5 standard errors. (c) A "first-order"
//! MagicBox 1 + τ − sg(τ) has the right gradient and the wrong Hessian (it
//! loses the ∇τ ∇τᵀ term), and both checks see it.

mod common;

use common::{assert_jvp_plain, Rng};
use sgrad::{differentiable, hessian, sg, Dual, Real};

/// One sample's DiCE objective. `a` holds the two actions (0 or 1, data).
/// `first_order` swaps the MagicBox for 1 + τ − sg(τ).
#[differentiable(theta; forward)]
fn dice_sample<T: Real>(theta: &[T], a: &[T], first_order: bool) -> T {
    // log p(aᵢ) = aᵢ log σ(θᵢ) + (1 − aᵢ) log σ(−θᵢ),  log σ(x) = −ln(1 + e^{−x})
    let lp1 = -a[0] * (-theta[0]).exp().ln_1p() - (T::one() - a[0]) * theta[0].exp().ln_1p();
    let lp2 = -a[1] * (-theta[1]).exp().ln_1p() - (T::one() - a[1]) * theta[1].exp().ln_1p();
    let tau1 = lp1;
    let tau2 = lp1 + lp2;
    let c1 = a[0] * (T::from_f64(2.0) + theta[1]);
    let c2 = T::from_f64(3.0) * a[0] * a[1] - a[1] + theta[0] * theta[0];
    let box1 = if first_order {
        T::one() + tau1 - sg(tau1)
    } else {
        (tau1 - sg(tau1)).exp()
    };
    let box2 = if first_order {
        T::one() + tau2 - sg(tau2)
    } else {
        (tau2 - sg(tau2)).exp()
    };
    box1 * c1 + box2 * c2
}

/// The exact DiCE objective: every outcome (rows of `outcomes`, flattened as
/// a₁, a₂ pairs), weighted by its probability at the current θ, held
/// constant by `sg`.
#[differentiable(theta; forward)]
fn dice_exact<T: Real>(theta: &[T], outcomes: &[T], first_order: bool) -> T {
    let mut l = T::zero();
    for k in 0..outcomes.len() / 2 {
        let a1 = outcomes[2 * k];
        let a2 = outcomes[2 * k + 1];
        let lp1 = -a1 * (-theta[0]).exp().ln_1p() - (T::one() - a1) * theta[0].exp().ln_1p();
        let lp2 = -a2 * (-theta[1]).exp().ln_1p() - (T::one() - a2) * theta[1].exp().ln_1p();
        let weight = sg((lp1 + lp2).exp());
        let tau1 = lp1;
        let tau2 = lp1 + lp2;
        let c1 = a1 * (T::from_f64(2.0) + theta[1]);
        let c2 = T::from_f64(3.0) * a1 * a2 - a2 + theta[0] * theta[0];
        let box1 = if first_order {
            T::one() + tau1 - sg(tau1)
        } else {
            (tau1 - sg(tau1)).exp()
        };
        let box2 = if first_order {
            T::one() + tau2 - sg(tau2)
        } else {
            (tau2 - sg(tau2)).exp()
        };
        l += weight * (box1 * c1 + box2 * c2);
    }
    l
}

const THETA: [f64; 2] = [0.3, -0.5];
const OUTCOMES: [f64; 8] = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// J, ∇J and ∇²J by hand. With pᵢ = σ(θᵢ), sᵢ = pᵢ' = pᵢ(1 − pᵢ),
/// rᵢ = pᵢ'' = sᵢ(1 − 2pᵢ):
///
/// ```text
/// ∂₁J  = 3 s₁ p₂ + 2 s₁ + θ₂ s₁ + 2θ₁      ∂₂J  = 3 p₁ s₂ − s₂ + p₁
/// ∂₁₁J = 3 r₁ p₂ + 2 r₁ + θ₂ r₁ + 2        ∂₁₂J = 3 s₁ s₂ + s₁
/// ∂₂₂J = 3 p₁ r₂ − r₂
/// ```
fn analytic(theta: [f64; 2]) -> (f64, [f64; 2], [[f64; 2]; 2]) {
    let [t1, t2] = theta;
    let (p1, p2) = (sigmoid(t1), sigmoid(t2));
    let (s1, s2) = (p1 * (1.0 - p1), p2 * (1.0 - p2));
    let (r1, r2) = (s1 * (1.0 - 2.0 * p1), s2 * (1.0 - 2.0 * p2));
    let j = 3.0 * p1 * p2 + 2.0 * p1 - p2 + t2 * p1 + t1 * t1;
    let g = [
        3.0 * s1 * p2 + 2.0 * s1 + t2 * s1 + 2.0 * t1,
        3.0 * p1 * s2 - s2 + p1,
    ];
    let h12 = 3.0 * s1 * s2 + s1;
    let h = [
        [3.0 * r1 * p2 + 2.0 * r1 + t2 * r1 + 2.0, h12],
        [h12, 3.0 * p1 * r2 - r2],
    ];
    (j, g, h)
}

/// Value, gradient and Hessian of the exact DiCE objective.
fn exact(first_order: bool) -> (f64, Vec<f64>, Vec<Vec<f64>>) {
    let (v, g) = dice_exact_grad(&THETA, &OUTCOMES, first_order);
    assert_eq!(v, dice_exact(&THETA, &OUTCOMES, first_order));
    let outcomes = OUTCOMES.map(Dual::constant);
    let h = hessian(
        |t: &[Dual<f64>]| dice_exact_grad(t, &outcomes, first_order).1,
        &THETA,
    );
    (v, g, h)
}

/// (a) Exact enumeration: value, gradient and Hessian of the DiCE objective
/// are those of J, to rounding.
#[test]
fn exact_dice_matches_the_analytic_gradient_and_hessian() {
    let (j, g, h) = analytic(THETA);
    let (v, dg, dh) = exact(false);
    assert!((v - j).abs() <= 1e-12, "value {v} vs {j}");
    for k in 0..2 {
        assert!(
            (dg[k] - g[k]).abs() <= 1e-12,
            "g[{k}] {} vs {}",
            dg[k],
            g[k]
        );
        for l in 0..2 {
            assert!(
                (dh[k][l] - h[k][l]).abs() <= 1e-12,
                "H[{k}][{l}] {} vs {}",
                dh[k][l],
                h[k][l]
            );
        }
    }
}

/// Mean and standard error of the mean of DiCE's gradient (2 entries) and
/// Hessian (4 entries, row-major) over `n` samples a ~ p(θ).
fn monte_carlo(n: usize, seed: u64, first_order: bool) -> ([f64; 6], [f64; 6]) {
    let mut rng = Rng::new(seed);
    let (p1, p2) = (sigmoid(THETA[0]), sigmoid(THETA[1]));
    let (mut sum, mut sum_sq) = ([0.0; 6], [0.0; 6]);
    for _ in 0..n {
        let a = [
            f64::from(u8::from(rng.unit() < p1)),
            f64::from(u8::from(rng.unit() < p2)),
        ];
        let (v, g) = dice_sample_grad(&THETA, &a, first_order);
        assert_eq!(v, dice_sample(&THETA, &a, first_order));
        let ad = a.map(Dual::constant);
        let h = hessian(
            |t: &[Dual<f64>]| dice_sample_grad(t, &ad, first_order).1,
            &THETA,
        );
        let x = [g[0], g[1], h[0][0], h[0][1], h[1][0], h[1][1]];
        for i in 0..6 {
            sum[i] += x[i];
            sum_sq[i] += x[i] * x[i];
        }
    }
    let nf = n as f64;
    let mean = sum.map(|s| s / nf);
    let se = std::array::from_fn(|i| {
        let var = (sum_sq[i] - nf * mean[i] * mean[i]) / (nf - 1.0);
        (var / nf).sqrt()
    });
    (mean, se)
}

fn flat(g: [f64; 2], h: [[f64; 2]; 2]) -> [f64; 6] {
    [g[0], g[1], h[0][0], h[0][1], h[1][0], h[1][1]]
}

const NAMES: [&str; 6] = ["g1", "g2", "H11", "H12", "H21", "H22"];
const SAMPLES: usize = 100_000;
const SEED: u64 = 0xd1ce;

/// (b) Monte Carlo: every component of the mean estimate lies within 5
/// standard errors (sample standard deviation / √N) of the analytic value.
/// The standard errors are below 0.01 here, so a missing term of size 0.05
/// cannot hide.
#[test]
fn monte_carlo_dice_matches_within_five_standard_errors() {
    let (_, g, h) = analytic(THETA);
    let want = flat(g, h);
    let (mean, se) = monte_carlo(SAMPLES, SEED, false);
    for i in 0..6 {
        assert!(se[i] < 0.01, "{}: standard error {}", NAMES[i], se[i]);
        assert!(
            (mean[i] - want[i]).abs() <= 5.0 * se[i],
            "{}: {} ± {} vs {}",
            NAMES[i],
            mean[i],
            se[i],
            want[i]
        );
    }
    // The Hessian estimate of one sample is symmetric.
    assert!((mean[3] - mean[4]).abs() <= 1e-12);
}

/// (c) The checks can fail: with □(τ) = 1 + τ − sg(τ) the gradient is still
/// right (exactly, and in Monte Carlo) but the Hessian misses
/// E[∇τ ∇τᵀ c], and both the exact and the Monte-Carlo check reject it.
#[test]
fn a_first_order_magic_box_fails_the_hessian_checks() {
    let (j, g, h) = analytic(THETA);
    let (v, dg, dh) = exact(true);
    assert!((v - j).abs() <= 1e-12);
    for k in 0..2 {
        assert!(
            (dg[k] - g[k]).abs() <= 1e-12,
            "g[{k}] {} vs {}",
            dg[k],
            g[k]
        );
    }
    let worst = (0..4)
        .map(|i| (dh[i / 2][i % 2] - h[i / 2][i % 2]).abs())
        .fold(0.0, f64::max);
    assert!(
        worst > 0.05,
        "exact first-order Hessian off by only {worst}"
    );

    let want = flat(g, h);
    let (mean, se) = monte_carlo(SAMPLES, SEED, true);
    for i in 0..2 {
        assert!((mean[i] - want[i]).abs() <= 5.0 * se[i], "{}", NAMES[i]);
    }
    let rejected = (2..6)
        .filter(|&i| (mean[i] - want[i]).abs() > 5.0 * se[i])
        .count();
    assert!(
        rejected > 0,
        "no Hessian entry of the first-order MagicBox is rejected"
    );
}

/// Forward mode (`_jvp`) against the gradient: the dot-product identity for
/// both objectives, both boxes and every outcome (`sg` blocks the single
/// variable θ everywhere alike: one group).
#[test]
fn forward_mode_agrees_with_the_gradient() {
    let mut rng = Rng::new(5);
    for first_order in [false, true] {
        let (v, g) = dice_exact_grad(&THETA, &OUTCOMES, first_order);
        let jvp = |d: &[f64]| dice_exact_jvp(&THETA, &OUTCOMES, first_order, d);
        assert_jvp_plain("dice_exact", v, &g, &jvp, &mut rng);
        for a in OUTCOMES.chunks(2) {
            let (v, g) = dice_sample_grad(&THETA, a, first_order);
            let jvp = |d: &[f64]| dice_sample_jvp(&THETA, a, first_order, d);
            assert_jvp_plain("dice_sample", v, &g, &jvp, &mut rng);
        }
    }
}
