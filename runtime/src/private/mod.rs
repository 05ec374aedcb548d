//! Everything generated code calls. Not a public API: names and signatures
//! change without notice.

pub use crate::Real;

pub mod partials;

/// The branch an `if` took in the forward sweep, with the values its backward
/// sweep needs. The backward sweep matches on it instead of re-testing the
/// condition.
pub enum Branch<A, B> {
    /// The `then` block ran.
    Then(A),
    /// The `else` block ran (or there was none).
    Else(B),
}

/// A zero of the same type as `like`: the starting value of an adjoint.
#[inline(always)]
pub fn zero_like<T: Real>(_like: &T) -> T {
    T::zero()
}

/// A one of the same type as `like`: the seed of the backward sweep.
#[inline(always)]
pub fn one_like<T: Real>(_like: &T) -> T {
    T::one()
}

/// `g` converted to the type of `like`: the adjoint of an `as` cast between floats.
#[inline(always)]
pub fn cast_like<S: Real, T: Real>(g: T, _like: &S) -> S {
    S::from_f64(g.to_f64())
}
