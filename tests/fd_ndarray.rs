//! `ndarray` arrays (feature `ndarray`) as differentiation variables and as
//! data: `ArrayView1<f64>`, `&Array1<f64>`, `ArrayView2<f64>`,
//! `&Array2<f64>`, read as `x[i]` and `a[[i, j]]`, with `.len()`,
//! `.nrows()`, `.ncols()` and rows `a.row(i)` in bodies.
//!
//! Each program is checked against the oracle of `SEMANTICS.md`
//! (`per_occurrence::Oracle`): the value of `<name>_grad` bit for bit the
//! value of `<name>`, and every component of the gradient and random
//! directions against central differences of the plain program, with each
//! occurrence of a site that blocks the variable frozen at its value at the
//! base point. The same programs written on slices give the same values and
//! gradients, bit for bit (the generated code does the same arithmetic in
//! the same order).

#![cfg(feature = "ndarray")]
#![allow(clippy::needless_range_loop)]

use ndarray::{Array1, ArrayView1};
use sgrad::differentiable;
use std::hint::black_box;

mod common;
use common::per_occurrence::{Oracle, Sites};
use common::{assert_bits, Cut, Rng};

// ---------------------------------------------------------------------------
// Helpers: the flat vector of every differentiation variable's components
// (row-major for a matrix) and back.

fn arr1(p: &[f64]) -> Array1<f64> {
    Array1::from_vec(p.to_vec())
}

/// The components of gradients, in order, row-major.
fn flat<'a>(parts: impl IntoIterator<Item = &'a [f64]>) -> Vec<f64> {
    parts.into_iter().flatten().copied().collect()
}

/// The whole check of one program: `f` (the plain function's value) bit for
/// bit `value` (`f_grad`'s), the copy's value, every component and random
/// directions of the frozen programs against central differences.
#[track_caller]
#[allow(clippy::too_many_arguments)]
fn check(
    name: &str,
    copy: &dyn Fn(&[f64], &mut Sites) -> f64,
    sites: &[Cut],
    shape: &[usize],
    x: &[f64],
    f: f64,
    (value, grad): (f64, &[f64]),
    rng: &mut Rng,
) {
    assert_bits(name, f, value);
    let oracle = Oracle {
        name,
        copy,
        sites,
        shape,
    };
    oracle.check(x, value, grad, rng);
}

// ===========================================================================
// A dot product: `ArrayView1` and `&Array1` variables, `.len()`.

#[differentiable(x, w)]
fn dot_nd(x: ArrayView1<f64>, w: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * w[i];
    }
    s
}

#[differentiable(x, w)]
fn dot_slices(x: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * w[i];
    }
    s
}

#[test]
fn dot_product() {
    let mut rng = Rng::new(1);
    for n in [1usize, 3, 8] {
        let x = rng.vec(n, -2.0, 2.0);
        let w = rng.vec(n, -2.0, 2.0);
        let (xa, wa) = (arr1(&x), arr1(&w));
        let (v, (gx, gw)) = dot_nd_grad(xa.view(), &wa);
        let g: (Array1<f64>, Array1<f64>) = (gx, gw);
        let grad = flat([g.0.as_slice().unwrap(), g.1.as_slice().unwrap()]);
        let copy = |p: &[f64], _: &mut Sites| dot_nd(arr1(&p[..n]).view(), &arr1(&p[n..]));
        let f = dot_nd(black_box(xa.view()), black_box(&wa));
        let all = flat([&x[..], &w[..]]);
        check("dot_nd", &copy, &[], &[n, n], &all, f, (v, &grad), &mut rng);
        let (vs, (gxs, gws)) = dot_slices_grad(&x, &w);
        assert_bits("dot_slices", vs, v);
        assert_eq!(flat([&gxs[..], &gws[..]]), grad);
    }
}
