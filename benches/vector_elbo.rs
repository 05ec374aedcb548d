//! The vector seed ELBO (`examples/seed_vi_vector.rs`) for D = 2 and D = 50:
//! its value, the gradient sgrad generates, a gradient derived by hand, and
//! num-dual's forward-mode gradient, in one run.
//!
//! `cargo bench --bench vector_elbo`

#[path = "common/vector_elbo.rs"]
mod model;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use model::{elbo, elbo_grad, elbo_grad_by_hand, Grad, HALF_LN_2PI, SIGMA};
use num_dual::{DualNum, DualSVec64};

/// 𝒦 a third time, generic over num-dual's scalars; `p` is μ₁, ρ₁, μ₂, ρ₂,
/// D values each.
///
/// num-dual has no ⊥, let alone ⊥_{φ₁}: a dual number carries the
/// derivatives for all 4D variables at once, so the φ₁ part of log f₂ and
/// log q₂ must be cut by hand. θ₁ depends on φ₁ only, so the blocked terms
/// get a detached copy of it — its value re-lifted as a constant — and a θ₂
/// rebuilt from that copy; μ₂ and ρ₂ stay live there. Every term that should
/// be blocked needs such copies of whatever it reads, written by hand.
fn elbo_dual<T: DualNum<Primitive = f64> + Copy>(p: &[T], eps: &[[f64; 2]], y: &[[f64; 2]]) -> T {
    let n = p.len() / 4;
    let (mu1, rho1, mu2, rho2) = (&p[..n], &p[n..2 * n], &p[2 * n..3 * n], &p[3 * n..]);
    let mut total = T::from(0.0);
    for d in 0..n {
        let s1 = rho1[d].exp();
        let s2 = rho2[d].exp();
        let theta1 = mu1[d] + s1 * eps[d][0];
        let theta2 = theta1 + mu2[d] + s2 * eps[d][1];
        let dd = theta2 - theta1;
        let log_prior = -(theta1 * theta1 * 0.5) - dd * dd * 0.5 - 2.0 * HALF_LN_2PI;
        let r1 = (-theta1 + y[d][0]) / SIGMA;
        let log_f1 = -(r1 * r1 * 0.5) - HALF_LN_2PI - SIGMA.ln();
        let z1 = (theta1 - mu1[d]) / s1;
        let log_q1 = -rho1[d] - z1 * z1 * 0.5 - HALF_LN_2PI;
        // ⊥_{φ₁}: detached θ₁, and θ₂ rebuilt from it.
        let theta1_c = T::from(theta1.re());
        let theta2_c = theta1_c + mu2[d] + s2 * eps[d][1];
        let r2 = (-theta1_c - theta2_c + y[d][1]) / SIGMA;
        let log_f2 = -(r2 * r2 * 0.5) - HALF_LN_2PI - SIGMA.ln();
        let z2 = (theta2_c - theta1_c - mu2[d]) / s2;
        let log_q2 = -rho2[d] - z2 * z2 * 0.5 - HALF_LN_2PI;
        total += log_prior + log_f1 + log_f2 - log_q1 - log_q2;
    }
    total
}

/// num-dual's full gradient: one forward sweep carrying N = 4D derivative
/// directions in a fixed-size dual vector. This seeds the variables as
/// `num_dual::gradient` does; calling that function itself would need
/// nalgebra vectors, and nalgebra is not one of our dependencies.
fn elbo_grad_num_dual<const D: usize, const N: usize>(
    mu1: [f64; D],
    rho1: [f64; D],
    mu2: [f64; D],
    rho2: [f64; D],
    eps: &[[f64; 2]],
    y: &[[f64; 2]],
) -> (f64, Grad<D>) {
    const { assert!(N == 4 * D) };
    let p = [mu1, rho1, mu2, rho2];
    let x: [DualSVec64<N>; N] =
        std::array::from_fn(|i| DualSVec64::from_re(p[i / D][i % D]).derivative(i));
    let r = elbo_dual(&x, eps, y);
    // No derivative part at all means a zero gradient.
    let g = |i: usize| r.eps.0.as_ref().map_or(0.0, |e| e[i]);
    let part = |k: usize| std::array::from_fn(|d| g(k * D + d));
    (r.re, (part(0), part(1), part(2), part(3)))
}

/// A seeded point: parameters, noise and data.
struct Point<const D: usize> {
    p: [[f64; D]; 4],
    eps: Vec<[f64; 2]>,
    y: Vec<[f64; 2]>,
}

fn point<const D: usize>(seed: u64) -> Point<D> {
    // A fixed quasi-random sequence in [-1, 1).
    let mut k = seed;
    let mut next = move || {
        k += 1;
        2.0 * ((k as f64) * 0.618_033_988_749_894_9).fract() - 1.0
    };
    let mut p: [[f64; D]; 4] = std::array::from_fn(|_| std::array::from_fn(|_| next()));
    for rho in [1, 3] {
        p[rho] = p[rho].map(|r| 0.5 * r - 0.3);
    }
    let eps = (0..D).map(|_| [2.0 * next(), 2.0 * next()]).collect();
    let y = (0..D).map(|_| [3.0 * next(), 3.0 * next()]).collect();
    Point { p, eps, y }
}

/// At startup: sgrad's value is `elbo`'s bit for bit, and the generated,
/// hand-written and num-dual gradients agree to 1e-10 relative.
fn check<const D: usize, const N: usize>() {
    for seed in 0..20 {
        let Point { p, eps, y } = point::<D>(seed * 1000);
        let [a, b, c, d] = p.map(black_box);
        let v = elbo(a, b, c, d, &eps, &y);
        let (gv, g) = elbo_grad(a, b, c, d, &eps, &y);
        let (hv, h) = elbo_grad_by_hand(a, b, c, d, &eps, &y);
        let (nv, n) = elbo_grad_num_dual::<D, N>(a, b, c, d, &eps, &y);
        assert_eq!(gv.to_bits(), v.to_bits());
        assert_eq!(hv.to_bits(), v.to_bits());
        assert!((nv - v).abs() <= 1e-12 * v.abs().max(1.0), "{nv} vs {v}");
        let flat = |g: Grad<D>| [g.0, g.1, g.2, g.3].concat();
        let h = flat(h);
        for other in [flat(g), flat(n)] {
            for (x, h) in other.iter().zip(&h) {
                assert!(
                    (x - h).abs() <= 1e-10 * h.abs().max(1.0),
                    "D = {D}: {x} vs {h}"
                );
            }
        }
    }
    eprintln!("D = {D}: sgrad, hand-written and num-dual gradients agree");
}

fn bench_dim<const D: usize, const N: usize>(c: &mut Criterion) {
    check::<D, N>();
    let Point { p, eps, y } = point::<D>(7);
    let [mu1, rho1, mu2, rho2] = p;
    let mut group = c.benchmark_group("vector_elbo");
    group.bench_function(BenchmarkId::new("value", D), |b| {
        b.iter(|| {
            elbo(
                black_box(mu1),
                black_box(rho1),
                black_box(mu2),
                black_box(rho2),
                &eps,
                &y,
            )
        })
    });
    group.bench_function(BenchmarkId::new("grad_sgrad", D), |b| {
        b.iter(|| {
            elbo_grad(
                black_box(mu1),
                black_box(rho1),
                black_box(mu2),
                black_box(rho2),
                &eps,
                &y,
            )
        })
    });
    group.bench_function(BenchmarkId::new("grad_by_hand", D), |b| {
        b.iter(|| {
            elbo_grad_by_hand(
                black_box(mu1),
                black_box(rho1),
                black_box(mu2),
                black_box(rho2),
                &eps,
                &y,
            )
        })
    });
    group.bench_function(BenchmarkId::new("grad_num_dual", D), |b| {
        b.iter(|| {
            elbo_grad_num_dual::<D, N>(
                black_box(mu1),
                black_box(rho1),
                black_box(mu2),
                black_box(rho2),
                &eps,
                &y,
            )
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    bench_dim::<2, 8>(c);
    bench_dim::<50, 200>(c);
}

criterion_group!(benches, bench);
criterion_main!(benches);
