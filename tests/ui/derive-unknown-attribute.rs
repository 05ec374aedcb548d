#[derive(Clone, sgrad::Differentiable)]
struct Net {
    w: f64,
    #[sgrad(constant)]
    n: usize,
}

fn main() {}
