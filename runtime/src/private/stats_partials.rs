//! The derivative formulas of the statistics functions (`crate::stats`).
//!
//! Each function returns `g · ∂ans/∂input` for the function and argument it
//! is named after (`normal_log_pdf_sigma` is the share of `sigma` in
//! `normal_log_pdf(x, mu, sigma)`); the rule table (`FUNCTIONS` in
//! `sgrad-macros/src/rules.rs`) calls them. The partial is computed in `f64`
//! and multiplied by `g` before rounding to `T`.
//!
//! Conventions (listed in [`crate::rules`]): where a parameter is outside its
//! domain the partials are NaN, like the value; at a point outside the
//! support of a density (log-density `−∞`) every partial is 0; at the ends
//! of the support the interior formulas are used, with `0 · ln 0 = 0/0 = 0`
//! for an exponent `shape − 1 = 0`.

use crate::stats::kernel as k;
use crate::stats::{is_machine_number, Special};
use crate::{Primitive, Real};

macro_rules! partials {
    ($($(#[$doc:meta])* $name:ident($($arg:ident),*) => $partial:expr;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name<T: Primitive>(g: T, $($arg: T),*) -> T {
            $(let $arg = $arg.to_f64();)*
            T::from_f64(g.to_f64() * $partial)
        }
    )*};
}

/// `c / x`, 0 when `c = 0` (even at x = 0).
fn xdivy(c: f64, x: f64) -> f64 {
    if c == 0.0 {
        0.0
    } else {
        c / x
    }
}

/// Outside the domain of the parameters (or at a NaN): NaN; outside the
/// support: 0; inside: `f()`.
fn density_partial(valid: bool, in_support: bool, f: impl FnOnce() -> f64) -> f64 {
    if !valid {
        f64::NAN
    } else if !in_support {
        0.0
    } else {
        f()
    }
}

fn gamma_valid(x: f64, shape: f64, rate: f64) -> bool {
    shape > 0.0 && rate > 0.0 && !x.is_nan()
}

fn gamma_support(x: f64) -> bool {
    (0.0..f64::INFINITY).contains(&x)
}

fn beta_valid(x: f64, a: f64, b: f64) -> bool {
    a > 0.0 && b > 0.0 && !x.is_nan()
}

fn beta_support(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

fn lognormal_valid(x: f64, sigma: f64) -> bool {
    sigma > 0.0 && !x.is_nan()
}

fn student_t_valid(x: f64, nu: f64, mu: f64, sigma: f64) -> bool {
    nu > 0.0 && sigma > 0.0 && !x.is_nan() && !mu.is_nan()
}

/// `(ν + 1) z / (σ (ν + z²))`, the derivative of the Student t log-density
/// with respect to `mu` (minus that for `x`), written without `z²` so that it
/// does not overflow.
fn student_t_mu(x: f64, nu: f64, mu: f64, sigma: f64) -> f64 {
    let z = (x - mu) / sigma;
    if nu == f64::INFINITY {
        return z / sigma;
    }
    // ν/z + z is ±∞ at z = ±0, giving 0.
    (nu + 1.0) / (sigma * (nu / z + z))
}

/// `ν (z² − 1) / (σ (ν + z²))`, written as `((ν + 1) w/(1 + w) − 1)/σ` with
/// `w = z²/ν`.
fn student_t_sigma(x: f64, nu: f64, mu: f64, sigma: f64) -> f64 {
    let z = (x - mu) / sigma;
    if nu == f64::INFINITY {
        return (z * z - 1.0) / sigma;
    }
    let r = z / nu.sqrt();
    // w/(1 + w) = r²/(1 + r²) = 1/(1 + 1/r²)
    let ratio = 1.0 / (1.0 + 1.0 / (r * r));
    ((nu + 1.0) * ratio - 1.0) / sigma
}

/// `½ [D(ν/2) − h(w) + w/(ν(1 + w))]`, `w = z²/ν`, `D(a) = ψ(a + ½) − ψ(a) −
/// 1/(2a)`, `h(w) = ln(1 + w) − w/(1 + w)`: each piece without cancellation.
fn student_t_nu(x: f64, nu: f64, mu: f64, sigma: f64) -> f64 {
    if nu == f64::INFINITY {
        return 0.0;
    }
    let z = (x - mu) / sigma;
    let r = z / nu.sqrt();
    let w = r * r;
    let last = if w == f64::INFINITY {
        1.0 / nu
    } else {
        w / (nu * (1.0 + w))
    };
    0.5 * (k::digamma_half_ratio(0.5 * nu) - k::ln_1p_minus_ratio(w) + last)
}

partials! {
    /// `lognormal_log_pdf(x, mu, sigma)` for `x`: `−g (1 + (ln x − μ)/σ²)/x`.
    lognormal_log_pdf_x(x, mu, sigma) =>
        density_partial(lognormal_valid(x, sigma), x > 0.0, || {
            -(1.0 + normal_mu(x.ln(), mu, sigma)) / x
        });
    /// `lognormal_log_pdf(x, mu, sigma)` for `mu`: `g (ln x − μ)/σ²`.
    lognormal_log_pdf_mu(x, mu, sigma) =>
        density_partial(lognormal_valid(x, sigma), x > 0.0, || normal_mu(x.ln(), mu, sigma));
    /// `lognormal_log_pdf(x, mu, sigma)` for `sigma`: `g (z² − 1)/σ`,
    /// z = (ln x − μ)/σ.
    lognormal_log_pdf_sigma(x, mu, sigma) =>
        density_partial(lognormal_valid(x, sigma), x > 0.0, || normal_sigma(x.ln(), mu, sigma));

    /// `gamma_log_pdf(x, shape, rate)` for `x`: `g ((shape − 1)/x − rate)`.
    gamma_log_pdf_x(x, shape, rate) =>
        density_partial(gamma_valid(x, shape, rate), gamma_support(x), || {
            xdivy(shape - 1.0, x) - rate
        });
    /// `gamma_log_pdf(x, shape, rate)` for `shape`: `g (ln rate + ln x − ψ(shape))`.
    gamma_log_pdf_shape(x, shape, rate) =>
        density_partial(gamma_valid(x, shape, rate), gamma_support(x), || {
            rate.ln() + x.ln() - k::digamma(shape)
        });
    /// `gamma_log_pdf(x, shape, rate)` for `rate`: `g (shape/rate − x)`.
    gamma_log_pdf_rate(x, shape, rate) =>
        density_partial(gamma_valid(x, shape, rate), gamma_support(x), || shape / rate - x);

    /// `beta_log_pdf(x, a, b)` for `x`: `g ((a − 1)/x − (b − 1)/(1 − x))`.
    beta_log_pdf_x(x, a, b) =>
        density_partial(beta_valid(x, a, b), beta_support(x), || {
            xdivy(a - 1.0, x) - xdivy(b - 1.0, 1.0 - x)
        });
    /// `beta_log_pdf(x, a, b)` for `a`: `g (ln x − ψ(a) + ψ(a + b))`.
    beta_log_pdf_a(x, a, b) =>
        density_partial(beta_valid(x, a, b), beta_support(x), || {
            x.ln() - k::digamma(a) + k::digamma(a + b)
        });
    /// `beta_log_pdf(x, a, b)` for `b`: `g (ln(1 − x) − ψ(b) + ψ(a + b))`.
    beta_log_pdf_b(x, a, b) =>
        density_partial(beta_valid(x, a, b), beta_support(x), || {
            (-x).ln_1p() - k::digamma(b) + k::digamma(a + b)
        });

    /// `student_t_log_pdf(x, nu, mu, sigma)` for `x`:
    /// `−g (ν + 1) z / (σ (ν + z²))`, z = (x − μ)/σ.
    student_t_log_pdf_x(x, nu, mu, sigma) =>
        density_partial(student_t_valid(x, nu, mu, sigma), true, || {
            -student_t_mu(x, nu, mu, sigma)
        });
    /// `student_t_log_pdf(x, nu, mu, sigma)` for `nu`:
    /// `g/2 (ψ((ν+1)/2) − ψ(ν/2) − 1/ν − ln(1 + z²/ν) + (ν + 1) z² / (ν (ν + z²)))`.
    student_t_log_pdf_nu(x, nu, mu, sigma) =>
        density_partial(student_t_valid(x, nu, mu, sigma), true, || {
            student_t_nu(x, nu, mu, sigma)
        });
    /// `student_t_log_pdf(x, nu, mu, sigma)` for `mu`: `g (ν + 1) z / (σ (ν + z²))`.
    student_t_log_pdf_mu(x, nu, mu, sigma) =>
        density_partial(student_t_valid(x, nu, mu, sigma), true, || {
            student_t_mu(x, nu, mu, sigma)
        });
    /// `student_t_log_pdf(x, nu, mu, sigma)` for `sigma`:
    /// `g ν (z² − 1) / (σ (ν + z²))`.
    student_t_log_pdf_sigma(x, nu, mu, sigma) =>
        density_partial(student_t_valid(x, nu, mu, sigma), true, || {
            student_t_sigma(x, nu, mu, sigma)
        });

    /// `exponential_log_pdf(x, rate)` for `x`: `−g · rate`.
    exponential_log_pdf_x(x, rate) =>
        density_partial(rate > 0.0 && !x.is_nan(), x >= 0.0, || -rate);
    /// `exponential_log_pdf(x, rate)` for `rate`: `g (1/rate − x)`.
    exponential_log_pdf_rate(x, rate) =>
        density_partial(rate > 0.0 && !x.is_nan(), x >= 0.0, || 1.0 / rate - x);
}

macro_rules! unary_partials {
    ($($(#[$doc:meta])* $name:ident => $special:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name<T: Real>(g: T, x: T) -> T {
            // Machine numbers: the `f64` derivative, rounded once; dual
            // numbers: the derivative in their arithmetic (every order).
            if is_machine_number::<T>() {
                T::from_f64(g.to_f64() * Special::$special.derivative_f64(x.to_f64()))
            } else {
                g * Special::$special.derivative(x)
            }
        }
    )*};
}

unary_partials! {
    /// `sigmoid`: `g · σ(x) σ(−x)`, computed from `e^(−|x|)` (no cancellation
    /// in `1 − σ(x)`).
    sigmoid => Sigmoid;
    /// `softplus`: `g · σ(x)`.
    softplus => Softplus;
    /// `log1p_exp` (the same function as `softplus`): `g · σ(x)`.
    log1p_exp => Softplus;
    /// `log_sigmoid`: `g · σ(−x)`.
    log_sigmoid => LogSigmoid;
    /// `ln_gamma`: `g · ψ(x)`.
    ln_gamma => LnGamma;
    /// `digamma`: `g · ψ′(x)`.
    digamma => Digamma;
    /// `trigamma`: `g · ψ″(x)`.
    trigamma => Trigamma;
    /// `erf`: `g · 2/√π · e^(−x²)`.
    erf => Erf;
    /// `erfc`: `−g · 2/√π · e^(−x²)`.
    erfc => Erfc;
    /// `normal_cdf`: `g · φ(x)`.
    normal_cdf => NormalCdf;
    /// `normal_log_cdf`: `g · φ(x)/Φ(x)`, finite in the far left tail (≈ −x).
    normal_log_cdf => NormalLogCdf;
}

/// `normal_log_pdf(x, mu, sigma)` for `x`: `−g (x − μ)/σ²`.
#[inline]
pub fn normal_log_pdf_x<T: Real>(g: T, x: T, mu: T, sigma: T) -> T {
    -normal_log_pdf_mu(g, x, mu, sigma)
}

/// `normal_log_pdf(x, mu, sigma)` for `mu`: `g (x − μ)/σ²`.
#[inline]
pub fn normal_log_pdf_mu<T: Real>(g: T, x: T, mu: T, sigma: T) -> T {
    if is_machine_number::<T>() {
        return T::from_f64(g.to_f64() * normal_mu(x.to_f64(), mu.to_f64(), sigma.to_f64()));
    }
    if sigma <= T::zero() || sigma.is_nan() {
        return T::from_f64(f64::NAN);
    }
    g * ((x - mu) / sigma / sigma)
}

/// `normal_log_pdf(x, mu, sigma)` for `sigma`: `g (z² − 1)/σ`, z = (x − μ)/σ.
#[inline]
pub fn normal_log_pdf_sigma<T: Real>(g: T, x: T, mu: T, sigma: T) -> T {
    if is_machine_number::<T>() {
        let p = normal_sigma(x.to_f64(), mu.to_f64(), sigma.to_f64());
        return T::from_f64(g.to_f64() * p);
    }
    if sigma <= T::zero() || sigma.is_nan() {
        return T::from_f64(f64::NAN);
    }
    let z = (x - mu) / sigma;
    g * ((z * z - T::one()) / sigma)
}

/// `(x − μ)/σ²`, NaN unless σ > 0.
fn normal_mu(x: f64, mu: f64, sigma: f64) -> f64 {
    if !k::positive(sigma) {
        return f64::NAN;
    }
    (x - mu) / sigma / sigma
}

/// `(z² − 1)/σ`, z = (x − μ)/σ, NaN unless σ > 0.
fn normal_sigma(x: f64, mu: f64, sigma: f64) -> f64 {
    if !k::positive(sigma) {
        return f64::NAN;
    }
    let z = (x - mu) / sigma;
    (z * z - 1.0) / sigma
}
