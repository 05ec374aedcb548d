//! Programs that once gave a wrong value or gradient, each against a
//! hand-derived derivative, in reverse and forward mode. The name of each
//! test says what went wrong.
//!
//! The variants after the first reproducers are checked against central
//! differences of the frozen program (`common::per_occurrence`) and against
//! the dot-product identity `<gradient, v> = jvp(v)` with forward mode.

#![allow(
    clippy::needless_range_loop,
    clippy::never_loop,
    clippy::assign_op_pattern,
    clippy::useless_vec,
    clippy::manual_memcpy,
    unused_mut
)]

use sgrad::{differentiable, log_sum_exp, sg, sg_for};
use std::hint::black_box;

mod common;
use common::per_occurrence::{Oracle, Sites};
use common::{like, Cut, Flat, Rng};

/// `total = x + 2x`: the store in the inner loop doubles `h[0]` for the
/// second iteration.
#[differentiable(x; forward)]
fn store_in_inner_loop(x: f64) -> f64 {
    let mut h = vec![x];
    let mut total = 0.0;
    for _k in 0..2 {
        total += h[0];
        for i in 0..1 {
            h[i] = h[i] * 2.0;
        }
    }
    total
}

/// The same store inside an `if`.
#[differentiable(x; forward)]
fn store_in_if(x: f64) -> f64 {
    let mut h = vec![x];
    let mut total = 0.0;
    for k in 0..2 {
        total += h[0];
        if k == 0 {
            h[0] = h[0] * 2.0;
        }
    }
    total
}

/// `push` in an inner loop, read by the next outer iteration: the sum of
/// `x, x², x⁴` is `x + x² + x⁴`.
#[differentiable(x; forward)]
fn push_in_inner_loop(x: f64) -> f64 {
    let mut s = vec![x];
    let mut total = 0.0;
    for k in 0..3 {
        total += s[k];
        for _ in 0..1 {
            let last = s[k];
            s.push(last * last);
        }
    }
    total
}

/// A `loop` whose body shadows the variable the function returns.
#[differentiable(x; forward)]
fn shadow_in_loop_with_break(x: f64) -> f64 {
    let mut t = x;
    loop {
        let mut t = 0.5;
        t += t;
        let _ = t;
        break;
    }
    t
}

#[test]
fn a_store_nested_in_a_loop_body_reaches_earlier_iterations() {
    for x in [1.0, -0.7, 2.5] {
        let want = 3.0;
        assert_eq!(store_in_inner_loop_grad(x), (3.0 * x, want));
        assert_eq!(store_in_inner_loop_jvp(x, 1.0), (3.0 * x, want));
        assert_eq!(store_in_if_grad(x), (3.0 * x, want));
        assert_eq!(store_in_if_jvp(x, 1.0), (3.0 * x, want));
        let d = 1.0 + 2.0 * x + 4.0 * x.powi(3);
        let (v, g) = push_in_inner_loop_grad(x);
        assert_eq!(v, push_in_inner_loop(x));
        assert!((g - d).abs() <= 1e-12 * d.abs(), "{g} vs {d}");
        let (_, t) = push_in_inner_loop_jvp(x, 1.0);
        assert!((t - d).abs() <= 1e-12 * d.abs(), "{t} vs {d}");
    }
}

#[test]
fn a_shadowing_local_in_a_loop_with_an_exit_leaves_the_outer_variable_alone() {
    assert_eq!(shadow_in_loop_with_break(3.0), 3.0);
    assert_eq!(shadow_in_loop_with_break_grad(3.0), (3.0, 1.0));
    assert_eq!(shadow_in_loop_with_break_jvp(3.0, 1.0), (3.0, 1.0));
}

// ===========================================================================
// Variants of the two bugs above, each against central differences of the
// frozen program (`common::per_occurrence`) and the dot-product identity
// with forward mode. Functions without sites are their own copy.

/// The whole check of a function of one slice: `f(x)` bit for bit the value
/// of `f_grad`, the frozen program's differences, the jvp identity.
#[track_caller]
fn check_slice(
    name: &str,
    f: fn(&[f64]) -> f64,
    grad: fn(&[f64]) -> (f64, Vec<f64>),
    jvp: fn(&[f64], &[f64]) -> (f64, f64),
    x: &[f64],
    rng: &mut Rng,
) {
    let (v, g) = grad(x);
    let copy = |p: &[f64], _: &mut Sites| f(p);
    let shape = [x.len()];
    let oracle = Oracle {
        name,
        copy: &copy,
        sites: &[],
        shape: &shape,
    };
    oracle.check_all(x, f(black_box(x)), (v, &g), &|d| jvp(x, d), rng);
}

// ---------------------------------------------------------------------------
// (a) A local array that the loop body reads, then changes in a nested block.

/// Element assignment in an inner `for`, every element, reading a neighbour
/// the inner loop may already have changed; the array read after the loop.
#[differentiable(x; forward)]
fn store_in_inner_for_all_elements(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = x[i];
    }
    let mut total = 0.0;
    for k in 0..3 {
        total += h[k % n] * x[(k + 1) % n];
        for i in 0..n {
            h[i] = h[i] * x[(i + k) % n] + 0.5 * h[(i + 1) % n];
        }
    }
    total + h[0] * h[n - 1]
}

/// `push` in an inner `for`, two per outer iteration, each reading earlier
/// pushes; the length used after the loop.
#[differentiable(x; forward)]
fn push_in_inner_for_reads_earlier_pushes(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = vec![x[0]];
    let mut total = 0.0;
    for k in 0..3 {
        let m = s.len();
        total += s[m - 1] * x[k % n];
        for j in 0..2 {
            let last = s[s.len() - 1];
            s.push(last.sin() + x[(k + j) % n] * s[j]);
        }
    }
    total + s[s.len() - 1] * (s.len() as f64)
}

/// A store in each branch of an `if` on the data.
#[differentiable(x; forward)]
fn store_in_data_dependent_if(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![1.0; n];
    let mut total = 0.0;
    for k in 0..n {
        total += h[k] * x[k];
        if x[k] > 0.0 {
            h[(k + 1) % n] = h[k] * x[k] + h[(k + 1) % n];
        } else {
            h[(k + 2) % n] *= x[k];
        }
    }
    total + h[0]
}

/// A store in a `while` inside the body.
#[differentiable(x; forward)]
fn store_in_while_in_body(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.0; n];
    h[0] = x[0];
    let mut total = 0.0;
    for k in 0..n {
        total += h[k] * h[k] + h[k] * x[k];
        let mut j = k + 1;
        while j < n {
            h[j] += h[j - 1] * x[j] * 0.5 + x[k];
            j += 2;
        }
    }
    total + h[n - 1]
}

/// A store in an inner loop with `continue` and a data-dependent `break`.
#[differentiable(x; forward)]
fn store_in_inner_loop_with_break_and_continue(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = x[i] * 0.5 + 0.1;
    }
    let mut total = 0.0;
    for k in 0..3 {
        total += h[k % n] * x[k % n];
        for j in 0..n {
            if j == k % n {
                continue;
            }
            h[j] = h[j] * 0.5 + h[k % n] * x[j];
            if h[j] > 0.4 {
                break;
            }
        }
    }
    total + h[n - 1]
}

/// A store two loops deep, under an `if` on the indices.
#[differentiable(x; forward)]
fn store_two_loops_deep(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.5; n];
    let mut total = 0.0;
    for k in 0..3 {
        total += h[0] + h[n - 1] * x[k % n];
        for i in 0..n {
            for j in 0..2 {
                if (i + j + k) % 2 == 0 {
                    h[i] = h[i] * x[(i + j) % n] + 0.1;
                }
            }
        }
    }
    total * h[n / 2]
}

/// `loop` with `break` and `while` holding the stores, a `push` in a
/// `while` two levels deep.
#[differentiable(x; forward)]
fn store_in_loop_and_while(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.2; n];
    let mut p = Vec::new();
    p.push(x[0]);
    let mut total = 0.0;
    let mut k = 0;
    loop {
        total += h[k] * p[p.len() - 1];
        let mut i = 0;
        while i < n {
            h[i] = h[i] * 0.7 + x[i] * h[(i + k) % n];
            let mut j = 0;
            while j < 1 {
                let last = p[p.len() - 1];
                p.push(last * 0.5 + h[i]);
                j += 1;
            }
            i += 1;
        }
        k += 1;
        if k == n.min(3) {
            break;
        }
    }
    total + h[0] + p[p.len() - 1]
}

/// Several arrays changing each other in the inner loop, a `push` in an
/// `if`, all read after the loop.
#[differentiable(x; forward)]
fn several_arrays_in_inner_loop(x: &[f64]) -> f64 {
    let n = x.len();
    let mut a = vec![0.0; n];
    let mut b = vec![0.0; n];
    let mut c = Vec::new();
    for k in 0..n {
        a[k] = x[k];
        b[k] = x[k] * x[k];
    }
    let mut total = 0.0;
    for k in 0..3 {
        total += a[k % n] * b[(k + 1) % n];
        for i in 0..n {
            let t = a[i];
            a[i] = b[i] * 0.5 + t.sin();
            b[i] = t * x[i];
        }
        if k % 2 == 0 {
            c.push(a[0] * b[n - 1]);
        }
    }
    total + c[0] + c[c.len() - 1] + a[n - 1] * b[0]
}

/// An early `return` from the loop body and from the inner loop, after the
/// stores.
#[differentiable(x; forward)]
fn store_then_return_from_loop(x: &[f64], limit: f64) -> f64 {
    let n = x.len();
    let mut h = vec![1.0; n];
    let mut total = 0.0;
    for k in 0..4 {
        total += h[k % n] * x[k % n];
        for i in 0..n {
            h[i] = h[i] * x[i] + 0.3;
            if h[i] > limit {
                return h[i] * total;
            }
        }
        if total > 0.5 * limit {
            return total * h[0];
        }
    }
    total + h[n - 1]
}

/// An RNN's state vector rebuilt each step in an inner loop over its
/// elements, `h[j] = tanh(w h[j] + u h[j+1] + x[t])`, the next element read
/// before it changes, the first after.
#[differentiable(w, u, x; forward)]
fn rnn_state_vector(w: f64, u: f64, x: &[f64], m: usize) -> f64 {
    let mut h = vec![0.0; m];
    let mut out = 0.0;
    for t in 0..x.len() {
        out += h[t % m] * x[t];
        for j in 0..m {
            h[j] = (w * h[j] + u * h[(j + 1) % m] + x[t]).tanh();
        }
    }
    out + h[0] * h[m - 1]
}

/// An RNN with a weight matrix (an array of arrays): the next state pushed
/// into a fresh `Vec` each step and copied back.
#[differentiable(ws, x; forward)]
fn rnn_matrix_state(ws: &[Vec<f64>], x: &[f64]) -> f64 {
    let m = ws.len();
    let mut h = vec![0.0; m];
    let mut out = 0.0;
    for t in 0..x.len() {
        out += h[t % m];
        let mut next = Vec::new();
        for i in 0..m {
            let mut a = x[t];
            for j in 0..m {
                a += ws[i][j] * h[j];
            }
            next.push(a.tanh());
        }
        for i in 0..m {
            h[i] = next[i];
        }
    }
    out + h[m - 1]
}

/// Sites on the stored values and on the reads: `sg_for!(w, ..)` on a read,
/// `sg_for!(x, ..)` and `sg` on a stored value, and a store of a
/// `sg_for!(w, ..)` value inside an `if` in the inner loop.
#[differentiable(x, w; forward)]
fn stores_with_sites(x: &[f64], w: f64) -> f64 {
    let n = x.len();
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = x[i] * w;
    }
    let mut total = 0.0;
    for k in 0..3 {
        total += sg_for!(w, h[k % n]) * x[k % n] + h[(k + 1) % n] * w;
        for i in 0..n {
            h[i] = sg_for!(x, h[i] * w) + sg(h[(i + 1) % n]) * x[i];
            if (i + k) % 2 == 0 {
                h[i] += sg_for!(w, h[i] * x[i]) + w;
            }
        }
    }
    total + sg_for!(w, h[0] * h[n - 1]) + h[0]
}

fn stores_with_sites_copy(p: &[f64], s: &mut Sites) -> f64 {
    let n = p.len() - 1;
    let (x, w) = (&p[..n], p[n]);
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = x[i] * w;
    }
    let mut total = 0.0;
    for k in 0..3 {
        total += s.cut(0, h[k % n]) * x[k % n] + h[(k + 1) % n] * w;
        for i in 0..n {
            h[i] = s.cut(1, h[i] * w) + s.cut(2, h[(i + 1) % n]) * x[i];
            if (i + k) % 2 == 0 {
                h[i] += s.cut(3, h[i] * x[i]) + w;
            }
        }
    }
    total + s.cut(4, h[0] * h[n - 1]) + h[0]
}

const STORES_WITH_SITES: [Cut; 5] = [
    Cut::For(&[1]),
    Cut::For(&[0]),
    Cut::All,
    Cut::For(&[1]),
    Cut::For(&[1]),
];

/// An RNN state vector with `sg_for!` on the recurrent read and `sg` on a
/// pushed value, `push` in the inner loop.
#[differentiable(w, x; forward)]
fn rnn_state_with_sites(w: f64, x: &[f64], m: usize) -> f64 {
    let mut h = vec![0.1; m];
    let mut trace = Vec::new();
    let mut out = 0.0;
    for t in 0..x.len() {
        out += h[t % m] * x[t];
        for j in 0..m {
            h[j] = (w * sg_for!(w, h[j]) + x[t] * h[(j + 1) % m]).tanh();
            trace.push(sg(h[j]) * w + h[j]);
        }
    }
    out + trace[trace.len() - 1] + sg_for!(x, trace[0] * h[0])
}

fn rnn_state_with_sites_copy(p: &[f64], s: &mut Sites, m: usize) -> f64 {
    let (w, x) = (p[0], &p[1..]);
    let mut h = vec![0.1; m];
    let mut trace = Vec::new();
    let mut out = 0.0;
    for t in 0..x.len() {
        out += h[t % m] * x[t];
        for j in 0..m {
            h[j] = (w * s.cut(0, h[j]) + x[t] * h[(j + 1) % m]).tanh();
            trace.push(s.cut(1, h[j]) * w + h[j]);
        }
    }
    out + trace[trace.len() - 1] + s.cut(2, trace[0] * h[0])
}

const RNN_STATE_WITH_SITES: [Cut; 3] = [Cut::For(&[0]), Cut::All, Cut::For(&[1])];

#[test]
fn a_local_array_read_then_changed_in_a_nested_block() {
    let mut rng = Rng::new(101);
    type Slice = (
        &'static str,
        fn(&[f64]) -> f64,
        fn(&[f64]) -> (f64, Vec<f64>),
        fn(&[f64], &[f64]) -> (f64, f64),
    );
    let slices: [Slice; 8] = [
        (
            "store_in_inner_for_all_elements",
            store_in_inner_for_all_elements,
            store_in_inner_for_all_elements_grad,
            store_in_inner_for_all_elements_jvp,
        ),
        (
            "push_in_inner_for_reads_earlier_pushes",
            push_in_inner_for_reads_earlier_pushes,
            push_in_inner_for_reads_earlier_pushes_grad,
            push_in_inner_for_reads_earlier_pushes_jvp,
        ),
        (
            "store_in_data_dependent_if",
            store_in_data_dependent_if,
            store_in_data_dependent_if_grad,
            store_in_data_dependent_if_jvp,
        ),
        (
            "store_in_while_in_body",
            store_in_while_in_body,
            store_in_while_in_body_grad,
            store_in_while_in_body_jvp,
        ),
        (
            "store_in_inner_loop_with_break_and_continue",
            store_in_inner_loop_with_break_and_continue,
            store_in_inner_loop_with_break_and_continue_grad,
            store_in_inner_loop_with_break_and_continue_jvp,
        ),
        (
            "store_two_loops_deep",
            store_two_loops_deep,
            store_two_loops_deep_grad,
            store_two_loops_deep_jvp,
        ),
        (
            "store_in_loop_and_while",
            store_in_loop_and_while,
            store_in_loop_and_while_grad,
            store_in_loop_and_while_jvp,
        ),
        (
            "several_arrays_in_inner_loop",
            several_arrays_in_inner_loop,
            several_arrays_in_inner_loop_grad,
            several_arrays_in_inner_loop_jvp,
        ),
    ];
    for n in [1usize, 2, 3, 5] {
        for _ in 0..6 {
            let x = rng.vec(n, -1.2, 1.2);
            if x.iter().any(|v| v.abs() < 1e-3) {
                continue;
            }
            for (name, f, grad, jvp) in slices {
                check_slice(name, f, grad, jvp, &x, &mut rng);
            }
        }
    }
}

#[test]
fn a_local_array_changed_before_an_early_return() {
    let mut rng = Rng::new(102);
    let mut exits = [0usize; 3];
    for n in [1usize, 2, 4] {
        for limit in [0.8, 1.5, 3.0, 100.0] {
            for _ in 0..6 {
                let x = rng.vec(n, -1.5, 1.5);
                let (v, g) = store_then_return_from_loop_grad(&x, limit);
                let copy = |p: &[f64], _: &mut Sites| store_then_return_from_loop(p, limit);
                let oracle = Oracle {
                    name: "store_then_return_from_loop",
                    copy: &copy,
                    sites: &[],
                    shape: &[n],
                };
                let f = store_then_return_from_loop(black_box(&x), limit);
                let jvp = |d: &[f64]| store_then_return_from_loop_jvp(&x, limit, d);
                oracle.check_all(&x, f, (v, &g), &jvp, &mut rng);
                // Which exit was taken, recomputed.
                let mut h = vec![1.0; n];
                let mut total = 0.0;
                let mut exit = 2;
                'outer: for k in 0..4 {
                    total += h[k % n] * x[k % n];
                    for i in 0..n {
                        h[i] = h[i] * x[i] + 0.3;
                        if h[i] > limit {
                            exit = 0;
                            break 'outer;
                        }
                    }
                    if total > 0.5 * limit {
                        exit = 1;
                        break;
                    }
                }
                exits[exit] += 1;
            }
        }
    }
    assert!(exits.iter().all(|&k| k > 0), "every exit: {exits:?}");
}

#[test]
fn an_rnn_state_vector_rebuilt_each_step() {
    let mut rng = Rng::new(103);
    for m in [1usize, 2, 4] {
        for steps in [1usize, 3, 7] {
            for _ in 0..3 {
                let (w, u) = (rng.uniform(-1.5, 1.5), rng.uniform(-1.0, 1.0));
                let x = rng.vec(steps, -1.0, 1.0);
                let (v, (gw, gu, gx)) = rnn_state_vector_grad(w, u, &x, m);
                let copy = |p: &[f64], _: &mut Sites| rnn_state_vector(p[0], p[1], &p[2..], m);
                let oracle = Oracle {
                    name: "rnn_state_vector",
                    copy: &copy,
                    sites: &[],
                    shape: &[1, 1, steps],
                };
                let flat = (w, u, &x).flat();
                let grad = (gw, gu, &gx).flat();
                let f = rnn_state_vector(black_box(w), u, &x, m);
                let jvp = |d: &[f64]| rnn_state_vector_jvp(w, u, &x, m, d[0], d[1], &d[2..]);
                oracle.check_all(&flat, f, (v, &grad), &jvp, &mut rng);

                let ws: Vec<Vec<f64>> = (0..m).map(|_| rng.vec(m, -0.8, 0.8)).collect();
                let (v, (gws, gx)) = rnn_matrix_state_grad(&ws, &x);
                let copy = |p: &[f64], _: &mut Sites| {
                    let ws: Vec<Vec<f64>> = p[..m * m].chunks(m).map(<[f64]>::to_vec).collect();
                    rnn_matrix_state(&ws, &p[m * m..])
                };
                let oracle = Oracle {
                    name: "rnn_matrix_state",
                    copy: &copy,
                    sites: &[],
                    shape: &[m * m, steps],
                };
                let flat = (&ws, &x).flat();
                let grad = (gws, gx).flat();
                let f = rnn_matrix_state(black_box(&ws), &x);
                let jvp = |d: &[f64]| {
                    let (tws, tx) = like(&(ws.clone(), x.clone()), d);
                    rnn_matrix_state_jvp(&ws, &x, &tws, &tx)
                };
                oracle.check_all(&flat, f, (v, &grad), &jvp, &mut rng);
            }
        }
    }
}

#[test]
fn stores_and_reads_under_sg_and_sg_for() {
    let mut rng = Rng::new(104);
    for n in [1usize, 2, 3, 5] {
        for _ in 0..8 {
            let x = rng.vec(n, -1.2, 1.2);
            let w = rng.uniform(-1.2, 1.2);
            let (v, (gx, gw)) = stores_with_sites_grad(&x, w);
            let oracle = Oracle {
                name: "stores_with_sites",
                copy: &stores_with_sites_copy,
                sites: &STORES_WITH_SITES,
                shape: &[n, 1],
            };
            let flat = (&x, w).flat();
            let grad = (gx, gw).flat();
            let f = stores_with_sites(black_box(&x), w);
            let jvp = |d: &[f64]| stores_with_sites_jvp(&x, w, &d[..n], d[n]);
            oracle.check_all(&flat, f, (v, &grad), &jvp, &mut rng);

            let m = 1 + n % 3;
            let (v, (gw, gx)) = rnn_state_with_sites_grad(w, &x, m);
            let copy = |p: &[f64], s: &mut Sites| rnn_state_with_sites_copy(p, s, m);
            let oracle = Oracle {
                name: "rnn_state_with_sites",
                copy: &copy,
                sites: &RNN_STATE_WITH_SITES,
                shape: &[1, n],
            };
            let flat = (w, &x).flat();
            let grad = (gw, gx).flat();
            let f = rnn_state_with_sites(black_box(w), &x, m);
            let jvp = |d: &[f64]| rnn_state_with_sites_jvp(w, &x, m, d[0], &d[1..]);
            oracle.check_all(&flat, f, (v, &grad), &jvp, &mut rng);
        }
    }
}

// ---------------------------------------------------------------------------
// (b) A loop body declaring a local that shadows an outer variable.

/// `while` with `continue`: the outer `t` changes, then a shadow.
#[differentiable(x; forward)]
fn shadow_in_while_with_continue(x: f64) -> f64 {
    let mut t = x;
    let mut s = 0.0;
    let mut i = 0;
    while i < 4 {
        i += 1;
        t = t * 0.8 + x;
        let mut t = t * 0.5;
        t += x * x;
        if t > 1.0 {
            continue;
        }
        s += t;
    }
    t + s
}

/// `for` with an early `return` of the shadow; the outer variable returned
/// after the loop.
#[differentiable(x; forward)]
fn shadow_in_for_with_return(x: f64, n: usize, limit: f64) -> f64 {
    let mut t = x;
    for _ in 0..n {
        t = t * 0.9 + x;
        let t = t * t;
        if t > limit {
            return t;
        }
    }
    t
}

/// `loop` with the shadow in a nested block, the outer variable used after.
#[differentiable(x; forward)]
fn shadow_in_nested_block_of_loop(x: f64) -> f64 {
    let mut t = x;
    let mut s = 0.0;
    let mut k = 0;
    loop {
        t += x * 0.5;
        {
            let mut t = t * 2.0;
            t *= x;
            s += t;
        }
        k += 1;
        if k == 3 {
            break;
        }
    }
    t * s
}

/// The shadow in one branch, with `continue`; the other branch changes the
/// outer variable.
#[differentiable(x; forward)]
fn shadow_in_branch_of_for(x: f64, n: usize) -> f64 {
    let mut t = x;
    let mut s = 0.0;
    for k in 0..n {
        if k % 2 == 0 {
            let t = t * x;
            s += t;
            continue;
        } else {
            t = t.sin() + x;
        }
        s += t * 0.1;
    }
    t + s
}

/// A shadowing `let mut t` with `break` out of a `while`, in a nested
/// block and a branch at once, with `sg_for!` and `sg` on the shadow.
#[differentiable(x, y; forward)]
fn shadow_with_sites(x: f64, y: f64) -> f64 {
    let mut t = x * y;
    let mut s = 0.0;
    let mut i = 0;
    while i < 5 {
        i += 1;
        if i % 2 == 1 {
            let mut t = sg_for!(x, t * y);
            t += sg(t) * x;
            s += t;
        } else {
            {
                let t = t + y;
                s += sg_for!(y, t * x);
            }
            t = t * 0.5 + y;
        }
        if s > 50.0 {
            break;
        }
    }
    t + s
}

fn shadow_with_sites_copy(p: &[f64], st: &mut Sites) -> f64 {
    let (x, y) = (p[0], p[1]);
    let mut t = x * y;
    let mut s = 0.0;
    let mut i = 0;
    while i < 5 {
        i += 1;
        if i % 2 == 1 {
            let mut t2 = st.cut(0, t * y);
            t2 += st.cut(1, t2) * x;
            s += t2;
        } else {
            let t2 = t + y;
            s += st.cut(2, t2 * x);
            t = t * 0.5 + y;
        }
        if s > 50.0 {
            break;
        }
    }
    t + s
}

#[test]
fn a_shadowing_local_in_a_loop_body_leaves_the_outer_variable_alone() {
    let mut rng = Rng::new(105);
    for _ in 0..30 {
        let x = rng.uniform(-1.5, 1.5);
        let y = rng.uniform(-1.5, 1.5);
        let check = |name: &str,
                     f: f64,
                     grad: (f64, f64),
                     copy: &dyn Fn(f64) -> f64,
                     jvp: &dyn Fn(f64) -> (f64, f64),
                     rng: &mut Rng| {
            let copy = |p: &[f64], _: &mut Sites| copy(p[0]);
            let oracle = Oracle {
                name,
                copy: &copy,
                sites: &[],
                shape: &[1],
            };
            oracle.check_all(&[x], f, (grad.0, &[grad.1]), &|d| jvp(d[0]), rng);
        };
        check(
            "shadow_in_while_with_continue",
            shadow_in_while_with_continue(black_box(x)),
            shadow_in_while_with_continue_grad(x),
            &shadow_in_while_with_continue,
            &|d| shadow_in_while_with_continue_jvp(x, d),
            &mut rng,
        );
        for n in [0, 1, 4] {
            for limit in [0.5, 2.0, 1e9] {
                check(
                    "shadow_in_for_with_return",
                    shadow_in_for_with_return(black_box(x), n, limit),
                    shadow_in_for_with_return_grad(x, n, limit),
                    &|x| shadow_in_for_with_return(x, n, limit),
                    &|d| shadow_in_for_with_return_jvp(x, n, limit, d),
                    &mut rng,
                );
            }
            check(
                "shadow_in_branch_of_for",
                shadow_in_branch_of_for(black_box(x), n),
                shadow_in_branch_of_for_grad(x, n),
                &|x| shadow_in_branch_of_for(x, n),
                &|d| shadow_in_branch_of_for_jvp(x, n, d),
                &mut rng,
            );
        }
        check(
            "shadow_in_nested_block_of_loop",
            shadow_in_nested_block_of_loop(black_box(x)),
            shadow_in_nested_block_of_loop_grad(x),
            &shadow_in_nested_block_of_loop,
            &|d| shadow_in_nested_block_of_loop_jvp(x, d),
            &mut rng,
        );

        let (v, (gx, gy)) = shadow_with_sites_grad(x, y);
        let oracle = Oracle {
            name: "shadow_with_sites",
            copy: &shadow_with_sites_copy,
            sites: &[Cut::For(&[0]), Cut::All, Cut::For(&[1])],
            shape: &[1, 1],
        };
        let f = shadow_with_sites(black_box(x), y);
        let jvp = |d: &[f64]| shadow_with_sites_jvp(x, y, d[0], d[1]);
        oracle.check_all(&[x, y], f, (v, &[gx, gy]), &jvp, &mut rng);
    }
}

// ---------------------------------------------------------------------------
// `x += v; v = <expr>`: a carried variable read before the body assigns it.

#[differentiable(x, y; forward)]
fn read_before_assign_for(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut v = y;
    for _ in 0..4 {
        s += v;
        v = (s * y).sin() + x;
    }
    s * v
}

#[differentiable(x, y; forward)]
fn read_before_assign_while_and_loop(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut v = y;
    let mut i = 0;
    while i < 3 {
        s += v;
        v = s * 0.5 + y * v;
        i += 1;
    }
    let mut u = x;
    loop {
        s -= u * 0.25;
        u = (s + y).tanh();
        if s < 0.0 || i > 6 {
            break;
        }
        i += 1;
    }
    s + v * u
}

#[differentiable(x; forward)]
fn read_before_assign_array(x: &[f64]) -> f64 {
    let n = x.len();
    let mut acc = vec![0.0; n];
    let mut v = x[0];
    for k in 0..3 {
        for i in 0..n {
            acc[i] += v;
            v = acc[i] * x[i] + sg_for!(x, v * 0.1) + k as f64;
        }
    }
    acc[n - 1] * v
}

fn read_before_assign_array_copy(x: &[f64], st: &mut Sites) -> f64 {
    let n = x.len();
    let mut acc = vec![0.0; n];
    let mut v = x[0];
    for k in 0..3 {
        for i in 0..n {
            acc[i] += v;
            v = acc[i] * x[i] + st.cut(0, v * 0.1) + k as f64;
        }
    }
    acc[n - 1] * v
}

#[test]
fn a_carried_variable_read_before_it_is_assigned() {
    let mut rng = Rng::new(106);
    for _ in 0..30 {
        let (x, y) = (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5));
        let (v, (gx, gy)) = read_before_assign_for_grad(x, y);
        let copy = |p: &[f64], _: &mut Sites| read_before_assign_for(p[0], p[1]);
        let oracle = Oracle {
            name: "read_before_assign_for",
            copy: &copy,
            sites: &[],
            shape: &[1, 1],
        };
        let f = read_before_assign_for(black_box(x), y);
        let jvp = |d: &[f64]| read_before_assign_for_jvp(x, y, d[0], d[1]);
        oracle.check_all(&[x, y], f, (v, &[gx, gy]), &jvp, &mut rng);

        let (v, (gx, gy)) = read_before_assign_while_and_loop_grad(x, y);
        let copy = |p: &[f64], _: &mut Sites| read_before_assign_while_and_loop(p[0], p[1]);
        let oracle = Oracle {
            name: "read_before_assign_while_and_loop",
            copy: &copy,
            sites: &[],
            shape: &[1, 1],
        };
        let f = read_before_assign_while_and_loop(black_box(x), y);
        let jvp = |d: &[f64]| read_before_assign_while_and_loop_jvp(x, y, d[0], d[1]);
        oracle.check_all(&[x, y], f, (v, &[gx, gy]), &jvp, &mut rng);
    }
    for n in [1usize, 2, 5] {
        for _ in 0..8 {
            let x = rng.vec(n, -1.0, 1.0);
            let (v, g) = read_before_assign_array_grad(&x);
            let oracle = Oracle {
                name: "read_before_assign_array",
                copy: &read_before_assign_array_copy,
                sites: &[Cut::For(&[0])],
                shape: &[n],
            };
            let f = read_before_assign_array(black_box(&x));
            let jvp = |d: &[f64]| read_before_assign_array_jvp(&x, d);
            oracle.check_all(&x, f, (v, &g), &jvp, &mut rng);
        }
    }
}

// ---------------------------------------------------------------------------
// More variants of (a) and (b), and of the carried variable read before it
// is assigned.

/// A local array declared in the outer loop body and changed in the inner
/// loop, reaching the next iteration through a carried scalar.
#[differentiable(x; forward)]
fn array_declared_in_outer_loop_changed_in_inner(x: &[f64]) -> f64 {
    let n = x.len();
    let mut carry = 0.0;
    for _ in 0..3 {
        let mut h = vec![carry; n];
        for i in 0..n {
            h[i] += x[i] * h[(i + n - 1) % n];
        }
        carry = h[n - 1] + carry * 0.5;
    }
    carry
}

/// A store at an index carried across iterations, in an inner `while` with
/// `break`.
#[differentiable(x; forward)]
fn store_at_carried_index_in_while_with_break(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.3; n];
    let mut idx = 0;
    let mut total = 0.0;
    for k in 0..4 {
        total += h[idx] * x[k % n];
        let mut j = 0;
        while j < n {
            h[(idx + j) % n] = h[(idx + j) % n] * x[j] + 0.2;
            if j == 1 {
                break;
            }
            j += 1;
        }
        idx = (idx + 1) % n;
    }
    total + h[idx]
}

/// A store in the inner loop, then `continue 'outer` from it.
#[differentiable(x; forward)]
fn store_then_labeled_continue(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![1.0; n];
    let mut total = 0.0;
    'outer: for k in 0..3 {
        total += h[k % n];
        for i in 0..n {
            h[i] *= x[i];
            if i == k {
                continue 'outer;
            }
        }
        total += 1.0;
    }
    total * h[0]
}

/// Stores in the branches of an `if` in a `while` with `break`, under an
/// `if` on the array itself.
#[differentiable(x; forward)]
fn store_in_if_in_while_under_data_dependent_if(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = x[i];
    }
    let mut total = 0.0;
    let mut k = 0;
    while k < 5 {
        total += h[k % n] * h[(k + 1) % n];
        if h[k % n] > 0.0 {
            let mut i = 0;
            while i < n {
                if i % 2 == 0 {
                    h[i] = h[i] * 0.5 + x[i];
                } else {
                    h[i] -= 0.1 * h[i];
                }
                i += 1;
                if total > 3.0 {
                    break;
                }
            }
        }
        k += 1;
    }
    total + h[n - 1]
}

/// Stores in an inner loop, then `break` with a value read from the array.
#[differentiable(x; forward)]
fn store_then_break_with_value(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![1.0; n];
    let mut k = 0;
    let r = loop {
        let before = h[k % n];
        for i in 0..n {
            h[i] = h[i] * x[i] + before * 0.1;
        }
        k += 1;
        if k == 3 {
            break h[0] * before;
        }
    };
    r + h[n - 1]
}

/// `push` in an inner `for` of the last element pushed, its length read in
/// the body.
#[differentiable(x; forward)]
fn push_in_inner_for_reading_last_pushed(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = Vec::new();
    let mut total = 0.0;
    for k in 0..3 {
        for i in 0..n {
            let prev = if !s.is_empty() { s[s.len() - 1] } else { 1.0 };
            s.push(prev * x[i] + 0.1);
        }
        total += s[s.len() - 1] * s[k];
    }
    total
}

/// A store two blocks deep in the loop body.
#[differentiable(x; forward)]
fn store_in_nested_blocks(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.5; n];
    let mut total = 0.0;
    for k in 0..3 {
        total += h[0];
        {
            let t = h[k % n];
            {
                h[k % n] = t * x[k % n] + h[(k + 1) % n];
            }
        }
    }
    total + h[1 % n]
}

/// `return` two loops deep right after a store, inside a `while`.
#[differentiable(x; forward)]
fn store_then_return_two_loops_deep(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.5; n];
    let mut k = 0;
    while k < 4 {
        for i in 0..n {
            for j in 0..n {
                h[j] += h[i] * x[j] * 0.3;
                if h[j] > 2.5 {
                    return h[j] + h[i];
                }
            }
        }
        k += 1;
    }
    h[0]
}

/// A shadow shadowed again in an inner loop, with `return`.
#[differentiable(x; forward)]
fn shadow_shadowed_again_in_inner_loop(x: &[f64]) -> f64 {
    let n = x.len();
    let mut t = x[0];
    let mut s = 0.0;
    for k in 0..n {
        let t_old = t;
        let mut t = t_old * x[k];
        for _ in 0..2 {
            let t = t * 0.5;
            s += t;
        }
        t += 1.0;
        s += t;
        if s > 10.0 {
            return t;
        }
    }
    t + s
}

/// A shadow in a block before the outer variable is assigned, in `loop`
/// with `break`.
#[differentiable(x; forward)]
fn shadow_in_block_before_outer_assignment(x: &[f64]) -> f64 {
    let mut t = 0.0;
    let mut i = 0;
    loop {
        let t2 = t;
        {
            let t = t2 * 2.0 + x[i];
            let _ = t;
        }
        let t3 = t2 + x[i];
        t = t3 * x[i];
        i += 1;
        if i == x.len() {
            break;
        }
    }
    t
}

/// A shadow after the outer variable changes, `break` on the shadow, the
/// outer variable changed after the loop.
#[differentiable(x; forward)]
fn shadow_in_while_with_break_outer_changed_after(x: &[f64]) -> f64 {
    let mut t = x[0];
    let mut i = 0;
    while i < x.len() {
        t = t * x[i];
        let t = t + 1.0;
        if t > 2.0 {
            break;
        }
        i += 1;
    }
    t *= 2.0;
    t + x[0]
}

/// An array declared in the loop body, pushed to and changed in inner loops,
/// then read whole by `log_sum_exp`.
#[differentiable(x; forward)]
fn array_declared_in_loop_read_by_log_sum_exp(x: &[f64]) -> f64 {
    let n = x.len();
    let mut total = 0.0;
    for k in 0..3 {
        let mut z = Vec::new();
        for i in 0..n {
            z.push(x[i] * (k as f64 + 1.0) + total * 0.1);
        }
        for i in 0..n {
            if i % 2 == 1 {
                z[i] = z[i] * 0.5 + z[i - 1];
            }
        }
        total += log_sum_exp(&z);
    }
    total
}

/// Compound stores in an `if` / `else if` / `else` on the array, in a `for`
/// in a `while`.
#[differentiable(x; forward)]
fn compound_stores_in_else_if_chain(x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = x[i];
    }
    let mut t = 0;
    let mut acc = 0.0;
    while t < 3 {
        acc += h[t % n] * h[(t + 1) % n];
        for i in 0..n {
            if h[i] > 0.0 {
                h[i] *= 1.0 + x[i] * 0.2;
            } else if i > 0 {
                h[i] -= h[i - 1] * 0.3;
            } else {
                h[i] /= 1.5 + x[i] * x[i];
            }
        }
        t += 1;
    }
    acc + h[0] + h[n - 1]
}

/// An array of arrays (a parameter) read into a flat local array at
/// `i * c + j`, two loops deep.
#[differentiable(m; forward)]
fn flat_local_array_from_rows_two_loops_deep(m: &[Vec<f64>]) -> f64 {
    let r = m.len();
    let c = m[0].len();
    let mut a = vec![0.0; r * c];
    let mut out = 0.0;
    for step in 0..2 {
        out += a[(step * c) % (r * c)];
        for i in 0..r {
            for j in 0..c {
                a[i * c + j] =
                    a[i * c + j] * 0.5 + m[i][j] * a[(i * c + j + 1) % (r * c)] + m[i][j];
            }
        }
    }
    out + a[r * c - 1]
}

/// A `[[f64; 3]; 2]` parameter and a local `[f64; 3]` changed in the inner
/// loop.
#[differentiable(m; forward)]
fn local_fixed_array_from_nested_array(m: [[f64; 3]; 2]) -> f64 {
    let mut h = [0.0; 3];
    let mut out = 0.0;
    for row in 0..2 {
        out += h[row];
        for j in 0..3 {
            h[j] = h[j] * m[row][j] + m[row][(j + 1) % 3];
        }
    }
    out + h[2]
}

/// A local array literal changed in an inner loop under an `if`.
#[differentiable(x; forward)]
fn local_array_literal_changed_in_inner_loop(x: &[f64]) -> f64 {
    let mut h = [x[0], 1.0, x[x.len() - 1]];
    let mut out = 0.0;
    for k in 0..3 {
        out += h[k] * h[(k + 2) % 3];
        for j in 0..3 {
            if j != k {
                h[j] = (h[j] + x[j % x.len()]).sin();
            }
        }
    }
    out
}

/// A differentiation variable shadowed in a `loop` body, the parameter
/// used after the loop.
#[differentiable(x, y; forward)]
fn parameter_shadowed_in_loop_body(x: f64, y: f64) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    loop {
        let x = s + y;
        s += x * 0.5;
        i += 1;
        if i > 3 {
            break;
        }
    }
    s * x
}

/// Shadows of one name in two nested loops, the inner with `break`.
#[differentiable(x, y; forward)]
fn shadows_in_two_nested_loops(x: f64, y: f64) -> f64 {
    let mut t = x;
    let mut s = 0.0;
    for _ in 0..3 {
        let mut t = t * y;
        loop {
            let t2 = t;
            let mut t = t2 + 1.0;
            t *= x;
            s += t;
            if s > 2.0 || t > 0.0 || s < -5.0 {
                break;
            }
            s += 1.0;
        }
        t += s;
        s += t * 0.1;
    }
    t + s
}

/// A shadow returned from a branch of a `while`, another after the outer
/// variable changes, `break` on it.
#[differentiable(x, y; forward)]
fn shadow_returned_from_branch_in_while(x: f64, y: f64) -> f64 {
    let mut t = x;
    let mut k = 0;
    while k < 5 {
        let t_new = t * y + x;
        if t_new > 3.0 {
            let t = t_new - 3.0;
            return t * t;
        }
        t = t_new;
        let t = t * 2.0;
        k += 1;
        if t < -3.0 {
            break;
        }
    }
    t
}

/// `s += v; v = ..` in a `loop` with `break` values.
#[differentiable(x, y; forward)]
fn read_before_assign_with_break_values(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut v = y;
    let mut k = 0;
    let r = loop {
        k += 1;
        if k > 6 {
            break v;
        }
        s += v;
        v = s * y;
        if v.abs() > 2.0 || s.abs() > 5.0 {
            break s * v;
        }
        if s.abs() > 100.0 {
            break 0.0;
        }
    };
    r + v
}

/// `s += v; v = ..` in nested loops.
#[differentiable(x, y; forward)]
fn read_before_assign_in_nested_loops(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut v = y;
    for i in 0..3 {
        for _ in 0..2 {
            s += v;
            v = (s * 0.5).sin() + y * (i as f64);
        }
        s *= v;
        v = s - v;
    }
    s + v
}

#[test]
fn more_arrays_changed_in_nested_blocks() {
    let mut rng = Rng::new(107);
    type Slice = (
        &'static str,
        fn(&[f64]) -> f64,
        fn(&[f64]) -> (f64, Vec<f64>),
        fn(&[f64], &[f64]) -> (f64, f64),
    );
    macro_rules! slice {
        ($f:ident, $g:ident, $j:ident) => {
            (
                stringify!($f),
                $f as fn(&[f64]) -> f64,
                $g as fn(&[f64]) -> (f64, Vec<f64>),
                $j as fn(&[f64], &[f64]) -> (f64, f64),
            )
        };
    }
    let slices: [Slice; 13] = [
        slice!(
            array_declared_in_outer_loop_changed_in_inner,
            array_declared_in_outer_loop_changed_in_inner_grad,
            array_declared_in_outer_loop_changed_in_inner_jvp
        ),
        slice!(
            store_at_carried_index_in_while_with_break,
            store_at_carried_index_in_while_with_break_grad,
            store_at_carried_index_in_while_with_break_jvp
        ),
        slice!(
            store_then_labeled_continue,
            store_then_labeled_continue_grad,
            store_then_labeled_continue_jvp
        ),
        slice!(
            store_in_if_in_while_under_data_dependent_if,
            store_in_if_in_while_under_data_dependent_if_grad,
            store_in_if_in_while_under_data_dependent_if_jvp
        ),
        slice!(
            store_then_break_with_value,
            store_then_break_with_value_grad,
            store_then_break_with_value_jvp
        ),
        slice!(
            push_in_inner_for_reading_last_pushed,
            push_in_inner_for_reading_last_pushed_grad,
            push_in_inner_for_reading_last_pushed_jvp
        ),
        slice!(
            store_in_nested_blocks,
            store_in_nested_blocks_grad,
            store_in_nested_blocks_jvp
        ),
        slice!(
            store_then_return_two_loops_deep,
            store_then_return_two_loops_deep_grad,
            store_then_return_two_loops_deep_jvp
        ),
        slice!(
            shadow_shadowed_again_in_inner_loop,
            shadow_shadowed_again_in_inner_loop_grad,
            shadow_shadowed_again_in_inner_loop_jvp
        ),
        slice!(
            shadow_in_block_before_outer_assignment,
            shadow_in_block_before_outer_assignment_grad,
            shadow_in_block_before_outer_assignment_jvp
        ),
        slice!(
            shadow_in_while_with_break_outer_changed_after,
            shadow_in_while_with_break_outer_changed_after_grad,
            shadow_in_while_with_break_outer_changed_after_jvp
        ),
        slice!(
            array_declared_in_loop_read_by_log_sum_exp,
            array_declared_in_loop_read_by_log_sum_exp_grad,
            array_declared_in_loop_read_by_log_sum_exp_jvp
        ),
        slice!(
            compound_stores_in_else_if_chain,
            compound_stores_in_else_if_chain_grad,
            compound_stores_in_else_if_chain_jvp
        ),
    ];
    for n in [1usize, 2, 3, 5] {
        for _ in 0..8 {
            let x = rng.vec(n, -1.3, 1.3);
            if x.iter().any(|v| v.abs() < 1e-3) {
                continue;
            }
            for (name, f, grad, jvp) in slices {
                check_slice(name, f, grad, jvp, &x, &mut rng);
            }
            check_slice(
                "local_array_literal_changed_in_inner_loop",
                local_array_literal_changed_in_inner_loop,
                local_array_literal_changed_in_inner_loop_grad,
                local_array_literal_changed_in_inner_loop_jvp,
                &x,
                &mut rng,
            );

            let m: Vec<Vec<f64>> = (0..n).map(|_| rng.vec(2, -1.0, 1.0)).collect();
            let (v, g) = flat_local_array_from_rows_two_loops_deep_grad(&m);
            let copy =
                |p: &[f64], _: &mut Sites| flat_local_array_from_rows_two_loops_deep(&like(&m, p));
            let oracle = Oracle {
                name: "flat_local_array_from_rows_two_loops_deep",
                copy: &copy,
                sites: &[],
                shape: &[2 * n],
            };
            let f = flat_local_array_from_rows_two_loops_deep(black_box(&m));
            let jvp = |d: &[f64]| flat_local_array_from_rows_two_loops_deep_jvp(&m, &like(&m, d));
            oracle.check_all(&m.concat(), f, (v, &g.concat()), &jvp, &mut rng);

            let m: [[f64; 3]; 2] = [rng.array(-1.0, 1.0), rng.array(-1.0, 1.0)];
            let (v, g) = local_fixed_array_from_nested_array_grad(m);
            let copy = |p: &[f64], _: &mut Sites| local_fixed_array_from_nested_array(like(&m, p));
            let oracle = Oracle {
                name: "local_fixed_array_from_nested_array",
                copy: &copy,
                sites: &[],
                shape: &[6],
            };
            let f = local_fixed_array_from_nested_array(black_box(m));
            let jvp = |d: &[f64]| local_fixed_array_from_nested_array_jvp(m, like(&m, d));
            oracle.check_all(&m.concat(), f, (v, &g.concat()), &jvp, &mut rng);
        }
    }
}

#[test]
fn more_shadows_and_carried_variables_read_before_assignment() {
    let mut rng = Rng::new(108);
    type Pair = (
        &'static str,
        fn(f64, f64) -> f64,
        fn(f64, f64) -> (f64, (f64, f64)),
        fn(f64, f64, f64, f64) -> (f64, f64),
    );
    macro_rules! pair {
        ($f:ident, $g:ident, $j:ident) => {
            (
                stringify!($f),
                $f as fn(f64, f64) -> f64,
                $g as fn(f64, f64) -> (f64, (f64, f64)),
                $j as fn(f64, f64, f64, f64) -> (f64, f64),
            )
        };
    }
    let pairs: [Pair; 5] = [
        pair!(
            parameter_shadowed_in_loop_body,
            parameter_shadowed_in_loop_body_grad,
            parameter_shadowed_in_loop_body_jvp
        ),
        pair!(
            shadows_in_two_nested_loops,
            shadows_in_two_nested_loops_grad,
            shadows_in_two_nested_loops_jvp
        ),
        pair!(
            shadow_returned_from_branch_in_while,
            shadow_returned_from_branch_in_while_grad,
            shadow_returned_from_branch_in_while_jvp
        ),
        pair!(
            read_before_assign_with_break_values,
            read_before_assign_with_break_values_grad,
            read_before_assign_with_break_values_jvp
        ),
        pair!(
            read_before_assign_in_nested_loops,
            read_before_assign_in_nested_loops_grad,
            read_before_assign_in_nested_loops_jvp
        ),
    ];
    for _ in 0..40 {
        let (x, y) = (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5));
        for (name, f, grad, jvp) in pairs {
            let (v, (gx, gy)) = grad(x, y);
            let copy = |p: &[f64], _: &mut Sites| f(p[0], p[1]);
            let oracle = Oracle {
                name,
                copy: &copy,
                sites: &[],
                shape: &[1, 1],
            };
            let jvp = |d: &[f64]| jvp(x, y, d[0], d[1]);
            oracle.check_all(&[x, y], f(black_box(x), y), (v, &[gx, gy]), &jvp, &mut rng);
        }
    }
}

// ===========================================================================
// Rows of an integer `Vec<Vec<usize>>` parameter: `idx[i].len()` once
// moved the row out of the slice in the generated code (E0508).

/// A graph energy: Σᵢ Σ_{k ∈ nbrs(i)} (xᵢ − x_k)², neighbours as index rows.
#[differentiable(x; forward)]
fn graph_energy(x: &[f64], nbrs: &[Vec<usize>]) -> f64 {
    let mut e = 0.0;
    for i in 0..nbrs.len() {
        let deg = nbrs[i].len();
        for k in 0..deg {
            let d = x[i] - x[nbrs[i][k]];
            e += d * d / deg as f64;
        }
        if nbrs[i].is_empty() {
            e += x[i] * x[i];
        }
    }
    e
}

#[test]
fn rows_of_an_index_table_are_borrowed() {
    let mut rng = Rng::new(41);
    let nbrs: Vec<Vec<usize>> = vec![vec![1, 2], vec![0], vec![], vec![0, 1, 2]];
    for _ in 0..5 {
        let x = rng.vec(4, -2.0, 2.0);
        let (v, g) = graph_energy_grad(&x, &nbrs);
        let copy = |p: &[f64], _: &mut Sites| graph_energy(p, &nbrs);
        let oracle = Oracle {
            name: "graph_energy",
            copy: &copy,
            sites: &[],
            shape: &[4],
        };
        let jvp = |d: &[f64]| graph_energy_jvp(&x, &nbrs, d);
        oracle.check_all(
            &x,
            graph_energy(black_box(&x), &nbrs),
            (v, &g),
            &jvp,
            &mut rng,
        );
    }
}
