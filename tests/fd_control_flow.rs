//! Control flow that leaves more than one iteration: `return` inside loops,
//! labeled `break`/`continue`, `break` with a value, and stepped ranges.
//! Each gradient is checked against central differences of the plain
//! function (the programs are smooth away from their branch switches, and
//! the points are chosen away from them), each value bit for bit, and each
//! gradient against forward mode by the dot-product identity
//! `<gradient, v> = jvp(v)` in seeded random directions.

#![allow(clippy::needless_range_loop)]

use sgrad::{differentiable, sg_for};

mod common;
use common::{assert_jvp, assert_jvp_plain, Rng};

/// Central differences with h = 1e-6: truncation ~h² f''' ≈ 1e-12 and
/// rounding ~1e-16 |f| / h ≈ 1e-10 on these O(1..10) programs, so 1e-6
/// relative leaves a wide margin while any wrong term shows at O(0.1).
fn fd1(f: &dyn Fn(&[f64]) -> f64, x: &[f64], g: &[f64], what: &str) {
    assert_eq!(x.len(), g.len(), "{what}");
    for i in 0..x.len() {
        let h = 1e-6;
        let mut a = x.to_vec();
        a[i] += h;
        let mut b = x.to_vec();
        b[i] -= h;
        let fd = (f(&a) - f(&b)) / (2.0 * h);
        assert!(
            (fd - g[i]).abs() < 1e-6 * fd.abs().max(1.0),
            "{what} {i}: {fd} vs {}",
            g[i]
        );
    }
}

#[differentiable(x; forward)]
fn early_return(x: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
        if s > t {
            return s.sqrt() * x[i];
        }
    }
    s * 2.0
}

#[differentiable(x; forward)]
fn labeled(x: &[f64]) -> f64 {
    let mut s = 0.0;
    'outer: for i in 0..x.len() {
        for j in 0..x.len() {
            if j > i {
                continue 'outer;
            }
            s += x[i] * x[j];
            if s > 3.0 {
                break 'outer;
            }
        }
    }
    s
}

#[differentiable(x; forward)]
fn break_value(x: f64) -> f64 {
    let mut y = x;
    let r = loop {
        y = y * 1.5 + 0.1;
        if y > 10.0 {
            break y.ln();
        }
    };
    r * x
}

#[differentiable(x; forward)]
fn nested_return(x: &[f64]) -> f64 {
    let mut p = 1.0;
    for i in 0..x.len() {
        let mut k = 0;
        while k < 3 {
            p *= 1.0 + 0.1 * x[i];
            if p > 2.0 {
                return p + x[0];
            }
            k += 1;
        }
    }
    -p
}

#[differentiable(x; forward)]
fn stepped(x: &[f64]) -> f64 {
    let mut s = 1.0;
    for i in (0..x.len()).step_by(2) {
        s = s * x[i].sin() + x[i];
    }
    for i in (1..=x.len() - 1).rev().step_by(3) {
        s += s * x[i];
    }
    s
}

/// `return` of a value blocked for `a` only, from a `while` inside a `for`.
#[differentiable(a, b; forward)]
fn blocked_return(a: f64, b: f64, n: usize) -> f64 {
    let mut s = a;
    for i in 0..n {
        let mut k = 0;
        while k < 2 {
            s = s * b + 0.1 * i as f64;
            if s > 4.0 {
                return sg_for!(a, s * s) + a;
            }
            k += 1;
        }
    }
    s * a
}

fn blocked_return_frozen(a: f64, b: f64, n: usize, a0: f64) -> f64 {
    let mut s = a;
    for i in 0..n {
        let mut k = 0;
        while k < 2 {
            s = s * b + 0.1 * i as f64;
            if s > 4.0 {
                // The site blocks `a`: its value is taken at the base point.
                let mut s0 = a0;
                'again: for i0 in 0..n {
                    for _ in 0..2 {
                        s0 = s0 * b + 0.1 * i0 as f64;
                        if s0 > 4.0 {
                            break 'again;
                        }
                    }
                }
                return s0 * s0 + a;
            }
            k += 1;
        }
    }
    s * a
}

/// `continue 'rows` from a `while` nested in a labeled `while`.
#[differentiable(x; forward)]
fn labeled_while(x: [f64; 3]) -> f64 {
    let mut s: f64 = 0.0;
    let mut i = 0;
    'rows: while i < 3 {
        i += 1;
        let mut j = 0;
        while j < 3 {
            j += 1;
            if j == i {
                continue 'rows;
            }
            s += x[i - 1] * x[j - 1] + s.sin();
        }
    }
    s
}

#[test]
fn stepped_ranges() {
    let x = [0.3, -0.7, 1.1, 0.5, 0.9, -0.2, 0.4];
    let (v, g) = stepped_grad(&x);
    assert_eq!(v.to_bits(), stepped(&x).to_bits());
    fd1(&|x| stepped(x), &x, &g, "stepped");
    let jvp = |dir: &[f64]| stepped_jvp(&x, dir);
    assert_jvp_plain("stepped", v, &g, &jvp, &mut Rng::new(1));
}

#[test]
fn return_of_a_blocked_value_from_nested_loops() {
    let mut rng = Rng::new(2);
    for (a, b, n) in [(0.9, 1.7, 4), (0.5, 1.1, 3), (1.2, 2.5, 5)] {
        let (v, (da, db)) = blocked_return_grad(a, b, n);
        assert_eq!(v.to_bits(), blocked_return(a, b, n).to_bits());
        fd1(
            &|p| blocked_return_frozen(p[0], b, n, a),
            &[a],
            &[da],
            "blocked a",
        );
        fd1(&|p| blocked_return(a, p[0], n), &[b], &[db], "live b");
        // The site blocks `a` only: a tangent for each variable on its own.
        let jvp = |dir: &[f64]| blocked_return_jvp(a, b, n, dir[0], dir[1]);
        let groups = [vec![0], vec![1]];
        assert_jvp("blocked_return", v, &[da, db], &groups, &jvp, &mut rng);
    }
}

#[test]
fn labeled_continue_in_while_loops() {
    let x = [0.3, -0.7, 1.1];
    let (v, g) = labeled_while_grad(x);
    assert_eq!(v.to_bits(), labeled_while(x).to_bits());
    fd1(
        &|x| labeled_while([x[0], x[1], x[2]]),
        &x,
        &g,
        "labeled while",
    );
    let jvp = |dir: &[f64]| labeled_while_jvp(x, [dir[0], dir[1], dir[2]]);
    assert_jvp_plain("labeled_while", v, &g, &jvp, &mut Rng::new(3));
}

#[test]
fn return_labeled_exits_and_break_values() {
    let mut rng = Rng::new(4);
    for t in [0.5, 2.0, 100.0] {
        let x = [0.3, -0.7, 1.1, 0.5];
        let (v, g) = early_return_grad(&x, t);
        assert_eq!(v.to_bits(), early_return(&x, t).to_bits());
        fd1(&|x| early_return(x, t), &x, &g, "early");
        let jvp = |dir: &[f64]| early_return_jvp(&x, t, dir);
        assert_jvp_plain("early_return", v, &g, &jvp, &mut rng);
    }
    for x in [
        [0.3, 0.7, 1.1, 0.5],
        [0.1, 0.2, 0.3, 0.1],
        [1.3, 1.7, 1.1, 1.5],
    ] {
        let (v, g) = labeled_grad(&x);
        assert_eq!(v.to_bits(), labeled(&x).to_bits());
        fd1(&|x| labeled(x), &x, &g, "labeled");
        let jvp = |dir: &[f64]| labeled_jvp(&x, dir);
        assert_jvp_plain("labeled", v, &g, &jvp, &mut rng);
    }
    for x in [0.3, 1.7] {
        let (v, g) = break_value_grad(x);
        assert_eq!(v.to_bits(), break_value(x).to_bits());
        fd1(&|x| break_value(x[0]), &[x], &[g], "break value");
        let jvp = |dir: &[f64]| break_value_jvp(x, dir[0]);
        assert_jvp_plain("break_value", v, &[g], &jvp, &mut rng);
    }
    for x in [
        [0.3, 0.7, 1.1, 0.5],
        [0.1, 0.2, 0.3, 0.1],
        [3.3, 1.7, 1.1, 1.5],
    ] {
        let (v, g) = nested_return_grad(&x);
        assert_eq!(v.to_bits(), nested_return(&x).to_bits());
        fd1(&|x| nested_return(x), &x, &g, "nested return");
        let jvp = |dir: &[f64]| nested_return_jvp(&x, dir);
        assert_jvp_plain("nested_return", v, &g, &jvp, &mut rng);
    }
}
