use sgrad::{differentiable, log_sum_exp};

#[differentiable(x)]
fn f(x: &[f64]) -> f64 {
    let mut v = vec![0.0; x.len()];
    let mut s = 0.0;
    for i in 0..x.len() {
        v[i] = x[i] * x[i];
        s += log_sum_exp(&v);
    }
    s
}

fn main() {
    let _ = f(&[1.0, 2.0]);
}
