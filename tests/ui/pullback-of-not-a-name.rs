use sgrad::pullback_of;

fn f(x: f64) -> f64 {
    x
}

#[pullback_of(crate::f)]
fn rule(x: f64) -> (f64, (f64,)) {
    (f(x), (1.0,))
}

fn main() {}
