use sgrad::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Net {
    w: f64,
}

impl Net {
    #[differentiable(self)]
    fn f(&mut self, x: f64) -> f64 {
        self.w * x
    }
}

fn main() {}
