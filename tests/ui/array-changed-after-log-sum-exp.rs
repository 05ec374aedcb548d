use sgrad::{differentiable, log_sum_exp};

#[differentiable(x)]
fn f(x: &[f64]) -> f64 {
    let mut v = vec![0.0; x.len()];
    for i in 0..x.len() {
        v[i] = 2.0 * x[i];
    }
    let l = log_sum_exp(&v);
    v[0] = l;
    v[0] + v[1]
}

fn main() {
    let _ = f(&[1.0, 2.0]);
}
