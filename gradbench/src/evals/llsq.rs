//! `llsq`: `½ Σ_i (s_i − Σ_j x_j t_i^j)²` with `t_i = −1 + 2i/(n − 1)`,
//! `s_i = sign(t_i)`.

use serde::Deserialize;
use serde_json::Value;
use sgrad::differentiable;

use super::{parse, unknown};
use crate::protocol::Evaluation;

#[differentiable(x)]
pub fn llsq(x: &[f64], n: usize) -> f64 {
    let m = x.len();
    let mut sum = 0.0;
    for i in 0..n {
        let t = -1.0 + (i as f64) * 2.0 / ((n as f64) - 1.0);
        let s = if t > 0.0 {
            1.0
        } else if t < 0.0 {
            -1.0
        } else {
            0.0
        };
        let mut r = s;
        let mut power = 1.0;
        for j in 0..m {
            r -= x[j] * power;
            power *= t;
        }
        sum += r * r;
    }
    sum / 2.0
}

#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
    n: usize,
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let Input { x, n } = parse(input)?;
    match function {
        "primal" => Evaluation::timed(input, || llsq(&x, n)),
        "gradient" => Evaluation::timed(input, || llsq_grad(&x, n).1),
        f => Err(unknown("llsq", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    #[test]
    fn gradient_against_central_differences() {
        let mut rng = fd::Rng(2);
        for (n, m) in [(2, 1), (5, 3), (16, 8), (33, 12)] {
            let x = rng.vec(m, 0.0, 1.0);
            let (v, g) = llsq_grad(&x, n);
            assert_eq!(v.to_bits(), llsq(&x, n).to_bits());
            fd::assert_close(&g, &fd::gradient(|x| llsq(x, n), &x, 1e-6), 1e-6);
        }
    }

    #[test]
    fn gradient_is_the_normal_equations() {
        // ∂/∂x_j = −Σ_i r_i t_i^j, with r_i the residual.
        let (n, x) = (9, vec![0.3, -0.2, 0.1]);
        let mut want = vec![0.0; 3];
        for i in 0..n {
            let t = -1.0 + i as f64 * 2.0 / (n as f64 - 1.0);
            let s = if t > 0.0 {
                1.0
            } else if t < 0.0 {
                -1.0
            } else {
                0.0
            };
            let r = s - x[0] - x[1] * t - x[2] * t * t;
            for (j, w) in want.iter_mut().enumerate() {
                *w -= r * t.powi(j as i32);
            }
        }
        fd::assert_close(&llsq_grad(&x, n).1, &want, 1e-12);
    }
}
