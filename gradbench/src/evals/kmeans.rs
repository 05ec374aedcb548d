//! `kmeans`: the cost `Σ_i min_j ‖C_j − P_i‖²` and Newton's direction
//! `J H⁻¹`, with `J` its gradient in the centroids and `H` its Hessian,
//! which is diagonal. One forward-over-reverse sweep of the generated
//! gradient on dual numbers, with every tangent 1, gives both: the values
//! are `J`, the tangents are `H · 1`, the diagonal of `H`.

use serde::Deserialize;
use serde_json::Value;
use sgrad::{differentiable, Dual, Real};

use super::{parse, unknown};
use crate::protocol::Evaluation;

/// The cost, with the centroids flat (`k × d`, row-major).
#[differentiable(c)]
pub fn cost<T: Real>(points: &[Vec<f64>], c: &[T], d: usize) -> T {
    let k = c.len() / d;
    let mut total = T::zero();
    for i in 0..points.len() {
        let mut closest = T::from_f64(f64::INFINITY);
        for j in 0..k {
            let mut dist = T::zero();
            for t in 0..d {
                let e = c[j * d + t] - T::from_f64(points[i][t]);
                dist += e * e;
            }
            closest = closest.min(dist);
        }
        total += closest;
    }
    total
}

/// `J / diag(H)`, component by component, as `k` rows of `d`.
pub fn dir(points: &[Vec<f64>], c: &[f64], d: usize) -> Vec<Vec<f64>> {
    let seeded: Vec<Dual<f64>> = c.iter().map(|&v| Dual::new(v, 1.0)).collect();
    let (_, g) = cost_grad(points, &seeded, d);
    g.chunks(d)
        .map(|row| row.iter().map(|gi| gi.re / gi.eps).collect())
        .collect()
}

#[derive(Deserialize)]
struct Input {
    points: Vec<Vec<f64>>,
    centroids: Vec<Vec<f64>>,
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let Input { points, centroids } = parse(input)?;
    let d = centroids.first().map_or(0, Vec::len);
    if d == 0 || points.iter().chain(&centroids).any(|p| p.len() != d) {
        return Err("kmeans: points and centroids must share one dimension d ≥ 1".into());
    }
    let flat: Vec<f64> = centroids.concat();
    match function {
        "cost" => Evaluation::timed(input, || cost(&points, &flat, d)),
        "dir" => Evaluation::timed(input, || dir(&points, &flat, d)),
        f => Err(unknown("kmeans", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    fn problem(seed: u64, n: usize, k: usize, d: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut rng = fd::Rng(seed);
        let points: Vec<Vec<f64>> = (0..n).map(|_| rng.vec(d, 0.0, 1.0)).collect();
        // As the eval does: the last k points are the centroids, moved a
        // little so that no centroid sits on a point (a kink of the min).
        let c: Vec<f64> = points[n - k..].concat().iter().map(|v| v + 0.01).collect();
        (points, c)
    }

    #[test]
    fn gradient_against_central_differences() {
        for (n, k, d) in [(3, 1, 1), (10, 3, 2), (30, 4, 3)] {
            let (points, c) = problem(7 + n as u64, n, k, d);
            let (v, g) = cost_grad(&points, &c, d);
            assert_eq!(v.to_bits(), cost(&points, &c, d).to_bits());
            fd::assert_close(&g, &fd::gradient(|c| cost(&points, c, d), &c, 1e-6), 1e-6);
        }
    }

    #[test]
    fn dir_against_central_differences_of_the_gradient() {
        for (n, k, d) in [(10, 3, 2), (30, 4, 3)] {
            let (points, c) = problem(11 + n as u64, n, k, d);
            let j = cost_grad(&points, &c, d).1;
            // The Hessian's diagonal by differences of the gradient.
            let mut hdiag = vec![0.0; c.len()];
            for (i, h) in hdiag.iter_mut().enumerate() {
                *h = fd::gradient(|c| cost_grad(&points, c, d).1[i], &c, 1e-5)[i];
            }
            let want: Vec<f64> = j.iter().zip(&hdiag).map(|(a, b)| a / b).collect();
            let got: Vec<f64> = dir(&points, &c, d).concat();
            fd::assert_close(&got, &want, 1e-6);
        }
    }

    #[test]
    fn dir_is_the_newton_step_to_the_cluster_means() {
        // Each centroid minus its Newton step is the mean of its points.
        let points = vec![vec![0.0], vec![1.0], vec![10.0], vec![12.0]];
        let c = [0.2, 11.5];
        let step = dir(&points, &c, 1);
        assert!((c[0] - step[0][0] - 0.5).abs() < 1e-12);
        assert!((c[1] - step[1][0] - 11.0).abs() < 1e-12);
    }
}
