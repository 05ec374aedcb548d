//! `#[differentiable(..; latex)]`: `<name>_latex()` through the real macro.
//! The renderer's own snapshots are in `macros/src/latex.rs`; these check
//! that the option reaches it, and that the seed's objective, written with
//! helpers the way the seed prints it, comes back as the seed prints it.

use sgrad::{differentiable, sg, sg_for};

/// σ², the likelihood's noise variance.
const NOISE_VAR: f64 = 0.25;

/// log N(x; m, v).
#[differentiable(x, m, v)]
fn log_normal(x: f64, m: f64, v: f64) -> f64 {
    -0.5 * (2.0 * std::f64::consts::PI * v).ln() - (x - m).powi(2) / (2.0 * v)
}

/// θ₁ = g(ε₁, φ₁) = μ₁ + e^{ρ₁} ε₁.
#[differentiable(phi)]
fn g1(eps: f64, phi: &[f64; 2]) -> f64 {
    phi[0] + phi[1].exp() * eps
}

/// θ₂ = g(θ₁, ε₂, φ₂) = θ₁ + μ₂ + e^{ρ₂} ε₂.
#[differentiable(theta1, phi)]
fn g2(theta1: f64, eps: f64, phi: &[f64; 2]) -> f64 {
    theta1 + phi[0] + phi[1].exp() * eps
}

/// log π(θ₁, θ₂) = log N(θ₁; 0, 1) + log N(θ₂; θ₁, 1).
#[differentiable(theta1, theta2)]
fn log_pi(theta1: f64, theta2: f64) -> f64 {
    log_normal(theta1, 0.0, 1.0) + log_normal(theta2, theta1, 1.0)
}

/// log f(y | θ) = log N(y; Σθ, σ²).
#[differentiable(theta)]
fn log_f(y: f64, theta: &[f64]) -> f64 {
    let mut m = 0.0;
    for t in theta.iter() {
        m += t;
    }
    log_normal(y, m, NOISE_VAR)
}

/// log q₁(θ₁; φ₁) = log N(θ₁; μ₁, e^{2ρ₁}).
#[differentiable(theta1, phi)]
fn log_q1(theta1: f64, phi: &[f64; 2]) -> f64 {
    log_normal(theta1, phi[0], (2.0 * phi[1]).exp())
}

/// log q₂(θ₂ | θ₁; φ₂) = log N(θ₂; θ₁ + μ₂, e^{2ρ₂}).
#[differentiable(theta2, theta1, phi)]
fn log_q2(theta2: f64, theta1: f64, phi: &[f64; 2]) -> f64 {
    log_normal(theta2, theta1 + phi[0], (2.0 * phi[1]).exp())
}

/// One sample of 𝒦, written as the seed prints it.
#[differentiable(phi1, phi2; latex(objective = r"\mathcal{K}", expectation, log_pi = r"\log \pi(#1, #2)"))]
fn objective(phi1: [f64; 2], phi2: [f64; 2], eps1: f64, eps2: f64, y1: f64, y2: f64) -> f64 {
    let theta1 = g1(eps1, &phi1);
    let theta2 = g2(theta1, eps2, &phi2);
    log_pi(theta1, theta2) + log_f(y1, &[theta1]) + sg_for!(phi1, log_f(y2, &[theta1, theta2]))
        - log_q1(theta1, &phi1)
        - sg_for!(phi1, log_q2(theta2, theta1, &phi2))
}

#[test]
fn the_seed_comes_back_as_the_seed_prints_it() {
    assert_eq!(
        objective_latex(),
        r"\begin{aligned}
&\mathcal{K}(\varphi_1, \varphi_2) = \mathbb{E}\left[\log \pi(\theta_1, \theta_2) + \log f(y_1 \mid \theta_1) + \bot_{\varphi_1}[\log f(y_2 \mid \theta_1, \theta_2)] - \log q_1(\theta_1; \varphi_1) - \bot_{\varphi_1}[\log q_2(\theta_2 \mid \theta_1; \varphi_2)]\right] \\
&\text{where} \\
&\quad \theta_1 = g_1(\varepsilon_1, \varphi_1) \\
&\quad \theta_2 = g_2(\theta_1, \varepsilon_2, \varphi_2)
\end{aligned}"
    );
    // And it is the seed's objective: ∇_φ₂ is the ordinary gradient.
    let (v, (_, g2)) = objective_grad([0.3, -0.4], [0.8, -0.2], 0.7, -1.3, 0.5, 1.0);
    assert!(v.is_finite() && g2.iter().all(|g| g.is_finite()));
}

/// A `const` can hold the rendering.
#[differentiable(x; forward, latex)]
fn square(x: f64) -> f64 {
    sg(x) * x
}
const SQUARE: &str = square_latex();

#[test]
fn the_option_beside_others() {
    assert_eq!(SQUARE, r"\operatorname{square}(x) = \bot[x] x");
    assert_eq!(square_jvp(3.0, 1.0), (9.0, 3.0));
}

struct Quadratic {
    a: f64,
}

trait Objective {
    fn value(&self, x: f64) -> f64;
}

#[differentiable]
impl Objective for Quadratic {
    #[differentiable(x; latex(value = "V"))]
    fn value(&self, x: f64) -> f64 {
        self.a * x * x
    }
}

#[test]
fn methods_of_trait_impls() {
    assert_eq!(Quadratic::value_latex(), r"V(x) = \mathit{self}.a x x");
    assert_eq!(Quadratic { a: 2.0 }.value(3.0), 18.0);
}
