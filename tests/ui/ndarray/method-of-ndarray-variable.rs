use ndarray::{Array2, ArrayView1};
use sgrad::differentiable;

#[differentiable(a)]
fn total(a: &Array2<f64>) -> f64 {
    a.sum()
}

#[differentiable(a)]
fn first_column(a: &Array2<f64>) -> f64 {
    let c = a.column(0);
    c[0] * c[1]
}

#[differentiable(x)]
fn norm(x: ArrayView1<f64>) -> f64 {
    x.dot(&x).sqrt()
}

fn main() {}
