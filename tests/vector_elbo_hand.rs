//! The hand-derived gradient of the vector seed ELBO (used by
//! `benches/vector_elbo.rs`) against an independent oracle: central finite
//! differences of the program in which the ⊥_{φ₁} terms, log f₂ and log q₂,
//! are computed from (μ₁, ρ₁) frozen at the base point. By SEMANTICS.md the
//! derivative of that program is the one `sg_for!` defines: with respect to
//! μ₁ or ρ₁ the blocked terms are constants; with respect to μ₂ or ρ₂ they are
//! ordinary (μ₁ and ρ₁ are at the base point anyway).

#[path = "../benches/common/vector_elbo.rs"]
mod model;

use model::{elbo, elbo_grad, elbo_grad_by_hand, HALF_LN_2PI, SIGMA};

/// 𝒦 with log f₂ and log q₂ computed from `phi1_frozen` = (μ₁, ρ₁) instead
/// of the live `p[0]`, `p[1]`; `p` is (μ₁, ρ₁, μ₂, ρ₂).
fn frozen<const D: usize>(
    p: [[f64; D]; 4],
    phi1_frozen: [[f64; D]; 2],
    eps: &[[f64; 2]],
    y: &[[f64; 2]],
) -> f64 {
    let [mu1, rho1, mu2, rho2] = p;
    let [mu1_c, rho1_c] = phi1_frozen;
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
        let z1 = (theta1 - mu1[d]) / s1;
        let log_q1 = -HALF_LN_2PI - rho1[d] - 0.5 * z1 * z1;
        // The blocked terms see θ₁ (and through it θ₂) built from frozen φ₁.
        let theta1_c = mu1_c[d] + rho1_c[d].exp() * eps[d][0];
        let theta2_c = theta1_c + mu2[d] + s2 * eps[d][1];
        let r2 = (y[d][1] - theta1_c - theta2_c) / SIGMA;
        let log_f2 = -HALF_LN_2PI - SIGMA.ln() - 0.5 * r2 * r2;
        let z2 = (theta2_c - theta1_c - mu2[d]) / s2;
        let log_q2 = -HALF_LN_2PI - rho2[d] - 0.5 * z2 * z2;
        total += log_prior + log_f1 + log_f2 - log_q1 - log_q2;
    }
    total
}

/// xorshift64*: seeded uniforms.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let u = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }

    fn array<const D: usize>(&mut self, lo: f64, hi: f64) -> [f64; D] {
        std::array::from_fn(|_| self.uniform(lo, hi))
    }
}

/// Central differences of `frozen` at `p`, with φ₁ frozen at `p`'s own
/// (μ₁, ρ₁) — or, with `freeze` false, moving with the perturbation (the
/// gradient without ⊥).
fn finite_differences<const D: usize>(
    p: [[f64; D]; 4],
    eps: &[[f64; 2]],
    y: &[[f64; 2]],
    freeze: bool,
) -> [[f64; D]; 4] {
    let h = 1e-5;
    let mut g = [[0.0; D]; 4];
    for k in 0..4 {
        for d in 0..D {
            let (mut plus, mut minus) = (p, p);
            plus[k][d] += h;
            minus[k][d] -= h;
            let (phi_plus, phi_minus) = if freeze {
                ([p[0], p[1]], [p[0], p[1]])
            } else {
                ([plus[0], plus[1]], [minus[0], minus[1]])
            };
            g[k][d] =
                (frozen(plus, phi_plus, eps, y) - frozen(minus, phi_minus, eps, y)) / (2.0 * h);
        }
    }
    g
}

fn check<const D: usize>(seed: u64) {
    let mut rng = Rng(seed);
    let mut largest_cut: f64 = 0.0;
    for _ in 0..25 {
        let p = [
            rng.array::<D>(-2.0, 2.0),
            rng.array::<D>(-1.0, 0.5),
            rng.array::<D>(-2.0, 2.0),
            rng.array::<D>(-1.0, 0.5),
        ];
        let eps: Vec<[f64; 2]> = (0..D).map(|_| rng.array(-2.5, 2.5)).collect();
        let y: Vec<[f64; 2]> = (0..D).map(|_| rng.array(-3.0, 3.0)).collect();

        let (v, (h0, h1, h2, h3)) = elbo_grad_by_hand(p[0], p[1], p[2], p[3], &eps, &y);
        assert_eq!(v, elbo(p[0], p[1], p[2], p[3], &eps, &y));
        assert!((v - frozen(p, [p[0], p[1]], &eps, &y)).abs() <= 1e-12 * v.abs().max(1.0));
        let hand = [h0, h1, h2, h3];
        let fd = finite_differences(p, &eps, &y, true);
        let unfrozen = finite_differences(p, &eps, &y, false);
        for k in 0..4 {
            for d in 0..D {
                let (h, f) = (hand[k][d], fd[k][d]);
                assert!(
                    (h - f).abs() <= 1e-6 * h.abs().max(1.0),
                    "D = {D}, parameter {k}, component {d}: hand {h}, finite differences {f}"
                );
                if k < 2 {
                    largest_cut = largest_cut.max((h - unfrozen[k][d]).abs());
                }
            }
        }

        // sgrad's generated gradient is the same function.
        let (gv, (g0, g1, g2, g3)) = elbo_grad(p[0], p[1], p[2], p[3], &eps, &y);
        assert_eq!(gv, v);
        for (g, h) in [g0, g1, g2, g3].iter().flatten().zip(hand.iter().flatten()) {
            assert!((g - h).abs() <= 1e-10 * h.abs().max(1.0), "{g} vs {h}");
        }
    }
    // The oracle is not vacuous: the ⊥_{φ₁} changes the φ₁ gradient.
    assert!(largest_cut > 1e-2, "⊥_φ₁ made no difference: {largest_cut}");
}

#[test]
fn hand_gradient_matches_finite_differences_d2() {
    check::<2>(0x5eed_0000_0000_0002);
}

#[test]
fn hand_gradient_matches_finite_differences_d5() {
    check::<5>(0x5eed_0000_0000_0005);
}
