use sgrad::differentiable;

#[differentiable(mu, rho; latex(phi = [mu, rho, c]))]
fn f(mu: f64, rho: f64, c: f64) -> f64 {
    mu * rho.exp() + c
}

fn main() {
    let _ = f(1.0, 2.0, 3.0);
}
