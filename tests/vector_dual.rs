//! Vector-mode dual numbers (`DualVec<T, N>`): every `Real` method against
//! central differences along each lane's direction and against `Dual` lane
//! by lane (bit for bit: each lane is a `Dual`); the conventions at
//! non-smooth points against hand values; `sg` zeroes every lane; Hessians by
//! chunks of `N` columns against hand-derived Hessians and the one-column
//! `hessian`; Jacobians by forward mode against hand-derived formulas and
//! central differences; sweep counts; nesting (`DualVec<Dual<f64>, N>` and
//! `Dual<DualVec<f64, N>>`) against hand-derived third derivatives.

// Lanes, rows and columns index several arrays at once.
#![allow(clippy::needless_range_loop)]

use std::cell::Cell;

use sgrad::{
    differentiable, hessian, hessian_chunked, hvp, hvps, jacobian, jvps, sg, Dual, DualVec, Real,
};

mod common;
use common::{assert_close_scaled, assert_directional, Rng, Tol};

type V = DualVec<f64, 3>;
type D = Dual<f64>;

/// Equal bit for bit, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[track_caller]
fn assert_matrix(what: &str, got: &[Vec<f64>], want: &[Vec<f64>], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: rows");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: row {k} length");
        for (j, (&g, &w)) in g.iter().zip(w).enumerate() {
            assert_close_scaled(&format!("{what}[{k}][{j}]"), g, w, 1.0, rel);
        }
    }
}

/// `Σⱼ h[k][j] v[j]` for every `k`.
fn mat_vec(h: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    h.iter()
        .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
        .collect()
}

// ---------------------------------------------------------------------------
// Every method.

/// One operation of up to three arguments, written once and instantiated on
/// `DualVec`, `Dual` and `f64`, with the point it is checked at.
struct Op {
    name: &'static str,
    at: [f64; 3],
    vec: fn(V, V, V) -> V,
    dual: fn(D, D, D) -> D,
    plain: fn(f64, f64, f64) -> f64,
}

macro_rules! ops {
    ($($name:literal at $at:expr => |$a:ident, $b:ident, $c:ident| $e:expr;)*) => {
        vec![$(Op {
            name: $name,
            at: $at,
            vec: |$a, $b, $c| $e,
            dual: |$a, $b, $c| $e,
            plain: |$a, $b, $c| $e,
        },)*]
    };
}

#[allow(unused_variables)]
fn all_ops() -> Vec<Op> {
    ops! {
        "add" at [2.3, 0.7, 0.0] => |a, b, c| a + b;
        "sub" at [2.3, 0.7, 0.0] => |a, b, c| a - b;
        "mul" at [2.3, 0.7, 0.0] => |a, b, c| a * b;
        "div" at [2.3, 0.7, 0.0] => |a, b, c| a / b;
        "rem" at [2.3, 0.7, 0.0] => |a, b, c| a % b;
        "neg" at [2.3, 0.7, 0.0] => |a, b, c| -a;
        "add_assign" at [1.3, 0.7, 0.0] => |a, b, c| { let mut r = a; r += b; r };
        "sub_assign" at [1.3, 0.7, 0.0] => |a, b, c| { let mut r = a; r -= b; r };
        "mul_assign" at [1.3, 0.7, 0.0] => |a, b, c| { let mut r = a; r *= b; r };
        "div_assign" at [1.3, 0.7, 0.0] => |a, b, c| { let mut r = a; r /= b; r };
        "exp" at [0.3, 0.0, 0.0] => |a, b, c| a.exp();
        "exp2" at [0.3, 0.0, 0.0] => |a, b, c| a.exp2();
        "exp_m1" at [0.3, 0.0, 0.0] => |a, b, c| a.exp_m1();
        "ln" at [1.7, 0.0, 0.0] => |a, b, c| a.ln();
        "ln_1p" at [0.7, 0.0, 0.0] => |a, b, c| a.ln_1p();
        "log2" at [1.7, 0.0, 0.0] => |a, b, c| a.log2();
        "log10" at [1.7, 0.0, 0.0] => |a, b, c| a.log10();
        "sqrt" at [1.7, 0.0, 0.0] => |a, b, c| a.sqrt();
        "cbrt" at [1.7, 0.0, 0.0] => |a, b, c| a.cbrt();
        "recip" at [1.7, 0.0, 0.0] => |a, b, c| a.recip();
        "sin" at [0.3, 0.0, 0.0] => |a, b, c| a.sin();
        "cos" at [0.3, 0.0, 0.0] => |a, b, c| a.cos();
        "tan" at [0.3, 0.0, 0.0] => |a, b, c| a.tan();
        "asin" at [0.3, 0.0, 0.0] => |a, b, c| a.asin();
        "acos" at [0.3, 0.0, 0.0] => |a, b, c| a.acos();
        "atan" at [0.3, 0.0, 0.0] => |a, b, c| a.atan();
        "sinh" at [0.3, 0.0, 0.0] => |a, b, c| a.sinh();
        "cosh" at [0.3, 0.0, 0.0] => |a, b, c| a.cosh();
        "tanh" at [0.3, 0.0, 0.0] => |a, b, c| a.tanh();
        "asinh" at [0.3, 0.0, 0.0] => |a, b, c| a.asinh();
        "acosh" at [1.7, 0.0, 0.0] => |a, b, c| a.acosh();
        "atanh" at [0.3, 0.0, 0.0] => |a, b, c| a.atanh();
        "abs +" at [0.3, 0.0, 0.0] => |a, b, c| a.abs();
        "abs -" at [-0.3, 0.0, 0.0] => |a, b, c| a.abs();
        "signum" at [-0.3, 0.0, 0.0] => |a, b, c| a.signum();
        "floor" at [1.3, 0.0, 0.0] => |a, b, c| a.floor();
        "ceil" at [1.3, 0.0, 0.0] => |a, b, c| a.ceil();
        "round" at [1.3, 0.0, 0.0] => |a, b, c| a.round();
        "trunc" at [-1.3, 0.0, 0.0] => |a, b, c| a.trunc();
        "fract" at [1.3, 0.0, 0.0] => |a, b, c| a.fract();
        "to_degrees" at [0.3, 0.0, 0.0] => |a, b, c| a.to_degrees();
        "to_radians" at [0.3, 0.0, 0.0] => |a, b, c| a.to_radians();
        "powi 3" at [0.7, 0.0, 0.0] => |a, b, c| a.powi(3);
        "powi -2" at [0.7, 0.0, 0.0] => |a, b, c| a.powi(-2);
        "powi 0" at [0.7, 0.0, 0.0] => |a, b, c| a.powi(0);
        "mul_add" at [0.7, -1.2, 0.4] => |a, b, c| a.mul_add(b, c);
        "clamp inside" at [0.5, 0.2, 0.9] => |a, b, c| a.clamp(b, c);
        "clamp below" at [0.1, 0.2, 0.9] => |a, b, c| a.clamp(b, c);
        "clamp above" at [1.1, 0.2, 0.9] => |a, b, c| a.clamp(b, c);
        "log" at [1.7, 3.0, 0.0] => |a, b, c| a.log(b);
        "powf" at [1.7, 2.5, 0.0] => |a, b, c| a.powf(b);
        "powf negative p" at [0.7, -0.4, 0.0] => |a, b, c| a.powf(b);
        "atan2" at [0.7, 0.4, 0.0] => |a, b, c| a.atan2(b);
        "atan2 x < 0" at [0.7, -0.4, 0.0] => |a, b, c| a.atan2(b);
        "hypot" at [0.7, -0.4, 0.0] => |a, b, c| a.hypot(b);
        "min a" at [0.3, 0.4, 0.0] => |a, b, c| a.min(b);
        "min b" at [0.7, 0.4, 0.0] => |a, b, c| a.min(b);
        "max a" at [0.7, 0.4, 0.0] => |a, b, c| a.max(b);
        "max b" at [0.3, 0.4, 0.0] => |a, b, c| a.max(b);
        "copysign flip" at [0.7, -0.4, 0.0] => |a, b, c| a.copysign(b);
        "copysign keep" at [0.7, 0.4, 0.0] => |a, b, c| a.copysign(b);
        "composite" at [0.7, -0.4, 0.2] => |a, b, c| (a * b).sin() / (c.exp() + a) - b.cosh() * c;
    }
}

/// Each lane against the central difference of the `f64` operation along
/// that lane's direction, and against `Dual` with that lane's tangent.
#[test]
fn methods_match_differences_and_dual_lane_by_lane() {
    let mut rng = Rng::new(11);
    let ops = all_ops();
    // Every method of `Real` but the constants, some at several points.
    assert_eq!(ops.len(), 62);
    for op in &ops {
        // Three arguments, each moving along its own random tangent per lane.
        let tangents: [[f64; 3]; 3] = [
            rng.array(-1.0, 1.0),
            rng.array(-1.0, 1.0),
            rng.array(-1.0, 1.0),
        ];
        let [a, b, c] = [0, 1, 2].map(|k| DualVec::new(op.at[k], tangents[k]));
        let got = (op.vec)(a, b, c);
        let plain = |p: &[f64]| (op.plain)(p[0], p[1], p[2]);
        assert!(same(got.re, plain(&op.at)), "{}: value {}", op.name, got.re);
        for l in 0..3 {
            let dir = [tangents[0][l], tangents[1][l], tangents[2][l]];
            let [da, db, dc] = [0, 1, 2].map(|k| Dual::new(op.at[k], dir[k]));
            let want = (op.dual)(da, db, dc);
            assert!(
                same(got.eps[l], want.eps) && same(got.re, want.re),
                "{} lane {l}: {} vs Dual {}",
                op.name,
                got,
                want
            );
            let what = format!("{} lane {l}", op.name);
            assert_directional(&what, &plain, &op.at, &dir, got.eps[l], Tol::rel(1e-6));
        }
    }
}

/// The conventions at non-smooth points, against hand values, and each lane
/// against `Dual`.
#[test]
fn non_smooth_points_follow_the_dual_conventions() {
    let a = DualVec::new(1.5, [1.0, 2.0, 3.0]);
    let b = DualVec::new(1.5, [3.0, 0.0, -1.0]);
    let nan = DualVec::new(f64::NAN, [9.0, 9.0, 9.0]);
    let zero = DualVec::new(0.0, [1.0, 2.0, 3.0]);
    let cases: [(&str, V, [f64; 3]); 13] = [
        // A tie gives half of each side.
        ("min tie", a.min(b), [2.0, 1.0, 1.0]),
        ("max tie", a.max(b), [2.0, 1.0, 1.0]),
        // NaN loses, as f64::min / f64::max.
        ("min NaN left", nan.min(b), b.eps),
        ("max NaN right", a.max(nan), a.eps),
        // powf: no term for p where x = 0, none for x where p = 0.
        ("powf x = 0", zero.powf(b), [0.0; 3]),
        (
            "powf 0^0",
            zero.powf(DualVec::new(0.0, [1.0, 1.0, 1.0])),
            [0.0; 3],
        ),
        (
            "powf p = 0",
            DualVec::new(2.0, [5.0, 5.0, 5.0]).powf(DualVec::new(0.0, [1.0, 0.0, -2.0])),
            [2f64.ln(), 0.0, -2.0 * 2f64.ln()],
        ),
        ("hypot at 0", zero.hypot(-zero), [0.0; 3]),
        ("abs at 0", zero.abs(), [1.0, 2.0, 3.0]),
        // At a bound clamp passes the argument through.
        ("clamp at min", a.clamp(b, DualVec::constant(2.0)), a.eps),
        ("clamp at max", a.clamp(DualVec::constant(0.0), b), a.eps),
        (
            "sqrt at 0",
            zero.sqrt(),
            [f64::INFINITY, f64::INFINITY, f64::INFINITY],
        ),
        (
            "copysign -0",
            a.copysign(DualVec::constant(-0.0)),
            [-1.0, -2.0, -3.0],
        ),
    ];
    for (name, got, want) in cases {
        for l in 0..3 {
            assert!(
                same(got.eps[l], want[l]),
                "{name} lane {l}: {got} vs {want:?}"
            );
        }
    }
    // Lane by lane against Dual, for the same cases.
    let lane = |v: V, l: usize| Dual::new(v.re, v.eps[l]);
    for l in 0..3 {
        let (a, b, nan, zero) = (lane(a, l), lane(b, l), lane(nan, l), lane(zero, l));
        let dual = [
            a.min(b),
            a.max(b),
            nan.min(b),
            a.max(nan),
            zero.powf(b),
            zero.powf(Dual::new(0.0, 1.0)),
            zero.hypot(-zero),
            zero.abs(),
            a.clamp(b, Dual::constant(2.0)),
            zero.sqrt(),
        ];
        let vec = [
            cases[0].1,
            cases[1].1,
            cases[2].1,
            cases[3].1,
            cases[4].1,
            cases[5].1,
            cases[7].1,
            cases[8].1,
            cases[9].1,
            cases[11].1,
        ];
        for (k, (d, v)) in dual.iter().zip(&vec).enumerate() {
            assert!(
                same(d.eps, v.eps[l]) && same(d.re, v.re),
                "case {k} lane {l}: {d} vs {v}"
            );
        }
    }
}

#[test]
fn comparisons_look_at_the_value_only() {
    let a = DualVec::new(1.0, [1.0, 2.0]);
    let b = DualVec::new(1.0, [-5.0, 7.0]);
    let c = DualVec::new(2.0, [-9.0, -9.0]);
    assert!(a == b && a <= b && a >= b);
    assert!(a < c && c > b && a != c);
    assert_eq!(a.partial_cmp(&DualVec::new(f64::NAN, [0.0; 2])), None);
    assert_eq!(
        format!("{}", DualVec::new(1.5, [2.0, -3.0])),
        "1.5 + [2, -3]ε"
    );
    let d: DualVec<f64, 2> = Default::default();
    assert_eq!((d.re, d.eps), (0.0, [0.0, 0.0]));
    assert_eq!(DualVec::<f64, 2>::from_f64(0.25).eps, [0.0, 0.0]);
    assert_eq!(DualVec::<f64, 2>::from_f64(0.25).to_f64(), 0.25);
    type W = DualVec<f64, 2>;
    for (name, c, want) in [
        ("zero", W::zero(), 0.0),
        ("one", W::one(), 1.0),
        ("ln_2", W::ln_2(), std::f64::consts::LN_2),
        ("ln_10", W::ln_10(), std::f64::consts::LN_10),
    ] {
        assert_eq!((c.re, c.eps), (want, [0.0; 2]), "{name}");
    }
    assert!(DualVec::new(f64::NAN, [1.0]).is_nan() && !DualVec::new(1.0, [f64::NAN]).is_nan());
}

#[test]
fn sg_zeroes_every_lane_at_every_level() {
    let v = sg(DualVec::new(2.0, [1.0, -2.0, 3.0]));
    assert_eq!((v.re, v.eps), (2.0, [0.0; 3]));
    // DualVec over Dual: the inner perturbation is dropped too.
    let v = sg(DualVec::new(Dual::new(2.0, 5.0), [Dual::new(1.0, 1.0); 2]));
    assert_eq!((v.re.re, v.re.eps), (2.0, 0.0));
    assert!(v.eps.iter().all(|e| e.re == 0.0 && e.eps == 0.0));
    // Dual over DualVec.
    let v = sg(Dual::new(
        DualVec::new(2.0, [1.0, 4.0]),
        DualVec::new(3.0, [1.0, 1.0]),
    ));
    assert_eq!(
        (v.re.re, v.re.eps, v.eps.re, v.eps.eps),
        (2.0, [0.0; 2], 0.0, [0.0; 2])
    );
}

// ---------------------------------------------------------------------------
// Hessians by chunks.

#[differentiable(x)]
fn rosenbrock<T: Real>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = T::one() - x[i];
        s += T::from_f64(100.0) * a * a + b * b;
    }
    s
}

/// ∂²/∂xᵢ² = 1200 xᵢ² − 400 xᵢ₊₁ + 2 (if i < n − 1) + 200 (if i > 0);
/// ∂²/∂xᵢ∂xᵢ₊₁ = −400 xᵢ.
fn rosenbrock_hessian(x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        h[i][i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[i + 1][i + 1] += 200.0;
        h[i][i + 1] = -400.0 * x[i];
        h[i + 1][i] = -400.0 * x[i];
    }
    h
}

/// `hessian_chunked` with `N` lanes against the hand-derived Hessian and the
/// one-column-per-sweep `hessian`, with the number of sweeps it took.
fn check_rosenbrock<const N: usize>(x: &[f64]) {
    let runs = Cell::new(0);
    let h = hessian_chunked(
        |x: &[DualVec<f64, N>]| {
            runs.set(runs.get() + 1);
            rosenbrock_grad(x).1
        },
        x,
    );
    assert_eq!(runs.get(), x.len().div_ceil(N), "sweeps with N = {N}");
    assert_matrix(
        &format!("Rosenbrock N = {N}"),
        &h,
        &rosenbrock_hessian(x),
        1e-13,
    );
    // Each lane does exactly what a Dual does.
    assert_eq!(
        h,
        hessian(|x: &[Dual<f64>]| rosenbrock_grad(x).1, x),
        "N = {N}"
    );
}

#[test]
fn rosenbrock_hessian_by_chunks() {
    let x = [0.3, -0.4, 0.8, 1.1, -1.3];
    check_rosenbrock::<1>(&x);
    check_rosenbrock::<2>(&x); // 2 does not divide 5: the last sweep has one lane in use
    check_rosenbrock::<3>(&x);
    check_rosenbrock::<4>(&x);
    check_rosenbrock::<5>(&x);
    check_rosenbrock::<8>(&x); // more lanes than inputs: one sweep
}

#[differentiable(x)]
fn exp_ln_powi<T: Real>(x: &[T]) -> T {
    (x[0] * x[1]).exp() + x[2].ln() * x[0].powi(3) + x[1].powi(2) * x[2]
}

/// With e = exp(x₀x₁), L = ln x₂.
fn exp_ln_powi_hessian(x: &[f64]) -> Vec<Vec<f64>> {
    let e = (x[0] * x[1]).exp();
    let l = x[2].ln();
    let h00 = x[1] * x[1] * e + 6.0 * x[0] * l;
    let h01 = e * (1.0 + x[0] * x[1]);
    let h02 = 3.0 * x[0] * x[0] / x[2];
    let h11 = x[0] * x[0] * e + 2.0 * x[2];
    let h12 = 2.0 * x[1];
    let h22 = -x[0].powi(3) / (x[2] * x[2]);
    vec![
        vec![h00, h01, h02],
        vec![h01, h11, h12],
        vec![h02, h12, h22],
    ]
}

#[test]
fn exp_ln_powi_hessian_by_chunks() {
    let x = [0.6, -0.8, 1.7];
    let want = exp_ln_powi_hessian(&x);
    let h2 = hessian_chunked(|x: &[DualVec<f64, 2>]| exp_ln_powi_grad(x).1, &x);
    let h3 = hessian_chunked(|x: &[DualVec<f64, 3>]| exp_ln_powi_grad(x).1, &x);
    assert_matrix("exp/ln/powi N = 2", &h2, &want, 1e-14);
    assert_matrix("exp/ln/powi N = 3", &h3, &want, 1e-14);
    let h1 = hessian(|x: &[Dual<f64>]| exp_ln_powi_grad(x).1, &x);
    assert_eq!(h2, h1);
    assert_eq!(h3, h1);
}

#[differentiable(x)]
fn stopped<T: Real>(x: &[T]) -> T {
    x[0] * x[0] * x[1] + sg(x[0] * x[1]) * x[1] + (x[0] * x[1]).sin() + sg(x[2]) * x[2].powi(2)
}

/// `sg` is constant at every order: ∂f/∂x₁ = x₀² + x₀x₁ + x₀ cos(x₀x₁) has no
/// term from ∂/∂x₀ of `sg(x₀ x₁)`, and ∂f/∂x₂ = 2 sg(x₂) x₂ differentiates to
/// 2 x₂ (6 x₂ without the stop).
#[test]
fn sg_is_constant_at_second_order_by_chunks() {
    let x = [0.5, 1.5, -0.7];
    let h = hessian_chunked(|x: &[DualVec<f64, 2>]| stopped_grad(x).1, &x);
    let (s, c) = ((x[0] * x[1]).sin(), (x[0] * x[1]).cos());
    let (a, b) = (x[0], x[1]);
    let want = vec![
        vec![2.0 * b - b * b * s, 2.0 * a + c - a * b * s, 0.0],
        vec![2.0 * a + c - a * b * s, -a * a * s, 0.0],
        vec![0.0, 0.0, 2.0 * x[2]],
    ];
    assert_matrix("stopped", &h, &want, 1e-14);
    // Without the stops the test would see y more in H[1][0], 4 x₂ more in H[2][2].
    assert!((h[1][0] - (want[1][0] + b)).abs() > 1.0);
    assert!((h[2][2] - 6.0 * x[2]).abs() > 1.0);
    assert_eq!(h, hessian(|x: &[Dual<f64>]| stopped_grad(x).1, &x));
}

/// Five directions with N = 2 and N = 3 (neither divides 5): each product
/// against the hand-derived Hessian times the direction, and against `hvp`.
#[test]
fn hvps_by_chunks() {
    let mut rng = Rng::new(3);
    let x = [0.3, -0.4, 0.8, 1.1, -1.3];
    let h = rosenbrock_hessian(&x);
    let vs: Vec<Vec<f64>> = (0..5).map(|_| rng.vec(5, -1.0, 1.0)).collect();
    let runs = Cell::new(0);
    let hv2 = hvps(
        |x: &[DualVec<f64, 2>]| {
            runs.set(runs.get() + 1);
            rosenbrock_grad(x).1
        },
        &x,
        &vs,
    );
    assert_eq!(runs.get(), 3);
    let hv3 = hvps(|x: &[DualVec<f64, 3>]| rosenbrock_grad(x).1, &x, &vs);
    assert_eq!(hv2.len(), 5);
    for (k, v) in vs.iter().enumerate() {
        let want = mat_vec(&h, v);
        let one = hvp(|x: &[Dual<f64>]| rosenbrock_grad(x).1, &x, v);
        for (what, got) in [("N = 2", &hv2[k]), ("N = 3", &hv3[k])] {
            assert_eq!(got.len(), 5);
            for i in 0..5 {
                let what = format!("Hv {what} direction {k} [{i}]");
                assert_close_scaled(&what, got[i], want[i], 1000.0, 1e-13);
            }
            assert_eq!(got, &one, "{what} direction {k} against hvp");
        }
    }
    assert!(hvps(
        |x: &[DualVec<f64, 2>]| rosenbrock_grad(x).1,
        &x,
        &[] as &[Vec<f64>]
    )
    .is_empty());
}

#[test]
#[should_panic(expected = "a direction's length is not x's")]
fn hvps_rejects_a_short_direction() {
    hvps(
        |x: &[DualVec<f64, 2>]| rosenbrock_grad(x).1,
        &[1.0, 2.0, 3.0],
        &[[1.0, 0.0]],
    );
}

// ---------------------------------------------------------------------------
// Jacobians.

fn vector_fn<T: Real>(x: &[T]) -> Vec<T> {
    vec![
        x[0] * x[1],
        x[2].sin() * x[0],
        x[1].exp() / x[2],
        x[0].hypot(x[1]),
    ]
}

fn vector_fn_jacobian(x: &[f64]) -> Vec<Vec<f64>> {
    let (e, h) = (x[1].exp(), x[0].hypot(x[1]));
    vec![
        vec![x[1], x[0], 0.0],
        vec![x[2].sin(), 0.0, x[0] * x[2].cos()],
        vec![0.0, e / x[2], -e / (x[2] * x[2])],
        vec![x[0] / h, x[1] / h, 0.0],
    ]
}

fn check_jacobian<const N: usize>(x: &[f64]) {
    let runs = Cell::new(0);
    let j = jacobian(
        |x: &[DualVec<f64, N>]| {
            runs.set(runs.get() + 1);
            vector_fn(x)
        },
        x,
    );
    assert_eq!(runs.get(), x.len().div_ceil(N), "sweeps with N = {N}");
    assert_matrix(
        &format!("Jacobian N = {N}"),
        &j,
        &vector_fn_jacobian(x),
        1e-15,
    );
    // Column by column against central differences of the f64 function.
    for col in 0..x.len() {
        let mut e = vec![0.0; x.len()];
        e[col] = 1.0;
        for (row, jr) in j.iter().enumerate() {
            let p = |p: &[f64]| vector_fn(p)[row];
            let what = format!("J[{row}][{col}] N = {N}");
            assert_directional(&what, &p, x, &e, jr[col], Tol::rel(1e-6));
        }
    }
}

#[test]
fn jacobian_by_forward_mode() {
    let x = [0.7, -0.3, 1.4];
    check_jacobian::<1>(&x);
    check_jacobian::<2>(&x);
    check_jacobian::<3>(&x);
    check_jacobian::<4>(&x);
    // No inputs: one run to learn the number of outputs.
    let j = jacobian(|_: &[DualVec<f64, 2>]| vec![DualVec::one(); 2], &[]);
    assert_eq!(j, vec![Vec::<f64>::new(); 2]);
}

#[test]
fn jvps_by_forward_mode() {
    let mut rng = Rng::new(5);
    let x = [0.7, -0.3, 1.4];
    let j = vector_fn_jacobian(&x);
    let vs: Vec<[f64; 3]> = (0..4).map(|_| rng.array(-1.0, 1.0)).collect();
    let runs = Cell::new(0);
    let jv = jvps(
        |x: &[DualVec<f64, 3>]| {
            runs.set(runs.get() + 1);
            vector_fn(x)
        },
        &x,
        &vs,
    );
    assert_eq!(runs.get(), 2);
    assert_eq!(jv.len(), 4);
    for (k, v) in vs.iter().enumerate() {
        let want = mat_vec(&j, v);
        assert_eq!(jv[k].len(), 4);
        for i in 0..4 {
            assert_close_scaled(&format!("Jv {k} [{i}]"), jv[k][i], want[i], 1.0, 1e-15);
        }
    }
}

// ---------------------------------------------------------------------------
// `#[differentiable]` code on DualVec<f64, 4>: calls (pullbacks in reverse
// mode, `Along` in forward mode) and loops.

#[differentiable(x, y; forward)]
fn inner<T: Real>(x: T, y: T) -> T {
    x * y.exp()
}

#[differentiable(x; forward)]
fn outer<T: Real>(x: &[T]) -> T {
    let mut s = inner(x[0], x[1]) + x[0] * x[3] * x[3];
    for i in 2..3 {
        s += inner(x[i], x[i + 1]).sin();
    }
    s
}

/// f = x₀ e^{x₁} + sin(x₂ e^{x₃}) + x₀ x₃², with u = x₂ e^{x₃}.
fn outer_hessian(x: &[f64]) -> Vec<Vec<f64>> {
    let (e1, e3) = (x[1].exp(), x[3].exp());
    let u = x[2] * e3;
    let (su, cu) = (u.sin(), u.cos());
    let h23 = -su * u * e3 + cu * e3;
    vec![
        vec![0.0, e1, 0.0, 2.0 * x[3]],
        vec![e1, x[0] * e1, 0.0, 0.0],
        vec![0.0, 0.0, -su * e3 * e3, h23],
        vec![2.0 * x[3], 0.0, h23, -su * u * u + cu * u + 2.0 * x[0]],
    ]
}

fn outer_gradient(x: &[f64]) -> Vec<f64> {
    let (e1, e3) = (x[1].exp(), x[3].exp());
    let cu = (x[2] * e3).cos();
    vec![
        e1 + x[3] * x[3],
        x[0] * e1,
        cu * e3,
        cu * x[2] * e3 + 2.0 * x[0] * x[3],
    ]
}

#[test]
fn differentiable_generic_function_on_dualvec_4() {
    let x = [0.4, -0.2, 0.9, 0.3];
    let want = outer_hessian(&x);
    // Reverse mode on DualVec<f64, 4>: the whole Hessian in one sweep.
    let runs = Cell::new(0);
    let h = hessian_chunked(
        |x: &[DualVec<f64, 4>]| {
            runs.set(runs.get() + 1);
            outer_grad(x).1
        },
        &x,
    );
    assert_eq!(runs.get(), 1);
    assert_matrix("outer", &h, &want, 1e-14);
    assert_eq!(h, hessian(|x: &[Dual<f64>]| outer_grad(x).1, &x));

    // The value's lanes are the gradient.
    let xd: Vec<DualVec<f64, 4>> = (0..4)
        .map(|j| {
            DualVec::new(
                x[j],
                std::array::from_fn(|l| if l == j { 1.0 } else { 0.0 }),
            )
        })
        .collect();
    let (value, _) = outer_grad(&xd);
    let g = outer_gradient(&x);
    for l in 0..4 {
        assert_close_scaled(
            &format!("gradient lane {l}"),
            value.eps[l],
            g[l],
            1.0,
            1e-15,
        );
    }

    // Forward mode on DualVec<f64, 4>: lane l of the JVP along t is (H t)ₗ.
    let t = [0.5, -1.0, 0.25, 2.0];
    let td: Vec<DualVec<f64, 4>> = t.iter().map(|&a| DualVec::constant(a)).collect();
    let (v, jd) = outer_jvp(&xd, &td);
    assert_eq!(v.re, outer(&x));
    let ht = mat_vec(&want, &t);
    let gt: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
    assert_close_scaled("jvp value", jd.re, gt, 1.0, 1e-15);
    for l in 0..4 {
        assert_close_scaled(&format!("(H t)[{l}]"), jd.eps[l], ht[l], 1.0, 1e-14);
    }
}

// ---------------------------------------------------------------------------
// Nesting: third derivatives.

#[differentiable(x)]
fn cubic<T: Real>(x: &[T]) -> T {
    x[0].powi(3) * x[1] * x[1] + x[0].sin() * x[1]
}

/// f = x₀³ x₁² + x₁ sin x₀: `dh[l][k][j]` = ∂ₗ ∂ₖ ∂ⱼ f.
fn cubic_third(x: &[f64]) -> [[[f64; 2]; 2]; 2] {
    let (a, b) = (x[0], x[1]);
    let d000 = 6.0 * b * b - a.cos() * b;
    let d001 = 12.0 * a * b - a.sin();
    let d011 = 6.0 * a * a;
    [[[d000, d001], [d001, d011]], [[d001, d011], [d011, 0.0]]]
}

fn cubic_hessian(x: &[f64]) -> [[f64; 2]; 2] {
    let (a, b) = (x[0], x[1]);
    let h01 = 6.0 * a * a * b + a.cos();
    [[6.0 * a * b * b - a.sin() * b, h01], [h01, 2.0 * a.powi(3)]]
}

#[test]
fn nested_dualvec_over_dual_and_dual_over_dualvec() {
    let x = [0.8, -1.3];
    let d3 = cubic_third(&x);
    let h2 = cubic_hessian(&x);

    // DualVec<Dual<f64>, 2>: the Hessian by chunks at a point moving along w.
    let w = [0.6, -0.9];
    let xw: Vec<Dual<f64>> = (0..2).map(|j| Dual::new(x[j], w[j])).collect();
    let h = hessian_chunked(|x: &[DualVec<Dual<f64>, 2>]| cubic_grad(x).1, &xw);
    for k in 0..2 {
        for j in 0..2 {
            let what = format!("DualVec<Dual> H[{k}][{j}]");
            assert_close_scaled(&what, h[k][j].re, h2[k][j], 1.0, 1e-14);
            let dw = w[0] * d3[0][k][j] + w[1] * d3[1][k][j];
            assert_close_scaled(&format!("{what} along w"), h[k][j].eps, dw, 1.0, 1e-14);
        }
    }

    // Dual<DualVec<f64, 2>>: the one-column Hessian at a point moving along
    // both unit directions at once.
    let xl: Vec<DualVec<f64, 2>> = (0..2)
        .map(|j| {
            DualVec::new(
                x[j],
                std::array::from_fn(|l| if l == j { 1.0 } else { 0.0 }),
            )
        })
        .collect();
    let h = hessian(|x: &[Dual<DualVec<f64, 2>>]| cubic_grad(x).1, &xl);
    for k in 0..2 {
        for j in 0..2 {
            let what = format!("Dual<DualVec> H[{k}][{j}]");
            assert_close_scaled(&what, h[k][j].re, h2[k][j], 1.0, 1e-14);
            for l in 0..2 {
                let what = format!("{what} ∂{l}");
                assert_close_scaled(&what, h[k][j].eps[l], d3[l][k][j], 1.0, 1e-14);
            }
        }
    }
}
