use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let g = |t: f64| {
        if t > 1.0 {
            return t;
        }
        t * t
    };
    g(x) + 1.0
}

fn main() {
    let _ = f(1.0);
}
