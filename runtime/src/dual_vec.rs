//! Vector-mode dual numbers: a value and its derivatives along `N` directions
//! at once. `DualVec<T, N>` is a [`Real`], so one run of a function (or of a
//! `#[differentiable]` function's gradient) on it follows `N` tangents in a
//! single sweep: dense Jacobians ([`jacobian`]) and Jacobian-vector products
//! ([`jvps`]) by forward mode, Hessians ([`hessian_chunked`]) and
//! Hessian-vector products ([`hvps`]) by forward-over-reverse, `N` directions
//! per sweep instead of one as with [`Dual`](crate::Dual).
//!
//! Each lane follows the same rules as a [`Dual`](crate::Dual) with that
//! lane's tangent, including the conventions at non-smooth points.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

use crate::__private::{Accumulate, Along, Differentiable, Pullback};
use crate::{Real, Stop};

/// `re + Σₗ eps[l]·εₗ` with `εₗ εₘ = 0`: a value and its derivatives along
/// `N` directions (lanes) at once.
///
/// Lane `l` behaves exactly as a [`Dual`](crate::Dual) whose `eps` is
/// `eps[l]`. Comparisons look at `re` only, so branches take the path of the
/// value. [`sg`](crate::sg) sets every lane to zero: a stopped value is
/// constant at every order. It is `Copy` and allocates nothing.
///
/// ```
/// use sgrad::{DualVec, Real};
///
/// // x = 2 moving along lane 0, y = 3 along lane 1.
/// let x = DualVec::new(2.0, [1.0, 0.0]);
/// let y = DualVec::new(3.0, [0.0, 1.0]);
/// let z = x * y + x.sin();
/// assert_eq!(z.re, 6.0 + 2f64.sin());
/// assert_eq!(z.eps, [3.0 + 2f64.cos(), 2.0]); // [∂z/∂x, ∂z/∂y]
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DualVec<T, const N: usize> {
    /// The value.
    pub re: T,
    /// The derivative along each of the `N` directions being followed.
    pub eps: [T; N],
}

impl<T: Real, const N: usize> DualVec<T, N> {
    /// A value moving with speed `eps[l]` along direction `l`.
    #[inline]
    pub fn new(re: T, eps: [T; N]) -> Self {
        DualVec { re, eps }
    }

    /// A constant: zero in every lane.
    #[inline]
    pub fn constant(re: T) -> Self {
        DualVec {
            re,
            eps: [T::zero(); N],
        }
    }

    /// `f(re)` with derivative `f'(re) · eps[l]` in each lane.
    #[inline]
    fn chain(self, value: T, slope: T) -> Self {
        DualVec {
            re: value,
            eps: self.eps.map(|e| e * slope),
        }
    }
}

/// `[f(0), .., f(N - 1)]`: one derivative per lane.
#[inline]
fn lanes<T, const N: usize>(f: impl FnMut(usize) -> T) -> [T; N] {
    core::array::from_fn(f)
}

impl<T: Default, const N: usize> Default for DualVec<T, N> {
    fn default() -> Self {
        DualVec {
            re: T::default(),
            eps: lanes(|_| T::default()),
        }
    }
}

impl<T: PartialEq, const N: usize> PartialEq for DualVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.re == other.re
    }
}

impl<T: PartialOrd, const N: usize> PartialOrd for DualVec<T, N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.re.partial_cmp(&other.re)
    }
}

/// `re + [e₀, e₁, ..]ε`.
impl<T: fmt::Display, const N: usize> fmt::Display for DualVec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} + [", self.re)?;
        for (l, e) in self.eps.iter().enumerate() {
            if l > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{e}")?;
        }
        write!(f, "]ε")
    }
}

impl<T: Real, const N: usize> Add for DualVec<T, N> {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        DualVec::new(self.re + o.re, lanes(|l| self.eps[l] + o.eps[l]))
    }
}

impl<T: Real, const N: usize> Sub for DualVec<T, N> {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        DualVec::new(self.re - o.re, lanes(|l| self.eps[l] - o.eps[l]))
    }
}

impl<T: Real, const N: usize> Mul for DualVec<T, N> {
    type Output = Self;
    // Clippy sees the `+` of the product rule, alone in its closure.
    #[allow(clippy::suspicious_arithmetic_impl)]
    #[inline]
    fn mul(self, o: Self) -> Self {
        DualVec::new(
            self.re * o.re,
            lanes(|l| self.eps[l] * o.re + self.re * o.eps[l]),
        )
    }
}

impl<T: Real, const N: usize> Div for DualVec<T, N> {
    type Output = Self;
    // Clippy sees the `-` and `*` of the quotient rule in their closure.
    #[allow(clippy::suspicious_arithmetic_impl)]
    #[inline]
    fn div(self, o: Self) -> Self {
        let q = self.re / o.re;
        DualVec::new(q, lanes(|l| (self.eps[l] - q * o.eps[l]) / o.re))
    }
}

impl<T: Real, const N: usize> Rem for DualVec<T, N> {
    type Output = Self;
    #[inline]
    fn rem(self, o: Self) -> Self {
        let k = (self.re / o.re).trunc();
        DualVec::new(self.re % o.re, lanes(|l| self.eps[l] - o.eps[l] * k))
    }
}

impl<T: Real, const N: usize> Neg for DualVec<T, N> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        DualVec::new(-self.re, self.eps.map(|e| -e))
    }
}

macro_rules! assign_ops {
    ($($tr:ident $m:ident $op:tt;)*) => {$(
        impl<T: Real, const N: usize> $tr for DualVec<T, N> {
            #[inline]
            fn $m(&mut self, o: Self) {
                *self = *self $op o;
            }
        }
    )*};
}
assign_ops! {
    AddAssign add_assign +;
    SubAssign sub_assign -;
    MulAssign mul_assign *;
    DivAssign div_assign /;
}

/// Each lane follows `Dual`'s rules; the functions of one argument come from
/// the same table (`dual::unary_methods`).
impl<T: Real, const N: usize> Real for DualVec<T, N> {
    fn from_f64(v: f64) -> Self {
        DualVec::constant(T::from_f64(v))
    }
    fn to_f64(self) -> f64 {
        self.re.to_f64()
    }
    fn zero() -> Self {
        DualVec::constant(T::zero())
    }
    fn one() -> Self {
        DualVec::constant(T::one())
    }
    fn ln_2() -> Self {
        DualVec::constant(T::ln_2())
    }
    fn ln_10() -> Self {
        DualVec::constant(T::ln_10())
    }
    fn is_nan(self) -> bool {
        self.re.is_nan()
    }
    #[inline]
    fn powi(self, n: i32) -> Self {
        let slope = if n == 0 {
            T::zero()
        } else {
            T::from_f64(f64::from(n)) * self.re.powi(n - 1)
        };
        self.chain(self.re.powi(n), slope)
    }
    #[inline]
    fn mul_add(self, a: Self, b: Self) -> Self {
        DualVec::new(
            self.re.mul_add(a.re, b.re),
            lanes(|l| self.eps[l] * a.re + self.re * a.eps[l] + b.eps[l]),
        )
    }
    #[inline]
    fn clamp(self, min: Self, max: Self) -> Self {
        if self.re < min.re {
            min
        } else if self.re > max.re {
            max
        } else {
            self
        }
    }
    crate::dual::unary_methods!(inline);
    #[inline]
    fn log(self, base: Self) -> Self {
        let y = self.re.log(base.re);
        let lb = base.re.ln();
        DualVec::new(
            y,
            lanes(|l| self.eps[l] / (self.re * lb) - base.eps[l] * y / (base.re * lb)),
        )
    }
    #[inline]
    fn powf(self, p: Self) -> Self {
        let y = self.re.powf(p.re);
        // As the rules: no term for x where p = 0, none for p where x = 0.
        let dx = if p.re == T::zero() {
            T::zero()
        } else {
            p.re * self.re.powf(p.re - T::one())
        };
        let dp = if self.re == T::zero() {
            T::zero()
        } else {
            y * self.re.ln()
        };
        DualVec::new(y, lanes(|l| self.eps[l] * dx + p.eps[l] * dp))
    }
    #[inline]
    fn atan2(self, other: Self) -> Self {
        let (y, x) = (self.re, other.re);
        let r2 = x * x + y * y;
        DualVec::new(
            y.atan2(x),
            lanes(|l| (x * self.eps[l] - y * other.eps[l]) / r2),
        )
    }
    #[inline]
    fn hypot(self, other: Self) -> Self {
        let h = self.re.hypot(other.re);
        if h == T::zero() {
            return DualVec::constant(h);
        }
        DualVec::new(
            h,
            lanes(|l| (self.re * self.eps[l] + other.re * other.eps[l]) / h),
        )
    }
    #[inline]
    fn min(self, other: Self) -> Self {
        select(self, other, self.re < other.re, other.re < self.re)
    }
    #[inline]
    fn max(self, other: Self) -> Self {
        select(self, other, self.re > other.re, other.re > self.re)
    }
    fn __special(self, f: crate::__private::Special) -> Self {
        let slope = f.derivative(self.re);
        DualVec {
            re: self.re.__special(f),
            eps: self.eps.map(|e| e * slope),
        }
    }
    #[inline]
    fn copysign(self, sign: Self) -> Self {
        let y = self.re.copysign(sign.re);
        let flip = if (y >= T::zero()) == (self.re >= T::zero()) {
            T::one()
        } else {
            -T::one()
        };
        self.chain(y, flip)
    }
}

/// `a` if it wins, `b` if it does, half each on a tie (as the rules).
#[inline]
fn select<T: Real, const N: usize>(
    a: DualVec<T, N>,
    b: DualVec<T, N>,
    a_wins: bool,
    b_wins: bool,
) -> DualVec<T, N> {
    if a_wins || b.re.is_nan() {
        a
    } else if b_wins || a.re.is_nan() {
        b
    } else {
        let half = T::from_f64(0.5);
        DualVec::new(a.re, lanes(|l| (a.eps[l] + b.eps[l]) * half))
    }
}

impl<T: Real, const N: usize> Stop for DualVec<T, N> {
    #[inline]
    fn stop(self) -> Self {
        DualVec::constant(self.re.stop())
    }
}

impl<T: Real, const N: usize> Differentiable for DualVec<T, N> {
    type Gradient = Self;
    #[inline]
    fn zero_gradient(&self) -> Self {
        <Self as Real>::zero()
    }
}

impl<T: Real, const N: usize> Accumulate for DualVec<T, N> {
    #[inline]
    fn add_to(&mut self, g: Self) {
        *self += g;
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const N: usize> Pullback<DualVec<T, N>> for DualVec<T, N> {
    type Output = Self;
    #[inline]
    fn scale(&self, g: Self) -> Self {
        g * *self
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const N: usize> Along<DualVec<T, N>> for DualVec<T, N> {
    type Output = Self;
    #[inline]
    fn along(&self, t: &Self) -> Self {
        *self * *t
    }
}

/// `x` as dual numbers whose lane `l` of element `j` is `tangent(l, j)`.
fn seeded<T: Real, const N: usize>(
    x: &[T],
    tangent: impl Fn(usize, usize) -> T,
) -> Vec<DualVec<T, N>> {
    x.iter()
        .enumerate()
        .map(|(j, &re)| DualVec::new(re, lanes(|l| tangent(l, j))))
        .collect()
}

/// The derivatives of `f` at `x` along each direction of `vs` (the
/// Jacobian times each `v`), `N` directions per run of `f`: `⌈vs.len() / N⌉`
/// runs, the last one padded with zero directions. Entry `k` of the result
/// is `J vs[k]`, one number per output of `f`.
///
/// `f` is a function of a slice that works on [`DualVec`] numbers, such as
/// a plain Rust function generic over `T: Real`. For one direction, a
/// `#[differentiable(..; forward)]` function's `_jvp` needs no dual numbers.
///
/// ```
/// use sgrad::{jvps, DualVec, Real};
///
/// fn f<T: Real>(x: &[T]) -> Vec<T> {
///     vec![x[0] * x[1], x[0].sin()]
/// }
///
/// let x = [2.0, 3.0];
/// let jv = jvps(|x: &[DualVec<f64, 2>]| f(x), &x, &[[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]);
/// // J = [[x₁, x₀], [cos x₀, 0]]
/// let c = 2f64.cos();
/// assert_eq!(jv, vec![vec![3.0, c], vec![3.0 + 2.0, c], vec![2.0 * 2.0, 0.0]]);
/// ```
///
/// # Panics
///
/// If a direction's length differs from `x`'s, or `N` is zero.
pub fn jvps<T: Real, const N: usize, F, V>(f: F, x: &[T], vs: &[V]) -> Vec<Vec<T>>
where
    F: Fn(&[DualVec<T, N>]) -> Vec<DualVec<T, N>>,
    V: AsRef<[T]>,
{
    assert!(N > 0, "DualVec<T, 0> follows no direction");
    for v in vs {
        assert_eq!(v.as_ref().len(), x.len(), "a direction's length is not x's");
    }
    let mut out = Vec::with_capacity(vs.len());
    for chunk in vs.chunks(N) {
        let xd = seeded(x, |l, j| chunk.get(l).map_or(T::zero(), |v| v.as_ref()[j]));
        let y = f(&xd);
        out.extend((0..chunk.len()).map(|l| y.iter().map(|yi| yi.eps[l]).collect()));
    }
    out
}

/// The dense Jacobian of `f` at `x` by forward mode, `N` columns per run of
/// `f`: `⌈x.len() / N⌉` runs (one if `x` is empty, to learn the number of
/// outputs). Row `i` is the gradient of output `i`.
///
/// Forward mode costs one run per `N` inputs, reverse mode one per output:
/// use this when there are few inputs, or more outputs than inputs.
///
/// ```
/// use sgrad::{jacobian, DualVec, Real};
///
/// fn polar<T: Real>(p: &[T]) -> Vec<T> {
///     vec![p[0] * p[1].cos(), p[0] * p[1].sin()]
/// }
///
/// let (r, t) = (2.0_f64, 0.5_f64);
/// let j = jacobian(|p: &[DualVec<f64, 2>]| polar(p), &[r, t]);
/// assert_eq!(j, vec![
///     vec![t.cos(), -r * t.sin()],
///     vec![t.sin(), r * t.cos()],
/// ]);
/// ```
///
/// # Panics
///
/// If `f` returns outputs of different lengths in different runs, or `N` is
/// zero.
pub fn jacobian<T: Real, const N: usize, F>(f: F, x: &[T]) -> Vec<Vec<T>>
where
    F: Fn(&[DualVec<T, N>]) -> Vec<DualVec<T, N>>,
{
    assert!(N > 0, "DualVec<T, 0> follows no direction");
    let n = x.len();
    if n == 0 {
        return f(&[]).iter().map(|_| Vec::new()).collect();
    }
    let mut rows: Vec<Vec<T>> = Vec::new();
    for start in (0..n).step_by(N) {
        // Lane `l` follows the unit direction of input `start + l`.
        let xd = seeded(x, |l, j| if start + l == j { T::one() } else { T::zero() });
        let y = f(&xd);
        if start == 0 {
            rows = y.iter().map(|_| Vec::with_capacity(n)).collect();
        }
        assert_eq!(
            y.len(),
            rows.len(),
            "f returned outputs of different lengths"
        );
        let used = N.min(n - start);
        for (row, yi) in rows.iter_mut().zip(&y) {
            row.extend_from_slice(&yi.eps[..used]);
        }
    }
    rows
}

/// The Hessian of `f` at `x` times each direction of `vs`, by
/// forward-over-reverse with `N` directions per gradient sweep:
/// `⌈vs.len() / N⌉` sweeps, against `vs.len()` for [`hvp`](crate::hvp) called
/// once per direction. Entry `k` of the result is `H vs[k]`.
///
/// `grad` is a gradient that works on [`DualVec`] numbers, such as
/// `f_grad::<DualVec<f64, N>>` of a `#[differentiable]` function generic over
/// `T: Real`; `N` is read from its type.
///
/// ```
/// use sgrad::{differentiable, hvps, DualVec, Real};
///
/// #[differentiable(x)]
/// fn f<T: Real>(x: &[T]) -> T {
///     x[0] * x[0] * x[1] + x[1].sin()
/// }
///
/// let x = [1.0, 2.0];
/// let hv = hvps(|x: &[DualVec<f64, 2>]| f_grad(x).1, &x, &[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
/// // H = [[2x₁, 2x₀], [2x₀, -sin x₁]]: two directions, then one (and a zero lane).
/// let s = 2f64.sin();
/// assert_eq!(hv, vec![vec![4.0, 2.0], vec![2.0, -s], vec![4.0 + 2.0, 2.0 - s]]);
/// ```
///
/// # Panics
///
/// If a direction's length differs from `x`'s, or `N` is zero.
pub fn hvps<T: Real, const N: usize, G, V>(grad: G, x: &[T], vs: &[V]) -> Vec<Vec<T>>
where
    G: Fn(&[DualVec<T, N>]) -> Vec<DualVec<T, N>>,
    V: AsRef<[T]>,
{
    // The Hessian is the Jacobian of the gradient.
    jvps(grad, x, vs)
}

/// The dense Hessian of `f` at `x` by forward-over-reverse, `N` columns per
/// gradient sweep: `⌈n / N⌉` sweeps for `n = x.len()`, against `n` for
/// [`hessian`](crate::hessian). Row `k` is the derivative of the `k`-th
/// gradient component; the result is the same as [`hessian`](crate::hessian)'s.
///
/// `grad` is a gradient that works on [`DualVec`] numbers, such as
/// `f_grad::<DualVec<f64, N>>` of a `#[differentiable]` function generic over
/// `T: Real`; `N` is read from its type. Each sweep carries `N` tangents, so
/// the arithmetic on them is the same in total; what is saved is the rest of
/// each sweep (the value part, control flow, tapes). `N = 8` is a good
/// start: in a quick release-build measurement (two loop-over-`x` functions,
/// `n` from 8 to 128) it ran 2.5 to 4 times faster than
/// [`hessian`](crate::hessian); `N = 1` gains nothing.
///
/// ```
/// use sgrad::{differentiable, hessian_chunked, DualVec, Real};
///
/// #[differentiable(x)]
/// fn f<T: Real>(x: &[T]) -> T {
///     x[0] * x[0] * x[1] + x[1].sin() * x[2]
/// }
///
/// // n = 3 with N = 2: two sweeps (the second uses one lane of two).
/// let x = [1.0, 2.0, 3.0];
/// let h = hessian_chunked(|x: &[DualVec<f64, 2>]| f_grad(x).1, &x);
/// let (s, c) = (2f64.sin(), 2f64.cos());
/// assert_eq!(h, vec![
///     vec![2.0 * 2.0, 2.0 * 1.0, 0.0],
///     vec![2.0 * 1.0, -s * 3.0, c],
///     vec![0.0, c, 0.0],
/// ]);
/// ```
///
/// # Panics
///
/// If `N` is zero.
pub fn hessian_chunked<T: Real, const N: usize, G>(grad: G, x: &[T]) -> Vec<Vec<T>>
where
    G: Fn(&[DualVec<T, N>]) -> Vec<DualVec<T, N>>,
{
    // The Hessian is the Jacobian of the gradient.
    jacobian(grad, x)
}
