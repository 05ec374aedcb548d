use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64, steps: &[usize]) -> f64 {
    let mut s = x;
    let mut it = steps.iter();
    while let Some(k) = it.next() {
        s = s * 0.5 + *k as f64;
    }
    s
}

fn main() {
    let _ = f(1.0, &[1, 2]);
}
