use sgrad::differentiable;

unsafe fn scale(t: f64) -> f64 {
    2.0 * t
}

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let y = unsafe { scale(x) };
    y + 1.0
}

fn main() {
    let _ = f(1.0);
}
