use sgrad::differentiable;

struct Point;

#[differentiable]
impl Point {
    fn f(x: f64) -> f64 {
        x
    }
}

fn main() {
    let _ = Point::f(1.0);
}
