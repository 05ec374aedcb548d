//! The hand-written GMM gradient (`benches/gmm/mod.rs`) against the plain
//! objective: equal values, finite differences along random directions and
//! single components, a case worked out on paper, and the icf layout; and the
//! gradient sgrad generates from the same objective against both.

#[path = "../benches/gmm/mod.rs"]
mod gmm;

use gmm::{
    flatten, gmm_grad_by_hand, gmm_instance, gmm_objective, gmm_objective_flat,
    gmm_objective_flat_grad, gmm_objective_grad, gmm_wishart_constant, ln_gamma_half,
};

/// The differentiated parameters, flattened in the order alphas, means, icf.
#[derive(Clone)]
struct Params {
    alphas: Vec<f64>,
    means: Vec<Vec<f64>>,
    icf: Vec<Vec<f64>>,
}

impl Params {
    fn flat(&self) -> Vec<f64> {
        let mut v = self.alphas.clone();
        v.extend(self.means.iter().flatten());
        v.extend(self.icf.iter().flatten());
        v
    }

    /// `self + t · dir`, `dir` flat.
    fn step(&self, dir: &[f64], t: f64) -> Params {
        let mut out = self.clone();
        let mut it = dir.iter();
        let rows = out.means.iter_mut().chain(out.icf.iter_mut());
        for v in out.alphas.iter_mut().chain(rows.flatten()) {
            *v += t * it.next().unwrap();
        }
        assert!(it.next().is_none());
        out
    }
}

/// Small deterministic generator for the directions (independent of the one
/// in the module, so directions do not repeat the instance's numbers).
fn lcg_unit(seed: u64, len: usize) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut v: Vec<f64> = (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    v.iter_mut().for_each(|a| *a /= norm);
    v
}

struct Case {
    p: Params,
    x: Vec<Vec<f64>>,
    gamma: f64,
    m: f64,
}

impl Case {
    /// A seeded instance with a non-trivial prior (ADBench's γ = 1, m = 0
    /// would leave the m term untested).
    fn new(d: usize, k: usize, n: usize, seed: u64) -> Case {
        let (alphas, means, icf, data) = gmm_instance(d, k, n, seed);
        assert_eq!((data.d, data.k, data.n, data.x.len()), (d, k, n, n));
        Case {
            p: Params { alphas, means, icf },
            x: data.x,
            gamma: 0.7,
            m: 2.0,
        }
    }

    fn f(&self, p: &Params) -> f64 {
        gmm_objective(&p.alphas, &p.means, &p.icf, &self.x, self.gamma, self.m)
    }

    /// sgrad's gradient of the same objective, flattened like `hand`.
    fn generated(&self) -> (f64, Vec<f64>) {
        let p = &self.p;
        let (v, (ga, gm, gi)) =
            gmm_objective_grad(&p.alphas, &p.means, &p.icf, &self.x, self.gamma, self.m);
        let g = Params {
            alphas: ga,
            means: gm,
            icf: gi,
        };
        (v, g.flat())
    }

    fn hand(&self) -> (f64, Vec<f64>) {
        let p = &self.p;
        let (v, ga, gm, gi) =
            gmm_grad_by_hand(&p.alphas, &p.means, &p.icf, &self.x, self.gamma, self.m);
        let g = Params {
            alphas: ga,
            means: gm,
            icf: gi,
        };
        (v, g.flat())
    }

    /// Fourth-order central difference of t ↦ f(p + t·dir) at 0:
    /// (−f(2h) + 8f(h) − 8f(−h) + f(−2h)) / 12h.
    fn fd(&self, dir: &[f64]) -> f64 {
        let h = FD_STEP;
        let f = |t: f64| self.f(&self.p.step(dir, t));
        (-f(2.0 * h) + 8.0 * f(h) - 8.0 * f(-h) + f(-2.0 * h)) / (12.0 * h)
    }
}

/// Step of the finite-difference stencil, for unit-length directions.
///
/// Error budget of the stencil below, with |f| ≲ 35 on these instances:
/// * truncation h⁴/30 · |f⁽⁵⁾| ≈ 3e-14 · |f⁽⁵⁾|; along a unit direction f⁽⁵⁾
///   is of the size of f's own terms (exp(2·icf) and quadratics), so ≲ 1e-11;
/// * rounding: each f is off by ≲ 10 ulps of |f| ≈ 1e-13, amplified by
///   (1 + 8 + 8 + 1)/12h = 1.5e3, so ≲ 1e-10.
///
/// The largest error measured over all checks below is 9e-12 relative.
const FD_STEP: f64 = 1e-3;

/// Accepted |hand − fd| ≤ FD_TOL · max(1, |hand|): 100× the error budget
/// above, 1000× the measured worst case. A real mistake in a gradient shows
/// at the size of the derivative, O(0.1 – 10); this tolerance also catches a
/// relative error of 1e-6 in one term (checked by hand while writing this).
const FD_TOL: f64 = 1e-8;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn check_fd(case: &Case, label: &str) {
    let (_, g) = case.hand();
    let len = g.len();
    let p = &case.p;
    let (k, d) = (p.alphas.len(), p.means[0].len());

    let mut dirs: Vec<(String, Vec<f64>)> = (0..6)
        .map(|s| (format!("random direction {s}"), lcg_unit(1000 + s, len)))
        .collect();
    // Single components: first and last alpha, a mean, the first and last
    // log-diagonal entries and the first and last strictly-lower entries of
    // the last component.
    let icf0 = k + k * d;
    let last_row = icf0 + (k - 1) * d * (d + 1) / 2;
    let singles = [
        0,
        k - 1,
        k + d - 1,
        last_row,
        last_row + d - 1,
        last_row + d,
        last_row + d * (d + 1) / 2 - 1,
    ];
    for i in singles {
        let mut e = vec![0.0; len];
        e[i] = 1.0;
        dirs.push((format!("component {i}"), e));
    }

    for (name, dir) in &dirs {
        let hand = dot(&g, dir);
        let fd = case.fd(dir);
        let err = (hand - fd).abs();
        let scale = hand.abs().max(1.0);
        assert!(
            err <= FD_TOL * scale,
            "{label}, {name}: hand {hand} vs finite difference {fd} (error {err:e})"
        );
    }
}

fn check_value(case: &Case, label: &str) {
    let f = case.f(&case.p);
    let (v, _) = case.hand();
    assert!(
        (v - f).abs() <= 1e-12 * f.abs(),
        "{label}: hand value {v} vs objective {f}"
    );
}

const SIZES: [(usize, usize, usize); 2] = [(2, 3, 5), (3, 4, 7)];

#[test]
fn value_matches_objective() {
    for (d, k, n) in SIZES {
        for seed in [1, 2, 3] {
            check_value(
                &Case::new(d, k, n, seed),
                &format!("(d,K,n)=({d},{k},{n}) seed {seed}"),
            );
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    for (d, k, n) in SIZES {
        for seed in [1, 2, 3] {
            check_fd(
                &Case::new(d, k, n, seed),
                &format!("(d,K,n)=({d},{k},{n}) seed {seed}"),
            );
        }
    }
}

/// The generated gradient: the value bit for bit, the gradient equal to the
/// hand-derived one (which the tests above check against finite differences)
/// up to the rounding of two different summation orders.
#[test]
fn generated_gradient_matches_the_hand_gradient() {
    for (d, k, n) in SIZES.into_iter().chain([(10, 25, 40)]) {
        for seed in [1, 2] {
            let case = Case::new(d, k, n, seed);
            let (v, g) = case.generated();
            assert_eq!(v.to_bits(), case.f(&case.p).to_bits());
            let (_, h) = case.hand();
            for (i, (a, b)) in g.iter().zip(&h).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-10 * b.abs().max(1.0),
                    "(d,K,n)=({d},{k},{n}) seed {seed}, component {i}: sgrad {a} vs hand {b}"
                );
            }
        }
    }
}

/// The flat formulation (computed indices into slices): the same value as
/// the objective on rows, and the generated gradient equal to the hand one.
#[test]
fn flat_formulation_matches_the_hand_gradient() {
    for (d, k, n) in SIZES.into_iter().chain([(10, 25, 40)]) {
        let case = Case::new(d, k, n, 3);
        let p = &case.p;
        let (mf, icff, xf) = (flatten(&p.means), flatten(&p.icf), flatten(&case.x));
        let args = (
            &p.alphas[..],
            &mf[..],
            &icff[..],
            &xf[..],
            case.gamma,
            case.m,
        );
        let f = gmm_objective_flat(d, args.0, args.1, args.2, args.3, args.4, args.5);
        let (v, (ga, gm, gi)) =
            gmm_objective_flat_grad(d, args.0, args.1, args.2, args.3, args.4, args.5);
        assert_eq!(v.to_bits(), f.to_bits());
        let (hv, h) = case.hand();
        assert!((v - hv).abs() <= 1e-12 * hv.abs().max(1.0), "{v} vs {hv}");
        let g: Vec<f64> = ga.into_iter().chain(gm).chain(gi).collect();
        assert_eq!(g.len(), h.len());
        for (i, (a, b)) in g.iter().zip(&h).enumerate() {
            assert!(
                (a - b).abs() <= 1e-10 * b.abs().max(1.0),
                "(d,K,n)=({d},{k},{n}), component {i}: sgrad {a} vs hand {b}"
            );
        }
    }
}

#[test]
fn default_prior_too() {
    // ADBench's γ = 1, m = 0, as the generator returns it.
    let (alphas, means, icf, data) = gmm_instance(3, 4, 7, 9);
    let mut case = Case::new(3, 4, 7, 9);
    assert_eq!(case.p.alphas, alphas);
    assert_eq!((case.p.means.clone(), case.p.icf.clone()), (means, icf));
    case.gamma = data.gamma;
    case.m = f64::from(data.m);
    check_value(&case, "default prior");
    check_fd(&case, "default prior");
}

/// d = K = n = 1, worked on paper. Parameters a, μ, s (icf = [s]), point x;
/// q = eˢ, u = x − μ. The single logsumexp is its argument, and the −n·lse(α)
/// term is −a, so
///   f = s − ½ q² u² + ½ γ² q² − m s − ½ ln 2π,
///   ∂f/∂a = 0,  ∂f/∂μ = q² u,  ∂f/∂s = 1 − q² u² + γ² q² − m.
/// With s = ln 2 (q² = 4), u = 0.5, γ = 0.5, m = 2, a = 0.3:
///   f = ln 2 − ½ + ½ − 2 ln 2 − ½ ln 2π = −ln 2 − ½ ln 2π,
///   ∂f/∂a = 0, ∂f/∂μ = 2, ∂f/∂s = 1 − 1 + 1 − 2 = −1.
#[test]
fn tiny_case_by_paper() {
    let (alphas, means, icf) = (vec![0.3], vec![vec![1.0]], vec![vec![2f64.ln()]]);
    let x = vec![vec![1.5]];
    let (gamma, m) = (0.5, 2.0);
    let expect = -2f64.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();

    let f = gmm_objective(&alphas, &means, &icf, &x, gamma, m);
    let (v, ga, gm, gi) = gmm_grad_by_hand(&alphas, &means, &icf, &x, gamma, m);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs().max(1.0);
    assert!(close(f, expect), "objective {f} vs {expect}");
    assert!(close(v, expect), "hand value {v} vs {expect}");
    assert!(close(ga[0], 0.0), "d/da {}", ga[0]);
    assert!(close(gm[0][0], 2.0), "d/dmu {}", gm[0][0]);
    assert!(close(gi[0][0], -1.0), "d/ds {}", gi[0][0]);
}

/// The strictly lower part is column-major, as ADBench's `Qtimesx`: for
/// d = 4 the entries after the diagonal are L10 L20 L30 L21 L31 L32 (row-major
/// would be L10 L20 L21 L30 L31 L32). With Q = I + c·E₃₀ (icf[d + 2] = c) and
/// x − μ = e₀, Q(x − μ) = e₀ + c e₃: ‖·‖² = 1 + c²; row-major would read the
/// entry as L21 and give 1.
#[test]
fn lower_triangle_is_column_major() {
    let d = 4;
    let c = 0.75;
    let mut row = vec![0.0; d * (d + 1) / 2];
    row[d + 2] = c;
    let (alphas, means, icf) = (vec![0.0], vec![vec![0.0; d]], vec![row]);
    let x = vec![vec![1.0, 0.0, 0.0, 0.0]];
    // γ = 0, m = 0: no prior; f = sum_qs − ½‖Q x‖² − 0 − ½ d ln 2π, sum_qs = 0.
    let expect = -0.5 * (1.0 + c * c) - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln();
    let f = gmm_objective(&alphas, &means, &icf, &x, 0.0, 0.0);
    let (v, _, _, _) = gmm_grad_by_hand(&alphas, &means, &icf, &x, 0.0, 0.0);
    assert!((f - expect).abs() <= 1e-14, "objective {f} vs {expect}");
    assert!((v - expect).abs() <= 1e-14, "hand value {v} vs {expect}");
}

#[test]
fn wishart_constant() {
    let pi_ln = std::f64::consts::PI.ln();
    // Γ(½) = √π, Γ(1) = 1, Γ(5/2) = ¾√π, Γ(4) = 6.
    assert!((ln_gamma_half(1) - 0.5 * pi_ln).abs() < 1e-15);
    assert_eq!(ln_gamma_half(2), 0.0);
    assert!((ln_gamma_half(5) - (0.75f64.ln() + 0.5 * pi_ln)).abs() < 1e-14);
    assert!((ln_gamma_half(8) - 6f64.ln()).abs() < 1e-14);
    // d = 1, m = 0, γ = 1: n_w = 2, C = 2·(0 − ½ ln 2) − ln Γ(1) = −ln 2,
    // so −K·C = K ln 2.
    assert!((gmm_wishart_constant(1, 3, 1.0, 0) - 3.0 * 2f64.ln()).abs() < 1e-14);
}
