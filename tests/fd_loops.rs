//! Arrays, slices, `Vec`s and `for` loops, checked against an independent
//! oracle.
//!
//! The oracle is `SEMANTICS.md`'s rule, as in `fd_semantics.rs`: for each
//! differentiated function the test holds a copy of its body in plain Rust
//! over one flat vector of all differentiation variables' components, in
//! which every `sg` / `sg_for!` site is a call `s.cut(site, e)`, and a table
//! saying which variables each site blocks. Inside a loop a site is reached
//! once per iteration; each of those dynamic occurrences is frozen at its own
//! value at the base point. The derivative with respect to a component of
//! the variable xₖ must be the derivative of Pₖ (the copy with every
//! occurrence of a site that blocks xₖ frozen), taken by central differences
//! per component and in a seeded random direction over each set of variables
//! that see the same program. Functions without sites are their own copy.
//! Several tests also state the gradient as a hand-derived formula.
//!
//! Every function also has forward mode (`; forward`), and the gradient is
//! checked against it by the dot-product identity `<gradient, v> = jvp(v)`
//! (`Oracle::check_all`, which does the whole check: the value bit for bit,
//! the differences, the identity per group of variables blocked at the same
//! sites and over all of them).

// The differentiated functions index in `for i in a..b` loops on purpose: it
// is the loop form the macro differentiates. The copies the oracle runs mirror
// them line for line.
#![allow(clippy::needless_range_loop)]

use sgrad::{differentiable, sg, sg_for};
use std::f64::consts::PI;
use std::hint::black_box;

mod common;
use common::per_occurrence::{Oracle, Sites};
use common::{
    assert_bits, assert_close_all, assert_jvp, assert_jvp_plain, like, Cut, Rng, F32, F64,
};

fn all(n: usize) -> Vec<usize> {
    (0..n).collect()
}

// ===========================================================================
// Loop forms and parameter types.

// ---------------------------------------------------------------------------
// Rosenbrock: `&[f64]`, `a..b`, `x.len()`, `x[i + 1]`.

#[differentiable(x; forward)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    s
}

/// ∂/∂xᵢ = −400 xᵢ (xᵢ₊₁ − xᵢ²) − 2 (1 − xᵢ) [i < n−1] + 200 (xᵢ − xᵢ₋₁²) [i > 0],
/// and the size of the terms.
fn rosenbrock_by_hand(x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let (mut g, mut scale) = (vec![0.0; n], vec![0.0; n]);
    for i in 0..n - 1 {
        let t = x[i + 1] - x[i] * x[i];
        let (a, b, c) = (-400.0 * x[i] * t, -2.0 * (1.0 - x[i]), 200.0 * t);
        g[i] += a + b;
        scale[i] += a.abs() + b.abs();
        g[i + 1] += c;
        scale[i + 1] += c.abs();
    }
    (g, scale)
}

#[test]
fn rosenbrock_at_2_10_and_1000_by_hand_and_by_differences() {
    let mut rng = Rng::new(21);
    for n in [2usize, 10, 1000] {
        for _ in 0..if n == 1000 { 3 } else { 10 } {
            let x = rng.vec(n, -2.0, 2.0);
            let (v, g): (f64, Vec<f64>) = rosenbrock_grad(&x);
            assert_bits("rosenbrock", rosenbrock(black_box(&x)), v);
            let (want, scale) = rosenbrock_by_hand(&x);
            assert_close_all(&format!("rosenbrock n={n}"), &g, &want, &scale, 1e-13);

            let copy = |p: &[f64], _: &mut Sites| rosenbrock(p);
            let oracle = Oracle {
                name: "rosenbrock",
                copy: &copy,
                sites: &[],
                shape: &[n],
            };
            oracle.check_value(&x, v, 0.0);
            let comps: Vec<usize> = if n <= 10 {
                all(n)
            } else {
                let mut c = vec![0, 1, n / 2, n - 2, n - 1];
                c.extend((0..10).map(|_| rng.below(n)));
                c
            };
            oracle.check_components(&x, &g, &comps, F64);
            oracle.check_directions(&x, &g, &mut rng, F64);
            oracle.check_jvp(v, &g, &|dir| rosenbrock_jvp(&x, dir), &mut rng);
        }
    }
    // The minimum: value and gradient exactly zero.
    let (v, g) = rosenbrock_grad(&[1.0; 10]);
    assert_eq!(v, 0.0);
    assert!(g.iter().all(|&d| d == 0.0), "{g:?}");
}

// ---------------------------------------------------------------------------
// `[f64; N]` by value, `a..=b` with bounds from constants, a constant array.

#[differentiable(x; forward)]
fn chain_incl(x: [f64; 5], w: [f64; 5], lo: usize, hi: usize) -> f64 {
    let mut s = x[0] * 0.5;
    for i in lo..=hi {
        s += w[i] * x[i - 1] * x[i].sin() + x[hi - i] / (1.0 + x[i] * x[i]);
    }
    s
}

#[test]
fn array_by_value_inclusive_range() {
    let mut rng = Rng::new(22);
    for _ in 0..20 {
        let x: [f64; 5] = rng.array(-2.0, 2.0);
        let w: [f64; 5] = rng.array(-1.0, 1.0);
        for (lo, hi) in [(1, 4), (2, 3), (4, 4)] {
            let (v, g): (f64, [f64; 5]) = chain_incl_grad(x, w, lo, hi);
            let copy = |p: &[f64], _: &mut Sites| chain_incl(p.try_into().unwrap(), w, lo, hi);
            let oracle = Oracle {
                name: "chain_incl",
                copy: &copy,
                sites: &[],
                shape: &[5],
            };
            let jvp = |dir: &[f64]| chain_incl_jvp(x, w, lo, hi, like(&x, dir));
            oracle.check_all(
                &x,
                chain_incl(black_box(x), w, lo, hi),
                (v, &g),
                &jvp,
                &mut rng,
            );
        }
        // By hand, one iteration (lo = hi = 4):
        // s = x₀/2 + w₄ x₃ sin x₄ + x₀ / (1 + x₄²).
        let (_, g) = chain_incl_grad(x, w, 4, 4);
        let q = 1.0 + x[4] * x[4];
        let want = [
            0.5 + 1.0 / q,
            0.0,
            0.0,
            w[4] * x[4].sin(),
            w[4] * x[3] * x[4].cos() - x[0] * 2.0 * x[4] / (q * q),
        ];
        assert_close_all("chain_incl 4..=4", &g, &want, &[1.0; 5], 1e-14);
    }
}

// ---------------------------------------------------------------------------
// `&[f64; N]`, `(a..b).rev()`, index expressions, the index as a float.

#[differentiable(x; forward)]
fn rev_index(x: &[f64; 6], k: usize) -> f64 {
    let mut s = 1.0;
    for i in (0..3).rev() {
        s = s * x[2 * i + 1].cos() + x[(i + k) % 6] * x[5 - i] - x[i / 2] * (i as f64);
    }
    for i in (1..x.len()).rev() {
        s = 0.5 * s + x[i] * x[i - 1];
    }
    s
}

#[test]
fn array_reference_reversed_range_and_index_expressions() {
    let mut rng = Rng::new(23);
    for _ in 0..20 {
        let x: [f64; 6] = rng.array(-1.5, 1.5);
        for k in [0, 1, 4] {
            let (v, g): (f64, [f64; 6]) = rev_index_grad(&x, k);
            let copy = |p: &[f64], _: &mut Sites| rev_index(p.try_into().unwrap(), k);
            let oracle = Oracle {
                name: "rev_index",
                copy: &copy,
                sites: &[],
                shape: &[6],
            };
            let jvp = |dir: &[f64]| rev_index_jvp(&x, k, &like(&x, dir));
            oracle.check_all(&x, rev_index(black_box(&x), k), (v, &g), &jvp, &mut rng);
        }
    }
}

// ---------------------------------------------------------------------------
// `Vec<f64>` by value with a scalar: several carried variables, all of
// `+= -= *= /=` and `=`, one updated from another's old value.

#[differentiable(x, y; forward)]
fn carried_many(x: Vec<f64>, y: f64) -> f64 {
    let n = x.len();
    let mut p = 1.0;
    let mut q = y;
    let mut r = 0.0;
    for i in 1..n {
        let a = x[i] * y;
        p *= 1.0 + 0.1 * a.tanh();
        q /= 1.0 + x[i - 1] * x[i - 1];
        r -= q * p;
        let q_old = q;
        q = r.sin() + q_old * y;
        r = 0.5 * r + q_old;
    }
    p + q * r / n as f64
}

#[test]
fn vec_by_value_several_carried_variables() {
    let mut rng = Rng::new(24);
    for n in [1usize, 2, 7] {
        for _ in 0..10 {
            let x = rng.vec(n, -1.5, 1.5);
            let y = rng.uniform(-1.2, 1.2);
            let (v, (g, dy)): (f64, (Vec<f64>, f64)) = carried_many_grad(x.clone(), y);
            let copy = |p: &[f64], _: &mut Sites| carried_many(p[..n].to_vec(), p[n]);
            let oracle = Oracle {
                name: "carried_many",
                copy: &copy,
                sites: &[],
                shape: &[n, 1],
            };
            let flat = [&x[..], &[y]].concat();
            let grad = [&g[..], &[dy]].concat();
            let jvp = |dir: &[f64]| carried_many_jvp(x.clone(), y, dir[..n].to_vec(), dir[n]);
            oracle.check_all(
                &flat,
                carried_many(black_box(x.clone()), y),
                (v, &grad),
                &jvp,
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// `&Vec<f64>` and a scalar: Horner's rule with `(0..n).rev()`.

#[differentiable(c, x; forward)]
#[allow(clippy::ptr_arg)]
fn horner(c: &Vec<f64>, x: f64) -> f64 {
    let n = c.len();
    let mut acc = 0.0;
    for i in (0..n).rev() {
        acc = acc * x + c[i];
    }
    acc
}

#[test]
fn horner_polynomial_by_hand_and_by_differences() {
    let mut rng = Rng::new(25);
    for n in [1usize, 2, 5, 12] {
        for _ in 0..10 {
            let c = rng.vec(n, -2.0, 2.0);
            let x = rng.uniform(-1.3, 1.3);
            let (v, (gc, gx)): (f64, (Vec<f64>, f64)) = horner_grad(&c, x);
            // ∂/∂cᵢ = xⁱ, ∂/∂x = Σ i cᵢ xⁱ⁻¹.
            let want_c: Vec<f64> = (0..n).map(|i| x.powi(i as i32)).collect();
            assert_close_all("horner d/dc", &gc, &want_c, &want_c, 1e-13);
            let dx: f64 = (1..n).map(|i| i as f64 * c[i] * x.powi(i as i32 - 1)).sum();
            let dx_scale: f64 = (1..n)
                .map(|i| (i as f64 * c[i] * x.powi(i as i32 - 1)).abs())
                .sum();
            assert_close_all("horner d/dx", &[gx], &[dx], &[dx_scale], 1e-13);
            let copy = |p: &[f64], _: &mut Sites| horner(&p[..n].to_vec(), p[n]);
            let oracle = Oracle {
                name: "horner",
                copy: &copy,
                sites: &[],
                shape: &[n, 1],
            };
            let flat = [&c[..], &[x]].concat();
            let grad = [&gc[..], &[gx]].concat();
            let jvp = |dir: &[f64]| horner_jvp(&c, x, &dir[..n].to_vec(), dir[n]);
            oracle.check_all(
                &flat,
                horner(black_box(&c), black_box(x)),
                (v, &grad),
                &jvp,
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Every parameter type in one function, f64 and f32.

#[differentiable(a, b, c, d, e, t; forward)]
#[allow(clippy::ptr_arg, clippy::needless_range_loop)]
fn kinds64(a: [f64; 3], b: &[f64; 2], c: &[f64], d: Vec<f64>, e: &Vec<f64>, t: f64) -> f64 {
    let mut s = t;
    for i in 0..3 {
        s += a[i] * b[i % 2] * t;
    }
    for i in 0..c.len() {
        s = s * 0.9 + c[i] * d[i % d.len()];
    }
    for j in (0..e.len()).rev() {
        s += (e[j] - b[0]).powi(2) * 0.1 + d[j].sin();
    }
    s
}

#[differentiable(a, b, c, d, e, t)]
#[allow(clippy::ptr_arg, clippy::needless_range_loop)]
fn kinds32(a: [f32; 3], b: &[f32; 2], c: &[f32], d: Vec<f32>, e: &Vec<f32>, t: f32) -> f32 {
    let mut s = t;
    for i in 0..3 {
        s += a[i] * b[i % 2] * t;
    }
    for i in 0..c.len() {
        s = s * 0.9 + ((c[i] as f64) * 0.5).exp() as f32 * d[i % d.len()];
    }
    for j in (0..e.len()).rev() {
        s += (e[j] - b[0]).powi(2) * 0.1 + d[j].sin();
    }
    s
}

/// `kinds32` in f64 over the flat vector (a: 3, b: 2, c: nc, d: nd, e: ne, t).
fn kinds32_copy(p: &[f64], nc: usize, nd: usize, ne: usize) -> f64 {
    let (a, rest) = p.split_at(3);
    let (b, rest) = rest.split_at(2);
    let (c, rest) = rest.split_at(nc);
    let (d, rest) = rest.split_at(nd);
    let (e, rest) = rest.split_at(ne);
    let t = rest[0];
    let mut s = t;
    for i in 0..3 {
        s += a[i] * b[i % 2] * t;
    }
    for i in 0..c.len() {
        s = s * 0.9 + (c[i] * 0.5).exp() * d[i % d.len()];
    }
    for j in (0..e.len()).rev() {
        s += (e[j] - b[0]).powi(2) * 0.1 + d[j].sin();
    }
    s
}

#[test]
fn every_parameter_type_f64() {
    let mut rng = Rng::new(26);
    for (nc, nd, ne) in [(4usize, 3usize, 2usize), (0, 1, 0), (5, 5, 5)] {
        for _ in 0..10 {
            let a: [f64; 3] = rng.array(-1.0, 1.0);
            let b: [f64; 2] = rng.array(-1.0, 1.0);
            let c = rng.vec(nc, -1.0, 1.0);
            let d = rng.vec(nd, -1.0, 1.0);
            let e = rng.vec(ne, -1.0, 1.0);
            let t = rng.uniform(-1.0, 1.0);
            #[allow(clippy::type_complexity)]
            let (v, (ga, gb, gc, gd, ge, gt)): (
                f64,
                ([f64; 3], [f64; 2], Vec<f64>, Vec<f64>, Vec<f64>, f64),
            ) = kinds64_grad(a, &b, &c, d.clone(), &e, t);
            assert_eq!((gc.len(), gd.len(), ge.len()), (nc, nd, ne));
            let copy = |p: &[f64], _: &mut Sites| {
                let (pa, rest) = p.split_at(3);
                let (pb, rest) = rest.split_at(2);
                let (pc, rest) = rest.split_at(nc);
                let (pd, rest) = rest.split_at(nd);
                let (pe, rest) = rest.split_at(ne);
                kinds64(
                    pa.try_into().unwrap(),
                    pb.try_into().unwrap(),
                    pc,
                    pd.to_vec(),
                    &pe.to_vec(),
                    rest[0],
                )
            };
            let oracle = Oracle {
                name: "kinds64",
                copy: &copy,
                sites: &[],
                shape: &[3, 2, nc, nd, ne, 1],
            };
            let flat = [&a[..], &b, &c, &d, &e, &[t]].concat();
            let grad = [&ga[..], &gb, &gc, &gd, &ge, &[gt]].concat();
            let jvp = |dir: &[f64]| {
                let (ta, tb, tc, td, te, tt) =
                    like(&(a, b, c.clone(), d.clone(), e.clone(), t), dir);
                kinds64_jvp(a, &b, &c, d.clone(), &e, t, ta, &tb, &tc, td, &te, tt)
            };
            oracle.check_all(
                &flat,
                kinds64(black_box(a), &b, &c, d.clone(), &e, black_box(t)),
                (v, &grad),
                &jvp,
                &mut rng,
            );
        }
    }
}

#[test]
fn every_parameter_type_f32() {
    let mut rng = Rng::new(27);
    for (nc, nd, ne) in [(4usize, 3usize, 2usize), (0, 1, 0), (5, 5, 5)] {
        for _ in 0..10 {
            // Points representable in f32, so the f64 copy sees the same inputs.
            let mut r32 =
                |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect() };
            let a: [f32; 3] = r32(3).try_into().unwrap();
            let b: [f32; 2] = r32(2).try_into().unwrap();
            let (c, d, e) = (r32(nc), r32(nd), r32(ne));
            let t = r32(1)[0];
            #[allow(clippy::type_complexity)]
            let (v, (ga, gb, gc, gd, ge, gt)): (
                f32,
                ([f32; 3], [f32; 2], Vec<f32>, Vec<f32>, Vec<f32>, f32),
            ) = kinds32_grad(a, &b, &c, d.clone(), &e, t);
            let f = kinds32(black_box(a), &b, &c, d.clone(), &e, black_box(t));
            assert_bits("kinds32", f, v);
            assert_eq!((gc.len(), gd.len(), ge.len()), (nc, nd, ne));

            let to64 = |s: &[f32]| s.iter().map(|&v| v as f64).collect::<Vec<f64>>();
            let flat = [
                to64(&a),
                to64(&b),
                to64(&c),
                to64(&d),
                to64(&e),
                vec![t as f64],
            ]
            .concat();
            let grad = [
                to64(&ga),
                to64(&gb),
                to64(&gc),
                to64(&gd),
                to64(&ge),
                vec![gt as f64],
            ]
            .concat();
            let copy = |p: &[f64], _: &mut Sites| kinds32_copy(p, nc, nd, ne);
            let oracle = Oracle {
                name: "kinds32",
                copy: &copy,
                sites: &[],
                shape: &[3, 2, nc, nd, ne, 1],
            };
            oracle.check_value(&flat, v as f64, 1e-5);
            let all = all(flat.len());
            oracle.check_components(&flat, &grad, &all, F32);
            oracle.check_directions(&flat, &grad, &mut rng, F32);
        }
    }
}

// ---------------------------------------------------------------------------
// A scalar through a loop: `for _ in 0..n`.

#[differentiable(x; forward)]
fn powsum(x: f64, n: usize) -> f64 {
    let mut s = 0.0;
    let mut p = 1.0;
    for _ in 0..n {
        p *= x;
        s += p;
    }
    s
}

/// `x` to the power `n` by repeated multiplication.
#[differentiable(x; forward)]
fn powloop(x: f64, n: usize) -> f64 {
    let mut p = 1.0;
    for _ in 0..n {
        p *= x;
    }
    p
}

#[test]
fn scalar_carried_through_an_underscore_loop() {
    let mut rng = Rng::new(27);
    for n in [0usize, 1, 2, 9] {
        for _ in 0..10 {
            let x = rng.uniform(-1.5, 1.5);
            let (v, g) = powloop_grad(x, n);
            assert_bits("powloop", powloop(black_box(x), n), v);
            // d/dx xⁿ = n xⁿ⁻¹.
            let want = n as f64 * x.powi(n as i32 - 1);
            assert_close_all("powloop", &[g], &[want], &[want.abs()], 1e-13);
            let jvp = |dir: &[f64]| powloop_jvp(x, n, dir[0]);
            assert_jvp_plain("powloop", v, &[g], &jvp, &mut rng);
        }
    }
}

#[test]
fn scalar_carried_through_an_underscore_loop_with_a_sum() {
    let mut rng = Rng::new(28);
    for n in [0usize, 1, 2, 9] {
        for _ in 0..10 {
            let x = rng.uniform(-1.5, 1.5);
            let (v, g) = powsum_grad(x, n);
            assert_bits("powsum", powsum(black_box(x), n), v);
            // d/dx Σ_{k=1..n} xᵏ = Σ k xᵏ⁻¹.
            let want: f64 = (1..=n).map(|k| k as f64 * x.powi(k as i32 - 1)).sum();
            let scale: f64 = (1..=n)
                .map(|k| (k as f64 * x.powi(k as i32 - 1)).abs())
                .sum();
            assert_close_all("powsum", &[g], &[want], &[scale], 1e-13);
            let jvp = |dir: &[f64]| powsum_jvp(x, n, dir[0]);
            assert_jvp_plain("powsum", v, &[g], &jvp, &mut rng);
        }
    }
}

// ---------------------------------------------------------------------------
// An integer carried across iterations, changed under a data-dependent `if`
// and used as an index.

#[differentiable(x; forward)]
#[allow(clippy::needless_range_loop)]
fn int_carried(x: &[f64]) -> f64 {
    let n = x.len();
    let mut k = 0;
    let mut s = 0.0;
    for i in 0..n {
        if x[i] > 0.0 {
            k += 1;
        }
        s += x[i] * k as f64 + x[k % n] * 0.5;
    }
    s
}

#[test]
fn integer_carried_variable_used_as_an_index() {
    let mut rng = Rng::new(29);
    for _ in 0..30 {
        let x = rng.vec(6, -1.0, 1.0);
        if x.iter().any(|v| v.abs() < 1e-3) {
            continue;
        }
        let (v, g) = int_carried_grad(&x);
        let copy = |p: &[f64], _: &mut Sites| int_carried(p);
        let oracle = Oracle {
            name: "int_carried",
            copy: &copy,
            sites: &[],
            shape: &[6],
        };
        let jvp = |dir: &[f64]| int_carried_jvp(&x, dir);
        oracle.check_all(&x, int_carried(black_box(&x)), (v, &g), &jvp, &mut rng);
    }
}

// ---------------------------------------------------------------------------
// A recurrent cell: several carried values updated with `=`, constant data.

#[differentiable(w, h0; forward)]
fn rnn(w: [f64; 3], h0: f64, xs: &[f64]) -> f64 {
    let mut h = h0;
    let mut c = 1.0;
    let mut total = 0.0;
    for t in 0..xs.len() {
        let pre = w[0] * h + w[1] * xs[t] + w[2] * c;
        let h_new = pre.tanh();
        c = 0.5 * c + 0.5 * h * xs[t];
        h = h_new;
        total += h * h;
    }
    total + c
}

/// The same cell, with every carried value read after the loop.
#[differentiable(w, h0; forward)]
fn rnn_all_read(w: [f64; 3], h0: f64, xs: &[f64]) -> f64 {
    let mut h = h0;
    let mut c = 1.0;
    let mut total = 0.0;
    for t in 0..xs.len() {
        let pre = w[0] * h + w[1] * xs[t] + w[2] * c;
        let h_new = pre.tanh();
        c = 0.5 * c + 0.5 * h * xs[t];
        h = h_new;
        total += h * h;
    }
    total + c + 0.5 * h
}

#[test]
fn recurrent_cell_with_every_carried_value_read_after_the_loop() {
    let mut rng = Rng::new(34);
    for n in [0usize, 1, 8, 40] {
        for _ in 0..5 {
            let w: [f64; 3] = rng.array(-1.5, 1.5);
            let h0 = rng.uniform(-1.0, 1.0);
            let xs = rng.vec(n, -2.0, 2.0);
            let (v, (gw, gh)): (f64, ([f64; 3], f64)) = rnn_all_read_grad(w, h0, &xs);
            let copy =
                |p: &[f64], _: &mut Sites| rnn_all_read(p[..3].try_into().unwrap(), p[3], &xs);
            let oracle = Oracle {
                name: "rnn_all_read",
                copy: &copy,
                sites: &[],
                shape: &[3, 1],
            };
            let jvp = |dir: &[f64]| rnn_all_read_jvp(w, h0, &xs, like(&w, &dir[..3]), dir[3]);
            oracle.check_all(
                &[&w[..], &[h0]].concat(),
                rnn_all_read(black_box(w), h0, &xs),
                (v, &[&gw[..], &[gh]].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
}

#[test]
fn recurrent_cell_with_several_carried_values() {
    let mut rng = Rng::new(30);
    for n in [0usize, 1, 8, 40] {
        for _ in 0..5 {
            let w: [f64; 3] = rng.array(-1.5, 1.5);
            let h0 = rng.uniform(-1.0, 1.0);
            let xs = rng.vec(n, -2.0, 2.0);
            let (v, (gw, gh)): (f64, ([f64; 3], f64)) = rnn_grad(w, h0, &xs);
            let copy = |p: &[f64], _: &mut Sites| rnn(p[..3].try_into().unwrap(), p[3], &xs);
            let oracle = Oracle {
                name: "rnn",
                copy: &copy,
                sites: &[],
                shape: &[3, 1],
            };
            let jvp = |dir: &[f64]| rnn_jvp(w, h0, &xs, like(&w, &dir[..3]), dir[3]);
            oracle.check_all(
                &[&w[..], &[h0]].concat(),
                rnn(black_box(w), h0, &xs),
                (v, &[&gw[..], &[gh]].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// `if` / `else if` / `else` inside a loop on differentiated data, an `if`
// expression, `sg` of an element.

#[differentiable(x, t; forward)]
fn branchy_loop(x: &[f64; 6], t: f64) -> f64 {
    let mut s = 0.0;
    let mut prev = t;
    for i in 0..6 {
        if x[i] > prev {
            s += (x[i] - prev).powi(2);
        } else if i % 2 == 0 {
            s -= x[i] * prev;
        } else {
            s = s * 0.5 + x[i].exp();
        }
        let leak = if x[i] > 0.0 { x[i] } else { 0.1 * x[i] };
        s += leak * t + sg(x[i]) * x[i];
        prev = x[i];
    }
    s
}

#[test]
fn if_else_inside_a_loop_with_a_carried_previous_element() {
    let mut rng = Rng::new(31);
    let mut taken = [0usize; 4];
    let mut n_ok = 0;
    while n_ok < 40 {
        let x: [f64; 6] = rng.array(-1.5, 1.5);
        let t = rng.uniform(-1.5, 1.5);
        let mut prev = t;
        let mut near = false;
        for &xi in &x {
            near |= (xi - prev).abs() < 1e-3 || xi.abs() < 1e-3;
            prev = xi;
        }
        if near {
            continue;
        }
        n_ok += 1;
        let copy = |p: &[f64], st: &mut Sites| {
            let (x, t) = (&p[..6], p[6]);
            let mut s = 0.0;
            let mut prev = t;
            for i in 0..6 {
                if x[i] > prev {
                    s += (x[i] - prev).powi(2);
                } else if i % 2 == 0 {
                    s -= x[i] * prev;
                } else {
                    s = s * 0.5 + x[i].exp();
                }
                let leak = if x[i] > 0.0 { x[i] } else { 0.1 * x[i] };
                s += leak * t + st.cut(0, x[i]) * x[i];
                prev = x[i];
            }
            s
        };
        let mut prev = t;
        for (i, &xi) in x.iter().enumerate() {
            taken[if xi > prev { 0 } else { 1 + i % 2 }] += 1;
            taken[3] += (xi > 0.0) as usize;
            prev = xi;
        }
        let oracle = Oracle {
            name: "branchy_loop",
            copy: &copy,
            sites: &[Cut::All],
            shape: &[6, 1],
        };
        let (v, (g, gt)): (f64, ([f64; 6], f64)) = branchy_loop_grad(&x, t);
        let jvp = |dir: &[f64]| branchy_loop_jvp(&x, t, &like(&x, &dir[..6]), dir[6]);
        oracle.check_all(
            &[&x[..], &[t]].concat(),
            branchy_loop(black_box(&x), t),
            (v, &[&g[..], &[gt]].concat()),
            &jvp,
            &mut rng,
        );
    }
    assert!(taken.iter().all(|&k| k > 0), "every branch: {taken:?}");
}

/// The same shapes of branch with every carried value read after the loop:
/// `if` / `else if` / `else` on differentiated data, an `if` expression,
/// `sg` of an element.
#[differentiable(x, t; forward)]
fn branchy_idx(x: &[f64; 6], t: f64) -> f64 {
    let mut s = t * x[0];
    for i in 1..6 {
        if x[i] > x[i - 1] + t {
            s += (x[i] - x[i - 1]).powi(2);
        } else if i % 2 == 0 {
            s -= x[i] * t;
        } else {
            s = s * 0.5 + x[i].exp();
        }
        let leak = if x[i] > 0.0 { x[i] } else { 0.1 * x[i] };
        s += leak * t + sg(x[i]) * x[i];
    }
    s
}

#[test]
fn if_else_inside_a_loop() {
    let mut rng = Rng::new(35);
    let mut taken = [0usize; 4];
    let mut n_ok = 0;
    while n_ok < 40 {
        let x: [f64; 6] = rng.array(-1.5, 1.5);
        let t = rng.uniform(-0.5, 0.5);
        if (1..6).any(|i| (x[i] - x[i - 1] - t).abs() < 1e-3 || x[i].abs() < 1e-3) {
            continue;
        }
        n_ok += 1;
        for i in 1..6 {
            taken[if x[i] > x[i - 1] + t { 0 } else { 1 + i % 2 }] += 1;
            taken[3] += (x[i] > 0.0) as usize;
        }
        let copy = |p: &[f64], st: &mut Sites| {
            let (x, t) = (&p[..6], p[6]);
            let mut s = t * x[0];
            for i in 1..6 {
                if x[i] > x[i - 1] + t {
                    s += (x[i] - x[i - 1]).powi(2);
                } else if i % 2 == 0 {
                    s -= x[i] * t;
                } else {
                    s = s * 0.5 + x[i].exp();
                }
                let leak = if x[i] > 0.0 { x[i] } else { 0.1 * x[i] };
                s += leak * t + st.cut(0, x[i]) * x[i];
            }
            s
        };
        let oracle = Oracle {
            name: "branchy_idx",
            copy: &copy,
            sites: &[Cut::All],
            shape: &[6, 1],
        };
        let (v, (g, gt)): (f64, ([f64; 6], f64)) = branchy_idx_grad(&x, t);
        let jvp = |dir: &[f64]| branchy_idx_jvp(&x, t, &like(&x, &dir[..6]), dir[6]);
        oracle.check_all(
            &[&x[..], &[t]].concat(),
            branchy_idx(black_box(&x), t),
            (v, &[&g[..], &[gt]].concat()),
            &jvp,
            &mut rng,
        );
    }
    assert!(taken.iter().all(|&k| k > 0), "every branch: {taken:?}");
}

// ---------------------------------------------------------------------------
// A carried variable whose final value is not read after the loop keeps its
// adjoint from later iterations.
//
// Regression (41dc5c8..52b6f01): the backward sweep computed the adjoint of
// `p` at the start of an iteration and dropped it instead of carrying it into
// the previous iteration, so only the direct path `s += p` reached `x`:
// `dead_carried_grad(2.0)` gave (14, 7) instead of (14, 17). Fixed in
// 9f131a0.

#[differentiable(x; forward)]
fn dead_carried(x: f64) -> f64 {
    let mut s = 0.0;
    let mut p = 1.0;
    for _ in 0..3 {
        p *= x;
        s += p;
    }
    s
}

#[differentiable(x; forward)]
fn dead_carried_sums(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut t = 0.0;
    for i in 0..x.len() {
        s += t * x[i];
        t += x[i] * x[i];
    }
    s
}

#[test]
fn carried_value_unused_after_the_loop_keeps_its_adjoint() {
    // 1 + 2x + 3x² at x = 2.
    assert_eq!(dead_carried_grad(2.0), (14.0, 17.0));
    assert_eq!(dead_carried_jvp(2.0, 1.0), (14.0, 17.0));
    // s = Σᵢ xᵢ Σ_{j<i} xⱼ²: ∂/∂xₖ = Σ_{j<k} xⱼ² + 2 xₖ Σ_{i>k} xᵢ.
    let x = [0.5, -1.0, 2.0];
    let (v, g) = dead_carried_sums_grad(&x);
    assert_eq!(g, vec![2.0 * 0.5 * 1.0, 0.25 - 2.0 * 1.0 * 2.0, 1.25]);
    let jvp = |dir: &[f64]| dead_carried_sums_jvp(&x, dir);
    assert_jvp_plain("dead_carried_sums", v, &g, &jvp, &mut Rng::new(45));
}

// ---------------------------------------------------------------------------
// Corners: constant data changed inside the loop, sums that read themselves,
// the same index text with different values, a shadowed index, a range bound
// changed inside the loop, loops inside an `if` and after a `return`, signed
// ranges, blocks and tuples in the body, loop-invariant differentiated
// values, `x.len()` as a float, mixed precision.

/// A function of one slice, its generated gradient and jvp.
type SliceFns = (
    fn(&[f64]) -> f64,
    fn(&[f64]) -> (f64, Vec<f64>),
    fn(&[f64], &[f64]) -> (f64, f64),
);

/// A function of one slice without sites: the value bit for bit, every
/// component, a random direction, the jvp identity.
#[track_caller]
fn check_slice_fn(name: &str, (f, fg, fj): SliceFns, x: &[f64], rng: &mut Rng) {
    let (v, g) = fg(black_box(x));
    let copy = |p: &[f64], _: &mut Sites| f(p);
    let oracle = Oracle {
        name,
        copy: &copy,
        sites: &[],
        shape: &[x.len()],
    };
    oracle.check_all(x, f(black_box(x)), (v, &g), &|dir| fj(x, dir), rng);
}

/// A constant array changed inside the loop: the backward sweep must see
/// each iteration's value, not the last one.
#[differentiable(x; forward)]
fn mutated_constant(x: &[f64]) -> f64 {
    let mut w = [1.0, 2.0, 3.0];
    let mut c = 1.0;
    let mut s = 0.0;
    for i in 0..x.len() {
        w[i % 3] *= -1.5;
        s += w[i % 3] * x[i] * x[i] + c * x[i].sin();
        c *= 2.0;
    }
    s
}

/// `+=` whose right side reads the variable it sums into.
#[differentiable(x; forward)]
fn sum_reads_itself(x: &[f64]) -> f64 {
    let mut s = 1.0;
    for i in 0..x.len() {
        s += s * x[i];
    }
    s
}

/// Same text `x[j]`, different `j`; an index shadowed by an expression of
/// itself.
#[differentiable(x; forward)]
fn same_index_text(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n - 1 {
        let mut j = i;
        let a = x[j];
        j += 1;
        let b = x[j];
        s += a * b * b;
    }
    for i in 0..n {
        let i = n - 1 - i;
        s = s * 0.5 + x[i] * (i as f64 + 1.0);
    }
    s
}

/// The range is evaluated once; the bound variable then changes.
#[differentiable(x; forward)]
#[allow(clippy::mut_range_bound)]
fn bound_changed_inside(x: &[f64]) -> f64 {
    let mut m = x.len();
    let mut s = 0.0;
    for i in 0..m {
        m -= 1;
        s = s * x[i] + x[m];
    }
    s + x[m]
}

/// Signed ranges, an index converted with `as`.
#[differentiable(x; forward)]
fn signed_ranges(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for k in -2i32..3 {
        s += x[(k + 2) as usize] * x[(k + 2) as usize] * k as f64;
    }
    for k in (-2i64..=1).rev() {
        s = s * 0.5 + x[(k + 2) as usize] * (k as f64);
    }
    s
}

/// Blocks, a block value, a tuple pattern and a local `mut` in the body; a
/// loop over constants before; the loop variable's name reused outside.
#[differentiable(x; forward)]
fn body_shapes(x: &[f64]) -> f64 {
    let i = 1;
    let mut c = 0.0;
    for k in 0..4 {
        c += k as f64;
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut u = x[i];
        u *= 2.0;
        {
            u += c;
        }
        let (a, b) = (u, x[(i + 1) % x.len()]);
        s += {
            let p = a * b;
            p * p
        } * 0.5;
    }
    s + x[i]
}

/// A loop inside an `if`, and after an early `return`.
#[differentiable(x, y; forward)]
fn loop_in_branch(x: &[f64], y: f64) -> f64 {
    if y < -1.0 {
        return y * y;
    }
    let mut s = y;
    if y > 0.0 {
        for i in 0..x.len() {
            s = s * x[i] + y;
        }
    } else {
        for i in (0..x.len()).rev() {
            s = (s + x[i]) * y;
        }
    }
    if s > 1.0 {
        return s.sqrt();
    }
    s
}

/// Differentiated values computed before the loop and read in every
/// iteration, one of them under `sg_for!`.
#[differentiable(x, y; forward)]
fn loop_invariant(x: &[f64], y: f64) -> f64 {
    let a = y * y;
    let b = y.exp();
    let mut s = 0.0;
    let mut t = 0.0;
    for i in 0..x.len() {
        s += a * x[i] + sg_for!(y, b * x[i]);
        t -= (a + x[i]).sin();
    }
    s * t + a
}

/// Sample variance with `x.len()` as a float.
#[differentiable(x; forward)]
fn variance(x: [f64; 4]) -> f64 {
    let mut m = 0.0;
    for i in 0..x.len() {
        m += x[i];
    }
    m /= x.len() as f64;
    let mut v = 0.0;
    for i in 0..x.len() {
        v += (x[i] - m).powi(2);
    }
    v / (x.len() - 1) as f64
}

/// `f32` data summed in `f64`.
#[differentiable(x)]
fn mixed_sum(x: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for i in 0..x.len() {
        s += (x[i] as f64).powi(2) * (i as f64 + 1.0);
    }
    s
}

/// The array parameter shadowed by a scalar inside the loop body and after
/// the loop.
#[differentiable(x; forward)]
fn shadowed_array(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let x = x[i] * 2.0;
        s += x * x;
    }
    let x = 3.0;
    s * x
}

/// An index and a trip count computed from a differentiated value (piecewise
/// constant: no derivative through them).
#[differentiable(x, y; forward)]
fn float_index(x: &[f64], y: f64) -> f64 {
    let k = (y.abs() * 2.0) as usize;
    let mut s = x[k % x.len()] * y;
    for i in 0..(y.abs() as usize).min(x.len()) {
        s += x[i] * y;
    }
    s
}

#[test]
#[allow(clippy::type_complexity)]
fn corners() {
    let mut rng = Rng::new(36);
    for n in [1usize, 2, 5, 9] {
        for _ in 0..10 {
            let x = rng.vec(n, -1.2, 1.2);
            let cases: [(&str, SliceFns); 4] = [
                (
                    "mutated_constant",
                    (
                        mutated_constant,
                        mutated_constant_grad,
                        mutated_constant_jvp,
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
                (
                    "bound_changed_inside",
                    (
                        bound_changed_inside,
                        bound_changed_inside_grad,
                        bound_changed_inside_jvp,
                    ),
                ),
                (
                    "body_shapes",
                    (body_shapes, body_shapes_grad, body_shapes_jvp),
                ),
            ];
            for (name, fns) in cases {
                if name == "body_shapes" && n < 2 {
                    continue; // reads x[1]
                }
                check_slice_fn(name, fns, &x, &mut rng);
            }
            check_slice_fn(
                "shadowed_array",
                (shadowed_array, shadowed_array_grad, shadowed_array_jvp),
                &x,
                &mut rng,
            );
            // 24 xᵢ.
            let want: Vec<f64> = x.iter().map(|a| 24.0 * a).collect();
            assert_close_all(
                "shadowed_array",
                &shadowed_array_grad(&x).1,
                &want,
                &want,
                1e-15,
            );
            for y in [-0.3, 1.2, -2.7, 3.4] {
                // Away from the jumps of the index and the trip count.
                let (v, (g, gy)) = float_index_grad(&x, y);
                let copy = |p: &[f64], _: &mut Sites| float_index(&p[..n], p[n]);
                let oracle = Oracle {
                    name: "float_index",
                    copy: &copy,
                    sites: &[],
                    shape: &[n, 1],
                };
                let jvp = |dir: &[f64]| float_index_jvp(&x, y, &dir[..n], dir[n]);
                oracle.check_all(
                    &[&x[..], &[y]].concat(),
                    float_index(black_box(&x), y),
                    (v, &[&g[..], &[gy]].concat()),
                    &jvp,
                    &mut rng,
                );
            }
            if n >= 2 {
                check_slice_fn(
                    "same_index_text",
                    (same_index_text, same_index_text_grad, same_index_text_jvp),
                    &x,
                    &mut rng,
                );
            }
            // A loop inside a branch, in every branch.
            for y in [-1.5, -0.5, 0.25, 0.75] {
                let (v, (g, gy)) = loop_in_branch_grad(&x, y);
                assert_bits("loop_in_branch", loop_in_branch(black_box(&x), y), v);
                let copy = |p: &[f64], _: &mut Sites| loop_in_branch(&p[..n], p[n]);
                let oracle = Oracle {
                    name: "loop_in_branch",
                    copy: &copy,
                    sites: &[],
                    shape: &[n, 1],
                };
                let grad = [&g[..], &[gy]].concat();
                if (v - 1.0).abs() > 1e-3 {
                    oracle.check(&[&x[..], &[y]].concat(), v, &grad, &mut rng);
                }
                let jvp = |dir: &[f64]| loop_in_branch_jvp(&x, y, &dir[..n], dir[n]);
                oracle.check_jvp(v, &grad, &jvp, &mut rng);
            }
            let y = rng.uniform(-1.0, 1.0);
            let (v, (g, gy)) = loop_invariant_grad(&x, y);
            let copy = |p: &[f64], st: &mut Sites| {
                let (x, y) = (&p[..n], p[n]);
                let a = y * y;
                let b = y.exp();
                let mut s = 0.0;
                let mut t = 0.0;
                for i in 0..n {
                    s += a * x[i] + st.cut(0, b * x[i]);
                    t -= (a + x[i]).sin();
                }
                s * t + a
            };
            let oracle = Oracle {
                name: "loop_invariant",
                copy: &copy,
                sites: &[Cut::For(&[1])],
                shape: &[n, 1],
            };
            let jvp = |dir: &[f64]| loop_invariant_jvp(&x, y, &dir[..n], dir[n]);
            oracle.check_all(
                &[&x[..], &[y]].concat(),
                loop_invariant(black_box(&x), y),
                (v, &[&g[..], &[gy]].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
    for _ in 0..10 {
        let x = rng.vec(5, -1.0, 1.0);
        check_slice_fn(
            "signed_ranges",
            (signed_ranges, signed_ranges_grad, signed_ranges_jvp),
            &x,
            &mut rng,
        );
        let x4: [f64; 4] = rng.array(-2.0, 2.0);
        let (v, g) = variance_grad(x4);
        assert_bits("variance", variance(black_box(x4)), v);
        // ∂/∂xᵢ = 2 (xᵢ − m) / (n − 1).
        let m = x4.iter().sum::<f64>() / 4.0;
        let want = x4.map(|a| 2.0 * (a - m) / 3.0);
        assert_close_all("variance", &g, &want, &[1.0; 4], 1e-14);
        let jvp = |dir: &[f64]| variance_jvp(x4, like(&x4, dir));
        assert_jvp_plain("variance", v, &g, &jvp, &mut rng);

        let x32: Vec<f32> = rng.vec(6, -2.0, 2.0).iter().map(|&a| a as f32).collect();
        let (v, g): (f64, Vec<f32>) = mixed_sum_grad(&x32);
        assert_bits("mixed_sum", mixed_sum(black_box(&x32)), v);
        // ∂/∂xᵢ = 2 xᵢ (i + 1), rounded to f32 once.
        let want: Vec<f32> = x32
            .iter()
            .enumerate()
            .map(|(i, &a)| (2.0 * a as f64 * (i as f64 + 1.0)) as f32)
            .collect();
        assert_eq!(g, want);
    }
}

// ---------------------------------------------------------------------------
// Zero trip count: the value is untouched and the gradient exact.

#[differentiable(x, y; forward)]
fn empty_loops(x: &[f64], y: f64, lo: usize, hi: usize) -> f64 {
    let mut s = y * y + 1.0;
    for i in lo..hi {
        s += x[i].exp() * y;
    }
    for i in (lo..hi).rev() {
        s = s * x[i] + sg(s);
    }
    for i in lo + 1..=hi {
        s -= x[i - 1] * y * sg_for!(x, s);
    }
    s
}

#[test]
fn zero_trip_loops_leave_value_and_gradient_exact() {
    // No iteration: s = y² + 1, ∂/∂x = 0 exactly (even where x is not
    // finite: nothing reads it), ∂/∂y = 2y exactly.
    for y in [0.0, -1.25, 3.5] {
        for (x, lo, hi) in [
            (vec![f64::NAN, f64::INFINITY, 1.0], 2, 2),
            (vec![f64::NAN, f64::INFINITY, 1.0], 3, 1),
            (vec![], 0, 0),
        ] {
            let (v, (g, gy)) = empty_loops_grad(&x, y, lo, hi);
            assert_eq!(v.to_bits(), (y * y + 1.0).to_bits());
            assert_bits("empty_loops", empty_loops(black_box(&x), y, lo, hi), v);
            assert_eq!(g.len(), x.len());
            assert!(g.iter().all(|&d| d == 0.0), "{g:?} at lo={lo} hi={hi}");
            assert_eq!(gy, 2.0 * y);
        }
    }
    // An array variable, `a..=b` with a > b: only x[0] / 2 is left.
    let x = [1.0, f64::NAN, 2.0, 3.0, 4.0];
    let (v, g) = chain_incl_grad(x, [1.0; 5], 3, 2);
    assert_eq!(v, 0.5);
    assert_eq!(g, [0.5, 0.0, 0.0, 0.0, 0.0]);
    // A reversed empty range and an empty slice in Horner's rule.
    assert_eq!(horner_grad(&vec![], 2.0), (0.0, (vec![], 0.0)));
    assert_eq!(powsum_grad(f64::NAN, 0), (0.0, 0.0));
    assert_eq!(rnn_grad([f64::NAN; 3], 0.5, &[]), (1.0, ([0.0; 3], 0.0)));

    // And with iterations, against the oracle.
    let mut rng = Rng::new(33);
    for _ in 0..20 {
        let x = rng.vec(5, -1.0, 1.0);
        let y = rng.uniform(-1.0, 1.0);
        for (lo, hi) in [(0, 5), (1, 3), (2, 3)] {
            let (v, (g, gy)) = empty_loops_grad(&x, y, lo, hi);
            let copy = |p: &[f64], st: &mut Sites| {
                let (x, y) = (&p[..5], p[5]);
                let mut s = y * y + 1.0;
                for i in lo..hi {
                    s += x[i].exp() * y;
                }
                for i in (lo..hi).rev() {
                    s = s * x[i] + st.cut(0, s);
                }
                for i in lo + 1..=hi {
                    s -= x[i - 1] * y * st.cut(1, s);
                }
                s
            };
            let oracle = Oracle {
                name: "empty_loops",
                copy: &copy,
                sites: &[Cut::All, Cut::For(&[0])],
                shape: &[5, 1],
            };
            let jvp = |dir: &[f64]| empty_loops_jvp(&x, y, lo, hi, &dir[..5], dir[5]);
            oracle.check_all(
                &[&x[..], &[y]].concat(),
                empty_loops(black_box(&x), y, lo, hi),
                (v, &[&g[..], &[gy]].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// `sg` and `sg_for!` inside loops.

// ---------------------------------------------------------------------------
// On loop-carried values, with different sets, on some iterations only.

#[differentiable(x, y; forward)]
fn carried_cuts(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 1.0;
    let mut t = 0.0;
    for i in 0..x.len() {
        s = sg(s) * x[i] + s.sin() * y[i] + sg_for!(x, s) * 0.25;
        t = sg_for!(x, t * y[i]) + x[i] * t.cos() + sg_for!(y, s * x[i]);
        if i % 2 == 1 {
            s += sg_for!([x, y], t * s);
        }
        if x[i] > 0.0 {
            t -= sg_for!(y, t * x[i]).sin();
        }
    }
    s * t
}

#[test]
fn sg_and_sg_for_on_loop_carried_values() {
    let mut rng = Rng::new(41);
    for n in [1usize, 2, 3, 6] {
        let mut done = 0;
        while done < 10 {
            let x = rng.vec(n, -1.0, 1.0);
            let y = rng.vec(n, -1.0, 1.0);
            if x.iter().any(|v| v.abs() < 1e-3) {
                continue;
            }
            done += 1;
            let copy = |p: &[f64], st: &mut Sites| {
                let (x, y) = p.split_at(n);
                let mut s = 1.0;
                let mut t = 0.0;
                for i in 0..n {
                    s = st.cut(0, s) * x[i] + s.sin() * y[i] + st.cut(1, s) * 0.25;
                    t = st.cut(2, t * y[i]) + x[i] * t.cos() + st.cut(3, s * x[i]);
                    if i % 2 == 1 {
                        s += st.cut(4, t * s);
                    }
                    if x[i] > 0.0 {
                        t -= st.cut(5, t * x[i]).sin();
                    }
                }
                s * t
            };
            let sites = [
                Cut::All,
                Cut::For(&[0]),
                Cut::For(&[0]),
                Cut::For(&[1]),
                Cut::For(&[0, 1]),
                Cut::For(&[1]),
            ];
            let oracle = Oracle {
                name: "carried_cuts",
                copy: &copy,
                sites: &sites,
                shape: &[n, n],
            };
            let (v, (gx, gy)): (f64, (Vec<f64>, Vec<f64>)) = carried_cuts_grad(&x, &y);
            let jvp = |dir: &[f64]| carried_cuts_jvp(&x, &y, &dir[..n], &dir[n..]);
            oracle.check_all(
                &[&x[..], &y].concat(),
                carried_cuts(black_box(&x), &y),
                (v, &[&gx[..], &gy].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Three variables blocked at different sites: three sweeps over one tape;
// a branch on a stopped carried value.

#[differentiable(x, y, z; forward)]
fn three_classes(x: &[f64], y: [f64; 3], z: f64) -> f64 {
    let mut s = z;
    for i in 0..3 {
        s = s * x[i]
            + sg_for!(x, s * y[i])
            + sg_for!(y, (x[i] * y[i]).sin() * s)
            + sg_for!(z, s * z);
        if sg(s) > 0.5 {
            s -= sg_for!([x, z], s * s * 0.1);
        }
    }
    s
}

#[test]
fn three_variables_three_programs_in_one_loop() {
    let mut rng = Rng::new(44);
    let mut branch = [0usize; 2];
    for _ in 0..40 {
        let x = rng.vec(3, -1.5, 1.5);
        let y: [f64; 3] = rng.array(-1.5, 1.5);
        let z = rng.uniform(-1.5, 1.5);
        let copy = |p: &[f64], st: &mut Sites| {
            let (x, y, z) = (&p[..3], &p[3..6], p[6]);
            let mut s = z;
            for i in 0..3 {
                s = s * x[i]
                    + st.cut(0, s * y[i])
                    + st.cut(1, (x[i] * y[i]).sin() * s)
                    + st.cut(2, s * z);
                if st.cut(3, s) > 0.5 {
                    s -= st.cut(4, s * s * 0.1);
                }
            }
            s
        };
        let sites = [
            Cut::For(&[0]),
            Cut::For(&[1]),
            Cut::For(&[2]),
            Cut::All,
            Cut::For(&[0, 2]),
        ];
        let oracle = Oracle {
            name: "three_classes",
            copy: &copy,
            sites: &sites,
            shape: &[3, 3, 1],
        };
        let (_, seen) = oracle.eval(&[&x[..], &y, &[z]].concat(), Vec::new());
        for &(site, v) in &seen {
            if site == 3 {
                branch[(v > 0.5) as usize] += 1;
            }
        }
        let (v, (gx, gy, gz)): (f64, (Vec<f64>, [f64; 3], f64)) = three_classes_grad(&x, y, z);
        let jvp =
            |dir: &[f64]| three_classes_jvp(&x, y, z, &dir[..3], like(&y, &dir[3..6]), dir[6]);
        oracle.check_all(
            &[&x[..], &y, &[z]].concat(),
            three_classes(black_box(&x), y, z),
            (v, &[&gx[..], &gy, &[gz]].concat()),
            &jvp,
            &mut rng,
        );
    }
    assert!(branch[0] > 0 && branch[1] > 0, "{branch:?}");
}

// ---------------------------------------------------------------------------
// `sg_for!` naming an array blocks all of its components.

#[differentiable(x, y; forward)]
fn block_array(x: [f64; 3], y: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += x[i] * y;
    }
    sg_for!(x, s * s) + s + sg_for!(x, x[0] * x[2]) * y
}

#[differentiable(x, y; forward)]
fn block_array_in_loop(x: &[f64], y: &[f64; 2]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += sg_for!(x, x[i] * x[(i + 1) % x.len()] * y[0]) + x[i] * y[1];
    }
    s * y[0]
}

#[test]
fn sg_for_naming_an_array_blocks_every_component() {
    let mut rng = Rng::new(42);
    for _ in 0..20 {
        let x: [f64; 3] = rng.array(-2.0, 2.0);
        let y = rng.uniform(-2.0, 2.0);
        let (v, (gx, gy)) = block_array_grad(x, y);
        assert_bits("block_array", block_array(black_box(x), y), v);
        // s = y Σx. For x every site is constant: ∂/∂xᵢ = y.
        // For y everything is open: 2 s Σx + Σx + x₀x₂.
        let sx: f64 = x.iter().sum();
        let s = y * sx;
        assert_close_all("block_array d/dx", &gx, &[y; 3], &[y.abs(); 3], 1e-15);
        let want = 2.0 * s * sx + sx + x[0] * x[2];
        let scale = (2.0 * s * sx).abs() + sx.abs() + (x[0] * x[2]).abs();
        assert_close_all("block_array d/dy", &[gy], &[want], &[scale], 1e-13);
        // `sg_for!(x, ..)` blocks x and not y: one tangent per variable.
        let jvp = |dir: &[f64]| block_array_jvp(x, y, like(&x, &dir[..3]), dir[3]);
        let grad = [&gx[..], &[gy]].concat();
        assert_jvp(
            "block_array",
            v,
            &grad,
            &[vec![0, 1, 2], vec![3]],
            &jvp,
            &mut rng,
        );

        // In a loop: ∂/∂xᵢ = y₁ y₀ (every occurrence is cut for x);
        // ∂/∂y₀ = 2 Σ xᵢxᵢ₊₁ y₀ + y₁ Σx, ∂/∂y₁ = y₀ Σx.
        let n = 4;
        let x = rng.vec(n, -2.0, 2.0);
        let y: [f64; 2] = rng.array(-2.0, 2.0);
        let (v, (gx, gy)) = block_array_in_loop_grad(&x, &y);
        let want_x = vec![y[1] * y[0]; n];
        assert_close_all("in loop d/dx", &gx, &want_x, &want_x, 1e-15);
        let cyc: f64 = (0..n).map(|i| x[i] * x[(i + 1) % n]).sum();
        let sx: f64 = x.iter().sum();
        let want_y = [2.0 * cyc * y[0] + y[1] * sx, y[0] * sx];
        let scale_y = [
            (2.0 * cyc * y[0]).abs() + (y[1] * sx).abs() + 1.0,
            (y[0] * sx).abs() + 1.0,
        ];
        assert_close_all("in loop d/dy", &gy, &want_y, &scale_y, 1e-13);
        let copy = |p: &[f64], st: &mut Sites| {
            let (x, y) = p.split_at(n);
            let mut s = 0.0;
            for i in 0..n {
                s += st.cut(0, x[i] * x[(i + 1) % n] * y[0]) + x[i] * y[1];
            }
            s * y[0]
        };
        let oracle = Oracle {
            name: "block_array_in_loop",
            copy: &copy,
            sites: &[Cut::For(&[0])],
            shape: &[n, 2],
        };
        let jvp = |dir: &[f64]| block_array_in_loop_jvp(&x, &y, &dir[..n], &like(&y, &dir[n..]));
        oracle.check_all(
            &[&x[..], &y].concat(),
            block_array_in_loop(black_box(&x), &y),
            (v, &[&gx[..], &gy].concat()),
            &jvp,
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// Nested loops whose inner loops keep a tape: inner ranges that depend on the
// outer index (`i..n`, `(0..=i).rev()`), three levels, carried values reset
// per outer iteration.

#[differentiable(x, a; forward)]
fn nested_products(x: &[f64], a: f64) -> f64 {
    let n = x.len();
    let mut e = 0.0;
    for i in 0..n {
        let mut p = 1.0;
        for j in i..n {
            p = p * (1.0 + a * x[j]) + x[i] * 0.1;
        }
        for j in (0..=i).rev() {
            p = (p * x[j]).sin() + a;
        }
        e = e * 0.5 + p * p;
    }
    e
}

#[differentiable(x; forward)]
fn three_levels_taped(x: [f64; 4]) -> f64 {
    let mut q = 1.0;
    for i in 0..4 {
        for j in 0..i {
            let mut p = 1.0;
            for k in j..=i {
                p *= 1.0 + 0.1 * x[k] * q;
            }
            q = q * 0.9 + p * x[j];
        }
        q = q.sin();
    }
    q
}

#[test]
fn nested_loops_with_taped_inner_loops() {
    let mut rng = Rng::new(37);
    for n in [0usize, 1, 2, 6] {
        for _ in 0..10 {
            let x = rng.vec(n, -1.0, 1.0);
            let a = rng.uniform(-1.0, 1.0);
            let (v, (g, ga)): (f64, (Vec<f64>, f64)) = nested_products_grad(&x, a);
            let copy = |p: &[f64], _: &mut Sites| nested_products(&p[..n], p[n]);
            let oracle = Oracle {
                name: "nested_products",
                copy: &copy,
                sites: &[],
                shape: &[n, 1],
            };
            let jvp = |dir: &[f64]| nested_products_jvp(&x, a, &dir[..n], dir[n]);
            oracle.check_all(
                &[&x[..], &[a]].concat(),
                nested_products(black_box(&x), a),
                (v, &[&g[..], &[ga]].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
    for _ in 0..20 {
        let x: [f64; 4] = rng.array(-1.5, 1.5);
        let (v, g) = three_levels_taped_grad(x);
        let copy = |p: &[f64], _: &mut Sites| three_levels_taped(p.try_into().unwrap());
        let oracle = Oracle {
            name: "three_levels_taped",
            copy: &copy,
            sites: &[],
            shape: &[4],
        };
        let jvp = |dir: &[f64]| three_levels_taped_jvp(x, like(&x, dir));
        oracle.check_all(
            &x,
            three_levels_taped(black_box(x)),
            (v, &g),
            &jvp,
            &mut rng,
        );
    }
}

// ---------------------------------------------------------------------------
// Sites in nested loops, on outer and inner carried values, under a
// condition on the indices.

#[differentiable(w, v; forward)]
fn nested_cuts(w: &[f64; 4], v: Vec<f64>, m: usize) -> f64 {
    let mut acc = 0.0;
    for i in 0..m {
        let mut inner = acc;
        for j in 0..4 {
            inner = inner * 0.5 + sg_for!(w, inner * w[j]) + w[j] * v[(i + j) % v.len()];
            if j == i % 4 {
                inner += sg(acc) * v[j];
            }
        }
        acc = sg_for!(v, inner.tanh()) + inner * 0.1;
    }
    acc
}

#[test]
fn sites_in_nested_loops() {
    let mut rng = Rng::new(43);
    for m in [0usize, 1, 3, 6] {
        for _ in 0..10 {
            let w: [f64; 4] = rng.array(-1.0, 1.0);
            let v = rng.vec(5, -1.0, 1.0);
            let (val, (gw, gv)): (f64, ([f64; 4], Vec<f64>)) = nested_cuts_grad(&w, v.clone(), m);
            let copy = |p: &[f64], st: &mut Sites| {
                let (w, v) = p.split_at(4);
                let mut acc = 0.0;
                for i in 0..m {
                    let mut inner = acc;
                    for j in 0..4 {
                        inner = inner * 0.5 + st.cut(0, inner * w[j]) + w[j] * v[(i + j) % v.len()];
                        if j == i % 4 {
                            inner += st.cut(1, acc) * v[j];
                        }
                    }
                    acc = st.cut(2, inner.tanh()) + inner * 0.1;
                }
                acc
            };
            let oracle = Oracle {
                name: "nested_cuts",
                copy: &copy,
                sites: &[Cut::For(&[0]), Cut::All, Cut::For(&[1])],
                shape: &[4, 5],
            };
            let jvp = |dir: &[f64]| {
                nested_cuts_jvp(&w, v.clone(), m, &like(&w, &dir[..4]), dir[4..].to_vec())
            };
            oracle.check_all(
                &[&w[..], &v].concat(),
                nested_cuts(black_box(&w), v.clone(), m),
                (val, &[&gw[..], &gv].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
}

// ===========================================================================
// Iterator loops (supported since 9f131a0):
// `x.iter()`, `&x` with `&v` and `*v`, `.enumerate()`, `.zip(..)` of
// differentiated and constant slices of different lengths,
// `x.iter().sum()` and `x.iter().product()`.

#[differentiable(x; forward)]
fn sum_times_product(x: [f64; 4]) -> f64 {
    let p: f64 = x.iter().product();
    let s: f64 = x.iter().sum();
    p * s
}

#[differentiable(x, y; forward)]
#[allow(clippy::ptr_arg)]
fn zipped(x: &[f64], y: &Vec<f64>, w: &[f64]) -> f64 {
    let mut s = 0.0;
    for (a, b) in x.iter().zip(y.iter()) {
        s += a * b.sin();
    }
    for (c, b) in w.iter().zip(x.iter()) {
        s = s * 0.5 + c * b * b;
    }
    s
}

#[differentiable(x; forward)]
fn enumerated(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, v) in x.iter().enumerate() {
        s = s * 0.5 + *v * (i as f64 + 1.0) + sg_for!(x, v * v * s);
    }
    s
}

#[differentiable(x; forward)]
fn by_reference(x: Vec<f64>) -> f64 {
    let mut s = 1.0;
    for &v in &x {
        s = s * v + 1.0;
    }
    for v in &x {
        s += (*v).exp();
    }
    s
}

#[test]
fn iterator_loops() {
    let mut rng = Rng::new(39);
    for _ in 0..20 {
        let x4: [f64; 4] = rng.array(-1.5, 1.5);
        let (v, g) = sum_times_product_grad(x4);
        let copy = |p: &[f64], _: &mut Sites| sum_times_product(p.try_into().unwrap());
        let oracle = Oracle {
            name: "sum_times_product",
            copy: &copy,
            sites: &[],
            shape: &[4],
        };
        let jvp = |dir: &[f64]| sum_times_product_jvp(x4, like(&x4, dir));
        oracle.check_all(
            &x4,
            sum_times_product(black_box(x4)),
            (v, &g),
            &jvp,
            &mut rng,
        );

        for (nx, ny, nw) in [(3usize, 3usize, 3usize), (4, 2, 6), (2, 5, 1), (0, 2, 2)] {
            let x = rng.vec(nx, -1.5, 1.5);
            let y = rng.vec(ny, -1.5, 1.5);
            let w = rng.vec(nw, -1.5, 1.5);
            let (v, (gx, gy)): (f64, (Vec<f64>, Vec<f64>)) = zipped_grad(&x, &y, &w);
            let copy = |p: &[f64], _: &mut Sites| zipped(&p[..nx], &p[nx..].to_vec(), &w);
            let oracle = Oracle {
                name: "zipped",
                copy: &copy,
                sites: &[],
                shape: &[nx, ny],
            };
            let jvp = |dir: &[f64]| zipped_jvp(&x, &y, &w, &dir[..nx], &dir[nx..].to_vec());
            oracle.check_all(
                &[&x[..], &y].concat(),
                zipped(black_box(&x), &y, &w),
                (v, &[&gx[..], &gy].concat()),
                &jvp,
                &mut rng,
            );
            // Components `zip` never reaches have an exact zero.
            assert!(gy[nx.min(ny)..].iter().all(|&d| d == 0.0), "{gy:?}");
        }

        let x = rng.vec(5, -1.5, 1.5);
        let (v, g) = enumerated_grad(&x);
        let copy = |p: &[f64], st: &mut Sites| {
            let mut s = 0.0;
            for (i, v) in p.iter().enumerate() {
                s = s * 0.5 + *v * (i as f64 + 1.0) + st.cut(0, v * v * s);
            }
            s
        };
        let oracle = Oracle {
            name: "enumerated",
            copy: &copy,
            sites: &[Cut::For(&[0])],
            shape: &[5],
        };
        let jvp = |dir: &[f64]| enumerated_jvp(&x, dir);
        oracle.check_all(&x, enumerated(black_box(&x)), (v, &g), &jvp, &mut rng);

        let (v, g) = by_reference_grad(x.clone());
        let copy = |p: &[f64], _: &mut Sites| by_reference(p.to_vec());
        let oracle = Oracle {
            name: "by_reference",
            copy: &copy,
            sites: &[],
            shape: &[5],
        };
        let jvp = |dir: &[f64]| by_reference_jvp(x.clone(), dir.to_vec());
        oracle.check_all(
            &x,
            by_reference(black_box(x.clone())),
            (v, &g),
            &jvp,
            &mut rng,
        );
    }
    // A product through zeros: the others' product, never 0/0.
    let (v, g) = sum_times_product_grad([2.0, 0.0, 3.0, 1.0]);
    assert_eq!((v, g), (0.0, [0.0, 6.0 * 6.0, 0.0, 0.0]));
    let (_, g) = sum_times_product_grad([2.0, 0.0, 0.0, 1.0]);
    assert_eq!(g, [0.0; 4]);
}

// ===========================================================================
// The seed's ELBO with vector parameters.
//
// As in `tests/seed_elbo.rs`, component by component: θ₁ = μ₁ + σ₁ ε₁,
// θ₂ = θ₁ + μ₂ + σ₂ ε₂ (σ = eˢ), log π = Σ log N(θ₁; 0, 1) + log N(θ₂; θ₁, 1),
// log f(y₁|θ₁) = Σ log N(y₁; θ₁, σ²), log f(y₂|θ₁,θ₂) = Σ log N(y₂; θ₁+θ₂, σ²),
// q₁ = Π N(θ₁; μ₁, σ₁²), q₂ = Π N(θ₂; θ₁ + μ₂, σ₂²), and
//
//   𝒦 = log π + log f(y₁|θ₁) + ⊥_{μ₁,s₁}[log f(y₂|θ₁,θ₂)] − log q₁ − ⊥_{μ₁,s₁}[log q₂].
//
// The components do not interact, so the hand-derived gradient of the seed
// holds per component d: with r₁ = (y₁ − θ₁)/σ², r₂ = (y₂ − θ₁ − θ₂)/σ²,
// δ = θ₂ − θ₁,
//
//   ∂μ₁ = −θ₁ + r₁,  ∂s₁ = (−θ₁ + r₁) σ₁ε₁ + 1,
//   ∂μ₂ = −δ + r₂,   ∂s₂ = (−δ + r₂) σ₂ε₂ + 1,
//
// and without the annotations ∂μ₁ gains 2 r₂ and ∂s₁ gains 2 r₂ σ₁ε₁.

/// σ², the likelihood's noise variance.
const NOISE_VAR: f64 = 0.25;

/// The bracketed terms summed over the components in the loop, then cut.
#[differentiable(mu1, s1, mu2, s2)]
#[allow(clippy::too_many_arguments)]
fn elbo_vec<const D: usize>(
    mu1: [f64; D],
    s1: [f64; D],
    mu2: [f64; D],
    s2: [f64; D],
    eps1: &[f64; D],
    eps2: &[f64; D],
    y1: &[f64; D],
    y2: &[f64; D],
) -> f64 {
    let ln_2pi = (2.0 * PI).ln();
    let mut log_prior = 0.0;
    let mut log_lik1 = 0.0;
    let mut log_lik2 = 0.0;
    let mut log_q1 = 0.0;
    let mut log_q2 = 0.0;
    for d in 0..D {
        let theta1 = mu1[d] + s1[d].exp() * eps1[d];
        let theta2 = theta1 + mu2[d] + s2[d].exp() * eps2[d];
        log_prior +=
            -0.5 * ln_2pi - 0.5 * theta1 * theta1 - 0.5 * ln_2pi - 0.5 * (theta2 - theta1).powi(2);
        log_lik1 += -0.5 * (ln_2pi + NOISE_VAR.ln()) - (y1[d] - theta1).powi(2) / (2.0 * NOISE_VAR);
        log_lik2 += -0.5 * (ln_2pi + NOISE_VAR.ln())
            - (y2[d] - theta1 - theta2).powi(2) / (2.0 * NOISE_VAR);
        log_q1 += -0.5 * ln_2pi - s1[d] - (theta1 - mu1[d]).powi(2) / (2.0 * (2.0 * s1[d]).exp());
        log_q2 += -0.5 * ln_2pi
            - s2[d]
            - (theta2 - theta1 - mu2[d]).powi(2) / (2.0 * (2.0 * s2[d]).exp());
    }
    log_prior + log_lik1 + sg_for!([mu1, s1], log_lik2) - log_q1 - sg_for!([mu1, s1], log_q2)
}

/// The same objective with the two brackets cut per component, inside the
/// loop.
#[differentiable(mu1, s1, mu2, s2)]
#[allow(clippy::too_many_arguments)]
fn elbo_vec_inner<const D: usize>(
    mu1: [f64; D],
    s1: [f64; D],
    mu2: [f64; D],
    s2: [f64; D],
    eps1: &[f64; D],
    eps2: &[f64; D],
    y1: &[f64; D],
    y2: &[f64; D],
) -> f64 {
    let ln_2pi = (2.0 * PI).ln();
    let mut k = 0.0;
    for d in 0..D {
        let theta1 = mu1[d] + s1[d].exp() * eps1[d];
        let theta2 = theta1 + mu2[d] + s2[d].exp() * eps2[d];
        let log_prior =
            -0.5 * ln_2pi - 0.5 * theta1 * theta1 - 0.5 * ln_2pi - 0.5 * (theta2 - theta1).powi(2);
        let log_lik1 =
            -0.5 * (ln_2pi + NOISE_VAR.ln()) - (y1[d] - theta1).powi(2) / (2.0 * NOISE_VAR);
        let log_q1 =
            -0.5 * ln_2pi - s1[d] - (theta1 - mu1[d]).powi(2) / (2.0 * (2.0 * s1[d]).exp());
        k += log_prior
            + log_lik1
            + sg_for!(
                [mu1, s1],
                -0.5 * (ln_2pi + NOISE_VAR.ln())
                    - (y2[d] - theta1 - theta2).powi(2) / (2.0 * NOISE_VAR)
            )
            - log_q1
            - sg_for!(
                [mu1, s1],
                -0.5 * ln_2pi
                    - s2[d]
                    - (theta2 - theta1 - mu2[d]).powi(2) / (2.0 * (2.0 * s2[d]).exp())
            );
    }
    k
}

/// Without the annotations.
#[differentiable(mu1, s1, mu2, s2)]
#[allow(clippy::too_many_arguments)]
fn elbo_vec_plain<const D: usize>(
    mu1: [f64; D],
    s1: [f64; D],
    mu2: [f64; D],
    s2: [f64; D],
    eps1: &[f64; D],
    eps2: &[f64; D],
    y1: &[f64; D],
    y2: &[f64; D],
) -> f64 {
    let ln_2pi = (2.0 * PI).ln();
    let mut k = 0.0;
    for d in 0..D {
        let theta1 = mu1[d] + s1[d].exp() * eps1[d];
        let theta2 = theta1 + mu2[d] + s2[d].exp() * eps2[d];
        k += -0.5 * ln_2pi - 0.5 * theta1 * theta1 - 0.5 * ln_2pi - 0.5 * (theta2 - theta1).powi(2)
            + (-0.5 * (ln_2pi + NOISE_VAR.ln()) - (y1[d] - theta1).powi(2) / (2.0 * NOISE_VAR))
            + (-0.5 * (ln_2pi + NOISE_VAR.ln())
                - (y2[d] - theta1 - theta2).powi(2) / (2.0 * NOISE_VAR))
            - (-0.5 * ln_2pi - s1[d] - (theta1 - mu1[d]).powi(2) / (2.0 * (2.0 * s1[d]).exp()))
            - (-0.5 * ln_2pi
                - s2[d]
                - (theta2 - theta1 - mu2[d]).powi(2) / (2.0 * (2.0 * s2[d]).exp()));
    }
    k
}

/// One point of the vector ELBO: parameters, noise, data.
struct ElboPoint<const D: usize> {
    phi: [[f64; D]; 4],
    eps1: [f64; D],
    eps2: [f64; D],
    y1: [f64; D],
    y2: [f64; D],
}

impl<const D: usize> ElboPoint<D> {
    fn random(rng: &mut Rng) -> Self {
        ElboPoint {
            phi: [
                rng.array(-2.0, 2.0),
                rng.array(-1.5, 0.7),
                rng.array(-2.0, 2.0),
                rng.array(-1.5, 0.7),
            ],
            eps1: std::array::from_fn(|_| rng.normal()),
            eps2: std::array::from_fn(|_| rng.normal()),
            y1: rng.array(-3.0, 3.0),
            y2: rng.array(-3.0, 3.0),
        }
    }

    /// The hand-derived gradient (μ₁, s₁, μ₂, s₂), and the extra (μ₁, s₁)
    /// terms of the un-annotated objective.
    fn by_hand(&self) -> ([[f64; D]; 4], [[f64; D]; 2]) {
        let mut g = [[0.0; D]; 4];
        let mut extra = [[0.0; D]; 2];
        for d in 0..D {
            let [mu1, s1, mu2, s2] = self.phi.map(|p| p[d]);
            let (sigma1, sigma2) = (s1.exp(), s2.exp());
            let theta1 = mu1 + sigma1 * self.eps1[d];
            let theta2 = theta1 + mu2 + sigma2 * self.eps2[d];
            let r1 = (self.y1[d] - theta1) / NOISE_VAR;
            let r2 = (self.y2[d] - theta1 - theta2) / NOISE_VAR;
            let along1 = -theta1 + r1;
            let along2 = -(theta2 - theta1) + r2;
            g[0][d] = along1;
            g[1][d] = along1 * sigma1 * self.eps1[d] + 1.0;
            g[2][d] = along2;
            g[3][d] = along2 * sigma2 * self.eps2[d] + 1.0;
            extra[0][d] = 2.0 * r2;
            extra[1][d] = 2.0 * r2 * sigma1 * self.eps1[d];
        }
        (g, extra)
    }
}

type ElboGrad<const D: usize> = (f64, ([f64; D], [f64; D], [f64; D], [f64; D]));

fn check_elbo_vec<const D: usize>(rng: &mut Rng) {
    for _ in 0..20 {
        let p = ElboPoint::<D>::random(rng);
        let [mu1, s1, mu2, s2] = p.phi;
        let (e1, e2, y1, y2) = (&p.eps1, &p.eps2, &p.y1, &p.y2);
        let (v, (a, b, c, d)): ElboGrad<D> = elbo_vec_grad(mu1, s1, mu2, s2, e1, e2, y1, y2);
        let (vi, (ai, bi, ci, di)): ElboGrad<D> =
            elbo_vec_inner_grad(mu1, s1, mu2, s2, e1, e2, y1, y2);
        let (vp, (ap, bp, cp, dp)): ElboGrad<D> =
            elbo_vec_plain_grad(mu1, s1, mu2, s2, e1, e2, y1, y2);
        let bb = black_box;
        assert_bits(
            "elbo_vec",
            elbo_vec(bb(mu1), bb(s1), bb(mu2), bb(s2), e1, e2, y1, y2),
            v,
        );
        assert_bits(
            "elbo_vec_inner",
            elbo_vec_inner(bb(mu1), bb(s1), bb(mu2), bb(s2), e1, e2, y1, y2),
            vi,
        );
        assert_bits(
            "elbo_vec_plain",
            elbo_vec_plain(bb(mu1), bb(s1), bb(mu2), bb(s2), e1, e2, y1, y2),
            vp,
        );

        let (want, extra) = p.by_hand();
        let scale: Vec<f64> = want.iter().flatten().map(|w| w.abs().max(1.0)).collect();
        let want_flat: Vec<f64> = want.iter().flatten().copied().collect();
        for (what, got) in [
            ("elbo_vec", [a, b, c, d]),
            ("elbo_vec_inner", [ai, bi, ci, di]),
        ] {
            let got: Vec<f64> = got.iter().flatten().copied().collect();
            assert_close_all(&format!("{what} D={D}"), &got, &want_flat, &scale, 1e-12);
        }
        // Without the annotations: φ₂ unchanged, φ₁ gains the extra path.
        let mut want_plain = want;
        for dd in 0..D {
            want_plain[0][dd] += extra[0][dd];
            want_plain[1][dd] += extra[1][dd];
        }
        let got: Vec<f64> = [ap, bp, cp, dp].iter().flatten().copied().collect();
        let wp: Vec<f64> = want_plain.iter().flatten().copied().collect();
        let sp: Vec<f64> = wp.iter().map(|w| w.abs().max(1.0)).collect();
        assert_close_all(&format!("elbo_vec_plain D={D}"), &got, &wp, &sp, 1e-12);

        // And against the oracle: two sites, each blocking μ₁ and s₁.
        let copy = |x: &[f64], st: &mut Sites| {
            let m1 = &x[..D];
            let l1 = &x[D..2 * D];
            let m2 = &x[2 * D..3 * D];
            let l2 = &x[3 * D..];
            let ln_2pi = (2.0 * PI).ln();
            let (mut prior, mut lik1, mut lik2, mut q1, mut q2) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for d in 0..D {
                let theta1 = m1[d] + l1[d].exp() * e1[d];
                let theta2 = theta1 + m2[d] + l2[d].exp() * e2[d];
                prior += -0.5 * ln_2pi
                    - 0.5 * theta1 * theta1
                    - 0.5 * ln_2pi
                    - 0.5 * (theta2 - theta1).powi(2);
                lik1 +=
                    -0.5 * (ln_2pi + NOISE_VAR.ln()) - (y1[d] - theta1).powi(2) / (2.0 * NOISE_VAR);
                lik2 += -0.5 * (ln_2pi + NOISE_VAR.ln())
                    - (y2[d] - theta1 - theta2).powi(2) / (2.0 * NOISE_VAR);
                q1 +=
                    -0.5 * ln_2pi - l1[d] - (theta1 - m1[d]).powi(2) / (2.0 * (2.0 * l1[d]).exp());
                q2 += -0.5 * ln_2pi
                    - l2[d]
                    - (theta2 - theta1 - m2[d]).powi(2) / (2.0 * (2.0 * l2[d]).exp());
            }
            prior + lik1 + st.cut(0, lik2) - q1 - st.cut(1, q2)
        };
        let oracle = Oracle {
            name: "elbo_vec",
            copy: &copy,
            sites: &[Cut::For(&[0, 1]), Cut::For(&[0, 1])],
            shape: &[D; 4],
        };
        let flat: Vec<f64> = p.phi.iter().flatten().copied().collect();
        let grad: Vec<f64> = [a, b, c, d].iter().flatten().copied().collect();
        oracle.check(&flat, v, &grad, rng);
    }
}

#[test]
fn vector_seed_elbo_against_the_hand_derived_gradient() {
    let mut rng = Rng::new(51);
    check_elbo_vec::<1>(&mut rng);
    check_elbo_vec::<3>(&mut rng);
    check_elbo_vec::<8>(&mut rng);
}

// ===========================================================================
// Realistic user functions.

// ---------------------------------------------------------------------------
// Gaussian log-likelihood of a straight-line fit over data arrays.

/// y ≈ w₀ + w₁ x with noise scale σ = e^{log σ}.
#[differentiable(w, log_sigma; forward)]
fn gauss_line(w: [f64; 2], log_sigma: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let sigma2 = (2.0 * log_sigma).exp();
    let mut ll = 0.0;
    for k in 0..ys.len() {
        let r = ys[k] - (w[0] + w[1] * xs[k]);
        ll += -0.5 * (2.0 * PI).ln() - log_sigma - r * r / (2.0 * sigma2);
    }
    ll
}

#[test]
fn gaussian_log_likelihood_of_a_line() {
    let mut rng = Rng::new(60);
    for n in [0usize, 1, 7, 200] {
        for _ in 0..5 {
            let w: [f64; 2] = rng.array(-1.0, 1.0);
            let ls = rng.uniform(-0.7, 0.7);
            let xs = rng.vec(n, -2.0, 2.0);
            let ys: Vec<f64> = xs
                .iter()
                .map(|x| 0.3 - 0.8 * x + 0.5 * rng.normal())
                .collect();
            let (v, (gw, gls)): (f64, ([f64; 2], f64)) = gauss_line_grad(w, ls, &xs, &ys);
            // rₖ = yₖ − w₀ − w₁xₖ: ∂w₀ = Σ rₖ/σ², ∂w₁ = Σ rₖxₖ/σ²,
            // ∂ log σ = Σ (rₖ²/σ² − 1).
            let s2 = (2.0 * ls).exp();
            let (mut h, mut sc) = ([0.0; 3], [0.0; 3]);
            for k in 0..n {
                let r = ys[k] - (w[0] + w[1] * xs[k]);
                let t = [r / s2, r * xs[k] / s2, r * r / s2 - 1.0];
                for i in 0..3 {
                    h[i] += t[i];
                    sc[i] += t[i].abs() + if i == 2 { 2.0 } else { 0.0 };
                }
            }
            assert_close_all("gauss_line", &[gw[0], gw[1], gls], &h, &sc, 1e-13);
            let copy = |p: &[f64], _: &mut Sites| gauss_line([p[0], p[1]], p[2], &xs, &ys);
            let oracle = Oracle {
                name: "gauss_line",
                copy: &copy,
                sites: &[],
                shape: &[2, 1],
            };
            let jvp = |dir: &[f64]| gauss_line_jvp(w, ls, &xs, &ys, [dir[0], dir[1]], dir[2]);
            oracle.check_all(
                &[w[0], w[1], ls],
                gauss_line(black_box(w), ls, &xs, &ys),
                (v, &[gw[0], gw[1], gls]),
                &jvp,
                &mut rng,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Softmax cross-entropy with loops: log-sum-exp shifted by a max computed
// with `f64::max` in a loop.

#[differentiable(z; forward)]
fn softmax_xent(z: &[f64], label: usize) -> f64 {
    let n = z.len();
    let mut m = z[0];
    for i in 1..n {
        m = f64::max(m, z[i]);
    }
    let mut total = 0.0;
    for i in 0..n {
        total += (z[i] - m).exp();
    }
    m + total.ln() - z[label]
}

fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let e: Vec<f64> = z.iter().map(|&v| (v - m).exp()).collect();
    let t: f64 = e.iter().sum();
    e.iter().map(|v| v / t).collect()
}

#[test]
fn softmax_cross_entropy() {
    let mut rng = Rng::new(62);
    for n in [1usize, 2, 5, 30] {
        for _ in 0..10 {
            let z = rng.vec(n, -4.0, 4.0);
            let label = rng.below(n);
            let (v, g) = softmax_xent_grad(&z, label);
            // ∂/∂zᵢ = softmax(z)ᵢ − [i = label].
            let mut want = softmax(&z);
            want[label] -= 1.0;
            assert_close_all("softmax_xent", &g, &want, &vec![1.0; n], 1e-14);
            let copy = |p: &[f64], _: &mut Sites| softmax_xent(p, label);
            let oracle = Oracle {
                name: "softmax_xent",
                copy: &copy,
                sites: &[],
                shape: &[n],
            };
            let jvp = |dir: &[f64]| softmax_xent_jvp(&z, label, dir);
            oracle.check_all(
                &z,
                softmax_xent(black_box(&z), label),
                (v, &g),
                &jvp,
                &mut rng,
            );
        }
    }
    // Ties in the max: the shift cancels, the gradient is still softmax − onehot.
    let (_, g) = softmax_xent_grad(&[1.0, 1.0, 1.0, 1.0], 2);
    let want = [0.25, 0.25, -0.75, 0.25];
    assert_close_all("softmax_xent ties", &g, &want, &[1.0; 4], 1e-15);
    // Large logits: the shift keeps everything finite.
    let (v, g) = softmax_xent_grad(&[1000.0, 999.0, -1000.0], 0);
    assert!(
        v.is_finite() && g.iter().all(|d| d.is_finite()),
        "{v} {g:?}"
    );
}

// ===========================================================================
// Values: bit for bit the function, on inputs the optimiser cannot see.

#[test]
fn values_are_bit_for_bit_the_function() {
    let mut rng = Rng::new(71);
    for _ in 0..100 {
        let x6: [f64; 6] = black_box(rng.array(-2.0, 2.0));
        let x5: [f64; 5] = black_box(rng.array(-2.0, 2.0));
        let v = black_box(rng.vec(7, -1.5, 1.5));
        let y = black_box(rng.uniform(-1.5, 1.5));
        assert_bits("rosenbrock", rosenbrock(&v), rosenbrock_grad(&v).0);
        assert_bits(
            "chain_incl",
            chain_incl(x5, x5, 1, 4),
            chain_incl_grad(x5, x5, 1, 4).0,
        );
        assert_bits("rev_index", rev_index(&x6, 2), rev_index_grad(&x6, 2).0);
        assert_bits(
            "carried_many",
            carried_many(v.clone(), y),
            carried_many_grad(v.clone(), y).0,
        );
        assert_bits("horner", horner(&v, y), horner_grad(&v, y).0);
        assert_bits(
            "kinds64",
            kinds64([y; 3], &[x5[0], x5[1]], &v, v.clone(), &v, y),
            kinds64_grad([y; 3], &[x5[0], x5[1]], &v, v.clone(), &v, y).0,
        );
        let v32: Vec<f32> = v.iter().map(|&a| a as f32).collect();
        let y32 = y as f32;
        let (f, g) = (
            kinds32([y32; 3], &[y32, 0.5], &v32, v32.clone(), &v32, y32),
            kinds32_grad([y32; 3], &[y32, 0.5], &v32, v32.clone(), &v32, y32).0,
        );
        assert_bits("kinds32", f, g);
        assert_bits("powsum", powsum(y, 7), powsum_grad(y, 7).0);
        assert_bits("int_carried", int_carried(&v), int_carried_grad(&v).0);
        let w3 = [x6[0], x6[1], x6[2]];
        assert_bits("rnn", rnn(w3, y, &v), rnn_grad(w3, y, &v).0);
        let w4 = [x6[0], x6[1], x6[2], x6[3]];
        assert_bits(
            "branchy_loop",
            branchy_loop(&x6, y),
            branchy_loop_grad(&x6, y).0,
        );
        assert_bits(
            "empty_loops",
            empty_loops(&v, y, 1, 5),
            empty_loops_grad(&v, y, 1, 5).0,
        );
        assert_bits(
            "carried_cuts",
            carried_cuts(&v, &v),
            carried_cuts_grad(&v, &v).0,
        );
        assert_bits("block_array", block_array(w3, y), block_array_grad(w3, y).0);
        assert_bits(
            "block_array_in_loop",
            block_array_in_loop(&v, &[y, 0.5]),
            block_array_in_loop_grad(&v, &[y, 0.5]).0,
        );
        assert_bits(
            "nested_cuts",
            nested_cuts(&w4, v.clone(), 5),
            nested_cuts_grad(&w4, v.clone(), 5).0,
        );
        assert_bits(
            "nested_products",
            nested_products(&v, y),
            nested_products_grad(&v, y).0,
        );
        assert_bits(
            "three_levels_taped",
            three_levels_taped(w4),
            three_levels_taped_grad(w4).0,
        );
        assert_bits(
            "gauss_line",
            gauss_line([y, 0.5], 0.2, &v, &v[1..]),
            gauss_line_grad([y, 0.5], 0.2, &v, &v[1..]).0,
        );
        assert_bits("powloop", powloop(y, 7), powloop_grad(y, 7).0);
        assert_bits(
            "rnn_all_read",
            rnn_all_read(w3, y, &v),
            rnn_all_read_grad(w3, y, &v).0,
        );
        assert_bits(
            "branchy_idx",
            branchy_idx(&x6, y),
            branchy_idx_grad(&x6, y).0,
        );
        assert_bits("dead_carried", dead_carried(y), dead_carried_grad(y).0);
        assert_bits(
            "dead_carried_sums",
            dead_carried_sums(&v),
            dead_carried_sums_grad(&v).0,
        );
        for (name, f, g) in [
            (
                "mutated_constant",
                mutated_constant as fn(&[f64]) -> f64,
                mutated_constant_grad as fn(&[f64]) -> (f64, Vec<f64>),
            ),
            ("sum_reads_itself", sum_reads_itself, sum_reads_itself_grad),
            ("same_index_text", same_index_text, same_index_text_grad),
            (
                "bound_changed_inside",
                bound_changed_inside,
                bound_changed_inside_grad,
            ),
            ("signed_ranges", signed_ranges, signed_ranges_grad),
            ("body_shapes", body_shapes, body_shapes_grad),
        ] {
            assert_bits(name, f(&v), g(&v).0);
        }
        assert_bits(
            "loop_in_branch",
            loop_in_branch(&v, y),
            loop_in_branch_grad(&v, y).0,
        );
        assert_bits(
            "loop_invariant",
            loop_invariant(&v, y),
            loop_invariant_grad(&v, y).0,
        );
        assert_bits("variance", variance(w4), variance_grad(w4).0);
        assert_bits("mixed_sum", mixed_sum(&v32), mixed_sum_grad(&v32).0);
        assert_bits(
            "sum_times_product",
            sum_times_product(w4),
            sum_times_product_grad(w4).0,
        );
        assert_bits(
            "zipped",
            zipped(&v, &v[2..].to_vec(), &v[1..]),
            zipped_grad(&v, &v[2..].to_vec(), &v[1..]).0,
        );
        assert_bits("enumerated", enumerated(&v), enumerated_grad(&v).0);
        assert_bits(
            "by_reference",
            by_reference(v.clone()),
            by_reference_grad(v.clone()).0,
        );
        assert_bits(
            "softmax_xent",
            softmax_xent(&v, 3),
            softmax_xent_grad(&v, 3).0,
        );
        let [a, b, c, d]: [[f64; 3]; 4] =
            [w3, [y; 3], [x6[3], x6[4], x6[5]], [x5[0], x5[1], x5[2]]];
        assert_bits(
            "elbo_vec",
            elbo_vec(a, b, c, d, &a, &b, &c, &d),
            elbo_vec_grad(a, b, c, d, &a, &b, &c, &d).0,
        );
        assert_bits(
            "elbo_vec_inner",
            elbo_vec_inner(a, b, c, d, &a, &b, &c, &d),
            elbo_vec_inner_grad(a, b, c, d, &a, &b, &c, &d).0,
        );
        assert_bits(
            "elbo_vec_plain",
            elbo_vec_plain(a, b, c, d, &a, &b, &c, &d),
            elbo_vec_plain_grad(a, b, c, d, &a, &b, &c, &d).0,
        );
    }
}

// ===========================================================================
// Loops that keep no tape (they only sum into carried variables, such as
// `row += m[i] * x[j]`), inside another loop or inside a branch of an `if`.
//
// Regression (487e494..52b6f01): these did not compile; the enclosing loop's
// tape entry or the `if`'s branch record named the inner loop's tape, which
// was never declared (`cannot find value `__ad_tape` in this scope`). The
// smallest case was `for i in 0..2 { for j in 0..2 { e += x[i] * x[j]; } }`.
// Fixed in 9f131a0.

// ---------------------------------------------------------------------------
// A summing loop in one branch of an `if`, a taped one in the other.

#[differentiable(x, y; forward)]
fn loop_in_branch_sum(x: &[f64], y: f64) -> f64 {
    let mut s = y;
    if y > 0.0 {
        for i in 0..x.len() {
            s = s * x[i] + y;
        }
    } else {
        for i in (0..x.len()).rev() {
            s += x[i] * y;
        }
    }
    s
}

#[test]
fn summing_loop_in_a_branch() {
    let mut rng = Rng::new(38);
    for n in [0usize, 1, 4] {
        for _ in 0..5 {
            let x = rng.vec(n, -1.0, 1.0);
            for y in [-0.5, 0.5] {
                let (v, (g, gy)) = loop_in_branch_sum_grad(&x, y);
                let copy = |p: &[f64], _: &mut Sites| loop_in_branch_sum(&p[..n], p[n]);
                let oracle = Oracle {
                    name: "loop_in_branch_sum",
                    copy: &copy,
                    sites: &[],
                    shape: &[n, 1],
                };
                let jvp = |dir: &[f64]| loop_in_branch_sum_jvp(&x, y, &dir[..n], dir[n]);
                oracle.check_all(
                    &[&x[..], &[y]].concat(),
                    loop_in_branch_sum(black_box(&x), y),
                    (v, &[&g[..], &[gy]].concat()),
                    &jvp,
                    &mut rng,
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Nested loops with summing inner loops: an inner range that depends on
// the outer index, an inner inclusive reversed loop, an inner carried
// value reset per outer iteration; three levels.

#[differentiable(x, a; forward)]
fn pairs(x: &[f64], a: f64) -> f64 {
    let n = x.len();
    let mut e = 0.0;
    for i in 0..n {
        let mut row = 0.0;
        for j in i + 1..n {
            let d = x[i] - x[j];
            row += 1.0 / (d * d + a * a);
        }
        for j in (0..=i).rev() {
            row = row * 0.9 + x[j] * 0.01;
        }
        e += row * (1.0 + 0.1 * x[i]);
    }
    e
}

/// Three levels: a quadratic form through a row-major matrix, and a
/// triangular sum with an `a..=b` innermost loop.
#[differentiable(x; forward)]
fn three_levels(x: [f64; 4], m: &[f64]) -> f64 {
    let mut q = 0.0;
    for i in 0..4 {
        let mut row = 0.0;
        for j in 0..4 {
            row += m[4 * i + j] * x[j];
        }
        q += x[i] * row;
        for j in 0..i {
            let mut p = 1.0;
            for k in j..=i {
                p *= 1.0 + 0.1 * x[k];
            }
            q += p * x[j];
        }
    }
    q
}

#[test]
fn nested_loops() {
    let mut rng = Rng::new(32);
    for n in [1usize, 2, 6] {
        for _ in 0..10 {
            let x = rng.vec(n, -1.0, 1.0);
            let a = rng.uniform(0.5, 1.5);
            let (v, (g, ga)): (f64, (Vec<f64>, f64)) = pairs_grad(&x, a);
            let copy = |p: &[f64], _: &mut Sites| pairs(&p[..n], p[n]);
            let oracle = Oracle {
                name: "pairs",
                copy: &copy,
                sites: &[],
                shape: &[n, 1],
            };
            let jvp = |dir: &[f64]| pairs_jvp(&x, a, &dir[..n], dir[n]);
            oracle.check_all(
                &[&x[..], &[a]].concat(),
                pairs(black_box(&x), a),
                (v, &[&g[..], &[ga]].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
    for _ in 0..10 {
        let x: [f64; 4] = rng.array(-1.0, 1.0);
        let m = rng.vec(16, -1.0, 1.0);
        let (v, g) = three_levels_grad(x, &m);
        let copy = |p: &[f64], _: &mut Sites| three_levels(p.try_into().unwrap(), &m);
        let oracle = Oracle {
            name: "three_levels",
            copy: &copy,
            sites: &[],
            shape: &[4],
        };
        let jvp = |dir: &[f64]| three_levels_jvp(x, &m, like(&x, dir));
        oracle.check_all(&x, three_levels(black_box(x), &m), (v, &g), &jvp, &mut rng);
    }
}

// ---------------------------------------------------------------------------
// Gaussian log-likelihood of a linear regression over data arrays.

#[differentiable(w, b, log_sigma; forward)]
fn gauss_regression(w: &[f64], b: f64, log_sigma: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let d = w.len();
    let sigma2 = (2.0 * log_sigma).exp();
    let mut ll = 0.0;
    for k in 0..ys.len() {
        let mut pred = b;
        for j in 0..d {
            pred += w[j] * xs[k * d + j];
        }
        let r = ys[k] - pred;
        ll += -0.5 * (2.0 * PI).ln() - log_sigma - r * r / (2.0 * sigma2);
    }
    ll
}

/// A diagonal Gaussian's log-density summed over rows of constant data
/// (`data[k][d]`).
#[differentiable(mu, log_sig; forward)]
fn diag_gauss(mu: [f64; 3], log_sig: [f64; 3], data: &[[f64; 3]]) -> f64 {
    let mut ll = 0.0;
    for k in 0..data.len() {
        for d in 0..3 {
            let z = (data[k][d] - mu[d]) / log_sig[d].exp();
            ll += -0.5 * z * z - log_sig[d] - 0.5 * (2.0 * PI).ln();
        }
    }
    ll
}

#[test]
fn gaussian_log_likelihoods() {
    let mut rng = Rng::new(61);
    for (n, d) in [(1usize, 1usize), (5, 3), (40, 4)] {
        for _ in 0..5 {
            let w = rng.vec(d, -1.0, 1.0);
            let b = rng.uniform(-1.0, 1.0);
            let ls = rng.uniform(-0.5, 0.5);
            let xs = rng.vec(n * d, -2.0, 2.0);
            let ys = rng.vec(n, -2.0, 2.0);
            let (v, (gw, gb, gls)): (f64, (Vec<f64>, f64, f64)) =
                gauss_regression_grad(&w, b, ls, &xs, &ys);
            // rₖ = yₖ − b − w·xₖ: ∂w = Σ rₖ xₖ / σ², ∂b = Σ rₖ / σ²,
            // ∂ log σ = Σ (rₖ²/σ² − 1).
            let s2 = (2.0 * ls).exp();
            let (mut hw, mut hb, mut hls) = (vec![0.0; d], 0.0, 0.0);
            let (mut sw, mut sb, mut sls) = (vec![0.0; d], 0.0, 0.0);
            for k in 0..n {
                let pred = b + (0..d).map(|j| w[j] * xs[k * d + j]).sum::<f64>();
                let r = ys[k] - pred;
                for j in 0..d {
                    hw[j] += r * xs[k * d + j] / s2;
                    sw[j] += (r * xs[k * d + j] / s2).abs();
                }
                hb += r / s2;
                sb += (r / s2).abs();
                hls += r * r / s2 - 1.0;
                sls += r * r / s2 + 1.0;
            }
            assert_close_all("gauss d/dw", &gw, &hw, &sw, 1e-13);
            assert_close_all("gauss d/db", &[gb], &[hb], &[sb], 1e-13);
            assert_close_all("gauss d/dlog_sigma", &[gls], &[hls], &[sls], 1e-13);
            let copy =
                |p: &[f64], _: &mut Sites| gauss_regression(&p[..d], p[d], p[d + 1], &xs, &ys);
            let oracle = Oracle {
                name: "gauss_regression",
                copy: &copy,
                sites: &[],
                shape: &[d, 1, 1],
            };
            let jvp = |dir: &[f64]| {
                gauss_regression_jvp(&w, b, ls, &xs, &ys, &dir[..d], dir[d], dir[d + 1])
            };
            oracle.check_all(
                &[&w[..], &[b, ls]].concat(),
                gauss_regression(black_box(&w), b, ls, &xs, &ys),
                (v, &[&gw[..], &[gb, gls]].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
    for n in [0usize, 1, 25] {
        let mu: [f64; 3] = rng.array(-1.0, 1.0);
        let ls: [f64; 3] = rng.array(-0.5, 0.5);
        let data: Vec<[f64; 3]> = (0..n).map(|_| rng.array(-2.0, 2.0)).collect();
        let (v, (gmu, gls)) = diag_gauss_grad(mu, ls, &data);
        // z = (x − μ)/σ: ∂μ = Σ z/σ, ∂ log σ = Σ (z² − 1).
        let (mut hmu, mut hls, mut smu, mut sls) = ([0.0; 3], [0.0; 3], [0.0; 3], [0.0; 3]);
        for row in &data {
            for d in 0..3 {
                let sig = ls[d].exp();
                let z = (row[d] - mu[d]) / sig;
                hmu[d] += z / sig;
                smu[d] += (z / sig).abs();
                hls[d] += z * z - 1.0;
                sls[d] += z * z + 1.0;
            }
        }
        assert_close_all("diag_gauss d/dmu", &gmu, &hmu, &smu, 1e-13);
        assert_close_all("diag_gauss d/dlog_sig", &gls, &hls, &sls, 1e-13);
        let copy = |p: &[f64], _: &mut Sites| {
            diag_gauss(
                p[..3].try_into().unwrap(),
                p[3..].try_into().unwrap(),
                &data,
            )
        };
        let oracle = Oracle {
            name: "diag_gauss",
            copy: &copy,
            sites: &[],
            shape: &[3, 3],
        };
        let jvp =
            |dir: &[f64]| diag_gauss_jvp(mu, ls, &data, like(&mu, &dir[..3]), like(&ls, &dir[3..]));
        oracle.check_all(
            &[mu, ls].concat(),
            diag_gauss(black_box(mu), ls, &data),
            (v, &[gmu, gls].concat()),
            &jvp,
            &mut rng,
        );
    }
}

/// A batch: logits `W x + b` recomputed in inner loops, a max starting from
/// `-∞`, labels as constant `usize` data.
#[differentiable(w, b; forward)]
fn xent_batch(w: &[f64], b: &[f64], xs: &[f64], labels: &[usize]) -> f64 {
    let k = b.len();
    let d = w.len() / k;
    let n = labels.len();
    let mut loss = 0.0;
    for s in 0..n {
        let mut m = f64::NEG_INFINITY;
        for c in 0..k {
            let mut z = b[c];
            for j in 0..d {
                z += w[c * d + j] * xs[s * d + j];
            }
            m = m.max(z);
        }
        let mut total = 0.0;
        for c in 0..k {
            let mut z = b[c];
            for j in 0..d {
                z += w[c * d + j] * xs[s * d + j];
            }
            total += (z - m).exp();
        }
        let mut zy = b[labels[s]];
        for j in 0..d {
            zy += w[labels[s] * d + j] * xs[s * d + j];
        }
        loss += m + total.ln() - zy;
    }
    loss / n as f64
}

#[test]
fn batched_softmax_cross_entropy() {
    let mut rng = Rng::new(63);
    for (n, k, d) in [(1usize, 2usize, 1usize), (6, 3, 4)] {
        for _ in 0..5 {
            let w = rng.vec(k * d, -1.0, 1.0);
            let b = rng.vec(k, -1.0, 1.0);
            let xs = rng.vec(n * d, -2.0, 2.0);
            let labels: Vec<usize> = (0..n).map(|_| rng.below(k)).collect();
            let (v, (gw, gb)) = xent_batch_grad(&w, &b, &xs, &labels);
            // ∂W[c, j] = (1/n) Σₛ (pₛ꜀ − [c = yₛ]) xₛⱼ, ∂b[c] = (1/n) Σₛ (pₛ꜀ − [c = yₛ]).
            let (mut hw, mut hb) = (vec![0.0; k * d], vec![0.0; k]);
            for s in 0..n {
                let z: Vec<f64> = (0..k)
                    .map(|c| b[c] + (0..d).map(|j| w[c * d + j] * xs[s * d + j]).sum::<f64>())
                    .collect();
                let mut p = softmax(&z);
                p[labels[s]] -= 1.0;
                for c in 0..k {
                    hb[c] += p[c] / n as f64;
                    for j in 0..d {
                        hw[c * d + j] += p[c] * xs[s * d + j] / n as f64;
                    }
                }
            }
            assert_close_all("xent_batch d/dw", &gw, &hw, &vec![2.0; k * d], 1e-13);
            assert_close_all("xent_batch d/db", &gb, &hb, &vec![1.0; k], 1e-13);
            let copy =
                |p: &[f64], _: &mut Sites| xent_batch(&p[..k * d], &p[k * d..], &xs, &labels);
            let oracle = Oracle {
                name: "xent_batch",
                copy: &copy,
                sites: &[],
                shape: &[k * d, k],
            };
            let jvp =
                |dir: &[f64]| xent_batch_jvp(&w, &b, &xs, &labels, &dir[..k * d], &dir[k * d..]);
            oracle.check_all(
                &[&w[..], &b].concat(),
                xent_batch(black_box(&w), &b, &xs, &labels),
                (v, &[&gw[..], &gb].concat()),
                &jvp,
                &mut rng,
            );
        }
    }
}

#[test]
fn values_of_untaped_inner_loops_are_bit_for_bit_the_function() {
    let mut rng = Rng::new(72);
    for _ in 0..100 {
        let x6: [f64; 6] = black_box(rng.array(-2.0, 2.0));
        let v = black_box(rng.vec(7, -1.5, 1.5));
        let y = black_box(rng.uniform(-1.5, 1.5));
        let w3 = [x6[0], x6[1], x6[2]];
        let w4 = [x6[0], x6[1], x6[2], x6[3]];
        assert_bits("pairs", pairs(&v, y + 2.0), pairs_grad(&v, y + 2.0).0);
        assert_bits(
            "three_levels",
            three_levels(w4, &[v.clone(), v.clone(), v.clone()].concat()),
            three_levels_grad(w4, &[v.clone(), v.clone(), v.clone()].concat()).0,
        );
        assert_bits(
            "gauss_regression",
            gauss_regression(&v[..2], y, 0.1, &v[1..], &v[..3]),
            gauss_regression_grad(&v[..2], y, 0.1, &v[1..], &v[..3]).0,
        );
        let rows = [w3, [y, 0.0, 1.0]];
        assert_bits(
            "diag_gauss",
            diag_gauss(w3, [y; 3], &rows),
            diag_gauss_grad(w3, [y; 3], &rows).0,
        );
        assert_bits(
            "xent_batch",
            xent_batch(&v[..6], &v[..2], &v, &[1, 0]),
            xent_batch_grad(&v[..6], &v[..2], &v, &[1, 0]).0,
        );
    }
}

/// `break` and `continue`: the iterations that ran are replayed from the tape.
mod break_and_continue {
    use crate::common::{assert_jvp_plain, Rng};
    use sgrad::{differentiable, sg};

    #[differentiable(x; forward)]
    fn damped(x: f64) -> f64 {
        let mut s = x;
        let mut k = 0.0;
        for i in 0..100 {
            s = s * 0.7 + 0.1 * (i as f64).sin() * x;
            k += s;
            if s.abs() < 0.05 {
                break;
            }
        }
        k
    }

    #[differentiable(x; forward)]
    fn fixed_point(x: f64) -> f64 {
        let mut s = x;
        let mut n = 0;
        loop {
            s = s.sin() + 0.5 * x;
            n += 1;
            if n >= 5 {
                break;
            }
        }
        s
    }

    #[differentiable(a; forward)]
    fn skip_and_stop(a: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..a.len() {
            if a[i] < 0.0 {
                continue;
            }
            s += a[i] * a[i];
            if s > 4.0 {
                break;
            }
            s += sg(a[i]) * a[i];
        }
        s
    }

    /// `skip_and_stop` with `sg(a[i])` frozen at the base point `base`.
    fn skip_and_stop_frozen(a: &[f64], base: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..a.len() {
            if a[i] < 0.0 {
                continue;
            }
            s += a[i] * a[i];
            if s > 4.0 {
                break;
            }
            s += base[i] * a[i];
        }
        s
    }

    fn central(f: impl Fn(f64) -> f64, x: f64) -> f64 {
        let h = 1e-6 * x.abs().max(1.0);
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    #[test]
    fn break_in_a_for_loop_and_in_loop() {
        let mut rng = Rng::new(46);
        for x in [0.3, 1.7, -2.0, 0.01] {
            let (v, g) = damped_grad(std::hint::black_box(x));
            assert_eq!(v.to_bits(), damped(x).to_bits());
            let fd = central(damped, x);
            assert!(
                (g - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                "damped at {x}: {g} vs {fd}"
            );
            let jvp = |dir: &[f64]| damped_jvp(x, dir[0]);
            assert_jvp_plain("damped", v, &[g], &jvp, &mut rng);
            let (v, g) = fixed_point_grad(std::hint::black_box(x));
            assert_eq!(v.to_bits(), fixed_point(x).to_bits());
            let fd = central(fixed_point, x);
            assert!(
                (g - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                "fixed_point at {x}: {g} vs {fd}"
            );
            let jvp = |dir: &[f64]| fixed_point_jvp(x, dir[0]);
            assert_jvp_plain("fixed_point", v, &[g], &jvp, &mut rng);
        }
    }

    #[test]
    fn continue_and_break_with_a_stopped_gradient() {
        let a = vec![0.5, -1.0, 1.2, 0.9, 2.0, 0.1];
        let (v, g) = skip_and_stop_grad(&a);
        assert_eq!(v.to_bits(), skip_and_stop(&a).to_bits());
        for j in 0..a.len() {
            let fd = central(
                |t| {
                    let mut b = a.clone();
                    b[j] = t;
                    skip_and_stop_frozen(&b, &a)
                },
                a[j],
            );
            assert!(
                (g[j] - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                "component {j}: {} vs {fd}",
                g[j]
            );
        }
        // The loop stops at a[3]: later components get nothing, a[1] is skipped.
        assert_eq!((g[1], g[4], g[5]), (0.0, 0.0, 0.0));
        let jvp = |dir: &[f64]| skip_and_stop_jvp(&a, dir);
        assert_jvp_plain("skip_and_stop", v, &g, &jvp, &mut Rng::new(47));
    }
}

// ---------------------------------------------------------------------------
// `for` with destructuring patterns over data that is not differentiated
// (a slice of tuples, of structs' fields, of indices), lowered to a loop
// over its indices.

/// A line fit over (x, y) pairs, the loops written four ways.
#[differentiable(w; forward)]
fn pairs_fit(w: [f64; 2], pts: &[(f64, f64)], picks: &[usize]) -> f64 {
    let mut s = 0.0;
    for (a, b) in pts.iter() {
        let r = w[0] * a + w[1] - b;
        s += r * r;
    }
    for &(a, b) in pts {
        s += 0.5 * (w[1] * a - b).tanh();
    }
    for (i, &k) in picks.iter().enumerate() {
        s += w[k % 2] * (i as f64 + 1.0);
    }
    for (x, y) in pts.iter() {
        s += (w[0] * *x).sin() * *y;
    }
    s
}

#[test]
fn destructuring_for_over_data() {
    let mut rng = Rng::new(77);
    for n in [0, 1, 4] {
        let pts: Vec<(f64, f64)> = (0..n)
            .map(|_| (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0)))
            .collect();
        let picks: Vec<usize> = (0..n + 1).map(|_| rng.below(5)).collect();
        let w: [f64; 2] = rng.array(-1.0, 1.0);
        let (v, g) = pairs_fit_grad(w, &pts, &picks);
        let copy = |p: &[f64], _: &mut Sites| pairs_fit([p[0], p[1]], &pts, &picks);
        let oracle = Oracle {
            name: "pairs_fit",
            copy: &copy,
            sites: &[],
            shape: &[2],
        };
        let jvp = |dir: &[f64]| pairs_fit_jvp(w, &pts, &picks, like(&w, dir));
        oracle.check_all(
            &w,
            pairs_fit(black_box(w), &pts, &picks),
            (v, &g),
            &jvp,
            &mut rng,
        );
    }
}
