use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let _y = x * 2.0;
    unimplemented!();
}

fn main() {
    let _ = f(1.0);
}
