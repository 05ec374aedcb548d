use sgrad::grad;

fn main() {
    let g = grad!(|x: f64| {
        let mut s = 0.0;
        for i in 0..3 {
            s += x * i as f64;
        }
        s
    });
    let _ = g(1.0);
}
