use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> i64 {
    x as i64
}

fn main() {
    let _ = f(1.0);
}
