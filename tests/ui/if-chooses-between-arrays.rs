use sgrad::differentiable;

#[differentiable(a, b)]
fn f(a: [f64; 2], b: [f64; 2], c: bool) -> f64 {
    let x = if c { a } else { b };
    x[0] * x[1]
}

fn main() {
    let _ = f([1.0, 2.0], [3.0, 4.0], true);
}
