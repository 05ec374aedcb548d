use sgrad::grad;

fn main() {
    let g = grad!(|x, y: f64| x * y, wrt(x));
    let _ = g(1.0, 2.0);
}
