#[differentiable(mu1, rho1, mu2, rho2)]
fn elbo(mu1: f64, rho1: f64, mu2: f64, rho2: f64, eps1: f64, eps2: f64, y1: f64, y2: f64) -> f64 {
    let s1 = rho1.exp();
    let s2 = rho2.exp();
    let theta1 = mu1 + s1 * eps1;
    let theta2 = theta1 + mu2 + s2 * eps2;
    let d = theta2 - theta1;
    let log_prior = -2.0 * HALF_LN_2PI - 0.5 * theta1 * theta1 - 0.5 * d * d;
    let r1 = (y1 - theta1) / SIGMA;
    let log_f1 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r1 * r1;
    let r2 = (y2 - theta1 - theta2) / SIGMA;
    let log_f2 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r2 * r2;
    let z1 = (theta1 - mu1) / s1;
    let log_q1 = -HALF_LN_2PI - rho1 - 0.5 * z1 * z1;
    let z2 = (theta2 - theta1 - mu2) / s2;
    let log_q2 = -HALF_LN_2PI - rho2 - 0.5 * z2 * z2;
    log_prior + log_f1 + sg_for!([mu1, rho1], log_f2) - log_q1 - sg_for!([mu1, rho1], log_q2)
}
