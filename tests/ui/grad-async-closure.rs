use sgrad::grad;

fn main() {
    let g = grad!(async |x: f64| x * x);
    let _ = g(1.0);
}
