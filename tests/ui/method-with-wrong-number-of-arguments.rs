use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    x.powf()
}

fn main() {
    let _ = f(1.0);
}
