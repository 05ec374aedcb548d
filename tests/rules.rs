//! Every entry of the derivative table (`macros/src/rules.rs`) against central
//! finite differences, and the conventions at non-smooth points
//! (`runtime/src/rules.rs`) pinned exactly.
//!
//! The oracle for each rule is the same operation written as a plain Rust
//! closure, differentiated numerically: it shares no code with the macro.
//! Points cover negative, tiny and large arguments wherever the function is
//! defined and smooth. `f32` rules are compared with the central difference of
//! the same operation in `f64` at the same (exactly representable) point.
//! Forward mode (`_jvp`) applies the same templates with the tangent as `g`:
//! every multi-argument rule against its gradient by the dot-product
//! identity, at ordinary points and at the conventions' points.

use sgrad::{differentiable, grad};
use std::hint::black_box;

// ---------------------------------------------------------------------------
// Finite differences

/// How far to step from `x` for a central difference.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// `1e-7 · max(|x|, 1)`: the default for functions smooth around 0.
    Scaled,
    /// `1e-7 · |x|`: for points close to a singularity at 0 (`ln`, `sqrt`, ...).
    Rel,
    /// A fixed step: for periodic functions at large arguments.
    Fixed(f64),
}

impl Step {
    fn at(self, x: f64) -> f64 {
        match self {
            Step::Scaled => 1e-7 * x.abs().max(1.0),
            Step::Rel => {
                assert!(x != 0.0, "relative step at 0");
                1e-7 * x.abs()
            }
            Step::Fixed(h) => h,
        }
    }
}

/// Central difference of `f` at `x` with the default (relative for large
/// `|x|`) step.
fn central(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    central_h(f, x, Step::Scaled.at(x))
}

/// Central difference with step `h`, divided by the step actually taken.
fn central_h(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    let (lo, hi) = (x - h, x + h);
    (f(hi) - f(lo)) / (hi - lo)
}

/// Asserts that `got` is `f'(x)`: within `rel` (relative) of the central
/// difference, plus the rounding noise of the difference itself.
#[track_caller]
fn assert_fd(what: &str, got: f64, f: impl Fn(f64) -> f64, x: f64, step: Step, rel: f64) {
    let h = step.at(x);
    let fd = central_h(&f, x, h);
    let noise = 16.0 * f64::EPSILON * (f(x + h).abs() + f(x - h).abs()) / (2.0 * h);
    let tol = rel * fd.abs() + noise;
    // The check must be able to fail: the noise may not swamp the derivative.
    assert!(
        noise <= 1e-4 * fd.abs() || fd == 0.0,
        "{what} at {x:e}: central difference {fd:e} is too noisy ({noise:e}) to check anything"
    );
    assert!(
        (got - fd).abs() <= tol,
        "{what} at {x:e}: derivative {got:e}, central difference {fd:e} (|diff| {:e} > tol {tol:e})",
        (got - fd).abs()
    );
}

#[test]
fn the_checker_rejects_a_wrong_derivative() {
    // Guards against a tolerance so loose that every test passes.
    let off_by = |factor: f64| {
        std::panic::catch_unwind(|| {
            assert_fd(
                "test",
                2.0f64.cos() * factor,
                f64::sin,
                2.0,
                Step::Scaled,
                REL64,
            )
        })
        .is_err()
    };
    assert!(!off_by(1.0));
    assert!(off_by(1.0 + 1e-5));
    assert!(off_by(-1.0));
}

/// Tolerance for `f64` rules.
const REL64: f64 = 1e-6;
/// Tolerance for `f32` rules (compared with the `f64` derivative).
const REL32: f64 = 2e-5;

/// Asserts that the value a gradient returns is bit-for-bit the plain one.
#[track_caller]
fn assert_same_value(what: &str, got: f64, want: f64) {
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{what}: value {got:e} from the gradient, {want:e} from the plain code"
    );
}

// ---------------------------------------------------------------------------
// Unary rules: the method form and the `f64::name(x)` path form, both through
// `grad!`.

macro_rules! unary {
    ($test:ident, $m:ident, $step:expr, [$($x:expr),* $(,)?]) => {
        #[test]
        fn $test() {
            let by_method = grad!(|x: f64| x.$m());
            let by_path = grad!(|x: f64| f64::$m(x));
            for x in [$($x),*] {
                let x: f64 = x;
                let plain = |t: f64| t.$m();
                let (v, d) = by_method(black_box(x));
                assert_same_value(stringify!($m), v, plain(black_box(x)));
                assert_fd(concat!("x.", stringify!($m), "()"), d, plain, x, $step, REL64);
                let (v, d) = by_path(black_box(x));
                assert_same_value(stringify!($m), v, plain(black_box(x)));
                assert_fd(concat!("f64::", stringify!($m), "(x)"), d, plain, x, $step, REL64);
            }
        }
    };
}

unary!(exp, exp, Step::Scaled, [-30.0, -2.5, 1e-9, 0.7, 40.0]);
unary!(exp2, exp2, Step::Scaled, [-20.0, -1.3, 1e-9, 3.2, 60.0]);
unary!(
    exp_m1,
    exp_m1,
    Step::Scaled,
    [-10.0, -1e-6, 1e-9, 0.5, 30.0]
);
unary!(ln, ln, Step::Rel, [1e-9, 0.3, 1.0, 7.5, 1e12]);
unary!(ln_1p, ln_1p, Step::Scaled, [-0.9, -1e-9, 1e-9, 2.0, 1e9]);
unary!(log2, log2, Step::Rel, [1e-9, 0.3, 1.0, 7.5, 1e12]);
unary!(log10, log10, Step::Rel, [1e-9, 0.3, 1.0, 7.5, 1e12]);
unary!(sqrt, sqrt, Step::Rel, [1e-12, 0.25, 2.0, 1e14]);
unary!(
    cbrt,
    cbrt,
    Step::Rel,
    [-1e6, -2.0, -1e-9, 1e-9, 0.5, 27.0, 1e12]
);
unary!(recip, recip, Step::Rel, [-2.0, -1e-5, 1e-8, 3.0, 1e10]);
unary!(sin, sin, Step::Fixed(1e-6), [-2.0, 1e-9, 0.3, 1e3, 1e6]);
unary!(cos, cos, Step::Fixed(1e-6), [-2.0, 1e-4, 0.3, 1e3, 1e6]);
unary!(tan, tan, Step::Fixed(1e-7), [-1.2, 1e-9, 0.5, 1.5, 100.0]);
unary!(asin, asin, Step::Scaled, [-0.999, -0.5, 1e-9, 0.3, 0.9]);
unary!(acos, acos, Step::Scaled, [-0.999, -0.5, 1e-9, 0.3, 0.9]);
unary!(atan, atan, Step::Scaled, [-1e3, -1.0, 1e-9, 0.4, 50.0]);
unary!(sinh, sinh, Step::Scaled, [-5.0, 1e-9, 0.8, 30.0]);
unary!(cosh, cosh, Step::Fixed(1e-5), [-5.0, 1e-4, 0.8, 30.0]);
unary!(tanh, tanh, Step::Scaled, [-3.0, 1e-9, 0.5, 4.0]);
unary!(asinh, asinh, Step::Scaled, [-100.0, -0.3, 1e-9, 2.0, 1e6]);
unary!(acosh, acosh, Step::Scaled, [1.001, 2.0, 50.0, 1e6]);
unary!(atanh, atanh, Step::Scaled, [-0.99, -0.2, 1e-9, 0.5, 0.999]);
unary!(abs, abs, Step::Rel, [-3.0, -1e-9, 1e-9, 2e5]);
unary!(
    to_degrees,
    to_degrees,
    Step::Scaled,
    [-400.0, 1e-9, 1.0, 1e6]
);
unary!(
    to_radians,
    to_radians,
    Step::Scaled,
    [-400.0, 1e-9, 1.0, 1e6]
);

// Piecewise constant: the derivative is exactly 0, and so is the central
// difference away from the jumps.
unary!(
    signum,
    signum,
    Step::Rel,
    [-2.7, -1e-9, 1e-9, 0.4, 1e6 + 0.3]
);
unary!(floor, floor, Step::Rel, [-2.7, -1e-9, 1e-9, 0.4, 1e6 + 0.3]);
unary!(ceil, ceil, Step::Rel, [-2.7, -1e-9, 1e-9, 0.4, 1e6 + 0.3]);
unary!(round, round, Step::Rel, [-2.7, -1e-9, 1e-9, 0.4, 1e6 + 0.3]);
unary!(trunc, trunc, Step::Rel, [-2.7, -1e-9, 1e-9, 0.4, 1e6 + 0.3]);

/// Where the derivative vanishes next to the value (`cos` near 0), a central
/// difference cannot see it; the formula can.
#[test]
fn tiny_arguments_by_formula() {
    let cos = grad!(|x: f64| x.cos());
    let cosh = grad!(|x: f64| f64::cosh(x));
    let sq = grad!(|x: f64| x.powi(2) + x.powf(2.0));
    for x in [1e-9, -1e-9, 1e-150, -3e-300] {
        let rel = |got: f64, want: f64| (got - want).abs() <= 1e-15 * want.abs();
        assert!(rel(cos(x).1, -x), "cos' at {x}: {}", cos(x).1);
        assert!(rel(cosh(x).1, x), "cosh' at {x}: {}", cosh(x).1);
        assert!(rel(sq(x).1, 4.0 * x), "(x^2)' at {x}: {}", sq(x).1);
    }
}

#[test]
fn piecewise_constant_rules_are_exactly_zero_everywhere() {
    let g = grad!(|x: f64| x.signum() + x.floor() + x.ceil() + x.round() + x.trunc());
    for x in [-3.0, -2.5, -1e-9, -0.0, 0.0, 0.5, 1.0, 2.5, 1e300] {
        assert_eq!(g(x).1.to_bits(), 0f64.to_bits(), "at {x}");
    }
}

#[test]
fn neg() {
    let g = grad!(|x: f64| -x);
    let h = grad!(|x: f64| -(x * x));
    for x in [-3.0, -1e-9, 0.0, 2.0, 1e12] {
        assert_eq!(g(x), (-x, -1.0));
        assert_fd("-(x * x)", h(x).1, |t| -(t * t), x, Step::Scaled, REL64);
    }
}

// ---------------------------------------------------------------------------
// Rules with two or three arguments: a `#[differentiable]` function (method or
// operator form) and a `grad!` closure (path form), each argument checked.

/// Checks both partials of a two-argument rule.
#[track_caller]
fn check2(
    what: &str,
    g: impl Fn(f64, f64) -> (f64, (f64, f64)),
    plain: impl Fn(f64, f64) -> f64,
    steps: (Step, Step),
    points: &[(f64, f64)],
) {
    for &(x, y) in points {
        let (v, (dx, dy)) = g(black_box(x), black_box(y));
        assert_same_value(what, v, plain(black_box(x), black_box(y)));
        assert_fd(
            &format!("{what} d/dx (y = {y:e})"),
            dx,
            |t| plain(t, y),
            x,
            steps.0,
            REL64,
        );
        assert_fd(
            &format!("{what} d/dy (x = {x:e})"),
            dy,
            |t| plain(x, t),
            y,
            steps.1,
            REL64,
        );
    }
}

/// Checks the three partials of a three-argument rule.
#[track_caller]
fn check3(
    what: &str,
    g: impl Fn(f64, f64, f64) -> (f64, (f64, f64, f64)),
    plain: impl Fn(f64, f64, f64) -> f64,
    step: Step,
    points: &[(f64, f64, f64)],
) {
    for &(x, y, z) in points {
        let (v, (dx, dy, dz)) = g(black_box(x), black_box(y), black_box(z));
        assert_same_value(what, v, plain(black_box(x), black_box(y), black_box(z)));
        let at = format!("({x:e}, {y:e}, {z:e})");
        assert_fd(
            &format!("{what} d/dx at {at}"),
            dx,
            |t| plain(t, y, z),
            x,
            step,
            REL64,
        );
        assert_fd(
            &format!("{what} d/dy at {at}"),
            dy,
            |t| plain(x, t, z),
            y,
            step,
            REL64,
        );
        assert_fd(
            &format!("{what} d/dz at {at}"),
            dz,
            |t| plain(x, y, t),
            z,
            step,
            REL64,
        );
    }
}

const MIXED: &[(f64, f64)] = &[
    (-3.0, 2.0),
    (1e-9, 5.0),
    (0.7, -1e-9),
    (1e8, -1e7),
    (-2.5, -0.4),
];

/// Points for compound expressions, where a tiny argument would make the
/// derivative vanish next to the value and the central difference useless.
const COMPOUND: &[(f64, f64)] = &[(-3.0, 2.0), (0.7, -1.5), (30.0, 40.0), (-2.5, -0.4)];

#[differentiable(; forward)]
fn op_add(x: f64, y: f64) -> f64 {
    x + y
}
#[differentiable(; forward)]
fn op_sub(x: f64, y: f64) -> f64 {
    x - y
}
#[differentiable(; forward)]
fn op_mul(x: f64, y: f64) -> f64 {
    x * y
}
#[differentiable(; forward)]
fn op_div(x: f64, y: f64) -> f64 {
    x / y
}
#[differentiable(; forward)]
fn op_rem(x: f64, y: f64) -> f64 {
    x % y
}

#[test]
fn add() {
    check2(
        "x + y",
        op_add_grad,
        |x, y| x + y,
        (Step::Scaled, Step::Scaled),
        MIXED,
    );
    for &(x, y) in MIXED {
        assert_eq!(op_add_grad(x, y).1, (1.0, 1.0));
        assert_eq!(op_add_grad(x, y).0, op_add(black_box(x), y));
    }
    // `+=` is the same rule.
    let g = grad!(|x: f64, y: f64| {
        let mut t = x;
        t += y * y;
        t
    });
    check2(
        "t += y * y",
        g,
        |x, y| x + y * y,
        (Step::Scaled, Step::Scaled),
        COMPOUND,
    );
}

#[test]
fn sub() {
    check2(
        "x - y",
        op_sub_grad,
        |x, y| x - y,
        (Step::Scaled, Step::Scaled),
        MIXED,
    );
    for &(x, y) in MIXED {
        assert_eq!(op_sub_grad(x, y).1, (1.0, -1.0));
        assert_eq!(op_sub_grad(x, y).0, op_sub(black_box(x), y));
    }
    let g = grad!(|x: f64, y: f64| {
        let mut t = x * x;
        t -= y.sin();
        t
    });
    check2(
        "t -= y.sin()",
        g,
        |x, y| x * x - y.sin(),
        (Step::Scaled, Step::Scaled),
        COMPOUND,
    );
}

#[test]
fn mul() {
    check2(
        "x * y",
        op_mul_grad,
        |x, y| x * y,
        (Step::Scaled, Step::Scaled),
        MIXED,
    );
    for &(x, y) in MIXED {
        assert_eq!(op_mul_grad(x, y).1, (y, x));
        assert_eq!(op_mul_grad(x, y).0, op_mul(black_box(x), y));
    }
    // The same variable on both sides.
    let sq = grad!(|x: f64| x * x);
    for x in [-3.0, 1e-9, 7.0, 1e100] {
        assert_eq!(sq(x).1, 2.0 * x);
    }
    let g = grad!(|x: f64, y: f64| {
        let mut t = x;
        t *= y;
        t *= y;
        t
    });
    check2(
        "t *= y; t *= y",
        g,
        |x, y| x * y * y,
        (Step::Scaled, Step::Scaled),
        COMPOUND,
    );
}

#[test]
fn div() {
    let points: &[(f64, f64)] = &[
        (-3.0, 2.0),
        (1e-9, 5.0),
        (0.7, -1e-6),
        (1e8, -1e7),
        (-2.5, -0.4),
        (3.0, 1e-9),
    ];
    check2(
        "x / y",
        op_div_grad,
        |x, y| x / y,
        (Step::Scaled, Step::Rel),
        points,
    );
    for &(x, y) in points {
        assert_eq!(op_div(x, y), op_div_grad(black_box(x), y).0);
    }
    let g = grad!(|x: f64, y: f64| {
        let mut t = x;
        t /= y;
        t
    });
    check2("t /= y", g, |x, y| x / y, (Step::Scaled, Step::Rel), points);
    let recip_like = grad!(|y: f64| 1.0 / y);
    for y in [-4.0, 1e-7, 3.0] {
        assert_fd("1 / y", recip_like(y).1, |t| 1.0 / t, y, Step::Rel, REL64);
    }
}

#[test]
fn rem() {
    // Away from the jumps of `x % y` (where x / y is an integer).
    let points: &[(f64, f64)] = &[
        (7.3, 2.0),
        (-7.3, 2.0),
        (5.5, -1.5),
        (1000.5, 3.0),
        (1e-9, 3.0),
        (-0.4, 0.3),
    ];
    check2(
        "x % y",
        op_rem_grad,
        |x, y| x % y,
        (Step::Rel, Step::Rel),
        points,
    );
    for &(x, y) in points {
        let (v, (dx, dy)) = op_rem_grad(x, y);
        assert_eq!(v, op_rem(black_box(x), y));
        assert_eq!(dx, 1.0);
        assert_eq!(dy, -(x / y).trunc());
    }
    let path = grad!(|x: f64, y: f64| {
        let mut t = x * 2.0;
        t %= y;
        t
    });
    check2(
        "t %= y",
        path,
        |x, y| (x * 2.0) % y,
        (Step::Rel, Step::Rel),
        &[(3.3, 2.0), (-7.1, 1.5)],
    );
}

#[differentiable(x, b; forward)]
fn op_log(x: f64, b: f64) -> f64 {
    x.log(b)
}

#[test]
fn log() {
    let mut points = Vec::new();
    for x in [1e-6, 0.4, 3.0, 1e8] {
        for b in [0.5, 2.0, std::f64::consts::E, 10.0, 1e3] {
            points.push((x, b));
        }
    }
    check2(
        "x.log(b)",
        op_log_grad,
        |x, b| x.log(b),
        (Step::Rel, Step::Rel),
        &points,
    );
    let path = grad!(|x: f64, b: f64| f64::log(x, b));
    check2(
        "f64::log(x, b)",
        path,
        |x, b| x.log(b),
        (Step::Rel, Step::Rel),
        &points,
    );
    for &(x, b) in &points {
        assert_eq!(
            op_log(black_box(x), b).to_bits(),
            op_log_grad(black_box(x), b).0.to_bits()
        );
    }
}

#[differentiable(x; forward)]
fn op_powi(x: f64, n: i32) -> f64 {
    x.powi(n)
}

#[test]
fn powi() {
    for n in [-3, -1, 1, 2, 3, 7] {
        for x in [-1.7, -0.2, 1e-3, 0.9, 5.0, 1e3] {
            let (v, d) = op_powi_grad(black_box(x), n);
            assert_same_value("x.powi(n)", v, op_powi(black_box(x), n));
            assert_fd(
                &format!("x.powi({n})"),
                d,
                |t| t.powi(n),
                x,
                Step::Rel,
                REL64,
            );
            let path = grad!(|x: f64| f64::powi(x, n));
            assert_fd(
                &format!("f64::powi(x, {n})"),
                path(x).1,
                |t| t.powi(n),
                x,
                Step::Rel,
                REL64,
            );
        }
    }
}

#[differentiable(x, y; forward)]
fn op_powf(x: f64, y: f64) -> f64 {
    x.powf(y)
}

#[test]
fn powf() {
    let points: &[(f64, f64)] = &[
        (0.5, 2.3),
        (3.0, -1.5),
        (1e-4, 0.7),
        (1e3, 1.2),
        (2.0, 1e-3),
        (0.9, -30.0),
        (7.0, 0.0),
    ];
    check2(
        "x.powf(y)",
        op_powf_grad,
        |x, y| x.powf(y),
        (Step::Rel, Step::Scaled),
        points,
    );
    let path = grad!(|x: f64, y: f64| f64::powf(x, y));
    check2(
        "f64::powf(x, y)",
        path,
        |x, y| x.powf(y),
        (Step::Rel, Step::Scaled),
        points,
    );
    for &(x, y) in points {
        assert_eq!(
            op_powf(black_box(x), y).to_bits(),
            op_powf_grad(black_box(x), y).0.to_bits()
        );
    }
    // A negative base with an integer exponent: defined and smooth in `x`.
    for (x, y) in [(-2.0, 3.0), (-0.5, 2.0), (-3.0, -1.0)] {
        let (_, (dx, _)) = op_powf_grad(x, y);
        assert_fd(
            "(-x).powf(int) d/dx",
            dx,
            |t| t.powf(y),
            x,
            Step::Rel,
            REL64,
        );
    }
}

#[differentiable(y, x; forward)]
fn op_atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}

#[test]
fn atan2() {
    // (y, x) in all four quadrants, near the axes, and far out.
    let points: &[(f64, f64)] = &[
        (1.0, -1.0),
        (-2.0, -3.0),
        (1e-9, 1.0),
        (5.0, 1e-9),
        (1e3, 3.0),
        (-0.5, 2.0),
        (-1.0, -1e-3),
    ];
    check2(
        "y.atan2(x)",
        op_atan2_grad,
        |y, x| y.atan2(x),
        (Step::Scaled, Step::Scaled),
        points,
    );
    let path = grad!(|y: f64, x: f64| f64::atan2(y, x));
    check2(
        "f64::atan2(y, x)",
        path,
        |y, x| y.atan2(x),
        (Step::Scaled, Step::Scaled),
        points,
    );
    for &(y, x) in points {
        let (v, (dy, dx)) = op_atan2_grad(black_box(y), x);
        assert_eq!(v, op_atan2(black_box(y), x));
        let r2 = x * x + y * y;
        assert!((dy - x / r2).abs() <= 1e-15 * (x / r2).abs());
        assert!((dx + y / r2).abs() <= 1e-15 * (y / r2).abs());
    }
}

#[differentiable(; forward)]
fn op_hypot(x: f64, y: f64) -> f64 {
    x.hypot(y)
}

#[test]
fn hypot() {
    let points: &[(f64, f64)] = &[
        (3.0, 4.0),
        (-5.0, 50.0),
        (1e-9, -2e-9),
        (1e150, 1e150),
        (-2.0, 0.3),
        (-1e-200, 3e-200),
    ];
    check2(
        "x.hypot(y)",
        op_hypot_grad,
        |x, y| x.hypot(y),
        (Step::Rel, Step::Rel),
        points,
    );
    let path = grad!(|x: f64, y: f64| f64::hypot(x, y));
    check2(
        "f64::hypot(x, y)",
        path,
        |x, y| x.hypot(y),
        (Step::Rel, Step::Rel),
        points,
    );
    for &(x, y) in points {
        assert_eq!(op_hypot(black_box(x), y), op_hypot_grad(black_box(x), y).0);
    }
    // On an axis the partial across it is exactly 0.
    assert_eq!(op_hypot_grad(-2.0, 0.0).1, (-1.0, 0.0));
}

#[differentiable(; forward)]
fn op_max(a: f64, b: f64) -> f64 {
    a.max(b)
}
#[differentiable(; forward)]
fn op_min(a: f64, b: f64) -> f64 {
    a.min(b)
}

const DISTINCT: &[(f64, f64)] = &[
    (1.0, 2.0),
    (2.0, 1.0),
    (-3.0, -4.0),
    (-4.0, -3.0),
    (1e-9, -1e-9),
    (1e8, 1e7),
    (-0.0, 1e-300),
];

#[test]
fn max() {
    check2(
        "a.max(b)",
        op_max_grad,
        |a, b| a.max(b),
        (Step::Rel, Step::Rel),
        &DISTINCT[..6],
    );
    let path = grad!(|a: f64, b: f64| f64::max(a, b));
    check2(
        "f64::max(a, b)",
        path,
        |a, b| a.max(b),
        (Step::Rel, Step::Rel),
        &DISTINCT[..6],
    );
    for &(a, b) in DISTINCT {
        let (v, d) = op_max_grad(a, b);
        assert_eq!(v, op_max(black_box(a), b));
        assert_eq!(
            d,
            if a > b { (1.0, 0.0) } else { (0.0, 1.0) },
            "max at ({a}, {b})"
        );
    }
}

#[test]
fn min() {
    check2(
        "a.min(b)",
        op_min_grad,
        |a, b| a.min(b),
        (Step::Rel, Step::Rel),
        &DISTINCT[..6],
    );
    let path = grad!(|a: f64, b: f64| f64::min(a, b));
    check2(
        "f64::min(a, b)",
        path,
        |a, b| a.min(b),
        (Step::Rel, Step::Rel),
        &DISTINCT[..6],
    );
    for &(a, b) in DISTINCT {
        let (v, d) = op_min_grad(a, b);
        assert_eq!(v, op_min(black_box(a), b));
        assert_eq!(
            d,
            if a < b { (1.0, 0.0) } else { (0.0, 1.0) },
            "min at ({a}, {b})"
        );
    }
}

#[differentiable(; forward)]
fn op_clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.clamp(lo, hi)
}

#[test]
fn clamp() {
    // Inside, below, above; strictly away from the bounds.
    let points: &[(f64, f64, f64)] = &[
        (0.3, -1.0, 1.0),
        (-2.0, -1.0, 1.0),
        (5.0, -1.0, 2.0),
        (-7.5, -10.0, -5.0),
        (-12.0, -10.0, -5.0),
        (1e-9, -1e-8, 1e-8),
        (3e8, -1e3, 1e8),
    ];
    check3(
        "x.clamp(lo, hi)",
        op_clamp_grad,
        |x, lo, hi| x.clamp(lo, hi),
        Step::Rel,
        points,
    );
    let path = grad!(|x: f64, lo: f64, hi: f64| f64::clamp(x, lo, hi));
    check3(
        "f64::clamp(x, lo, hi)",
        path,
        |x, lo, hi| x.clamp(lo, hi),
        Step::Rel,
        points,
    );
    for &(x, lo, hi) in points {
        let (v, d) = op_clamp_grad(x, lo, hi);
        assert_eq!(v, op_clamp(black_box(x), lo, hi));
        let want = if x < lo {
            (0.0, 1.0, 0.0)
        } else if x > hi {
            (0.0, 0.0, 1.0)
        } else {
            (1.0, 0.0, 0.0)
        };
        assert_eq!(d, want, "clamp at ({x}, {lo}, {hi})");
    }
}

#[differentiable(; forward)]
fn op_mul_add(x: f64, a: f64, b: f64) -> f64 {
    x.mul_add(a, b)
}

#[test]
fn mul_add() {
    let points: &[(f64, f64, f64)] = &[
        (1.5, -2.0, 0.3),
        (-1e-9, 3.0, 1e-9),
        (1e5, 1e-3, -7.0),
        (-4.0, -4.0, 100.0),
    ];
    check3(
        "x.mul_add(a, b)",
        op_mul_add_grad,
        |x, a, b| x.mul_add(a, b),
        Step::Scaled,
        points,
    );
    let path = grad!(|x: f64, a: f64, b: f64| f64::mul_add(x, a, b));
    check3(
        "f64::mul_add(x, a, b)",
        path,
        |x, a, b| x.mul_add(a, b),
        Step::Scaled,
        points,
    );
    for &(x, a, b) in points {
        let (v, d) = op_mul_add_grad(x, a, b);
        assert_eq!(v.to_bits(), op_mul_add(black_box(x), a, b).to_bits());
        assert_eq!(d, (a, x, 1.0));
    }
}

// ---------------------------------------------------------------------------
// Casts

#[differentiable(x; forward)]
fn cast_up(x: f32) -> f64 {
    let t = x as f64;
    t * t.sin()
}

#[differentiable(x; forward)]
fn cast_down(x: f64) -> f32 {
    let t = x as f32;
    t * 3.0
}

#[differentiable(x; forward)]
fn cast_round_trip(x: f64) -> f64 {
    let t = (x * 0.5) as f32;
    (t.exp() as f64) + x
}

#[test]
fn cast() {
    for x in [-2.5f32, 1e-6, 0.75, 300.0] {
        let (v, d) = cast_up_grad(x);
        assert_eq!(v.to_bits(), cast_up(black_box(x)).to_bits());
        // Forward mode: the tangent takes the cast's result type (`f64`
        // here; the gradient is rounded to `x`'s `f32`).
        let (jv, jd) = cast_up_jvp(x, 1.0);
        assert_eq!(jv.to_bits(), v.to_bits());
        assert!(
            (jd - d as f64).abs() <= 1e-6 * jd.abs(),
            "cast up jvp at {x}: {jd} vs {d}"
        );
        let want = central(|t| t * t.sin(), x as f64);
        assert!(
            (d as f64 - want).abs() <= REL32 * want.abs() + 1e-6,
            "cast up at {x}: {d} vs {want}"
        );
    }
    for x in [-2.5, 1e-9, 0.75, 1e20] {
        let (v, d) = cast_down_grad(x);
        assert_eq!(v.to_bits(), cast_down(black_box(x)).to_bits());
        assert_eq!(cast_down_jvp(x, 1.0), (v, 3.0));
        assert_eq!(d, 3.0);
    }
    for x in [-4.0, 1e-9, 0.75, 10.0] {
        let (v, d) = cast_round_trip_grad(x);
        assert_eq!(v.to_bits(), cast_round_trip(black_box(x)).to_bits());
        let (jv, jd) = cast_round_trip_jvp(x, 1.0);
        assert_eq!(jv.to_bits(), v.to_bits());
        assert!(
            (jd - d).abs() <= 1e-12 * d.abs(),
            "round trip jvp at {x}: {jd} vs {d}"
        );
        let want = central(|t| (t * 0.5).exp() + t, x);
        assert!(
            (d - want).abs() <= REL32 * want.abs(),
            "round trip at {x}: {d} vs {want}"
        );
    }
    // A cast of a float to an integer carries no derivative.
    let g = grad!(|x: f64| x * ((x as i64) as f64));
    assert_eq!(g(2.5), (5.0, 2.0));
}

// ---------------------------------------------------------------------------
// f32

/// Asserts that an `f32` derivative matches the `f64` central difference.
#[track_caller]
fn assert_fd32(what: &str, got: f32, f: impl Fn(f64) -> f64, x: f32, step: Step) {
    assert_fd(what, got as f64, f, x as f64, step, REL32);
}

#[test]
fn f32_unary() {
    let sin = grad!(|x: f32| x.sin());
    let exp = grad!(|x: f32| f32::exp(x));
    let ln = grad!(|x: f32| x.ln());
    let sqrt = grad!(|x: f32| x.sqrt());
    let tanh = grad!(|x: f32| x.tanh());
    let abs = grad!(|x: f32| x.abs());
    let cbrt = grad!(|x: f32| f32::cbrt(x));
    let powi = grad!(|x: f32| x.powi(3));
    for x in [-2.0f32, -1e-4, 0.3, 2.0, 100.0] {
        assert_fd32("f32 sin", sin(x).1, f64::sin, x, Step::Fixed(1e-6));
        if x < 80.0 {
            assert_fd32("f32 exp", exp(x).1, f64::exp, x, Step::Scaled);
        }
        assert_fd32("f32 abs", abs(x).1, f64::abs, x, Step::Rel);
        assert_fd32("f32 cbrt", cbrt(x).1, f64::cbrt, x, Step::Rel);
        assert_fd32("f32 powi", powi(x).1, |t| t.powi(3), x, Step::Rel);
        if x > 0.0 {
            assert_fd32("f32 ln", ln(x).1, f64::ln, x, Step::Rel);
            assert_fd32("f32 sqrt", sqrt(x).1, f64::sqrt, x, Step::Rel);
        }
        if x.abs() < 3.0 {
            assert_fd32("f32 tanh", tanh(x).1, f64::tanh, x, Step::Scaled);
        }
        assert_eq!(sin(x).0.to_bits(), black_box(x).sin().to_bits());
    }
}

#[differentiable(; forward)]
fn f32_binary(x: f32, y: f32) -> f32 {
    x.atan2(y) + x.hypot(y) + x / y + f32::powf(y, x) + x.max(y) * x.min(y)
}

#[differentiable(; forward)]
fn f32_ternary(x: f32, lo: f32, hi: f32) -> f32 {
    x.clamp(lo, hi) + x.mul_add(lo, hi)
}

#[test]
fn f32_multi_argument() {
    let plain = |x: f64, y: f64| x.atan2(y) + x.hypot(y) + x / y + y.powf(x) + x.max(y) * x.min(y);
    for (x, y) in [(0.3f32, 1.7f32), (-1.2, 0.4), (2.5, 0.9), (1e-3, 3.0)] {
        let (v, (dx, dy)) = f32_binary_grad(black_box(x), y);
        assert_eq!(v.to_bits(), f32_binary(black_box(x), y).to_bits());
        assert_fd32(
            "f32 binary d/dx",
            dx,
            |t| plain(t, y as f64),
            x,
            Step::Scaled,
        );
        assert_fd32(
            "f32 binary d/dy",
            dy,
            |t| plain(x as f64, t),
            y,
            Step::Scaled,
        );
    }
    let plain3 = |x: f64, lo: f64, hi: f64| x.clamp(lo, hi) + x.mul_add(lo, hi);
    for (x, lo, hi) in [
        (0.3f32, -1.0f32, 1.0f32),
        (-2.0, -1.0, 1.0),
        (5.0, -1.5, 2.5),
    ] {
        let (v, (dx, dlo, dhi)) = f32_ternary_grad(x, lo, hi);
        assert_eq!(v.to_bits(), f32_ternary(black_box(x), lo, hi).to_bits());
        let (xd, lod, hid) = (x as f64, lo as f64, hi as f64);
        assert_fd32(
            "f32 ternary d/dx",
            dx,
            |t| plain3(t, lod, hid),
            x,
            Step::Scaled,
        );
        assert_fd32(
            "f32 ternary d/dlo",
            dlo,
            |t| plain3(xd, t, hid),
            lo,
            Step::Scaled,
        );
        assert_fd32(
            "f32 ternary d/dhi",
            dhi,
            |t| plain3(xd, lod, t),
            hi,
            Step::Scaled,
        );
    }
}

// ---------------------------------------------------------------------------
// Conventions at non-smooth and singular points (runtime/src/rules.rs), exact.

#[test]
fn abs_at_zero_is_one() {
    let g = grad!(|x: f64| x.abs());
    assert_eq!(g(0.0), (0.0, 1.0));
    assert_eq!(
        g(-0.0).1,
        1.0,
        "-0.0 >= 0, as in JAX's select(x >= 0, 1, -1)"
    );
    let g32 = grad!(|x: f32| f32::abs(x));
    assert_eq!(g32(0.0), (0.0, 1.0));
}

#[test]
fn max_min_tie_splits_evenly() {
    for t in [0.0, -2.0, 1e300, -0.0] {
        assert_eq!(op_max_grad(t, t).1, (0.5, 0.5), "max tie at {t}");
        assert_eq!(op_min_grad(t, t).1, (0.5, 0.5), "min tie at {t}");
    }
    // The same variable on both sides gets the whole derivative back.
    let g = grad!(|x: f64| x.max(x) + f64::min(x, x));
    assert_eq!(g(3.0), (6.0, 2.0));
    let g32 = grad!(|a: f32, b: f32| a.max(b));
    assert_eq!(g32(1.5, 1.5).1, (0.5, 0.5));
}

#[test]
fn max_min_with_nan_send_everything_to_the_number() {
    let nan = f64::NAN;
    assert_eq!(op_max_grad(2.0, nan), (2.0, (1.0, 0.0)));
    assert_eq!(op_max_grad(nan, 2.0), (2.0, (0.0, 1.0)));
    assert_eq!(op_min_grad(2.0, nan), (2.0, (1.0, 0.0)));
    assert_eq!(op_min_grad(nan, 2.0), (2.0, (0.0, 1.0)));
}

#[test]
fn clamp_at_a_bound_is_zero_for_all_three() {
    assert_eq!(op_clamp_grad(-1.0, -1.0, 1.0), (-1.0, (0.0, 0.0, 0.0)));
    assert_eq!(op_clamp_grad(1.0, -1.0, 1.0), (1.0, (0.0, 0.0, 0.0)));
    // lo == hi == x
    assert_eq!(op_clamp_grad(2.0, 2.0, 2.0), (2.0, (0.0, 0.0, 0.0)));
    assert_eq!(
        f32_ternary_grad(1.0, 1.0, 3.0).1 .0,
        1.0,
        "clamp 0 + mul_add 1"
    );
}

#[test]
fn sqrt_and_cbrt_at_zero_are_infinite() {
    let sqrt = grad!(|x: f64| x.sqrt());
    assert_eq!(sqrt(0.0), (0.0, f64::INFINITY));
    let cbrt = grad!(|x: f64| x.cbrt());
    assert_eq!(cbrt(0.0), (0.0, f64::INFINITY));
    let sqrt32 = grad!(|x: f32| x.sqrt());
    assert_eq!(sqrt32(0.0), (0.0, f32::INFINITY));
}

#[test]
fn logs_at_zero_are_infinite() {
    let g = grad!(|x: f64| x.ln());
    assert_eq!(g(0.0), (f64::NEG_INFINITY, f64::INFINITY));
    let g = grad!(|x: f64| x.log2() + x.log10());
    assert_eq!(g(0.0).1, f64::INFINITY);
    let g = grad!(|x: f64| x.ln_1p());
    assert_eq!(g(-1.0).1, f64::INFINITY);
}

#[test]
fn asin_acos_at_one_are_infinite() {
    let g = grad!(|x: f64| x.asin());
    assert_eq!(g(1.0).1, f64::INFINITY);
    assert_eq!(g(-1.0).1, f64::INFINITY);
    let g = grad!(|x: f64| x.acos());
    assert_eq!(g(1.0).1, f64::NEG_INFINITY);
}

#[test]
fn powi_with_zero_exponent_is_zero() {
    for x in [0.0, -0.0, 2.0, -3.5, f64::INFINITY] {
        assert_eq!(op_powi_grad(x, 0).1.to_bits(), 0f64.to_bits(), "at x = {x}");
    }
    // And the ordinary rule at x = 0 for positive n.
    assert_eq!(op_powi_grad(0.0, 1).1, 1.0);
    assert_eq!(op_powi_grad(0.0, 2).1, 0.0);
}

#[test]
fn powf_at_zero_exponent_and_zero_base() {
    // d/dx is 0 where y = 0, even at x = 0 (where y x^(y-1) would be 0·inf).
    assert_eq!(op_powf_grad(0.0, 0.0), (1.0, (0.0, 0.0)));
    assert_eq!(op_powf_grad(3.0, 0.0).1 .0, 0.0);
    assert_eq!(op_powf_grad(-2.0, 0.0).1 .0, 0.0);
    // d/dy is 0 where x = 0 (ans · ln 0 would be 0 · -inf).
    assert_eq!(op_powf_grad(0.0, 2.0), (0.0, (0.0, 0.0)));
    assert_eq!(op_powf_grad(0.0, 0.5).1 .1, 0.0);
    // The ordinary rule at x = 0 for y > 1.
    assert_eq!(op_powf_grad(0.0, 3.0).1 .0, 0.0);
}

#[test]
fn hypot_at_origin_is_zero() {
    assert_eq!(op_hypot_grad(0.0, 0.0), (0.0, (0.0, 0.0)));
    assert_eq!(op_hypot_grad(-0.0, 0.0), (0.0, (0.0, 0.0)));
    let g32 = grad!(|x: f32, y: f32| x.hypot(y));
    assert_eq!(g32(0.0, 0.0), (0.0, (0.0, 0.0)));
}

#[test]
fn atan2_at_origin_is_nan() {
    let (v, (dy, dx)) = op_atan2_grad(0.0, 0.0);
    assert_eq!(v, 0.0);
    assert!(dy.is_nan() && dx.is_nan(), "({dy}, {dx})");
}

#[test]
fn piecewise_constant_at_jumps_is_zero() {
    let g = grad!(|x: f64| x.round() + x.floor() + x.ceil() + x.trunc() + x.signum());
    for x in [0.0, 0.5, -1.5, 2.0, -3.0] {
        assert_eq!(g(x).1, 0.0, "at {x}");
    }
}

// ---------------------------------------------------------------------------
// Forward mode: the same templates with the tangent in place of `g`.

/// `jvp` against `<grad, v>`: equal to `JVP_REL · Σ|gᵢvᵢ|` (`rel`), or both
/// NaN, or the same infinity (at the singular points the partials are
/// infinite or NaN, and so is their sum with the tangent).
#[track_caller]
fn assert_jvp_is_dot(what: &str, jvp: f64, grad: &[f64], v: &[f64], rel: f64) {
    let dot: f64 = grad.iter().zip(v).map(|(g, v)| g * v).sum();
    let scale: f64 = grad.iter().zip(v).map(|(g, v)| (g * v).abs()).sum();
    let ok = if dot.is_nan() || dot.is_infinite() {
        jvp.to_bits() == dot.to_bits() || (jvp.is_nan() && dot.is_nan())
    } else {
        (jvp - dot).abs() <= rel * scale
    };
    assert!(
        ok,
        "{what}: forward mode {jvp:e}, <gradient, v> = {dot:e} along {v:?}"
    );
}

/// Every binary rule in forward mode, at `points`: the value bit for bit,
/// a unit tangent on each argument, and two seeded random directions.
#[track_caller]
fn jvp2(
    what: &str,
    grad: fn(f64, f64) -> (f64, (f64, f64)),
    jvp: fn(f64, f64, f64, f64) -> (f64, f64),
    points: &[(f64, f64)],
) {
    let dirs = [[1.0, 0.0], [0.0, 1.0], [0.6, -1.3], [-2.1, 0.4]];
    for &(x, y) in points {
        let (v, (dx, dy)) = grad(x, y);
        for d in dirs {
            let (vj, t) = jvp(black_box(x), y, d[0], d[1]);
            assert_same_value(what, vj, v);
            let at = format!("{what} at ({x:e}, {y:e})");
            assert_jvp_is_dot(&at, t, &[dx, dy], &d, 1e-15);
        }
    }
}

/// A ternary rule's generated gradient.
type Grad3 = fn(f64, f64, f64) -> (f64, (f64, f64, f64));

/// [`jvp2`] for ternary rules.
#[track_caller]
fn jvp3(
    what: &str,
    grad: Grad3,
    jvp: fn(f64, f64, f64, f64, f64, f64) -> (f64, f64),
    points: &[(f64, f64, f64)],
) {
    let dirs = [
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.6, -1.3, 0.2],
        [-2.1, 0.4, 1.7],
    ];
    for &(x, y, z) in points {
        let (v, (dx, dy, dz)) = grad(x, y, z);
        for d in dirs {
            let (vj, t) = jvp(black_box(x), y, z, d[0], d[1], d[2]);
            assert_same_value(what, vj, v);
            let at = format!("{what} at ({x:e}, {y:e}, {z:e})");
            assert_jvp_is_dot(&at, t, &[dx, dy, dz], &d, 1e-15);
        }
    }
}

#[test]
fn forward_mode_of_every_multi_argument_rule() {
    let nan = f64::NAN;
    // The points of the tests above, and the conventions' points.
    let mut points: Vec<(f64, f64)> = [MIXED, COMPOUND, DISTINCT].concat();
    points.extend([
        (0.0, 0.0),
        (-0.0, 0.0),
        (2.0, 2.0),
        (-2.0, -2.0),
        (1e300, 1e300),
        (2.0, nan),
        (nan, 2.0),
        (0.0, 2.0),
        (0.0, 0.5),
        (0.0, 3.0),
        (3.0, 0.0),
        (-2.0, 0.0),
        (-2.0, 3.0),
        (0.7, -1e-6),
        (3.0, 1e-9),
        (7.3, 2.0),
        (-0.4, 0.3),
        (1e150, 1e150),
        (-1e-200, 3e-200),
    ]);
    type Binary = (
        &'static str,
        fn(f64, f64) -> (f64, (f64, f64)),
        fn(f64, f64, f64, f64) -> (f64, f64),
    );
    let binary: [Binary; 11] = [
        ("x + y", op_add_grad, op_add_jvp),
        ("x - y", op_sub_grad, op_sub_jvp),
        ("x * y", op_mul_grad, op_mul_jvp),
        ("x / y", op_div_grad, op_div_jvp),
        ("x % y", op_rem_grad, op_rem_jvp),
        ("x.log(b)", op_log_grad, op_log_jvp),
        ("x.powf(y)", op_powf_grad, op_powf_jvp),
        ("y.atan2(x)", op_atan2_grad, op_atan2_jvp),
        ("x.hypot(y)", op_hypot_grad, op_hypot_jvp),
        ("a.max(b)", op_max_grad, op_max_jvp),
        ("a.min(b)", op_min_grad, op_min_jvp),
    ];
    for (what, grad, jvp) in binary {
        jvp2(what, grad, jvp, &points);
    }
    let clamp: &[(f64, f64, f64)] = &[
        (0.3, -1.0, 1.0),
        (-2.0, -1.0, 1.0),
        (5.0, -1.0, 2.0),
        (-7.5, -10.0, -5.0),
        (-12.0, -10.0, -5.0),
        (1e-9, -1e-8, 1e-8),
        (3e8, -1e3, 1e8),
        // at a bound, and lo == hi == x
        (-1.0, -1.0, 1.0),
        (1.0, -1.0, 1.0),
        (2.0, 2.0, 2.0),
    ];
    jvp3("x.clamp(lo, hi)", op_clamp_grad, op_clamp_jvp, clamp);
    let mul_add: &[(f64, f64, f64)] = &[
        (1.5, -2.0, 0.3),
        (-1e-9, 3.0, 1e-9),
        (1e5, 1e-3, -7.0),
        (-4.0, -4.0, 100.0),
        (0.0, 0.0, 0.0),
        (nan, 1.0, 2.0),
    ];
    jvp3("x.mul_add(a, b)", op_mul_add_grad, op_mul_add_jvp, mul_add);
    for n in [-3, -1, 0, 1, 2, 3, 7] {
        for x in [-1.7, -0.2, 0.0, -0.0, 1e-3, 0.9, 5.0, 1e3, f64::INFINITY] {
            let (v, d) = op_powi_grad(x, n);
            let (vj, t) = op_powi_jvp(black_box(x), n, 1.0);
            assert_same_value("x.powi(n)", vj, v);
            assert_jvp_is_dot(&format!("x.powi({n}) at {x:e}"), t, &[d], &[1.0], 0.0);
            let (_, t) = op_powi_jvp(x, n, -0.3);
            assert_jvp_is_dot(&format!("x.powi({n}) at {x:e}"), t, &[d], &[-0.3], 1e-15);
        }
    }
    // f32: the same, in f32.
    for (x, y) in [
        (0.3f32, 1.7f32),
        (-1.2, 0.4),
        (2.5, 0.9),
        (1e-3, 3.0),
        (1.5, 1.5),
    ] {
        let (v, (dx, dy)) = f32_binary_grad(x, y);
        for d in [[1.0f32, 0.0], [0.0, 1.0], [0.6, -1.3]] {
            let (vj, t) = f32_binary_jvp(black_box(x), y, d[0], d[1]);
            assert_eq!(vj.to_bits(), v.to_bits());
            let g = [f64::from(dx), f64::from(dy)];
            let d64 = d.map(f64::from);
            assert_jvp_is_dot("f32 binary", f64::from(t), &g, &d64, 1e-6);
        }
    }
    for (x, lo, hi) in [
        (0.3f32, -1.0f32, 1.0f32),
        (-2.0, -1.0, 1.0),
        (5.0, -1.5, 2.5),
        (1.0, 1.0, 3.0),
    ] {
        let (v, (dx, dlo, dhi)) = f32_ternary_grad(x, lo, hi);
        for d in [
            [1.0f32, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.6, -1.3, 0.2],
        ] {
            let (vj, t) = f32_ternary_jvp(black_box(x), lo, hi, d[0], d[1], d[2]);
            assert_eq!(vj.to_bits(), v.to_bits());
            let g = [f64::from(dx), f64::from(dlo), f64::from(dhi)];
            let d64 = d.map(f64::from);
            assert_jvp_is_dot("f32 ternary", f64::from(t), &g, &d64, 1e-6);
        }
    }
}

macro_rules! unary_forward {
    ($($name:ident: |$x:ident| $e:expr, [$($p:expr),* $(,)?];)*) => {
        $(
            mod $name {
                use sgrad::differentiable;
                #[differentiable($x; forward)]
                pub fn f($x: f64) -> f64 {
                    $e
                }
            }
        )*

        /// Every unary rule in forward mode: the value bit for bit, a unit
        /// tangent gives `_grad`'s derivative, another tangent the product,
        /// at ordinary points and at the conventions' points (where the
        /// derivative is infinite, NaN or a chosen one-sided value).
        #[test]
        fn forward_mode_of_every_unary_rule() {
            $(
                for x in [$($p),*] {
                    let x: f64 = x;
                    let what = concat!(stringify!($name), " at ");
                    let (v, d) = $name::f_grad(x);
                    for t in [1.0, -0.3] {
                        let (vj, j) = $name::f_jvp(black_box(x), t);
                        assert_same_value(stringify!($name), vj, v);
                        assert_jvp_is_dot(&format!("{what}{x:e}"), j, &[d], &[t], 1e-15);
                    }
                }
            )*
        }
    };
}

unary_forward! {
    neg: |x| -x, [-2.0, 0.0, 3.0];
    exp: |x| x.exp(), [-700.0, -1.0, 0.0, 2.0, 700.0];
    exp2: |x| x.exp2(), [-3.0, 0.0, 10.0];
    exp_m1: |x| x.exp_m1(), [-1e-9, 0.0, 1.5];
    ln: |x| x.ln(), [0.0, 1e-300, 0.5, 3.0, 1e300];
    ln_1p: |x| x.ln_1p(), [-1.0, -0.5, 0.0, 1e-9, 4.0];
    log2: |x| x.log2(), [0.0, 0.25, 8.0];
    log10: |x| x.log10(), [0.0, 0.1, 1e5];
    sqrt: |x| x.sqrt(), [0.0, 1e-300, 2.0, 1e300];
    cbrt: |x| x.cbrt(), [-8.0, 0.0, 1e-9, 27.0];
    recip: |x| x.recip(), [-4.0, 1e-7, 3.0];
    sin: |x| x.sin(), [-1e6, -1.0, 0.0, 2.5];
    cos: |x| x.cos(), [-3.0, 0.0, 1e6];
    tan: |x| x.tan(), [-1.2, 0.0, 1.5];
    asin: |x| x.asin(), [-1.0, -0.5, 0.0, 0.9, 1.0];
    acos: |x| x.acos(), [-1.0, 0.0, 0.3, 1.0];
    atan: |x| x.atan(), [-1e10, -1.0, 0.0, 3.0];
    sinh: |x| x.sinh(), [-5.0, 0.0, 700.0];
    cosh: |x| x.cosh(), [-5.0, 0.0, 2.0];
    tanh: |x| x.tanh(), [-30.0, -1.0, 0.0, 0.5, 30.0];
    asinh: |x| x.asinh(), [-1e8, 0.0, 2.0];
    acosh: |x| x.acosh(), [1.0, 1.5, 1e8];
    atanh: |x| x.atanh(), [-1.0, -0.5, 0.0, 0.9, 1.0];
    abs: |x| x.abs(), [-2.0, -0.0, 0.0, 3.0];
    signum: |x| x.signum(), [-2.0, 0.0, 3.0];
    floor: |x| x.floor(), [-1.5, 0.0, 2.0, 2.7];
    ceil: |x| x.ceil(), [-1.5, 0.0, 2.7];
    round: |x| x.round(), [-1.5, 0.5, 2.2];
    trunc: |x| x.trunc(), [-1.5, 0.0, 2.7];
    to_degrees: |x| x.to_degrees(), [-1.0, 0.0, 3.0];
    to_radians: |x| x.to_radians(), [-90.0, 0.0, 180.0];
}
