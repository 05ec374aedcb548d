use sgrad::grad;

fn main() {
    let g = grad!(|x: f64, n: i32| x.powi(n), wrt(n));
    let _ = g(1.0, 2);
}
