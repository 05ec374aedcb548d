//! Loops whose carried floats are running sums (`s += t`, `s -= t`,
//! `s = s + a - b`), checked against an independent oracle.
//!
//! Such a loop at the top of a function whose body holds a loop or builds an
//! array is differentiated iteration by iteration
//! (`macros/src/sweep/running_sums.rs`): each iteration's backward code runs
//! right after its forward code with the sum's adjoint taken as 1, into
//! buffers scaled by the sum's real adjoint after the loop, the adjoints of
//! `x[i + c]` carried in registers and stored once, with a tail after the
//! loop. A flat sum is replayed by a second loop with the same registers
//! (`loops.rs`), and a loop the path declines (nested in a loop or an `if`,
//! `while`, `break`, a store into an array from outside, two sums in one
//! class, a sum updated under an `if`) is taped. The corpus below is written
//! the way users write such loops, with the edges of those conditions on
//! both sides.
//!
//! The oracle is `SEMANTICS.md`'s rule, as in `fd_loops.rs`: for each
//! function a plain copy over one flat vector of its differentiation
//! variables' components (the function itself where it has no `sg` /
//! `sg_for!` site; otherwise a copy in which each site is `s.cut(site, e)`,
//! each dynamic occurrence frozen at its own value for the variables it
//! blocks), differentiated by central differences per component and in
//! random directions; `f_grad`'s value bit for bit `f`'s; and forward mode
//! (`f_jvp`) by the dot-product identity `<gradient, v> = jvp(v)`
//! (`Oracle::check_all`). Empty ranges also pin the gradient to exact
//! zeros, and the generic function's Hessian (`Dual<f64>` through the
//! gradient) is checked against central differences of the gradient.

// The differentiated functions index in `for i in a..b` loops, step
// counters by hand (`j += 1`), write `s = s + a - b` and build `vec!`
// windows on purpose: those are the forms under test. The copies mirror them.
#![allow(
    clippy::needless_range_loop,
    clippy::explicit_counter_loop,
    clippy::assign_op_pattern,
    clippy::useless_vec
)]

use sgrad::{differentiable, hessian, sg, sg_for, Dual, Real};
use std::hint::black_box;

mod common;
use common::per_occurrence::{Body, Oracle, Sites};
use common::{assert_bits, like, Cut, Jvp, Rng, Tol, F64};

// ===========================================================================
// Checks.

/// A function of one slice, its generated gradient and jvp.
type SliceFns = (
    fn(&[f64]) -> f64,
    fn(&[f64]) -> (f64, Vec<f64>),
    fn(&[f64], &[f64]) -> (f64, f64),
);

/// A program without sites (its own copy): `f` bit for bit `f_grad`'s value,
/// every component and random directions by central differences, the jvp
/// identity.
#[track_caller]
fn check_plain(
    name: &str,
    f: &dyn Fn(&[f64]) -> f64,
    shape: &[usize],
    x: &[f64],
    grad: (f64, &[f64]),
    jvp: Jvp,
    rng: &mut Rng,
) {
    let copy = |p: &[f64], _: &mut Sites| f(p);
    let oracle = Oracle {
        name,
        copy: &copy,
        sites: &[],
        shape,
    };
    oracle.check_all_with(x, f(black_box(x)), grad, jvp, rng, (F64, 0.0));
}

/// A program with sites against its copy (`f` the function's value).
#[track_caller]
#[allow(clippy::too_many_arguments)]
fn check_sites(
    name: &str,
    copy: Body,
    sites: &[Cut],
    shape: &[usize],
    x: &[f64],
    f: f64,
    grad: (f64, &[f64]),
    jvp: Jvp,
    rng: &mut Rng,
) {
    let oracle = Oracle {
        name,
        copy,
        sites,
        shape,
    };
    oracle.check_all_with(x, f, grad, jvp, rng, (F64, 1e-12));
}

/// [`check_plain`] for a function of one slice.
#[track_caller]
fn check_slice(name: &str, (f, fg, fj): SliceFns, x: &[f64], rng: &mut Rng) {
    let (v, g) = fg(black_box(x));
    assert_eq!(g.len(), x.len(), "{name}: gradient length");
    check_plain(name, &f, &[x.len()], x, (v, &g), &|dir| fj(x, dir), rng);
}

/// The gradient is exactly zero (nothing reads the variable).
#[track_caller]
fn assert_zero(what: &str, g: &[f64]) {
    assert!(
        g.iter().all(|&d| d == 0.0),
        "{what}: gradient {g:?}, want exact zeros"
    );
}

/// Points whose entries and neighbouring differences are at least `gap`
/// away from zero (for functions that branch on them).
fn spread(rng: &mut Rng, n: usize, lo: f64, hi: f64, gap: f64) -> Vec<f64> {
    loop {
        let x = rng.vec(n, lo, hi);
        if x.iter().all(|a| a.abs() > gap) && x.windows(2).all(|w| (w[0] - w[1]).abs() > gap) {
            return x;
        }
    }
}

// ===========================================================================
// Offsets −1, 0, +1, +2 in `1..n - 2`.

/// `x[i - 1] * x[i + 2]` and `x[i]`, `x[i + 1]` in a flat sum.
#[differentiable(x; forward)]
fn stencil_flat(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 1..n - 2 {
        s += x[i - 1] * x[i + 2] + (x[i] - x[i + 1]).powi(2) * x[i].cos();
    }
    s
}

/// The same offsets with a window array and an inner loop per iteration,
/// every read of `x` before the inner loop (see `read_after_inner_loop`).
#[differentiable(x; forward)]
fn stencil_window(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 1..n - 2 {
        let a = x[i - 1] * x[i + 2] + (x[i] - x[i + 1]).powi(2);
        let win = [x[i - 1], x[i], x[i + 1], x[i + 2]];
        let mut e = 1.0;
        for k in 0..4 {
            e += (k as f64 + 1.0) * win[k] * win[k];
        }
        s += a + e.sqrt();
    }
    s
}

/// Offsets 0 and +2 only (a gap between the registers).
#[differentiable(x; forward)]
fn stencil_gap(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 2 {
        let v = vec![x[i], x[i + 2]];
        s += v[0] * v[1].sin() + v[1];
    }
    s
}

#[test]
fn offsets_minus_one_to_plus_two() {
    let mut rng = Rng::new(1);
    let fns: [(&str, SliceFns); 2] = [
        (
            "stencil_flat",
            (stencil_flat, stencil_flat_grad, stencil_flat_jvp),
        ),
        (
            "stencil_window",
            (stencil_window, stencil_window_grad, stencil_window_jvp),
        ),
    ];
    for n in [2usize, 3, 4, 5, 7, 50] {
        for _ in 0..4 {
            let x = rng.vec(n, -1.5, 1.5);
            for (name, fns) in fns {
                check_slice(name, fns, &x, &mut rng);
                if n <= 3 {
                    // `1..n - 2` is empty.
                    let (v, g) = (fns.1)(&x);
                    assert_eq!(v, 0.0, "{name} n={n}");
                    assert_zero(name, &g);
                }
            }
            check_slice(
                "stencil_gap",
                (stencil_gap, stencil_gap_grad, stencil_gap_jvp),
                &x,
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// Counters stepped with the index.

/// `let mut j = 1; for i in 0..n - 1 { .. x[j] ..; j += 1; }`.
#[differentiable(x; forward)]
fn counter_from_1(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut j = 1;
    for i in 0..x.len() - 1 {
        let d = [x[j] - x[i], x[j] * x[i]];
        s += d[0] * d[0] + d[1].sin();
        j += 1;
    }
    s
}

/// A counter starting at 2 in a range starting at 1 (`x[j]` is `x[i + 1]`),
/// read into locals used by an inner loop.
#[differentiable(x; forward)]
fn counter_from_2(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut j = 2;
    for i in 1..x.len() - 1 {
        let a = x[i - 1];
        let b = x[i];
        let c = x[j];
        let mut p = a;
        for _ in 0..3 {
            p = p * c + b;
        }
        s += p * p / (1.0 + a * a);
        j += 1;
    }
    s
}

/// A counter bumped before it is read.
#[differentiable(x; forward)]
fn counter_bumped_first(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut j = 0;
    for i in 0..x.len() - 1 {
        j += 1;
        let pair = [x[i], x[j]];
        s += (pair[0] - 2.0 * pair[1]).tanh() * pair[1];
    }
    s
}

/// A counter stepped by 2: `x[j]`, `x[j + 1]` are not `x[i + c]`.
#[differentiable(x; forward)]
fn counter_step_2(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut j = 0;
    for _ in 0..x.len() / 2 {
        let pair = [x[j], x[j + 1]];
        s += pair[0] * pair[1].exp() + x[j + 1] * x[j + 1];
        j += 2;
    }
    s
}

/// One counter through two loops: the second starts it where the first
/// left it, not at its literal.
#[differentiable(x; forward)]
fn counter_shared(x: &[f64]) -> f64 {
    let m = x.len() / 2;
    let mut s = 0.0;
    let mut j = 1;
    for i in 0..m {
        let pair = [x[i], x[j]];
        s += pair[0] * pair[1];
        j += 1;
    }
    let mut t = 0.0;
    for i in 0..m {
        let pair = [x[i], x[j - 1]];
        t += pair[0].sin() * pair[1];
        j += 1;
    }
    s * t + s
}

/// A counter starting at a literal in a range starting at a runtime `k`:
/// `x[j - 1]` is `x[i - k]`.
#[differentiable(x; forward)]
fn counter_runtime_start(x: &[f64], k: usize) -> f64 {
    let mut s = 0.0;
    let mut j = 1;
    for i in k..x.len() {
        let pair = [x[i], x[j - 1]];
        s += pair[0] * pair[1] + pair[1].cos();
        j += 1;
    }
    s
}

#[test]
fn counters() {
    let mut rng = Rng::new(2);
    let fns: [(&str, SliceFns); 5] = [
        (
            "counter_from_1",
            (counter_from_1, counter_from_1_grad, counter_from_1_jvp),
        ),
        (
            "counter_from_2",
            (counter_from_2, counter_from_2_grad, counter_from_2_jvp),
        ),
        (
            "counter_bumped_first",
            (
                counter_bumped_first,
                counter_bumped_first_grad,
                counter_bumped_first_jvp,
            ),
        ),
        (
            "counter_step_2",
            (counter_step_2, counter_step_2_grad, counter_step_2_jvp),
        ),
        (
            "counter_shared",
            (counter_shared, counter_shared_grad, counter_shared_jvp),
        ),
    ];
    for n in [1usize, 2, 3, 4, 7, 50] {
        for _ in 0..4 {
            let x = rng.vec(n, -1.2, 1.2);
            for (name, fns) in fns {
                check_slice(name, fns, &x, &mut rng);
            }
            for k in [0, 1, n / 2, n] {
                let (v, g) = counter_runtime_start_grad(&x, k);
                let f = |p: &[f64]| counter_runtime_start(p, k);
                check_plain(
                    "counter_runtime_start",
                    &f,
                    &[n],
                    &x,
                    (v, &g),
                    &|dir: &[f64]| counter_runtime_start_jvp(&x, k, dir),
                    &mut rng,
                );
            }
        }
    }
}

// ===========================================================================
// Ranges: inclusive, empty, starting at a runtime value.

/// `lo..=hi` with runtime bounds reading `x[i - 1]`, `x[i]`, `x[i + 1]`;
/// the sum's adjoint is `2 s + 1`.
#[differentiable(x; forward)]
fn incl_runtime(x: &[f64], lo: usize, hi: usize) -> f64 {
    let mut s = 0.0;
    for i in lo..=hi {
        let t = [x[i - 1], x[i + 1]];
        s += t[0] * x[i] + (t[1] - x[i]).exp();
    }
    s * s + s
}

/// `lo..hi` reading `x[i]`, `x[i + 1]`, `x[i + 2]` before an inner loop;
/// the result `(s - 3)²`.
#[differentiable(x; forward)]
fn excl_runtime(x: &[f64], lo: usize, hi: usize) -> f64 {
    let mut s = 0.0;
    for i in lo..hi {
        let c = x[i] * x[i + 2];
        let t = [x[i], x[i + 1], x[i + 2]];
        let mut q = 0.0;
        for k in 0..3 {
            q += t[k] * t[k];
        }
        s += q.sqrt() + c;
    }
    (s - 3.0).powi(2)
}

/// `1..=4` over `[f64; 6]` by value and `Vec<f64>` by value, the reads
/// before an inner loop.
#[differentiable(x, v; forward)]
fn fixed_and_vec(x: [f64; 6], v: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in 1..=4 {
        let b = v[i + 1] * v[i - 1];
        let xi = x[i];
        let loc = [x[i - 1], x[i + 1], v[i]];
        let mut q = 0.5;
        for k in 0..3 {
            q += loc[k] * loc[k];
        }
        s += q.ln() * xi + b;
    }
    s
}

/// A range starting at a runtime `k` with `x[i + 1]`, a polynomial of the
/// difference by an inner loop over differentiated coefficients.
#[differentiable(x, c; forward)]
fn from_runtime_start(x: &[f64], c: &[f64], k: usize) -> f64 {
    let mut s = 0.0;
    for i in k..x.len() - 1 {
        let d = x[i + 1] - x[i];
        let mut p = 0.0;
        for m in 0..c.len() {
            p = p * d + c[m];
        }
        s += p * p;
    }
    s
}

#[test]
fn inclusive_empty_and_runtime_ranges() {
    let mut rng = Rng::new(3);
    for n in [3usize, 4, 7, 50] {
        for _ in 0..3 {
            let x = rng.vec(n, -1.0, 1.0);
            let mut bounds = vec![(1, n - 2), (1, 1), (n - 2, n - 2)];
            if n > 4 {
                bounds.push((2, n - 3));
            }
            for (lo, hi) in bounds {
                let (v, g) = incl_runtime_grad(&x, lo, hi);
                let f = |p: &[f64]| incl_runtime(p, lo, hi);
                check_plain(
                    "incl_runtime",
                    &f,
                    &[n],
                    &x,
                    (v, &g),
                    &|dir: &[f64]| incl_runtime_jvp(&x, lo, hi, dir),
                    &mut rng,
                );
            }
            for (lo, hi) in [(0, n - 2), (1, n - 2), (0, 1), (n - 3, n - 2)] {
                let (v, g) = excl_runtime_grad(&x, lo, hi);
                let f = |p: &[f64]| excl_runtime(p, lo, hi);
                check_plain(
                    "excl_runtime",
                    &f,
                    &[n],
                    &x,
                    (v, &g),
                    &|dir: &[f64]| excl_runtime_jvp(&x, lo, hi, dir),
                    &mut rng,
                );
            }
            let c = rng.vec(3, -1.0, 1.0);
            for k in [0, 1, n - 2, n - 1] {
                let (v, (gx, gc)) = from_runtime_start_grad(&x, &c, k);
                let f = |p: &[f64]| from_runtime_start(&p[..n], &p[n..], k);
                check_plain(
                    "from_runtime_start",
                    &f,
                    &[n, 3],
                    &[&x[..], &c].concat(),
                    (v, &[&gx[..], &gc].concat()),
                    &|dir: &[f64]| from_runtime_start_jvp(&x, &c, k, &dir[..n], &dir[n..]),
                    &mut rng,
                );
            }
        }
    }
    for _ in 0..10 {
        let x: [f64; 6] = rng.array(-1.5, 1.5);
        let v6 = rng.vec(6, -1.5, 1.5);
        let (v, (gx, gv)) = fixed_and_vec_grad(x, v6.clone());
        let f = |p: &[f64]| fixed_and_vec(p[..6].try_into().unwrap(), p[6..].to_vec());
        check_plain(
            "fixed_and_vec",
            &f,
            &[6, 6],
            &[&x[..], &v6].concat(),
            (v, &[&gx[..], &gv].concat()),
            &|dir: &[f64]| {
                let (tx, tv) = like(&(x, v6.clone()), dir);
                fixed_and_vec_jvp(x, v6.clone(), tx, tv)
            },
            &mut rng,
        );
    }
}

#[test]
fn empty_ranges_give_exact_zeros() {
    // Not finite where a wrong read or tail would touch: nothing may read x.
    for n in [3usize, 4, 7] {
        let mut x = vec![f64::NAN; n];
        x[0] = f64::INFINITY;
        // `lo..=hi` with lo > hi, anywhere up to past the end.
        for (lo, hi) in [(2, 1), (n - 1, n - 2), (n, n - 1), (n + 3, 0)] {
            let (v, g) = incl_runtime_grad(&x, lo, hi);
            assert_eq!(v, 0.0, "incl_runtime {lo}..={hi}");
            assert_bits("incl_runtime", incl_runtime(black_box(&x), lo, hi), v);
            assert_zero(&format!("incl_runtime {lo}..={hi}"), &g);
            let (jv, jt) = incl_runtime_jvp(&x, lo, hi, &vec![1.0; n]);
            assert_eq!((jv, jt), (0.0, 0.0), "incl_runtime_jvp {lo}..={hi}");
        }
        // `lo..hi` with lo == hi (and lo > hi), up to the end.
        for (lo, hi) in [(0, 0), (1, 1), (n - 1, n - 1), (n, n), (n + 2, 1)] {
            let (v, g) = excl_runtime_grad(&x, lo, hi);
            assert_eq!(v, 9.0, "excl_runtime {lo}..{hi}");
            assert_bits("excl_runtime", excl_runtime(black_box(&x), lo, hi), v);
            assert_zero(&format!("excl_runtime {lo}..{hi}"), &g);
        }
        // A runtime start at or past the last element.
        let c = [0.5, -1.0, 2.0];
        for k in [n - 1, n, n + 4] {
            let (v, (gx, gc)) = from_runtime_start_grad(&x, &c, k);
            assert_eq!(v, 0.0);
            assert_zero("from_runtime_start x", &gx);
            assert_zero("from_runtime_start c", &gc);
        }
        let (v, g) = counter_runtime_start_grad(&x, n);
        assert_eq!(v, 0.0);
        assert_zero("counter_runtime_start", &g);
    }
    // Sizes whose `..n - 2`, `..n - 1`, `..n / 2` ranges are empty.
    for (n, cases) in [
        (
            1usize,
            &[
                "counter_from_1",
                "counter_from_2",
                "counter_bumped_first",
                "counter_step_2",
                "counter_shared",
            ][..],
        ),
        (
            2,
            &[
                "stencil_flat",
                "stencil_window",
                "stencil_gap",
                "counter_from_2",
            ][..],
        ),
    ] {
        let x = vec![f64::NAN; n];
        for &name in cases {
            let (v, g) = match name {
                "counter_from_1" => counter_from_1_grad(&x),
                "counter_from_2" => counter_from_2_grad(&x),
                "counter_bumped_first" => counter_bumped_first_grad(&x),
                "counter_step_2" => counter_step_2_grad(&x),
                "counter_shared" => counter_shared_grad(&x),
                "stencil_flat" => stencil_flat_grad(&x),
                "stencil_window" => stencil_window_grad(&x),
                "stencil_gap" => stencil_gap_grad(&x),
                _ => unreachable!(),
            };
            assert_eq!(v, 0.0, "{name} n={n}");
            assert_zero(&format!("{name} n={n}"), &g);
        }
    }
}

// ===========================================================================
// Registers declined: other reads of the array; whole path declined.

/// `x[i + 1]` beside a constant `x[0]`, and a read inside an `if`.
#[differentiable(x; forward)]
fn mixed_reads(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let mut t = [x[i + 1] * x[0], x[i]];
        if x[i] > 0.0 {
            t[1] = x[i + 1].sin();
        }
        s += t[0] + t[1] * t[1];
    }
    s
}

/// `x[i]`, `x[i + 1]` at the top and `x[i + 1]` again inside an `if`.
#[differentiable(x; forward)]
fn read_in_if(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        let mut t = w[0] * w[1];
        if w[0] < w[1] {
            t += x[i + 1].cos();
        }
        s += t;
    }
    s
}

/// The sum updated inside an `if` (not a running sum).
#[differentiable(x; forward)]
fn sum_in_if(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        if w[0] > w[1] {
            s += w[0] - w[1];
        } else {
            s += (w[1] - w[0]).powi(2) * w[0];
        }
    }
    s
}

/// A summing loop nested in an outer loop.
#[differentiable(x; forward)]
fn nested_in_loop(x: &[f64]) -> f64 {
    let mut total = 0.0;
    for r in 0..2 {
        let mut s = 0.0;
        for i in 0..x.len() - 1 {
            let w = [x[i], x[i + 1]];
            s += w[0] * w[1] * (r as f64 + 1.0) + w[1].sin();
        }
        total += s * s;
    }
    total
}

/// A loop that stores into an array declared before it, read again after.
#[differentiable(x; forward)]
fn stores_outside(x: &[f64]) -> f64 {
    let n = x.len();
    let mut out = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n - 1 {
        let w = [x[i], x[i + 1]];
        out[i] = w[0] * w[1];
        s += out[i].sin();
    }
    let mut t = 0.0;
    for i in 0..n {
        t += out[i] * x[i];
    }
    s + t
}

/// Two running sums of one class, multiplied after the loop.
#[differentiable(x; forward)]
fn two_sums_one_class(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut t = 1.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        s += w[0] * w[1];
        t += w[1].exp();
    }
    s * t.ln()
}

/// The sum read inside its own loop (not a running sum).
#[differentiable(x; forward)]
fn sum_reads_itself(x: &[f64]) -> f64 {
    let mut s = 0.5;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        s += 0.1 * s * w[0] + w[1];
    }
    s
}

/// A loop inside an `if`.
#[differentiable(x; forward)]
fn loop_in_if(x: &[f64], on: bool) -> f64 {
    let mut s = x[0];
    if on {
        for i in 0..x.len() - 1 {
            let w = [x[i], x[i + 1]];
            s += w[0] * w[1].cos();
        }
    }
    s * s
}

/// A loop left by `break` at a runtime index.
#[differentiable(x; forward)]
fn loop_with_break(x: &[f64], stop: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        if i == stop {
            break;
        }
        let w = [x[i], x[i + 1]];
        s += w[0] * w[1] + w[0].exp();
    }
    s
}

/// A `while` loop with a running sum.
#[differentiable(x; forward)]
fn while_sum(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut i = 1;
    while i < x.len() {
        let w = [x[i - 1], x[i]];
        s += (w[0] - w[1]).powi(2) + w[1];
        i += 1;
    }
    s
}

#[test]
fn declined_registers_and_declined_loops() {
    let mut rng = Rng::new(4);
    let fns: [(&str, SliceFns); 8] = [
        (
            "mixed_reads",
            (mixed_reads, mixed_reads_grad, mixed_reads_jvp),
        ),
        ("read_in_if", (read_in_if, read_in_if_grad, read_in_if_jvp)),
        ("sum_in_if", (sum_in_if, sum_in_if_grad, sum_in_if_jvp)),
        (
            "nested_in_loop",
            (nested_in_loop, nested_in_loop_grad, nested_in_loop_jvp),
        ),
        (
            "stores_outside",
            (stores_outside, stores_outside_grad, stores_outside_jvp),
        ),
        (
            "two_sums_one_class",
            (
                two_sums_one_class,
                two_sums_one_class_grad,
                two_sums_one_class_jvp,
            ),
        ),
        (
            "sum_reads_itself",
            (
                sum_reads_itself,
                sum_reads_itself_grad,
                sum_reads_itself_jvp,
            ),
        ),
        ("while_sum", (while_sum, while_sum_grad, while_sum_jvp)),
    ];
    for n in [1usize, 2, 3, 7, 50] {
        for _ in 0..4 {
            let x = spread(&mut rng, n, -1.2, 1.2, 1e-3);
            for (name, fns) in fns {
                check_slice(name, fns, &x, &mut rng);
            }
            for on in [false, true] {
                let (v, g) = loop_in_if_grad(&x, on);
                let f = |p: &[f64]| loop_in_if(p, on);
                check_plain(
                    "loop_in_if",
                    &f,
                    &[n],
                    &x,
                    (v, &g),
                    &|dir: &[f64]| loop_in_if_jvp(&x, on, dir),
                    &mut rng,
                );
            }
            for stop in [0, 1, n / 2, n + 1] {
                let (v, g) = loop_with_break_grad(&x, stop);
                let f = |p: &[f64]| loop_with_break(p, stop);
                check_plain(
                    "loop_with_break",
                    &f,
                    &[n],
                    &x,
                    (v, &g),
                    &|dir: &[f64]| loop_with_break_jvp(&x, stop, dir),
                    &mut rng,
                );
            }
        }
    }
}

// ===========================================================================
// Two arrays; the sum's adjoint other than 1; `-=`, `s = s + a - b`.

/// Two differentiated arrays read at `i` and `i + 1`, and a constant one.
#[differentiable(x, y; forward)]
#[allow(clippy::ptr_arg)]
fn two_arrays(x: &[f64], y: &Vec<f64>, c: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let cross = [x[i] * y[i + 1], x[i + 1] * y[i]];
        s += (cross[0] - cross[1]).powi(2) + x[i + 1] * y[i] * (c[i + 1] - c[i]);
    }
    s
}

/// The sum squared, starting from a differentiated value.
#[differentiable(x; forward)]
fn sum_squared(x: &[f64]) -> f64 {
    let mut s = x[0];
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        s += w[0] * w[1].sin();
    }
    s * s
}

/// `s.ln()` of a positive sum.
#[differentiable(x; forward)]
fn sum_ln(x: &[f64]) -> f64 {
    let mut s = 1.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        s += (w[0] - w[1]).powi(2) + w[0].exp();
    }
    s.ln()
}

/// `(s - 3.0).powi(2)` with `s = s + a + b`.
#[differentiable(x; forward)]
fn sum_shifted_square(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() {
        let w = [x[i - 1], x[i]];
        s = s + w[0] * w[1] + w[1].tanh();
    }
    (s - 3.0).powi(2)
}

/// The sum read by every iteration of a later loop.
#[differentiable(x; forward)]
fn sum_reused(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        s += w[0] * w[1];
    }
    let mut t = 0.0;
    for i in 0..x.len() {
        t += (s * x[i]).sin();
    }
    t
}

/// `s -= t`, the result `exp(s)`.
#[differentiable(x; forward)]
fn minus_assign(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() {
        let d = [x[i] - x[i - 1], x[i]];
        s -= d[0].powi(2) * d[1].cos();
    }
    s.exp()
}

/// `s = s + a - b`.
#[differentiable(x; forward)]
fn plus_minus(x: &[f64]) -> f64 {
    let mut s = 0.25;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        s = s + w[0] * w[1] - w[1].sin();
    }
    s * x[0]
}

/// Two fused loops over the same array, the second from 1.
#[differentiable(x; forward)]
fn two_loops_same_array(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n - 1 {
        let w = [x[i], x[i + 1]];
        s += w[0] * w[1].cos();
    }
    let mut t = 0.0;
    for i in 1..n {
        let w = vec![x[i - 1], x[i], s];
        t += (w[0] - w[1]) * w[2] + w[1] * w[1];
    }
    s * t + t
}

/// A local array filled by one loop (which stores outside it), read at
/// `z[i]`, `z[i + 1]` by a summing loop.
#[differentiable(x; forward)]
fn local_array_then_sum(x: &[f64]) -> f64 {
    let n = x.len();
    let mut z = vec![0.0; n];
    for i in 0..n {
        z[i] = x[i].exp() - x[i];
    }
    let mut s = 0.0;
    for i in 0..n - 1 {
        let w = [z[i], z[i + 1]];
        s += w[0] * w[1].sqrt();
    }
    s
}

/// The range's end variable decremented in the body: the range is
/// evaluated once.
#[differentiable(x; forward)]
#[allow(clippy::mut_range_bound)]
fn end_changed_inside(x: &[f64]) -> f64 {
    let mut m = x.len() - 1;
    let mut s = 0.0;
    for i in 0..m {
        m -= 1;
        let w = [x[i], x[i + 1]];
        s += w[0] * w[1] * (m as f64 + 1.0);
    }
    s + x[m]
}

/// The range's start variable incremented in the body.
#[differentiable(x; forward)]
#[allow(clippy::mut_range_bound)]
fn start_changed_inside(x: &[f64]) -> f64 {
    let mut k = 0;
    let mut s = 0.0;
    for i in k..x.len() - 1 {
        k += 1;
        let w = [x[i], x[i + 1]];
        s += w[0].sin() * w[1] * k as f64;
    }
    s
}

#[test]
fn adjoints_other_than_one_and_sum_forms() {
    let mut rng = Rng::new(5);
    let fns: [(&str, SliceFns); 10] = [
        (
            "sum_squared",
            (sum_squared, sum_squared_grad, sum_squared_jvp),
        ),
        ("sum_ln", (sum_ln, sum_ln_grad, sum_ln_jvp)),
        (
            "sum_shifted_square",
            (
                sum_shifted_square,
                sum_shifted_square_grad,
                sum_shifted_square_jvp,
            ),
        ),
        ("sum_reused", (sum_reused, sum_reused_grad, sum_reused_jvp)),
        (
            "minus_assign",
            (minus_assign, minus_assign_grad, minus_assign_jvp),
        ),
        ("plus_minus", (plus_minus, plus_minus_grad, plus_minus_jvp)),
        (
            "two_loops_same_array",
            (
                two_loops_same_array,
                two_loops_same_array_grad,
                two_loops_same_array_jvp,
            ),
        ),
        (
            "local_array_then_sum",
            (
                local_array_then_sum,
                local_array_then_sum_grad,
                local_array_then_sum_jvp,
            ),
        ),
        (
            "end_changed_inside",
            (
                end_changed_inside,
                end_changed_inside_grad,
                end_changed_inside_jvp,
            ),
        ),
        (
            "start_changed_inside",
            (
                start_changed_inside,
                start_changed_inside_grad,
                start_changed_inside_jvp,
            ),
        ),
    ];
    for n in [1usize, 2, 3, 7, 50] {
        for _ in 0..4 {
            let x = rng.vec(n, -1.0, 1.0);
            for (name, fns) in fns {
                check_slice(name, fns, &x, &mut rng);
            }
            let y = rng.vec(n, -1.0, 1.0);
            let c = rng.vec(n, -1.0, 1.0);
            let (v, (gx, gy)) = two_arrays_grad(&x, &y, &c);
            let f = |p: &[f64]| two_arrays(&p[..n], &p[n..].to_vec(), &c);
            check_plain(
                "two_arrays",
                &f,
                &[n, n],
                &[&x[..], &y].concat(),
                (v, &[&gx[..], &gy].concat()),
                &|dir: &[f64]| two_arrays_jvp(&x, &y, &c, &dir[..n], &dir[n..].to_vec()),
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// More edges of the path's conditions.

/// A carried previous value beside the sum (not a running sum: declined).
#[differentiable(x; forward)]
fn carried_previous(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut prev = 0.5;
    for i in 0..x.len() {
        let w = [x[i], prev];
        s += w[0] * w[1] + w[0].sin();
        prev = x[i] * 0.5 + prev;
    }
    s
}

/// `s = a - s` flips the sum's sign each iteration (not a running sum).
#[differentiable(x; forward)]
fn sum_subtracted_from(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        s = w[0] * w[1] - s;
    }
    s
}

/// `s = t + s` (the sum on the right) and `s = s - a + b`.
#[differentiable(x; forward)]
fn sum_on_the_right(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() {
        let w = [x[i - 1], x[i]];
        s = w[0].exp() * w[1] + s;
        s = s - w[1] * w[1] + 0.5 * w[0];
    }
    s * s
}

/// Offsets through local index variables: `k = i + 1`, `m = k + 1`,
/// `p = i + 3 - 1`, and a counter read as a float.
#[differentiable(x; forward)]
fn offset_via_locals(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut j = 1;
    for i in 0..x.len() - 2 {
        let k = i + 1;
        let m = k + 1;
        let p = i + 3 - 1;
        let w = [x[i], x[k], x[m]];
        s += w[0] * w[1] - w[2].cos() * x[p] + x[j] * j as f64;
        j += 1;
    }
    s
}

/// A reversed range and a stepped range, each with a window array.
#[differentiable(x; forward)]
fn rev_and_step(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in (1..n).rev() {
        let w = [x[i - 1], x[i]];
        s += w[0] * w[1].sin();
    }
    let mut t = 0.0;
    for i in (0..n - 1).step_by(2) {
        let w = [x[i], x[i + 1]];
        t += (w[0] - w[1]).powi(2);
    }
    s * t + t
}

/// A fused sum that the result does not use, beside one it does.
#[differentiable(x; forward)]
fn dead_sum(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        s += w[0] * w[1];
    }
    let mut t = 0.0;
    for i in 0..x.len() {
        let w = [x[i]];
        t += w[0].exp();
    }
    let _unused = s;
    t
}

/// `sg_for!(w, s)` on the sum after the loop: the sum's adjoint differs by class.
#[differentiable(x, w; forward)]
fn sum_cut_after(x: &[f64], w: f64) -> f64 {
    let mut s = 1.0;
    for i in 0..x.len() - 1 {
        let z = [x[i] * w, x[i + 1]];
        s += z[0] * z[1] + z[0].sin();
    }
    s * sg_for!(w, s) + w
}

#[test]
fn more_edges() {
    let mut rng = Rng::new(11);
    let fns: [(&str, SliceFns); 6] = [
        (
            "carried_previous",
            (
                carried_previous,
                carried_previous_grad,
                carried_previous_jvp,
            ),
        ),
        (
            "sum_subtracted_from",
            (
                sum_subtracted_from,
                sum_subtracted_from_grad,
                sum_subtracted_from_jvp,
            ),
        ),
        (
            "sum_on_the_right",
            (
                sum_on_the_right,
                sum_on_the_right_grad,
                sum_on_the_right_jvp,
            ),
        ),
        (
            "offset_via_locals",
            (
                offset_via_locals,
                offset_via_locals_grad,
                offset_via_locals_jvp,
            ),
        ),
        (
            "rev_and_step",
            (rev_and_step, rev_and_step_grad, rev_and_step_jvp),
        ),
        ("dead_sum", (dead_sum, dead_sum_grad, dead_sum_jvp)),
    ];
    for n in [1usize, 2, 3, 4, 7, 50] {
        for _ in 0..4 {
            let x = rng.vec(n, -1.0, 1.0);
            for (name, fns) in fns {
                if name == "offset_via_locals" && n < 2 {
                    continue; // `x.len() - 2`
                }
                check_slice(name, fns, &x, &mut rng);
            }
            let w = rng.uniform(-1.5, 1.5);
            let (v, (gx, gw)) = sum_cut_after_grad(&x, w);
            let copy = |p: &[f64], st: &mut Sites| {
                let (x, w) = (&p[..n], p[n]);
                let mut s = 1.0;
                for i in 0..n - 1 {
                    let z = [x[i] * w, x[i + 1]];
                    s += z[0] * z[1] + z[0].sin();
                }
                s * st.cut(0, s) + w
            };
            check_sites(
                "sum_cut_after",
                &copy,
                &[Cut::For(&[1])],
                &[n, 1],
                &[&x[..], &[w]].concat(),
                sum_cut_after(black_box(&x), w),
                (v, &[&gx[..], &[gw]].concat()),
                &|dir: &[f64]| sum_cut_after_jvp(&x, w, &dir[..n], dir[n]),
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// Scalars: a loop-invariant parameter, `sg` and `sg_for!` (two classes).

/// `w * x[i]` with `w` differentiated (its part gathered in a buffer), and
/// `a = w * w` computed before the loop.
#[differentiable(x, w; forward)]
fn invariant_scale(x: &[f64], w: f64) -> f64 {
    let a = w * w;
    let mut s = w;
    for i in 0..x.len() {
        let z = [w * x[i], a + x[i]];
        s += z[0].tanh() * z[1];
    }
    s / x.len() as f64
}

/// `sg_for!(w, ..)` and `sg(..)` in the body: `x` and `w` are two classes.
#[differentiable(x, w; forward)]
fn cut_classes(x: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() {
        let h = [x[i - 1] * w, x[i]];
        let gate = sg_for!(w, (h[0] + h[1]).tanh());
        s += gate * x[i] * w + sg(x[i - 1]) * h[1] * w;
    }
    s * s + s
}

/// Two sums, each varied in one class only: one running sum per class.
#[differentiable(x, w; forward)]
fn split_sums(x: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    let mut t = 0.0;
    for i in 0..x.len() {
        let v = [x[i] * w, x[i] + w];
        s += sg_for!(w, v[0].sin() * v[1]);
        t += sg_for!(x, v[0] * v[1].cos());
    }
    s * t + s
}

#[test]
fn scalars_and_stop_gradients() {
    let mut rng = Rng::new(6);
    for n in [1usize, 2, 3, 7, 50] {
        for _ in 0..4 {
            let x = rng.vec(n, -1.2, 1.2);
            let w = rng.uniform(-1.5, 1.5);
            let flat = [&x[..], &[w]].concat();

            let (v, (gx, gw)) = invariant_scale_grad(&x, w);
            let f = |p: &[f64]| invariant_scale(&p[..n], p[n]);
            check_plain(
                "invariant_scale",
                &f,
                &[n, 1],
                &flat,
                (v, &[&gx[..], &[gw]].concat()),
                &|dir: &[f64]| invariant_scale_jvp(&x, w, &dir[..n], dir[n]),
                &mut rng,
            );

            let (v, (gx, gw)) = cut_classes_grad(&x, w);
            let copy = |p: &[f64], st: &mut Sites| {
                let (x, w) = (&p[..n], p[n]);
                let mut s = 0.0;
                for i in 1..n {
                    let h = [x[i - 1] * w, x[i]];
                    let gate = st.cut(0, (h[0] + h[1]).tanh());
                    s += gate * x[i] * w + st.cut(1, x[i - 1]) * h[1] * w;
                }
                s * s + s
            };
            check_sites(
                "cut_classes",
                &copy,
                &[Cut::For(&[1]), Cut::All],
                &[n, 1],
                &flat,
                cut_classes(black_box(&x), w),
                (v, &[&gx[..], &[gw]].concat()),
                &|dir: &[f64]| cut_classes_jvp(&x, w, &dir[..n], dir[n]),
                &mut rng,
            );

            let (v, (gx, gw)) = split_sums_grad(&x, w);
            let copy = |p: &[f64], st: &mut Sites| {
                let (x, w) = (&p[..n], p[n]);
                let mut s = 0.0;
                let mut t = 0.0;
                for i in 0..n {
                    let v = [x[i] * w, x[i] + w];
                    s += st.cut(0, v[0].sin() * v[1]);
                    t += st.cut(1, v[0] * v[1].cos());
                }
                s * t + s
            };
            check_sites(
                "split_sums",
                &copy,
                &[Cut::For(&[1]), Cut::For(&[0])],
                &[n, 1],
                &flat,
                split_sums(black_box(&x), w),
                (v, &[&gx[..], &[gw]].concat()),
                &|dir: &[f64]| split_sums_jvp(&x, w, &dir[..n], dir[n]),
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// Inner loops, an inner `if`, local arrays and `log_sum_exp`, rows.

/// An inner loop over the coefficients and an inner `if` (a hinge) per
/// point.
#[differentiable(x, theta; forward)]
fn hinge_poly(x: &[f64], theta: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut p = 0.0;
        let mut pow = 1.0;
        for j in 0..theta.len() {
            p += theta[j] * pow;
            pow *= x[i];
        }
        let margin = 1.0 - y[i] * p;
        let loss = if margin > 0.0 {
            margin * margin
        } else {
            0.1 * margin
        };
        s += loss;
    }
    s / x.len() as f64
}

/// GMM style: a `vec![0.0; k]` of component scores per point, filled by an
/// inner loop and reduced by `log_sum_exp`.
#[differentiable(means, log_w; forward)]
fn mixture(means: &[Vec<f64>], log_w: &[f64], data: &[Vec<f64>]) -> f64 {
    let k = log_w.len();
    let mut ll = 0.0;
    for i in 0..data.len() {
        let mut comp = vec![0.0; k];
        for c in 0..k {
            let mut d2 = 0.0;
            for j in 0..data[i].len() {
                let d = data[i][j] - means[c][j];
                d2 += d * d;
            }
            comp[c] = log_w[c] - 0.5 * d2;
        }
        ll += sgrad::log_sum_exp(&comp);
    }
    ll - data.len() as f64 * sgrad::log_sum_exp(log_w)
}

/// `Vec<Vec<f64>>` rows `x[i][j]` against the next row; the outer sum is
/// updated inside the inner loop.
#[differentiable(x; forward)]
#[allow(clippy::ptr_arg)]
fn rows_neighbors(x: &Vec<Vec<f64>>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        for j in 0..x[i].len() {
            s += x[i][j] * x[i + 1][j] - 0.5 * x[i][j].powi(2);
        }
    }
    s
}

/// `x[i]` (the lowest offset) read again after an inner loop.
#[differentiable(x; forward)]
fn lowest_read_after_inner_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        let mut e = 0.0;
        for k in 0..2 {
            e += w[k] * w[k];
        }
        s += e * x[i];
    }
    s
}

/// An inner loop inside an `if` in the body.
#[differentiable(x; forward)]
fn inner_loop_in_if(x: &[f64], on: bool) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let w = [x[i], x[i + 1]];
        let mut e = w[0];
        if on {
            for k in 0..2 {
                e += w[k] * w[k];
            }
        }
        s += e.sin();
    }
    s
}

/// Two inner loops in a row, the second reading the first's result.
#[differentiable(x; forward)]
fn two_inner_loops(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i];
        let b = x[i + 1];
        let mut e = 0.0;
        for _ in 0..2 {
            e += a * b;
        }
        let mut f = 1.0;
        for _ in 0..2 {
            f *= a + e;
        }
        s += f;
    }
    s
}

fn rows(p: &[f64], cols: usize) -> Vec<Vec<f64>> {
    p.chunks(cols).map(|r| r.to_vec()).collect()
}

#[test]
fn inner_loops_local_arrays_and_rows() {
    let mut rng = Rng::new(7);
    for n in [1usize, 2, 3, 7, 50] {
        for _ in 0..4 {
            let x = rng.vec(n, -1.0, 1.0);
            let theta = rng.vec(3, -1.0, 1.0);
            let y: Vec<f64> = (0..n)
                .map(|_| if rng.unit() < 0.5 { -1.0 } else { 1.0 })
                .collect();
            let (v, (gx, gt)) = hinge_poly_grad(&x, &theta, &y);
            // The copy marks the branch taken, so that a perturbation that
            // crosses it fails loudly.
            let copy = |p: &[f64], st: &mut Sites| {
                let (x, theta) = p.split_at(n);
                let mut s = 0.0;
                for i in 0..n {
                    let p: f64 = (0..3).map(|j| theta[j] * x[i].powi(j as i32)).sum();
                    let margin = 1.0 - y[i] * p;
                    s += if margin > 0.0 {
                        st.mark(0);
                        margin * margin
                    } else {
                        st.mark(1);
                        0.1 * margin
                    };
                }
                s / n as f64
            };
            check_sites(
                "hinge_poly",
                &copy,
                &[Cut::For(&[]), Cut::For(&[])],
                &[n, 3],
                &[&x[..], &theta].concat(),
                hinge_poly(black_box(&x), &theta, &y),
                (v, &[&gx[..], &gt].concat()),
                &|dir: &[f64]| hinge_poly_jvp(&x, &theta, &y, &dir[..n], &dir[n..]),
                &mut rng,
            );
        }
    }
    for n in [1usize, 2, 3, 7, 50] {
        for _ in 0..3 {
            let x = rng.vec(n, -1.0, 1.0);
            check_slice(
                "lowest_read_after_inner_loop",
                (
                    lowest_read_after_inner_loop,
                    lowest_read_after_inner_loop_grad,
                    lowest_read_after_inner_loop_jvp,
                ),
                &x,
                &mut rng,
            );
            check_slice(
                "two_inner_loops",
                (two_inner_loops, two_inner_loops_grad, two_inner_loops_jvp),
                &x,
                &mut rng,
            );
            for on in [false, true] {
                let (v, g) = inner_loop_in_if_grad(&x, on);
                let f = |p: &[f64]| inner_loop_in_if(p, on);
                check_plain(
                    "inner_loop_in_if",
                    &f,
                    &[n],
                    &x,
                    (v, &g),
                    &|dir: &[f64]| inner_loop_in_if_jvp(&x, on, dir),
                    &mut rng,
                );
            }
        }
    }
    for (k, d, n) in [
        (1usize, 1usize, 1usize),
        (2, 1, 2),
        (3, 2, 3),
        (3, 2, 7),
        (4, 3, 50),
    ] {
        for _ in 0..3 {
            let means: Vec<Vec<f64>> = (0..k).map(|_| rng.vec(d, -2.0, 2.0)).collect();
            let log_w = rng.vec(k, -1.0, 1.0);
            let data: Vec<Vec<f64>> = (0..n).map(|_| rng.vec(d, -3.0, 3.0)).collect();
            let (v, (gm, gw)) = mixture_grad(&means, &log_w, &data);
            assert!(gm.iter().all(|r| r.len() == d));
            let f = |p: &[f64]| mixture(&rows(&p[..k * d], d), &p[k * d..], &data);
            check_plain(
                "mixture",
                &f,
                &[k * d, k],
                &[means.concat(), log_w.clone()].concat(),
                (v, &[gm.concat(), gw].concat()),
                &|dir: &[f64]| {
                    mixture_jvp(
                        &means,
                        &log_w,
                        &data,
                        &rows(&dir[..k * d], d),
                        &dir[k * d..],
                    )
                },
                &mut rng,
            );
        }
    }
    for (r, c) in [(1usize, 3usize), (2, 1), (3, 2), (7, 3), (50, 2)] {
        for _ in 0..3 {
            let x: Vec<Vec<f64>> = (0..r).map(|_| rng.vec(c, -1.5, 1.5)).collect();
            let (v, g) = rows_neighbors_grad(&x);
            assert_eq!(g.len(), r);
            let f = |p: &[f64]| rows_neighbors(&rows(p, c));
            check_plain(
                "rows_neighbors",
                &f,
                &[r * c],
                &x.concat(),
                (v, &g.concat()),
                &|dir: &[f64]| rows_neighbors_jvp(&x, &rows(dir, c)),
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// `f32` data summed in `f64`.

/// `f32` data summed into an `f64` sum through `x[i] as f64`.
#[differentiable(x)]
fn f32_into_f64(x: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for i in 0..x.len() - 1 {
        let pair = [x[i] as f64, x[i + 1] as f64];
        s += (pair[1] - pair[0]).powi(2) + pair[0].sin();
    }
    s
}

/// The `f64` gradient rounded once to `f32` (relative 6e-8), against
/// differences of an `f64` copy.
const F32_IN_F64: Tol = Tol {
    rel: 1e-6,
    abs: 1e-7,
};

#[test]
fn f32_data_summed_in_f64() {
    let mut rng = Rng::new(8);
    for n in [1usize, 2, 3, 7, 50] {
        for _ in 0..4 {
            let x32: Vec<f32> = rng.vec(n, -2.0, 2.0).iter().map(|&a| a as f32).collect();
            let x: Vec<f64> = x32.iter().map(|&a| a as f64).collect();
            let (v, g): (f64, Vec<f32>) = f32_into_f64_grad(&x32);
            assert_bits("f32_into_f64", f32_into_f64(black_box(&x32)), v);
            let g: Vec<f64> = g.iter().map(|&a| a as f64).collect();
            // The copy in f64 (the casts are exact at the base point).
            let copy = |p: &[f64], _: &mut Sites| {
                let mut s = 0.0;
                for i in 0..p.len().saturating_sub(1) {
                    s += (p[i + 1] - p[i]).powi(2) + p[i].sin();
                }
                s
            };
            let oracle = Oracle {
                name: "f32_into_f64",
                copy: &copy,
                sites: &[],
                shape: &[n],
            };
            oracle.check_with(&x, v, &g, &mut rng, F32_IN_F64, 1e-12);
        }
    }
}

// ===========================================================================
// Generic over `T: Real`: `f64`, and the Hessian through `Dual<f64>`.

/// A pair array and an inner loop per iteration (the reads before it),
/// the sum squared.
#[differentiable(x; forward)]
fn generic_chain<T: Real>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let c = x[i].sin();
        let d = x[i] * x[i + 1];
        let pair = [x[i], x[i + 1]];
        let mut q = T::one();
        for k in 0..2 {
            q += pair[k] * pair[k] * T::from_f64(k as f64 + 1.0);
        }
        s += q.sqrt() * c + d;
    }
    s * s
}

#[test]
fn generic_on_f64_and_hessian_on_dual() {
    let mut rng = Rng::new(9);
    for n in [1usize, 2, 3, 7, 50] {
        for _ in 0..3 {
            let x = rng.vec(n, -1.0, 1.0);
            check_slice(
                "generic_chain",
                (
                    generic_chain::<f64>,
                    generic_chain_grad::<f64>,
                    generic_chain_jvp::<f64>,
                ),
                &x,
                &mut rng,
            );
            if n > 7 {
                continue;
            }
            let h = hessian(|p: &[Dual<f64>]| generic_chain_grad(p).1, &x);
            // The value part of the gradient on duals is the f64 gradient.
            let xd: Vec<Dual<f64>> = x.iter().map(|&a| Dual::new(a, 0.0)).collect();
            let (vd, gd) = generic_chain_grad(&xd);
            let (v, g) = generic_chain_grad(&x);
            assert!(
                (vd.re - v).abs() <= 1e-13 * v.abs(),
                "generic_chain on Dual: value"
            );
            for (a, b) in gd.iter().zip(&g) {
                let ok = (a.re - b).abs() <= 1e-13 * b.abs().max(1.0);
                assert!(ok, "generic_chain on Dual: gradient {} vs {b}", a.re);
            }
            let step = 1e-6;
            for j in 0..n {
                let (mut a, mut b) = (x.clone(), x.clone());
                a[j] += step;
                b[j] -= step;
                let (ga, gb) = (generic_chain_grad(&a).1, generic_chain_grad(&b).1);
                for k in 0..n {
                    let fd = (ga[k] - gb[k]) / (2.0 * step);
                    assert!(
                        (h[k][j] - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                        "generic_chain n={n}: H[{k}][{j}] = {:e}, difference of the gradient {fd:e}",
                        h[k][j]
                    );
                    assert!(
                        (h[k][j] - h[j][k]).abs() <= 1e-12 * h[k][j].abs().max(1.0),
                        "generic_chain n={n}: H not symmetric at [{k}][{j}]"
                    );
                }
            }
        }
    }
}

// ===========================================================================
// `x[i + c]` read after an inner loop of a fused body: the inner loop once
// took the outer loop's registers, and the generated code did not compile
// (`cannot find value __adrNN_x_c0_1`). The functions above are copies with
// every read moved before the inner loop; these are as users write them.

mod read_after_inner_loop {
    use super::*;

    /// The smallest: `x[i]` before a one-line inner loop, `x[i + 1]` after.
    #[differentiable(x; forward)]
    fn minimal(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() - 1 {
            let p = x[i];
            let mut e = 0.0;
            for _ in 0..2 {
                e += p;
            }
            s += e * x[i + 1];
        }
        s
    }

    /// The lowest offset −1 read after the inner loop (offset 0 there
    /// compiles: `lowest_read_after_inner_loop`).
    #[differentiable(x; forward)]
    fn lowest_minus_one_after(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 1..x.len() - 1 {
            let w = [x[i], x[i + 1]];
            let mut e = 0.0;
            for k in 0..2 {
                e += w[k] * w[k];
            }
            s += e * x[i - 1];
        }
        s
    }

    /// `stencil_window` as written: offsets −1..+2 read again after the inner loop.
    #[differentiable(x; forward)]
    fn stencil_window_after(x: &[f64]) -> f64 {
        let n = x.len();
        let mut s = 0.0;
        for i in 1..n - 2 {
            let win = [x[i - 1], x[i], x[i + 1], x[i + 2]];
            let mut e = 1.0;
            for k in 0..4 {
                e += (k as f64 + 1.0) * win[k] * win[k];
            }
            s += x[i - 1] * x[i + 2] + (x[i] - x[i + 1]).powi(2) + e.sqrt();
        }
        s
    }

    /// `excl_runtime` as written.
    #[differentiable(x; forward)]
    fn excl_runtime_after(x: &[f64], lo: usize, hi: usize) -> f64 {
        let mut s = 0.0;
        for i in lo..hi {
            let t = [x[i], x[i + 1], x[i + 2]];
            let mut q = 0.0;
            for k in 0..3 {
                q += t[k] * t[k];
            }
            s += q.sqrt() + x[i] * x[i + 2];
        }
        (s - 3.0).powi(2)
    }

    /// `fixed_and_vec` as written.
    #[differentiable(x, v; forward)]
    fn fixed_and_vec_after(x: [f64; 6], v: Vec<f64>) -> f64 {
        let mut s = 0.0;
        for i in 1..=4 {
            let loc = [x[i - 1], x[i + 1], v[i]];
            let mut q = 0.5;
            for k in 0..3 {
                q += loc[k] * loc[k];
            }
            s += q.ln() * x[i] + v[i + 1] * v[i - 1];
        }
        s
    }

    /// `generic_chain` as written.
    #[differentiable(x; forward)]
    fn generic_chain_after<T: Real>(x: &[T]) -> T {
        let mut s = T::zero();
        for i in 0..x.len() - 1 {
            let pair = [x[i], x[i + 1]];
            let mut q = T::one();
            for k in 0..2 {
                q += pair[k] * pair[k] * T::from_f64(k as f64 + 1.0);
            }
            s += q.sqrt() * x[i].sin() + x[i] * x[i + 1];
        }
        s * s
    }

    #[test]
    fn reads_after_an_inner_loop() {
        let mut rng = Rng::new(10);
        for n in [1usize, 2, 3, 4, 7, 50] {
            for _ in 0..3 {
                let x = rng.vec(n, -1.0, 1.0);
                check_slice(
                    "minimal",
                    (minimal, minimal_grad, minimal_jvp),
                    &x,
                    &mut rng,
                );
                check_slice(
                    "generic_chain_after",
                    (
                        generic_chain_after::<f64>,
                        generic_chain_after_grad::<f64>,
                        generic_chain_after_jvp::<f64>,
                    ),
                    &x,
                    &mut rng,
                );
                if n < 2 {
                    continue;
                }
                check_slice(
                    "lowest_minus_one_after",
                    (
                        lowest_minus_one_after,
                        lowest_minus_one_after_grad,
                        lowest_minus_one_after_jvp,
                    ),
                    &x,
                    &mut rng,
                );
                check_slice(
                    "stencil_window_after",
                    (
                        stencil_window_after,
                        stencil_window_after_grad,
                        stencil_window_after_jvp,
                    ),
                    &x,
                    &mut rng,
                );
                for (lo, hi) in [(0, n - 2), (0, 0), (n - 2, n - 2), (n, n)] {
                    let (v, g) = excl_runtime_after_grad(&x, lo, hi);
                    let f = |p: &[f64]| excl_runtime_after(p, lo, hi);
                    check_plain(
                        "excl_runtime_after",
                        &f,
                        &[n],
                        &x,
                        (v, &g),
                        &|dir: &[f64]| excl_runtime_after_jvp(&x, lo, hi, dir),
                        &mut rng,
                    );
                }
            }
        }
        for _ in 0..10 {
            let x: [f64; 6] = rng.array(-1.5, 1.5);
            let v6 = rng.vec(6, -1.5, 1.5);
            let (v, (gx, gv)) = fixed_and_vec_after_grad(x, v6.clone());
            let f = |p: &[f64]| fixed_and_vec_after(p[..6].try_into().unwrap(), p[6..].to_vec());
            check_plain(
                "fixed_and_vec_after",
                &f,
                &[6, 6],
                &[&x[..], &v6].concat(),
                (v, &[&gx[..], &gv].concat()),
                &|dir: &[f64]| {
                    let (tx, tv) = like(&(x, v6.clone()), dir);
                    fixed_and_vec_after_jvp(x, v6.clone(), tx, tv)
                },
                &mut rng,
            );
        }
    }
}
