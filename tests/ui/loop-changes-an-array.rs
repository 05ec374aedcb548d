use sgrad::differentiable;

#[differentiable(x)]
fn f(mut x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        x[i] *= 2.0;
        s += x[i];
    }
    s
}

fn main() {
    let _ = f([1.0, 2.0, 3.0]);
}
