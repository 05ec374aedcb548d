use sgrad::differentiable;

#[differentiable(x; forward)]
fn double(x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for i in 0..x.len() {
        out[i] = 2.0 * x[i];
    }
    out
}

fn main() {}
