//! VQ-VAE (van den Oord, Vinyals, Kavukcuoglu 2017, "Neural Discrete
//! Representation Learning"): the straight-through estimator and the three
//! loss terms, with gradients checked against the paper's update rules.
//!
//! With e_k the codebook vector nearest to the encoder output z_e:
//!
//! ```text
//! z_q = e_k,   k = argmin_j ‖z_e − e_j‖
//! L   = ‖x − dec(z_q)‖² + ‖sg[z_e] − e_k‖² + β ‖z_e − sg[e_k]‖²
//! ```
//!
//! where the decoder input is the straight-through value
//! `z_e + sg(z_q − z_e)`: its value is z_q, its gradient passes to z_e
//! unchanged and never reaches the codebook.

mod common;

use common::{assert_jvp, like, per_variable, Flat, Jvp, Rng};

/// Forward mode against the gradient: the dot-product identity for a
/// tangent on `z_e` alone, on `codebook` alone and on both, in seeded random
/// directions (`common::assert_jvp`).
#[track_caller]
fn jvp_identity(what: &str, value: f64, (g_z, g_c): (&[f64], &[Vec<f64>]), jvp: Jvp) {
    let grad = (g_z, g_c).flat();
    let shape = [g_z.len(), grad.len() - g_z.len()];
    assert_jvp(
        what,
        value,
        &grad,
        &per_variable(&shape),
        jvp,
        &mut Rng::new(3),
    );
}
use sgrad::{differentiable, sg};

const BETA: f64 = 0.25;

/// Index of the codebook row nearest to `z` (squared Euclidean distance,
/// first one on ties). Plain Rust: the argmin carries no derivative.
fn nearest(z: &[f64], codebook: &[Vec<f64>]) -> usize {
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    for (j, e) in codebook.iter().enumerate() {
        let d: f64 = z.iter().zip(e).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best_d {
            best_d = d;
            best = j;
        }
    }
    best
}

// ---------------------------------------------------------------------------
// (a) The straight-through estimator.

/// ‖z_q_st − x‖² with z_q_st = z_e + sg(z_q − z_e); the argmin is found inside
/// the function, by a loop over stopped distances.
#[differentiable(z_e, codebook; forward)]
#[allow(clippy::needless_range_loop)] // sgrad differentiates indexed loops
fn st_sq_err(z_e: &[f64], codebook: &[Vec<f64>], x: &[f64]) -> f64 {
    let n = z_e.len();
    let mut k = 0;
    let mut best = f64::INFINITY;
    for j in 0..codebook.len() {
        let mut d = 0.0;
        for i in 0..n {
            let t = sg(z_e[i] - codebook[j][i]);
            d += t * t;
        }
        if d < best {
            best = d;
            k = j;
        }
    }
    let mut l = 0.0;
    for i in 0..n {
        let z_q_st = z_e[i] + sg(codebook[k][i] - z_e[i]);
        let r = z_q_st - x[i];
        l += r * r;
    }
    l
}

/// One component of z_q_st, with the index passed in: its value is z_q.
#[differentiable(z_e, codebook; forward)]
#[allow(deprecated)] // the codebook's gradient is zero here by design (sgrad warns of it)
fn st_component(z_e: &[f64], codebook: &[Vec<f64>], k: usize, i: usize) -> f64 {
    z_e[i] + sg(codebook[k][i] - z_e[i])
}

/// The same loss with z_q itself (no straight-through): the reference for the
/// value, and for the gradient "evaluated at z_q".
fn sq_err(z: &[f64], x: &[f64]) -> f64 {
    z.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// Dyadic values, so that z_e + (z_q − z_e) rounds to z_q exactly.
fn dyadic_case() -> (Vec<f64>, Vec<Vec<f64>>, Vec<f64>) {
    let z_e = vec![0.75, -1.25, 0.5];
    let codebook = vec![
        vec![-2.0, 1.0, 0.0],
        vec![1.0, -1.0, 0.25], // nearest to z_e
        vec![3.0, 3.0, -3.0],
        vec![0.0, 0.0, 2.0],
    ];
    let x = vec![0.5, 0.125, -1.5];
    (z_e, codebook, x)
}

#[test]
fn straight_through_value_is_z_q() {
    let (z_e, codebook, _) = dyadic_case();
    let k = nearest(&z_e, &codebook);
    assert_eq!(k, 1);
    for i in 0..z_e.len() {
        let v = st_component(&z_e, &codebook, k, i);
        let (v2, (g_z, g_c)) = st_component_grad(&z_e, &codebook, k, i);
        assert_eq!(v.to_bits(), codebook[k][i].to_bits());
        assert_eq!(v2.to_bits(), codebook[k][i].to_bits());
        // d z_q_st[i] / d z_e = unit vector i; nothing reaches the codebook.
        for (j, g) in g_z.iter().enumerate() {
            assert_eq!(*g, if j == i { 1.0 } else { 0.0 });
        }
        assert!(g_c.iter().flatten().all(|g| *g == 0.0));
        let jvp = |d: &[f64]| {
            let (tz, tc) = like(&(z_e.clone(), codebook.clone()), d);
            st_component_jvp(&z_e, &codebook, k, i, &tz, &tc)
        };
        jvp_identity("st_component", v2, (&g_z, &g_c), &jvp);
    }
}

#[test]
fn straight_through_value_is_within_rounding_of_z_q_on_random_inputs() {
    // z_e + (z_q − z_e) is z_q up to one rounding of the sum, not bit for bit.
    let mut rng = Rng::new(7);
    for _ in 0..200 {
        let z_e: Vec<f64> = (0..4).map(|_| rng.uniform(-3.0, 3.0)).collect();
        let codebook: Vec<Vec<f64>> = (0..6)
            .map(|_| (0..4).map(|_| rng.uniform(-3.0, 3.0)).collect())
            .collect();
        let k = nearest(&z_e, &codebook);
        for i in 0..4 {
            let v = st_component(&z_e, &codebook, k, i);
            let e = codebook[k][i];
            assert!((v - e).abs() <= 4.0 * f64::EPSILON * e.abs().max(z_e[i].abs()));
        }
    }
}

#[test]
fn straight_through_passes_the_loss_gradient_at_z_q_unchanged() {
    let mut rng = Rng::new(11);
    let mut cases = vec![dyadic_case()];
    for _ in 0..50 {
        let z_e: Vec<f64> = (0..3).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let codebook: Vec<Vec<f64>> = (0..5)
            .map(|_| (0..3).map(|_| rng.uniform(-2.0, 2.0)).collect())
            .collect();
        let x: Vec<f64> = (0..3).map(|_| rng.uniform(-2.0, 2.0)).collect();
        cases.push((z_e, codebook, x));
    }
    for (idx, (z_e, codebook, x)) in cases.iter().enumerate() {
        let k = nearest(z_e, codebook);
        let z_q = &codebook[k];
        let (v, (g_z, g_c)) = st_sq_err_grad(z_e, codebook, x);
        assert_eq!(v.to_bits(), st_sq_err(z_e, codebook, x).to_bits());
        if idx == 0 {
            // exact arithmetic: the value is the loss at z_q, bit for bit
            assert_eq!(v.to_bits(), sq_err(z_q, x).to_bits());
        } else {
            assert!((v - sq_err(z_q, x)).abs() < 1e-12);
        }
        // ∂L/∂z_e = ∂‖z − x‖²/∂z at z = z_q, i.e. 2 (z_q − x)
        for i in 0..3 {
            assert!(
                (g_z[i] - 2.0 * (z_q[i] - x[i])).abs() < 1e-12,
                "case {idx}, i {i}"
            );
        }
        assert!(g_c.iter().flatten().all(|g| *g == 0.0));
        let jvp = |d: &[f64]| {
            let (tz, tc) = like(&(z_e.clone(), codebook.clone()), d);
            st_sq_err_jvp(z_e, codebook, x, &tz, &tc)
        };
        jvp_identity("st_sq_err", v, (&g_z, &g_c), &jvp);
    }
}

// ---------------------------------------------------------------------------
// (b) The VQ-VAE loss.

/// L = ‖x − (W z_q_st + b)‖² + ‖sg(z_e) − e_k‖² + β ‖z_e − sg(e_k)‖²,
/// a linear decoder with weights W (rows = output dimensions) and bias b.
#[differentiable(z_e, codebook)]
fn vq_loss(
    z_e: &[f64],
    codebook: &[Vec<f64>],
    k: usize,
    x: &[f64],
    w: &[Vec<f64>],
    b: &[f64],
) -> f64 {
    let n = z_e.len();
    let mut z_q_st = vec![0.0; n];
    for i in 0..n {
        z_q_st[i] = z_e[i] + sg(codebook[k][i] - z_e[i]);
    }
    let mut rec = 0.0;
    for j in 0..x.len() {
        let mut x_hat = b[j];
        for i in 0..n {
            x_hat += w[j][i] * z_q_st[i];
        }
        let r = x[j] - x_hat;
        rec += r * r;
    }
    let mut codebook_term = 0.0;
    let mut commitment = 0.0;
    for i in 0..n {
        let c = sg(z_e[i]) - codebook[k][i];
        codebook_term += c * c;
        let m = z_e[i] - sg(codebook[k][i]);
        commitment += m * m;
    }
    rec + codebook_term + BETA * commitment
}

/// The same program with every `sg` replaced by the identity.
#[differentiable(z_e, codebook)]
fn vq_loss_no_sg(
    z_e: &[f64],
    codebook: &[Vec<f64>],
    k: usize,
    x: &[f64],
    w: &[Vec<f64>],
    b: &[f64],
) -> f64 {
    let n = z_e.len();
    let mut z_q_st = vec![0.0; n];
    for i in 0..n {
        z_q_st[i] = z_e[i] + (codebook[k][i] - z_e[i]);
    }
    let mut rec = 0.0;
    for j in 0..x.len() {
        let mut x_hat = b[j];
        for i in 0..n {
            x_hat += w[j][i] * z_q_st[i];
        }
        let r = x[j] - x_hat;
        rec += r * r;
    }
    let mut codebook_term = 0.0;
    let mut commitment = 0.0;
    for i in 0..n {
        let c = z_e[i] - codebook[k][i];
        codebook_term += c * c;
        let m = z_e[i] - codebook[k][i];
        commitment += m * m;
    }
    rec + codebook_term + BETA * commitment
}

/// The paper's update rules, by hand. With z_q = e_k and r = x − (W e_k + b):
///
/// ```text
/// ∂L/∂z_e = −2 Wᵀ r + 2β (z_e − e_k)      (reconstruction straight through, commitment)
/// ∂L/∂e_k = 2 (e_k − z_e)                 (codebook term only)
/// ∂L/∂e_j = 0 for j ≠ k
/// ```
fn vq_grad_by_hand(
    z_e: &[f64],
    codebook: &[Vec<f64>],
    k: usize,
    x: &[f64],
    w: &[Vec<f64>],
    b: &[f64],
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = z_e.len();
    let e_k = &codebook[k];
    let r: Vec<f64> = (0..x.len())
        .map(|j| x[j] - b[j] - (0..n).map(|i| w[j][i] * e_k[i]).sum::<f64>())
        .collect();
    let g_z: Vec<f64> = (0..n)
        .map(|i| {
            -2.0 * (0..x.len()).map(|j| w[j][i] * r[j]).sum::<f64>()
                + 2.0 * BETA * (z_e[i] - e_k[i])
        })
        .collect();
    let mut g_c = vec![vec![0.0; n]; codebook.len()];
    for i in 0..n {
        g_c[k][i] = 2.0 * (e_k[i] - z_e[i]);
    }
    (g_z, g_c)
}

/// (z_e, codebook, x, W, b)
type Case = (Vec<f64>, Vec<Vec<f64>>, Vec<f64>, Vec<Vec<f64>>, Vec<f64>);

/// Small random problems: D = 3 latent, 4 outputs, K = 5 codes.
fn random_case(rng: &mut Rng) -> Case {
    let (d, out, kk) = (3, 4, 5);
    let z_e = (0..d).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let codebook = (0..kk)
        .map(|_| (0..d).map(|_| rng.uniform(-2.0, 2.0)).collect())
        .collect();
    let x = (0..out).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let w = (0..out)
        .map(|_| (0..d).map(|_| rng.uniform(-1.0, 1.0)).collect())
        .collect();
    let b = (0..out).map(|_| rng.uniform(-0.5, 0.5)).collect();
    (z_e, codebook, x, w, b)
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-12, "{what}: {a} vs {b}");
}

#[test]
fn vq_loss_gradients_follow_the_papers_update_rules() {
    let mut rng = Rng::new(2017);
    for case in 0..100 {
        let (z_e, codebook, x, w, b) = random_case(&mut rng);
        let k = nearest(&z_e, &codebook);
        let (v, (g_z, g_c)) = vq_loss_grad(&z_e, &codebook, k, &x, &w, &b);
        assert_eq!(
            v.to_bits(),
            vq_loss(&z_e, &codebook, k, &x, &w, &b).to_bits()
        );
        let (h_z, h_c) = vq_grad_by_hand(&z_e, &codebook, k, &x, &w, &b);
        for i in 0..z_e.len() {
            assert_close(g_z[i], h_z[i], &format!("case {case}: dL/dz_e[{i}]"));
        }
        for j in 0..codebook.len() {
            for i in 0..z_e.len() {
                assert_close(
                    g_c[j][i],
                    h_c[j][i],
                    &format!("case {case}: dL/de_{j}[{i}]"),
                );
                if j != k {
                    assert_eq!(g_c[j][i], 0.0, "only e_k moves");
                }
            }
        }
    }
}

/// Each term on its own, through the same function: x, W, b chosen so that
/// one term is switched off at a time.
#[test]
fn each_term_moves_only_what_the_paper_says() {
    let z_e = vec![0.3, -0.7];
    let codebook = vec![vec![1.0, 1.0], vec![0.5, -0.5], vec![-1.0, 0.0]];
    let k = nearest(&z_e, &codebook);
    assert_eq!(k, 1);
    let d = [z_e[0] - codebook[k][0], z_e[1] - codebook[k][1]];

    // Reconstruction off (W = 0, b = x): codebook term moves only e_k,
    // commitment only z_e.
    let w0 = vec![vec![0.0, 0.0]; 2];
    let x = vec![0.2, 0.9];
    let (_, (g_z, g_c)) = vq_loss_grad(&z_e, &codebook, k, &x, &w0, &x);
    for i in 0..2 {
        assert_close(g_z[i], 2.0 * BETA * d[i], "commitment → z_e");
        assert_close(g_c[k][i], -2.0 * d[i], "codebook term → e_k");
    }

    // Reconstruction only: z_e at e_k (codebook and commitment terms and
    // their gradients vanish). The gradient is −2 Wᵀ r, on z_e only.
    let z_at = codebook[k].clone();
    let w = vec![vec![1.0, 2.0], vec![-0.5, 0.25]];
    let b = vec![0.0, 0.1];
    let (_, (g_z, g_c)) = vq_loss_grad(&z_at, &codebook, k, &x, &w, &b);
    let r: Vec<f64> = (0..2)
        .map(|j| x[j] - b[j] - w[j][0] * z_at[0] - w[j][1] * z_at[1])
        .collect();
    for i in 0..2 {
        assert_close(
            g_z[i],
            -2.0 * (w[0][i] * r[0] + w[1][i] * r[1]),
            "reconstruction → z_e",
        );
    }
    assert!(
        g_c.iter().flatten().all(|g| *g == 0.0),
        "reconstruction never reaches the codebook"
    );
}

// ---------------------------------------------------------------------------
// (c) The stop-gradients matter.

#[test]
fn replacing_sg_by_identity_changes_the_gradients() {
    let mut rng = Rng::new(5);
    for _ in 0..20 {
        let (z_e, codebook, x, w, b) = random_case(&mut rng);
        let k = nearest(&z_e, &codebook);
        let (v, (g_z, g_c)) = vq_loss_grad(&z_e, &codebook, k, &x, &w, &b);
        let (v0, (g0_z, g0_c)) = vq_loss_no_sg_grad(&z_e, &codebook, k, &x, &w, &b);
        // the values agree (sg is the identity on values) ...
        assert!((v - v0).abs() < 1e-12);
        assert_eq!(
            v0.to_bits(),
            vq_loss_no_sg(&z_e, &codebook, k, &x, &w, &b).to_bits()
        );
        // ... the gradients do not.
        let dz: f64 = g_z.iter().zip(&g0_z).map(|(a, b)| (a - b).abs()).sum();
        let dc: f64 = g_c
            .iter()
            .flatten()
            .zip(g0_c.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(dz > 1e-3, "z_e gradient unchanged without sg");
        assert!(dc > 1e-3, "codebook gradient unchanged without sg");
        // Without sg the reconstruction gradient reaches e_k, not z_e:
        // z_e + (e_k − z_e) has derivative 0 for z_e.
        let (h_z, h_c) = vq_grad_by_hand(&z_e, &codebook, k, &x, &w, &b);
        let hz: f64 = h_z.iter().zip(&g0_z).map(|(a, b)| (a - b).abs()).sum();
        let hc: f64 = h_c
            .iter()
            .flatten()
            .zip(g0_c.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(
            hz > 1e-3 && hc > 1e-3,
            "the paper's rules must not hold without sg"
        );
    }
}

#[test]
fn replacing_sg_by_identity_breaks_the_straight_through_gradient() {
    let (z_e, codebook, x) = dyadic_case();
    #[differentiable(z_e, codebook; forward)]
    fn no_st(z_e: &[f64], codebook: &[Vec<f64>], k: usize, x: &[f64]) -> f64 {
        let mut l = 0.0;
        for i in 0..z_e.len() {
            let z = z_e[i] + (codebook[k][i] - z_e[i]);
            let r = z - x[i];
            l += r * r;
        }
        l
    }
    let k = nearest(&z_e, &codebook);
    let (_, (g_z, _)) = st_sq_err_grad(&z_e, &codebook, &x);
    let (v0, (g0_z, g0_c)) = no_st_grad(&z_e, &codebook, k, &x);
    assert_eq!(v0.to_bits(), no_st(&z_e, &codebook, k, &x).to_bits());
    assert!(
        g0_z.iter().all(|g| *g == 0.0),
        "without sg the encoder gets nothing"
    );
    assert_ne!(g_z, g0_z);
    assert!(g0_c[k].iter().any(|g| *g != 0.0));
    let jvp = |d: &[f64]| {
        let (tz, tc) = like(&(z_e.clone(), codebook.clone()), d);
        no_st_jvp(&z_e, &codebook, k, &x, &tz, &tc)
    };
    jvp_identity("no_st", v0, (&g0_z, &g0_c), &jvp);
}

/// `sg(z_q) + (z_e − sg(z_e))`: the same straight-through gradient, and a
/// value that is z_q exactly for every finite input (z_e − z_e = 0).
#[differentiable(z_e, codebook; forward)]
#[allow(deprecated)] // the codebook's gradient is zero here by design (sgrad warns of it)
fn st_exact_component(z_e: &[f64], codebook: &[Vec<f64>], k: usize, i: usize) -> f64 {
    sg(codebook[k][i]) + (z_e[i] - sg(z_e[i]))
}

#[test]
fn exact_straight_through_form_has_value_z_q_bit_for_bit() {
    let mut rng = Rng::new(13);
    for _ in 0..200 {
        let z_e: Vec<f64> = (0..4).map(|_| rng.uniform(-3.0, 3.0)).collect();
        let codebook: Vec<Vec<f64>> = (0..6)
            .map(|_| (0..4).map(|_| rng.uniform(-3.0, 3.0)).collect())
            .collect();
        let k = nearest(&z_e, &codebook);
        for i in 0..4 {
            let (v, (g_z, g_c)) = st_exact_component_grad(&z_e, &codebook, k, i);
            assert_eq!(v.to_bits(), codebook[k][i].to_bits());
            assert_eq!(
                v.to_bits(),
                st_exact_component(&z_e, &codebook, k, i).to_bits()
            );
            let (_, (h_z, h_c)) = st_component_grad(&z_e, &codebook, k, i);
            assert_eq!(g_z, h_z);
            assert_eq!(g_c, h_c);
            let jvp = |d: &[f64]| {
                let (tz, tc) = like(&(z_e.clone(), codebook.clone()), d);
                st_exact_component_jvp(&z_e, &codebook, k, i, &tz, &tc)
            };
            jvp_identity("st_exact_component", v, (&g_z, &g_c), &jvp);
        }
    }
}
