// The error in the closure's body is the only error: the closure still has
// its real signature, so the caller type-checks.
use sgrad::grad;

fn main() {
    let g = grad!(|x: f64, y: f64| {
        let s = match Some(y as i32) {
            Some(k) if k == 0 => x,
            _ => 2.0 * x,
        };
        s * y
    });
    let (v, (dx, dy)) = g(1.0, 2.0);
    assert_eq!(v, dx + dy);
}
