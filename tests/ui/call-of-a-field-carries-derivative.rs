use sgrad::differentiable;

struct Model {
    link: fn(f64) -> f64,
}

#[differentiable(x)]
fn f(m: &Model, x: f64) -> f64 {
    (m.link)(x) * 2.0
}

fn main() {
    let m = Model { link: f64::exp };
    let _ = f(&m, 1.0);
}
