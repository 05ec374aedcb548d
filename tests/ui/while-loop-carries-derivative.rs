use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let mut s = x;
    while s < 10.0 {
        s *= 2.0;
        if s > 5.0 {
            return s;
        }
    }
    s
}

fn main() {
    let _ = f(1.0);
}
