//! `ode`: `y_0' = x_0`, `y_i' = x_i y_{i−1}`, `y(0) = 0`, solved on
//! `[0, 2]` by `s` steps of the classical Runge–Kutta method. The gradient
//! is that of the last component of `y(2)`: the vector–Jacobian product of
//! the solver with the last unit vector.

use serde::Deserialize;
use serde_json::Value;
use sgrad::differentiable;

use super::{parse, unknown};
use crate::protocol::Evaluation;

#[differentiable(x)]
pub fn ode(x: &[f64], s: usize) -> Vec<f64> {
    let n = x.len();
    let tf = 2.0;
    let h = tf / (s as f64);
    let mut y = vec![0.0; n];
    let mut k1 = vec![0.0; n];
    let mut k2 = vec![0.0; n];
    let mut k3 = vec![0.0; n];
    let mut k4 = vec![0.0; n];
    let mut y_tmp = vec![0.0; n];
    for _ in 0..s {
        k1[0] = x[0];
        for i in 1..n {
            k1[i] = x[i] * y[i - 1];
        }
        for i in 0..n {
            y_tmp[i] = y[i] + h * k1[i] / 2.0;
        }
        k2[0] = x[0];
        for i in 1..n {
            k2[i] = x[i] * y_tmp[i - 1];
        }
        for i in 0..n {
            y_tmp[i] = y[i] + h * k2[i] / 2.0;
        }
        k3[0] = x[0];
        for i in 1..n {
            k3[i] = x[i] * y_tmp[i - 1];
        }
        for i in 0..n {
            y_tmp[i] = y[i] + h * k3[i];
        }
        k4[0] = x[0];
        for i in 1..n {
            k4[i] = x[i] * y_tmp[i - 1];
        }
        for i in 0..n {
            y[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
        }
    }
    y
}

/// ∇ of `y_{n−1}(2)`: the solver's vector–Jacobian product with `e_{n−1}`.
pub fn gradient(x: &[f64], s: usize) -> Vec<f64> {
    let mut last = vec![0.0; x.len()];
    last[x.len() - 1] = 1.0;
    ode_vjp(x, s, &last).1
}

#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
    s: usize,
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let Input { x, s } = parse(input)?;
    if x.is_empty() || s == 0 {
        return Err("ode needs a nonempty x and s ≥ 1".into());
    }
    match function {
        "primal" => Evaluation::timed(input, || ode(&x, s)),
        "gradient" => Evaluation::timed(input, || gradient(&x, s)),
        f => Err(unknown("ode", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    #[test]
    fn gradient_against_central_differences() {
        let mut rng = fd::Rng(3);
        for (n, s) in [(1, 1), (2, 3), (5, 4), (12, 10)] {
            let x = rng.vec(n, 0.0, 1.0);
            let g = gradient(&x, s);
            let fd = fd::gradient(|x| ode(x, s)[n - 1], &x, 1e-6);
            fd::assert_close(&g, &fd, 1e-7);
        }
    }

    #[test]
    fn vjp_of_every_component_against_differences() {
        // A random cotangent, so that every output's pullback is exercised.
        let mut rng = fd::Rng(4);
        let (x, s) = (rng.vec(6, 0.0, 1.0), 5);
        let w = rng.vec(6, -1.0, 1.0);
        let (y, g) = ode_vjp(&x, s, &w);
        assert_eq!(y, ode(&x, s));
        let dot = |x: &[f64]| ode(x, s).iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        fd::assert_close(&g, &fd::gradient(dot, &x, 1e-6), 1e-7);
    }
}
