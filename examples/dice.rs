//! DiCE (Foerster et al. 2018): gradients and Hessians of an expected cost
//! from samples, with the MagicBox □(τ) = exp(τ − sg(τ)).
//!
//! Run it with `cargo run --release --example dice`.
//!
//! # The problem
//!
//! ```text
//! a₁ ~ Bern(σ(θ₁)), a₂ ~ Bern(σ(θ₂)), independent
//! c₁ = a₁ (2 + θ₂)               (influenced by a₁)
//! c₂ = 3 a₁ a₂ − a₂ + θ₁²        (influenced by a₁ and a₂)
//! J(θ) = E[c₁ + c₂] = 3 p₁ p₂ + 2 p₁ − p₂ + θ₂ p₁ + θ₁²,   pᵢ = σ(θᵢ)
//! ```
//!
//! One sample's DiCE objective boxes each cost with the log-probabilities of
//! the actions that influence it:
//!
//! ```text
//! L(θ; a) = □(log p(a₁)) c₁ + □(log p(a₁) + log p(a₂)) c₂
//! ```
//!
//! Its value is the sampled cost; its gradient and its Hessian (here by
//! forward-over-reverse, `sgrad::hessian` on `Dual` numbers) are unbiased
//! estimates of ∇J and ∇²J. The last column uses the "first-order" box
//! 1 + τ − sg(τ): right gradient, wrong Hessian.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sgrad::{differentiable, hessian, sg, Dual, Real};

/// One sample's DiCE objective; `a` holds the two actions (0 or 1).
/// `first_order` swaps the MagicBox for 1 + τ − sg(τ).
#[differentiable(theta)]
fn dice<T: Real>(theta: &[T], a: &[T], first_order: bool) -> T {
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

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// J, ∇J and ∇²J by hand (sᵢ = pᵢ(1 − pᵢ), rᵢ = sᵢ(1 − 2pᵢ)), flattened as
/// J, g₁, g₂, H₁₁, H₁₂, H₂₂.
fn analytic(theta: [f64; 2]) -> [f64; 6] {
    let [t1, t2] = theta;
    let (p1, p2) = (sigmoid(t1), sigmoid(t2));
    let (s1, s2) = (p1 * (1.0 - p1), p2 * (1.0 - p2));
    let (r1, r2) = (s1 * (1.0 - 2.0 * p1), s2 * (1.0 - 2.0 * p2));
    [
        3.0 * p1 * p2 + 2.0 * p1 - p2 + t2 * p1 + t1 * t1,
        3.0 * s1 * p2 + 2.0 * s1 + t2 * s1 + 2.0 * t1,
        3.0 * p1 * s2 - s2 + p1,
        3.0 * r1 * p2 + 2.0 * r1 + t2 * r1 + 2.0,
        3.0 * s1 * s2 + s1,
        3.0 * p1 * r2 - r2,
    ]
}

/// Mean and standard error of the DiCE estimates over `n` samples.
fn estimate(theta: [f64; 2], n: usize, first_order: bool) -> ([f64; 6], [f64; 6]) {
    let mut rng = StdRng::seed_from_u64(0x5eed_d1ce); // the same actions for both boxes
    let (p1, p2) = (sigmoid(theta[0]), sigmoid(theta[1]));
    let (mut sum, mut sum_sq) = ([0.0; 6], [0.0; 6]);
    for _ in 0..n {
        let a = [p1, p2].map(|p| f64::from(u8::from(rng.random_bool(p))));
        let (v, g) = dice_grad(&theta, &a, first_order);
        debug_assert_eq!(v, dice(&theta, &a, first_order)); // the sampled cost
        let ad = a.map(Dual::constant);
        let h = hessian(|t: &[Dual<f64>]| dice_grad(t, &ad, first_order).1, &theta);
        let x = [v, g[0], g[1], h[0][0], h[0][1], h[1][1]];
        for i in 0..6 {
            sum[i] += x[i];
            sum_sq[i] += x[i] * x[i];
        }
    }
    let nf = n as f64;
    let mean = sum.map(|s| s / nf);
    let se = std::array::from_fn(|i| ((sum_sq[i] / nf - mean[i] * mean[i]) / (nf - 1.0)).sqrt());
    (mean, se)
}

fn main() {
    let theta = [0.3, -0.5];
    let n = 1_000_000;
    let exact = analytic(theta);
    let (mean, se) = estimate(theta, n, false);
    let (mean1, se1) = estimate(theta, n, true);
    println!("DiCE at θ = {theta:?}, {n} samples (± one standard error)\n");
    println!(
        "{:<5} {:>10}   {:>21}   {:>21}",
        "", "analytic", "DiCE □ = exp(τ−sg τ)", "first-order 1+τ−sg τ"
    );
    let names = ["J", "g1", "g2", "H11", "H12", "H22"];
    for i in 0..6 {
        println!(
            "{:<5} {:>10.5}   {:>10.5} ± {:<8.5}   {:>10.5} ± {:.5}",
            names[i], exact[i], mean[i], se[i], mean1[i], se1[i]
        );
    }
    let z = (0..6)
        .map(|i| (mean[i] - exact[i]).abs() / se[i])
        .fold(0.0, f64::max);
    let z1 = (3..6)
        .map(|i| (mean1[i] - exact[i]).abs() / se1[i])
        .fold(0.0, f64::max);
    println!("\nlargest |DiCE − analytic| / SE: {z:.2}");
    println!("largest Hessian |first-order − analytic| / SE: {z1:.1}");
}
