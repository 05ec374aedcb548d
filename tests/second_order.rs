//! Second order by forward-over-reverse: a `#[differentiable]` function
//! generic over `T: Real` runs its gradient on `Dual` numbers. Hessians are
//! checked against central differences of the gradient and against formulas;
//! `sg` is constant at every order; nested derivatives do not confuse their
//! perturbations; every `Dual` method against central differences of `f64`.
//! Forward mode (`_jvp`) against the gradient by the dot-product identity,
//! and forward-over-forward second derivatives against forward-over-reverse
//! ones.

#![allow(dead_code)]

use sgrad::{differentiable, hessian, hvp, sg, Dual, Real};

mod common;
use common::{assert_jvp, assert_jvp_plain, per_variable, Rng};

#[differentiable(x; forward)]
fn valley<T: Real>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        s += T::from_f64(100.0) * a * a + (T::one() - x[i]).powi(2);
    }
    let mut lse = vec![T::zero(); x.len()];
    for i in 0..x.len() {
        lse[i] = x[i] * T::from_f64(0.5);
    }
    s + x[0].sin() * x[1].exp() + sgrad::log_sum_exp(&lse)
}

fn gradient(x: &[f64]) -> Vec<f64> {
    valley_grad(x).1
}

#[test]
fn hessian_matches_differences_of_the_gradient() {
    let x = [0.3, -0.4, 0.8, 1.1];
    let h = hessian(|x: &[Dual<f64>]| valley_grad(x).1, &x);
    let step = 1e-6;
    for j in 0..x.len() {
        let (mut a, mut b) = (x.to_vec(), x.to_vec());
        a[j] += step;
        b[j] -= step;
        let (ga, gb) = (gradient(&a), gradient(&b));
        for k in 0..x.len() {
            let fd = (ga[k] - gb[k]) / (2.0 * step);
            // The gradient is O(100) and smooth: central differences are good
            // to ~1e-7 here, so 1e-5 relative cannot hide a wrong term.
            assert!(
                (h[k][j] - fd).abs() <= 1e-5 * fd.abs().max(1.0),
                "H[{k}][{j}] = {} vs {fd}",
                h[k][j]
            );
        }
    }
    let v = [0.5, -1.0, 0.25, 2.0];
    let hv = hvp(|x: &[Dual<f64>]| valley_grad(x).1, &x, &v);
    for k in 0..x.len() {
        let want: f64 = (0..x.len()).map(|j| h[k][j] * v[j]).sum();
        assert!((hv[k] - want).abs() <= 1e-12 * want.abs().max(1.0));
    }
}

#[differentiable(x, y; forward)]
fn stopped<T: Real>(x: T, y: T) -> T {
    x * x * y + sg(x * y) * y + (x * y).sin()
}

/// sg is constant at every order: ∂/∂x of ∂f/∂y has no term from `sg(x y)`.
#[test]
fn sg_is_constant_at_second_order() {
    let (x, y) = (0.5, 1.5);
    let h = hessian(
        |p: &[Dual<f64>]| {
            let (_, (gx, gy)) = stopped_grad(p[0], p[1]);
            vec![gx, gy]
        },
        &[x, y],
    );
    let (s, c) = ((x * y).sin(), (x * y).cos());
    // ∂f/∂x = 2xy + y cos(xy);  ∂f/∂y = x² + xy + x cos(xy), with xy from sg constant.
    let want = [
        [2.0 * y - y * y * s, 2.0 * x + c - x * y * s],
        [2.0 * x + c - x * y * s, -x * x * s],
    ];
    for k in 0..2 {
        for j in 0..2 {
            assert!(
                (h[k][j] - want[k][j]).abs() < 1e-14,
                "H[{k}][{j}]: {} vs {}",
                h[k][j],
                want[k][j]
            );
        }
    }
    // Without the stop, ∂²/∂x∂y would have 1·y more: the test can tell.
    assert!((h[1][0] - (want[1][0] + y)).abs() > 1.0);
}

#[differentiable(y; forward)]
fn shift<T: Real>(x: T, y: T) -> T {
    x + y
}

/// The classic perturbation-confusion case (Siskind & Pearlmutter):
/// d/dx [ x · d/dy (x + y) |_{y=1} ] at x = 1 is 1, not 2.
#[test]
fn nested_derivatives_do_not_confuse_perturbations() {
    let x = Dual::new(1.0, 1.0);
    let inner = shift_grad(x, Dual::constant(1.0)).1;
    assert_eq!((x * inner).eps, 1.0);
    // The same with forward mode inside forward mode: two dual levels.
    let x2: Dual<Dual<f64>> = Dual::new(Dual::new(1.0, 1.0), Dual::constant(0.0));
    let y2: Dual<Dual<f64>> = Dual::new(Dual::constant(1.0), Dual::constant(1.0));
    let d_dy = (x2 + y2).eps; // ∂/∂y (x + y) = 1, a constant in x
    assert_eq!((x2.re * d_dy).eps, 1.0);
}

#[differentiable(x; forward)]
fn cubic<T: Real>(x: T) -> T {
    x * x * x + x.sin()
}

/// Forward over forward: the JVP of the JVP is the second derivative.
#[test]
fn forward_over_forward() {
    let x = 0.7;
    let (_, d) = cubic_jvp(Dual::new(x, 1.0), Dual::constant(1.0));
    assert!((d.eps - (6.0 * x - x.sin())).abs() < 1e-14);
}

/// Every `Dual` method's derivative against central differences of `f64`.
#[test]
fn dual_methods_match_differences() {
    fn check(name: &str, f: &dyn Fn(Dual<f64>) -> Dual<f64>, g: &dyn Fn(f64) -> f64, x: f64) {
        let d = f(Dual::new(x, 1.0));
        assert_eq!(d.re, g(x), "{name} value");
        let h = 1e-6 * x.abs().max(1.0);
        let fd = (g(x + h) - g(x - h)) / (2.0 * h);
        assert!(
            (d.eps - fd).abs() <= 1e-6 * fd.abs().max(1.0),
            "{name}: {} vs {fd}",
            d.eps
        );
    }
    macro_rules! unary {
        ($($m:ident at $x:expr;)*) => {$(
            check(stringify!($m), &|d| d.$m(), &|v: f64| v.$m(), $x);
        )*};
    }
    unary! {
        exp at 0.3; exp2 at 0.3; exp_m1 at 0.3; ln at 1.7; ln_1p at 0.7; log2 at 1.7;
        log10 at 1.7; sqrt at 1.7; cbrt at 1.7; recip at 1.7; sin at 0.3; cos at 0.3;
        tan at 0.3; asin at 0.3; acos at 0.3; atan at 0.3; sinh at 0.3; cosh at 0.3;
        tanh at 0.3; asinh at 0.3; acosh at 1.7; atanh at 0.3; abs at -0.3;
        to_degrees at 0.3; to_radians at 0.3; fract at 1.3;
    }
    check("powi", &|d| d.powi(3), &|v| v.powi(3), 0.7);
    check(
        "powf x",
        &|d| d.powf(Dual::constant(2.5)),
        &|v| v.powf(2.5),
        0.7,
    );
    check(
        "powf y",
        &|d| Dual::constant(1.7).powf(d),
        &|v| 1.7f64.powf(v),
        0.7,
    );
    check("log", &|d| d.log(Dual::constant(3.0)), &|v| v.log(3.0), 0.7);
    check(
        "log base",
        &|d| Dual::constant(3.0).log(d),
        &|v| 3.0f64.log(v),
        0.7,
    );
    check(
        "atan2 y",
        &|d| d.atan2(Dual::constant(0.4)),
        &|v| v.atan2(0.4),
        0.7,
    );
    check(
        "atan2 x",
        &|d| Dual::constant(0.4).atan2(d),
        &|v| 0.4f64.atan2(v),
        0.7,
    );
    check(
        "hypot",
        &|d| d.hypot(Dual::constant(0.4)),
        &|v| v.hypot(0.4),
        0.7,
    );
    check("max", &|d| d.max(Dual::constant(0.4)), &|v| v.max(0.4), 0.7);
    check("min", &|d| d.min(Dual::constant(0.4)), &|v| v.min(0.4), 0.7);
    check("div", &|d| Dual::constant(0.4) / d, &|v| 0.4 / v, 0.7);
    check("rem", &|d| d % Dual::constant(0.4), &|v| v % 0.4, 0.7);
    check(
        "mul_add",
        &|d| d.mul_add(d, Dual::constant(0.4)),
        &|v| v.mul_add(v, 0.4),
        0.7,
    );
}

/// Forward mode against the gradient (`<g, v> = jvp(v)`), and at second
/// order: `jvp` run on dual numbers `x + εw` with tangent `v` gives `wᵀ H v`,
/// which must match the forward-over-reverse Hessian (`sg` constant at both
/// orders in both modes).
#[test]
fn forward_mode_at_first_and_second_order() {
    let mut rng = Rng::new(8);
    let x = [0.3, -0.4, 0.8, 1.1];
    let (v, g) = valley_grad(&x);
    assert_jvp_plain("valley", v, &g, &|d| valley_jvp(&x, d), &mut rng);
    let h = hessian(|x: &[Dual<f64>]| valley_grad(x).1, &x);
    let (w, t) = ([0.5, -1.0, 0.25, 2.0], [-0.3, 0.7, 1.2, -0.4]);
    let xd: Vec<Dual<f64>> = x.iter().zip(&w).map(|(&a, &b)| Dual::new(a, b)).collect();
    let td: Vec<Dual<f64>> = t.iter().map(|&a| Dual::constant(a)).collect();
    let (_, jd) = valley_jvp(&xd, &td);
    let want: f64 = (0..4)
        .flat_map(|k| (0..4).map(move |j| (k, j)))
        .map(|(k, j)| w[k] * h[k][j] * t[j])
        .sum();
    assert!(
        (jd.eps - want).abs() <= 1e-12 * want.abs().max(1.0),
        "valley wᵀHv: forward over forward {}, forward over reverse {want}",
        jd.eps
    );

    let (x, y) = (0.5, 1.5);
    let (v, (gx, gy)) = stopped_grad(x, y);
    let jvp = |d: &[f64]| stopped_jvp(x, y, d[0], d[1]);
    assert_jvp(
        "stopped",
        v,
        &[gx, gy],
        &per_variable(&[1, 1]),
        &jvp,
        &mut rng,
    );
    let h = hessian(
        |p: &[Dual<f64>]| {
            let (_, (gx, gy)) = stopped_grad(p[0], p[1]);
            vec![gx, gy]
        },
        &[x, y],
    );
    for (w, t) in [
        ([1.0, 0.0], [0.0, 1.0]),
        ([0.0, 1.0], [1.0, 0.0]),
        ([0.4, -1.1], [0.9, 0.3]),
    ] {
        let (_, jd) = stopped_jvp(
            Dual::new(x, w[0]),
            Dual::new(y, w[1]),
            Dual::constant(t[0]),
            Dual::constant(t[1]),
        );
        let want: f64 = (0..2)
            .flat_map(|k| (0..2).map(move |j| (k, j)))
            .map(|(k, j)| w[k] * h[k][j] * t[j])
            .sum();
        assert!(
            (jd.eps - want).abs() <= 1e-14 * want.abs().max(1.0),
            "stopped wᵀHv along {w:?}, {t:?}: {} vs {want}",
            jd.eps
        );
    }

    // Perturbation confusion in forward mode: d/dx [x · jvp_y (x + y)] = 1.
    let x = Dual::new(1.0, 1.0);
    let (_, inner) = shift_jvp(x, Dual::constant(1.0), Dual::constant(1.0));
    assert_eq!((x * inner).eps, 1.0);
    assert_eq!(shift_jvp(2.0, 3.0, 0.5), (5.0, 0.5));
}

// ---------------------------------------------------------------------------
// The statistics functions in generic code: Hessians through them, against
// central differences of the gradient (which the `f64` rules give).

#[sgrad::differentiable(x)]
fn stats_mix<T: sgrad::Real>(x: &[T]) -> T {
    let c = T::from_f64;
    sgrad::sigmoid(x[0] * x[1])
        + sgrad::log_sigmoid(x[1] - x[2])
        + sgrad::softplus(x[2])
        + sgrad::ln_gamma(x[0] + c(2.0)) * sgrad::erf(x[1])
        + sgrad::digamma(x[2] + c(3.0))
        + sgrad::normal_cdf(x[0])
        - sgrad::erfc(x[2])
        + sgrad::normal_log_cdf(x[1])
        + sgrad::log1p_exp(-x[0])
        + sgrad::normal_log_pdf(x[0], x[1], x[2] * x[2] + c(0.5))
        + sgrad::digamma(x[1] + c(4.0)) * x[0]
}

#[test]
fn hessians_through_the_statistics_functions() {
    for x in [[0.3, -0.7, 1.1], [-1.2, 0.4, -0.5]] {
        let h = sgrad::hessian(|p: &[sgrad::Dual<f64>]| stats_mix_grad(p).1, &x);
        let chunked =
            sgrad::hessian_chunked(|p: &[sgrad::DualVec<f64, 3>]| stats_mix_grad(p).1, &x);
        let step = 1e-5;
        for j in 0..3 {
            let mut up = x;
            let mut down = x;
            up[j] += step;
            down[j] -= step;
            let (gu, gd) = (stats_mix_grad(&up).1, stats_mix_grad(&down).1);
            for i in 0..3 {
                let fd = (gu[i] - gd[i]) / (2.0 * step);
                assert!(
                    (h[i][j] - fd).abs() <= 1e-7 * fd.abs().max(1.0),
                    "H[{i}][{j}] = {} vs {fd}",
                    h[i][j]
                );
                assert!((chunked[i][j] - h[i][j]).abs() <= 1e-13 * h[i][j].abs().max(1.0));
            }
        }
        // The value through dual numbers is the f64 value.
        let v = stats_mix(&x.map(sgrad::Dual::constant)).re;
        assert_eq!(v, stats_mix(&x));
    }
}

/// A generic method of a trait impl whose type does not name `T`: the
/// generated functions take `T` themselves, and run on dual numbers.
trait Objective<T> {
    fn eval(&self, x: &[T]) -> T;
}

struct Rosenbrock;

#[differentiable]
impl<T: Real> Objective<T> for Rosenbrock {
    #[differentiable(x)]
    fn eval(&self, x: &[T]) -> T {
        let a = T::one() - x[0];
        let b = x[1] - x[0] * x[0];
        a * a + T::from_f64(100.0) * b * b
    }
}

#[test]
fn generic_trait_method_to_second_order() {
    let (x, y) = (0.5_f64, -0.3_f64);
    let (v, g) = Rosenbrock.eval_grad(&[x, y]);
    assert_eq!(v, Rosenbrock.eval(&[x, y]));
    let b = y - x * x;
    let want = [-2.0 * (1.0 - x) - 400.0 * x * b, 200.0 * b];
    assert!(
        (g[0] - want[0]).abs() < 1e-12 && (g[1] - want[1]).abs() < 1e-12,
        "{g:?} vs {want:?}"
    );
    let h = sgrad::hessian(|p: &[Dual<f64>]| Rosenbrock.eval_grad(p).1, &[x, y]);
    let want = [
        [2.0 - 400.0 * b + 800.0 * x * x, -400.0 * x],
        [-400.0 * x, 200.0],
    ];
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                (h[i][j] - want[i][j]).abs() < 1e-9,
                "{i}{j}: {} vs {}",
                h[i][j],
                want[i][j]
            );
        }
    }
}
