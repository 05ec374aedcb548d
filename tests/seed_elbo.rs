//! The seed's example (SEMANTICS.md, "The seed's example"): one Monte-Carlo
//! sample of the objective 𝒦 with scalar parameters, against a gradient
//! derived by hand.
//!
//! # The model
//!
//! Variational parameters φ₁ = (μ₁, s₁), φ₂ = (μ₂, s₂); the scale of each
//! Gaussian is `exp(s)`, so every real `s` is valid (σ₁ = e^{s₁}, σ₂ = e^{s₂}).
//!
//! * θ₁ = μ₁ + σ₁ ε₁                      (q₁(θ₁; μ₁, s₁) = N(μ₁, σ₁²))
//! * θ₂ = θ₁ + μ₂ + σ₂ ε₂                 (q₂(θ₂ | θ₁; μ₂, s₂) = N(θ₁ + μ₂, σ₂²))
//! * log π(θ₁, θ₂) = log N(θ₁; 0, 1) + log N(θ₂; θ₁, 1)
//! * log f(y₁ | θ₁) = log N(y₁; θ₁, σ²)
//! * log f(y₂ | θ₁, θ₂) = log N(y₂; θ₁ + θ₂, σ²)
//!
//! with log N(x; m, v) = −½ ln(2π v) − (x − m)² / (2v) and σ² = `NOISE_VAR`.
//!
//! 𝒦 = log π + log f(y₁|θ₁) + ⊥_{μ₁,s₁}[log f(y₂|θ₁,θ₂)]
//!     − log q₁(θ₁; μ₁, s₁) − ⊥_{μ₁,s₁}[log q₂(θ₂|θ₁; μ₂, s₂)]
//!
//! # The gradient, by hand
//!
//! Write r₁ = (y₁ − θ₁)/σ², r₂ = (y₂ − θ₁ − θ₂)/σ², d = θ₂ − θ₁ = μ₂ + σ₂ε₂.
//! Total derivatives of θ: ∂θ₁/∂μ₁ = 1, ∂θ₁/∂s₁ = σ₁ε₁, and θ₂ moves with θ₁
//! one for one; ∂θ₂/∂μ₂ = 1, ∂θ₂/∂s₂ = σ₂ε₂; θ₁ does not depend on φ₂.
//!
//! * log π = −ln 2π − θ₁²/2 − d²/2. Along θ₁ (θ₂ following) d is fixed, so
//!   it contributes −θ₁ per unit of θ₁; along θ₂ it contributes −d.
//! * log f(y₁|θ₁): r₁ per unit of θ₁.
//! * log f(y₂|θ₁,θ₂): r₂ per unit of θ₂; 2 r₂ per unit of θ₁ (θ₁ appears
//!   directly and through θ₂). Blocked for μ₁, s₁.
//! * −log q₁ = ½ ln 2π + s₁ + (θ₁ − μ₁)²/(2σ₁²) = ½ ln 2π + s₁ + ε₁²/2:
//!   0 for μ₁, +1 for s₁ (the path through θ₁ cancels the direct one).
//! * −log q₂ = ½ ln 2π + s₂ + ε₂²/2 likewise: 0 for μ₂, +1 for s₂, nothing for
//!   φ₁ (θ₂ − θ₁ − μ₂ = σ₂ε₂ does not depend on θ₁). Blocked for μ₁, s₁.
//!
//! So, with the annotations:
//!
//! * ∂𝒦/∂μ₁ = −θ₁ + r₁
//! * ∂𝒦/∂s₁ = (−θ₁ + r₁) σ₁ε₁ + 1
//! * ∂𝒦/∂μ₂ = −d + r₂
//! * ∂𝒦/∂s₂ = (−d + r₂) σ₂ε₂ + 1
//!
//! and without them the φ₁ components gain the path through log f(y₂|θ₁,θ₂):
//! ∂μ₁ += 2 r₂ and ∂s₁ += 2 r₂ σ₁ε₁ (−log q₂ adds nothing), while the φ₂
//! components are unchanged.

use sgrad::{differentiable, sg_for};
use std::f64::consts::PI;
use std::hint::black_box;

mod common;
use common::{assert_close_scaled, assert_jvp, per_variable, Rng};

/// σ², the likelihood's noise variance.
const NOISE_VAR: f64 = 0.25;

/// One sample of 𝒦 (see the module documentation).
#[differentiable(mu1, s1, mu2, s2; forward)]
#[allow(clippy::too_many_arguments)]
fn elbo(mu1: f64, s1: f64, mu2: f64, s2: f64, eps1: f64, eps2: f64, y1: f64, y2: f64) -> f64 {
    let ln_2pi = (2.0 * PI).ln();
    let theta1 = mu1 + s1.exp() * eps1;
    let theta2 = theta1 + mu2 + s2.exp() * eps2;
    // log N(θ₁; 0, 1) + log N(θ₂; θ₁, 1)
    let log_prior =
        -0.5 * ln_2pi - 0.5 * theta1 * theta1 - 0.5 * ln_2pi - 0.5 * (theta2 - theta1).powi(2);
    // log N(y₁; θ₁, σ²)
    let log_lik1 = -0.5 * (ln_2pi + NOISE_VAR.ln()) - (y1 - theta1).powi(2) / (2.0 * NOISE_VAR);
    // log N(θ₁; μ₁, e^{2 s₁})
    let log_q1 = -0.5 * ln_2pi - s1 - (theta1 - mu1).powi(2) / (2.0 * (2.0 * s1).exp());
    log_prior
        + log_lik1
        + sg_for!(
            [mu1, s1],
            -0.5 * (ln_2pi + NOISE_VAR.ln()) - (y2 - theta1 - theta2).powi(2) / (2.0 * NOISE_VAR)
        )
        - log_q1
        - sg_for!(
            [mu1, s1],
            -0.5 * ln_2pi - s2 - (theta2 - theta1 - mu2).powi(2) / (2.0 * (2.0 * s2).exp())
        )
}

/// The same sample without the annotations.
#[differentiable(mu1, s1, mu2, s2; forward)]
#[allow(clippy::too_many_arguments)]
fn elbo_plain(mu1: f64, s1: f64, mu2: f64, s2: f64, eps1: f64, eps2: f64, y1: f64, y2: f64) -> f64 {
    let ln_2pi = (2.0 * PI).ln();
    let theta1 = mu1 + s1.exp() * eps1;
    let theta2 = theta1 + mu2 + s2.exp() * eps2;
    let log_prior =
        -0.5 * ln_2pi - 0.5 * theta1 * theta1 - 0.5 * ln_2pi - 0.5 * (theta2 - theta1).powi(2);
    let log_lik1 = -0.5 * (ln_2pi + NOISE_VAR.ln()) - (y1 - theta1).powi(2) / (2.0 * NOISE_VAR);
    let log_q1 = -0.5 * ln_2pi - s1 - (theta1 - mu1).powi(2) / (2.0 * (2.0 * s1).exp());
    log_prior
        + log_lik1
        + (-0.5 * (ln_2pi + NOISE_VAR.ln()) - (y2 - theta1 - theta2).powi(2) / (2.0 * NOISE_VAR))
        - log_q1
        - (-0.5 * ln_2pi - s2 - (theta2 - theta1 - mu2).powi(2) / (2.0 * (2.0 * s2).exp()))
}

// ---------------------------------------------------------------------------

/// One point: parameters, noise, data.
#[derive(Clone, Copy, Debug)]
struct Point {
    mu1: f64,
    s1: f64,
    mu2: f64,
    s2: f64,
    eps1: f64,
    eps2: f64,
    y1: f64,
    y2: f64,
}

impl Point {
    fn random(rng: &mut Rng) -> Point {
        Point {
            mu1: rng.uniform(-2.0, 2.0),
            s1: rng.uniform(-1.5, 0.7),
            mu2: rng.uniform(-2.0, 2.0),
            s2: rng.uniform(-1.5, 0.7),
            eps1: rng.normal(),
            eps2: rng.normal(),
            y1: rng.uniform(-3.0, 3.0),
            y2: rng.uniform(-3.0, 3.0),
        }
    }

    fn elbo_grad(self) -> (f64, (f64, f64, f64, f64)) {
        let p = black_box(self);
        elbo_grad(p.mu1, p.s1, p.mu2, p.s2, p.eps1, p.eps2, p.y1, p.y2)
    }

    fn elbo_plain_grad(self) -> (f64, (f64, f64, f64, f64)) {
        let p = black_box(self);
        elbo_plain_grad(p.mu1, p.s1, p.mu2, p.s2, p.eps1, p.eps2, p.y1, p.y2)
    }

    /// The hand-derived gradient of 𝒦 (module documentation), and the extra
    /// `2 r₂ ∂θ₁` that the un-annotated objective adds to (μ₁, s₁).
    fn by_hand(self) -> ([f64; 4], [f64; 2]) {
        let Point {
            mu1,
            s1,
            mu2,
            s2,
            eps1,
            eps2,
            y1,
            y2,
        } = self;
        let (sigma1, sigma2) = (s1.exp(), s2.exp());
        let theta1 = mu1 + sigma1 * eps1;
        let theta2 = theta1 + mu2 + sigma2 * eps2;
        let r1 = (y1 - theta1) / NOISE_VAR;
        let r2 = (y2 - theta1 - theta2) / NOISE_VAR;
        let d = theta2 - theta1;
        // d𝒦/dθ₁ along θ₁ (θ₂ following), over the open terms: −θ₁ + r₁.
        let along1 = -theta1 + r1;
        // d𝒦/dθ₂: −d + r₂.
        let along2 = -d + r2;
        let grad = [
            along1,                       // ∂μ₁
            along1 * sigma1 * eps1 + 1.0, // ∂s₁: the +1 is −log q₁'s −s₁
            along2,                       // ∂μ₂
            along2 * sigma2 * eps2 + 1.0, // ∂s₂: the +1 is −log q₂'s −s₂
        ];
        let extra = [2.0 * r2, 2.0 * r2 * sigma1 * eps1];
        (grad, extra)
    }
}

/// Reverse mode (`got`) against the hand formula (`want`) at `p`.
#[track_caller]
fn assert_close(what: &str, got: f64, want: f64, p: &Point) {
    // Hand formula and reverse mode round differently; 1e-12 relative to the
    // size of the terms involved (at least 1).
    assert_close_scaled(&format!("{what} at {p:?}"), got, want, 1.0, 1e-12);
}

#[test]
fn gradient_matches_the_hand_derived_formula() {
    let mut rng = Rng::new(2024);
    for _ in 0..100 {
        let p = Point::random(&mut rng);
        let (_, (dmu1, ds1, dmu2, ds2)) = p.elbo_grad();
        let ([hmu1, hs1, hmu2, hs2], _) = p.by_hand();
        assert_close("d/dmu1", dmu1, hmu1, &p);
        assert_close("d/ds1", ds1, hs1, &p);
        assert_close("d/dmu2", dmu2, hmu2, &p);
        assert_close("d/ds2", ds2, hs2, &p);
    }
}

#[test]
fn at_fixed_points() {
    // ε = 0: θ₁ = μ₁, θ₂ = μ₁ + μ₂, and the s-derivatives are exactly 1.
    let (_, (dmu1, ds1, dmu2, ds2)) = elbo_grad(0.5, -0.3, 0.25, 0.1, 0.0, 0.0, 1.0, 2.0);
    // r₁ = (1 − 0.5)/0.25 = 2, r₂ = (2 − 0.5 − 0.75)/0.25 = 3, d = 0.25
    assert!((dmu1 - (-0.5 + 2.0)).abs() < 1e-14, "{dmu1}");
    assert_eq!(ds1, 1.0);
    assert!((dmu2 - (-0.25 + 3.0)).abs() < 1e-14, "{dmu2}");
    assert_eq!(ds2, 1.0);
    let (_, (pmu1, ps1, _, _)) = elbo_plain_grad(0.5, -0.3, 0.25, 0.1, 0.0, 0.0, 1.0, 2.0);
    assert!((pmu1 - (-0.5 + 2.0 + 6.0)).abs() < 1e-14, "{pmu1}");
    assert_eq!(ps1, 1.0);
}

#[test]
fn values_are_bit_for_bit_the_function_and_the_unannotated_one() {
    let mut rng = Rng::new(7);
    for _ in 0..100 {
        let p = black_box(Point::random(&mut rng));
        let f = elbo(p.mu1, p.s1, p.mu2, p.s2, p.eps1, p.eps2, p.y1, p.y2);
        let f_plain = elbo_plain(p.mu1, p.s1, p.mu2, p.s2, p.eps1, p.eps2, p.y1, p.y2);
        let (v, _) = p.elbo_grad();
        let (v_plain, _) = p.elbo_plain_grad();
        assert_eq!(f.to_bits(), v.to_bits(), "{p:?}");
        assert_eq!(f_plain.to_bits(), v_plain.to_bits(), "{p:?}");
        assert_eq!(
            f.to_bits(),
            f_plain.to_bits(),
            "sg_for! changed a value at {p:?}"
        );
    }
}

#[test]
fn dropping_the_annotations_changes_phi1_gradient_only() {
    let mut rng = Rng::new(99);
    let mut changed = 0;
    for _ in 0..100 {
        let p = Point::random(&mut rng);
        let (_, (dmu1, ds1, dmu2, ds2)) = p.elbo_grad();
        let (_, (pmu1, ps1, pmu2, ps2)) = p.elbo_plain_grad();
        let (_, [extra_mu1, extra_s1]) = p.by_hand();
        // φ₂: the annotations name only μ₁ and s₁.
        assert_close("plain d/dmu2", pmu2, dmu2, &p);
        assert_close("plain d/ds2", ps2, ds2, &p);
        // φ₁: exactly the path through log f(y₂|θ₁,θ₂) comes back.
        assert_close("plain d/dmu1 - d/dmu1", pmu1 - dmu1, extra_mu1, &p);
        assert_close("plain d/ds1 - d/ds1", ps1 - ds1, extra_s1, &p);
        if (pmu1 - dmu1).abs() > 1e-3 && (ps1 - ds1).abs() > 1e-3 {
            changed += 1;
        }
    }
    assert!(
        changed > 80,
        "the annotations made a visible difference only {changed} times in 100"
    );
}

/// The un-annotated objective's gradient is the ordinary one: check it (and so
/// the hand derivation's extra term) by central differences of `elbo_plain`.
#[test]
fn unannotated_gradient_matches_central_differences() {
    let mut rng = Rng::new(5);
    for _ in 0..50 {
        let p = Point::random(&mut rng);
        let (_, (g0, g1, g2, g3)) = p.elbo_plain_grad();
        let f = |q: [f64; 4]| elbo_plain(q[0], q[1], q[2], q[3], p.eps1, p.eps2, p.y1, p.y2);
        let x = [p.mu1, p.s1, p.mu2, p.s2];
        for (k, g) in [g0, g1, g2, g3].into_iter().enumerate() {
            let h = 1e-6;
            let (mut up, mut down) = (x, x);
            up[k] += h;
            down[k] -= h;
            let fd = (f(up) - f(down)) / (up[k] - down[k]);
            let noise = 16.0 * f64::EPSILON * (f(up).abs() + f(down).abs()) / (2.0 * h);
            assert!(
                (g - fd).abs() <= 1e-6 * fd.abs() + noise,
                "elbo_plain d/dx{k}: {g:e} vs {fd:e} at {p:?}"
            );
        }
    }
}

/// Forward mode (`elbo_jvp`) against the gradient: the dot-product identity
/// with a tangent on one parameter at a time (μ₁ and s₁ are blocked at the
/// two sites, μ₂ and s₂ are not) and on all four, for both objectives.
#[test]
fn forward_mode_agrees_with_the_gradient() {
    let mut rng = Rng::new(11);
    let groups = per_variable(&[1; 4]);
    for _ in 0..50 {
        let p = Point::random(&mut rng);
        let (v, (g0, g1, g2, g3)) = p.elbo_grad();
        let jvp = |d: &[f64]| {
            elbo_jvp(
                p.mu1, p.s1, p.mu2, p.s2, p.eps1, p.eps2, p.y1, p.y2, d[0], d[1], d[2], d[3],
            )
        };
        assert_jvp("elbo", v, &[g0, g1, g2, g3], &groups, &jvp, &mut rng);
        let (v, (g0, g1, g2, g3)) = p.elbo_plain_grad();
        let jvp = |d: &[f64]| {
            elbo_plain_jvp(
                p.mu1, p.s1, p.mu2, p.s2, p.eps1, p.eps2, p.y1, p.y2, d[0], d[1], d[2], d[3],
            )
        };
        assert_jvp("elbo_plain", v, &[g0, g1, g2, g3], &groups, &jvp, &mut rng);
    }
}
