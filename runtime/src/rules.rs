//! The operations differentiated code may use, and their derivatives.
//!
//! This module holds documentation only. The rules themselves live in one
//! table in the macro crate (`macros/src/rules.rs`); formulas that need
//! constants or case analysis are functions in `__private::partials`.
//!
//! # Operators
//!
//! `+ - * /` and `%` on floats, in any operand order; unary `-`; compound
//! assignment `+= -= *= /= %=`; `as f64` / `as f32` (the adjoint is converted
//! back). Comparisons, `!`, `&&`, `||` and casts to integer types have no
//! derivative: they may read differentiated values, and their results are
//! constants.
//!
//! # Float methods
//!
//! Callable as methods (`x.sin()`) or by path (`f64::sin(x)`):
//!
//! | method | derivative | convention at non-smooth or singular points |
//! |---|---|---|
//! | `exp`, `exp2`, `exp_m1` | `ans`, `ans·ln 2`, `ans + 1` | |
//! | `ln`, `ln_1p`, `log2`, `log10` | `1/x`, `1/(1+x)`, `1/(x ln 2)`, `1/(x ln 10)` | infinite at 0 |
//! | `x.log(b)` | `1/(x ln b)`; for `b`: `-ans/(b ln b)` | |
//! | `sqrt`, `cbrt` | `1/(2 ans)`, `1/(3 ans²)` | infinite at 0 (as JAX) |
//! | `x.powi(n)` | `n x^(n-1)`; none for `n` | exactly 0 when `n = 0` |
//! | `x.powf(y)` | `y x^(y-1)`; for `y`: `ans ln x` | 0 for `x` where `y = 0`; 0 for `y` where `x = 0` (as JAX) |
//! | `recip` | `-ans²` | |
//! | `sin`, `cos`, `tan` | `cos x`, `-sin x`, `1 + ans²` | |
//! | `asin`, `acos`, `atan` | `±1/√(1-x²)`, `1/(1+x²)` | infinite at ±1 |
//! | `y.atan2(x)` | `x/(x²+y²)`; for `x`: `-y/(x²+y²)` | NaN at the origin |
//! | `sinh`, `cosh`, `tanh` | `cosh x`, `sinh x`, `1 - ans²` | |
//! | `asinh`, `acosh`, `atanh` | `1/√(x²+1)`, `1/√(x²-1)`, `1/(1-x²)` | |
//! | `x.hypot(y)` | `x/ans`; for `y`: `y/ans` | 0 at the origin |
//! | `abs` | `sign x` | 1 at 0 (as JAX: `select(x >= 0, 1, -1)`) |
//! | `a.max(b)`, `a.min(b)` | 1 for the argument returned | ½ each on a tie (as JAX); all to the other argument when one is NaN |
//! | `x.clamp(lo, hi)` | 1 for `x` strictly inside, else 1 for the bound returned | 0 for all three at `x = lo` or `x = hi` (as JAX) |
//! | `x.mul_add(a, b)` | `a`, `x`, `1` | |
//! | `to_degrees`, `to_radians` | `180/π`, `π/180` | |
//! | `signum`, `floor`, `ceil`, `round`, `trunc` | 0 | piecewise constant |
//!
//! # Arrays
//!
//! On arrays, slices and `Vec`s that are differentiation variables: indexing
//! (`x[i]`, the index an integer), `x.len()`, `x.iter().sum()`,
//! `x.iter().product()`, and the runtime's [`log_sum_exp`](crate::log_sum_exp)
//! (gradient softmax(x), computed with the same max shift as the value),
//! [`dot`](crate::dot) and [`sum`](crate::sum).
//!
//! # Statistics functions
//!
//! Functions of the runtime, generic over `f32`/`f64`, differentiable when
//! called by their path, `sgrad::sigmoid(x)` (a bare `sigmoid(x)` could be
//! the user's own function). Values are computed in `f64` and rounded once;
//! the accuracies are maximum relative errors of the `f64` values, measured
//! against 50-digit references (details in each function's documentation).
//! `ψ` is [`digamma`](crate::digamma), `φ` the standard normal density.
//!
//! | function | derivative | conventions | accuracy |
//! |---|---|---|---|
//! | [`sigmoid`](crate::sigmoid) | `σ(x) σ(−x)` | from `e^(−abs(x))`: exact in both tails (`σ′(40) = 4.2e-18`, not `σ(1 − σ) = 0`) | 3e-16 |
//! | [`softplus`](crate::softplus), [`log1p_exp`](crate::log1p_exp) | `σ(x)` | two names, one function; no overflow at `x = 1000` | 2.5e-16 |
//! | [`log_sigmoid`](crate::log_sigmoid) | `σ(−x)` | | 2.5e-16 |
//! | [`ln_gamma`](crate::ln_gamma) | `ψ(x)` | `x > 0`; NaN below | 6e-16, near the zeros at 1 and 2 too |
//! | [`digamma`](crate::digamma) | `ψ′(x)` ([`trigamma`](crate::trigamma)) | `x > 0` | 4e-16, near its zero too |
//! | [`trigamma`](crate::trigamma) | `ψ″(x)` | `x > 0` | 4e-16 (`ψ″`: 5e-16) |
//! | [`erf`](crate::erf), [`erfc`](crate::erfc) | `±2/√π · e^(−x²)` | `e^(−x²)` with `x²` split exactly | 6e-16 (erfc to 26.5) |
//! | [`normal_cdf`](crate::normal_cdf) | `φ(x)` | | 6e-16 down to −37.5 |
//! | [`normal_log_cdf`](crate::normal_log_cdf) | `φ(x)/Φ(x)` | no underflow: `√(2/π)/erfcx(−x/√2)` in the left tail (≈ −x) | 7e-16 on [−10⁵, 37] |
//! | [`normal_log_pdf(x, mu, sigma)`](crate::normal_log_pdf) | `x`: `−(x−μ)/σ²`; `mu`: `(x−μ)/σ²`; `sigma`: `(z²−1)/σ` | `sigma ≤ 0`: NaN | 6e-16 of the largest term |
//! | [`lognormal_log_pdf(x, mu, sigma)`](crate::lognormal_log_pdf) | `x`: `−(1 + (ln x−μ)/σ²)/x`; `mu`, `sigma`: as the normal's at `ln x` | | 2e-15 of the largest term |
//! | [`gamma_log_pdf(x, shape, rate)`](crate::gamma_log_pdf) | `x`: `(shape−1)/x − rate`; `shape`: `ln rate + ln x − ψ(shape)`; `rate`: `shape/rate − x` | at `x = 0`, `shape = 1`: the exponential's | 7e-16 of the largest term |
//! | [`beta_log_pdf(x, a, b)`](crate::beta_log_pdf) | `x`: `(a−1)/x − (b−1)/(1−x)`; `a`: `ln x − ψ(a) + ψ(a+b)`; `b`: `ln(1−x) − ψ(b) + ψ(a+b)` | | 6e-16 of the largest term |
//! | [`exponential_log_pdf(x, rate)`](crate::exponential_log_pdf) | `x`: `−rate`; `rate`: `1/rate − x` | at `x = 0`: the one-sided (interior) values | exact to rounding |
//! | [`student_t_log_pdf(x, nu, mu, sigma)`](crate::student_t_log_pdf) | `x`: `−(ν+1) z / (σ (ν + z²))`; `mu`: its negative; `sigma`: `((ν+1) z² / (ν + z²) − 1)/σ`; `nu`: `½(ψ((ν+1)/2) − ψ(ν/2) − 1/ν − ln(1 + z²/ν) + (ν+1) z²/(ν(ν + z²)))` | `ν = ∞` is the normal | 9e-16 of the largest term |
//!
//! For every density: a parameter outside its domain gives NaN for the value
//! and for every partial; a point outside the support gives `−∞` and zero
//! partials; at the ends of the support (`x = 0` for the gamma, 0 and 1 for
//! the beta) the interior formulas are used, with `(shape − 1)/x = 0` and
//! `(shape − 1) ln x = 0` when `shape = 1`. The partial for a `sigma`,
//! `shape` or `rate` is not clamped at the edge of its domain.
//!
//! # Stopping gradients
//!
//! [`sg`](crate::sg) and [`sg_for!`](crate::sg_for) are the identity on
//! values; see their documentation for what they do to derivatives.
//!
//! # Anything else
//!
//! Code that carries no derivative may use any Rust: loops over constants,
//! calls to other functions, macros such as `println!`. Code that carries one
//! and that the macro cannot differentiate (a loop, a closure, a call to a
//! function without a rule, another macro) is a compile error at that code;
//! if the value is meant to be a constant there, wrap it in `sg(..)`.
