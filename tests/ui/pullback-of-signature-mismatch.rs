use sgrad::{pullback_of, NoGradient};

fn scaled(x: f64, k: f64) -> f64 {
    k * x
}

#[pullback_of(scaled)]
fn scaled_rule(x: f32, k: f64) -> (f32, (f32, NoGradient)) {
    (k as f32 * x, (k as f32, NoGradient))
}

fn main() {}
