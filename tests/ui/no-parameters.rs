use sgrad::differentiable;

#[differentiable(x)]
fn f() -> f64 {
    1.0
}

fn main() {
    let _ = f();
}
