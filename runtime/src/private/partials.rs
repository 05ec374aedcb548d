//! Local derivatives whose formulas need constants or case analysis.
//!
//! Each function returns `g · ∂ans/∂input` for the primitive it is named
//! after, where `g` is the cotangent (reverse mode) or tangent (forward mode)
//! of the input's counterpart. The rule table in `sgrad-macros/src/rules.rs`
//! says which one each primitive uses; shorter rules are written inline there.
//! Conventions at non-smooth points follow JAX and are listed in
//! [`crate::rules`].

use crate::Real;

#[inline(always)]
fn two<T: Real>() -> T {
    T::one() + T::one()
}

/// `exp2`: `g · ans · ln 2`.
#[inline(always)]
pub fn exp2<T: Real>(g: T, ans: T) -> T {
    g * ans * T::ln_2()
}

/// `exp_m1`: `g · (ans + 1)`.
#[inline(always)]
pub fn exp_m1<T: Real>(g: T, ans: T) -> T {
    g * (ans + T::one())
}

/// `ln_1p`: `g / (1 + x)`.
#[inline(always)]
pub fn ln_1p<T: Real>(g: T, x: T) -> T {
    g / (T::one() + x)
}

/// `x.log(base)` with respect to `x`: `g / (x ln base)`.
#[inline(always)]
pub fn log_x<T: Real>(g: T, x: T, base: T) -> T {
    g / (x * base.ln())
}

/// `x.log(base)` with respect to `base`: `-g · ans / (base ln base)`.
#[inline(always)]
pub fn log_base<T: Real>(g: T, ans: T, base: T) -> T {
    -(g * ans) / (base * base.ln())
}

/// `log2`: `g / (x ln 2)`.
#[inline(always)]
pub fn log2<T: Real>(g: T, x: T) -> T {
    g / (x * T::ln_2())
}

/// `log10`: `g / (x ln 10)`.
#[inline(always)]
pub fn log10<T: Real>(g: T, x: T) -> T {
    g / (x * T::ln_10())
}

/// `sqrt`: `g / (2 ans)`; infinite at 0, as in JAX.
#[inline(always)]
pub fn sqrt<T: Real>(g: T, ans: T) -> T {
    g / (ans + ans)
}

/// `cbrt`: `g / (3 ans²)`; infinite at 0.
#[inline(always)]
pub fn cbrt<T: Real>(g: T, ans: T) -> T {
    g / ((two::<T>() + T::one()) * ans * ans)
}

/// `x.powi(n)`: `g · n · x^(n-1)`; exactly 0 for `n = 0`, also at `x = 0`.
#[inline(always)]
pub fn powi<T: Real>(g: T, x: T, n: i32) -> T {
    if n == 0 {
        T::zero()
    } else {
        g * T::from_f64(n as f64) * x.powi(n - 1)
    }
}

/// `x.powf(y)` with respect to `x`: `g · y · x^(y-1)`; 0 where `y = 0`, as in JAX.
#[inline(always)]
pub fn powf_x<T: Real>(g: T, x: T, y: T) -> T {
    if y == T::zero() {
        T::zero()
    } else {
        g * y * x.powf(y - T::one())
    }
}

/// `x.powf(y)` with respect to `y`: `g · ans · ln x`; 0 where `x = 0`, as in JAX.
#[inline(always)]
pub fn powf_y<T: Real>(g: T, x: T, ans: T) -> T {
    if x == T::zero() {
        T::zero()
    } else {
        g * ans * x.ln()
    }
}

/// `recip`: `-g · ans²`.
#[inline(always)]
pub fn recip<T: Real>(g: T, ans: T) -> T {
    -(g * ans * ans)
}

/// `tan`: `g · (1 + ans²)`.
#[inline(always)]
pub fn tan<T: Real>(g: T, ans: T) -> T {
    g * (T::one() + ans * ans)
}

/// `asin`: `g / √(1 - x²)`.
#[inline(always)]
pub fn asin<T: Real>(g: T, x: T) -> T {
    g / (T::one() - x * x).sqrt()
}

/// `acos`: `-g / √(1 - x²)`.
#[inline(always)]
pub fn acos<T: Real>(g: T, x: T) -> T {
    -(g / (T::one() - x * x).sqrt())
}

/// `atan`: `g / (1 + x²)`.
#[inline(always)]
pub fn atan<T: Real>(g: T, x: T) -> T {
    g / (T::one() + x * x)
}

/// `y.atan2(x)` with respect to `y`: `g · x / (x² + y²)`.
#[inline(always)]
pub fn atan2_y<T: Real>(g: T, y: T, x: T) -> T {
    g * x / (x * x + y * y)
}

/// `y.atan2(x)` with respect to `x`: `-g · y / (x² + y²)`.
#[inline(always)]
pub fn atan2_x<T: Real>(g: T, y: T, x: T) -> T {
    -(g * y) / (x * x + y * y)
}

/// `tanh`: `g · (1 - ans²)`.
#[inline(always)]
pub fn tanh<T: Real>(g: T, ans: T) -> T {
    g * (T::one() - ans * ans)
}

/// `asinh`: `g / √(x² + 1)`.
#[inline(always)]
pub fn asinh<T: Real>(g: T, x: T) -> T {
    g / (x * x + T::one()).sqrt()
}

/// `acosh`: `g / √(x² - 1)`.
#[inline(always)]
pub fn acosh<T: Real>(g: T, x: T) -> T {
    g / (x * x - T::one()).sqrt()
}

/// `atanh`: `g / (1 - x²)`.
#[inline(always)]
pub fn atanh<T: Real>(g: T, x: T) -> T {
    g / (T::one() - x * x)
}

/// `x.hypot(y)` with respect to one argument `a` (`x` or `y`): `g · a / ans`;
/// 0 at the origin.
#[inline(always)]
pub fn hypot<T: Real>(g: T, a: T, ans: T) -> T {
    if ans == T::zero() {
        T::zero()
    } else {
        g * a / ans
    }
}

/// `abs`: `g · sign(x)`, with `g` at `x = 0` (JAX: `select(x >= 0, g, -g)`).
#[inline(always)]
pub fn abs<T: Real>(g: T, x: T) -> T {
    if x >= T::zero() {
        g
    } else {
        -g
    }
}

/// `a.max(b)` with respect to `a`: all of `g` where `a` wins, half on a tie
/// (JAX), and all of it where `b` is NaN (the result is then `a`).
#[inline(always)]
pub fn max_a<T: Real>(g: T, a: T, b: T) -> T {
    if a > b || b.is_nan() {
        g
    } else if a == b {
        g / two::<T>()
    } else {
        T::zero()
    }
}

/// `a.min(b)` with respect to `a`: all of `g` where `a` wins, half on a tie
/// (JAX), and all of it where `b` is NaN (the result is then `a`).
#[inline(always)]
pub fn min_a<T: Real>(g: T, a: T, b: T) -> T {
    if a < b || b.is_nan() {
        g
    } else if a == b {
        g / two::<T>()
    } else {
        T::zero()
    }
}

/// `x.clamp(lo, hi)` with respect to `x`: `g` strictly inside `(lo, hi)`, else 0 (JAX).
#[inline(always)]
pub fn clamp_x<T: Real>(g: T, x: T, lo: T, hi: T) -> T {
    if lo < x && x < hi {
        g
    } else {
        T::zero()
    }
}

/// `x.clamp(lo, hi)` with respect to `lo`: `g` where `x < lo`, else 0 (JAX).
#[inline(always)]
pub fn clamp_lo<T: Real>(g: T, x: T, lo: T) -> T {
    if x < lo {
        g
    } else {
        T::zero()
    }
}

/// `x.clamp(lo, hi)` with respect to `hi`: `g` where `x > hi`, else 0 (JAX).
#[inline(always)]
pub fn clamp_hi<T: Real>(g: T, x: T, hi: T) -> T {
    if x > hi {
        g
    } else {
        T::zero()
    }
}

/// `x % y` with respect to `y`: `-g · trunc(x / y)`.
#[inline(always)]
pub fn rem_y<T: Real>(g: T, x: T, y: T) -> T {
    -(g * (x / y).trunc())
}

/// Adds `g · ∂ log_sum_exp(x) / ∂x = g · softmax(x)` into `dx`.
#[inline]
pub fn log_sum_exp_vjp<T: Real>(g: T, x: &[T], ans: T, dx: &mut [T]) {
    if ans == T::from_f64(f64::NEG_INFINITY) {
        // Every element is -∞ (or there are none): nothing moves the result.
        return;
    }
    if ans == T::from_f64(f64::INFINITY) || ans.is_nan() {
        // Every `+∞` element takes an equal share (JAX's convention at ties).
        let top = x.iter().filter(|v| **v == ans).count();
        for (d, v) in dx.iter_mut().zip(x) {
            if *v == ans && top > 0 {
                *d += g / T::from_f64(top as f64);
            }
        }
        return;
    }
    // softmax(x) with the same shift as the value: exp(v - ans) would lose
    // what rounding dropped from `ans` (1e300 + ln 2 == 1e300).
    let m = x
        .iter()
        .fold(T::from_f64(f64::NEG_INFINITY), |m, &v| m.max(v));
    // Short inputs (a mixture's components) keep their exponentials on the
    // stack, so each is computed once.
    const SHORT: usize = 32;
    if x.len() <= SHORT {
        let mut e = [T::zero(); SHORT];
        let mut total = T::zero();
        for (ei, &v) in e.iter_mut().zip(x) {
            *ei = (v - m).exp();
            total += *ei;
        }
        for (d, &ei) in dx.iter_mut().zip(&e[..x.len()]) {
            *d += g * (ei / total);
        }
        return;
    }
    let total = x.iter().fold(T::zero(), |s, &v| s + (v - m).exp());
    for (d, &v) in dx.iter_mut().zip(x) {
        *d += g * ((v - m).exp() / total);
    }
}

/// The largest element `m` of `x` and `Σ exp(xᵢ − m)`: softmax without overflow.
#[inline]
pub fn shifted_exp_sum<T: Real>(x: &[T]) -> (T, T) {
    let m = x
        .iter()
        .fold(T::from_f64(f64::NEG_INFINITY), |m, &v| m.max(v));
    let total = x.iter().fold(T::zero(), |s, &v| s + (v - m).exp());
    (m, total)
}

/// `Σ softmax(x)ᵢ tᵢ`: the directional derivative of `log_sum_exp` along `t`.
#[inline]
pub fn log_sum_exp_jvp<T: Real>(x: &[T], ans: T, t: &[T]) -> T {
    let mut dx = vec![T::zero(); x.len()];
    log_sum_exp_vjp(T::one(), x, ans, &mut dx);
    crate::dot(&dx, t)
}

/// `tᵢ − Σⱼ softmax(x)ⱼ tⱼ` for every `i`: the tangent of `log_softmax(x)`.
#[inline]
pub fn log_softmax_jvp<T: Real>(x: &[T], t: &[T]) -> Vec<T> {
    let (m, total) = shifted_exp_sum(x);
    let mean = x
        .iter()
        .zip(t)
        .fold(T::zero(), |s, (&v, &ti)| s + (v - m).exp() / total * ti);
    t.iter().map(|&ti| ti - mean).collect()
}

/// Adds `gᵢ − softmax(x)ᵢ · Σⱼ gⱼ` into `dx`: the gradient of `log_softmax(x)`
/// pulled back from `g`.
#[inline]
pub fn log_softmax_vjp<T: Real>(x: &[T], g: &[T], dx: &mut [T]) {
    let (m, total) = shifted_exp_sum(x);
    let g_total = g.iter().fold(T::zero(), |s, &v| s + v);
    for ((d, &v), &gi) in dx.iter_mut().zip(x).zip(g) {
        *d += gi - (v - m).exp() / total * g_total;
    }
}

/// Adds `g · b` into `da` (the gradient of `dot(a, b)` for `a`).
#[inline]
pub fn dot_vjp<T: Real>(g: T, other: &[T], da: &mut [T]) {
    for (d, &v) in da.iter_mut().zip(other) {
        *d += g * v;
    }
}

/// Adds `g` into every element of `dx` (the gradient of `sum(x)`).
#[inline]
pub fn sum_vjp<T: Real>(g: T, dx: &mut [T]) {
    for d in dx.iter_mut() {
        *d += g;
    }
}
