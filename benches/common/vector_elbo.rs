//! The vector seed ELBO of `examples/seed_vi_vector.rs`, generic in the
//! dimension, and its gradient derived by hand. Shared by
//! `benches/vector_elbo.rs` and `tests/vector_elbo_hand.rs`.

use sgrad::{differentiable, sg_for};

pub const SIGMA: f64 = 0.5;
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Gradients with respect to (μ₁, ρ₁, μ₂, ρ₂).
pub type Grad<const D: usize> = ([f64; D], [f64; D], [f64; D], [f64; D]);

/// One Monte-Carlo sample of 𝒦, summed over the D components; the body is
/// the one in `examples/seed_vi_vector.rs`.
#[differentiable(mu1, rho1, mu2, rho2)]
pub fn elbo<const D: usize>(
    mu1: [f64; D],
    rho1: [f64; D],
    mu2: [f64; D],
    rho2: [f64; D],
    eps: &[[f64; 2]],
    y: &[[f64; 2]],
) -> f64 {
    let mut total = 0.0;
    for d in 0..D {
        let s1 = rho1[d].exp();
        let s2 = rho2[d].exp();
        let theta1 = mu1[d] + s1 * eps[d][0];
        let theta2 = theta1 + mu2[d] + s2 * eps[d][1];
        let dd = theta2 - theta1;
        let log_prior = -2.0 * HALF_LN_2PI - 0.5 * theta1 * theta1 - 0.5 * dd * dd;
        let r1 = (y[d][0] - theta1) / SIGMA;
        let log_f1 = -HALF_LN_2PI - SIGMA.ln() - 0.5 * r1 * r1;
        let r2 = (y[d][1] - theta1 - theta2) / SIGMA;
        let log_f2 = -HALF_LN_2PI - SIGMA.ln() - 0.5 * r2 * r2;
        let z1 = (theta1 - mu1[d]) / s1;
        let log_q1 = -HALF_LN_2PI - rho1[d] - 0.5 * z1 * z1;
        let z2 = (theta2 - theta1 - mu2[d]) / s2;
        let log_q2 = -HALF_LN_2PI - rho2[d] - 0.5 * z2 * z2;
        total += log_prior + log_f1 + sg_for!([mu1, rho1], log_f2)
            - log_q1
            - sg_for!([mu1, rho1], log_q2);
    }
    total
}

/// The same value and gradient, derived by hand, component by component.
///
/// With θ₁ = μ₁ + s₁ε₁, s₁ = e^{ρ₁}, and θ₂ = θ₁ + μ₂ + s₂ε₂, s₂ = e^{ρ₂}:
///
/// * For φ₁ = (μ₁, ρ₁), log f₂ and log q₂ are constants (⊥_{φ₁}), and
///   θ₂ − θ₁ = μ₂ + s₂ε₂ does not depend on φ₁. So log π contributes −θ₁
///   through θ₁, log f₁ contributes (y₁ − θ₁)/σ², and −log q₁ = ρ₁ + ½z₁² +
///   const with z₁ = (θ₁ − μ₁)/s₁ = ε₁ for every φ₁, so it contributes 0 to
///   μ₁ and 1 to ρ₁. With ∂θ₁/∂μ₁ = 1, ∂θ₁/∂ρ₁ = s₁ε₁ and
///   g₁ = −θ₁ + (y₁ − θ₁)/σ²: ∂/∂μ₁ = g₁, ∂/∂ρ₁ = g₁s₁ε₁ + 1.
/// * For φ₂ = (μ₂, ρ₂) nothing is blocked and θ₁ is constant. log π
///   contributes −(θ₂ − θ₁) through θ₂, log f₂ contributes
///   (y₂ − θ₁ − θ₂)/σ², and −log q₂ = ρ₂ + ½z₂² + const with z₂ = ε₂. With
///   ∂θ₂/∂μ₂ = 1, ∂θ₂/∂ρ₂ = s₂ε₂ and g₂ = −(θ₂ − θ₁) + (y₂ − θ₁ − θ₂)/σ²:
///   ∂/∂μ₂ = g₂, ∂/∂ρ₂ = g₂s₂ε₂ + 1.
///
/// The value is computed exactly as in `elbo`, so it is bit-identical.
pub fn elbo_grad_by_hand<const D: usize>(
    mu1: [f64; D],
    rho1: [f64; D],
    mu2: [f64; D],
    rho2: [f64; D],
    eps: &[[f64; 2]],
    y: &[[f64; 2]],
) -> (f64, Grad<D>) {
    let mut total = 0.0;
    let mut g = ([0.0; D], [0.0; D], [0.0; D], [0.0; D]);
    for d in 0..D {
        let s1 = rho1[d].exp();
        let s2 = rho2[d].exp();
        let theta1 = mu1[d] + s1 * eps[d][0];
        let theta2 = theta1 + mu2[d] + s2 * eps[d][1];
        let dd = theta2 - theta1;
        let log_prior = -2.0 * HALF_LN_2PI - 0.5 * theta1 * theta1 - 0.5 * dd * dd;
        let r1 = (y[d][0] - theta1) / SIGMA;
        let log_f1 = -HALF_LN_2PI - SIGMA.ln() - 0.5 * r1 * r1;
        let r2 = (y[d][1] - theta1 - theta2) / SIGMA;
        let log_f2 = -HALF_LN_2PI - SIGMA.ln() - 0.5 * r2 * r2;
        let z1 = (theta1 - mu1[d]) / s1;
        let log_q1 = -HALF_LN_2PI - rho1[d] - 0.5 * z1 * z1;
        let z2 = (theta2 - theta1 - mu2[d]) / s2;
        let log_q2 = -HALF_LN_2PI - rho2[d] - 0.5 * z2 * z2;
        total += log_prior + log_f1 + log_f2 - log_q1 - log_q2;

        let g1 = -theta1 + r1 / SIGMA;
        let g2 = -dd + r2 / SIGMA;
        g.0[d] = g1;
        g.1[d] = g1 * s1 * eps[d][0] + 1.0;
        g.2[d] = g2;
        g.3[d] = g2 * s2 * eps[d][1] + 1.0;
    }
    (total, g)
}
