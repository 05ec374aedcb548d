use sgrad::differentiable;

fn rhs(x: &[f64], out: &mut [f64]) {
    for i in 0..x.len() {
        out[i] = x[i].sin();
    }
}

#[differentiable(x)]
fn f(x: &[f64]) -> f64 {
    let mut out = vec![0.0; x.len()];
    rhs(x, &mut out);
    out[0] + out[1]
}

fn main() {}
