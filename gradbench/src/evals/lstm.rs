//! `lstm`: ADBench's LSTM (diagonal weights), the mean log-likelihood of
//! each next character, `−Σ_t Σ_i y_{t+1,i} (ŷ_{t,i} − ln(2 + Σ_j e^{ŷ_{t,j}})) / count`.

use serde::Deserialize;
use serde_json::Value;
use sgrad::differentiable;

use super::{parse, unknown};
use crate::protocol::Evaluation;

/// `main` holds, per layer, a row of weights and a row of biases, each
/// `[forget, ingate, outgate, change]` of `b` entries; `extra` the input
/// weights, output weights and output biases; `state` per layer a row of
/// hidden values and a row of cell values; `seq` one row per character.
#[differentiable(main, extra)]
pub fn objective(
    main: &[Vec<f64>],
    extra: &[Vec<f64>],
    state: &[Vec<f64>],
    seq: &[Vec<f64>],
) -> f64 {
    let layers = main.len() / 2;
    let b = seq[0].len();
    let mut hidden = vec![0.0; layers * b];
    let mut cell = vec![0.0; layers * b];
    for layer in 0..layers {
        for i in 0..b {
            hidden[layer * b + i] = state[2 * layer][i];
            cell[layer * b + i] = state[2 * layer + 1][i];
        }
    }
    let mut total = 0.0;
    let mut count = 0;
    for t in 0..seq.len() - 1 {
        let mut input = vec![0.0; b];
        for i in 0..b {
            input[i] = seq[t][i] * extra[0][i];
        }
        for layer in 0..layers {
            let w = &main[2 * layer];
            let bias = &main[2 * layer + 1];
            for i in 0..b {
                let h = layer * b + i;
                let forget = 1.0 / (1.0 + (-(input[i] * w[i] + bias[i])).exp());
                let ingate = 1.0 / (1.0 + (-(hidden[h] * w[b + i] + bias[b + i])).exp());
                let outgate = 1.0 / (1.0 + (-(input[i] * w[2 * b + i] + bias[2 * b + i])).exp());
                let change = (hidden[h] * w[3 * b + i] + bias[3 * b + i]).tanh();
                cell[h] = cell[h] * forget + ingate * change;
                hidden[h] = outgate * cell[h].tanh();
            }
            for i in 0..b {
                input[i] = hidden[layer * b + i];
            }
        }
        let mut ypred = vec![0.0; b];
        let mut sum = 0.0;
        for i in 0..b {
            ypred[i] = input[i] * extra[1][i] + extra[2][i];
            sum += ypred[i].exp();
        }
        let lse = (sum + 2.0).ln();
        for i in 0..b {
            total += seq[t + 1][i] * (ypred[i] - lse);
        }
        count += b;
    }
    -total / (count as f64)
}

#[derive(Deserialize)]
struct Input {
    main_params: Vec<Vec<f64>>,
    extra_params: Vec<Vec<f64>>,
    state: Vec<Vec<f64>>,
    sequence: Vec<Vec<f64>>,
}

/// The gradient of `main` then of `extra`, each row after row.
pub fn jacobian(
    main: &[Vec<f64>],
    extra: &[Vec<f64>],
    state: &[Vec<f64>],
    seq: &[Vec<f64>],
) -> Vec<f64> {
    let (_, (gm, ge)) = objective_grad(main, extra, state, seq);
    gm.into_iter().chain(ge).flatten().collect()
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let p: Input = parse(input)?;
    let b = p.sequence.first().map_or(0, Vec::len);
    if p.sequence.len() < 2 || b == 0 || p.main_params.len() % 2 != 0 || p.extra_params.len() != 3 {
        return Err("lstm: needs 2·l rows of main_params, 3 of extra_params, 2 characters".into());
    }
    let (m, e, s, q) = (&p.main_params, &p.extra_params, &p.state, &p.sequence);
    match function {
        "objective" => Evaluation::timed(input, || objective(m, e, s, q)),
        "jacobian" => Evaluation::timed(input, || jacobian(m, e, s, q)),
        f => Err(unknown("lstm", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    #[test]
    fn gradient_against_central_differences() {
        let mut rng = fd::Rng(12);
        for (layers, c, b) in [(1, 2, 1), (2, 4, 3), (3, 5, 4)] {
            let main: Vec<Vec<f64>> = (0..2 * layers).map(|_| rng.vec(4 * b, 0.0, 1.0)).collect();
            let extra: Vec<Vec<f64>> = (0..3).map(|_| rng.vec(b, 0.0, 1.0)).collect();
            let state: Vec<Vec<f64>> = (0..2 * layers).map(|_| rng.vec(b, 0.0, 1.0)).collect();
            let seq: Vec<Vec<f64>> = (0..c)
                .map(|_| (0..b).map(|_| (rng.uniform() < 0.5) as u8 as f64).collect())
                .collect();
            let g = jacobian(&main, &extra, &state, &seq);
            let flat: Vec<f64> = main.iter().chain(&extra).flatten().copied().collect();
            let f = |v: &[f64]| {
                let rows: Vec<Vec<f64>> = v.chunks(b).map(<[f64]>::to_vec).collect();
                let m: Vec<Vec<f64>> = (0..2 * layers)
                    .map(|r| v[r * 4 * b..(r + 1) * 4 * b].to_vec())
                    .collect();
                let e: Vec<Vec<f64>> = rows[8 * layers..].to_vec();
                objective(&m, &e, &state, &seq)
            };
            fd::assert_close(&g, &fd::gradient(f, &flat, 1e-6), 1e-6);
        }
    }
}
