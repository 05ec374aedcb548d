use sgrad::differentiable;

trait Energy {
    fn energy(&self, x: f64) -> f64;
}

struct Spring;

impl Energy for Spring {
    #[differentiable(x)]
    fn energy(&self, x: f64) -> f64 {
        x * x
    }
}

fn main() {}
