use sgrad::differentiable;

#[differentiable(x; latex(expectation, f = 2))]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = f(1.0);
}
