use sgrad::grad;

fn main() {
    let g = grad!(|x: f64, y: f64| x * y, wrt(x), y);
    let _ = g(1.0, 2.0);
}
