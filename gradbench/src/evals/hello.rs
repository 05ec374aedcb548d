//! `hello`: `square(x) = x²` and its derivative `double(x) = 2x`.

use serde_json::Value;
use sgrad::differentiable;

use super::{parse, unknown};
use crate::protocol::Evaluation;

#[differentiable(x)]
pub fn square(x: f64) -> f64 {
    x * x
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let x: f64 = parse(input)?;
    // `hello` has no `min_runs`: one run each.
    let once = Value::Null;
    match function {
        "square" => Evaluation::timed(&once, || square(x)),
        "double" => Evaluation::timed(&once, || square_grad(x).1),
        f => Err(unknown("hello", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_is_the_derivative_of_square() {
        for x in [-3.0, 0.0, 0.5, 7.0] {
            let fd = (square(x + 1e-6) - square(x - 1e-6)) / 2e-6;
            let (v, g) = square_grad(x);
            assert_eq!(v, x * x);
            assert!((g - fd).abs() < 1e-6, "{g} vs {fd}");
        }
    }
}
