//! Correct programs with stops, helpers, structs and trait impls compile
//! without a single warning.
#![deny(warnings)]

use sgrad::{differentiable, sg, sg_for, Differentiable};

#[differentiable(phi1, phi2)]
fn objective(phi1: f64, phi2: f64, y: f64) -> f64 {
    let theta = phi1 + 0.5 * phi2;
    -(y - theta).powi(2) + sg_for!(phi1, (theta * phi2).ln_1p()) - sg(theta) * phi1
}

#[differentiable(w, x)]
fn layer(w: &[f64], x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; w.len()];
    for i in 0..w.len() {
        out[i] = (w[i] * x[i]).tanh();
    }
    out
}

#[derive(Clone, Differentiable)]
struct Net {
    w: Vec<f64>,
    b: f64,
}

trait Model {
    fn predict(&self, x: &[f64]) -> f64;
}

#[differentiable]
impl Model for Net {
    #[differentiable(self)]
    fn predict(&self, x: &[f64]) -> f64 {
        let h = layer(&self.w, x);
        let mut s = self.b;
        for i in 0..h.len() {
            s += h[i];
        }
        s
    }
}

#[differentiable(net)]
fn loss(net: &Net, x: &[f64], target: f64) -> f64 {
    let d = net.predict(x) - target;
    d * d
}

fn main() {
    let (_, (g1, g2)) = objective_grad(0.3, 0.2, 1.0);
    let net = Net { w: vec![0.5, -0.25], b: 0.1 };
    let (_, g) = loss_grad(&net, &[1.0, 2.0], 0.5);
    assert!(g1.is_finite() && g2.is_finite() && g.norm().is_finite());
}
