use sgrad::grad;

fn main() {
    let g = grad!(|x: f64| {
        let mut s = 0.0;
        for w in [1.0, 2.0, 3.0] {
            s += x * w;
        }
        s
    });
    let _ = g(1.0);
}
