//! `sgrad::check`: the gradient checker on gradients sgrad generates, and on
//! the same gradients made wrong on purpose. Each test fails if the checker
//! misses an error, blames the wrong component, or rejects a right gradient.

use sgrad::{check_gradient, differentiable, sg, sg_for, GradCheck, GradReport};

#[differentiable(w, b)]
fn least_squares(w: [f64; 3], b: f64, xs: &[[f64; 3]], ys: &[f64]) -> f64 {
    let mut s = 0.0;
    for k in 0..ys.len() {
        let mut pred = b;
        for j in 0..3 {
            pred += w[j] * xs[k][j];
        }
        let r = pred - ys[k];
        s += r * r;
    }
    s + 0.1 * (w[0] * w[0] + w[1] * w[1] + w[2] * w[2])
}

const XS: [[f64; 3]; 4] = [
    [0.5, -1.0, 2.0],
    [1.5, 0.2, -0.3],
    [-0.7, 0.9, 1.1],
    [0.0, 2.0, 0.4],
];
const YS: [f64; 4] = [1.0, -0.5, 0.25, 2.0];
const W: [f64; 3] = [0.3, -0.8, 1.2];
const B: f64 = 0.4;

/// The flat point, the flat gradient sgrad computes there, and the checker
/// with the variables named.
fn least_squares_setup() -> (Vec<f64>, Vec<f64>, GradCheck) {
    let (_, (gw, gb)) = least_squares_grad(W, B, &XS, &YS);
    let point = [&W[..], &[B]].concat();
    let grad = [&gw[..], &[gb]].concat();
    (
        point,
        grad,
        GradCheck::new().variable("w", 3).variable("b", 1),
    )
}

fn least_squares_flat(v: &[f64]) -> f64 {
    least_squares([v[0], v[1], v[2]], v[3], &XS, &YS)
}

#[test]
fn correct_gradient_passes() -> Result<(), GradReport> {
    let (point, grad, check) = least_squares_setup();
    let report = check.run(least_squares_flat, &point, &grad).into_result()?;
    assert!(report.components.is_empty(), "{report}");
    assert!(report
        .to_string()
        .starts_with("gradient check passed: 4 random directions over 4 components"));
    // Every component too.
    check
        .clone()
        .per_component(true)
        .run(least_squares_flat, &point, &grad)
        .into_result()?;
    // With other seeds and more directions.
    for seed in 0..5 {
        check
            .clone()
            .seed(seed)
            .directions(16)
            .run(least_squares_flat, &point, &grad)
            .into_result()?;
    }
    Ok(())
}

#[test]
fn one_wrong_component_is_named() {
    let (point, grad, check) = least_squares_setup();
    for (k, expected) in [
        (0, "variable `w`, component 0: gradient"),
        (2, "variable `w`, component 2: gradient"),
        (3, "variable `b`: gradient"),
    ] {
        let mut wrong = grad.clone();
        wrong[k] += 1e-3 * (1.0 + grad[k].abs());
        let report = check.run(least_squares_flat, &point, &wrong);
        assert!(!report.is_ok(), "component {k}: {report}");
        let bad: Vec<usize> = report.mismatches().map(|c| c.index).collect();
        assert_eq!(bad, [k], "{report}");
        let message = report.to_string();
        assert!(message.contains(expected), "{message}");
        // Both numbers are printed: the wrong gradient and the difference.
        let c = report.mismatches().next().unwrap();
        assert_eq!(c.comparison.gradient, wrong[k]);
        assert!((c.comparison.finite_difference - grad[k]).abs() < 1e-6 * (1.0 + grad[k].abs()));
        assert!(
            message.contains(&format!("gradient {}", wrong[k])),
            "{message}"
        );
    }
}

#[test]
fn error_in_a_direction_combination_is_caught() {
    // `w[1]` too large and `b` too small by the same amount: the gradient's
    // sum, its derivative along (1, 1, 1, 1), is right, so a check along that
    // one direction would pass.
    let (point, grad, check) = least_squares_setup();
    let mut wrong = grad.clone();
    wrong[1] += 0.01;
    wrong[3] -= 0.01;
    let h = 1e-6;
    let plus: Vec<f64> = point.iter().map(|a| a + h).collect();
    let minus: Vec<f64> = point.iter().map(|a| a - h).collect();
    let along_ones = (least_squares_flat(&plus) - least_squares_flat(&minus)) / (2.0 * h);
    let sum: f64 = wrong.iter().sum();
    assert!((sum - along_ones).abs() < 1e-6 * along_ones.abs());

    let report = check.run(least_squares_flat, &point, &wrong);
    assert!(report.directions.iter().any(|c| !c.agrees()), "{report}");
    let bad: Vec<(Option<&str>, usize)> = report
        .mismatches()
        .map(|c| (c.variable.as_deref(), c.component))
        .collect();
    assert_eq!(bad, [(Some("w"), 1), (Some("b"), 0)], "{report}");
    let message = report.to_string();
    assert!(
        message.contains("variable `w`, component 1: gradient"),
        "{message}"
    );
    assert!(message.contains("variable `b`: gradient"), "{message}");
}

// ---------------------------------------------------------------------------
// `sg_for!`: each variable against its own frozen program.

/// θ₁ and θ₂ depend on φ₁ through θ₁; the last term is blocked for `phi1`
/// (including the path through `theta1`) and open for `phi2`.
#[differentiable(phi1, phi2)]
fn objective(phi1: [f64; 2], phi2: [f64; 2], eps: [f64; 2]) -> f64 {
    let theta1 = phi1[0] + phi1[1].exp() * eps[0];
    let theta2 = theta1 * phi2[0] + phi2[1].exp() * eps[1];
    let log_q2 = -0.5 * ((theta2 - phi2[0]) / phi2[1].exp()).powi(2) - phi2[1];
    -0.5 * theta1 * theta1 - 0.5 * (theta2 - theta1).powi(2) - sg_for!(phi1, log_q2)
}

/// The body of `objective` in two parts: everything but the blocked term,
/// and the blocked term.
fn objective_parts(phi1: [f64; 2], phi2: [f64; 2], eps: [f64; 2]) -> (f64, f64) {
    let theta1 = phi1[0] + phi1[1].exp() * eps[0];
    let theta2 = theta1 * phi2[0] + phi2[1].exp() * eps[1];
    let log_q2 = -0.5 * ((theta2 - phi2[0]) / phi2[1].exp()).powi(2) - phi2[1];
    (
        -0.5 * theta1 * theta1 - 0.5 * (theta2 - theta1).powi(2),
        log_q2,
    )
}

const EPS: [f64; 2] = [0.7, -1.3];

fn split(v: &[f64]) -> ([f64; 2], [f64; 2]) {
    ([v[0], v[1]], [v[2], v[3]])
}

#[test]
fn sg_for_site_checked_against_its_frozen_program() {
    let (phi1, phi2) = ([0.2, -0.4], [0.9, 0.1]);
    let (value, (g1, g2)) = objective_grad(phi1, phi2, EPS);
    let point = [phi1, phi2].concat();
    let grad = [g1, g2].concat();
    let check = GradCheck::new()
        .variable("phi1", 2)
        .variable("phi2", 2)
        .per_component(true);

    // P_phi1: the blocked term frozen at its value at the base point.
    let (rest, blocked) = objective_parts(phi1, phi2, EPS);
    assert_eq!(value, rest - blocked);
    let p_phi1 = |v: &[f64]| {
        let (a, b) = split(v);
        objective_parts(a, b, EPS).0 - blocked
    };
    // P_phi2: nothing blocks phi2; the function as written.
    let p_phi2 = |v: &[f64]| {
        let (a, b) = split(v);
        objective(a, b, EPS)
    };

    let report = check.clone().only("phi1").run(p_phi1, &point, &grad);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.checked, 2);
    let report = check.clone().only("phi2").run(p_phi2, &point, &grad);
    assert!(report.is_ok(), "{report}");

    // The unfrozen program differs for phi1, in both of its components (the
    // blocked term reaches phi1[0] and phi1[1] through theta1), and the
    // report blames phi1 only.
    let report = check.run(p_phi2, &point, &grad);
    assert!(!report.is_ok());
    let bad: Vec<(Option<&str>, usize)> = report
        .mismatches()
        .map(|c| (c.variable.as_deref(), c.component))
        .collect();
    assert_eq!(bad, [(Some("phi1"), 0), (Some("phi1"), 1)], "{report}");
    assert!(report
        .to_string()
        .contains("variable `phi1`, component 1: gradient"));
    let report = check.clone().only("phi1").run(p_phi2, &point, &grad);
    assert!(!report.is_ok(), "{report}");

    // And the frozen program of phi1 is the wrong program for phi2.
    let report = check.clone().only("phi2").run(p_phi1, &point, &grad);
    let bad: Vec<&str> = report
        .mismatches()
        .filter_map(|c| c.variable.as_deref())
        .collect();
    assert!(
        !bad.is_empty() && bad.iter().all(|&v| v == "phi2"),
        "{report}"
    );
}

#[test]
fn sg_is_frozen_for_every_variable() {
    #[differentiable(x, y)]
    fn f(x: f64, y: f64) -> f64 {
        let r = (x * x + y * y).sqrt();
        x * y / sg(r)
    }
    let (x0, y0) = (1.2, -0.7);
    let (_, (dx, dy)) = f_grad(x0, y0);
    let r0 = (x0 * x0 + y0 * y0).sqrt();
    let frozen = |v: &[f64]| v[0] * v[1] / r0;
    // One program for both variables: check them together.
    assert!(check_gradient(frozen, &[x0, y0], &[dx, dy]).is_ok());
    let report = check_gradient(|v| f(v[0], v[1]), &[x0, y0], &[dx, dy]);
    assert!(!report.is_ok());
    assert_eq!(report.mismatches().count(), 2, "{report}");
}
