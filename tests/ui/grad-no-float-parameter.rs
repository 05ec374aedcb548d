use sgrad::grad;

fn main() {
    let g = grad!(|n: i32| n as f64 * 2.0);
    let _ = g(1);
}
