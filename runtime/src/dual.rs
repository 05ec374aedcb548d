//! Dual numbers: forward mode by operator overloading, for second
//! derivatives. `Dual<T>` is a [`Real`], so a `#[differentiable]` function
//! generic over `T: Real` runs its gradient on dual numbers, which is
//! forward-over-reverse: Hessian-vector products ([`hvp`]) and Hessians
//! ([`hessian`]). `Dual<Dual<f64>>` nests without perturbation confusion:
//! each level is its own type.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

use crate::Real;

/// `re + eps·ε` with `ε² = 0`: a value and its derivative along one direction.
///
/// Comparisons look at `re` only, so branches take the path of the value.
/// [`sg`](crate::sg) sets `eps` to zero: a stopped value is constant at every
/// order, as in JAX.
///
/// `Dual<T>` is a [`Real`], so plain code generic over `T: Real` runs on it
/// (forward mode by operator overloading), and so does the gradient of a
/// generic `#[differentiable]` function, which gives second derivatives
/// ([`hvp`], [`hessian`]). For several directions at once, see
/// [`DualVec`](crate::DualVec).
///
/// ```
/// use sgrad::{Dual, Real};
///
/// fn f<T: Real>(x: T) -> T {
///     x * x.sin()
/// }
///
/// // The derivative at 2: seed the direction with eps = 1.
/// let y = f(Dual::new(2.0, 1.0));
/// assert_eq!(y.re, 2.0 * 2f64.sin());
/// assert_eq!(y.eps, 2f64.sin() + 2.0 * 2f64.cos());
/// assert_eq!(f(Dual::constant(2.0)).eps, 0.0);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Dual<T> {
    /// The value.
    pub re: T,
    /// The derivative along the direction being followed.
    pub eps: T,
}

impl<T: Real> Dual<T> {
    /// A value moving with speed `eps`.
    pub fn new(re: T, eps: T) -> Self {
        Dual { re, eps }
    }

    /// A constant.
    pub fn constant(re: T) -> Self {
        Dual { re, eps: T::zero() }
    }

    /// `f(re)` with derivative `f'(re) · eps`.
    #[inline(always)]
    fn chain(self, value: T, slope: T) -> Self {
        Dual {
            re: value,
            eps: self.eps * slope,
        }
    }
}

impl<T: PartialEq> PartialEq for Dual<T> {
    fn eq(&self, other: &Self) -> bool {
        self.re == other.re
    }
}

impl<T: PartialOrd> PartialOrd for Dual<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.re.partial_cmp(&other.re)
    }
}

impl<T: fmt::Display> fmt::Display for Dual<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} + {}ε", self.re, self.eps)
    }
}

impl<T: Real> Add for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Dual::new(self.re + o.re, self.eps + o.eps)
    }
}

impl<T: Real> Sub for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Dual::new(self.re - o.re, self.eps - o.eps)
    }
}

impl<T: Real> Mul for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Dual::new(self.re * o.re, self.eps * o.re + self.re * o.eps)
    }
}

impl<T: Real> Div for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let q = self.re / o.re;
        Dual::new(q, (self.eps - q * o.eps) / o.re)
    }
}

impl<T: Real> Rem for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn rem(self, o: Self) -> Self {
        let k = (self.re / o.re).trunc();
        Dual::new(self.re % o.re, self.eps - o.eps * k)
    }
}

impl<T: Real> Neg for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Dual::new(-self.re, -self.eps)
    }
}

macro_rules! assign_ops {
    ($($tr:ident $m:ident $op:tt;)*) => {$(
        impl<T: Real> $tr for Dual<T> {
            #[inline(always)]
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

/// The functions of one argument on a dual number: each with its slope at
/// the value (`x`, with `y` the function's value there), applied to the
/// perturbation by `chain`. One table for `Dual` and `DualVec`.
macro_rules! unary_methods {
    ($attr:meta) => {
        $crate::dual::unary_methods! { @ $attr;
            exp |x, y| y;
            exp2 |x, y| y * T::ln_2();
            exp_m1 |x, y| y + T::one();
            ln |x, y| T::one() / x;
            ln_1p |x, y| T::one() / (T::one() + x);
            log2 |x, y| T::one() / (x * T::ln_2());
            log10 |x, y| T::one() / (x * T::ln_10());
            sqrt |x, y| T::one() / (y + y);
            cbrt |x, y| T::one() / (T::from_f64(3.0) * y * y);
            recip |x, y| -(y * y);
            sin |x, y| x.cos();
            cos |x, y| -x.sin();
            tan |x, y| T::one() + y * y;
            asin |x, y| T::one() / (T::one() - x * x).sqrt();
            acos |x, y| -T::one() / (T::one() - x * x).sqrt();
            atan |x, y| T::one() / (T::one() + x * x);
            sinh |x, y| x.cosh();
            cosh |x, y| x.sinh();
            tanh |x, y| T::one() - y * y;
            asinh |x, y| T::one() / (x * x + T::one()).sqrt();
            acosh |x, y| T::one() / (x * x - T::one()).sqrt();
            atanh |x, y| T::one() / (T::one() - x * x);
            abs |x, y| if x >= T::zero() { T::one() } else { -T::one() };
            signum |x, y| T::zero();
            floor |x, y| T::zero();
            ceil |x, y| T::zero();
            round |x, y| T::zero();
            trunc |x, y| T::zero();
            fract |x, y| T::one();
            to_degrees |x, y| T::from_f64(180.0 / core::f64::consts::PI);
            to_radians |x, y| T::from_f64(core::f64::consts::PI / 180.0);
        }
    };
    (@ $attr:meta; $($name:ident |$x:ident, $y:ident| $slope:expr;)*) => {$(
        #[$attr]
        fn $name(self) -> Self {
            let $x = self.re;
            let $y = $x.$name();
            self.chain($y, $slope)
        }
    )*};
}
pub(crate) use unary_methods;

impl<T: Real> Real for Dual<T> {
    fn from_f64(v: f64) -> Self {
        Dual::constant(T::from_f64(v))
    }
    fn to_f64(self) -> f64 {
        self.re.to_f64()
    }
    fn zero() -> Self {
        Dual::constant(T::zero())
    }
    fn one() -> Self {
        Dual::constant(T::one())
    }
    fn ln_2() -> Self {
        Dual::constant(T::ln_2())
    }
    fn ln_10() -> Self {
        Dual::constant(T::ln_10())
    }
    fn is_nan(self) -> bool {
        self.re.is_nan()
    }
    fn powi(self, n: i32) -> Self {
        let slope = if n == 0 {
            T::zero()
        } else {
            T::from_f64(f64::from(n)) * self.re.powi(n - 1)
        };
        self.chain(self.re.powi(n), slope)
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        Dual::new(
            self.re.mul_add(a.re, b.re),
            self.eps * a.re + self.re * a.eps + b.eps,
        )
    }
    fn clamp(self, min: Self, max: Self) -> Self {
        if self.re < min.re {
            min
        } else if self.re > max.re {
            max
        } else {
            self
        }
    }
    unary_methods!(inline(always));
    fn log(self, base: Self) -> Self {
        let y = self.re.log(base.re);
        let lb = base.re.ln();
        Dual::new(y, self.eps / (self.re * lb) - base.eps * y / (base.re * lb))
    }
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
        Dual::new(y, self.eps * dx + p.eps * dp)
    }
    fn atan2(self, other: Self) -> Self {
        let (y, x) = (self.re, other.re);
        let r2 = x * x + y * y;
        Dual::new(y.atan2(x), (x * self.eps - y * other.eps) / r2)
    }
    fn hypot(self, other: Self) -> Self {
        let h = self.re.hypot(other.re);
        let eps = if h == T::zero() {
            T::zero()
        } else {
            (self.re * self.eps + other.re * other.eps) / h
        };
        Dual::new(h, eps)
    }
    fn min(self, other: Self) -> Self {
        select(self, other, self.re < other.re, other.re < self.re)
    }
    fn max(self, other: Self) -> Self {
        select(self, other, self.re > other.re, other.re > self.re)
    }
    fn __special(self, f: crate::__private::Special) -> Self {
        Dual::new(self.re.__special(f), self.eps * f.derivative(self.re))
    }
    fn copysign(self, sign: Self) -> Self {
        let y = self.re.copysign(sign.re);
        let flip = if (y >= T::zero()) == (self.re >= T::zero()) {
            T::one()
        } else {
            -T::one()
        };
        Dual::new(y, self.eps * flip)
    }
}

/// `a` if it wins, `b` if it does, half each on a tie (as the rules).
fn select<T: Real>(a: Dual<T>, b: Dual<T>, a_wins: bool, b_wins: bool) -> Dual<T> {
    if a_wins || b.re.is_nan() {
        a
    } else if b_wins || a.re.is_nan() {
        b
    } else {
        let half = T::from_f64(0.5);
        Dual::new(a.re, (a.eps + b.eps) * half)
    }
}

/// The Hessian of `f` at `x` times `v`, by forward-over-reverse: `grad` is a
/// gradient that works on dual numbers, such as `f_grad::<Dual<f64>>` of a
/// `#[differentiable]` function generic over `T: Real`. One run of `grad`;
/// `v` should have the length of `x` (the two are paired element by
/// element, so a shorter `v` also shortens the point `grad` is given).
/// For several directions, [`hvps`](crate::hvps) takes `N` per run.
///
/// ```
/// use sgrad::{differentiable, hvp, Dual, Real};
///
/// #[differentiable(x)]
/// fn f<T: Real>(x: &[T]) -> T {
///     x[0] * x[0] * x[1] + x[1].sin()
/// }
///
/// let hv = hvp(|x: &[Dual<f64>]| f_grad(x).1, &[1.0, 2.0], &[1.0, 0.0]);
/// assert_eq!(hv, vec![2.0 * 2.0, 2.0 * 1.0]); // first column of [[2x₁, 2x₀], [2x₀, -sin x₁]]
/// ```
pub fn hvp<T: Real, G>(grad: G, x: &[T], v: &[T]) -> Vec<T>
where
    G: Fn(&[Dual<T>]) -> Vec<Dual<T>>,
{
    let xd: Vec<Dual<T>> = x.iter().zip(v).map(|(&a, &b)| Dual::new(a, b)).collect();
    grad(&xd).into_iter().map(|g| g.eps).collect()
}

/// The dense Hessian of `f` at `x`, one [`hvp`] per column: for small
/// problems. Row `k` is the derivative of the `k`-th gradient component.
///
/// `grad` is as for [`hvp`], and runs `x.len()` times;
/// [`hessian_chunked`](crate::hessian_chunked) computes the same matrix
/// with `N` columns per run.
///
/// ```
/// use sgrad::{differentiable, hessian, Dual, Real};
///
/// #[differentiable(x)]
/// fn f<T: Real>(x: &[T]) -> T {
///     x[0] * x[0] * x[1] + x[1].sin()
/// }
///
/// let h = hessian(|x: &[Dual<f64>]| f_grad(x).1, &[1.0, 2.0]);
/// // [[2x₁, 2x₀], [2x₀, -sin x₁]]
/// assert_eq!(h, vec![vec![4.0, 2.0], vec![2.0, -2f64.sin()]]);
/// ```
pub fn hessian<T: Real, G>(grad: G, x: &[T]) -> Vec<Vec<T>>
where
    G: Fn(&[Dual<T>]) -> Vec<Dual<T>>,
{
    let n = x.len();
    let columns: Vec<Vec<T>> = (0..n)
        .map(|j| {
            let v: Vec<T> = (0..n)
                .map(|i| if i == j { T::one() } else { T::zero() })
                .collect();
            hvp(&grad, x, &v)
        })
        .collect();
    (0..n)
        .map(|k| (0..n).map(|j| columns[j][k]).collect())
        .collect()
}
