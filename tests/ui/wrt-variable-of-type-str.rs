use sgrad::differentiable;

#[differentiable(label)]
fn f(x: f64, label: &'static str) -> f64 {
    x * label.len() as f64
}

fn main() {
    let _ = f(1.0, "a");
}
