//! The runtime's array functions (`log_sum_exp`, `dot`, `sum`) inside
//! differentiated code: against central differences, at extreme inputs, and
//! against forward mode (the dot-product identity `<gradient, v> = jvp(v)`).

use sgrad::{differentiable, dot, log_sum_exp, sum};

mod common;
use common::{assert_dot_identity_rel, assert_jvp, assert_jvp_plain, Rng, JVP_REL_F32};

#[differentiable(z; forward)]
fn lse(z: &[f64]) -> f64 {
    log_sum_exp(z)
}

#[differentiable(a, b; forward)]
#[allow(clippy::ptr_arg)] // `&Vec` parameters are supported and tested on purpose
fn inner(a: [f64; 4], b: &Vec<f64>) -> f64 {
    dot(&a, b) + 0.5 * sum(&a) * sum(b)
}

#[differentiable(z; forward)]
fn lse32(z: [f32; 3]) -> f32 {
    log_sum_exp(&z)
}

/// Cross-entropy of a softmax over `z` with label `y`, as users write it.
#[differentiable(z; forward)]
fn cross_entropy(z: &[f64], y: usize) -> f64 {
    log_sum_exp(z) - z[y]
}

fn central(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

#[test]
fn log_sum_exp_gradient_is_softmax() {
    let z = vec![0.5, -1.2, 2.0, 0.0];
    let (v, g) = lse_grad(&z);
    assert_eq!(v.to_bits(), lse(&z).to_bits());
    for i in 0..z.len() {
        let fd = central(
            |t| {
                let mut w = z.clone();
                w[i] = t;
                lse(&w)
            },
            z[i],
        );
        assert!((g[i] - fd).abs() < 1e-8, "{i}: {} vs {fd}", g[i]);
    }
    assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    assert_jvp_plain("lse", v, &g, &|d| lse_jvp(&z, d), &mut Rng::new(1));
}

#[test]
fn log_sum_exp_at_extreme_inputs() {
    for z in [
        vec![1e300, 1e300],
        vec![-1e300, -1e300],
        vec![3.0; 5],
        vec![1e300, -1e300, 0.0],
    ] {
        let (v, g) = lse_grad(&z);
        assert!(v.is_finite(), "{z:?}: {v}");
        assert!(g.iter().all(|d| d.is_finite() && *d >= 0.0), "{z:?}: {g:?}");
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{z:?}: {g:?}");
        assert_jvp_plain("lse", v, &g, &|d| lse_jvp(&z, d), &mut Rng::new(2));
    }
    let (v, g) = lse_grad(&[3.0; 4]);
    assert_eq!(v, 3.0 + 4f64.ln());
    assert!(g.iter().all(|d| (d - 0.25).abs() < 1e-15), "{g:?}");
    let (v, g) = lse_grad(&[f64::NEG_INFINITY; 3]);
    assert_eq!(v, f64::NEG_INFINITY);
    assert_eq!(g, vec![0.0; 3]);
}

#[test]
fn dot_and_sum_gradients() {
    let a = [0.3, -0.7, 1.1, 2.0];
    let b = vec![1.5, 0.2, -0.4, 0.9];
    let (v, (ga, gb)) = inner_grad(a, &b);
    assert_eq!(v.to_bits(), inner(a, &b).to_bits());
    let (sa, sb) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
    for i in 0..4 {
        assert!((ga[i] - (b[i] + 0.5 * sb)).abs() < 1e-14);
        assert!((gb[i] - (a[i] + 0.5 * sa)).abs() < 1e-14);
    }
    let grad = [&ga[..], &gb].concat();
    let jvp = |d: &[f64]| inner_jvp(a, &b, [d[0], d[1], d[2], d[3]], &d[4..].to_vec());
    let groups = [vec![0, 1, 2, 3], vec![4, 5, 6, 7]];
    assert_jvp("inner", v, &grad, &groups, &jvp, &mut Rng::new(3));
}

#[test]
fn f32_and_cross_entropy() {
    let (v, g) = lse32_grad([0.1, 0.2, 0.3]);
    assert_eq!(v.to_bits(), lse32([0.1, 0.2, 0.3]).to_bits());
    assert!((g.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let (vj, t) = lse32_jvp([0.1, 0.2, 0.3], [1.0, -0.5, 2.0]);
    assert_eq!(vj.to_bits(), v.to_bits());
    let g64 = g.map(f64::from);
    assert_dot_identity_rel("lse32", &g64, f64::from(t), &[1.0, -0.5, 2.0], JVP_REL_F32);
    let z = vec![1.0, 3.0, -2.0];
    let (v, g) = cross_entropy_grad(&z, 1);
    assert_eq!(v.to_bits(), cross_entropy(&z, 1).to_bits());
    let (_, softmax) = lse_grad(&z);
    for i in 0..3 {
        let expected = softmax[i] - if i == 1 { 1.0 } else { 0.0 };
        assert!((g[i] - expected).abs() < 1e-15);
    }
    let jvp = |d: &[f64]| cross_entropy_jvp(&z, 1, d);
    assert_jvp_plain("cross_entropy", v, &g, &jvp, &mut Rng::new(4));
}
