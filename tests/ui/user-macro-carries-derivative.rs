use sgrad::differentiable;

macro_rules! double {
    ($e:expr) => {
        2.0 * $e
    };
}

#[differentiable(x)]
fn f(x: f64) -> f64 {
    double!(x) + 1.0
}

fn main() {
    let _ = f(1.0);
}
