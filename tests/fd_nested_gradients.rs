//! Reverse over reverse: differentiated code that calls another function's
//! `_grad` (a particle pushed by the gradient of a potential, a gradient
//! step inside an objective), against central differences of the program
//! and against `sgrad::hessian`.

use sgrad::{differentiable, hessian, sg, Real};

/// The potential of two charges, one of them placed by `c`.
#[differentiable(x0, x1)]
fn potential<T: Real>(x0: T, x1: T, c: T) -> T {
    let k = T::from_f64(10.0);
    let a = ((x0 - k) * (x0 - k) + (x1 - k + c) * (x1 - k + c)).sqrt();
    let b = ((x0 - k) * (x0 - k) + (x1 + c) * (x1 + c)).sqrt();
    T::one() / a + T::one() / b
}

/// GradBench's particle, shortened: the particle is pushed by the force
/// −∇potential, computed by the potential's own gradient, and the objective
/// is where it crosses the ground.
#[differentiable(w)]
fn miss(w: f64, c: f64) -> f64 {
    let (mut x0, mut x1, mut v0, mut v1) = (0.0, 8.0, 0.75, w);
    let dt = 0.1;
    for _ in 0..20 {
        let (_, (f0, f1)) = potential_grad(x0, x1, c);
        v0 -= dt * f0;
        v1 -= dt * f1;
        x0 += dt * v0;
        x1 += dt * v1;
    }
    x0 * x0 + x1 * x1
}

fn central(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-5;
    (f(x + h) - f(x - h)) / (2.0 * h)
}

#[test]
fn particle_against_differences() {
    for w in [0.0, -0.3, 0.4] {
        let (v, g) = miss_grad(w, 0.5);
        assert_eq!(v.to_bits(), miss(w, 0.5).to_bits());
        let fd = central(|w| miss(w, 0.5), w);
        assert!(
            (g - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "w = {w}: {g} vs {fd}"
        );
    }
}

#[test]
fn a_gradient_component_pulls_back_a_hessian_row() {
    let (x0, x1, c) = (1.5, 2.5, 0.5);
    let grad = |x: &[sgrad::Dual<f64>]| {
        let (_, (g0, g1)) = potential_grad(x[0], x[1], sgrad::Dual::constant(c));
        vec![g0, g1]
    };
    let h2 = hessian(grad, &[x0, x1]);
    for j in 0..2 {
        let (gj, (d0, d1, dc)) = match j {
            0 => potential_grad_0_pullback(x0, x1, c),
            _ => potential_grad_1_pullback(x0, x1, c),
        };
        assert_eq!(
            gj,
            [
                potential_grad(x0, x1, c).1 .0,
                potential_grad(x0, x1, c).1 .1
            ][j]
        );
        for (a, b) in [d0, d1].iter().zip(&h2[j]) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // The mixed partial with respect to the unlisted `c`, by differences.
        let fd = central(
            |c| {
                [
                    potential_grad(x0, x1, c).1 .0,
                    potential_grad(x0, x1, c).1 .1,
                ][j]
            },
            c,
        );
        assert!((dc - fd).abs() < 1e-6, "{dc} vs {fd}");
    }
}

/// One gradient step inside an objective (MAML-style), the inner function
/// with a stop: `sg` is constant at every order.
#[differentiable(w)]
fn inner<T: Real>(w: T, x: T) -> T {
    let t = w * x - T::one();
    t * t + sg(w) * w * w
}

#[differentiable(w)]
fn adapted(w: f64, x: f64, y: f64) -> f64 {
    let (_, g) = inner_grad(w, x);
    let w2 = w - 0.1 * g;
    let e = w2 * y - 2.0;
    e * e
}

#[test]
fn gradient_step_with_a_stop() {
    // By hand: ∂inner/∂w = 2(wx − 1)x + 2·sg(w)·w, so the step's derivative
    // treats sg(w) as the constant w: dg/dw = 2x² + 2w.
    let (w, x, y) = (0.7, 1.3, 0.9);
    let g = 2.0 * (w * x - 1.0) * x + 2.0 * w * w;
    let w2 = w - 0.1 * g;
    let dw2 = 1.0 - 0.1 * (2.0 * x * x + 2.0 * w);
    let expected = 2.0 * (w2 * y - 2.0) * y * dw2;
    let (v, d) = adapted_grad(w, x, y);
    assert_eq!(v.to_bits(), adapted(w, x, y).to_bits());
    assert!((d - expected).abs() < 1e-12, "{d} vs {expected}");
}

/// A potential with forward mode, called through its `_jvp` inside
/// differentiated code (reverse over forward): the slope of `p` along a
/// direction that itself depends on the variables.
#[differentiable(x, y; forward)]
fn bowl<T: Real>(x: T, y: T, c: T) -> T {
    (x * x + c * y * y).sqrt() + x.sin() * y
}

#[differentiable(a, b)]
fn slope_along<T: Real>(a: T, b: T, c: T) -> T {
    let (v, d) = bowl_jvp(a, b, c, b, a * a);
    v * T::from_f64(0.5) + d * d
}

#[test]
fn reverse_over_forward() {
    let (a, b, c) = (0.7_f64, -0.4_f64, 1.3_f64);
    let (v, (ga, gb)) = slope_along_grad(a, b, c);
    assert_eq!(v, slope_along(a, b, c));
    // The program written out by hand: p and its directional derivative.
    let plain = |a: f64, b: f64| {
        let r = (a * a + c * b * b).sqrt();
        let (px, py) = (a / r + a.cos() * b, c * b / r + a.sin());
        let p = r + a.sin() * b;
        let d = px * b + py * a * a;
        p * 0.5 + d * d
    };
    let h = 1e-6;
    let fa = (plain(a + h, b) - plain(a - h, b)) / (2.0 * h);
    let fb = (plain(a, b + h) - plain(a, b - h)) / (2.0 * h);
    assert!((ga - fa).abs() < 1e-7 * (1.0 + fa.abs()), "{ga} vs {fa}");
    assert!((gb - fb).abs() < 1e-7 * (1.0 + fb.abs()), "{gb} vs {fb}");
}
