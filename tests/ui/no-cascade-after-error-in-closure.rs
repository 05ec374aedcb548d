// The error in the closure's body is the only error: the closure still has
// its real signature, so the caller type-checks.
use sgrad::grad;

fn main() {
    let g = grad!(|x: f64, y: f64| {
        let mut s = 0.0;
        'outer: loop {
            s += x;
            if s > 3.0 {
                break 'outer;
            }
        }
        s * y
    });
    let (v, (dx, dy)) = g(1.0, 2.0);
    assert_eq!(v, dx + dy);
}
