use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        if s > 2.0 {
            return s;
        }
        s += x * i as f64;
    }
    s
}

fn main() {
    let _ = f(1.0);
}
