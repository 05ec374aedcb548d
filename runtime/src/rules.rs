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
