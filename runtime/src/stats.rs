//! Special functions and log-densities for statistics and variational
//! inference: [`sigmoid`], [`softplus`], [`ln_gamma`], [`digamma`], [`erf`],
//! [`normal_cdf`], [`normal_log_pdf`], ...
//!
//! The functions of one argument and [`normal_log_pdf`] take any [`Real`]
//! (on dual numbers they apply the chain rule, so `sgrad::hessian` reaches
//! them; the second derivative of [`trigamma`] is NaN: there is no
//! pentagamma function); the other densities take `f32` and `f64`. Every
//! function is differentiable inside
//! `#[differentiable]` code when called by its path, `sgrad::sigmoid(x)`
//! (the derivative rules are listed in [`rules`](crate::rules#statistics-functions);
//! [`student_t_log_pdf`] is the exception, see there). The
//! arithmetic is done in `f64` and rounded once to the caller's type, so the
//! `f32` versions are correctly rounded or within one unit in the last place.
//!
//! The accuracies stated are the largest relative errors of the `f64`
//! versions found at 4·10⁴ to 7·10⁴ random points per function (uniform and
//! log-uniform over the ranges given, plus dense sampling near zeros and
//! branch points) against values computed with 50 significant digits
//! (mpmath); `tests/stats.rs` checks reference values and identities. For
//! scale, `ε = 2⁻⁵² ≈ 2.2e-16` and one unit in the last place is 1.1e-16 to
//! 2.2e-16 relative. Results in the subnormal range (below 2.2e-308) lose
//! relative precision gradually, as any floating-point result does.
//!
//! Conventions for the densities: a parameter outside its domain (`sigma ≤ 0`,
//! `rate ≤ 0`, ...) gives NaN; a point outside the support has log-density
//! `-∞`; NaN arguments give NaN.

use crate::{Primitive, Real};

/// The logistic function `σ(x) = 1 / (1 + e⁻ˣ)`.
///
/// Defined for every `x`; never overflows: `σ(x) = eˣ / (1 + eˣ)` is used for
/// `x < 0`, so `σ(-745) ≈ 5e-324` is still the tiny positive value (not 0)
/// and `σ(40) = 1` (correctly rounded). Max relative error 3e-16 on
/// [-708, 40].
///
/// ```
/// assert_eq!(sgrad::sigmoid(0.0), 0.5);
/// assert!((sgrad::sigmoid(-40.0) / 4.248354255291589e-18 - 1.0f64).abs() < 1e-15);
/// assert_eq!(sgrad::sigmoid(1000.0), 1.0);
/// ```
pub fn sigmoid<T: Real>(x: T) -> T {
    x.__special(Special::Sigmoid)
}

/// `softplus(x) = ln(1 + eˣ)`, without overflow or cancellation.
///
/// Computed as `x + ln(1 + e⁻ˣ)` for `x > 0` and `ln(1 + eˣ)` (with
/// `ln_1p`) otherwise: `softplus(1000) = 1000` (not ∞), `softplus(-40) =
/// 4.248354255291589e-18` (not 0). `softplus(x) → 0` as `x → -∞` and `→ x` as
/// `x → ∞`. Max relative error 2.5e-16 on [-708, 800]. The same function as
/// [`log1p_exp`].
///
/// ```
/// assert_eq!(sgrad::softplus(1000.0), 1000.0);
/// assert!((sgrad::softplus(0.0) - std::f64::consts::LN_2).abs() < 1e-16);
/// ```
pub fn softplus<T: Real>(x: T) -> T {
    x.__special(Special::Softplus)
}

/// `ln(1 + eˣ)`: another name for [`softplus`] (the name used by
/// numerically minded code, as `log1p(exp(x))` written stably). Same values,
/// same derivative ([`sigmoid`]).
pub fn log1p_exp<T: Real>(x: T) -> T {
    x.__special(Special::Softplus)
}

/// `ln σ(x) = -softplus(-x)`: the log of the [`sigmoid`], accurate where
/// `σ(x)` underflows (`log_sigmoid(-1000) = -1000`) and where it rounds to 1
/// (`log_sigmoid(40) = -4.248354255291589e-18`). Max relative error 2.5e-16.
///
/// ```
/// assert_eq!(sgrad::log_sigmoid(-1000.0), -1000.0); // ln σ(x) → x as x → -∞
/// let tiny = sgrad::log_sigmoid(40.0_f64);
/// assert!((tiny / -4.248354255291589e-18 - 1.0).abs() < 1e-15); // not 0
/// ```
pub fn log_sigmoid<T: Real>(x: T) -> T {
    x.__special(Special::LogSigmoid)
}

/// `ln Γ(x)` for `x > 0`.
///
/// Computed from the Taylor series of `ln Γ(2 + z)` (coefficients ζ(k) − 1)
/// on [0.5, 2.5), with the recurrence `Γ(x + 1) = x Γ(x)` below 0.5 and
/// above 2.5, and Stirling's series from 10 on. The zeros at 1 and 2 are
/// resolved: `ln_gamma(1.0 + 1e-10)` (x − 1 = 1.00000008e-10) is
/// `-5.772157125783244e-11` to full relative precision. Max relative error
/// 6e-16 on [10⁻³⁰⁰, 10⁶], near the zeros too. `ln_gamma(0) = +∞`,
/// `ln_gamma(+∞) = +∞`, overflows to `+∞` past x ≈ 2.5e305; NaN for `x < 0`.
///
/// ```
/// let ln_sqrt_pi = 0.5 * std::f64::consts::PI.ln();
/// assert!((sgrad::ln_gamma(0.5) - ln_sqrt_pi).abs() < 1e-16); // Γ(1/2) = √π
/// assert_eq!(sgrad::ln_gamma(1.0), 0.0);
/// assert!((sgrad::ln_gamma(5.0) - 24f64.ln()).abs() < 1e-15);
/// ```
pub fn ln_gamma<T: Real>(x: T) -> T {
    x.__special(Special::LnGamma)
}

/// The digamma function `ψ(x) = d/dx ln Γ(x)` for `x > 0`.
///
/// Computed from the Taylor series of `ψ(2 + z)` on [1, 2.5) written as
/// `(x − x₀) · P(x)` around the zero `x₀ = 1.4616321449683623…`, so that
/// values next to the zero keep full relative precision; the recurrence
/// `ψ(x + 1) = ψ(x) + 1/x` elsewhere below 10, and the asymptotic series from
/// 10 on. Max relative error 4e-16 on [10⁻³⁰⁰, 10⁶], next to the zero too
/// (`digamma(1.4616321449683622) = -9.241265521729427e-17`, the value at the
/// double nearest x₀, is exact to the last digit).
/// `ψ(1) = -γ`; `digamma(0) = -∞`, `digamma(+∞) = +∞`; NaN for `x < 0`.
///
/// ```
/// let euler_gamma = 0.5772156649015329_f64;
/// assert!((sgrad::digamma(1.0) + euler_gamma).abs() < 1e-16);
/// ```
pub fn digamma<T: Real>(x: T) -> T {
    x.__special(Special::Digamma)
}

/// The trigamma function `ψ′(x) = Σₖ 1/(x + k)²` for `x > 0`: the derivative
/// of [`digamma`].
///
/// The recurrence `ψ′(x) = ψ′(x + 1) + 1/x²` up to 12 (a sum of positive
/// terms), then the asymptotic series. Max relative error 4e-16 on
/// [10⁻¹⁵⁴, 10⁶] (below, `1/x²` overflows to `+∞`).
/// `ψ′(1) = π²/6`; `trigamma(0) = +∞`, `trigamma(+∞) = 0`; NaN for `x < 0`.
///
/// ```
/// use std::f64::consts::PI;
///
/// assert!((sgrad::trigamma(1.0) - PI * PI / 6.0).abs() < 2e-15);
/// assert_eq!(sgrad::trigamma(0.0), f64::INFINITY);
/// ```
pub fn trigamma<T: Real>(x: T) -> T {
    x.__special(Special::Trigamma)
}

/// The error function `erf(x) = 2/√π ∫₀ˣ e^(-t²) dt`.
///
/// Its Taylor series for |x| < 0.5, `1 − erfc(x)` beyond. Odd; `±1` from
/// |x| ≈ 5.9 on. Max relative error 6e-16 on [-6, 6] (tiny arguments
/// included: `erf(1e-300) = 2/√π · 1e-300`).
///
/// ```
/// assert!((sgrad::erf(1.0_f64) - 0.8427007929497149).abs() < 2e-16);
/// assert_eq!(sgrad::erf(-1.0), -sgrad::erf(1.0));
/// ```
pub fn erf<T: Real>(x: T) -> T {
    x.__special(Special::Erf)
}

/// The complementary error function `erfc(x) = 1 − erf(x)`, accurate in the
/// right tail.
///
/// `1 − erf(x)` for |x| < 0.5; for x ≥ 0.5 the scaled `eˣ² erfc(x)` from an
/// exponentially convergent trapezoidal sum (Chiarella and Reichel's) times
/// `e^(-x²)`, with `x²` split so the exponential keeps full precision;
/// `2 − erfc(−x)` for x ≤ −0.5. Max relative error 6e-16 on [-6, 26.5]
/// (`erfc(26) = 5.663192408856143e-296`), then gradual underflow to 0 at
/// x ≈ 27.2.
pub fn erfc<T: Real>(x: T) -> T {
    x.__special(Special::Erfc)
}

/// The standard normal distribution function `Φ(x) = ½ erfc(−x/√2)`.
///
/// The left tail is computed as `½ · e^(t²) erfc(t) · e^(−x²/2)` with
/// `t = −x/√2`, so rounding `t` costs nothing (`½ erfc(−x/√2)` evaluated
/// literally would lose 2t² ε, 1e-13 at x = −37): max relative error 6e-16
/// on [-37.5, 8] (`Φ(−37) = 5.725571222524577e-300`), gradual underflow
/// below.
/// `1 − Φ(x)` is better computed as `normal_cdf(-x)`.
///
/// ```
/// assert_eq!(sgrad::normal_cdf(0.0), 0.5);
/// assert!((sgrad::normal_cdf(1.0) + sgrad::normal_cdf(-1.0) - 1.0f64).abs() < 2e-16);
/// ```
pub fn normal_cdf<T: Real>(x: T) -> T {
    x.__special(Special::NormalCdf)
}

/// `ln Φ(x)`, the log of [`normal_cdf`], for every `x`: no underflow in the
/// left tail (`normal_log_cdf(-1e5) ≈ -5e9`, computed from the scaled
/// `erfc`) and full relative precision in the right tail, where it is
/// `ln(1 − Φ(−x)) ≈ −Φ(−x)` (`normal_log_cdf(10) = -7.61985302416e-24`).
/// Max relative error 7e-16 on [-10⁵, 37].
pub fn normal_log_cdf<T: Real>(x: T) -> T {
    x.__special(Special::NormalLogCdf)
}

/// The log-density of the normal distribution with mean `mu` and standard
/// deviation `sigma > 0` at `x`:
/// `−½ ((x − μ)/σ)² − ln σ − ½ ln 2π`. NaN for `sigma ≤ 0`. The error is
/// at most 6e-16 times the largest of the three terms (measured); where
/// they cancel, relative to the result it can be larger.
///
/// Inside `#[differentiable]` code it is differentiable in all three
/// arguments:
///
/// ```
/// use sgrad::differentiable;
///
/// #[differentiable(mu, sigma)]
/// fn log_lik(mu: f64, sigma: f64, x: f64) -> f64 {
///     sgrad::normal_log_pdf(x, mu, sigma)
/// }
///
/// let (v, (d_mu, d_sigma)) = log_lik_grad(1.0, 2.0, 3.0);
/// // z = (x − μ)/σ = 1: ∂/∂μ = z/σ, ∂/∂σ = (z² − 1)/σ
/// let ln_sqrt_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
/// assert!((v - (-0.5 - 2f64.ln() - ln_sqrt_2pi)).abs() < 1e-15);
/// assert!((d_mu - 0.5).abs() < 1e-15 && d_sigma.abs() < 1e-15);
/// assert!(sgrad::normal_log_pdf(0.0_f64, 0.0, -1.0).is_nan()); // sigma ≤ 0
/// ```
pub fn normal_log_pdf<T: Real>(x: T, mu: T, sigma: T) -> T {
    if is_machine_number::<T>() {
        return T::from_f64(kernel::normal_log_pdf(
            x.to_f64(),
            mu.to_f64(),
            sigma.to_f64(),
        ));
    }
    // Dual numbers: the formula, differentiated by their arithmetic.
    if sigma <= T::zero() || sigma.is_nan() {
        return T::from_f64(f64::NAN);
    }
    let z = (x - mu) / sigma;
    -(z * z) * T::from_f64(0.5) - sigma.ln() - T::from_f64(0.918_938_533_204_672_8)
}

/// The log-density at `x` of the log-normal distribution, whose logarithm is
/// normal with mean `mu` and standard deviation `sigma > 0`:
/// `−ln x − ln σ − ½ ln 2π − ½ ((ln x − μ)/σ)²` for `x > 0`, `−∞` for
/// `x ≤ 0`, NaN for `sigma ≤ 0`. The error is at most 2e-15 times the
/// largest of the terms (measured), more when `ln x − μ` cancels (the
/// rounding of `ln x` is then magnified by `|ln x| / |ln x − μ|`).
pub fn lognormal_log_pdf<T: Primitive>(x: T, mu: T, sigma: T) -> T {
    T::from_f64(kernel::lognormal_log_pdf(
        x.to_f64(),
        mu.to_f64(),
        sigma.to_f64(),
    ))
}

/// The log-density at `x` of the gamma distribution with `shape > 0` and
/// `rate > 0` (mean `shape / rate`):
/// `shape · ln rate + (shape − 1) ln x − rate · x − ln Γ(shape)`.
///
/// `−∞` for `x < 0`; at `x = 0` the limit (`+∞` for `shape < 1`, `ln rate`
/// for `shape = 1`, `−∞` for `shape > 1`); NaN for `shape ≤ 0` or `rate ≤ 0`.
/// The error is at most 7e-16 times the largest of the four terms (measured
/// for shape in [0.01, 10⁴]).
pub fn gamma_log_pdf<T: Primitive>(x: T, shape: T, rate: T) -> T {
    T::from_f64(kernel::gamma_log_pdf(
        x.to_f64(),
        shape.to_f64(),
        rate.to_f64(),
    ))
}

/// The log-density at `x` of the beta distribution with `a > 0`, `b > 0`:
/// `(a − 1) ln x + (b − 1) ln(1 − x) − ln B(a, b)`, with
/// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)` and `ln(1 − x)` computed
/// as `ln_1p(−x)`.
///
/// `−∞` outside [0, 1]; at 0 and 1 the limits (as for [`gamma_log_pdf`]);
/// NaN for `a ≤ 0` or `b ≤ 0`. The error is at most 6e-16 times the largest
/// of the terms, `ln Γ(a + b)` included (measured for a, b in [0.01, 10⁴]):
/// for large `a` and `b`, `ln B` loses about `log₁₀(ln Γ(a + b) / |ln B|)`
/// digits to cancellation.
pub fn beta_log_pdf<T: Primitive>(x: T, a: T, b: T) -> T {
    T::from_f64(kernel::beta_log_pdf(x.to_f64(), a.to_f64(), b.to_f64()))
}

/// The log-density at `x` of Student's t distribution with `nu > 0` degrees
/// of freedom, location `mu` and scale `sigma > 0`:
/// `ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ − (ν+1)/2 · ln(1 + z²/ν)`,
/// `z = (x − μ)/σ`.
///
/// The constant `ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln ν` is computed as a
/// correction to Stirling's formula that tends to 0 (a sum of terms of one
/// sign), so there is no cancellation at large `ν`: at `nu = 1e12` the
/// result differs from [`normal_log_pdf`] only by the true O(1/ν), and
/// `nu = ∞` gives the normal exactly. NaN for `nu ≤ 0` or `sigma ≤ 0`. The
/// error is at most 9e-16 times the largest of `1`, `|ln σ|` and `z²`
/// (measured for ν in [0.05, 10⁸]).
///
/// With four arguments it has no derivative rule yet (the rule table's
/// templates have three argument slots): inside `#[differentiable]` code,
/// only constant arguments may be passed. The four partial derivatives are
/// implemented and tested in the runtime.
pub fn student_t_log_pdf<T: Primitive>(x: T, nu: T, mu: T, sigma: T) -> T {
    T::from_f64(kernel::student_t_log_pdf(
        x.to_f64(),
        nu.to_f64(),
        mu.to_f64(),
        sigma.to_f64(),
    ))
}

/// The log-density at `x` of the exponential distribution with `rate > 0`:
/// `ln rate − rate · x` for `x ≥ 0`, `−∞` for `x < 0`, NaN for `rate ≤ 0`.
///
/// ```
/// assert!((sgrad::exponential_log_pdf(0.5, 2.0) - (2f64.ln() - 1.0)).abs() < 1e-16);
/// assert_eq!(sgrad::exponential_log_pdf(-1.0, 2.0), f64::NEG_INFINITY);
/// assert!(sgrad::exponential_log_pdf(1.0_f64, 0.0).is_nan());
/// ```
pub fn exponential_log_pdf<T: Primitive>(x: T, rate: T) -> T {
    T::from_f64(kernel::exponential_log_pdf(x.to_f64(), rate.to_f64()))
}

/// The special functions of one argument, for [`Real::__special`]: on
/// `f32` and `f64` the `f64` kernel rounded once; on dual numbers the value
/// at the value and the chain rule with [`Special::derivative`], itself
/// written with these functions, so that every order works (up to the
/// fourth derivative of `ln Γ`; the derivative of the tetragamma function
/// is NaN).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Sigmoid,
    Softplus,
    LogSigmoid,
    LnGamma,
    Digamma,
    Trigamma,
    Tetragamma,
    Erf,
    Erfc,
    NormalCdf,
    NormalLogCdf,
}

impl Special {
    /// The value in `f64`.
    pub fn value(self, x: f64) -> f64 {
        match self {
            Special::Sigmoid => kernel::sigmoid(x),
            Special::Softplus => kernel::softplus(x),
            Special::LogSigmoid => -kernel::softplus(-x),
            Special::LnGamma => kernel::ln_gamma(x),
            Special::Digamma => kernel::digamma(x),
            Special::Trigamma => kernel::trigamma(x),
            Special::Tetragamma => kernel::tetragamma(x),
            Special::Erf => kernel::erf(x),
            Special::Erfc => kernel::erfc(x),
            Special::NormalCdf => kernel::normal_cdf(x),
            Special::NormalLogCdf => kernel::normal_log_cdf(x),
        }
    }

    /// The derivative in `f64`, as accurate as the value (the partials of
    /// the backward sweep on `f32` and `f64`).
    pub fn derivative_f64(self, x: f64) -> f64 {
        match self {
            Special::Sigmoid => kernel::sigmoid_prime(x),
            Special::Softplus => kernel::sigmoid(x),
            Special::LogSigmoid => kernel::sigmoid(-x),
            Special::LnGamma => kernel::digamma(x),
            Special::Digamma => kernel::trigamma(x),
            Special::Trigamma => kernel::tetragamma(x),
            Special::Tetragamma => f64::NAN,
            Special::Erf => core::f64::consts::FRAC_2_SQRT_PI * kernel::exp_neg_sq(x),
            Special::Erfc => -core::f64::consts::FRAC_2_SQRT_PI * kernel::exp_neg_sq(x),
            Special::NormalCdf => kernel::normal_pdf(x),
            Special::NormalLogCdf => kernel::normal_log_cdf_prime(x),
        }
    }

    /// The derivative at any [`Real`], in terms of these functions.
    pub fn derivative<T: Real>(self, x: T) -> T {
        if is_machine_number::<T>() {
            return T::from_f64(self.derivative_f64(x.to_f64()));
        }
        let c = T::from_f64;
        match self {
            Special::Sigmoid => sigmoid(x) * sigmoid(-x),
            Special::Softplus => sigmoid(x),
            Special::LogSigmoid => sigmoid(-x),
            Special::LnGamma => digamma(x),
            Special::Digamma => trigamma(x),
            Special::Trigamma => x.__special(Special::Tetragamma),
            Special::Tetragamma => c(f64::NAN),
            Special::Erf => c(core::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp(),
            Special::Erfc => -c(core::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp(),
            Special::NormalCdf => (-(x * x) * c(0.5)).exp() * c(FRAC_1_SQRT_2PI),
            Special::NormalLogCdf => {
                (-(x * x) * c(0.5) - normal_log_cdf(x)).exp() * c(FRAC_1_SQRT_2PI)
            }
        }
    }
}

/// 1/√(2π).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Whether `T` is `f32` or `f64` (resolved at compile time): those take the
/// `f64` kernels; dual numbers take formulas in [`Real`] arithmetic.
pub(crate) fn is_machine_number<T: Real>() -> bool {
    use core::any::TypeId;
    let t = TypeId::of::<T>();
    t == TypeId::of::<f64>() || t == TypeId::of::<f32>()
}

/// The `f64` implementations, shared with the derivative formulas in
/// `__private::stats_partials`.
pub(crate) mod kernel {
    use core::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, PI};

    /// Euler's constant γ = −ψ(1).
    const EULER: f64 = 0.577_215_664_901_532_9;
    /// ½ ln 2π.
    const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
    /// 1/√π.
    const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;
    /// 1/√(2π).
    const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    /// √(2/π).
    const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
    /// The positive zero of ψ, x₀ = 1.46163214496836234126…, as a sum of two
    /// doubles.
    const DIGAMMA_ZERO_HI: f64 = 1.461_632_144_968_362_2;
    const DIGAMMA_ZERO_LO: f64 = 9.549_995_429_965_697e-17;

    /// `ZETA_M1[k − 2] = ζ(k) − 1` for k = 2, ..., 58 (ζ(k) − 1 ≈ 2⁻ᵏ).
    const ZETA_M1: [f64; 57] = [
        0.644_934_066_848_226_4,
        0.202_056_903_159_594_3,
        0.082_323_233_711_138_19,
        0.036_927_755_143_369_93,
        0.017_343_061_984_449_14,
        0.008_349_277_381_922_827,
        0.004_077_356_197_944_34,
        0.002_008_392_826_082_214_3,
        0.000_994_575_127_818_085_3,
        0.000_494_188_604_119_464_5,
        0.000_246_086_553_308_048_3,
        0.000_122_713_347_578_489_15,
        6.124_813_505_870_483e-5,
        3.058_823_630_702_049e-5,
        1.528_225_940_865_187e-5,
        7.637_197_637_899_763e-6,
        3.817_293_264_999_84e-6,
        1.908_212_716_553_939e-6,
        9.539_620_338_727_962e-7,
        4.769_329_867_878_064e-7,
        2.384_505_027_277_33e-7,
        1.192_199_259_653_110_6e-7,
        5.960_818_905_125_948e-8,
        2.980_350_351_465_228e-8,
        1.490_155_482_836_504_3e-8,
        7.450_711_789_835_43e-9,
        3.725_334_024_788_457e-9,
        1.862_659_723_513_049e-9,
        9.313_274_324_196_682e-10,
        4.656_629_065_033_784e-10,
        2.328_311_833_676_505_3e-10,
        1.164_155_017_270_052e-10,
        5.820_772_087_902_701e-11,
        2.910_385_044_497_1e-11,
        1.455_192_189_104_198_5e-11,
        7.275_959_835_057_482e-12,
        3.637_979_547_378_651e-12,
        1.818_989_650_307_066e-12,
        9.094_947_840_263_888e-13,
        4.547_473_783_042_154e-13,
        2.273_736_845_824_652_4e-13,
        1.136_868_407_680_228e-13,
        5.684_341_987_627_585e-14,
        2.842_170_976_889_302e-14,
        1.421_085_482_803_160_8e-14,
        7.105_427_395_210_853e-15,
        3.552_713_691_337_114e-15,
        1.776_356_843_579_120_4e-15,
        8.881_784_210_930_816e-16,
        4.440_892_103_143_813e-16,
        2.220_446_050_798_042e-16,
        1.110_223_025_141_066_1e-16,
        5.551_115_124_845_481e-17,
        2.775_557_562_136_124e-17,
        1.387_778_780_972_523_2e-17,
        6.938_893_904_544_153e-18,
        3.469_446_952_165_922_5e-18,
    ];

    /// `e^(−n²/4)` for n = 1, ..., 13: the nodes of the trapezoidal sum for
    /// `erfcx` (step ½).
    const EXP_NEG_QUARTER_SQ: [f64; 13] = [
        0.778_800_783_071_404_9,
        0.367_879_441_171_442_33,
        0.105_399_224_561_864_33,
        0.018_315_638_888_734_18,
        0.001_930_454_136_227_709_3,
        0.000_123_409_804_086_679_56,
        4.785_117_392_129_009e-6,
        1.125_351_747_192_591_2e-7,
        1.605_228_055_185_611_6e-9,
        1.388_794_386_496_402_1e-11,
        7.287_724_095_819_692e-14,
        2.319_522_830_243_569_6e-16,
        4.477_732_441_718_301_5e-19,
    ];

    /// Evaluates `Σ c[i] tⁱ` by Horner's rule.
    fn poly(c: &[f64], t: f64) -> f64 {
        c.iter().rev().fold(0.0, |acc, &ci| acc * t + ci)
    }

    // -----------------------------------------------------------------------
    // Logistic

    #[inline]
    pub fn sigmoid(x: f64) -> f64 {
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            let e = x.exp();
            e / (1.0 + e)
        }
    }

    /// `σ′(x) = σ(x) σ(−x) = e^(−|x|) / (1 + e^(−|x|))²`, accurate in both tails.
    #[inline]
    pub fn sigmoid_prime(x: f64) -> f64 {
        let e = (-x.abs()).exp();
        let d = 1.0 + e;
        e / (d * d)
    }

    #[inline]
    pub fn softplus(x: f64) -> f64 {
        if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        }
    }

    // -----------------------------------------------------------------------
    // Gamma family

    /// `ln Γ(2 + z) = (1 − γ) z + Σₖ₌₂ (−1)ᵏ (ζ(k) − 1) zᵏ / k` for
    /// −¾ ≤ z ≤ ½, summed through k = `last` (≥ 29 at |z| ≤ ½, ≥ 45 beyond).
    fn ln_gamma_2p(z: f64, last: usize) -> f64 {
        // = z · ((1 − γ) − w Σⱼ (ζ(j+2) − 1)/(j+2) · wʲ), w = −z, by Horner's
        // rule; ζ(k) − 1 ≈ 2⁻ᵏ, so the terms fall like (|z|/2)ᵏ.
        let w = -z;
        let mut q = 0.0;
        for k in (2..=last).rev() {
            q = q * w + ZETA_M1[k - 2] / k as f64;
        }
        z * ((1.0 - EULER) - w * q)
    }

    pub fn ln_gamma(x: f64) -> f64 {
        if x.is_nan() || x < 0.0 {
            return f64::NAN;
        }
        if x == 0.0 || x == f64::INFINITY {
            return f64::INFINITY;
        }
        if x < 0.5 {
            // ln Γ(x) = ln Γ(1 + x) − ln x, ln Γ(1 + x) = ln Γ(2 + x) − ln(1 + x)
            return ln_gamma_2p(x, 29) - x.ln_1p() - x.ln();
        }
        if x < 1.25 {
            // the same around the zero at 1: every digit of x − 1 is kept
            let z = x - 1.0; // exact
            return ln_gamma_2p(z, 29) - z.ln_1p();
        }
        if x < 2.5 {
            return ln_gamma_2p(x - 2.0, 45);
        }
        if x < 10.0 {
            // Γ(x) = (x−1)(x−2)…(x−n) Γ(x−n), x − n ∈ [1.5, 2.5); every x − k is exact.
            let mut y = x;
            let mut p = 1.0;
            while y >= 2.5 {
                y -= 1.0;
                p *= y;
            }
            return p.ln() + ln_gamma_2p(y - 2.0, 29);
        }
        // Stirling: (x − ½) ln x − x + ½ ln 2π + Σ B₂ₖ / (2k(2k−1) x^(2k−1))
        const C: [f64; 8] = [
            1.0 / 12.0,
            -1.0 / 360.0,
            1.0 / 1260.0,
            -1.0 / 1680.0,
            1.0 / 1188.0,
            -691.0 / 360_360.0,
            1.0 / 156.0,
            -3617.0 / 122_400.0,
        ];
        let r = 1.0 / x;
        let series = r * poly(&C, r * r);
        (x - 0.5) * x.ln() - x + LN_SQRT_2PI + series
    }

    pub fn digamma(x: f64) -> f64 {
        if x.is_nan() || x < 0.0 {
            return f64::NAN;
        }
        if x == 0.0 {
            return f64::NEG_INFINITY;
        }
        if x == f64::INFINITY {
            return f64::INFINITY;
        }
        if x < 1.0 {
            // ψ(x) = ψ(x + 1) − 1/x; ψ(x + 1) ∈ [−γ, 0.43], −1/x ≤ −1: no cancellation.
            return digamma_near_zero(x + 1.0) - 1.0 / x;
        }
        if x < 2.5 {
            return digamma_near_zero(x);
        }
        if x < 10.0 {
            // ψ(x) = ψ(x − n) + Σ 1/(x − k): positive terms.
            let mut y = x;
            let mut s = 0.0;
            while y >= 2.5 {
                y -= 1.0;
                s += 1.0 / y;
            }
            return digamma_near_zero(y) + s;
        }
        // ln x − 1/(2x) − Σ B₂ₖ / (2k x^(2k))
        const C: [f64; 8] = [
            1.0 / 12.0,
            -1.0 / 120.0,
            1.0 / 252.0,
            -1.0 / 240.0,
            1.0 / 132.0,
            -691.0 / 32760.0,
            1.0 / 12.0,
            -3617.0 / 8160.0,
        ];
        let t = 1.0 / (x * x);
        x.ln() - 0.5 / x - t * poly(&C, t)
    }

    /// ψ(x) for x ∈ [1, 2.5] as `(x − x₀) · P`, where x₀ is the zero of ψ:
    /// with the Taylor series `ψ(2 + a) = (1 − γ) + Σₖ₌₂ eₖ aᵏ⁻¹`,
    /// `eₖ = (−1)ᵏ (ζ(k) − 1)`, and ψ(x₀) = 0 (b = x₀ − 2),
    /// `P = Σₖ eₖ (aᵏ⁻¹ − bᵏ⁻¹)/(a − b) = Σⱼ aʲ qⱼ`, `qⱼ = Σₖ₌ⱼ₊₂ eₖ bᵏ⁻²⁻ʲ`:
    /// two nested Horner recurrences, run from the last term down.
    fn digamma_near_zero(x: f64) -> f64 {
        let a = x - 2.0;
        let b = DIGAMMA_ZERO_HI - 2.0;
        // terms fall like (max(|a|, |b|)/2)ᵏ, |b| ≈ 0.54
        let last = if a.abs() <= 0.6 { 36 } else { 58 };
        let mut q = 0.0;
        let mut p = 0.0;
        for k in (2..=last).rev() {
            let e = if k % 2 == 0 {
                ZETA_M1[k - 2]
            } else {
                -ZETA_M1[k - 2]
            };
            q = e + b * q;
            p = q + a * p;
        }
        ((x - DIGAMMA_ZERO_HI) - DIGAMMA_ZERO_LO) * p
    }

    /// Bernoulli numbers B₂, B₄, ..., B₁₈.
    const BERNOULLI: [f64; 9] = [
        1.0 / 6.0,
        -1.0 / 30.0,
        1.0 / 42.0,
        -1.0 / 30.0,
        5.0 / 66.0,
        -691.0 / 2730.0,
        7.0 / 6.0,
        -3617.0 / 510.0,
        43867.0 / 798.0,
    ];

    /// Where the recurrences of [`trigamma`] and [`tetragamma`] hand over to
    /// the asymptotic series.
    const POLYGAMMA_ASYMPTOTIC: f64 = 12.0;

    /// How many steps of `x → x + 1` reach the asymptotic range.
    fn steps_to_asymptotic(x: f64) -> u32 {
        if x >= POLYGAMMA_ASYMPTOTIC {
            0
        } else {
            (POLYGAMMA_ASYMPTOTIC - x).ceil() as u32
        }
    }

    pub fn trigamma(x: f64) -> f64 {
        if x.is_nan() || x < 0.0 {
            return f64::NAN;
        }
        if x == 0.0 {
            return f64::INFINITY;
        }
        if x == f64::INFINITY {
            return 0.0;
        }
        let n = steps_to_asymptotic(x);
        let y = x + f64::from(n);
        // ψ′(y) = 1/y + 1/(2y²) + Σ B₂ₖ / y^(2k+1)
        let r = 1.0 / y;
        let t = r * r;
        let mut s = r + 0.5 * t + t * r * poly(&BERNOULLI, t);
        // ψ′(x) = Σₖ<ₙ 1/(x + k)² + ψ′(x + n), smallest terms first
        for k in (0..n).rev() {
            let y = x + f64::from(k);
            s += 1.0 / (y * y);
        }
        s
    }

    /// ψ″(x), the derivative of [`trigamma`], for x > 0.
    pub fn tetragamma(x: f64) -> f64 {
        if x.is_nan() || x < 0.0 {
            return f64::NAN;
        }
        if x == 0.0 {
            return f64::NEG_INFINITY;
        }
        if x == f64::INFINITY {
            return 0.0;
        }
        let n = steps_to_asymptotic(x);
        let y = x + f64::from(n);
        // ψ″(y) = −1/y² − 1/y³ − Σ (2k+1) B₂ₖ / y^(2k+2)
        let r = 1.0 / y;
        let t = r * r;
        // (2k + 1) B₂ₖ for k = 1, ..., 9
        const C: [f64; 9] = [
            0.5,
            -1.0 / 6.0,
            1.0 / 6.0,
            -0.3,
            5.0 / 6.0,
            -691.0 / 210.0,
            17.5,
            -3617.0 / 30.0,
            43867.0 / 42.0,
        ];
        let mut s = -(t + t * r + t * t * poly(&C, t));
        for k in (0..n).rev() {
            let y = x + f64::from(k);
            s -= 2.0 / (y * y * y);
        }
        s
    }

    /// `E(a) = ln Γ(a + ½) − ln Γ(a) − ½ ln a`, a > 0, without cancellation:
    /// `E(a) = E(a + 1) − ½ ln(1 + 1/(4a(a + 1)))` (terms of one sign) up to
    /// 16, then its asymptotic series `Σ cₙ a^(1−n)`,
    /// `cₙ = (2^(1−n) − 2) Bₙ / ((n − 1) n)`.
    pub fn ln_gamma_half_ratio(a: f64) -> f64 {
        const C: [f64; 8] = [
            -1.0 / 8.0,
            1.0 / 192.0,
            -1.0 / 640.0,
            17.0 / 14336.0,
            -31.0 / 18432.0,
            691.0 / 180_224.0,
            -5461.0 / 425_984.0,
            929_569.0 / 15_728_640.0,
        ];
        let mut s = 0.0;
        let mut k = 0.0;
        while a + k < 16.0 {
            let b = a + k;
            s -= 0.5 * (0.25 / (b * (b + 1.0))).ln_1p();
            k += 1.0;
        }
        let r = 1.0 / (a + k);
        s + r * poly(&C, r * r)
    }

    /// `D(a) = E′(a) = ψ(a + ½) − ψ(a) − 1/(2a)`, a > 0:
    /// `D(a) = D(a + 1) + 1/(4a(a + ½)(a + 1))` up to 16, then the asymptotic
    /// series `Σ (1 − n) cₙ a^(−n)`.
    pub fn digamma_half_ratio(a: f64) -> f64 {
        const C: [f64; 8] = [
            1.0 / 8.0,
            -1.0 / 64.0,
            1.0 / 128.0,
            -17.0 / 2048.0,
            31.0 / 2048.0,
            -691.0 / 16384.0,
            5461.0 / 32768.0,
            -929_569.0 / 1_048_576.0,
        ];
        let mut s = 0.0;
        let mut k = 0.0;
        while a + k < 16.0 {
            let b = a + k;
            s += 0.25 / (b * (b + 0.5) * (b + 1.0));
            k += 1.0;
        }
        let b = a + k;
        let t = 1.0 / (b * b);
        s + t * poly(&C, t)
    }

    // -----------------------------------------------------------------------
    // Error function

    /// erf(x) for |x| < ½: `2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))`.
    fn erf_series(x: f64) -> f64 {
        let x2 = x * x;
        let mut term = x; // (−1)ⁿ x^(2n+1) / n!
        let mut sum = x;
        for n in 1..20 {
            term *= -x2 / f64::from(n);
            let add = term / f64::from(2 * n + 1);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        FRAC_2_SQRT_PI * sum
    }

    /// `e^(−s x²)` for s ∈ {1, ½}, with x² split as `h² + (x − h)(x + h)`,
    /// h = x rounded down to a multiple of 2⁻¹²: `h²` is exact, so the large
    /// part of the exponent carries no rounding error.
    fn exp_neg_sq_scaled(x: f64, s: f64) -> f64 {
        let x = x.abs();
        if x >= 16384.0 {
            return (-s * x * x).exp();
        }
        let h = (x * 4096.0).trunc() / 4096.0;
        (-s * (h * h)).exp() * (-s * ((x - h) * (x + h))).exp()
    }

    /// `e^(−x²)`, accurate for large |x|.
    pub fn exp_neg_sq(x: f64) -> f64 {
        exp_neg_sq_scaled(x, 1.0)
    }

    /// `e^(−x²/2)`, accurate for large |x|.
    fn exp_neg_half_sq(x: f64) -> f64 {
        exp_neg_sq_scaled(x, 0.5)
    }

    /// The scaled complementary error function `eˣ² erfc(x)` for x ≥ ½, by
    /// the trapezoidal rule with step h = ½ applied to
    /// `erfc(x) = (2x/π) e^(−x²) ∫₀^∞ e^(−t²) / (t² + x²) dt`, with the
    /// correction for the poles at ±ix (Chiarella and Reichel, 1968):
    /// `(x/π) [1/(2x²) + Σₙ e^(−n²/4) / (n²/4 + x²)] − 2 e^(x²) / (e^(4πx) − 1)`
    /// for x < π/h, without the correction beyond. The error of the rule is
    /// about `e^(−π²/h²) ≈ 7e-18` relative.
    pub fn erfcx(x: f64) -> f64 {
        if x > 1e8 {
            // 1/(x√π) (1 − 1/(2x²) + ...), the correction below ε
            return FRAC_1_SQRT_PI / x;
        }
        let x2 = x * x;
        let mut s = 0.0;
        for n in (1..=13).rev() {
            let nh = 0.5 * f64::from(n);
            s += EXP_NEG_QUARTER_SQ[n as usize - 1] / (nh * nh + x2);
        }
        s += 0.5 / x2;
        let mut v = x / PI * s;
        if x < 2.0 * PI {
            v += 2.0 * (x * (x - 4.0 * PI)).exp() / (-4.0 * PI * x).exp_m1();
        }
        v
    }

    pub fn erfc(x: f64) -> f64 {
        if x.is_nan() {
            return x;
        }
        if x < -0.5 {
            2.0 - erfc(-x)
        } else if x < 0.5 {
            1.0 - erf_series(x)
        } else {
            erfcx(x) * exp_neg_sq(x)
        }
    }

    pub fn erf(x: f64) -> f64 {
        if x.is_nan() {
            return x;
        }
        if x.abs() < 0.5 {
            erf_series(x)
        } else if x > 0.0 {
            1.0 - erfc(x)
        } else {
            erfc(-x) - 1.0
        }
    }

    pub fn normal_cdf(x: f64) -> f64 {
        if x.is_nan() {
            return x;
        }
        let t = -x * FRAC_1_SQRT_2;
        if t >= 0.5 {
            0.5 * erfcx(t) * exp_neg_half_sq(x)
        } else {
            0.5 * erfc(t)
        }
    }

    /// φ(x) = e^(−x²/2) / √(2π), the standard normal density.
    pub fn normal_pdf(x: f64) -> f64 {
        FRAC_1_SQRT_2PI * exp_neg_half_sq(x)
    }

    pub fn normal_log_cdf(x: f64) -> f64 {
        if x.is_nan() {
            return x;
        }
        let t = -x * FRAC_1_SQRT_2;
        if t >= 0.5 {
            (0.5 * erfcx(t)).ln() - 0.5 * x * x
        } else if x < 0.0 {
            (0.5 * erfc(t)).ln()
        } else {
            (-normal_cdf(-x)).ln_1p()
        }
    }

    /// `d ln Φ(x) / dx = φ(x) / Φ(x)` (the inverse Mills ratio at −x), without
    /// underflow in the left tail: `√(2/π) / erfcx(−x/√2)` there.
    pub fn normal_log_cdf_prime(x: f64) -> f64 {
        let t = -x * FRAC_1_SQRT_2;
        if t >= 0.5 {
            SQRT_2_OVER_PI / erfcx(t)
        } else {
            normal_pdf(x) / normal_cdf(x)
        }
    }

    // -----------------------------------------------------------------------
    // Log-densities

    /// Whether `v > 0` (false for NaN): the domain of the scale parameters.
    pub fn positive(v: f64) -> bool {
        v > 0.0
    }

    /// `c · ln v`, 0 when `c = 0` (even at v = 0: the limits of the densities
    /// at the ends of their support).
    fn xlogy(c: f64, ln_v: f64) -> f64 {
        if c == 0.0 {
            0.0
        } else {
            c * ln_v
        }
    }

    pub fn normal_log_pdf(x: f64, mu: f64, sigma: f64) -> f64 {
        if !positive(sigma) {
            return f64::NAN;
        }
        let z = (x - mu) / sigma;
        -0.5 * z * z - sigma.ln() - LN_SQRT_2PI
    }

    pub fn lognormal_log_pdf(x: f64, mu: f64, sigma: f64) -> f64 {
        if !positive(sigma) || x.is_nan() {
            return f64::NAN;
        }
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let ln_x = x.ln();
        let z = (ln_x - mu) / sigma;
        -0.5 * z * z - ln_x - sigma.ln() - LN_SQRT_2PI
    }

    pub fn gamma_log_pdf(x: f64, shape: f64, rate: f64) -> f64 {
        if !(positive(shape) && positive(rate)) || x.is_nan() {
            return f64::NAN;
        }
        if x < 0.0 || x == f64::INFINITY {
            return f64::NEG_INFINITY;
        }
        shape * rate.ln() + xlogy(shape - 1.0, x.ln()) - rate * x - ln_gamma(shape)
    }

    /// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
    fn ln_beta(a: f64, b: f64) -> f64 {
        ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
    }

    pub fn beta_log_pdf(x: f64, a: f64, b: f64) -> f64 {
        if !(positive(a) && positive(b)) || x.is_nan() {
            return f64::NAN;
        }
        if !(0.0..=1.0).contains(&x) {
            return f64::NEG_INFINITY;
        }
        xlogy(a - 1.0, x.ln()) + xlogy(b - 1.0, (-x).ln_1p()) - ln_beta(a, b)
    }

    /// `ln(1 + w)` for w ≥ 0, also where `w` itself would overflow: `w` is
    /// passed as `w = r²`.
    fn ln_1p_sq(r: f64) -> f64 {
        let r = r.abs();
        if r > 1e150 {
            2.0 * r.ln()
        } else {
            (r * r).ln_1p()
        }
    }

    pub fn student_t_log_pdf(x: f64, nu: f64, mu: f64, sigma: f64) -> f64 {
        if !(positive(nu) && positive(sigma)) || x.is_nan() || mu.is_nan() {
            return f64::NAN;
        }
        if nu == f64::INFINITY {
            return normal_log_pdf(x, mu, sigma);
        }
        let z = (x - mu) / sigma;
        // ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) = E(ν/2) − ½ ln 2π
        ln_gamma_half_ratio(0.5 * nu)
            - LN_SQRT_2PI
            - sigma.ln()
            - 0.5 * (nu + 1.0) * ln_1p_sq(z / nu.sqrt())
    }

    pub fn exponential_log_pdf(x: f64, rate: f64) -> f64 {
        if !positive(rate) || x.is_nan() {
            return f64::NAN;
        }
        if x < 0.0 {
            return f64::NEG_INFINITY;
        }
        rate.ln() - rate * x
    }

    /// `h(w) = ln(1 + w) − w/(1 + w)` for w ≥ 0 (≈ w²/2 for small w), without
    /// cancellation: `Σₖ₌₂ uᵏ/k` with u = w/(1 + w) (all terms positive) for
    /// u < ½, the difference itself beyond.
    pub fn ln_1p_minus_ratio(w: f64) -> f64 {
        if w == f64::INFINITY {
            return w;
        }
        let u = w / (1.0 + w);
        if u < 0.5 {
            let mut p = u * u;
            let mut s = 0.0;
            let mut k = 2.0;
            while p > 1e-18 * s || k == 2.0 {
                s += p / k;
                p *= u;
                k += 1.0;
            }
            s
        } else {
            w.ln_1p() - u
        }
    }
}
