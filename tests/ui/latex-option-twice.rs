use sgrad::differentiable;

#[differentiable(x; latex, forward, latex(expectation))]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = f(1.0);
}
