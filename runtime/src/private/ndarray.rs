//! `ndarray` arrays as differentiation variables (feature `ndarray`): the
//! gradient traits of the parent module for `ArrayBase`, and the types the
//! generated code names (`Array1<F>`, `Array2<F>`, the gradients of
//! `ArrayView1<F>`, `&Array1<F>`, `ArrayView2<F>`, `&Array2<F>`). The macro
//! recognises those types by name (`symbol::ndarray_type`) and indexes
//! them as `x[i]` and `x[[i, j]]`; an adjoint is an owned array of the
//! variable's shape, in standard layout, whatever the variable's strides.

pub use ::ndarray::{Array1, Array2};

use ::ndarray::{Array, ArrayBase, ArrayViewMut, Data, Dimension};

use super::{Accumulate, Along, Differentiable, Pullback, Scale};
use crate::Real;

impl<T: Real, S: Data<Elem = T>, D: Dimension> Differentiable for ArrayBase<S, D> {
    type Gradient = Array<T, D>;
    #[inline]
    fn zero_gradient(&self) -> Array<T, D> {
        Array::from_elem(self.raw_dim(), T::zero())
    }
}

/// Adds `g` into `acc`, element by element (both of one shape).
#[track_caller]
fn add_into<T: Real, D: Dimension>(mut acc: ArrayViewMut<'_, T, D>, g: &Array<T, D>) {
    assert_eq!(
        acc.shape(),
        g.shape(),
        "a gradient added to an adjoint of another shape"
    );
    acc.zip_mut_with(g, |a, &b| *a += b);
}

impl<T: Real, D: Dimension> Accumulate for Array<T, D> {
    #[inline]
    fn add_to(&mut self, g: Self) {
        add_into(self.view_mut(), &g);
    }
}

/// `view += g`: a contribution to a row `a̅.row_mut(i)` of an adjoint (the
/// derivative of a row `a.row(i)` passed whole to a differentiated helper).
#[inline]
pub fn add_to_view<T: Real, D: Dimension>(view: ArrayViewMut<'_, T, D>, g: Array<T, D>) {
    add_into(view, &g);
}

impl<S: Copy, G: Scale<S>, D: Dimension> Scale<S> for Array<G, D> {
    #[inline]
    fn scale_by(&mut self, g: S) {
        self.map_inplace(|x| x.scale_by(g));
    }
}

#[diagnostic::do_not_recommend]
impl<S: Copy, G: Pullback<S>, D: Dimension> Pullback<S> for Array<G, D> {
    type Output = Array<G::Output, D>;
    #[inline]
    fn scale(&self, g: S) -> Self::Output {
        self.map(|x| x.scale(g))
    }
}

/// An array gradient along a tangent of the same shape: `Σ gᵢ tᵢ`.
#[diagnostic::do_not_recommend]
impl<T: Real, S: Data<Elem = T>, D: Dimension> Along<ArrayBase<S, D>> for Array<T, D> {
    type Output = T;
    #[inline]
    fn along(&self, t: &ArrayBase<S, D>) -> T {
        assert_eq!(
            self.shape(),
            t.shape(),
            "a tangent of another shape than its variable"
        );
        self.iter()
            .zip(t.iter())
            .fold(T::zero(), |s, (&g, &x)| s + g * x)
    }
}

/// As [`Along`] for a tangent passed by reference (`&Array2<f64>`).
#[diagnostic::do_not_recommend]
impl<T: Real, S: Data<Elem = T>, D: Dimension> Along<&ArrayBase<S, D>> for Array<T, D> {
    type Output = T;
    #[inline]
    fn along(&self, t: &&ArrayBase<S, D>) -> T {
        self.along(*t)
    }
}
