use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64, scale: Option<f64>) -> f64 {
    let Some(k) = scale else {
        return x;
    };
    x * k
}

fn main() {
    let _ = f(1.0, None);
}
