//! The seed ELBO sample (see `examples/seed_vi.rs`): its value, the gradient
//! sgrad generates, and a gradient derived by hand, in one run.
//!
//! `cargo bench --bench seed_elbo`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sgrad::{differentiable, sg_for};

const SIGMA: f64 = 0.5;
const LN_SIGMA: f64 = -std::f64::consts::LN_2;
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// The seed's 𝒦, one Monte-Carlo sample; the same function as in
/// `examples/seed_vi.rs`.
#[differentiable(mu1, rho1, mu2, rho2)]
#[allow(clippy::too_many_arguments)]
fn elbo(mu1: f64, rho1: f64, mu2: f64, rho2: f64, eps1: f64, eps2: f64, y1: f64, y2: f64) -> f64 {
    let s1 = rho1.exp();
    let s2 = rho2.exp();
    let theta1 = mu1 + s1 * eps1;
    let theta2 = theta1 + mu2 + s2 * eps2;
    let d = theta2 - theta1;
    let log_prior = -2.0 * HALF_LN_2PI - 0.5 * theta1 * theta1 - 0.5 * d * d;
    let r1 = (y1 - theta1) / SIGMA;
    let log_f1 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r1 * r1;
    let r2 = (y2 - theta1 - theta2) / SIGMA;
    let log_f2 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r2 * r2;
    let z1 = (theta1 - mu1) / s1;
    let log_q1 = -HALF_LN_2PI - rho1 - 0.5 * z1 * z1;
    let z2 = (theta2 - theta1 - mu2) / s2;
    let log_q2 = -HALF_LN_2PI - rho2 - 0.5 * z2 * z2;
    log_prior + log_f1 + sg_for!([mu1, rho1], log_f2) - log_q1 - sg_for!([mu1, rho1], log_q2)
}

/// The same value and gradient, derived by hand.
///
/// With θ₁ = μ₁ + s₁ε₁ and θ₂ = θ₁ + μ₂ + s₂ε₂:
///
/// * For φ₁ the two blocked terms are constants. log π contributes −θ₁
///   through θ₁ (its second factor depends on θ₂ − θ₁ = μ₂ + s₂ε₂ only),
///   log f(y₁|θ₁) contributes (y₁ − θ₁)/σ², and −log q₁ = ρ₁ + ½ z₁² + const
///   with z₁ = (θ₁ − μ₁)/s₁ = ε₁, whose derivative is 0 for μ₁ and 1 for ρ₁.
///   So with g₁ = −θ₁ + (y₁ − θ₁)/σ²: d/dμ₁ = g₁, d/dρ₁ = g₁ s₁ε₁ + 1.
/// * For φ₂ nothing is blocked and θ₁ is constant. log π contributes
///   −(θ₂ − θ₁) through θ₂, log f(y₂|θ₁,θ₂) contributes (y₂ − θ₁ − θ₂)/σ²,
///   and −log q₂ = ρ₂ + ½ z₂² + const with z₂ = ε₂. With
///   g₂ = −(θ₂ − θ₁) + (y₂ − θ₁ − θ₂)/σ²: d/dμ₂ = g₂, d/dρ₂ = g₂ s₂ε₂ + 1.
///
/// The value is computed exactly as in `elbo`.
#[allow(clippy::too_many_arguments)]
fn elbo_grad_by_hand(
    mu1: f64,
    rho1: f64,
    mu2: f64,
    rho2: f64,
    eps1: f64,
    eps2: f64,
    y1: f64,
    y2: f64,
) -> (f64, (f64, f64, f64, f64)) {
    let s1 = rho1.exp();
    let s2 = rho2.exp();
    let theta1 = mu1 + s1 * eps1;
    let theta2 = theta1 + mu2 + s2 * eps2;
    let d = theta2 - theta1;
    let log_prior = -2.0 * HALF_LN_2PI - 0.5 * theta1 * theta1 - 0.5 * d * d;
    let r1 = (y1 - theta1) / SIGMA;
    let log_f1 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r1 * r1;
    let r2 = (y2 - theta1 - theta2) / SIGMA;
    let log_f2 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r2 * r2;
    let z1 = (theta1 - mu1) / s1;
    let log_q1 = -HALF_LN_2PI - rho1 - 0.5 * z1 * z1;
    let z2 = (theta2 - theta1 - mu2) / s2;
    let log_q2 = -HALF_LN_2PI - rho2 - 0.5 * z2 * z2;
    let value = log_prior + log_f1 + log_f2 - log_q1 - log_q2;

    let g1 = -theta1 + r1 / SIGMA;
    let g2 = -d + r2 / SIGMA;
    (value, (g1, g1 * s1 * eps1 + 1.0, g2, g2 * s2 * eps2 + 1.0))
}

/// The same gradient written by hand the way reverse mode computes it: the
/// chain rule applied term by term, one backward pass per group of
/// parameters, without the algebra that makes `elbo_grad_by_hand` short
/// (z₁ = ε₁ and z₂ = ε₂ cancel). This is what a careful person writes without
/// simplifying, and what the generated code should match.
#[allow(clippy::too_many_arguments)]
fn elbo_grad_chain_rule(
    mu1: f64,
    rho1: f64,
    mu2: f64,
    rho2: f64,
    eps1: f64,
    eps2: f64,
    y1: f64,
    y2: f64,
) -> (f64, (f64, f64, f64, f64)) {
    let s1 = rho1.exp();
    let s2 = rho2.exp();
    let theta1 = mu1 + s1 * eps1;
    let theta2 = theta1 + mu2 + s2 * eps2;
    let d = theta2 - theta1;
    let log_prior = -2.0 * HALF_LN_2PI - 0.5 * theta1 * theta1 - 0.5 * d * d;
    let r1 = (y1 - theta1) / SIGMA;
    let log_f1 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r1 * r1;
    let r2 = (y2 - theta1 - theta2) / SIGMA;
    let log_f2 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r2 * r2;
    let z1 = (theta1 - mu1) / s1;
    let log_q1 = -HALF_LN_2PI - rho1 - 0.5 * z1 * z1;
    let z2 = (theta2 - theta1 - mu2) / s2;
    let log_q2 = -HALF_LN_2PI - rho2 - 0.5 * z2 * z2;
    let value = log_prior + log_f1 + log_f2 - log_q1 - log_q2;

    // φ₁ = (μ₁, ρ₁): log f₂ and log q₂ are constants.
    let z1_bar = z1; // from −log q₁ = ½ z₁² + ..
    let dd1 = -d; // from −½ d²; d = θ₂ − θ₁
                  // −½θ₁², then (y₁ − θ₁)/σ, then z₁, then d directly and through θ₂ (they cancel).
    let theta1_bar = -theta1 + r1 / SIGMA + z1_bar / s1 - dd1 + dd1;
    let s1_bar = -z1_bar * z1 / s1 + theta1_bar * eps1;
    let mu1_bar = theta1_bar - z1_bar / s1;
    let rho1_bar = 1.0 + s1_bar * s1;
    // φ₂ = (μ₂, ρ₂): nothing is blocked, θ₁ is a constant.
    let z2_bar = z2;
    let theta2_bar = -d + r2 / SIGMA + z2_bar / s2;
    let s2_bar = -z2_bar * z2 / s2 + theta2_bar * eps2;
    let mu2_bar = theta2_bar - z2_bar / s2;
    let rho2_bar = 1.0 + s2_bar * s2;
    (value, (mu1_bar, rho1_bar, mu2_bar, rho2_bar))
}

/// Points for the correctness check: a fixed grid of parameters and noise.
fn check_points() -> Vec<[f64; 8]> {
    let vals = [-1.7, -0.3, 0.0, 0.45, 1.2];
    let mut points = Vec::new();
    for (i, &a) in vals.iter().enumerate() {
        for (j, &b) in vals.iter().enumerate() {
            for (k, &c) in vals.iter().enumerate() {
                let e = vals[(i + 2 * j + 3 * k) % vals.len()];
                points.push([
                    a,
                    0.5 * b,
                    c,
                    -0.5 * e,
                    b - c,
                    a + e,
                    1.3 * c - 0.2,
                    -2.1 * a + b,
                ]);
            }
        }
    }
    points
}

/// The hand-written gradient must be the generated one (to 1e-12, relative
/// to the size of the component), and both values the function's value.
fn check_hand_written_gradient() {
    let mut max_diff: f64 = 0.0;
    for p in check_points() {
        let [a, b, c, d, e1, e2, y1, y2] = p.map(black_box);
        let (v, (g0, g1, g2, g3)) = elbo_grad(a, b, c, d, e1, e2, y1, y2);
        let (hv, (h0, h1, h2, h3)) = elbo_grad_by_hand(a, b, c, d, e1, e2, y1, y2);
        let (cv, (c0, c1, c2, c3)) = elbo_grad_chain_rule(a, b, c, d, e1, e2, y1, y2);
        assert_eq!(v, elbo(a, b, c, d, e1, e2, y1, y2));
        assert_eq!(v, hv);
        assert_eq!(v, cv);
        for (g, h) in [
            (g0, h0),
            (g1, h1),
            (g2, h2),
            (g3, h3),
            (g0, c0),
            (g1, c1),
            (g2, c2),
            (g3, c3),
        ] {
            let diff = (g - h).abs() / g.abs().max(1.0);
            assert!(
                diff <= 1e-12,
                "hand-written gradient is off at {p:?}: {g} vs {h}"
            );
            max_diff = max_diff.max(diff);
        }
    }
    eprintln!("hand-written gradient matches sgrad's (max relative difference {max_diff:.1e})");
}

fn bench(c: &mut Criterion) {
    check_hand_written_gradient();

    let (mu1, rho1, mu2, rho2) = (0.3, -0.4, 0.8, -0.2);
    let (eps1, eps2, y1, y2) = (0.7, -1.3, -1.236, -2.094);

    let mut group = c.benchmark_group("seed_elbo");
    group.bench_function("value", |b| {
        b.iter(|| {
            elbo(
                black_box(mu1),
                black_box(rho1),
                black_box(mu2),
                black_box(rho2),
                black_box(eps1),
                black_box(eps2),
                black_box(y1),
                black_box(y2),
            )
        })
    });
    group.bench_function("grad_sgrad", |b| {
        b.iter(|| {
            elbo_grad(
                black_box(mu1),
                black_box(rho1),
                black_box(mu2),
                black_box(rho2),
                black_box(eps1),
                black_box(eps2),
                black_box(y1),
                black_box(y2),
            )
        })
    });
    group.bench_function("grad_by_hand", |b| {
        b.iter(|| {
            elbo_grad_by_hand(
                black_box(mu1),
                black_box(rho1),
                black_box(mu2),
                black_box(rho2),
                black_box(eps1),
                black_box(eps2),
                black_box(y1),
                black_box(y2),
            )
        })
    });
    group.bench_function("grad_chain_rule_by_hand", |b| {
        b.iter(|| {
            elbo_grad_chain_rule(
                black_box(mu1),
                black_box(rho1),
                black_box(mu2),
                black_box(rho2),
                black_box(eps1),
                black_box(eps2),
                black_box(y1),
                black_box(y2),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
