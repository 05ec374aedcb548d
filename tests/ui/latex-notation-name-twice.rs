use sgrad::differentiable;

#[differentiable(x; latex(x = r"\xi", x = r"\chi"))]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = f(1.0);
}
