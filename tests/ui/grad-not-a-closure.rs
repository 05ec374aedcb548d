use sgrad::grad;

fn square(x: f64) -> f64 {
    x * x
}

fn main() {
    let g = grad!(square);
    let _ = g(1.0);
}
