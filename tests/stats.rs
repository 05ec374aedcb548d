//! The statistics functions (`runtime/src/stats.rs`): values against reference
//! values computed with 40 significant digits (mpmath) and classical constants,
//! identities, the densities integrating to 1; every derivative rule through
//! `#[differentiable]` against central differences, at ordinary and extreme
//! points; the `f32` versions; and every rule in forward mode (`_jvp`)
//! against the gradient by the dot-product identity `<gradient, v> = jvp(v)`.

use sgrad::__private::stats_partials;
use sgrad::differentiable;
use std::f64::consts::{LN_2, PI};
use std::hint::black_box;

mod common;
use common::{assert_dot_identity_rel, assert_jvp, per_variable, Rng, JVP_REL, JVP_REL_F32};

const EULER: f64 = 0.577_215_664_901_532_9;

/// `|got − want| ≤ rel · |want|`, exact equality for infinities.
#[track_caller]
fn assert_rel(what: &str, got: f64, want: f64, rel: f64) {
    let ok = if want.is_infinite() || want == 0.0 {
        got == want
    } else {
        (got - want).abs() <= rel * want.abs()
    };
    assert!(
        ok,
        "{what}: got {got:e}, want {want:e} (rel err {:e})",
        ((got - want) / want).abs()
    );
}

/// `|got − want| ≤ abs`.
#[track_caller]
fn assert_abs(what: &str, got: f64, want: f64, abs: f64) {
    assert!(
        (got - want).abs() <= abs,
        "{what}: got {got:e}, want {want:e} (abs err {:e})",
        (got - want).abs()
    );
}

// ---------------------------------------------------------------------------
// (a) values

/// Reference values: mpmath at 40 digits, rounded to the nearest `f64`.
#[test]
fn reference_values() {
    let rel = 1e-15;
    type Case = (&'static str, fn(f64) -> f64, f64, f64);
    let cases: &[Case] = &[
        ("sigmoid", sgrad::sigmoid, -40.0, 4.248_354_255_291_589e-18),
        ("sigmoid", sgrad::sigmoid, -700.0, 9.859_676_543_759_77e-305),
        (
            "softplus",
            sgrad::softplus,
            -40.0,
            4.248_354_255_291_589e-18,
        ),
        ("softplus", sgrad::softplus, 2.0, 2.126_928_011_042_972_7),
        ("softplus", sgrad::softplus, 1000.0, 1000.0),
        (
            "log1p_exp",
            sgrad::log1p_exp,
            -40.0,
            4.248_354_255_291_589e-18,
        ),
        (
            "log_sigmoid",
            sgrad::log_sigmoid,
            40.0,
            -4.248_354_255_291_589e-18,
        ),
        ("log_sigmoid", sgrad::log_sigmoid, -1000.0, -1000.0),
        ("ln_gamma", sgrad::ln_gamma, 0.5, 0.572_364_942_924_700_1),
        ("ln_gamma", sgrad::ln_gamma, 0.1, 2.252_712_651_734_206),
        ("ln_gamma", sgrad::ln_gamma, 3.7, 1.428_072_326_665_388),
        ("ln_gamma", sgrad::ln_gamma, 10.0, 12.801_827_480_081_469),
        ("ln_gamma", sgrad::ln_gamma, 100.0, 359.134_205_369_575_4),
        ("ln_gamma", sgrad::ln_gamma, 1e6, 12_815_504.569_147_611),
        ("ln_gamma", sgrad::ln_gamma, 1e-300, 690.775_527_898_213_7),
        (
            "ln_gamma",
            sgrad::ln_gamma,
            1.0 + 1e-10,
            -5.772_157_125_783_244e-11,
        ),
        (
            "ln_gamma",
            sgrad::ln_gamma,
            1.999_999_999_999,
            -4.228_219_208_717_395_3e-13,
        ),
        ("digamma", sgrad::digamma, 1.0, -EULER),
        ("digamma", sgrad::digamma, 0.5, -1.963_510_026_021_423_5),
        ("digamma", sgrad::digamma, 10.0, 2.251_752_589_066_721),
        ("digamma", sgrad::digamma, 100.5, 4.605_174_352_581_845),
        ("digamma", sgrad::digamma, 1e-8, -100_000_000.577_215_64),
        // the double nearest the zero 1.46163214496836234126...
        (
            "digamma",
            sgrad::digamma,
            1.461_632_144_968_362_2,
            -9.241_265_521_729_427e-17,
        ),
        ("trigamma", sgrad::trigamma, 1.0, PI * PI / 6.0),
        ("trigamma", sgrad::trigamma, 0.5, PI * PI / 2.0),
        ("trigamma", sgrad::trigamma, 3.3, 0.353_501_541_841_061_8),
        ("trigamma", sgrad::trigamma, 20.0, 0.051_270_822_935_203_12),
        ("trigamma", sgrad::trigamma, 1e-5, 10_000_000_001.644_909),
        ("erf", sgrad::erf, 1.0, 0.842_700_792_949_714_9),
        ("erf", sgrad::erf, 0.3, 0.328_626_759_459_127_4),
        ("erf", sgrad::erf, 2.5, 0.999_593_047_982_555),
        ("erf", sgrad::erf, 1e-300, 1.128_379_167_095_512_6e-300),
        ("erfc", sgrad::erfc, 1.0, 0.157_299_207_050_285_13),
        ("erfc", sgrad::erfc, 0.5, 0.479_500_122_186_953_5),
        ("erfc", sgrad::erfc, -1.0, 1.842_700_792_949_714_8),
        ("erfc", sgrad::erfc, 5.0, 1.537_459_794_428_035e-12),
        ("erfc", sgrad::erfc, 10.0, 2.088_487_583_762_545e-45),
        ("erfc", sgrad::erfc, 26.0, 5.663_192_408_856_143e-296),
        (
            "normal_cdf",
            sgrad::normal_cdf,
            1.0,
            0.841_344_746_068_542_9,
        ),
        (
            "normal_cdf",
            sgrad::normal_cdf,
            -1.5,
            0.066_807_201_268_858_07,
        ),
        (
            "normal_cdf",
            sgrad::normal_cdf,
            -10.0,
            7.619_853_024_160_525e-24,
        ),
        (
            "normal_cdf",
            sgrad::normal_cdf,
            -37.0,
            5.725_571_222_524_577e-300,
        ),
        ("normal_log_cdf", sgrad::normal_log_cdf, 0.0, -LN_2),
        (
            "normal_log_cdf",
            sgrad::normal_log_cdf,
            -3.0,
            -6.607_726_221_510_349,
        ),
        (
            "normal_log_cdf",
            sgrad::normal_log_cdf,
            -40.0,
            -804.608_442_013_753_8,
        ),
        (
            "normal_log_cdf",
            sgrad::normal_log_cdf,
            -1e5,
            -5_000_000_012.431_864,
        ),
        (
            "normal_log_cdf",
            sgrad::normal_log_cdf,
            10.0,
            -7.619_853_024_160_525e-24,
        ),
    ];
    for &(name, f, x, want) in cases {
        assert_rel(&format!("{name}({x:e})"), f(black_box(x)), want, rel);
    }
    assert_rel("Γ(1/2) = √π", sgrad::ln_gamma(0.5), PI.sqrt().ln(), 2e-16);
    assert_eq!(sgrad::ln_gamma(1.0), 0.0);
    assert_eq!(sgrad::ln_gamma(2.0), 0.0);
    assert_eq!(sgrad::sigmoid(0.0), 0.5);
    assert_eq!(sgrad::normal_cdf(0.0), 0.5);
    assert_eq!(sgrad::erf(0.0), 0.0);
}

#[test]
fn densities_at_reference_points() {
    // mpmath at 40 digits
    assert_rel(
        "student_t",
        sgrad::student_t_log_pdf(1.3, 4.5, 0.2, 1.7),
        -1.749_339_517_408_924_6,
        1e-15,
    );
    assert_rel(
        "beta",
        sgrad::beta_log_pdf(0.3, 2.5, 3.5),
        0.604_188_703_626_317_6,
        2e-15,
    );
    assert_rel(
        "gamma",
        sgrad::gamma_log_pdf(1.7, 2.5, 1.5),
        -1.025_077_723_609_252_5,
        1e-15,
    );
}

#[test]
fn limits_and_domains() {
    let inf = f64::INFINITY;
    assert_eq!(sgrad::sigmoid(1000.0), 1.0);
    assert_eq!(sgrad::sigmoid(-inf), 0.0);
    assert_eq!(sgrad::softplus(inf), inf);
    assert_eq!(sgrad::softplus(-inf), 0.0);
    assert_eq!(sgrad::ln_gamma(0.0), inf);
    assert_eq!(sgrad::ln_gamma(inf), inf);
    assert_eq!(sgrad::ln_gamma(1e306), inf);
    assert!(sgrad::ln_gamma(-1.0_f64).is_nan());
    assert_eq!(sgrad::digamma(0.0), -inf);
    assert_eq!(sgrad::digamma(inf), inf);
    assert!(sgrad::digamma(-0.5_f64).is_nan());
    assert_eq!(sgrad::trigamma(0.0), inf);
    assert_eq!(sgrad::trigamma(inf), 0.0);
    assert_eq!(sgrad::erf(inf), 1.0);
    assert_eq!(sgrad::erf(-inf), -1.0);
    assert_eq!(sgrad::erf(6.0), 1.0);
    assert_eq!(sgrad::erfc(-inf), 2.0);
    assert_eq!(sgrad::erfc(30.0), 0.0);
    assert_eq!(sgrad::normal_cdf(inf), 1.0);
    assert_eq!(sgrad::normal_cdf(-inf), 0.0);
    assert_eq!(sgrad::normal_log_cdf(-inf), -inf);
    for f in [
        sgrad::sigmoid::<f64>,
        sgrad::softplus,
        sgrad::ln_gamma,
        sgrad::digamma,
        sgrad::trigamma,
        sgrad::erf,
        sgrad::erfc,
        sgrad::normal_cdf,
        sgrad::normal_log_cdf,
    ] {
        assert!(f(f64::NAN).is_nan());
    }
    // parameters outside their domain: NaN; points outside the support: -∞
    assert!(sgrad::normal_log_pdf(0.0_f64, 0.0, 0.0).is_nan());
    assert!(sgrad::normal_log_pdf(0.0_f64, 0.0, -1.0).is_nan());
    assert!(sgrad::lognormal_log_pdf(1.0_f64, 0.0, 0.0).is_nan());
    assert_eq!(sgrad::lognormal_log_pdf(-1.0, 0.0, 1.0), -inf);
    assert_eq!(sgrad::lognormal_log_pdf(0.0, 0.0, 1.0), -inf);
    assert!(sgrad::gamma_log_pdf(1.0_f64, 0.0, 1.0).is_nan());
    assert!(sgrad::gamma_log_pdf(1.0_f64, 1.0, -1.0).is_nan());
    assert_eq!(sgrad::gamma_log_pdf(-1.0, 2.0, 1.0), -inf);
    assert_eq!(sgrad::gamma_log_pdf(0.0, 0.5, 1.0), inf);
    assert_eq!(sgrad::gamma_log_pdf(0.0, 1.0, 3.0), 3f64.ln());
    assert_eq!(sgrad::gamma_log_pdf(0.0, 2.0, 1.0), -inf);
    assert!(sgrad::beta_log_pdf(0.5_f64, -1.0, 1.0).is_nan());
    assert_eq!(sgrad::beta_log_pdf(1.5, 2.0, 2.0), -inf);
    assert_eq!(sgrad::beta_log_pdf(-0.5, 2.0, 2.0), -inf);
    assert_eq!(sgrad::beta_log_pdf(0.0, 0.5, 2.0), inf);
    assert_rel(
        "Beta(1, 3) at 0",
        sgrad::beta_log_pdf(0.0, 1.0, 3.0),
        3f64.ln(),
        1e-15,
    );
    assert_eq!(sgrad::beta_log_pdf(1.0, 2.0, 2.0), -inf);
    assert!(sgrad::student_t_log_pdf(0.0_f64, 0.0, 0.0, 1.0).is_nan());
    assert!(sgrad::student_t_log_pdf(0.0_f64, 1.0, 0.0, 0.0).is_nan());
    assert!(sgrad::exponential_log_pdf(1.0_f64, 0.0).is_nan());
    assert_eq!(sgrad::exponential_log_pdf(-1.0, 2.0), -inf);
    assert_eq!(sgrad::exponential_log_pdf(0.0, 2.0), LN_2);
}

#[test]
fn identities() {
    let xs: [f64; 21] = [
        1e-8, 0.003, 0.1, 0.37, 0.5, 0.99, 1.0, 1.2, 1.46, 1.5, 2.0, 2.49, 2.5, 3.3, 7.9, 9.99,
        10.0, 12.5, 57.0, 1e3, 1e5,
    ];
    for &x in &xs {
        let what = |s: &str| format!("{s} at {x:e}");
        // Γ(x + 1) = x Γ(x)
        let lhs = sgrad::ln_gamma(x + 1.0);
        let rhs = sgrad::ln_gamma(x) + x.ln();
        assert_abs(&what("ln Γ(x+1)"), lhs, rhs, 2e-15 * lhs.abs().max(1.0));
        // ψ(x + 1) = ψ(x) + 1/x
        let lhs = sgrad::digamma(x + 1.0);
        let rhs = sgrad::digamma(x) + 1.0 / x;
        assert_abs(&what("ψ(x+1)"), lhs, rhs, 2e-15 * rhs.abs().max(1.0 / x));
        // ψ′(x) = ψ′(x + 1) + 1/x²
        assert_rel(
            &what("ψ′(x)"),
            sgrad::trigamma(x),
            sgrad::trigamma(x + 1.0) + 1.0 / (x * x),
            2e-15,
        );
        // Legendre's duplication: Γ(x) Γ(x + ½) = 2^(1 − 2x) √π Γ(2x)
        let lhs = sgrad::ln_gamma(x) + sgrad::ln_gamma(x + 0.5);
        let rhs = (1.0 - 2.0 * x) * LN_2 + 0.5 * PI.ln() + sgrad::ln_gamma(2.0 * x);
        assert_abs(&what("duplication"), lhs, rhs, 4e-15 * lhs.abs().max(1.0));
    }
    // reflection: Γ(x) Γ(1 − x) = π / sin(πx)
    for x in [0.1, 0.25, 0.375, 0.5, 0.8] {
        let lhs = sgrad::ln_gamma(x) + sgrad::ln_gamma(1.0 - x);
        assert_abs("reflection", lhs, (PI / (PI * x).sin()).ln(), 2e-15);
    }
    for x in [
        -30.0, -6.0, -2.7, -1.0, -0.49, -1e-5, 1e-300, 0.3, 0.5, 0.51, 1.7, 4.2, 9.0,
    ] {
        let what = |s: &str| format!("{s} at {x:e}");
        assert_eq!(sgrad::erf(-x), -sgrad::erf(x), "{}", what("erf odd"));
        assert_abs(
            &what("erf + erfc"),
            sgrad::erf(x) + sgrad::erfc(x),
            1.0,
            2.3e-16,
        );
        assert_abs(
            &what("Φ(x) + Φ(−x)"),
            sgrad::normal_cdf(x) + sgrad::normal_cdf(-x),
            1.0,
            2.3e-16,
        );
        assert_abs(
            &what("σ(x) + σ(−x)"),
            sgrad::sigmoid(x) + sgrad::sigmoid(-x),
            1.0,
            2.3e-16,
        );
        assert_abs(
            &what("softplus(x) − softplus(−x)"),
            sgrad::softplus(x) - sgrad::softplus(-x),
            x,
            4e-16 * x.abs().max(1.0),
        );
        assert_eq!(sgrad::log1p_exp(x), sgrad::softplus(x));
        // ln rounds σ ≈ 1 to an error of ε absolute
        let log_sig = sgrad::log_sigmoid(x);
        assert_abs(
            &what("log_sigmoid = ln σ"),
            log_sig,
            sgrad::sigmoid(x).ln(),
            4e-16 * log_sig.abs().max(1.0),
        );
        // Φ(x) = ½ erfc(−x/√2) where the argument's rounding does not matter
        if x.abs() < 3.0 {
            assert_rel(
                &what("Φ via erfc"),
                sgrad::normal_cdf(x),
                0.5 * sgrad::erfc(-x / 2f64.sqrt()),
                1e-15,
            );
            // ln rounds Φ ≈ 1 to an error of ε absolute
            let log_cdf = sgrad::normal_log_cdf(x);
            assert_abs(
                &what("ln Φ"),
                log_cdf,
                sgrad::normal_cdf(x).ln(),
                4e-16 * log_cdf.abs().max(1.0),
            );
        }
    }
}

#[test]
fn densities_match_closed_forms() {
    for &(x, mu, sigma) in &[(0.3, -1.2, 0.7), (-4.0, 2.0, 3.0), (1e3, 0.0, 1e-2)] {
        let z: f64 = (x - mu) / sigma;
        let want = -0.5 * z * z - sigma.ln() - 0.5 * (2.0 * PI).ln();
        assert_rel("normal", sgrad::normal_log_pdf(x, mu, sigma), want, 1e-15);
        if x > 0.0 {
            let want = sgrad::normal_log_pdf(x.ln(), mu, sigma) - x.ln();
            assert_rel(
                "lognormal",
                sgrad::lognormal_log_pdf(x, mu, sigma),
                want,
                1e-15,
            );
        }
    }
    // Student t with one degree of freedom is Cauchy
    for &(x, mu, sigma) in &[(0.3, -1.2, 0.7), (-4.0, 2.0, 3.0), (1e3, 0.0, 1e-2)] {
        let z: f64 = (x - mu) / sigma;
        let cauchy = -(PI * sigma * (1.0 + z * z)).ln();
        assert_rel(
            "Cauchy",
            sgrad::student_t_log_pdf(x, 1.0, mu, sigma),
            cauchy,
            1e-14,
        );
        // and tends to the normal as ν → ∞, without cancellation
        let normal = sgrad::normal_log_pdf(x, mu, sigma);
        let t = sgrad::student_t_log_pdf(x, f64::INFINITY, mu, sigma);
        assert_eq!(t, normal);
        if z.abs() < 10.0 {
            let t = sgrad::student_t_log_pdf(x, 1e12, mu, sigma);
            assert_abs("t with ν = 1e12", t, normal, 1e-10);
        }
    }
    // the gamma with shape 1 is the exponential; Beta(1, 1) is uniform
    for &(x, rate) in &[(0.0, 2.0), (0.3, 0.5), (40.0, 3.0)] {
        assert_rel(
            "gamma(1, rate)",
            sgrad::gamma_log_pdf(x, 1.0, rate),
            sgrad::exponential_log_pdf(x, rate),
            1e-15,
        );
    }
    for x in [0.0, 0.3, 1.0] {
        assert_eq!(sgrad::beta_log_pdf(x, 1.0, 1.0), 0.0);
    }
}

/// `∫ exp(f)` over [a, b] by composite Simpson's rule with `n` (even) panels.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let mut s = f(a).exp() + f(b).exp();
    for i in 1..n {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        s += w * f(a + i as f64 * h).exp();
    }
    s * h / 3.0
}

#[test]
fn densities_integrate_to_one() {
    let n = 20_000;
    type Case = (&'static str, fn(f64) -> f64, f64, f64);
    let cases: [Case; 6] = [
        (
            "normal",
            |x| sgrad::normal_log_pdf(x, 1.5, 0.8),
            -10.0,
            13.0,
        ),
        (
            "lognormal",
            |x| sgrad::lognormal_log_pdf(x, 0.2, 0.5),
            0.0,
            60.0,
        ),
        (
            "gamma",
            // shape 3: smooth at 0, where Simpson's rule starts
            |x| sgrad::gamma_log_pdf(x, 3.0, 1.5),
            0.0,
            60.0,
        ),
        ("beta", |x| sgrad::beta_log_pdf(x, 2.5, 3.5), 0.0, 1.0),
        (
            "student_t",
            // ν = 5: the tails beyond ±2000 hold about 1e-15 of the mass
            |x| sgrad::student_t_log_pdf(x, 5.0, -1.0, 2.0),
            -2000.0,
            2000.0,
        ),
        (
            "exponential",
            |x| sgrad::exponential_log_pdf(x, 0.7),
            0.0,
            80.0,
        ),
    ];
    for (name, f, a, b) in cases {
        let mass = if name == "student_t" {
            // the centre and the long tails on grids of their own
            simpson(f, a, -50.0, n) + simpson(f, -50.0, 50.0, n) + simpson(f, 50.0, b, n)
        } else {
            simpson(f, a, b, n)
        };
        assert_abs(name, mass, 1.0, 1e-9);
    }
    // means: E[x] of Gamma(3, 1.5) = 2, of Beta(2.5, 3.5) = 5/12
    let mean = |f: &dyn Fn(f64) -> f64, a: f64, b: f64| {
        let h = (b - a) / n as f64;
        (0..=n)
            .map(|i| {
                let x = a + i as f64 * h;
                let w = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                w * x * f(x).exp()
            })
            .sum::<f64>()
            * h
            / 3.0
    };
    let gamma = |x: f64| sgrad::gamma_log_pdf(x, 3.0, 1.5);
    assert_abs("gamma mean", mean(&gamma, 0.0, 60.0), 3.0 / 1.5, 1e-9);
    let beta = |x: f64| sgrad::beta_log_pdf(x, 2.5, 3.5);
    assert_abs("beta mean", mean(&beta, 0.0, 1.0), 2.5 / 6.0, 1e-9);
}

// ---------------------------------------------------------------------------
// (b) derivatives through the macro, against central differences

/// Asserts that `got` is the derivative of `f` at `x`: within 1e-7 of the
/// central difference with step `h`, relative, plus the rounding noise of
/// the difference. The noise must leave something to check.
#[track_caller]
fn assert_fd(what: &str, got: f64, f: &dyn Fn(f64) -> f64, x: f64, h: f64) {
    let (lo, hi) = (x - h, x + h);
    let (flo, fhi) = (f(lo), f(hi));
    let fd = (fhi - flo) / (hi - lo);
    let noise = 8.0 * f64::EPSILON * (flo.abs() + fhi.abs()) / (hi - lo);
    assert!(
        noise <= 1e-4 * fd.abs() || fd == 0.0,
        "{what} at {x:e}: central difference {fd:e} is too noisy ({noise:e}) to check anything"
    );
    let tol = 1e-7 * fd.abs() + noise;
    assert!(
        (got - fd).abs() <= tol,
        "{what} at {x:e}: derivative {got:e}, central difference {fd:e} (|diff| {:e} > tol {tol:e})",
        (got - fd).abs()
    );
}

/// A step relative to `x` (`1e-6 |x|`, or `1e-6` at 0).
fn rel_step(x: f64) -> f64 {
    if x == 0.0 {
        1e-6
    } else {
        1e-6 * x.abs()
    }
}

/// A step for functions with Gaussian tails, which change at the rate |x|.
fn tail_step(x: f64) -> f64 {
    1e-5 / (1.0 + x.abs())
}

/// A fixed step, for functions that change at a rate of at most 1.
fn unit_step(_: f64) -> f64 {
    1e-5
}

#[test]
fn the_checker_rejects_a_wrong_derivative() {
    let wrong = std::panic::catch_unwind(|| {
        assert_fd("test", 0.25 * (1.0 + 1e-6), &sgrad::sigmoid, 0.0, 1e-5)
    });
    assert!(wrong.is_err());
    assert_fd("test", 0.25, &sgrad::sigmoid, 0.0, 1e-5);
}

/// Asserts the value is bit-for-bit the plain call's.
#[track_caller]
fn assert_same(what: &str, got: f64, want: f64) {
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{what}: value {got:e} from the gradient, {want:e} from the plain call"
    );
}

macro_rules! unary_rule {
    ($test:ident, $name:ident, $step:expr, [$($x:expr),* $(,)?]) => {
        #[test]
        fn $test() {
            #[differentiable(; forward)]
            fn through_macro(x: f64) -> f64 {
                sgrad::$name(x)
            }
            for x in [$($x),*] {
                let x: f64 = x;
                let (v, d) = through_macro_grad(black_box(x));
                assert_same(stringify!($name), v, through_macro(x));
                assert_fd(stringify!($name), d, &|t| sgrad::$name(t), x, $step(x));
                let (vj, t) = through_macro_jvp(black_box(x), -0.75);
                assert_same(stringify!($name), vj, v);
                assert_dot_identity_rel(stringify!($name), &[d], t, &[-0.75], JVP_REL);
            }
        }
    };
}

unary_rule!(
    d_sigmoid,
    sigmoid,
    unit_step,
    [-700.0, -40.0, -3.0, 0.0, 0.5, 6.0]
);
unary_rule!(
    d_softplus,
    softplus,
    unit_step,
    [-700.0, -40.0, -2.0, 0.0, 1.5, 40.0, 700.0]
);
unary_rule!(
    d_log1p_exp,
    log1p_exp,
    unit_step,
    [-700.0, -40.0, 0.3, 40.0, 700.0]
);
unary_rule!(
    d_log_sigmoid,
    log_sigmoid,
    unit_step,
    [-700.0, -40.0, -1.0, 0.0, 2.0, 40.0, 700.0]
);
unary_rule!(
    d_ln_gamma,
    ln_gamma,
    rel_step,
    [1e-3, 0.2, 1.0, 1.46, 2.0, 3.7, 9.99, 10.0, 55.5, 1e6]
);
unary_rule!(
    d_digamma,
    digamma,
    rel_step,
    [1e-3, 0.2, 1.0, 1.46, 2.0, 3.7, 9.99, 10.0, 55.5, 1e6]
);
unary_rule!(
    d_trigamma,
    trigamma,
    rel_step,
    [1e-3, 0.2, 1.0, 1.46, 2.0, 3.7, 11.99, 12.0, 55.5, 1e6]
);
unary_rule!(
    d_erf,
    erf,
    tail_step,
    [-2.5, -0.5, -1e-3, 0.0, 0.3, 0.5, 1.7, 2.5]
);
unary_rule!(
    d_erfc,
    erfc,
    tail_step,
    [-2.0, -0.5, 0.0, 0.3, 0.5, 1.7, 5.0, 20.0, 26.0]
);
unary_rule!(
    d_normal_cdf,
    normal_cdf,
    tail_step,
    [-37.0, -20.0, -3.0, -0.7, 0.0, 0.6, 4.0]
);
unary_rule!(
    d_normal_log_cdf,
    normal_log_cdf,
    rel_step,
    [-1e4, -37.0, -5.0, -0.7, 0.6, 4.0, 9.0]
);

/// Where the value rounds to a constant (σ(40) = 1) a central difference sees
/// nothing; the formula still resolves the derivative.
#[test]
fn tails_by_formula() {
    #[differentiable(; forward)]
    fn sig(x: f64) -> f64 {
        sgrad::sigmoid(x)
    }
    #[differentiable(; forward)]
    fn log_sig(x: f64) -> f64 {
        sgrad::log_sigmoid(x)
    }
    #[differentiable(; forward)]
    fn log_cdf(x: f64) -> f64 {
        sgrad::normal_log_cdf(x)
    }
    for x in [40.0f64, 700.0] {
        // σ′(x) = σ′(−x) = e^(−x)/(1 + e^(−x))²
        let e = (-x).exp();
        assert_rel("σ′", sig_grad(x).1, e / ((1.0 + e) * (1.0 + e)), 1e-15);
        assert_eq!(sig_grad(x).1, sig_grad(-x).1);
        assert_eq!(sig_grad(x).0, sig(x));
        assert_eq!(log_sig_grad(x).0, log_sig(x));
        // d/dx ln σ(x) = σ(−x)
        assert_rel("(ln σ)′", log_sig_grad(x).1, sgrad::sigmoid(-x), 1e-15);
        assert_eq!(sig_jvp(x, 1.0), sig_grad(x));
        assert_eq!(log_sig_jvp(x, 1.0), log_sig_grad(x));
    }
    // φ(x)/Φ(x) ≈ −x − 1/x + 2/x³ far left; ≈ φ(x) far right
    let x = -1e4;
    assert_eq!(log_cdf_grad(x).0, log_cdf(x));
    assert_rel(
        "(ln Φ)′",
        log_cdf_grad(x).1,
        -x - 1.0 / x + 2.0 / x.powi(3),
        1e-15,
    );
    let x = 20.0f64;
    let phi = (-0.5 * x * x).exp() / (2.0 * PI).sqrt();
    assert_rel("(ln Φ)′", log_cdf_grad(x).1, phi, 1e-13);
    assert_eq!(log_cdf_jvp(x, 1.0), log_cdf_grad(x));
    assert_eq!(log_cdf_jvp(-1e4, 1.0), log_cdf_grad(-1e4));
}

/// A three-argument rule: every partial against the central difference in
/// that argument, the others held; and forward mode against the partials,
/// one argument at a time and all together.
#[allow(clippy::type_complexity)]
fn check3(
    name: &str,
    (grad, jvp): (
        fn(f64, f64, f64) -> (f64, (f64, f64, f64)),
        fn(f64, f64, f64, f64, f64, f64) -> (f64, f64),
    ),
    plain: fn(f64, f64, f64) -> f64,
    points: &[(f64, f64, f64)],
) {
    let mut rng = Rng::new(3);
    for &(x, y, z) in points {
        let (v, (dx, dy, dz)) = grad(black_box(x), y, z);
        assert_same(name, v, plain(x, y, z));
        let at = format!("{name} at ({x:e}, {y:e}, {z:e})");
        assert_fd(&format!("{at} ∂x"), dx, &|t| plain(t, y, z), x, rel_step(x));
        assert_fd(&format!("{at} ∂2"), dy, &|t| plain(x, t, z), y, rel_step(y));
        assert_fd(&format!("{at} ∂3"), dz, &|t| plain(x, y, t), z, rel_step(z));
        let groups = per_variable(&[1, 1, 1]);
        let j = |d: &[f64]| jvp(x, y, z, d[0], d[1], d[2]);
        assert_jvp(&at, v, &[dx, dy, dz], &groups, &j, &mut rng);
    }
}

#[differentiable(; forward)]
fn normal_lp(x: f64, mu: f64, sigma: f64) -> f64 {
    sgrad::normal_log_pdf(x, mu, sigma)
}

#[differentiable(; forward)]
fn lognormal_lp(x: f64, mu: f64, sigma: f64) -> f64 {
    sgrad::lognormal_log_pdf(x, mu, sigma)
}

#[differentiable(; forward)]
fn gamma_lp(x: f64, shape: f64, rate: f64) -> f64 {
    sgrad::gamma_log_pdf(x, shape, rate)
}

#[differentiable(; forward)]
fn beta_lp(x: f64, a: f64, b: f64) -> f64 {
    sgrad::beta_log_pdf(x, a, b)
}

#[differentiable(; forward)]
fn exponential_lp(x: f64, rate: f64) -> f64 {
    sgrad::exponential_log_pdf(x, rate)
}

#[test]
fn d_normal_log_pdf() {
    check3(
        "normal_log_pdf",
        (normal_lp_grad, normal_lp_jvp),
        normal_lp,
        &[
            (0.3, -1.2, 0.7),
            (-40.0, 2.0, 3.0),
            (1e3, 1.0, 1e-2),
            (5.0, 5.5, 30.0),
        ],
    );
}

#[test]
fn d_lognormal_log_pdf() {
    check3(
        "lognormal_log_pdf",
        (lognormal_lp_grad, lognormal_lp_jvp),
        lognormal_lp,
        &[
            (0.3, -1.2, 0.7),
            (40.0, 2.0, 3.0),
            (1e-6, 0.0, 0.1),
            (1e5, 11.0, 3.0),
        ],
    );
}

#[test]
fn d_gamma_log_pdf() {
    check3(
        "gamma_log_pdf",
        (gamma_lp_grad, gamma_lp_jvp),
        gamma_lp,
        &[
            (1.7, 2.5, 1.5),
            (1e-4, 0.3, 7.0),
            (300.0, 1e3, 3.0),
            (2.0, 1.0, 0.5),
        ],
    );
}

#[test]
fn d_beta_log_pdf() {
    check3(
        "beta_log_pdf",
        (beta_lp_grad, beta_lp_jvp),
        beta_lp,
        &[
            (0.3, 2.5, 3.5),
            (1e-3, 0.5, 0.5),
            (0.99, 20.0, 0.7),
            (0.5, 8.0, 12.0),
        ],
    );
}

#[test]
fn d_exponential_log_pdf() {
    for &(x, rate) in &[(0.0, 2.0), (0.3, 0.5), (40.0, 3.0), (1e-5, 1e4)] {
        let (v, (dx, dr)) = exponential_lp_grad(black_box(x), rate);
        assert_same("exponential_log_pdf", v, exponential_lp(x, rate));
        if x > 0.0 {
            let f = |t| sgrad::exponential_log_pdf(t, rate);
            assert_fd("exponential ∂x", dx, &f, x, rel_step(x));
        } else {
            assert_eq!(dx, -rate);
        }
        let f = |t| sgrad::exponential_log_pdf(x, t);
        assert_fd("exponential ∂rate", dr, &f, rate, rel_step(rate));
        let j = |d: &[f64]| exponential_lp_jvp(x, rate, d[0], d[1]);
        let groups = per_variable(&[1, 1]);
        let mut rng = Rng::new(4);
        assert_jvp("exponential_log_pdf", v, &[dx, dr], &groups, &j, &mut rng);
    }
}

#[differentiable(; forward)]
fn student_t_lp(x: f64, nu: f64, mu: f64, sigma: f64) -> f64 {
    sgrad::student_t_log_pdf(x, nu, mu, sigma)
}

#[test]
fn d_student_t_log_pdf_through_the_macro() {
    for &(x, nu, mu, sigma) in &[
        (1.3, 4.5, 0.2, 1.7),
        (-30.0, 1.0, 2.0, 3.0),
        (0.5, 300.0, 0.4, 0.9),
    ] {
        let (v, (dx, dnu, dmu, dsigma)) = student_t_lp_grad(black_box(x), nu, mu, sigma);
        assert_same("student_t_log_pdf", v, student_t_lp(x, nu, mu, sigma));
        let fx = |t| sgrad::student_t_log_pdf(t, nu, mu, sigma);
        assert_fd("student_t ∂x", dx, &fx, x, rel_step(x));
        let fnu = |t| sgrad::student_t_log_pdf(x, t, mu, sigma);
        assert_fd("student_t ∂nu", dnu, &fnu, nu, rel_step(nu));
        let fmu = |t| sgrad::student_t_log_pdf(x, nu, t, sigma);
        assert_fd("student_t ∂mu", dmu, &fmu, mu, rel_step(mu));
        let fs = |t| sgrad::student_t_log_pdf(x, nu, mu, t);
        assert_fd("student_t ∂sigma", dsigma, &fs, sigma, rel_step(sigma));
        let j = |d: &[f64]| student_t_lp_jvp(x, nu, mu, sigma, d[0], d[1], d[2], d[3]);
        let grad = [dx, dnu, dmu, dsigma];
        let groups = per_variable(&[1; 4]);
        let mut rng = Rng::new(5);
        assert_jvp("student_t_log_pdf", v, &grad, &groups, &j, &mut rng);
    }
}

/// Outside the support the log-density is −∞ and the partials are 0; for
/// invalid parameters they are NaN.
#[test]
fn partials_outside_the_support() {
    assert_eq!(gamma_lp_grad(-1.0, 2.0, 3.0).1, (0.0, 0.0, 0.0));
    assert_eq!(beta_lp_grad(1.5, 2.0, 3.0).1, (0.0, 0.0, 0.0));
    assert_eq!(lognormal_lp_grad(-1.0, 0.0, 1.0).1, (0.0, 0.0, 0.0));
    assert_eq!(exponential_lp_grad(-1.0, 2.0).1, (0.0, 0.0));
    let (_, (dx, dm, ds)) = normal_lp_grad(0.0, 0.0, -1.0);
    assert!(dx.is_nan() && dm.is_nan() && ds.is_nan());
    // The same in forward mode.
    assert_eq!(gamma_lp_jvp(-1.0, 2.0, 3.0, 1.0, 1.0, 1.0).1, 0.0);
    assert_eq!(beta_lp_jvp(1.5, 2.0, 3.0, 1.0, 1.0, 1.0).1, 0.0);
    assert_eq!(lognormal_lp_jvp(-1.0, 0.0, 1.0, 1.0, 1.0, 1.0).1, 0.0);
    assert_eq!(exponential_lp_jvp(-1.0, 2.0, 1.0, 1.0).1, 0.0);
    assert!(normal_lp_jvp(0.0, 0.0, -1.0, 1.0, 1.0, 1.0).1.is_nan());
    // at x = 0 with shape 1 the gamma is the exponential
    let (_, (dx, _, dr)) = gamma_lp_grad(0.0, 1.0, 2.0);
    assert_eq!((dx, dr), (-2.0, 0.5));
}

/// Student's t partials, directly, at points harder than the macro test's.
#[test]
fn d_student_t_log_pdf() {
    use stats_partials::{
        student_t_log_pdf_mu, student_t_log_pdf_nu, student_t_log_pdf_sigma, student_t_log_pdf_x,
    };
    let f = sgrad::student_t_log_pdf::<f64>;
    for &(x, nu, mu, s) in &[
        (1.3, 4.5, 0.2, 1.7),
        (-30.0, 0.3, 1.0, 0.5),
        (2.0, 1.0, 2.0, 1.0),
        (1e3, 7.0, 0.0, 1e-2),
        (0.7, 1e3, -0.4, 2.0),
    ] {
        let at = format!("student_t at ({x:e}, {nu:e}, {mu:e}, {s:e})");
        let dx = student_t_log_pdf_x(1.0, x, nu, mu, s);
        assert_fd(
            &format!("{at} ∂x"),
            dx,
            &|t| f(t, nu, mu, s),
            x,
            rel_step(x),
        );
        let dnu = student_t_log_pdf_nu(1.0, x, nu, mu, s);
        assert_fd(
            &format!("{at} ∂ν"),
            dnu,
            &|t| f(x, t, mu, s),
            nu,
            rel_step(nu),
        );
        let dmu = student_t_log_pdf_mu(1.0, x, nu, mu, s);
        assert_fd(
            &format!("{at} ∂μ"),
            dmu,
            &|t| f(x, nu, t, s),
            mu,
            rel_step(mu),
        );
        let ds = student_t_log_pdf_sigma(1.0, x, nu, mu, s);
        assert_fd(
            &format!("{at} ∂σ"),
            ds,
            &|t| f(x, nu, mu, t),
            s,
            rel_step(s),
        );
        assert_eq!(student_t_log_pdf_x(2.0, x, nu, mu, s), 2.0 * dx);
    }
    // ∂ν at large ν, where the finite difference is noise: against the
    // expansion ½ (1/(2ν²) − z⁴/(2ν²) + z²/ν²) + O(ν⁻³) (z = 0.55 below)
    let nu = 1e9;
    let z: f64 = 0.55;
    let want = 0.5 * (1.0 + 2.0 * z * z - z.powi(4)) / (2.0 * nu * nu);
    let got = student_t_log_pdf_nu(1.0, 0.7, nu, -0.4, 2.0);
    assert_rel("∂ν at ν = 1e9", got, want, 1e-8);

    #[differentiable(x; forward)]
    fn scaled(x: f64, nu: f64) -> f64 {
        x * sgrad::student_t_log_pdf(1.0, nu, 0.0, 1.0)
    }
    let c = sgrad::student_t_log_pdf(1.0, 3.0, 0.0, 1.0);
    assert_eq!(scaled_grad(2.0, 3.0), (scaled(2.0, 3.0), c));
    assert_eq!(scaled_jvp(2.0, 3.0, 1.0), (scaled(2.0, 3.0), c));
    assert_eq!(scaled(2.0, 3.0), 2.0 * c);
}

/// The rules compose with the rest of the language: a small ELBO-like sum.
#[test]
fn composition() {
    #[differentiable(m, log_s; forward)]
    fn elbo_term(m: f64, log_s: f64, eps: f64, y: f64) -> f64 {
        let s = log_s.exp();
        let theta = m + s * eps;
        let lik = sgrad::normal_log_pdf(y, theta, 1.0) + sgrad::log_sigmoid(theta);
        let prior = sgrad::normal_log_pdf(theta, 0.0, 2.0);
        lik + prior - sgrad::normal_log_pdf(theta, m, s)
    }
    let plain = |m: f64, ls: f64| elbo_term(m, ls, 0.3, 1.1);
    let (v, (dm, dls)) = elbo_term_grad(0.4, -0.2, 0.3, 1.1);
    assert_fd("elbo ∂m", dm, &|t| plain(t, -0.2), 0.4, 1e-6);
    assert_fd("elbo ∂log_s", dls, &|t| plain(0.4, t), -0.2, 1e-6);
    let j = |d: &[f64]| elbo_term_jvp(0.4, -0.2, 0.3, 1.1, d[0], d[1]);
    let groups = per_variable(&[1, 1]);
    assert_jvp("elbo_term", v, &[dm, dls], &groups, &j, &mut Rng::new(6));
}

// ---------------------------------------------------------------------------
// (c) f32

macro_rules! f32_rule {
    ($test:ident, $name:ident, [$($x:expr),* $(,)?]) => {
        #[test]
        fn $test() {
            #[differentiable(; forward)]
            fn single(x: f32) -> f32 {
                sgrad::$name(x)
            }
            #[differentiable(; forward)]
            fn double(x: f64) -> f64 {
                sgrad::$name(x)
            }
            for x in [$($x),*] {
                let x: f32 = x;
                let (v32, d32) = single_grad(black_box(x));
                let (v64, d64) = double_grad(f64::from(x));
                assert_eq!(v32, single(x));
                assert_eq!(v64, double(f64::from(x)));
                // one rounding of the f64 value
                assert_eq!(v32, v64 as f32, "{} at {x}", stringify!($name));
                assert_rel(stringify!($name), f64::from(d32), d64, 1.2e-7);
                let (vj, t) = single_jvp(black_box(x), 0.5);
                assert_eq!(vj.to_bits(), v32.to_bits());
                let dot = [f64::from(d32)];
                assert_dot_identity_rel(stringify!($name), &dot, f64::from(t), &[0.5], JVP_REL_F32);
                let (vj, t) = double_jvp(f64::from(x), 0.5);
                assert_eq!(vj.to_bits(), v64.to_bits());
                assert_dot_identity_rel(stringify!($name), &[d64], t, &[0.5], JVP_REL);
            }
        }
    };
}

f32_rule!(f32_sigmoid, sigmoid, [-80.0, -3.0, 0.0, 2.5, 20.0]);
f32_rule!(f32_softplus, softplus, [-80.0, -3.0, 0.0, 2.5, 80.0]);
f32_rule!(f32_log1p_exp, log1p_exp, [-80.0, 0.0, 80.0]);
f32_rule!(f32_log_sigmoid, log_sigmoid, [-80.0, -3.0, 0.0, 2.5, 80.0]);
f32_rule!(f32_ln_gamma, ln_gamma, [1e-3, 0.5, 1.0, 2.5, 30.0]);
f32_rule!(f32_digamma, digamma, [1e-3, 0.5, 1.5, 2.5, 30.0]);
f32_rule!(f32_trigamma, trigamma, [1e-3, 0.5, 1.5, 2.5, 30.0]);
f32_rule!(f32_erf, erf, [-2.0, -0.1, 0.0, 0.7, 3.0]);
f32_rule!(f32_erfc, erfc, [-2.0, 0.0, 0.7, 3.0, 9.0]);
f32_rule!(f32_normal_cdf, normal_cdf, [-12.0, -2.0, 0.0, 1.5, 5.0]);
f32_rule!(
    f32_normal_log_cdf,
    normal_log_cdf,
    [-100.0, -2.0, 0.0, 1.5, 5.0]
);

#[test]
fn f32_densities() {
    #[differentiable(; forward)]
    fn single(x: f32, mu: f32, sigma: f32) -> f32 {
        sgrad::normal_log_pdf(x, mu, sigma)
            + sgrad::lognormal_log_pdf(sigma, mu, 1.5)
            + sgrad::gamma_log_pdf(sigma, 2.0, 1.5)
            + sgrad::beta_log_pdf(0.25, sigma, 1.5)
            + sgrad::exponential_log_pdf(x, sigma)
    }
    #[differentiable(; forward)]
    fn double(x: f64, mu: f64, sigma: f64) -> f64 {
        sgrad::normal_log_pdf(x, mu, sigma)
            + sgrad::lognormal_log_pdf(sigma, mu, 1.5)
            + sgrad::gamma_log_pdf(sigma, 2.0, 1.5)
            + sgrad::beta_log_pdf(0.25, sigma, 1.5)
            + sgrad::exponential_log_pdf(x, sigma)
    }
    let (v32, (a, b, c)) = single_grad(0.75, -0.5, 1.25);
    let (v64, (a64, b64, c64)) = double_grad(0.75, -0.5, 1.25);
    assert_eq!(v32, single(0.75, -0.5, 1.25));
    assert_eq!(v64, double(0.75, -0.5, 1.25));
    assert_rel("f32 value", f64::from(v32), v64, 1e-6);
    assert_rel("f32 ∂x", f64::from(a), a64, 1e-6);
    assert_rel("f32 ∂mu", f64::from(b), b64, 1e-6);
    assert_rel("f32 ∂sigma", f64::from(c), c64, 1e-6);
    let dir = [0.5, -1.0, 0.25];
    let (vj, t) = single_jvp(0.75, -0.5, 1.25, 0.5, -1.0, 0.25);
    assert_eq!(vj.to_bits(), v32.to_bits());
    let g32 = [a, b, c].map(f64::from);
    assert_dot_identity_rel("f32 densities", &g32, f64::from(t), &dir, JVP_REL_F32);
    let j = |d: &[f64]| double_jvp(0.75, -0.5, 1.25, d[0], d[1], d[2]);
    let groups = per_variable(&[1; 3]);
    assert_jvp(
        "f64 densities",
        v64,
        &[a64, b64, c64],
        &groups,
        &j,
        &mut Rng::new(7),
    );
    let t = sgrad::student_t_log_pdf(0.5f32, 3.0, 0.0, 1.0);
    assert_rel(
        "f32 student_t",
        f64::from(t),
        sgrad::student_t_log_pdf(0.5, 3.0, 0.0, 1.0),
        1e-7,
    );
}
