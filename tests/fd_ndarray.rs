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

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use sgrad::{differentiable, sg, sg_for, Real};
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

fn arr2(p: &[f64], rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_vec((rows, cols), p.to_vec()).expect("rows × cols numbers")
}

fn rows_of(p: &[f64], cols: usize) -> Vec<Vec<f64>> {
    p.chunks(cols).map(<[f64]>::to_vec).collect()
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

// ===========================================================================
// A matrix-vector product `a[[i, j]] x[j]` in a squared error: `&Array2`
// and `ArrayView1` variables, `y` an `ndarray` parameter that is data.

#[differentiable(a, x)]
fn matvec_nd(a: &Array2<f64>, x: ArrayView1<f64>, y: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..a.nrows() {
        let mut t = 0.0;
        for j in 0..x.len() {
            t += a[[i, j]] * x[j];
        }
        let d = t.tanh() - y[i];
        s += d * d;
    }
    s
}

#[differentiable(a, x)]
fn matvec_slices(a: &[Vec<f64>], x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        let mut t = 0.0;
        for j in 0..x.len() {
            t += a[i][j] * x[j];
        }
        let d = t.tanh() - y[i];
        s += d * d;
    }
    s
}

#[test]
fn matrix_vector_product() {
    let mut rng = Rng::new(2);
    for (m, n) in [(1usize, 1usize), (3, 2), (4, 5)] {
        let ap = rng.vec(m * n, -1.0, 1.0);
        let x = rng.vec(n, -1.0, 1.0);
        let y = arr1(&rng.vec(m, -1.0, 1.0));
        let a = arr2(&ap, m, n);
        let (v, (ga, gx)) = matvec_nd_grad(&a, x.view_nd(), &y);
        let (ga, gx): (Array2<f64>, Array1<f64>) = (ga, gx);
        assert_eq!(ga.dim(), (m, n));
        let grad = flat([ga.as_slice().unwrap(), gx.as_slice().unwrap()]);
        let copy = |p: &[f64], _: &mut Sites| {
            matvec_nd(&arr2(&p[..m * n], m, n), arr1(&p[m * n..]).view(), &y)
        };
        let f = matvec_nd(black_box(&a), black_box(x.view_nd()), black_box(&y));
        let all = flat([&ap[..], &x[..]]);
        check(
            "matvec_nd",
            &copy,
            &[],
            &[m * n, n],
            &all,
            f,
            (v, &grad),
            &mut rng,
        );
        let ys = y.to_vec();
        let (vs, (gas, gxs)) = matvec_slices_grad(&rows_of(&ap, n), &x, &ys);
        assert_bits("matvec_slices", vs, v);
        assert_eq!(flat(gas.iter().map(|r| &r[..]).chain([&gxs[..]])), grad);
    }
}

/// `x.view_nd()`: a vector of the tests' as an `ndarray` view.
trait ViewNd {
    fn view_nd(&self) -> ArrayView1<'_, f64>;
}

impl ViewNd for Vec<f64> {
    fn view_nd(&self) -> ArrayView1<'_, f64> {
        ArrayView1::from(&self[..])
    }
}

// ===========================================================================
// A quadratic form xᵀ Q x + bᵀ x: an `ArrayView2` variable, a `&Array1`.

#[differentiable(q, x, b)]
fn quadratic_nd(q: ArrayView2<f64>, x: &Array1<f64>, b: ArrayView1<f64>) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            s += x[i] * q[[i, j]] * x[j];
        }
        s += b[i] * x[i];
    }
    s
}

#[differentiable(q, x, b)]
fn quadratic_slices(q: &[Vec<f64>], x: &[f64], b: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            s += x[i] * q[i][j] * x[j];
        }
        s += b[i] * x[i];
    }
    s
}

#[test]
fn quadratic_form() {
    let mut rng = Rng::new(3);
    for n in [1usize, 2, 5] {
        let qp = rng.vec(n * n, -1.0, 1.0);
        let x = rng.vec(n, -2.0, 2.0);
        let b = rng.vec(n, -1.0, 1.0);
        let q = arr2(&qp, n, n);
        let xa = arr1(&x);
        let (v, (gq, gx, gb)) = quadratic_nd_grad(q.view(), &xa, b.view_nd());
        let grad = flat([
            gq.as_slice().unwrap(),
            gx.as_slice().unwrap(),
            gb.as_slice().unwrap(),
        ]);
        // The gradient of xᵀQx + bᵀx with respect to x is (Q + Qᵀ) x + b.
        for i in 0..n {
            let want = (0..n).map(|j| (q[[i, j]] + q[[j, i]]) * x[j]).sum::<f64>() + b[i];
            assert!((gx[i] - want).abs() <= 1e-12 * want.abs().max(1.0));
        }
        let copy = |p: &[f64], _: &mut Sites| {
            let nn = n * n;
            quadratic_nd(
                arr2(&p[..nn], n, n).view(),
                &arr1(&p[nn..nn + n]),
                arr1(&p[nn + n..]).view(),
            )
        };
        let f = quadratic_nd(black_box(q.view()), black_box(&xa), black_box(b.view_nd()));
        let all = flat([&qp[..], &x[..], &b[..]]);
        check(
            "quadratic_nd",
            &copy,
            &[],
            &[n * n, n, n],
            &all,
            f,
            (v, &grad),
            &mut rng,
        );
        let (vs, (gqs, gxs, gbs)) = quadratic_slices_grad(&rows_of(&qp, n), &x, &b);
        assert_bits("quadratic_slices", vs, v);
        let slices = flat(gqs.iter().map(|r| &r[..]).chain([&gxs[..], &gbs[..]]));
        assert_eq!(slices, grad);
    }
}

// ===========================================================================
// A logistic loss over the rows of a data matrix, with `.nrows()` and
// `.ncols()` loops: the weights a `&Array2` variable (one row per class),
// the samples an `&Array2` of data.

#[differentiable(w, b)]
fn softmax_loss_nd(w: &Array2<f64>, b: ArrayView1<f64>, xs: &Array2<f64>, ys: &[usize]) -> f64 {
    let k = w.nrows();
    let mut loss = 0.0;
    for n in 0..xs.nrows() {
        let mut m = f64::NEG_INFINITY;
        let mut logits = vec![0.0; k];
        for c in 0..k {
            let mut z = b[c];
            for j in 0..w.ncols() {
                z += w[[c, j]] * xs[[n, j]];
            }
            logits[c] = z;
            m = m.max(sg(z));
        }
        let mut total = 0.0;
        for c in 0..k {
            total += (logits[c] - m).exp();
        }
        loss += total.ln() + m - logits[ys[n]];
    }
    loss / xs.nrows() as f64
}

#[test]
fn softmax_loss_with_nrows_and_ncols() {
    let mut rng = Rng::new(4);
    for (k, d, n) in [(2usize, 3usize, 4usize), (3, 2, 6)] {
        let wp = rng.vec(k * d, -1.0, 1.0);
        let b = rng.vec(k, -0.5, 0.5);
        let xs = arr2(&rng.vec(n * d, -2.0, 2.0), n, d);
        let ys: Vec<usize> = (0..n).map(|_| rng.below(k)).collect();
        let w = arr2(&wp, k, d);
        let (v, (gw, gb)) = softmax_loss_nd_grad(&w, b.view_nd(), &xs, &ys);
        let grad = flat([gw.as_slice().unwrap(), gb.as_slice().unwrap()]);
        // `sg(z)` in the running maximum: the log-sum-exp does not depend
        // on the shift, so the frozen program has the same derivative.
        let copy = |p: &[f64], _: &mut Sites| {
            softmax_loss_nd(&arr2(&p[..k * d], k, d), arr1(&p[k * d..]).view(), &xs, &ys)
        };
        let f = softmax_loss_nd(black_box(&w), black_box(b.view_nd()), &xs, &ys);
        let all = flat([&wp[..], &b[..]]);
        check(
            "softmax_loss_nd",
            &copy,
            &[],
            &[k * d, k],
            &all,
            f,
            (v, &grad),
            &mut rng,
        );
    }
}

// ===========================================================================
// `sg_for!` over an `ndarray` variable: a stop for `u` (all its components)
// that `v` sees through, and `sg` of an element.

#[differentiable(u, v)]
fn stops_nd(u: ArrayView1<f64>, v: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..u.len() {
        s += u[i] * v[i];
    }
    let scale = sg_for!(u, (0.5 * s).exp());
    let mut t = 0.0;
    for i in 0..u.len() {
        t += scale * u[i] * u[i] + sg(v[i]) * v[i];
    }
    t
}

#[test]
fn sg_for_an_ndarray_variable() {
    let mut rng = Rng::new(5);
    for n in [1usize, 4] {
        let u = rng.vec(n, -1.0, 1.0);
        let v = rng.vec(n, -1.0, 1.0);
        let (value, (gu, gv)) = stops_nd_grad(u.view_nd(), &arr1(&v));
        let grad = flat([gu.as_slice().unwrap(), gv.as_slice().unwrap()]);
        let copy = |p: &[f64], st: &mut Sites| {
            let (u, v) = (&p[..n], &p[n..]);
            let mut s = 0.0;
            for i in 0..n {
                s += u[i] * v[i];
            }
            let scale = st.cut(0, (0.5 * s).exp());
            let mut t = 0.0;
            for i in 0..n {
                t += scale * u[i] * u[i] + st.cut(1, v[i]) * v[i];
            }
            t
        };
        let sites = [Cut::For(&[0]), Cut::All];
        let f = stops_nd(black_box(u.view_nd()), black_box(&arr1(&v)));
        let all = flat([&u[..], &v[..]]);
        check(
            "stops_nd",
            &copy,
            &sites,
            &[n, n],
            &all,
            f,
            (value, &grad),
            &mut rng,
        );
        // The stop cuts every component of `u` and none of `v`.
        let s: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
        for i in 0..n {
            let want = 2.0 * (0.5 * s).exp() * u[i];
            assert!((gu[i] - want).abs() <= 1e-12 * want.abs().max(1.0));
        }
    }
}

// ===========================================================================
// Rows: `let r = a.row(i)` is a view whose elements `r[j]` are `a[[i, j]]`
// (their derivative goes to `a`), with `r.len()` and `r.iter()`; the same
// function on `&[Vec<f64>]` with `&a[i]`.

#[differentiable(a, x)]
fn rows_nd(a: ArrayView2<f64>, x: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..a.nrows() {
        let r = a.row(i);
        let mut t = 0.0;
        for j in 0..r.len() {
            t += r[j] * x[j];
        }
        let mut q = 0.0;
        for v in r.iter() {
            q += v * v;
        }
        s += t.sin() + 0.5 * q;
    }
    s
}

#[differentiable(a, x)]
fn rows_slices(a: &[Vec<f64>], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        let r = &a[i];
        let mut t = 0.0;
        for j in 0..r.len() {
            t += r[j] * x[j];
        }
        let mut q = 0.0;
        for v in r.iter() {
            q += v * v;
        }
        s += t.sin() + 0.5 * q;
    }
    s
}

#[test]
fn rows_of_a_matrix() {
    let mut rng = Rng::new(6);
    for (m, n) in [(1usize, 2usize), (3, 3), (2, 5)] {
        let ap = rng.vec(m * n, -1.0, 1.0);
        let x = rng.vec(n, -1.0, 1.0);
        let a = arr2(&ap, m, n);
        let xa = arr1(&x);
        let (v, (ga, gx)) = rows_nd_grad(a.view(), &xa);
        let grad = flat([ga.as_slice().unwrap(), gx.as_slice().unwrap()]);
        let copy =
            |p: &[f64], _: &mut Sites| rows_nd(arr2(&p[..m * n], m, n).view(), &arr1(&p[m * n..]));
        let f = rows_nd(black_box(a.view()), black_box(&xa));
        let all = flat([&ap[..], &x[..]]);
        check(
            "rows_nd",
            &copy,
            &[],
            &[m * n, n],
            &all,
            f,
            (v, &grad),
            &mut rng,
        );
        let (vs, (gas, gxs)) = rows_slices_grad(&rows_of(&ap, n), &x);
        assert_bits("rows_slices", vs, v);
        assert_eq!(flat(gas.iter().map(|r| &r[..]).chain([&gxs[..]])), grad);
    }
}

/// A view with other strides than its rows (a transpose, a column
/// slice): the gradient has the view's shape, in standard layout.
#[test]
fn strided_views() {
    let mut rng = Rng::new(7);
    let (m, n) = (3usize, 4usize);
    let big = arr2(&rng.vec(n * m, -1.0, 1.0), n, m);
    let a = big.t(); // m × n, column-major
    let x = rng.vec(n, -1.0, 1.0);
    let xa = arr1(&x);
    let (v, (ga, gx)) = rows_nd_grad(a, &xa);
    let owned = a.to_owned();
    let (vo, (gao, gxo)) = rows_nd_grad(owned.view(), &xa);
    assert_bits("rows_nd on a transpose", vo, v);
    assert_eq!(ga, gao);
    assert_eq!(gx, gxo);
    assert_eq!(ga.dim(), (m, n));
    // Every other element of a vector, as a variable.
    let long = arr1(&rng.vec(2 * n, -1.0, 1.0));
    let stepped = long.slice(ndarray::s![..;2]);
    let w = arr1(&rng.vec(n, -1.0, 1.0));
    let (_, (gs, gw)) = dot_nd_grad(stepped, &w);
    assert_eq!(gs, w);
    assert_eq!(gw, stepped.to_owned());
}

// ===========================================================================
// Rank-1 arrays iterate like slices: `x.iter().sum()`, `zip`, `for v in
// x.iter()`.

#[differentiable(x, w)]
fn iterate_nd(x: ArrayView1<f64>, w: ArrayView1<f64>) -> f64 {
    let total: f64 = x.iter().sum();
    let mut s = 0.0;
    for (a, b) in x.iter().zip(w.iter()) {
        s += a * b.cos();
    }
    s + total * total
}

#[test]
fn rank_one_iteration() {
    let mut rng = Rng::new(8);
    for n in [1usize, 3, 6] {
        let x = rng.vec(n, -1.0, 1.0);
        let w = rng.vec(n, -1.0, 1.0);
        let (v, (gx, gw)) = iterate_nd_grad(x.view_nd(), w.view_nd());
        let grad = flat([gx.as_slice().unwrap(), gw.as_slice().unwrap()]);
        let copy = |p: &[f64], _: &mut Sites| {
            iterate_nd(p[..n].to_vec().view_nd(), p[n..].to_vec().view_nd())
        };
        let f = iterate_nd(black_box(x.view_nd()), black_box(w.view_nd()));
        let all = flat([&x[..], &w[..]]);
        check(
            "iterate_nd",
            &copy,
            &[],
            &[n, n],
            &all,
            f,
            (v, &grad),
            &mut rng,
        );
    }
}

// ===========================================================================
// `f32` elements, and functions generic over `T: Real`.

#[differentiable(a, x)]
fn matvec_f32(a: &Array2<f32>, x: ArrayView1<f32>) -> f32 {
    let mut s = 0.0f32;
    for i in 0..a.nrows() {
        let mut t = 0.0f32;
        for j in 0..a.ncols() {
            t += a[[i, j]] * x[j];
        }
        s += t * t;
    }
    s
}

#[differentiable(a, x)]
fn bilinear_generic<T: Real>(a: ArrayView2<T>, x: ArrayView1<T>) -> T {
    let mut s = T::zero();
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            s += x[i] * a[[i, j]] * x[j];
        }
    }
    s
}

#[test]
fn f32_and_generic_elements() {
    let mut rng = Rng::new(9);
    let (m, n) = (3usize, 3usize);
    let ap = rng.vec(m * n, -1.0, 1.0);
    let x = rng.vec(n, -1.0, 1.0);
    // f32 against the f64 program's derivative: 2 t aᵢⱼ-weighted sums.
    let a32 = Array2::from_shape_fn((m, n), |(i, j)| ap[i * n + j] as f32);
    let x32 = Array1::from_shape_fn(n, |j| x[j] as f32);
    let (v32, (ga32, gx32)) = matvec_f32_grad(&a32, x32.view());
    assert_bits(
        "matvec_f32",
        matvec_f32(black_box(&a32), black_box(x32.view())),
        v32,
    );
    for i in 0..m {
        let t: f32 = (0..n).map(|j| a32[[i, j]] * x32[j]).sum();
        for j in 0..n {
            let want = 2.0 * t * x32[j];
            assert!((ga32[[i, j]] - want).abs() <= 1e-5 * want.abs().max(1.0));
        }
    }
    for j in 0..n {
        let want: f32 = (0..m)
            .map(|i| 2.0 * (0..n).map(|k| a32[[i, k]] * x32[k]).sum::<f32>() * a32[[i, j]])
            .sum();
        assert!((gx32[j] - want).abs() <= 1e-5 * want.abs().max(1.0));
    }
    // Generic at f64, against central differences.
    let a = arr2(&ap, m, n);
    let (v, (ga, gx)) = bilinear_generic_grad(a.view(), x.view_nd());
    let grad = flat([ga.as_slice().unwrap(), gx.as_slice().unwrap()]);
    let copy = |p: &[f64], _: &mut Sites| {
        bilinear_generic(
            arr2(&p[..m * n], m, n).view(),
            p[m * n..].to_vec().view_nd(),
        )
    };
    let f = bilinear_generic(black_box(a.view()), black_box(x.view_nd()));
    let all = flat([&ap[..], &x[..]]);
    check(
        "bilinear_generic",
        &copy,
        &[],
        &[m * n, n],
        &all,
        f,
        (v, &grad),
        &mut rng,
    );
}

// ===========================================================================
// Composition: a differentiated helper taking `ArrayView1` and `&Array1`,
// called with a whole variable and with rows `a.row(i)`.

#[differentiable(x, w)]
fn dot_sin(x: ArrayView1<f64>, w: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * w[i];
    }
    s.sin()
}

#[differentiable(a, x, w)]
fn calls_nd(a: &Array2<f64>, x: ArrayView1<f64>, w: &Array1<f64>) -> f64 {
    let mut s = dot_sin(x, w);
    for i in 0..a.nrows() {
        s += dot_sin(a.row(i), w) * x[i];
    }
    s
}

#[test]
fn calls_through_helpers() {
    let mut rng = Rng::new(10);
    for n in [1usize, 3] {
        let ap = rng.vec(n * n, -1.0, 1.0);
        let x = rng.vec(n, -1.0, 1.0);
        let w = rng.vec(n, -1.0, 1.0);
        let (a, wa) = (arr2(&ap, n, n), arr1(&w));
        let (v, (ga, gx, gw)) = calls_nd_grad(&a, x.view_nd(), &wa);
        let grad = flat([
            ga.as_slice().unwrap(),
            gx.as_slice().unwrap(),
            gw.as_slice().unwrap(),
        ]);
        let copy = |p: &[f64], _: &mut Sites| {
            let nn = n * n;
            calls_nd(
                &arr2(&p[..nn], n, n),
                p[nn..nn + n].to_vec().view_nd(),
                &arr1(&p[nn + n..]),
            )
        };
        let f = calls_nd(black_box(&a), black_box(x.view_nd()), black_box(&wa));
        let all = flat([&ap[..], &x[..], &w[..]]);
        check(
            "calls_nd",
            &copy,
            &[],
            &[n * n, n, n],
            &all,
            f,
            (v, &grad),
            &mut rng,
        );
    }
}

// ===========================================================================
// Forward mode (`; forward`): the tangent of an `ndarray` variable is an
// array of its shape, and `<gradient, t> = jvp(t)`.

#[differentiable(a, x; forward)]
fn forward_nd(a: &Array2<f64>, x: ArrayView1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..a.nrows() {
        let r = a.row(i);
        for j in 0..a.ncols() {
            s += (r[j] * x[j]).sin() + a[[i, j]] * a[[i, j]];
        }
    }
    s
}

#[test]
fn forward_mode_agrees_with_the_gradient() {
    let mut rng = Rng::new(11);
    let (m, n) = (3usize, 2usize);
    let a = arr2(&rng.vec(m * n, -1.0, 1.0), m, n);
    let x = rng.vec(n, -1.0, 1.0);
    let (v, (ga, gx)) = forward_nd_grad(&a, x.view_nd());
    for _ in 0..4 {
        let ta = arr2(&rng.vec(m * n, -1.0, 1.0), m, n);
        let tx = rng.vec(n, -1.0, 1.0);
        let (vj, dj) = forward_nd_jvp(&a, x.view_nd(), &ta, tx.view_nd());
        assert_bits("forward_nd_jvp", v, vj);
        let terms: Vec<f64> = (ga.iter().zip(&ta))
            .chain(gx.iter().zip(&tx))
            .map(|(g, t)| g * t)
            .collect();
        let dot: f64 = terms.iter().sum();
        let scale: f64 = terms.iter().map(|t| t.abs()).sum();
        assert!(
            (dot - dj).abs() <= 1e-12 * scale.max(1e-300),
            "{dot} vs {dj}"
        );
    }
}
