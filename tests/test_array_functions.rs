//! The runtime's array functions (`log_sum_exp`, `dot`, `sum`) inside
//! differentiated code: against central differences, and at extreme inputs.

use sgrad::{differentiable, dot, log_sum_exp, sum};

#[differentiable(z)]
fn lse(z: &[f64]) -> f64 {
    log_sum_exp(z)
}

#[differentiable(a, b)]
#[allow(clippy::ptr_arg)] // `&Vec` parameters are supported and tested on purpose
fn inner(a: [f64; 4], b: &Vec<f64>) -> f64 {
    dot(&a, b) + 0.5 * sum(&a) * sum(b)
}

#[differentiable(z)]
fn lse32(z: [f32; 3]) -> f32 {
    log_sum_exp(&z)
}

/// Cross-entropy of a softmax over `z` with label `y`, as users write it.
#[differentiable(z)]
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
}

#[test]
fn f32_and_cross_entropy() {
    let (v, g) = lse32_grad([0.1, 0.2, 0.3]);
    assert_eq!(v.to_bits(), lse32([0.1, 0.2, 0.3]).to_bits());
    assert!((g.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let z = vec![1.0, 3.0, -2.0];
    let (v, g) = cross_entropy_grad(&z, 1);
    assert_eq!(v.to_bits(), cross_entropy(&z, 1).to_bits());
    let (_, softmax) = lse_grad(&z);
    for i in 0..3 {
        let expected = softmax[i] - if i == 1 { 1.0 } else { 0.0 };
        assert!((g[i] - expected).abs() < 1e-15);
    }
}
