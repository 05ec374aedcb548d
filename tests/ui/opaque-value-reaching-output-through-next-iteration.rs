use sgrad::differentiable;

#[differentiable(w)]
fn f(w: f64, k: usize) -> f64 {
    let mut v = 0.0;
    let mut x = 0.0;
    for _ in 0..3 {
        x += v;
        v = match k {
            0 => w * w,
            _ => w,
        };
    }
    x
}

#[differentiable(w)]
fn g(w: f64) -> f64 {
    let mut v = 0.0;
    let mut x = 0.0;
    for _ in 0..3 {
        x += v;
        v = (|t: f64| t * t)(w);
    }
    x
}

fn main() {}
