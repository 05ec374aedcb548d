//! `particle`: a charged particle starts at (0, 8) with velocity
//! (0.75, 0) and is pushed by the force `−∇ₓ p(x; w)` of two charges, at
//! (10, 0) and (10, 10 − w), `p(x; w) = 1/‖x − (10, 10 − w)‖ + 1/‖x − (10, 0)‖`,
//! by Euler steps of 0.1 until it crosses the x-axis; the objective is
//! the square of the crossing point's x (linear interpolation in the last
//! step), and `w` is found by gradient descent.
//!
//! Nested AD: the force in each step is the gradient of `p` (inner), and
//! the descent differentiates the whole trajectory in `w` (outer). The
//! function names say the modes, outer then inner: reverse is a generated
//! `_grad`, forward a generated `_jvp`; the outer mode differentiates
//! through the inner one's generated function (`let (_, d) =
//! potential_jvp(..)` inside a differentiated function composes too).

use serde::Deserialize;
use serde_json::Value;
#[cfg(test)]
use sgrad::Dual;
use sgrad::{differentiable, Real};

use super::gd::argmin;
use super::{parse, unknown};
use crate::protocol::Evaluation;

/// The electric potential at `(x0, x1)`.
#[differentiable(x0, x1; forward)]
pub fn potential<T: Real>(x0: T, x1: T, w: T) -> T {
    let ten = T::from_f64(10.0);
    let to_right = ((x0 - ten) * (x0 - ten) + (x1 - (ten - w)) * (x1 - (ten - w))).sqrt();
    let to_left = ((x0 - ten) * (x0 - ten) + x1 * x1).sqrt();
    T::one() / to_right + T::one() / to_left
}

/// x(t_f)², the force from the potential's generated gradient (inner
/// reverse); `_grad` (outer reverse) and `_jvp` (outer forward) go through it.
#[differentiable(w; forward)]
pub fn miss_inner_reverse<T: Real>(w: T) -> T {
    let dt = T::from_f64(0.1);
    let mut x0 = T::from_f64(0.0);
    let mut x1 = T::from_f64(8.0);
    let mut v0 = T::from_f64(0.75);
    let mut v1 = T::from_f64(0.0);
    let mut steps = 0;
    while steps < 1_000_000 {
        steps += 1;
        let (_, (dp0, dp1)) = potential_grad(x0, x1, w);
        let x1_next = x1 + dt * v1;
        if x1_next < T::zero() {
            break;
        }
        x0 += dt * v0;
        x1 = x1_next;
        v0 -= dt * dp0;
        v1 -= dt * dp1;
    }
    let dt_final = -x1 / v1;
    let x_final = x0 + dt_final * v0;
    x_final * x_final
}

/// x(t_f)², the force from two generated tangents of the potential
/// (inner forward); `_grad` (outer reverse) and `_jvp` (outer forward) go
/// through them.
#[differentiable(w; forward)]
pub fn miss_inner_forward<T: Real>(w: T) -> T {
    let dt = T::from_f64(0.1);
    let mut x0 = T::from_f64(0.0);
    let mut x1 = T::from_f64(8.0);
    let mut v0 = T::from_f64(0.75);
    let mut v1 = T::from_f64(0.0);
    let mut steps = 0;
    while steps < 1_000_000 {
        steps += 1;
        let (_, dp0) = potential_jvp(x0, x1, w, T::one(), T::zero());
        let (_, dp1) = potential_jvp(x0, x1, w, T::zero(), T::one());
        let x1_next = x1 + dt * v1;
        if x1_next < T::zero() {
            break;
        }
        x0 += dt * v0;
        x1 = x1_next;
        v0 -= dt * dp0;
        v1 -= dt * dp1;
    }
    let dt_final = -x1 / v1;
    let x_final = x0 + dt_final * v0;
    x_final * x_final
}

/// The derivative of the miss in `w` by forward mode: the objective run on
/// a dual number (a check of the generated derivatives).
#[cfg(test)]
fn forward<F: Fn(Dual<f64>) -> Dual<f64>>(f: F, w: f64) -> f64 {
    f(Dual::new(w, 1.0)).eps
}

/// The control `w` found by descent, with modes `outer`/`inner`.
pub fn solve(function: &str, w0: f64) -> Result<f64, String> {
    let w = match function {
        "rr" => argmin(
            |w| miss_inner_reverse(w[0]),
            |w| vec![miss_inner_reverse_grad(w[0]).1],
            &[w0],
        ),
        "fr" => argmin(
            |w| miss_inner_reverse(w[0]),
            |w| vec![miss_inner_reverse_jvp(w[0], 1.0).1],
            &[w0],
        ),
        "ff" => argmin(
            |w| miss_inner_forward(w[0]),
            |w| vec![miss_inner_forward_jvp(w[0], 1.0).1],
            &[w0],
        ),
        "rf" => argmin(
            |w| miss_inner_forward(w[0]),
            |w| vec![miss_inner_forward_grad(w[0]).1],
            &[w0],
        ),
        f => return Err(unknown("particle", f)),
    };
    Ok(w[0])
}

#[derive(Deserialize)]
struct Input {
    w: f64,
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let Input { w } = parse(input)?;
    solve(function, w)?;
    Evaluation::timed(input, || solve(function, w).unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    #[test]
    fn outer_derivatives_against_central_differences() {
        for w in [0.0, 0.1, 0.25] {
            let fd = fd::gradient(|w| miss_inner_reverse(w[0]), &[w], 1e-6)[0];
            let rr = miss_inner_reverse_grad(w).1;
            let fr = forward(miss_inner_reverse, w);
            let ff = miss_inner_forward_jvp(w, 1.0).1;
            let rf = miss_inner_forward_grad(w).1;
            let dual = forward(miss_inner_forward, w);
            let jvp = miss_inner_reverse_jvp(w, 1.0).1;
            for (mode, d) in [
                ("rr", rr),
                ("fr", fr),
                ("ff", ff),
                ("rf", rf),
                ("dual", dual),
                ("jvp", jvp),
            ] {
                assert!(
                    (d - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                    "{mode} at w = {w}: {d} vs {fd}"
                );
            }
        }
    }

    #[test]
    fn inner_gradient_is_the_force() {
        let (x0, x1, w) = (3.0, 4.0, 0.2);
        let (_, (g0, g1)) = potential_grad(x0, x1, w);
        let fd = fd::gradient(|x| potential(x[0], x[1], w), &[x0, x1], 1e-6);
        fd::assert_close(&[g0, g1], &fd, 1e-7);
        let (t0, t1) = (
            potential_jvp(x0, x1, w, 1.0, 0.0).1,
            potential_jvp(x0, x1, w, 0.0, 1.0).1,
        );
        fd::assert_close(&[t0, t1], &[g0, g1], 1e-14);
    }

    #[test]
    fn all_modes_find_the_same_control() {
        // GradBench's expected answer from w = 0.
        for mode in ["rr", "ff", "fr", "rf"] {
            let w = solve(mode, 0.0).unwrap();
            assert!((w - 0.2071918746486116).abs() < 1e-4, "{mode}: {w}");
        }
    }
}
