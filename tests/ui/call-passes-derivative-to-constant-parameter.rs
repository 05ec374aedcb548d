use sgrad::differentiable;

// Float parameters left off the list still pass derivatives to callers;
// arrays do not (their gradient would cost every caller an array).
#[differentiable(mu)]
fn log_density(mu: f64, weights: &[f64]) -> f64 {
    -0.5 * mu * mu * weights[0]
}

#[differentiable(m, w)]
fn f(m: f64, w: &[f64]) -> f64 {
    log_density(m, w)
}

fn main() {
    let _ = f(1.0, &[0.5]);
}
