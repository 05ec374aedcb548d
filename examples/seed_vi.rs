//! The seed's example: a variational objective with per-variable
//! stop-gradients, differentiated at compile time by sgrad.
//!
//! Run it with `cargo run --release --example seed_vi`.
//! Besides the text it writes a PNG of the ELBO during both ascents and of
//! the two gradient estimators' spread, to `target/seed_vi.png` or to the
//! path given as the first argument (the README's copy is `docs/seed_vi.png`:
//! `cargo run --release --example seed_vi -- docs/seed_vi.png`).
//!
//! # The model
//!
//! Two scalar latents and two observations with known noise σ:
//!
//! ```text
//! θ₁ ~ N(0, 1)          θ₂ | θ₁ ~ N(θ₁, 1)              (prior π)
//! y₁ | θ₁ ~ N(θ₁, σ²)   y₂ | θ₁, θ₂ ~ N(θ₁ + θ₂, σ²)    (likelihood f)
//! ```
//!
//! The variational family is reparameterised with ε ~ N(0, I) and a scale
//! s = exp(ρ), so that the parameters φ₁ = (μ₁, ρ₁), φ₂ = (μ₂, ρ₂) are
//! unconstrained:
//!
//! ```text
//! θ₁ = g(ε₁, φ₁)     = μ₁ + s₁ ε₁        q₁(θ₁; φ₁)      = N(θ₁; μ₁, s₁²)
//! θ₂ = g(θ₁, ε₂, φ₂) = θ₁ + μ₂ + s₂ ε₂   q₂(θ₂ | θ₁; φ₂) = N(θ₂; θ₁ + μ₂, s₂²)
//! ```
//!
//! One Monte-Carlo sample of the seed's objective is
//!
//! ```text
//! 𝒦(φ₁, φ₂) = log π(θ₁, θ₂) + log f(y₁ | θ₁) + ⊥_φ₁[ log f(y₂ | θ₁, θ₂) ]
//!             − log q₁(θ₁; φ₁) − ⊥_φ₁[ log q₂(θ₂ | θ₁; φ₂) ]
//! ```
//!
//! Its value is the ordinary one-sample ELBO. Its gradient for φ₁ treats the
//! two bracketed terms as constants, along every path, including the paths
//! through θ₁ and θ₂; its gradient for φ₂ is the ordinary one. In Rust,
//! ⊥_φ₁[e] is `sg_for!([mu1, rho1], e)`.

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use sgrad::{differentiable, sg_for};

/// Observation noise σ, and its logarithm.
const SIGMA: f64 = 0.5;
const LN_SIGMA: f64 = -std::f64::consts::LN_2;
/// ½ ln(2π), the constant in every Gaussian log-density.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// One sample of 𝒦: the ELBO with the seed's ⊥_φ₁ annotations.
///
/// The body is straight-line scalar code, as sgrad requires for code that
/// carries a derivative (each log-density is written out in place).
// `latex`: also `elbo_latex()`, this function as mathematics, in the
// notation stated here (φ₁ = (μ₁, ρ₁), names for the five terms, 𝒦, E[..]).
#[differentiable(mu1, rho1, mu2, rho2; latex(
    elbo = r"\mathcal{K}", expectation, phi1 = [mu1, rho1], phi2 = [mu2, rho2],
    log_prior = r"\log \pi(\theta_1, \theta_2)", log_f1 = r"\log f(y_1 \mid \theta_1)",
    log_f2 = r"\log f(y_2 \mid \theta_1, \theta_2)", log_q1 = r"\log q_1(\theta_1; \varphi_1)",
    log_q2 = r"\log q_2(\theta_2 \mid \theta_1; \varphi_2)",
    HALF_LN_2PI = r"\tfrac{1}{2} \ln 2\pi", LN_SIGMA = r"\ln \sigma",
))]
#[allow(clippy::too_many_arguments)]
fn elbo(mu1: f64, rho1: f64, mu2: f64, rho2: f64, eps1: f64, eps2: f64, y1: f64, y2: f64) -> f64 {
    // Reparameterised sample θ ~ q(θ; φ).
    let s1 = rho1.exp();
    let s2 = rho2.exp();
    let theta1 = mu1 + s1 * eps1;
    let theta2 = theta1 + mu2 + s2 * eps2;

    // log π(θ₁, θ₂) = log N(θ₁; 0, 1) + log N(θ₂; θ₁, 1)
    let d = theta2 - theta1;
    let log_prior = -2.0 * HALF_LN_2PI - 0.5 * theta1 * theta1 - 0.5 * d * d;
    // log f(y₁ | θ₁) = log N(y₁; θ₁, σ²)
    let r1 = (y1 - theta1) / SIGMA;
    let log_f1 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r1 * r1;
    // log f(y₂ | θ₁, θ₂) = log N(y₂; θ₁ + θ₂, σ²)
    let r2 = (y2 - theta1 - theta2) / SIGMA;
    let log_f2 = -HALF_LN_2PI - LN_SIGMA - 0.5 * r2 * r2;
    // log q₁(θ₁; φ₁) = log N(θ₁; μ₁, s₁²)   (ln s₁ = ρ₁)
    let z1 = (theta1 - mu1) / s1;
    let log_q1 = -HALF_LN_2PI - rho1 - 0.5 * z1 * z1;
    // log q₂(θ₂ | θ₁; φ₂) = log N(θ₂; θ₁ + μ₂, s₂²)
    let z2 = (theta2 - theta1 - mu2) / s2;
    let log_q2 = -HALF_LN_2PI - rho2 - 0.5 * z2 * z2;

    // `log_f2` and `log_q2` were computed outside the brackets: the cut
    // follows data flow, so every path from μ₁, ρ₁ into them is blocked.
    log_prior + log_f1 + sg_for!([mu1, rho1], log_f2) - log_q1 - sg_for!([mu1, rho1], log_q2)
}

/// The same ELBO sample without annotations: the ordinary reparameterisation
/// gradient. Same value as `elbo`, different gradient for φ₁.
#[differentiable(mu1, rho1, mu2, rho2)]
#[allow(clippy::too_many_arguments)]
fn elbo_plain(
    mu1: f64,
    rho1: f64,
    mu2: f64,
    rho2: f64,
    eps1: f64,
    eps2: f64,
    y1: f64,
    y2: f64,
) -> f64 {
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
    log_prior + log_f1 + log_f2 - log_q1 - log_q2
}

/// The two terms under ⊥_φ₁, log f(y₂ | θ₁, θ₂) − log q₂(θ₂ | θ₁; φ₂), as plain
/// code. Only the finite-difference check uses it.
fn blocked_terms(phi: [f64; 4], eps: [f64; 2], y: [f64; 2]) -> f64 {
    let [mu1, rho1, mu2, rho2] = phi;
    let theta1 = mu1 + rho1.exp() * eps[0];
    let theta2 = theta1 + mu2 + rho2.exp() * eps[1];
    let r2 = (y[1] - theta1 - theta2) / SIGMA;
    let z2 = (theta2 - theta1 - mu2) / rho2.exp();
    (-HALF_LN_2PI - LN_SIGMA - 0.5 * r2 * r2) - (-HALF_LN_2PI - rho2 - 0.5 * z2 * z2)
}

/// The signature shared by `elbo_grad` and `elbo_plain_grad`.
type GradFn = fn(f64, f64, f64, f64, f64, f64, f64, f64) -> (f64, (f64, f64, f64, f64));

/// Calls a generated gradient with arrays: `(value, [d/dμ₁, d/dρ₁, d/dμ₂, d/dρ₂])`.
fn value_and_grad(f: GradFn, phi: [f64; 4], eps: [f64; 2], y: [f64; 2]) -> (f64, [f64; 4]) {
    let (v, (a, b, c, d)) = f(phi[0], phi[1], phi[2], phi[3], eps[0], eps[1], y[0], y[1]);
    (v, [a, b, c, d])
}

fn elbo_at(phi: [f64; 4], eps: [f64; 2], y: [f64; 2]) -> f64 {
    elbo(phi[0], phi[1], phi[2], phi[3], eps[0], eps[1], y[0], y[1])
}

/// One draw of ε ~ N(0, I₂).
fn draw_eps(rng: &mut StdRng) -> [f64; 2] {
    [rng.sample(StandardNormal), rng.sample(StandardNormal)]
}

/// log p(y): y ~ N(0, Σ) with Σ = [[1 + σ², 2], [2, 5 + σ²]] (θ integrated out).
/// Every ELBO is at most this.
fn log_evidence(y: [f64; 2]) -> f64 {
    let (a, b, c) = (1.0 + SIGMA * SIGMA, 2.0, 5.0 + SIGMA * SIGMA);
    let det = a * c - b * b;
    let quad = (c * y[0] * y[0] - 2.0 * b * y[0] * y[1] + a * y[1] * y[1]) / det;
    -2.0 * HALF_LN_2PI - 0.5 * det.ln() - 0.5 * quad
}

/// Monte-Carlo estimate of the ELBO (the value of 𝒦) at φ.
fn elbo_estimate(phi: [f64; 4], y: [f64; 2], rng: &mut StdRng, samples: usize) -> f64 {
    (0..samples)
        .map(|_| elbo_at(phi, draw_eps(rng), y))
        .sum::<f64>()
        / samples as f64
}

const NAMES: [&str; 4] = ["μ₁", "ρ₁", "μ₂", "ρ₂"];

/// Where the plot goes: the first command-line argument, or `seed_vi.png`
/// in Cargo's target directory (this program is
/// `<target>/<profile>/examples/seed_vi`).
fn plot_path() -> PathBuf {
    if let Some(arg) = std::env::args_os().nth(1) {
        return arg.into();
    }
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()));
    target.unwrap_or_default().join("seed_vi.png")
}

/// Draws the ELBO during the two ascents (left) and the spread of the two
/// gradient estimators at φ = 0 (right) into a PNG at `path`.
///
/// `curves` holds (step, ELBO with ⊥_φ₁, ELBO without); `spread` the mean
/// and standard deviation of one sample's gradient, per component, with
/// ⊥_φ₁ and then without.
fn write_plot(
    path: &Path,
    curves: &[(usize, f64, f64)],
    spread: &[([f64; 4], [f64; 4]); 2],
    log_py: f64,
) -> Result<(), Box<dyn Error>> {
    // plotters draws text with ab_glyph from font bytes registered here
    // (DejaVu Sans, bundled by the `dejavu` crate): no system font library.
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "plotters could not read the DejaVu Sans font")?;
    let font = |size: u32| ("sans-serif", size).into_font();
    let colours = [RGBColor(0, 90, 181), RGBColor(214, 60, 30)];
    let labels = ["with ⊥_φ₁", "without ⊥_φ₁ (ordinary gradient)"];

    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(760);

    // Left: the ELBO at the steps of `curves` from step 1 on, steps on a
    // log scale (at step 0 both runs are at φ = 0).
    let shown: Vec<_> = curves.iter().filter(|c| c.0 >= 1).collect();
    let last = shown.last().map_or(1.0, |c| c.0 as f64);
    let lowest = shown.iter().map(|c| c.1.min(c.2)).fold(log_py, f64::min);
    let mut chart = ChartBuilder::on(&left)
        .caption("ELBO during stochastic gradient ascent", font(24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(64)
        .build_cartesian_2d((1.0..last).log_scale(), (lowest - 0.3)..(log_py + 0.5))?;
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|x: &f64| format!("{x:.0}"))
        .y_desc("ELBO (mean of 20 000 samples)")
        .label_style(font(16))
        .axis_desc_style(font(18))
        .draw()?;
    for (run, (colour, label)) in colours.into_iter().zip(labels).enumerate() {
        let points = shown
            .iter()
            .map(|c| (c.0 as f64, if run == 0 { c.1 } else { c.2 }));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(3)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(3)));
    }
    let bound = [(1.0, log_py), (last, log_py)];
    chart
        .draw_series(DashedLineSeries::new(bound, 10, 6, BLACK.stroke_width(1)))?
        .label("log p(y), dashed: no ELBO is higher")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], BLACK.stroke_width(1)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(font(17))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .draw()?;

    // Right: mean ± one standard deviation of one sample's gradient.
    let ends = spread
        .iter()
        .flat_map(|(m, sd)| (0..4).flat_map(move |k| [m[k] - sd[k], m[k] + sd[k]]));
    let (lo, hi) = ends.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = 0.12 * (hi - lo);
    let mut chart = ChartBuilder::on(&right)
        .caption("one sample's gradient at φ = 0: mean ± 1 sd", font(24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5..3.5, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(5) // at 0, 1, 2, 3: one per component
        .x_label_formatter(&|x: &f64| NAMES[x.round().clamp(0.0, 3.0) as usize].to_string())
        .x_desc("component of φ (numbers: the standard deviation)")
        .y_label_formatter(&|y: &f64| format!("{y:.0}"))
        .y_desc("∂ ELBO sample / ∂ component")
        .label_style(font(16))
        .axis_desc_style(font(18))
        .draw()?;
    chart.draw_series(LineSeries::new([(-0.5, 0.0), (3.5, 0.0)], BLACK.mix(0.3)))?;
    for (((means, sds), colour), (label, offset)) in spread
        .iter()
        .zip(colours)
        .zip(labels.into_iter().zip([-0.14, 0.14]))
    {
        let at = |k: usize| k as f64 + offset;
        chart
            .draw_series((0..4).map(|k| {
                let (m, sd) = (means[k], sds[k]);
                ErrorBar::new_vertical(at(k), m - sd, m, m + sd, colour.stroke_width(3), 16)
            }))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(3)));
        let above = font(15)
            .color(&colour)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series((0..4).map(|k| {
            let top = (at(k), means[k] + sds[k] + 0.01 * (hi - lo));
            Text::new(format!("{:.1}", sds[k]), top, above.clone())
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(font(17))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() {
    // Seeded, so every run prints the same numbers.
    let mut rng = StdRng::seed_from_u64(0x5eed_c0ff_ee00_1234);

    // Synthetic data: draw θ from the prior, then y from the likelihood.
    let [n1, n2, n3, n4]: [f64; 4] = std::array::from_fn(|_| rng.sample(StandardNormal));
    let theta1 = n1; // θ₁ ~ N(0, 1)
    let theta2 = theta1 + n2; // θ₂ | θ₁ ~ N(θ₁, 1)
    let y = [theta1 + SIGMA * n3, theta1 + theta2 + SIGMA * n4];
    println!(
        "data: θ = ({theta1:.3}, {theta2:.3}), y = ({:.3}, {:.3}), σ = {SIGMA}",
        y[0], y[1]
    );
    println!(
        "log p(y) = {:.4} (the best any ELBO can do)\n",
        log_evidence(y)
    );

    // 1. Gradients with and without ⊥_φ₁, averaged over many ε.
    let phi0 = [0.0, 0.0, 0.0, 0.0];
    let n = 200_000;
    println!("mean gradient over {n} samples of ε at φ = {phi0:?} (± standard error):");
    println!(
        "{:>12}{:>20}{:>20}{:>20}{:>20}",
        "", NAMES[0], NAMES[1], NAMES[2], NAMES[3]
    );
    // Per row: the mean and the standard deviation of one sample's gradient.
    let mut spread = [([0.0; 4], [0.0; 4]); 2];
    for ((label, f), (means, sds)) in [
        ("with ⊥_φ₁", elbo_grad as GradFn),
        ("without", elbo_plain_grad),
    ]
    .into_iter()
    .zip(&mut spread)
    {
        let mut rng = StdRng::seed_from_u64(42); // the same ε for both rows
        let (mut sum, mut sum_sq) = ([0.0; 4], [0.0; 4]);
        for _ in 0..n {
            let (_, g) = value_and_grad(f, phi0, draw_eps(&mut rng), y);
            for k in 0..4 {
                sum[k] += g[k];
                sum_sq[k] += g[k] * g[k];
            }
        }
        print!("{label:>12}");
        for k in 0..4 {
            let mean = sum[k] / n as f64;
            let sd = (sum_sq[k] / n as f64 - mean * mean).sqrt();
            let se = sd / (n as f64).sqrt();
            print!("{:>20}", format!("{mean:+.4} ± {se:.4}"));
            (means[k], sds[k]) = (mean, sd);
        }
        println!();
    }
    println!("(φ₂ columns agree: ⊥_φ₁ does not cut φ₂. The φ₁ columns differ by the y₂ term.)");
    println!("standard deviation of one sample's gradient (the estimator's spread):");
    for (label, (_, sds)) in ["with ⊥_φ₁", "without"].iter().zip(&spread) {
        print!("{label:>12}");
        for sd in sds {
            print!("{sd:>20.3}");
        }
        println!();
    }
    println!();

    // 2. Check one gradient against central finite differences of the frozen
    //    program P_k: for μ₁ and ρ₁ the bracketed terms are constants equal to
    //    their value at the base point; for μ₂ and ρ₂ nothing is frozen.
    let phi = [0.3, -0.4, 0.8, -0.2];
    let eps = [0.7, -1.3];
    let frozen = blocked_terms(phi, eps, y);
    let program = |k: usize, p: [f64; 4]| {
        if k < 2 {
            elbo_at(p, eps, y) - blocked_terms(p, eps, y) + frozen
        } else {
            elbo_at(p, eps, y)
        }
    };
    let (value, grad) = value_and_grad(elbo_grad, phi, eps, y);
    // Annotations never change values: all three agree bit for bit.
    assert_eq!(value, elbo_at(phi, eps, y));
    assert_eq!(
        value,
        elbo_plain(phi[0], phi[1], phi[2], phi[3], eps[0], eps[1], y[0], y[1])
    );
    let h = 1e-5;
    let mut max_err: f64 = 0.0;
    for k in 0..4 {
        let (mut up, mut down) = (phi, phi);
        up[k] += h;
        down[k] -= h;
        let fd = (program(k, up) - program(k, down)) / (2.0 * h);
        max_err = max_err.max((fd - grad[k]).abs());
    }
    println!("finite differences of the frozen program at φ = {phi:?}, ε = {eps:?}:");
    println!("  sgrad gradient {grad:.6?}, max |error| = {max_err:.1e}\n");
    assert!(
        max_err < 1e-6,
        "gradient disagrees with finite differences: {max_err:e}"
    );

    // 3. Stochastic gradient ascent on φ with the gradient of 𝒦, and, for
    //    comparison, with the ordinary gradient, on the same ε.
    let mut phis = [phi0, phi0];
    let fns: [GradFn; 2] = [elbo_grad, elbo_plain_grad];
    let (steps, batch) = (2_000, 8);
    println!("stochastic gradient ascent ({steps} steps, {batch} samples each); ELBO estimates:");
    println!("{:>6}{:>14}{:>14}", "step", "grad of 𝒦", "plain grad");
    // The table prints a few steps; the plot has about 60 more, evenly
    // spaced on a log scale.
    let table = [0, 5, 10, 25, 50, 100, 250, 500, 1000, 2000];
    let mut plotted: Vec<usize> = (0..=60)
        .map(|k| (steps as f64).powf(f64::from(k) / 60.0).round() as usize)
        .chain(table)
        .collect();
    plotted.sort_unstable();
    plotted.dedup();
    // (step, ELBO with ⊥_φ₁, ELBO without), for the plot.
    let mut curves: Vec<(usize, f64, f64)> = Vec::new();
    for step in 0..=steps {
        if plotted.binary_search(&step).is_ok() {
            let mut eval_rng = StdRng::seed_from_u64(7); // common random numbers for the two columns
            let a = elbo_estimate(phis[0], y, &mut eval_rng, 20_000);
            let mut eval_rng = StdRng::seed_from_u64(7);
            let b = elbo_estimate(phis[1], y, &mut eval_rng, 20_000);
            if table.contains(&step) {
                println!("{step:>6}{a:>14.4}{b:>14.4}");
            }
            curves.push((step, a, b));
        }
        if step == steps {
            break;
        }
        let lr = 0.05 / (1.0 + step as f64 / 100.0);
        let batch_eps: Vec<[f64; 2]> = (0..batch).map(|_| draw_eps(&mut rng)).collect();
        for (phi, f) in phis.iter_mut().zip(fns) {
            let mut g = [0.0; 4];
            for &e in &batch_eps {
                let (_, gi) = value_and_grad(f, *phi, e, y);
                for k in 0..4 {
                    g[k] += gi[k] / batch as f64;
                }
            }
            for k in 0..4 {
                phi[k] += lr * g[k];
            }
        }
    }
    for (label, p) in [("grad of 𝒦", phis[0]), ("plain grad", phis[1])] {
        println!(
            "{label:>10}: μ₁ = {:+.3}, s₁ = {:.3}, μ₂ = {:+.3}, s₂ = {:.3}",
            p[0],
            p[1].exp(),
            p[2],
            p[3].exp()
        );
    }
    // 𝒦's gradient for φ₁ sees only the prior, y₁ and q₁: q₁ is pulled to p(θ₁ | y₁).
    let precision = 1.0 + 1.0 / (SIGMA * SIGMA);
    println!(
        "(𝒦's gradient for φ₁ ignores y₂: q₁ goes to p(θ₁ | y₁) = N({:+.3}, {:.3}²), not to the ELBO's optimum.)",
        y[0] / (SIGMA * SIGMA) / precision,
        precision.sqrt().recip()
    );

    // 4. The same numbers as a picture.
    let path = plot_path();
    match write_plot(&path, &curves, &spread, log_evidence(y)) {
        Ok(()) => println!(
            "\nplot of the ELBO curves and the gradients' spread: {}",
            path.display()
        ),
        Err(e) => {
            eprintln!("could not write the plot to {}: {e}", path.display());
            std::process::exit(1);
        }
    }

    // 5. The objective as mathematics, rendered back from the code above.
    println!("\nelbo_latex():\n{}", elbo_latex());
    assert!(elbo_latex().contains(r"\bot_{\varphi_1}[\log f(y_2 \mid \theta_1, \theta_2)]"));
}
