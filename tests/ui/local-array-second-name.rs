use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let mut a = [x, 2.0 * x];
    let b = a;
    a[0] = 1.0;
    b[0] + a[1]
}

fn main() {
    let _ = f(1.0);
}
