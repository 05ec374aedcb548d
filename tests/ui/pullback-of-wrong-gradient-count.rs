use sgrad::pullback_of;

fn scaled(x: f64, k: f64) -> f64 {
    k * x
}

#[pullback_of(scaled)]
fn scaled_rule(x: f64, k: f64) -> (f64, (f64,)) {
    (scaled(x, k), (k,))
}

fn main() {}
