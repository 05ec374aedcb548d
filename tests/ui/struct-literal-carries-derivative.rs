use sgrad::differentiable;

struct Pair {
    a: f64,
    b: f64,
}

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let p = Pair { a: x, b: 2.0 };
    p.a * p.b
}

fn main() {
    let _ = f(1.0);
}
