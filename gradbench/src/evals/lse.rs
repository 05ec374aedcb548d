//! `lse`: LogSumExp with the max trick, `a + ln Σ exp(x_i − a)`, `a = max x`.

use serde::Deserialize;
use serde_json::Value;
use sgrad::differentiable;

use super::{parse, unknown};
use crate::protocol::Evaluation;

/// `max x + ln Σ_i exp(x_i − max x)`, from its primitive parts.
#[differentiable(x)]
pub fn logsumexp(x: &[f64]) -> f64 {
    let mut a = x[0];
    for i in 1..x.len() {
        a = a.max(x[i]);
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    s.ln() + a
}

#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let Input { x } = parse(input)?;
    if x.is_empty() {
        return Err("lse needs a nonempty x".into());
    }
    match function {
        "primal" => Evaluation::timed(input, || logsumexp(&x)),
        "gradient" => Evaluation::timed(input, || logsumexp_grad(&x).1),
        f => Err(unknown("lse", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    #[test]
    fn gradient_against_central_differences() {
        let mut rng = fd::Rng(1);
        for n in [1, 2, 7, 40] {
            let x = rng.vec(n, -3.0, 3.0);
            let (v, g) = logsumexp_grad(&x);
            assert_eq!(v.to_bits(), logsumexp(&x).to_bits());
            fd::assert_close(&g, &fd::gradient(logsumexp, &x, 1e-6), 1e-7);
        }
    }

    #[test]
    fn stable_for_large_inputs() {
        let x = [1000.0, 1000.0];
        let (v, g) = logsumexp_grad(&x);
        assert!((v - (1000.0 + 2f64.ln())).abs() < 1e-9);
        fd::assert_close(&g, &[0.5, 0.5], 1e-12);
    }
}
