use sgrad::grad;

fn main() {
    let g = grad!(|| 2.0_f64);
    let _ = g();
}
