use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64, scale: Option<f64>) -> f64 {
    if let Some(k) = scale {
        x * k
    } else {
        x
    }
}

fn main() {
    let _ = f(1.0, None);
}
