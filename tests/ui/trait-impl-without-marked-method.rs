use sgrad::differentiable;

trait Energy {
    fn energy(&self, x: f64) -> f64;
}

struct Spring;

#[differentiable]
impl Energy for Spring {
    fn energy(&self, x: f64) -> f64 {
        x * x
    }
}

fn main() {}
