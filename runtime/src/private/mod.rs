//! Everything generated code calls. Not a public API: names and signatures
//! change without notice.

pub use crate::{dot, sum, Real};

#[cfg(feature = "ndarray")]
pub mod ndarray;
pub mod partials;
pub mod stats_partials;

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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is a differentiation variable, but not a set of parameters",
    label = "this type does not implement `sgrad::Differentiable`",
    note = "add `#[derive(Clone, sgrad::Differentiable)]` to the struct, and `#[sgrad(skip)]` to its fields that are not parameters"
)]
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

impl<T: Real> Differentiable for crate::Dual<T> {
    type Gradient = crate::Dual<T>;
    #[inline(always)]
    fn zero_gradient(&self) -> Self {
        <Self as Real>::zero()
    }
}

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

impl<T: Real> Accumulate for crate::Dual<T> {
    #[inline(always)]
    fn add_to(&mut self, g: Self) {
        *self += g;
    }
}

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

/// The statistics functions of one argument, for `Real::__special`.
pub use crate::stats::Special;

/// `g · grad`, in place: what a loop differentiated iteration by iteration
/// gathered per unit of its running sum's adjoint `g` (see the macro's
/// `sweep/running_sums.rs`), scaled once after the loop.
pub trait Scale<S> {
    /// Multiplies every element by `g`.
    fn scale_by(&mut self, g: S);
}

impl<T: Real, S: Real> Scale<S> for T {
    #[inline(always)]
    fn scale_by(&mut self, g: S) {
        // `g` itself when the types agree (a dual number keeps its derivative
        // part); rounded as `as` does for an `f32` buffer under an `f64` sum.
        // The type test is resolved at compile time.
        let g = match (&g as &dyn core::any::Any).downcast_ref::<T>() {
            Some(&g) => g,
            None => T::from_f64(g.to_f64()),
        };
        *self = g * *self;
    }
}

impl<S: Copy, G: Scale<S>, const N: usize> Scale<S> for [G; N] {
    #[inline]
    fn scale_by(&mut self, g: S) {
        self.iter_mut().for_each(|x| x.scale_by(g));
    }
}

impl<S: Copy, G: Scale<S>> Scale<S> for Vec<G> {
    #[inline]
    fn scale_by(&mut self, g: S) {
        self.iter_mut().for_each(|x| x.scale_by(g));
    }
}

/// A zero of the element type of an array's adjoint: a register that
/// carries the adjoint of one element across iterations.
#[inline(always)]
pub fn zero_element<T: Real, A: AsRef<[T]> + ?Sized>(_like: &A) -> T {
    T::zero()
}

/// `grad` scaled by `g` (see [`Scale`]).
#[inline(always)]
pub fn scaled<S, G: Scale<S>>(mut grad: G, g: S) -> G {
    grad.scale_by(g);
    grad
}

/// `g · ∂f/∂arg` for a call `f(.., arg, ..)` of a differentiated function:
/// the callee's gradient for that parameter (from its pullback) scaled by the
/// adjoint of the call's value.
#[diagnostic::on_unimplemented(
    message = "this argument carries a derivative, but the function it is passed to does not differentiate with respect to that parameter",
    label = "this value depends on a differentiation variable",
    note = "list the parameter in the called function's `#[differentiable(..)]`, or wrap the argument in `sg(..)` if it is a constant here"
)]
pub trait Pullback<S> {
    /// The scaled gradient, shaped like the argument's adjoint.
    type Output;
    /// `g · self`.
    fn scale(&self, g: S) -> Self::Output;
}

macro_rules! pullback_float {
    ($($t:ty)*) => {$(
        #[diagnostic::do_not_recommend]
        impl Pullback<$t> for $t {
            type Output = $t;
            #[inline(always)]
            fn scale(&self, g: $t) -> $t {
                g * *self
            }
        }
    )*};
}
pullback_float!(f32 f64);

#[diagnostic::do_not_recommend]
impl<T: Real> Pullback<crate::Dual<T>> for crate::Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn scale(&self, g: Self) -> Self {
        g * *self
    }
}

#[diagnostic::do_not_recommend]
impl<S: Copy, G: Pullback<S>, const N: usize> Pullback<S> for [G; N] {
    type Output = [G::Output; N];
    #[inline]
    fn scale(&self, g: S) -> Self::Output {
        ::core::array::from_fn(|i| self[i].scale(g))
    }
}

#[diagnostic::do_not_recommend]
impl<S: Copy, G: Pullback<S>> Pullback<S> for Vec<G> {
    type Output = Vec<G::Output>;
    #[inline]
    fn scale(&self, g: S) -> Self::Output {
        self.iter().map(|x| x.scale(g)).collect()
    }
}

/// `grad · tangent`: the directional derivative of a call in forward mode,
/// from the callee's gradient for one argument and that argument's tangent.
#[diagnostic::on_unimplemented(
    message = "this argument carries a derivative, but the function it is passed to does not differentiate with respect to that parameter",
    label = "this value depends on a differentiation variable",
    note = "list the parameter in the called function's `#[differentiable(..)]`, or wrap the argument in `sg(..)` if it is a constant here"
)]
pub trait Along<T: ?Sized> {
    /// The scalar type.
    type Output;
    /// `Σ gradᵢ tangentᵢ`.
    fn along(&self, tangent: &T) -> Self::Output;
}

macro_rules! along_float {
    ($($t:ty)*) => {$(
        #[diagnostic::do_not_recommend]
        impl Along<$t> for $t {
            type Output = $t;
            #[inline(always)]
            fn along(&self, t: &$t) -> $t {
                *self * *t
            }
        }
    )*};
}
along_float!(f32 f64);

#[diagnostic::do_not_recommend]
impl<T: Real> Along<crate::Dual<T>> for crate::Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn along(&self, t: &Self) -> Self {
        *self * *t
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, A: AsRef<[T]> + ?Sized> Along<A> for Vec<T> {
    type Output = T;
    #[inline]
    fn along(&self, t: &A) -> T {
        crate::dot(self, t.as_ref())
    }
}

/// `Σ rowsᵢ · tangent rowsᵢ`.
fn along_rows<T: Real, R: AsRef<[T]>>(g: &[Vec<T>], t: &[R]) -> T {
    g.iter()
        .zip(t)
        .fold(T::zero(), |s, (g, r)| s + crate::dot(g, r.as_ref()))
}

/// A nested array's gradient along a nested tangent, row by row; the
/// tangent as the caller passes it (`&[Vec<T>]`, `Vec<Vec<T>>`, ..).
impl<T: Real, R: AsRef<[T]>> Along<[R]> for Vec<Vec<T>> {
    type Output = T;
    #[inline]
    fn along(&self, t: &[R]) -> T {
        along_rows(self, t)
    }
}

impl<T: Real, R: AsRef<[T]>> Along<&[R]> for Vec<Vec<T>> {
    type Output = T;
    #[inline]
    fn along(&self, t: &&[R]) -> T {
        along_rows(self, t)
    }
}

impl<T: Real, R: AsRef<[T]>> Along<Vec<R>> for Vec<Vec<T>> {
    type Output = T;
    #[inline]
    fn along(&self, t: &Vec<R>) -> T {
        along_rows(self, t)
    }
}

impl<T: Real, R: AsRef<[T]>> Along<&Vec<R>> for Vec<Vec<T>> {
    type Output = T;
    #[inline]
    fn along(&self, t: &&Vec<R>) -> T {
        along_rows(self, t)
    }
}

/// `[[T; N]; M]` along `[[T; N]; M]`.
impl<T: Real, const N: usize, const M: usize> Along<[[T; N]; M]> for [[T; N]; M] {
    type Output = T;
    #[inline]
    fn along(&self, t: &[[T; N]; M]) -> T {
        self.iter()
            .zip(t)
            .fold(T::zero(), |s, (g, r)| s + crate::dot(g, r))
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, A: AsRef<[T]> + ?Sized, const N: usize> Along<A> for [T; N] {
    type Output = T;
    #[inline]
    fn along(&self, t: &A) -> T {
        crate::dot(self, t.as_ref())
    }
}

/// `grad · tangent` (see [`Along`]).
#[inline(always)]
pub fn along<G: Along<T>, T: ?Sized>(grad: &G, tangent: &T) -> G::Output {
    grad.along(tangent)
}

/// A callee's gradient for an array parameter, added scaled into the
/// argument's adjoint: `acc += g · grad`, element by element.
#[diagnostic::on_unimplemented(
    message = "this argument carries a derivative, but the function it is passed to does not differentiate with respect to that parameter",
    label = "this value depends on a differentiation variable",
    note = "list the parameter in the called function's `#[differentiable(..)]`, or wrap the argument in `sg(..)` if it is a constant here"
)]
pub trait AddScaled<T> {
    /// `acc[i] += g · self[i]`.
    fn add_scaled_to(&self, acc: &mut [T], g: T);
}

#[diagnostic::do_not_recommend]
impl<T: Real> AddScaled<T> for Vec<T> {
    #[inline]
    fn add_scaled_to(&self, acc: &mut [T], g: T) {
        for (a, &v) in acc.iter_mut().zip(self) {
            *a += g * v;
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const N: usize> AddScaled<T> for [T; N] {
    #[inline]
    fn add_scaled_to(&self, acc: &mut [T], g: T) {
        for (a, &v) in acc.iter_mut().zip(self) {
            *a += g * v;
        }
    }
}

/// `acc += g · grad` for an array argument of a call (see [`AddScaled`]).
#[inline(always)]
pub fn add_scaled<T, G: AddScaled<T>>(acc: &mut [T], g: T, grad: &G) {
    grad.add_scaled_to(acc, g);
}

/// `g · grad`: what an argument of a call receives from the callee's gradient.
#[inline(always)]
pub fn scale<S, G: Pullback<S>>(g: S, grad: &G) -> G::Output {
    grad.scale(g)
}

/// Compiles only if `bare` is `sgrad`'s own one-array function `own`: a bare
/// `sum(..)` in differentiated code gets the derivative of `sgrad::sum`, so a
/// function of the user's with that name would be a type error here.
#[inline(always)]
pub fn is_runtime_fn1<T, R, F: Fn(&[T]) -> R>(_bare: F, _own: F, _x: &[T]) {}

/// As [`is_runtime_fn1`], for `dot`.
#[inline(always)]
pub fn is_runtime_fn2<T, R, F: Fn(&[T], &[T]) -> R>(_bare: F, _own: F, _x: &[T]) {}

/// The tape of a loop: one entry per iteration, holding the values the
/// backward sweep needs, allocated once from the trip count.
#[inline]
pub fn tape<E, I: Iterator>(iterations: &I) -> Vec<E> {
    Vec::with_capacity(iterations.size_hint().0)
}

/// Makes room on a tape shared by every run of a nested loop (declared once
/// at the top of the function) for the iterations about to run, so that
/// [`put`] inside the loop is a plain store: a loop with a call in it (a
/// `push` that may grow the `Vec`) keeps fewer values in registers and
/// runs markedly slower. The tape only grows: a tape that a loop fills and
/// empties again, once per iteration of a loop around it, is allocated once.
#[inline]
pub fn reserve<E, I: Iterator>(tape: &mut Vec<Option<E>>, top: usize, iterations: &I) {
    let need = top + iterations.size_hint().0;
    if tape.len() < need {
        tape.resize_with(need, || None);
    }
}

/// Records `entry` at `*top` of a shared tape with room made by [`reserve`]
/// and moves `*top` up. The count lives in a local of the generated code: a
/// `Vec`'s own length would be loaded and stored on every entry, a chain
/// through memory.
#[inline(always)]
pub fn put<E>(tape: &mut [Option<E>], top: &mut usize, entry: E) {
    tape[*top] = Some(entry);
    *top += 1;
}

/// The last entry in use of a shared tape: what the iteration being
/// replayed saved. The forward sweep recorded exactly one entry per
/// iteration, and the backward sweep replays them in reverse.
#[inline(always)]
pub fn pop<E>(tape: &mut [Option<E>], top: &mut usize) -> E {
    *top -= 1;
    tape[*top]
        .take()
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

/// An empty `Vec` of the same element type as `like`: the tangent of a
/// `Vec::new()` whose type only an annotation on the value fixes.
#[inline(always)]
pub fn empty_like<T>(_like: &Vec<T>, capacity: usize) -> Vec<T> {
    Vec::with_capacity(capacity)
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

/// The seed of the backward sweep of a function that returns an array: the
/// caller's cotangent, copied into an adjoint shaped like the result.
///
/// # Panics
///
/// If `cotangent` and the result differ in length: a vector–Jacobian
/// product takes one cotangent element per output.
pub trait Seed<T> {
    /// An adjoint of `self`'s type holding `cotangent`.
    fn seed(&self, cotangent: &[T]) -> Self;
}

impl<T: Real> Seed<T> for Vec<T> {
    #[inline]
    fn seed(&self, cotangent: &[T]) -> Self {
        check_cotangent(self.len(), cotangent.len());
        cotangent.to_vec()
    }
}

impl<T: Real, const N: usize> Seed<T> for [T; N] {
    #[inline]
    fn seed(&self, cotangent: &[T]) -> Self {
        check_cotangent(N, cotangent.len());
        ::core::array::from_fn(|i| cotangent[i])
    }
}

#[track_caller]
fn check_cotangent(outputs: usize, given: usize) {
    assert_eq!(
        outputs, given,
        "the cotangent has {given} elements, but the function returned {outputs}: a vector-Jacobian product takes one per output"
    );
}

/// See [`Seed`].
#[inline(always)]
pub fn seed<T, S: Seed<T>>(result: &S, cotangent: &[T]) -> S {
    result.seed(cotangent)
}

/// A callee's gradient for one parameter, from the pullback of a call whose
/// value is an array (`cotangent`, that value's adjoint, fixes the scalar
/// type): the identity, there to name the mistake when the callee has no
/// gradient for the parameter (`NoGradient`).
#[inline(always)]
pub fn received<T: Real, G: Pullback<T>>(grad: G, _cotangent: &[T]) -> G {
    grad
}

/// `acc += grad` for an array argument of a call whose value is an array
/// (see [`AddScaled`]).
#[inline(always)]
pub fn add_gradient<T: Real, G: AddScaled<T>>(acc: &mut [T], grad: &G) {
    grad.add_scaled_to(acc, T::one());
}
