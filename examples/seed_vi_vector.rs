//! The seed's two-level model with vector parameters: φ₁ = (μ₁, ρ₁) and
//! φ₂ = (μ₂, ρ₂), each `[f64; D]`, fitted by stochastic gradient ascent on
//!
//!   𝒦(φ₁, φ₂) = E[ log π(θ₁,θ₂) + log f(y₁|θ₁) + ⊥_{φ₁}[log f(y₂|θ₁,θ₂)]
//!                  − log q₁(θ₁; φ₁) − ⊥_{φ₁}[log q₂(θ₂|θ₁; φ₂)] ]
//!
//! with θ₁ = μ₁ + e^{ρ₁} ε₁ and θ₂ = θ₁ + μ₂ + e^{ρ₂} ε₂ componentwise.
//! `cargo run --release --example seed_vi_vector`

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use sgrad::{differentiable, sg_for};

const D: usize = 20;
const SIGMA: f64 = 0.5;
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// One Monte-Carlo sample of 𝒦, summed over the D components.
#[differentiable(mu1, rho1, mu2, rho2)]
fn elbo(
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

/// A standard normal draw.
fn normal(rng: &mut StdRng) -> f64 {
    rng.sample(StandardNormal)
}

fn main() {
    let mut rng = StdRng::seed_from_u64(0x5eed_1234_abcd_0001); // reproducible runs
                                                                // Synthetic data from the model's own prior.
    let y: Vec<[f64; 2]> = (0..D)
        .map(|_| {
            let t1 = normal(&mut rng);
            let t2 = t1 + normal(&mut rng);
            [
                t1 + SIGMA * normal(&mut rng),
                t1 + t2 + SIGMA * normal(&mut rng),
            ]
        })
        .collect();

    let (mut mu1, mut rho1, mut mu2, mut rho2) = ([0.0; D], [0.0; D], [0.0; D], [0.0; D]);
    let samples = 8;
    let steps = 3000;
    let rate = |t: usize| 0.05 / (1.0 + t as f64 / 500.0);
    println!("D = {D}; stochastic gradient ascent, {samples} samples per step");
    println!("  step   ELBO estimate (mean of 200 samples)");
    for t in 0..=steps {
        if t % 500 == 0 {
            let estimate: f64 = (0..200)
                .map(|_| {
                    let eps: Vec<[f64; 2]> = (0..D)
                        .map(|_| [normal(&mut rng), normal(&mut rng)])
                        .collect();
                    // The value of 𝒦 is the ELBO's value: sg_for! leaves values alone.
                    elbo(mu1, rho1, mu2, rho2, &eps, &y)
                })
                .sum::<f64>()
                / 200.0;
            println!("{t:>6}   {estimate:>10.4}");
        }
        let mut grads = ([0.0; D], [0.0; D], [0.0; D], [0.0; D]);
        for _ in 0..samples {
            let eps: Vec<[f64; 2]> = (0..D)
                .map(|_| [normal(&mut rng), normal(&mut rng)])
                .collect();
            let (_, (g1, g2, g3, g4)) = elbo_grad(mu1, rho1, mu2, rho2, &eps, &y);
            for d in 0..D {
                grads.0[d] += g1[d] / samples as f64;
                grads.1[d] += g2[d] / samples as f64;
                grads.2[d] += g3[d] / samples as f64;
                grads.3[d] += g4[d] / samples as f64;
            }
        }
        for d in 0..D {
            mu1[d] += rate(t) * grads.0[d];
            rho1[d] += rate(t) * grads.1[d];
            mu2[d] += rate(t) * grads.2[d];
            rho2[d] += rate(t) * grads.3[d];
        }
    }
    // With ⊥_{φ₁}, q₁ fits p(θ₁ | y₁) = N(y₁/(1+σ²)·1, σ²/(1+σ²)) componentwise.
    let post_sd = (SIGMA * SIGMA / (1.0 + SIGMA * SIGMA)).sqrt();
    let worst = (0..D)
        .map(|d| {
            let post_mean = y[d][0] / (1.0 + SIGMA * SIGMA);
            (mu1[d] - post_mean)
                .abs()
                .max((rho1[d].exp() - post_sd).abs())
        })
        .fold(0.0, f64::max);
    println!("q₁ against p(θ₁ | y₁) per component: largest error in mean or sd = {worst:.3}");
    assert!(worst < 0.1, "the fit did not converge");
}
