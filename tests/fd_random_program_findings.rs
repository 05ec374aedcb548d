//! The reproducers that programs generated at random from the README's
//! constructs found (issue 9), each against a hand-derived derivative or
//! central differences, in reverse and forward mode.

#![allow(
    clippy::needless_range_loop,
    clippy::never_loop,
    clippy::useless_vec,
    clippy::needless_borrow
)]

use sgrad::{differentiable, log_sum_exp, sg_for};

mod common;
use common::{assert_directional, F64};

/// `vec![..]` holding a `sg_for!` site: `x·y` is constant for `x` only.
#[differentiable(x, y; forward)]
fn sg_for_in_vec(x: f64, y: f64) -> f64 {
    let v = vec![sg_for!(x, x * y), y];
    v[0] * v[1]
}

#[test]
fn sg_for_inside_vec_macro() {
    let (x, y) = (1.5, -0.5);
    let (v, (gx, gy)) = sg_for_in_vec_grad(x, y);
    assert_eq!(v, sg_for_in_vec(x, y));
    // value x·y²; d/dx with x·y frozen: 0 ... plus nothing else: 0.
    assert_eq!(gx, 0.0);
    assert_eq!(gy, 2.0 * x * y);
    let (_, t) = sg_for_in_vec_jvp(x, y, 0.0, 1.0);
    assert_eq!(t, 2.0 * x * y);
    assert_eq!(sg_for_in_vec_jvp(x, y, 1.0, 0.0).1, 0.0);
}

/// Rows given by an index expression: `m[i].iter().sum::<f64>()` and
/// `for &t in m[i].iter()`, under a label.
#[differentiable(m; forward)]
fn rows_by_index(m: &[Vec<f64>]) -> f64 {
    let mut s = 0.0;
    'rows: for i in 0..m.len() {
        s += m[i].iter().sum::<f64>();
        for &t in m[i].iter() {
            if t > 10.0 {
                continue 'rows;
            }
            s += t * t;
        }
        for (j, t) in (&m[i]).iter().enumerate() {
            s += j as f64 * t.sin();
        }
    }
    s
}

#[test]
fn rows_given_by_an_index_expression() {
    let m = vec![vec![0.3, -1.2, 2.0], vec![0.7, 0.1]];
    let (v, g) = rows_by_index_grad(&m);
    assert_eq!(v, rows_by_index(&m));
    for i in 0..m.len() {
        for j in 0..m[i].len() {
            let want = 1.0 + 2.0 * m[i][j] + j as f64 * m[i][j].cos();
            assert!(
                (g[i][j] - want).abs() < 1e-14,
                "{i},{j}: {} vs {want}",
                g[i][j]
            );
        }
    }
    let dm = vec![vec![1.0, 0.5, -1.0], vec![0.25, 2.0]];
    let (_, t) = rows_by_index_jvp(&m, &dm);
    let dot: f64 = (0..2)
        .flat_map(|i| (0..m[i].len()).map(move |j| (i, j)))
        .map(|(i, j)| g[i][j] * dm[i][j])
        .sum();
    assert!((t - dot).abs() < 1e-13, "{t} vs {dot}");
}

/// `continue 'outer` from a loop over a row of data.
#[differentiable(x; forward)]
fn continue_outer_over_data_rows(x: f64, m: &[Vec<f64>]) -> f64 {
    let mut s = 0.0;
    'outer: for j in 0..m.len() {
        for &t in m[j].iter() {
            if t > 0.5 {
                continue 'outer;
            }
            s += t * x * x;
        }
    }
    s
}

#[test]
fn continue_outer_from_a_loop_over_a_data_row() {
    let m = vec![vec![0.1, 0.2, 0.9, 0.3], vec![0.4], vec![0.7, 0.1]];
    let x = 1.3;
    // The terms before the first element above 0.5 of each row: 0.1 + 0.2 + 0.4.
    let c = 0.1 + 0.2 + 0.4;
    let (v, g) = continue_outer_over_data_rows_grad(x, &m);
    assert_eq!(v, continue_outer_over_data_rows(x, &m));
    assert!((v - c * x * x).abs() < 1e-14);
    assert!((g - 2.0 * c * x).abs() < 1e-14);
    assert!((continue_outer_over_data_rows_jvp(x, &m, 1.0).1 - g).abs() < 1e-14);
}

/// A `return` in an `if` nested in one branch, a store in the other, then
/// `log_sum_exp` of the array.
#[differentiable(x; forward)]
fn return_in_branch_then_log_sum_exp(x: &[f64]) -> f64 {
    let mut h = vec![0.0; 2];
    if x[0] > 0.0 {
        if x[1] > 0.0 {
            return x[0] * x[1];
        }
        h[0] = x[1];
    } else {
        h[1] = x[0];
    }
    log_sum_exp(&h)
}

#[test]
fn store_then_log_sum_exp_after_a_return_in_another_branch() {
    for x in [[0.5, 0.7], [0.5, -0.7], [-0.5, 0.7]] {
        let (v, g) = return_in_branch_then_log_sum_exp_grad(&x);
        assert_eq!(v, return_in_branch_then_log_sum_exp(&x));
        for c in 0..2 {
            let mut e = [0.0; 2];
            e[c] = 1.0;
            assert_directional(
                "return_in_branch_then_log_sum_exp",
                &|p: &[f64]| return_in_branch_then_log_sum_exp(p),
                &x,
                &e,
                g[c],
                F64,
            );
            let (_, t) = return_in_branch_then_log_sum_exp_jvp(&x, &e);
            assert!((t - g[c]).abs() < 1e-14);
        }
    }
}

/// With `; forward`, a `Vec::new()` with a type read before its first push.
#[differentiable(x; forward)]
fn typed_empty_vec_read_before_push(x: f64) -> f64 {
    let mut buf: Vec<f64> = Vec::new();
    let mut s = 0.0;
    for j in 0..3 {
        if j > 0 {
            s += -buf[j - 1];
        }
        buf.push(x * x * j as f64);
    }
    s
}

#[test]
fn a_typed_empty_vec_keeps_its_type_in_forward_mode() {
    let x = 0.8;
    // -(0 + 1)·x²
    let (v, g) = typed_empty_vec_read_before_push_grad(x);
    assert_eq!(v, typed_empty_vec_read_before_push(x));
    assert_eq!(g, -2.0 * x);
    assert_eq!(typed_empty_vec_read_before_push_jvp(x, 1.0), (v, -2.0 * x));
}

/// A `loop` left by both `break;` and `break s -= 1.0;`.
#[differentiable(s; forward)]
fn break_with_a_unit_value(s: f64) -> f64 {
    let mut s = s;
    let mut n = 0;
    loop {
        n += 1;
        if s < 1.0 || n > 100 {
            break;
        }
        if s > 3.0 {
            break s -= 1.0;
        }
        s *= s;
    }
    s
}

#[test]
fn a_loop_left_by_break_and_by_break_with_a_unit_value() {
    // 1.5 → 2.25 → 5.0625 → break s -= 1: s⁴ − 1, derivative 4s³.
    let s = 1.5;
    let (v, g) = break_with_a_unit_value_grad(s);
    assert_eq!(v, break_with_a_unit_value(s));
    assert_eq!(v, s.powi(4) - 1.0);
    assert!((g - 4.0 * s * s * s).abs() < 1e-13);
    assert!((break_with_a_unit_value_jvp(s, 1.0).1 - g).abs() < 1e-13);
    // s < 1 at once: the identity.
    assert_eq!(break_with_a_unit_value_grad(0.5), (0.5, 1.0));
}
