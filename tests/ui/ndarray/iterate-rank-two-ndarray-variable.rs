use ndarray::Array2;
use sgrad::differentiable;

#[differentiable(a)]
fn squares(a: &Array2<f64>) -> f64 {
    let mut s = 0.0;
    for v in a.iter() {
        s += v * v;
    }
    s
}

fn main() {}
