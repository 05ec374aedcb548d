//! The scalar trait that generated code and the derivative rules are written against.

use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

macro_rules! declare_real {
    (unary: $($u:ident)*; binary: $($b:ident)*;) => {
        /// A real scalar: `f32`, `f64`, [`Dual`](crate::Dual) and [`DualVec`](crate::DualVec) numbers.
        ///
        /// It carries the float methods that differentiated code may call, with the
        /// same names and meaning as the inherent methods of `f64`, so that code
        /// written for `f64` also reads as code generic over `T: Real`.
        pub trait Real:
            Copy
            + Default
            + PartialEq
            + PartialOrd
            + Debug
            + Display
            + Add<Output = Self>
            + Sub<Output = Self>
            + Mul<Output = Self>
            + Div<Output = Self>
            + Rem<Output = Self>
            + Neg<Output = Self>
            + AddAssign
            + SubAssign
            + MulAssign
            + DivAssign
            + crate::Stop
            + crate::__private::Differentiable<Gradient = Self>
            + crate::__private::Accumulate
            + crate::__private::Pullback<Self, Output = Self>
            + crate::__private::Along<Self, Output = Self>
            + 'static
        {
            /// The value of an `f64`, rounded as `as` does.
            fn from_f64(v: f64) -> Self;
            /// This value as an `f64`.
            fn to_f64(self) -> f64;
            /// `0`.
            fn zero() -> Self;
            /// `1`.
            fn one() -> Self;
            /// `ln 2`.
            fn ln_2() -> Self;
            /// `ln 10`.
            fn ln_10() -> Self;
            /// Whether this value is NaN.
            fn is_nan(self) -> bool;
            /// `self` raised to an integer power.
            fn powi(self, n: i32) -> Self;
            /// `self * a + b` with one rounding.
            fn mul_add(self, a: Self, b: Self) -> Self;
            /// `self` restricted to `[min, max]`.
            fn clamp(self, min: Self, max: Self) -> Self;
            /// One of the statistics functions (`sgrad::sigmoid`, ..): on machine
            /// numbers the `f64` kernel rounded once (this default); dual
            /// numbers apply the chain rule.
            #[doc(hidden)]
            fn __special(self, f: crate::__private::Special) -> Self {
                Self::from_f64(f.value(self.to_f64()))
            }
            $(
                #[doc = concat!("As [`f64::", stringify!($u), "`].")]
                fn $u(self) -> Self;
            )*
            $(
                #[doc = concat!("As [`f64::", stringify!($b), "`].")]
                fn $b(self, other: Self) -> Self;
            )*
        }

        macro_rules! impl_real {
            ($t:ident) => {
                impl Real for $t {
                    #[inline(always)]
                    fn from_f64(v: f64) -> Self { v as $t }
                    #[inline(always)]
                    fn to_f64(self) -> f64 { self as f64 }
                    #[inline(always)]
                    fn zero() -> Self { 0.0 }
                    #[inline(always)]
                    fn one() -> Self { 1.0 }
                    #[inline(always)]
                    fn ln_2() -> Self { core::$t::consts::LN_2 }
                    #[inline(always)]
                    fn ln_10() -> Self { core::$t::consts::LN_10 }
                    #[inline(always)]
                    fn is_nan(self) -> bool { $t::is_nan(self) }
                    #[inline(always)]
                    fn powi(self, n: i32) -> Self { $t::powi(self, n) }
                    #[inline(always)]
                    fn mul_add(self, a: Self, b: Self) -> Self { $t::mul_add(self, a, b) }
                    #[inline(always)]
                    fn clamp(self, min: Self, max: Self) -> Self { $t::clamp(self, min, max) }
                    $(
                        #[inline(always)]
                        fn $u(self) -> Self { $t::$u(self) }
                    )*
                    $(
                        #[inline(always)]
                        fn $b(self, other: Self) -> Self { $t::$b(self, other) }
                    )*
                }
            };
        }
    };
}

declare_real! {
    unary: exp exp2 exp_m1 ln ln_1p log2 log10 sqrt cbrt recip sin cos tan asin acos atan
        sinh cosh tanh asinh acosh atanh abs signum floor ceil round trunc fract
        to_degrees to_radians;
    binary: log powf atan2 hypot min max copysign;
}

impl_real!(f32);
impl_real!(f64);

/// `f32` and `f64`: the [`Real`]s that are machine numbers. The
/// log-densities other than `normal_log_pdf` (`gamma_log_pdf`,
/// `beta_log_pdf`, ..) compute in `f64` and round once, so they take these
/// only; the functions of one argument (`sigmoid`, `ln_gamma`, `erf`, ..) and
/// `normal_log_pdf` take any [`Real`], dual numbers included.
pub trait Primitive: Real {}

impl Primitive for f32 {}
impl Primitive for f64 {}
