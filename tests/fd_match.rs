//! `match` on integers, enums, tuples and ranges, with guards, whose arms
//! produce or change values that carry derivatives: lowered to the `if`
//! chain it stands for. Each function is checked against central
//! differences of its frozen program (`common::per_occurrence`), the
//! dot-product identity with its `_jvp`, and its value bit for bit, for
//! every arm.

use sgrad::{differentiable, sg_for};
use std::hint::black_box;

mod common;
use common::per_occurrence::{Oracle, Sites};
use common::{like, Cut, Rng};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Act {
    Left,
    Right,
    Stay,
}

const ACTS: [Act; 3] = [Act::Left, Act::Right, Act::Stay];

/// An action-value: a `match` on an enum as a value, one on an integer with
/// alternatives and a guard as statements, one on a tuple.
#[differentiable(w; forward)]
fn q_value(w: [f64; 3], a: Act, k: usize, x: f64) -> f64 {
    let base = match a {
        Act::Left => w[0] * x,
        Act::Right => w[1] * x * x,
        Act::Stay => w[2].exp(),
    };
    let mut s = base;
    match k % 4 {
        0 | 1 => s += w[0].sin(),
        2 if x > 0.0 => {
            s *= w[1];
        }
        _ => {}
    }
    let t = match (k, a) {
        (0, Act::Left) => 1.0,
        (_, Act::Stay) => w[2] * w[2],
        _ => w[0] * w[1],
    };
    s + t
}

/// Ranges, an ε-greedy choice with a stop for one variable in one arm.
#[differentiable(w, b; forward)]
fn epsilon_greedy(w: [f64; 2], b: f64, u: f64, step: u32) -> f64 {
    let scale = match step {
        0..=9 => 1.0,
        10..=99 => 0.5 * b,
        _ => 0.1 * b * b,
    };
    match u {
        v if v < 0.1 => scale * sg_for!(w, w[0] * b),
        _ => scale * (w[0] * w[1] + b).tanh(),
    }
}

#[test]
fn match_on_enums_integers_and_tuples() {
    let mut rng = Rng::new(11);
    for a in ACTS {
        for k in 0..5 {
            for x in [-0.7, 0.4] {
                let w: [f64; 3] = rng.array(-1.0, 1.0);
                let (v, g) = q_value_grad(w, a, k, x);
                let copy = |p: &[f64], _: &mut Sites| q_value([p[0], p[1], p[2]], a, k, x);
                let oracle = Oracle {
                    name: "q_value",
                    copy: &copy,
                    sites: &[],
                    shape: &[3],
                };
                let jvp = |d: &[f64]| q_value_jvp(w, a, k, x, like(&w, d));
                oracle.check_all(&w, q_value(black_box(w), a, k, x), (v, &g), &jvp, &mut rng);
            }
        }
    }
}

#[test]
fn match_with_ranges_guards_and_a_stop() {
    let mut rng = Rng::new(12);
    for step in [3, 50, 400] {
        for u in [0.05, 0.5] {
            let w: [f64; 2] = rng.array(-1.0, 1.0);
            let b = rng.uniform(-1.0, 1.0);
            let (v, (gw, gb)) = epsilon_greedy_grad(w, b, u, step);
            // Site 0 is `sg_for!(w, ..)`: frozen for w (variable 0) only.
            let copy = |p: &[f64], s: &mut Sites| {
                let (w, b) = ([p[0], p[1]], p[2]);
                let scale = match step {
                    0..=9 => 1.0,
                    10..=99 => 0.5 * b,
                    _ => 0.1 * b * b,
                };
                if u < 0.1 {
                    scale * s.cut(0, w[0] * b)
                } else {
                    scale * (w[0] * w[1] + b).tanh()
                }
            };
            let sites = [Cut::For(&[0])];
            let oracle = Oracle {
                name: "epsilon_greedy",
                copy: &copy,
                sites: &sites,
                shape: &[2, 1],
            };
            let p = [w[0], w[1], b];
            let g = [gw[0], gw[1], gb];
            let jvp = |d: &[f64]| epsilon_greedy_jvp(w, b, u, step, [d[0], d[1]], d[2]);
            let f = epsilon_greedy(black_box(w), b, u, step);
            oracle.check_all(&p, f, (v, &g), &jvp, &mut rng);
        }
    }
}

/// Arms that name the whole value, which carries a derivative.
#[differentiable(x, w; forward)]
fn named_arms(x: f64, w: f64) -> f64 {
    let y = x * w;
    match y {
        v if v < -1.0 => -v.powi(2),
        v if v < 0.0 => v * x,
        v => (v + w).sin(),
    }
}

#[test]
fn match_arms_naming_the_value() {
    let mut rng = Rng::new(13);
    for _ in 0..20 {
        let (x, w) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        let (v, (gx, gw)) = named_arms_grad(x, w);
        let copy = |p: &[f64], _: &mut Sites| named_arms(p[0], p[1]);
        let oracle = Oracle {
            name: "named_arms",
            copy: &copy,
            sites: &[],
            shape: &[1, 1],
        };
        let jvp = |d: &[f64]| named_arms_jvp(x, w, d[0], d[1]);
        let f = named_arms(black_box(x), w);
        oracle.check_all(&[x, w], f, (v, &[gx, gw]), &jvp, &mut rng);
    }
}

/// `break` and `continue` in `match` arms inside a loop.
#[differentiable(x; forward)]
fn match_exits(x: &[f64], codes: &[u8]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        match codes[i % codes.len()] {
            0 => continue,
            1 => s += x[i].sin(),
            2 => break,
            _ => s *= 1.0 + x[i] * x[i],
        }
    }
    s
}

#[test]
fn match_arms_leave_the_loop() {
    let mut rng = Rng::new(14);
    for codes in [&[1u8, 3, 1, 0][..], &[3, 1, 1, 2, 1], &[0], &[1, 1, 1]] {
        let x = rng.vec(6, -1.0, 1.0);
        let (v, g) = match_exits_grad(&x, codes);
        let copy = |p: &[f64], _: &mut Sites| match_exits(p, codes);
        let oracle = Oracle {
            name: "match_exits",
            copy: &copy,
            sites: &[],
            shape: &[6],
        };
        let jvp = |d: &[f64]| match_exits_jvp(&x, codes, d);
        oracle.check_all(
            &x,
            match_exits(black_box(&x), codes),
            (v, &g),
            &jvp,
            &mut rng,
        );
    }
}
