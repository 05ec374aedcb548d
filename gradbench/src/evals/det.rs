//! `det`: the determinant of an `ℓ × ℓ` matrix by expansion by minors
//! along the first row, recursively.

use serde::Deserialize;
use serde_json::Value;
use sgrad::differentiable;

use super::{parse, unknown};
use crate::protocol::Evaluation;

/// The determinant of the minor of `a` (row-major, `ell × ell`) left when
/// the first `ell − m` rows and the columns in the bit set `used` (`m`
/// columns remain) are removed, expanded along its first row.
#[differentiable(a)]
pub fn det_of_minor(a: &[f64], ell: usize, used: u64) -> f64 {
    let m = ell - used.count_ones() as usize;
    let row = ell - m;
    if m == 1 {
        let mut last = 0.0;
        for c in 0..ell {
            if used & (1u64 << c) == 0 {
                last = a[row * ell + c];
            }
        }
        return last;
    }
    let mut det = 0.0;
    let mut sign = 1;
    for c in 0..ell {
        if used & (1u64 << c) == 0 {
            let minor = det_of_minor(a, ell, used | (1u64 << c));
            if sign > 0 {
                det += a[row * ell + c] * minor;
            } else {
                det -= a[row * ell + c] * minor;
            }
            sign = -sign;
        }
    }
    det
}

/// `det A` for `A` row-major `ell × ell`.
#[differentiable(a)]
pub fn det(a: &[f64], ell: usize) -> f64 {
    det_of_minor(a, ell, 0)
}

#[derive(Deserialize)]
struct Input {
    #[serde(rename = "A")]
    a: Vec<f64>,
    ell: usize,
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let Input { a, ell } = parse(input)?;
    if ell == 0 || ell > 64 || a.len() != ell * ell {
        return Err(format!(
            "det needs 1 ≤ ell ≤ 64 and ell² entries, got ell = {ell}"
        ));
    }
    match function {
        "primal" => Evaluation::timed(input, || det(&a, ell)),
        "gradient" => Evaluation::timed(input, || det_grad(&a, ell).1),
        f => Err(unknown("det", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    #[test]
    fn values_of_known_determinants() {
        assert_eq!(det(&[3.0], 1), 3.0);
        assert_eq!(det(&[1.0, 2.0, 3.0, 4.0], 2), -2.0);
        let a = [2.0, 0.0, 1.0, 1.0, 3.0, 2.0, 1.0, 1.0, 2.0];
        assert!((det(&a, 3) - 6.0).abs() < 1e-12);
    }

    #[test]
    fn gradient_against_central_differences() {
        let mut rng = fd::Rng(5);
        for ell in 1..=5 {
            let a = rng.vec(ell * ell, 0.0, 1.0);
            let (v, g) = det_grad(&a, ell);
            assert_eq!(v.to_bits(), det(&a, ell).to_bits());
            fd::assert_close(&g, &fd::gradient(|a| det(a, ell), &a, 1e-6), 1e-7);
        }
    }

    #[test]
    fn gradient_is_the_cofactor_matrix() {
        // ∂ det A / ∂A = det(A) A^{-T}; for 2 × 2, [[d, −c], [−b, a]].
        let (_, g) = det_grad(&[1.0, 2.0, 3.0, 4.0], 2);
        assert_eq!(g, vec![4.0, -3.0, -2.0, 1.0]);
    }
}
