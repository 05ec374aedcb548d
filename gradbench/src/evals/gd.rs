//! Gradient descent as the `particle` and `saddle` evals specify it: a
//! step `η` that starts at 1e-5, doubles after ten accepted steps in a
//! row and halves when a step does not decrease the objective; it stops
//! when the gradient or the step is shorter than 1e-5.

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// The point where gradient descent on `f` (gradient `grad`) from `start` stops.
pub fn argmin(
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> Vec<f64>,
    start: &[f64],
) -> Vec<f64> {
    let mut x = start.to_vec();
    let mut fx = f(&x);
    let mut gx = grad(&x);
    let mut accepted = 0;
    let mut eta = 1e-5;
    loop {
        if norm(&gx) <= 1e-5 {
            return x;
        }
        if accepted == 10 {
            eta *= 2.0;
            accepted = 0;
            continue;
        }
        let next: Vec<f64> = x.iter().zip(&gx).map(|(a, g)| a - eta * g).collect();
        let step: Vec<f64> = x.iter().zip(&next).map(|(a, b)| a - b).collect();
        if norm(&step) <= 1e-5 {
            return x;
        }
        let f_next = f(&next);
        if f_next < fx {
            x = next;
            fx = f_next;
            gx = grad(&x);
            accepted += 1;
        } else {
            eta /= 2.0;
            accepted = 0;
        }
    }
}

/// Gradient ascent: descent on `−f`.
pub fn argmax(
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> Vec<f64>,
    start: &[f64],
) -> Vec<f64> {
    argmin(|x| -f(x), |x| grad(x).iter().map(|g| -g).collect(), start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_quadratic() {
        let f = |x: &[f64]| (x[0] - 1.0).powi(2) + 2.0 * (x[1] + 0.5).powi(2);
        let g = |x: &[f64]| vec![2.0 * (x[0] - 1.0), 4.0 * (x[1] + 0.5)];
        let x = argmin(f, g, &[0.0, 0.0]);
        assert!(
            (x[0] - 1.0).abs() < 1e-4 && (x[1] + 0.5).abs() < 1e-4,
            "{x:?}"
        );
        let y = argmax(
            |x| -f(x),
            |x| g(x).iter().map(|v| -v).collect(),
            &[0.0, 0.0],
        );
        assert!((y[0] - 1.0).abs() < 1e-4, "{y:?}");
    }
}
