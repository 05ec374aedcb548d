//! Compile-time reverse-mode automatic differentiation with a notation for
//! stopping gradients per variable.
//!
//! ```
//! use sgrad::{differentiable, sg, sg_for};
//!
//! #[differentiable(x, y)]
//! fn f(x: f64, y: f64, c: f64) -> f64 {
//!     let t = x * y;
//!     sg_for!(x, t.sin()) + sg(y).exp() * x + c
//! }
//!
//! let v = f(1.0, 2.0, 3.0);
//! let (v2, (dx, dy)) = f_grad(1.0, 2.0, 3.0);
//! assert_eq!(v, v2);
//! // d/dx: `t.sin()` is constant for x, `sg(y).exp()` is constant: exp(2)
//! assert!((dx - 2f64.exp()).abs() < 1e-12);
//! // d/dy: `sg_for!(x, ..)` is open for y: cos(x y) * x
//! assert!((dy - 2f64.cos()).abs() < 1e-12);
//! ```
//!
//! | notation | value | derivative |
//! |---|---|---|
//! | [`sg(e)`](sg) | `e` | constant for every differentiation variable |
//! | [`sg_for!(v, e)`](sg_for) | `e` | constant when differentiating with respect to `v`, ordinary for every other variable |
//! | [`sg_for!([v, w], e)`](sg_for) | `e` | constant for `v` and for `w` |
//!
//! The macros are [`differentiable`] (an attribute on functions) and [`grad!`]
//! (on closures). The derivative rules for the float methods, with the
//! conventions used at non-smooth points, are listed in [`rules`], with those
//! of the statistics functions ([`sigmoid`], [`softplus`], [`ln_gamma`],
//! [`digamma`], [`erf`], [`normal_cdf`], [`normal_log_pdf`], [`gamma_log_pdf`],
//! ...), which differentiated code calls by path: `sgrad::sigmoid(x)`.
//! [`check_gradient`] compares a gradient with central differences ([`check`]).
#![warn(missing_docs)]

pub mod rules;

mod real;
pub use real::{Primitive, Real};

mod dual;
pub use dual::{hessian, hvp, Dual};

mod params;
pub use params::Differentiable;
/// Derives [`Differentiable`](trait@Differentiable) for a struct of
/// parameters, so that the struct can be a differentiation variable of a
/// `#[differentiable]` function and its gradient has the struct's type.
///
/// Every field must itself be [`Differentiable`](trait@Differentiable):
/// `f64`, `f32`, arrays, `Vec`s, `Box`es and pairs of them, or another struct
/// that derives it. A field that is not a parameter (a size, a flag, a name)
/// is marked `#[sgrad(skip)]`: it is a constant, the trait's methods leave it
/// alone, and gradients hold a copy of it. Named and tuple structs, generic
/// or not, are accepted, and the struct must also implement `Clone`.
/// Deriving it for an enum or a union is a compile error, and so is anything
/// but `skip` inside `#[sgrad(..)]`.
///
/// ```
/// use sgrad::{differentiable, Differentiable};
///
/// #[derive(Clone, Debug, PartialEq, Differentiable)]
/// struct Affine {
///     w: [f64; 2],
///     b: f64,
///     #[sgrad(skip)]
///     label: &'static str,
/// }
///
/// #[differentiable(p)]
/// fn predict(p: &Affine, x: [f64; 2]) -> f64 {
///     p.w[0] * x[0] + p.w[1] * x[1] + p.b
/// }
///
/// let p = Affine { w: [1.0, 2.0], b: 0.5, label: "demo" };
/// let (y, g) = predict_grad(&p, [3.0, 4.0]);
/// assert_eq!(y, 11.5);
/// // ∂y/∂w = x, ∂y/∂b = 1; the skipped field is copied.
/// assert_eq!(g, Affine { w: [3.0, 4.0], b: 1.0, label: "demo" });
/// assert_eq!(p.num_params(), 3);
/// ```
pub use sgrad_macros::Differentiable;

mod dual_vec;
pub use dual_vec::{hessian_chunked, hvps, jacobian, jvps, DualVec};

pub mod check;
pub use check::{
    assert_gradient, check_gradient, Comparison, ComponentCheck, GradCheck, GradReport,
};

mod stats;
pub use stats::{
    beta_log_pdf, digamma, erf, erfc, exponential_log_pdf, gamma_log_pdf, ln_gamma, log1p_exp,
    log_sigmoid, lognormal_log_pdf, normal_cdf, normal_log_cdf, normal_log_pdf, sigmoid, softplus,
    student_t_log_pdf, trigamma,
};

/// Marks a function for differentiation and generates `<name>_grad` beside it.
///
/// `#[differentiable(a, b, ..)]` names the differentiation variables, in
/// order; `#[differentiable]` alone takes every parameter of type `f64` or
/// `f32`. Every other parameter is a constant. The function itself is kept as
/// written (`sg_for!(v, e)` evaluates to `e`), and
///
/// ```text
/// fn <name>_grad(<same parameters>) -> (value, gradient)
/// ```
///
/// is added with the same visibility and generics. The gradient is the
/// derivative with respect to the single variable, or a tuple of them in the
/// attribute's order. The value is bit-for-bit the value of the function.
///
/// ```
/// use sgrad::differentiable;
///
/// #[differentiable(x)]
/// fn square_plus(x: f64, c: f64) -> f64 {
///     x * x + c
/// }
///
/// assert_eq!(square_plus_grad(3.0, 1.0), (10.0, 6.0));
/// ```
///
/// The body may use `let` (with `mut`, type annotations and tuple patterns),
/// assignment and `+= -= *= /=`, blocks, `if`/`else`, `return`, arithmetic,
/// `as` casts between floats, comparisons and boolean logic, and the float
/// methods listed in [`rules`].
///
/// Listed variables may also be arrays, slices or `Vec`s of floats, or of
/// arrays (`[[f64; N]; M]`, `Vec<Vec<f64>>`); their gradients have the same
/// shape (slices become `Vec`s). Bodies index them (`x[i]`, `x[i][j]`, rows
/// `&x[i]`), build local arrays (`[0.0; N]`, `vec![..]`, `Vec::new()` and
/// `push`, `a[i] = ..`, `a[i] += ..`), and loop with `for i in a..b` (also
/// `..=`, `.rev()`, `.step_by(k)`), `for v in x.iter()` (with `.rev()`,
/// `.enumerate()`, `.zip(..)`), `while` or `loop`, with `break`, `continue`,
/// labels, `break` with a value and `return`:
///
/// ```
/// use sgrad::differentiable;
///
/// #[differentiable(x)]
/// fn rosenbrock(x: &[f64]) -> f64 {
///     let mut s = 0.0;
///     for i in 0..x.len() - 1 {
///         s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
///     }
///     s
/// }
///
/// let (v, g): (f64, Vec<f64>) = rosenbrock_grad(&[1.0, 1.0, 1.0]);
/// assert_eq!((v, g), (0.0, vec![0.0, 0.0, 0.0]));
/// ```
///
/// `#[differentiable(x, y; forward)]` also generates forward mode,
/// `<name>_jvp(<same parameters>, tangent_x, tangent_y) -> (value, derivative
/// along the tangents)`, with the same `sg`/`sg_for!` meaning per variable:
///
/// ```
/// use sgrad::differentiable;
///
/// #[differentiable(x, y; forward)]
/// fn f(x: f64, y: f64) -> f64 {
///     x * y.sin()
/// }
///
/// let (v, d) = f_jvp(2.0, 0.0, 1.0, 1.0);
/// assert_eq!((v, d), (0.0, 0.0 + 2.0)); // sin y + x cos y at y = 0
/// ```
///
/// A function generic over `T: Real` gets generic `_grad` and `_jvp`; run on
/// [`Dual`] numbers they give second derivatives ([`hvp`], [`hessian`]), and
/// on [`DualVec`] numbers several directions per sweep ([`hvps`],
/// [`hessian_chunked`]).
///
/// A differentiated function may call another `#[differentiable]` function:
/// the chain rule uses the callee's own derivative, through the
/// `<name>_pullback` generated next to `<name>_grad` (its value and gradient
/// with respect to every parameter, [`NoGradient`] for the others). So the
/// callee's `sg_for!` sites refer to the callee's parameters. Passing a value
/// that carries a derivative to a parameter the callee does not differentiate
/// is a compile error at that argument; calling a function that is not
/// `#[differentiable]` (and has no [`pullback_of`] rule) with such a value is
/// rustc's "cannot find function `<name>_pullback`": annotate the function,
/// give it a rule, or wrap the call in [`sg`].
///
/// ```
/// use sgrad::{differentiable, sg_for};
///
/// #[differentiable(x, mu)]
/// fn log_normal(x: f64, mu: f64, sigma: f64) -> f64 {
///     let z = (x - mu) / sigma;
///     -0.5 * z * z - sigma.ln()
/// }
///
/// #[differentiable(mu)]
/// fn log_lik(mu: f64, data: &[f64]) -> f64 {
///     let mut s = 0.0;
///     for i in 0..data.len() {
///         s += log_normal(data[i], mu, 1.0);
///     }
///     s
/// }
///
/// let (_, d_mu) = log_lik_grad(0.5, &[1.0, 2.0]);
/// assert_eq!(d_mu, (1.0 - 0.5) + (2.0 - 0.5));
/// ```
///
/// Code that carries no derivative may use any Rust; code that carries one
/// and that the macro cannot differentiate (a closure, a `match`, an
/// iterator adaptor) is a compile error at that code.
pub use sgrad_macros::differentiable;

/// Gives a function a derivative written by hand: the rule is used wherever
/// a differentiated function calls that function.
///
/// `#[pullback_of(f)]` on a function `rule` with the same parameters as `f`
/// (defined in the same module) that returns `(value, (gradient, ..))`, one
/// gradient per parameter ([`NoGradient`] for a parameter with none), adds
/// `f_pullback`, which differentiated callers of `f` use. Use it for library
/// or FFI functions the macro cannot see into, or for a formula that is more
/// accurate than differentiating the code. A rule whose parameters or value do
/// not match `f`'s signature is a type error at the rule.
///
/// This is reverse mode's `custom_vjp` (JAX) or `rrule` (ChainRules) for
/// functions that return one number: the gradient is the whole derivative,
/// so one rule serves every caller and every sweep.
///
/// ```
/// use sgrad::{differentiable, pullback_of};
///
/// /// ln(1 + eˣ), as some library computes it.
/// fn log1pexp(x: f64) -> f64 {
///     if x > 30.0 { x } else { x.exp().ln_1p() }
/// }
///
/// #[pullback_of(log1pexp)]
/// fn log1pexp_rule(x: f64) -> (f64, (f64,)) {
///     (log1pexp(x), (1.0 / (1.0 + (-x).exp()),))
/// }
///
/// #[differentiable(w)]
/// fn loss(w: f64, x: f64) -> f64 {
///     log1pexp(w * x)
/// }
///
/// let (_, dw) = loss_grad(2.0, 50.0);
/// assert_eq!(dw, 50.0); // sigmoid(100) · 50, without overflow
/// ```
pub use sgrad_macros::pullback_of;

/// Turns a closure into one that returns its value and gradient.
///
/// `grad!(|x: f64, y: f64| body)` differentiates with respect to every
/// parameter of type `f64` or `f32` and returns `(value, (dx, dy))`;
/// `grad!(|x: f64, y: f64| body, wrt(x))` only with respect to `x`, returning
/// `(value, dx)`. Captured variables are constants.
///
/// ```
/// use sgrad::{grad, sg_for};
///
/// let scale = 3.0;
/// let g = grad!(|x: f64, y: f64| scale * x * y + sg_for!(y, x * y));
/// let (v, (dx, dy)) = g(2.0, 5.0);
/// assert_eq!(v, 40.0);
/// assert_eq!(dx, 15.0 + 5.0);
/// assert_eq!(dy, 6.0); // `x * y` is constant for `y`
/// ```
pub use sgrad_macros::grad;

/// Stops the gradient: `sg(e)` has the value of `e` and is a constant for
/// every differentiation variable (JAX's `stop_gradient`, PyTorch's `detach`).
///
/// Outside differentiated code it is the identity on values. On [`Dual`]
/// and [`DualVec`] numbers it also drops the perturbation, so a stopped
/// value is constant at every order of differentiation (as JAX's
/// `stop_gradient`).
///
/// ```
/// use sgrad::{grad, sg};
///
/// let g = grad!(|x: f64| x * sg(x));
/// assert_eq!(g(3.0), (9.0, 3.0));
/// ```
#[inline(always)]
pub fn sg<T: Stop>(e: T) -> T {
    e.stop()
}

/// What [`sg`] accepts: numbers, [`Dual`] and [`DualVec`] numbers, and
/// arrays, `Vec`s, tuples and references of them. `stop` is the identity on
/// values and drops dual perturbations.
#[diagnostic::on_unimplemented(
    message = "`sg` cannot stop the gradient of a `{Self}`",
    note = "`sg` takes numbers, arrays, `Vec`s, tuples and references of them"
)]
pub trait Stop {
    /// The same value, with no derivative at any order.
    fn stop(self) -> Self;
}

macro_rules! stop_identity {
    ($($t:ty)*) => {$(
        impl Stop for $t {
            #[inline(always)]
            fn stop(self) -> Self {
                self
            }
        }
    )*};
}
stop_identity!(f32 f64 i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize bool);

impl<T: Real + Stop> Stop for Dual<T> {
    #[inline(always)]
    fn stop(self) -> Self {
        Dual::constant(self.re.stop())
    }
}

impl<T: Stop, const N: usize> Stop for [T; N] {
    #[inline(always)]
    fn stop(self) -> Self {
        self.map(Stop::stop)
    }
}

impl<T: Stop> Stop for Vec<T> {
    #[inline]
    fn stop(self) -> Self {
        self.into_iter().map(Stop::stop).collect()
    }
}

/// A reference is passed through: only its dual numbers, if any, would have
/// a perturbation to drop, and a reference cannot be changed.
impl<T: ?Sized> Stop for &T {
    #[inline(always)]
    fn stop(self) -> Self {
        self
    }
}

macro_rules! stop_tuples {
    ($(($($t:ident $i:tt),*))*) => {$(
        impl<$($t: Stop),*> Stop for ($($t,)*) {
            #[inline(always)]
            fn stop(self) -> Self {
                ($(self.$i.stop(),)*)
            }
        }
    )*};
}
stop_identity!(());
stop_tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
}

/// Stops the gradient for some variables only: `sg_for!(v, e)` or
/// `sg_for!([v, w], e)`.
///
/// The value is `e`. When differentiating with respect to a listed variable,
/// `e` is a constant; for every other variable it is differentiated as usual.
/// The names must be differentiation variables of the enclosing
/// `#[differentiable]` function or `grad!` closure, and the cut follows data
/// flow: every path from `v` into `e` is blocked, including paths through
/// locals computed outside the brackets.
///
/// ```
/// use sgrad::{differentiable, sg_for};
///
/// #[differentiable(a, b)]
/// fn f(a: f64, b: f64) -> f64 {
///     let ab = a * b;
///     sg_for!(a, ab * ab)
/// }
///
/// let (_, (da, db)) = f_grad(1.0, 2.0);
/// assert_eq!(da, 0.0); // blocked for `a`, through `ab` too
/// assert_eq!(db, 2.0 * 1.0 * 2.0 * 1.0); // 2 a² b
/// ```
///
/// Used anywhere else it is a compile error:
///
/// ```compile_fail
/// let x = 1.0_f64;
/// let y = sgrad::sg_for!(x, x * 2.0);
/// ```
#[macro_export]
macro_rules! sg_for {
    // The attribute rewrites every site to this form in the code it keeps.
    (@within $e:expr) => {
        $e
    };
    ($($tokens:tt)*) => {
        ::core::compile_error! {
            "`sg_for!` can only be used inside a `#[differentiable]` function or a `grad!` closure; \
             to stop the gradient for every variable use `sg(..)`"
        }
    };
}

/// The gradient a `<name>_pullback` function returns for a parameter it
/// does not differentiate: there is none.
///
/// A differentiated function that calls another uses the callee's pullback
/// (`<name>_pullback`, generated next to `<name>_grad`): the callee's value
/// and its gradient with respect to every parameter, in order. The pullback
/// differentiates the listed variables, and also the float parameters left
/// off the list wherever the macro can (so callers may pass derivatives
/// through them); integers, unlisted arrays, and float parameters that reach
/// a call of another function get `NoGradient`.
///
/// ```
/// use sgrad::{differentiable, NoGradient};
///
/// #[differentiable(x)]
/// fn scaled(x: f64, k: f64, n: &[f64]) -> f64 {
///     k * x * x * n[0]
/// }
///
/// let (value, (dx, dk, NoGradient)) = scaled_pullback(3.0, 2.0, &[1.0]);
/// assert_eq!((value, dx, dk), (18.0, 12.0, 9.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoGradient;

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

/// `ln Σ exp(xᵢ)`, computed without overflow: the largest element is taken
/// out first. `-∞` for an empty slice; `+∞` if any element is `+∞`.
/// Differentiable inside `#[differentiable]` code: the gradient is softmax(x).
///
/// ```
/// let big = sgrad::log_sum_exp(&[1e300, 1e300]);
/// assert_eq!(big, 1e300 + std::f64::consts::LN_2);
/// assert_eq!(sgrad::log_sum_exp(&[-1e300, -1e300]), -1e300 + std::f64::consts::LN_2);
/// ```
pub fn log_sum_exp<T: Real>(x: &[T]) -> T {
    let m = x
        .iter()
        .fold(T::from_f64(f64::NEG_INFINITY), |m, &v| m.max(v));
    if m.is_nan() || m == T::from_f64(f64::NEG_INFINITY) || m == T::from_f64(f64::INFINITY) {
        return m;
    }
    let s = x.iter().fold(T::zero(), |s, &v| s + (v - m).exp());
    m + s.ln()
}

/// `xᵢ − ln Σⱼ exp(xⱼ)` for every `i`: the logarithms of softmax(x), computed
/// without overflow (the largest element is taken out first). Differentiable
/// inside `#[differentiable]` code, where the result is a local array like
/// any other (index it, sum it, pass it to [`log_sum_exp`]). If every element
/// is `-∞`, or any is `+∞` or NaN, the results are NaN where undefined.
///
/// ```
/// let y = sgrad::log_softmax(&[1e300, 1e300]);
/// assert_eq!(y, vec![-std::f64::consts::LN_2; 2]);
/// let y = sgrad::log_softmax(&[0.0, 2.0f64.ln()]);
/// assert!((y[0] - (1.0f64 / 3.0).ln()).abs() < 1e-15);
/// ```
pub fn log_softmax<T: Real>(x: &[T]) -> Vec<T> {
    let (m, total) = __private::partials::shifted_exp_sum(x);
    let log_total = total.ln();
    x.iter().map(|&v| (v - m) - log_total).collect()
}

/// `Σ aᵢ bᵢ` over the shorter of the two slices. Differentiable inside
/// `#[differentiable]` code, with respect to both slices.
///
/// ```
/// use sgrad::differentiable;
///
/// #[differentiable(w)]
/// fn score(w: &[f64], x: &[f64]) -> f64 {
///     sgrad::dot(w, x)
/// }
///
/// let (v, g) = score_grad(&[1.0, 2.0], &[3.0, 4.0]);
/// assert_eq!(v, 11.0);
/// assert_eq!(g, vec![3.0, 4.0]); // ∂(w · x)/∂w = x
/// ```
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&x, &y)| s + x * y)
}

/// `Σ xᵢ`, `0` for an empty slice. Differentiable inside
/// `#[differentiable]` code: the gradient is one for every element.
///
/// ```
/// use sgrad::differentiable;
///
/// #[differentiable(x)]
/// fn mean(x: &[f64]) -> f64 {
///     sgrad::sum(x) / x.len() as f64
/// }
///
/// assert_eq!(mean_grad(&[1.0, 2.0, 6.0]), (3.0, vec![1.0 / 3.0; 3]));
/// ```
pub fn sum<T: Real>(x: &[T]) -> T {
    x.iter().fold(T::zero(), |s, &v| s + v)
}
