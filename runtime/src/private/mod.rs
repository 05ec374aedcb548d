//! Everything generated code calls. Not a public API: names and signatures
//! change without notice.

pub use crate::{sum, Real};

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

/// A value that can be differentiated: a float, or an array, slice or `Vec`
/// of differentiable values (by value or by reference). `Gradient` is the
/// shape of its gradient: arrays stay arrays, slices and `Vec`s become `Vec`s.
pub trait Differentiable {
    /// The type of the gradient with respect to a value of this type.
    type Gradient;
    /// A zero gradient of the right shape (and length).
    fn zero_gradient(&self) -> Self::Gradient;
}

macro_rules! differentiable_float {
    ($($t:ty)*) => {$(
        impl Differentiable for $t {
            type Gradient = $t;
            #[inline(always)]
            fn zero_gradient(&self) -> $t {
                0.0
            }
        }
    )*};
}
differentiable_float!(f32 f64);

impl<D: Differentiable, const N: usize> Differentiable for [D; N] {
    type Gradient = [D::Gradient; N];
    #[inline(always)]
    fn zero_gradient(&self) -> [D::Gradient; N] {
        ::core::array::from_fn(|i| self[i].zero_gradient())
    }
}

impl<D: Differentiable> Differentiable for [D] {
    type Gradient = Vec<D::Gradient>;
    #[inline]
    fn zero_gradient(&self) -> Vec<D::Gradient> {
        self.iter().map(D::zero_gradient).collect()
    }
}

impl<D: Differentiable> Differentiable for Vec<D> {
    type Gradient = Vec<D::Gradient>;
    #[inline]
    fn zero_gradient(&self) -> Vec<D::Gradient> {
        self[..].zero_gradient()
    }
}

impl<D: Differentiable + ?Sized> Differentiable for &D {
    type Gradient = D::Gradient;
    #[inline(always)]
    fn zero_gradient(&self) -> D::Gradient {
        (**self).zero_gradient()
    }
}

/// A zero gradient shaped like `like`: the starting value of an adjoint.
#[inline(always)]
pub fn zero_gradient<D: Differentiable + ?Sized>(like: &D) -> D::Gradient {
    like.zero_gradient()
}

/// `acc += g` for gradients of any shape (floats, arrays, `Vec`s).
pub trait Accumulate {
    /// Adds `g` into `self`, element by element.
    fn add_to(&mut self, g: Self);
}

macro_rules! accumulate_float {
    ($($t:ty)*) => {$(
        impl Accumulate for $t {
            #[inline(always)]
            fn add_to(&mut self, g: $t) {
                *self += g;
            }
        }
    )*};
}
accumulate_float!(f32 f64);

impl<G: Accumulate, const N: usize> Accumulate for [G; N] {
    #[inline]
    fn add_to(&mut self, g: [G; N]) {
        for (a, b) in self.iter_mut().zip(g) {
            a.add_to(b);
        }
    }
}

impl<G: Accumulate> Accumulate for Vec<G> {
    #[inline]
    fn add_to(&mut self, g: Vec<G>) {
        for (a, b) in self.iter_mut().zip(g) {
            a.add_to(b);
        }
    }
}

/// `acc += g` for a gradient of any shape.
#[inline(always)]
pub fn add_to<G: Accumulate>(acc: &mut G, g: G) {
    acc.add_to(g);
}

/// The tape of a loop: one entry per iteration, holding the values the
/// backward sweep needs, allocated once from the trip count.
#[inline]
pub fn tape<E, I: Iterator>(iterations: &I) -> Vec<E> {
    Vec::with_capacity(iterations.size_hint().0)
}

/// The last entry of a tape shared by every run of a nested loop: what the
/// iteration being replayed saved. The forward sweep pushed exactly one entry
/// per iteration, and the backward sweep replays them in reverse.
#[inline(always)]
pub fn pop<E>(tape: &mut Vec<E>) -> E {
    tape.pop()
        .expect("the forward sweep saved one entry per iteration")
}

/// Stands for the value of a variable on a path that never reaches the end
/// of its block (`let y; if c { y = .. } else { unreachable!() }`): typed
/// by inference, unlike `!` inside a tuple.
#[inline(always)]
pub fn never<T>() -> T {
    unreachable!("a diverging branch yielded a value")
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
