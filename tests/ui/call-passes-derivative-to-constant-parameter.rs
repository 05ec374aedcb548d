use sgrad::differentiable;

#[differentiable(mu)]
fn log_density(mu: f64, sigma: f64) -> f64 {
    -0.5 * mu * mu / (sigma * sigma) - sigma.ln()
}

#[differentiable(m, s)]
fn f(m: f64, s: f64) -> f64 {
    log_density(m, s.exp())
}

fn main() {
    let _ = f(1.0, 0.5);
}
