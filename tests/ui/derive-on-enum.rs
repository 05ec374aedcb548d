#[derive(Clone, sgrad::Differentiable)]
enum Net {
    Small(f64),
    Large(Vec<f64>),
}

fn main() {}
