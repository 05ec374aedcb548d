//! Gradient checks: a gradient compared with central differences of the
//! function, as JAX's `check_grads` and PyTorch's `gradcheck` do.
//!
//! [`check_gradient`] takes the function as a closure over one flat slice of
//! the differentiation variables' components, the point, and the gradient
//! sgrad computed there (flattened the same way). It returns a
//! [`GradReport`] whose `Display` says what disagrees; [`assert_gradient`]
//! panics with that message. [`GradCheck`] sets the options: the variables'
//! names and lengths (so that a report says "variable `phi1`, component 3"),
//! which components to check, the step, the tolerance, the number of
//! directions and the seed.
//!
//! ```
//! use sgrad::{check_gradient, differentiable};
//!
//! #[differentiable(x)]
//! fn f(x: [f64; 3]) -> f64 {
//!     x[0] * x[1].sin() + x[2] * x[2]
//! }
//!
//! let x = [0.5, 1.0, -2.0];
//! let (_, g) = f_grad(x);
//! let report = check_gradient(|v| f([v[0], v[1], v[2]]), &x, &g);
//! assert!(report.is_ok(), "{report}");
//! ```
//!
//! # What is compared
//!
//! Let `g` be the gradient passed in and `f` the closure.
//!
//! 1. **Random directions.** For each of a few unit directions `v`, drawn
//!    from a seeded generator (Gaussian components, normalised) over the
//!    checked components, `g · v` is compared with the central difference
//!    `(f(x + h v) − f(x − h v)) / 2h`. Components outside the checked set
//!    are never moved.
//! 2. **Components, to locate an error.** When some direction disagrees (or
//!    always, with [`GradCheck::per_component`]), each checked component
//!    `gᵢ` is compared with the central difference along the unit vector
//!    `eᵢ`, and the report lists the components that disagree, by variable
//!    and component.
//!
//! The step is `h = 1e-6 · max(1, |x|∞)` along a unit direction (`|x|∞` over
//! the checked components; `max(1, |xᵢ|)` for component `i`);
//! [`GradCheck::step`] changes the factor. A comparison passes when
//!
//! ```text
//! |gradient − difference| ≤ rel · scale + abs + noise
//! ```
//!
//! where `scale` is the larger of `|difference|` and `Σ |gᵢ vᵢ|` (so a
//! direction never fails when every component passes, even if the terms of
//! `g · v` cancel), `noise = 16 ε (|f(x + h v)| + |f(x − h v)|) / 2h` is the
//! rounding error of the difference, and `rel = 1e-6`, `abs = 0` by default
//! ([`GradCheck::tolerance`]). The value of `f` is not compared with the
//! value `_grad` returns: sgrad guarantees they are bit for bit the same.
//!
//! # `sg` and `sg_for!`: check against the frozen program
//!
//! Central differences of the function as written see the program with no
//! gradient stops: `sg(e)` and `sg_for!(.., e)` are `e` on values. The
//! gradient with respect to a variable `xₖ` is, by the contract in
//! `SEMANTICS.md`, the derivative of the *frozen program* `Pₖ`: the function
//! with every `sg(e)`, and every `sg_for!(S, e)` whose set `S` contains `xₖ`,
//! replaced by the value `e` has at the base point. So for a function with
//! such sites, pass `Pₖ` as the closure and check only `xₖ`'s components
//! ([`GradCheck::only`]); variables blocked at the same sites share a
//! program and can be checked together. The helper compares the gradient
//! with differences of whatever closure it is given; it does not know about
//! the sites.
//!
//! For `f(x, y) = sg_for!(x, x * y) + x * y` the site blocks `x` only:
//! `P_x(x, y) = c + x y` with the constant `c = x₀ y₀`, so `∂f/∂x = y`; `P_y`
//! is `f` itself, so `∂f/∂y = 2x`.
//!
//! ```
//! use sgrad::{differentiable, sg_for, GradCheck};
//!
//! #[differentiable(x, y)]
//! fn f(x: f64, y: f64) -> f64 {
//!     sg_for!(x, x * y) + x * y
//! }
//!
//! let (x0, y0) = (1.5, -0.5);
//! let (_, (dx, dy)) = f_grad(x0, y0);
//! let (point, grad) = ([x0, y0], [dx, dy]);
//! let check = GradCheck::new().variable("x", 1).variable("y", 1);
//!
//! // x: the site is frozen at its value at the base point.
//! let c = x0 * y0;
//! check.clone().only("x").assert(|v| c + v[0] * v[1], &point, &grad);
//! // y: nothing blocks y, so P_y is f.
//! check.clone().only("y").assert(|v| f(v[0], v[1]), &point, &grad);
//!
//! // Against f itself the x part disagrees (dx = y₀, but ∂f/∂x = 2 y₀ with
//! // no stop), and the report says so.
//! let report = check.run(|v| f(v[0], v[1]), &point, &grad);
//! assert!(!report.is_ok());
//! assert!(report.to_string().contains("variable `x`: gradient -0.5"));
//! ```
//!
//! # A failing check
//!
//! ```
//! use sgrad::{differentiable, GradCheck};
//!
//! #[differentiable(w, b)]
//! fn loss(w: [f64; 4], b: f64) -> f64 {
//!     let mut s = b * b;
//!     for i in 0..4 {
//!         s += (w[i] * (i as f64) - b).powi(2);
//!     }
//!     s
//! }
//!
//! let (w, b) = ([0.1, -0.2, 0.3, 0.4], 0.5);
//! let (_, (gw, gb)) = loss_grad(w, b);
//! let mut grad = [&gw[..], &[gb]].concat(); // flat, in the order of the variables
//! grad[3] += 1e-3;                           // a wrong component, for the example
//!
//! let report = GradCheck::new()
//!     .variable("w", 4)
//!     .variable("b", 1)
//!     .run(|v| loss([v[0], v[1], v[2], v[3]], v[4]), &[&w[..], &[b]].concat(), &grad);
//! assert!(!report.is_ok());
//! let message = report.to_string();
//! assert!(message.contains("variable `w`, component 3"), "{message}");
//! assert!(!message.contains("variable `b`"), "{message}");
//! assert_eq!(report.mismatches().count(), 1);
//! ```

use core::fmt;
use core::ops::Range;

/// The relative step: `h = STEP · max(1, |x|∞)` along a unit direction.
const STEP: f64 = 1e-6;
/// The relative tolerance.
const REL: f64 = 1e-6;
/// The number of random directions.
const DIRECTIONS: usize = 4;
/// The seed of the random directions.
const SEED: u64 = 0x5EED_C4EC_6AAD_0001;
/// How many units of rounding the central difference's noise allows for.
const NOISE_ULPS: f64 = 16.0;
/// How many disagreeing components a report prints.
const SHOWN: usize = 10;

/// Compares `grad`, the gradient of `f` at `x`, with central differences of
/// `f` in a few seeded random directions, and component by component where
/// they disagree; the default options of [`GradCheck`].
///
/// `f` takes every component of the differentiation variables in one flat
/// slice; `x` and `grad` are flat in the same order. For a function with
/// `sg` or `sg_for!` sites, `f` must be the frozen program of the variables
/// checked (see [the module docs](crate::check)).
///
/// ```
/// use sgrad::{check_gradient, differentiable};
///
/// #[differentiable(x)]
/// fn f(x: &[f64]) -> f64 {
///     x[0].exp() * x[1]
/// }
///
/// let x = [0.3, 2.0];
/// let (_, g) = f_grad(&x);
/// assert!(check_gradient(f, &x, &g).is_ok());
/// let wrong = [g[0], g[1] + 0.5];
/// assert!(check_gradient(f, &x, &wrong).to_string().contains("component 1"));
/// ```
///
/// # Panics
///
/// If `grad` and `x` have different lengths.
pub fn check_gradient<F: Fn(&[f64]) -> f64>(f: F, x: &[f64], grad: &[f64]) -> GradReport {
    GradCheck::new().run(f, x, grad)
}

/// [`check_gradient`], panicking with the report's message if the check
/// fails.
///
/// ```
/// use sgrad::{assert_gradient, grad};
///
/// let g = grad!(|x: f64, y: f64| x * x * y);
/// let (_, (dx, dy)) = g(3.0, 2.0);
/// assert_gradient(|v| v[0] * v[0] * v[1], &[3.0, 2.0], &[dx, dy]);
/// ```
///
/// ```should_panic
/// sgrad::assert_gradient(|v| v[0] * v[0], &[3.0], &[5.0]); // d/dx is 6
/// ```
#[track_caller]
pub fn assert_gradient<F: Fn(&[f64]) -> f64>(f: F, x: &[f64], grad: &[f64]) {
    GradCheck::new().assert(f, x, grad);
}

/// The options of a gradient check, builder style; [`run`](GradCheck::run)
/// or [`assert`](GradCheck::assert) performs it.
///
/// The defaults: every component checked, 4 random directions from a fixed
/// seed, a relative step of `1e-6`, tolerance `rel = 1e-6`, `abs = 0` (plus
/// the difference's rounding noise), components compared only when a
/// direction disagrees. What each comparison is: [the module docs](crate::check).
///
/// ```
/// use sgrad::{differentiable, GradCheck};
///
/// #[differentiable(mu, log_sigma)]
/// fn log_q(mu: [f64; 2], log_sigma: [f64; 2], z: [f64; 2]) -> f64 {
///     let mut s = 0.0;
///     for i in 0..2 {
///         let r = (z[i] - mu[i]) / log_sigma[i].exp();
///         s += -0.5 * r * r - log_sigma[i];
///     }
///     s
/// }
///
/// let (mu, ls, z) = ([0.1, -0.3], [0.2, -0.1], [1.0, 0.5]);
/// let (_, (g_mu, g_ls)) = log_q_grad(mu, ls, z);
/// let check = GradCheck::new()
///     .variable("mu", 2)
///     .variable("log_sigma", 2)
///     .directions(8)
///     .seed(7)
///     .tolerance(1e-7, 1e-12);
/// let report = check.assert(
///     |v| log_q([v[0], v[1]], [v[2], v[3]], z),
///     &[mu, ls].concat(),
///     &[g_mu, g_ls].concat(),
/// );
/// println!("{report}"); // gradient check passed: 8 random directions over 4 components; ..
/// ```
#[derive(Clone, Debug)]
pub struct GradCheck {
    variables: Vec<(String, usize)>,
    only: Vec<Only>,
    step: f64,
    rel: f64,
    abs: f64,
    directions: usize,
    seed: u64,
    per_component: bool,
}

/// A part of the point to check.
#[derive(Clone, Debug)]
enum Only {
    Variable(String),
    Components(Range<usize>),
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck::new()
    }
}

impl GradCheck {
    /// The default options.
    pub fn new() -> Self {
        GradCheck {
            variables: Vec::new(),
            only: Vec::new(),
            step: STEP,
            rel: REL,
            abs: 0.0,
            directions: DIRECTIONS,
            seed: SEED,
            per_component: false,
        }
    }

    /// Names the next `len` components of the point: call it once per
    /// differentiation variable, in order (`len` is 1 for a scalar). Once
    /// any variable is named, the lengths must add up to the length of the
    /// point.
    pub fn variable(mut self, name: impl Into<String>, len: usize) -> Self {
        self.variables.push((name.into(), len));
        self
    }

    /// Checks only the components of the variable `name` (named with
    /// [`variable`](GradCheck::variable)); the other components stay at the
    /// point. Called again, it adds a variable. Use it to check each
    /// variable against its own frozen program.
    pub fn only(mut self, name: impl Into<String>) -> Self {
        self.only.push(Only::Variable(name.into()));
        self
    }

    /// Checks only the components with flat indices in `range`; the other
    /// components stay at the point. Called again (or with
    /// [`only`](GradCheck::only)), it adds components.
    pub fn components(mut self, range: Range<usize>) -> Self {
        self.only.push(Only::Components(range));
        self
    }

    /// The relative step: `h = relative · max(1, |x|∞)` along a unit
    /// direction. `1e-6` by default; larger when `f` is noisy, smaller when
    /// it is strongly curved on the scale of the step.
    pub fn step(mut self, relative: f64) -> Self {
        self.step = relative;
        self
    }

    /// A comparison passes when
    /// `|gradient − difference| ≤ rel · scale + abs + noise` (see [the
    /// module docs](crate::check)). `rel = 1e-6` and `abs = 0` by default; a
    /// gradient computed in `f32` needs a looser tolerance (`1e-3`, say).
    pub fn tolerance(mut self, rel: f64, abs: f64) -> Self {
        self.rel = rel;
        self.abs = abs;
        self
    }

    /// The number of random directions, 4 by default. With 0, every
    /// component is compared instead.
    pub fn directions(mut self, n: usize) -> Self {
        self.directions = n;
        self
    }

    /// The seed of the random directions: the same seed gives the same
    /// directions, run after run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Compares every checked component even when the random directions
    /// agree (two evaluations of `f` per component). Directions cannot see
    /// an error that is small next to the gradient's largest components;
    /// this can.
    pub fn per_component(mut self, yes: bool) -> Self {
        self.per_component = yes;
        self
    }

    /// Runs the check: `grad` against central differences of `f` at `x`
    /// (both flat, in the order of the variables).
    ///
    /// # Panics
    ///
    /// If `grad` and `x` have different lengths, if named variables do not
    /// add up to the length of `x`, if [`only`](GradCheck::only) names an
    /// unknown variable, or if a range given to
    /// [`components`](GradCheck::components) is out of bounds.
    pub fn run<F: Fn(&[f64]) -> f64>(&self, f: F, x: &[f64], grad: &[f64]) -> GradReport {
        self.run_dyn(&f, x, grad)
    }

    /// [`run`](GradCheck::run), panicking with the report's message if the
    /// check fails; returns the report otherwise (to print it).
    #[track_caller]
    pub fn assert<F: Fn(&[f64]) -> f64>(&self, f: F, x: &[f64], grad: &[f64]) -> GradReport {
        let report = self.run_dyn(&f, x, grad);
        if !report.is_ok() {
            panic!("{report}");
        }
        report
    }

    fn run_dyn(&self, f: &dyn Fn(&[f64]) -> f64, x: &[f64], grad: &[f64]) -> GradReport {
        assert_eq!(
            grad.len(),
            x.len(),
            "gradient check: the gradient has {} components but the point has {}",
            grad.len(),
            x.len()
        );
        let checked = self.checked(x.len());
        let mut scratch = x.to_vec();
        let mut report = GradReport {
            directions: Vec::new(),
            components: Vec::new(),
            checked: checked.len(),
        };
        if checked.is_empty() {
            return report;
        }

        let scale = checked.iter().fold(1.0f64, |m, &i| m.max(x[i].abs()));
        let h = self.step * scale;
        let mut rng = Rng::new(self.seed);
        let mut v = vec![0.0; x.len()];
        for _ in 0..self.directions {
            let mut norm = 0.0;
            for &i in &checked {
                v[i] = rng.normal();
                norm += v[i] * v[i];
            }
            let norm = norm.sqrt();
            for &i in &checked {
                v[i] /= norm;
            }
            let (derivative, terms) = checked.iter().fold((0.0, 0.0), |(d, t), &i| {
                (d + grad[i] * v[i], t + (grad[i] * v[i]).abs())
            });
            let (fd, noise) = central(f, x, &v, h, &mut scratch);
            report.directions.push(Comparison {
                gradient: derivative,
                finite_difference: fd,
                step: h,
                tolerance: self.rel * fd.abs().max(terms) + self.abs + noise,
            });
        }

        let any_failed = report.directions.iter().any(|c| !c.agrees());
        if any_failed || self.per_component || self.directions == 0 {
            v.iter_mut().for_each(|a| *a = 0.0);
            for &i in &checked {
                v[i] = 1.0;
                let h = self.step * x[i].abs().max(1.0);
                let (fd, noise) = central(f, x, &v, h, &mut scratch);
                v[i] = 0.0;
                let (variable, component, variable_len) = self.locate(i);
                report.components.push(ComponentCheck {
                    index: i,
                    variable,
                    component,
                    comparison: Comparison {
                        gradient: grad[i],
                        finite_difference: fd,
                        step: h,
                        tolerance: self.rel * fd.abs().max(grad[i].abs()) + self.abs + noise,
                    },
                    variable_len,
                });
            }
        }
        report
    }

    /// The flat indices to check, in increasing order.
    fn checked(&self, n: usize) -> Vec<usize> {
        let named: usize = self.variables.iter().map(|(_, len)| len).sum();
        assert!(
            self.variables.is_empty() || named == n,
            "gradient check: the variables' lengths add up to {named}, but the point has {n} components"
        );
        if self.only.is_empty() {
            return (0..n).collect();
        }
        let mut mask = vec![false; n];
        for only in &self.only {
            let range = match only {
                Only::Components(range) => {
                    assert!(
                        range.start <= range.end && range.end <= n,
                        "gradient check: components {range:?} out of bounds for a point of {n} components"
                    );
                    range.clone()
                }
                Only::Variable(name) => self.range_of(name),
            };
            mask[range].iter_mut().for_each(|m| *m = true);
        }
        (0..n).filter(|&i| mask[i]).collect()
    }

    /// The flat indices of the variable `name`.
    fn range_of(&self, name: &str) -> Range<usize> {
        let mut start = 0;
        for (v, len) in &self.variables {
            if v == name {
                return start..start + len;
            }
            start += len;
        }
        let known: Vec<String> = self
            .variables
            .iter()
            .map(|(v, _)| format!("`{v}`"))
            .collect();
        if known.is_empty() {
            panic!("gradient check: no variable is named `{name}`; name the variables with `.variable(name, len)` first");
        }
        panic!(
            "gradient check: no variable is named `{name}`; expected one of {}",
            known.join(", ")
        );
    }

    /// The variable holding flat index `i`, the index within it and its
    /// length (or none, `i` and 0 if no variable is named).
    fn locate(&self, i: usize) -> (Option<String>, usize, usize) {
        let mut start = 0;
        for (v, len) in &self.variables {
            if i < start + len {
                return (Some(v.clone()), i - start, *len);
            }
            start += len;
        }
        (None, i, 0)
    }
}

/// The central difference of `f` at `x` along `v` with step `h`, and its
/// rounding noise.
fn central(
    f: &dyn Fn(&[f64]) -> f64,
    x: &[f64],
    v: &[f64],
    h: f64,
    scratch: &mut [f64],
) -> (f64, f64) {
    for ((s, a), b) in scratch.iter_mut().zip(x).zip(v) {
        *s = a + h * b;
    }
    let plus = f(scratch);
    for ((s, a), b) in scratch.iter_mut().zip(x).zip(v) {
        *s = a - h * b;
    }
    let minus = f(scratch);
    let fd = (plus - minus) / (2.0 * h);
    let noise = NOISE_ULPS * f64::EPSILON * (plus.abs() + minus.abs()) / (2.0 * h);
    (fd, noise)
}

/// One comparison of the gradient with a central difference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// What the gradient gives: `g · v` along a direction, `gᵢ` for a
    /// component.
    pub gradient: f64,
    /// The central difference of the function along the same direction.
    pub finite_difference: f64,
    /// The step `h` of the difference.
    pub step: f64,
    /// The largest `|gradient − finite_difference|` accepted.
    pub tolerance: f64,
}

impl Comparison {
    /// `|gradient − finite_difference|`.
    pub fn error(&self) -> f64 {
        (self.gradient - self.finite_difference).abs()
    }

    /// Whether the error is within the tolerance (false if either number is
    /// NaN).
    pub fn agrees(&self) -> bool {
        self.error() <= self.tolerance
    }

    /// The error as a fraction of the tolerance (infinite for NaN).
    fn ratio(&self) -> f64 {
        let r = self.error() / self.tolerance;
        if r.is_nan() {
            f64::INFINITY
        } else {
            r
        }
    }
}

/// One component of the gradient compared with its central difference.
///
/// Its `Display` names it ("variable `w`, component 3", "variable `b`" for a
/// scalar, "component 7" when no variable is named) and gives both numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentCheck {
    /// Its index in the flat point.
    pub index: usize,
    /// The variable it belongs to, if the variables were named.
    pub variable: Option<String>,
    /// Its index within that variable (`index` if no variable is named).
    pub component: usize,
    /// The gradient's component against the central difference.
    pub comparison: Comparison,
    variable_len: usize,
}

impl fmt::Display for ComponentCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variable {
            Some(v) if self.variable_len == 1 => write!(f, "variable `{v}`")?,
            Some(v) => write!(f, "variable `{v}`, component {}", self.component)?,
            None => write!(f, "component {}", self.index)?,
        }
        let c = &self.comparison;
        write!(
            f,
            ": gradient {}, central difference {} ",
            Num(c.gradient),
            Num(c.finite_difference)
        )?;
        explain(f, c)
    }
}

/// The outcome of a gradient check: `is_ok()`, and a `Display` that names
/// the components that disagree.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GradReport {
    /// One comparison per random direction.
    pub directions: Vec<Comparison>,
    /// One comparison per checked component, in order; empty unless a
    /// direction disagreed (or [`GradCheck::per_component`], or no
    /// directions).
    pub components: Vec<ComponentCheck>,
    /// How many components were checked.
    pub checked: usize,
}

impl GradReport {
    /// Whether every comparison agreed.
    pub fn is_ok(&self) -> bool {
        self.directions.iter().all(Comparison::agrees)
            && self.components.iter().all(|c| c.comparison.agrees())
    }

    /// The components that disagree.
    pub fn mismatches(&self) -> impl Iterator<Item = &ComponentCheck> {
        self.components.iter().filter(|c| !c.comparison.agrees())
    }

    /// `Ok(self)` if the check passed, `Err(self)` otherwise, for `?`
    /// (`GradReport` is an [`Error`](std::error::Error)).
    pub fn into_result(self) -> Result<GradReport, GradReport> {
        if self.is_ok() {
            Ok(self)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for GradReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (dirs, n) = (self.directions.len(), self.checked);
        let over = format!(
            "{dirs} random direction{} over {n} component{}",
            plural(dirs),
            plural(n)
        );
        let worst = |cs: &mut dyn Iterator<Item = Comparison>| {
            cs.max_by(|a, b| a.ratio().total_cmp(&b.ratio()))
        };
        if self.is_ok() {
            write!(f, "gradient check passed: {over}")?;
            if !self.components.is_empty() {
                write!(f, " and each component")?;
            }
            let all = &mut self
                .directions
                .iter()
                .copied()
                .chain(self.components.iter().map(|c| c.comparison));
            if let Some(c) = worst(all) {
                write!(
                    f,
                    "; largest |gradient − difference| {:.1e} (tolerance {:.1e})",
                    c.error(),
                    c.tolerance
                )?;
            }
            return Ok(());
        }

        let failed = self.directions.iter().filter(|c| !c.agrees()).count();
        let bad: Vec<&ComponentCheck> = self.mismatches().collect();
        if failed > 0 {
            write!(
                f,
                "gradient check failed: the gradient disagrees with central differences in {failed} of {over}"
            )?;
        } else {
            write!(
                f,
                "gradient check failed: {} of {n} component{} disagree{} with central differences (all {dirs} random direction{} agree)",
                bad.len(),
                plural(n),
                if bad.len() == 1 { "s" } else { "" },
                plural(dirs),
            )?;
        }
        for c in bad.iter().take(SHOWN) {
            write!(f, "\n  {c}")?;
        }
        if bad.len() > SHOWN {
            write!(f, "\n  .. and {} more", bad.len() - SHOWN)?;
        }
        if bad.is_empty() {
            if let Some(c) = worst(&mut self.directions.iter().copied()) {
                write!(
                    f,
                    "\n  worst direction: gradient · v = {}, central difference {} ",
                    Num(c.gradient),
                    Num(c.finite_difference)
                )?;
                explain(f, &c)?;
            }
            write!(
                f,
                "\n  no single component disagrees by more than its tolerance; if the components' \
                 scales differ, check the variables separately (`only`) or set a smaller `step`"
            )?;
            let mut closest: Vec<&ComponentCheck> = self.components.iter().collect();
            closest.sort_by(|a, b| b.comparison.ratio().total_cmp(&a.comparison.ratio()));
            for c in closest.iter().take(3) {
                write!(f, "\n  {c}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for GradReport {}

/// `(|difference| e > tolerance t)` or `(within tolerance t)`.
fn explain(f: &mut fmt::Formatter<'_>, c: &Comparison) -> fmt::Result {
    if c.agrees() {
        write!(f, "(within tolerance {:.1e})", c.tolerance)
    } else {
        write!(
            f,
            "(|difference| {:.1e} > tolerance {:.1e})",
            c.error(),
            c.tolerance
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A number printed in full, in exponent form only when it is very large or
/// very small.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0.abs();
        if a == 0.0 || !a.is_finite() || (1e-4..1e6).contains(&a) {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:e}", self.0)
        }
    }
}

/// Seeded xorshift64*, with the seed mixed by one step of splitmix64 so that
/// nearby seeds give unrelated sequences (and the state is never 0).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        self.0 = s;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * core::f64::consts::PI * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Σ (i + 1) xᵢ² + x₀ x₁` and its gradient.
    fn quad(x: &[f64]) -> f64 {
        let s: f64 = x
            .iter()
            .enumerate()
            .map(|(i, a)| (i + 1) as f64 * a * a)
            .sum();
        s + x[0] * x[1]
    }
    fn quad_grad(x: &[f64]) -> Vec<f64> {
        let mut g: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, a)| 2.0 * (i + 1) as f64 * a)
            .collect();
        g[0] += x[1];
        g[1] += x[0];
        g
    }
    const X: [f64; 5] = [0.3, -1.2, 2.5, 0.7, -0.4];

    #[test]
    fn correct_gradient_passes() {
        let g = quad_grad(&X);
        let report = check_gradient(quad, &X, &g);
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.directions.len(), DIRECTIONS);
        assert!(report.components.is_empty());
        assert_eq!(report.checked, 5);
        assert!(report
            .to_string()
            .starts_with("gradient check passed: 4 random directions over 5 components"));
        let report = GradCheck::new().per_component(true).run(quad, &X, &g);
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.components.len(), 5);
    }

    #[test]
    fn one_wrong_component_is_located() {
        let mut g = quad_grad(&X);
        g[3] *= 1.0 + 1e-4;
        let report = GradCheck::new()
            .variable("a", 2)
            .variable("b", 3)
            .run(quad, &X, &g);
        assert!(!report.is_ok());
        let bad: Vec<_> = report.mismatches().collect();
        assert_eq!(bad.len(), 1, "{report}");
        assert_eq!(
            (bad[0].index, bad[0].variable.as_deref(), bad[0].component),
            (3, Some("b"), 1)
        );
        let message = report.to_string();
        assert!(
            message.contains("variable `b`, component 1: gradient 5.60056, central difference 5."),
            "{message}"
        );
        assert!(message.starts_with("gradient check failed"), "{message}");
        // Without names: the flat index.
        let message = check_gradient(quad, &X, &g).to_string();
        assert!(message.contains("\n  component 3: gradient"), "{message}");
    }

    #[test]
    fn error_invisible_along_the_diagonal_is_caught() {
        // Two components wrong in opposite directions: the sum of the
        // gradient, its derivative along (1, .., 1), is right.
        let mut g = quad_grad(&X);
        g[0] += 0.25;
        g[2] -= 0.25;
        let ones = [1.0; 5];
        let (fd, noise) = central(&quad, &X, &ones, 1e-6, &mut [0.0; 5]);
        let along_ones: f64 = g.iter().sum();
        assert!((along_ones - fd).abs() <= 1e-6 * fd.abs() + noise);

        let report = check_gradient(quad, &X, &g);
        assert!(report.directions.iter().any(|c| !c.agrees()), "{report}");
        let bad: Vec<usize> = report.mismatches().map(|c| c.index).collect();
        assert_eq!(bad, [0, 2], "{report}");
    }

    #[test]
    fn per_component_finds_what_directions_cannot() {
        // ∂/∂x₁ is 1e6 times smaller than ∂/∂x₀: a 1% error in it is far
        // below the directions' tolerance.
        let f = |x: &[f64]| 1e6 * x[0] + x[1];
        let x = [1.0, 1.0];
        let g = [1e6, 1.01];
        assert!(check_gradient(f, &x, &g).is_ok());
        let report = GradCheck::new().per_component(true).run(f, &x, &g);
        assert!(!report.is_ok());
        let message = report.to_string();
        assert!(message.contains("1 of 2 components disagrees with central differences (all 4 random directions agree)"), "{message}");
        assert!(
            message.contains("\n  component 1: gradient 1.01"),
            "{message}"
        );
    }

    #[test]
    fn only_moves_the_chosen_components() {
        // The function panics if a component outside the chosen ones moves.
        let x = [1.0, 2.0, 3.0, 4.0];
        let f = |v: &[f64]| {
            assert_eq!((v[0], v[3]), (1.0, 4.0));
            v[1] * v[2]
        };
        let g = [123.0, 3.0, 2.0, -7.0]; // wrong where not checked
        let report = GradCheck::new()
            .variable("a", 1)
            .variable("b", 2)
            .variable("c", 1)
            .only("b")
            .run(f, &x, &g);
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.checked, 2);
        let report = GradCheck::new()
            .components(1..3)
            .per_component(true)
            .run(f, &x, &g);
        assert!(report.is_ok(), "{report}");
        assert_eq!(
            report
                .components
                .iter()
                .map(|c| c.index)
                .collect::<Vec<_>>(),
            [1, 2]
        );
    }

    #[test]
    fn directions_depend_on_the_seed_only() {
        let g = quad_grad(&X);
        let a = GradCheck::new().seed(3).run(quad, &X, &g);
        let b = GradCheck::new().seed(3).run(quad, &X, &g);
        let c = GradCheck::new().seed(4).run(quad, &X, &g);
        assert_eq!(a.directions, b.directions);
        assert_ne!(a.directions, c.directions);
        assert_eq!(
            GradCheck::new()
                .directions(9)
                .run(quad, &X, &g)
                .directions
                .len(),
            9
        );
        // No directions: every component instead.
        let report = GradCheck::new().directions(0).run(quad, &X, &g);
        assert_eq!((report.directions.len(), report.components.len()), (0, 5));
    }

    #[test]
    fn step_and_tolerance() {
        let x = [2.0, -3.0];
        let g = quad_grad(&x);
        let report = GradCheck::new()
            .step(1e-4)
            .per_component(true)
            .run(quad, &x, &g);
        assert_eq!(report.directions[0].step, 1e-4 * 3.0); // max(1, |x|∞)
        assert_eq!(report.components[0].comparison.step, 1e-4 * 2.0); // max(1, |x₀|)
                                                                      // A zero tolerance fails on the truncation error of a cubic.
        let cube = |v: &[f64]| v[0].powi(3);
        let report = GradCheck::new()
            .step(1e-2)
            .tolerance(0.0, 0.0)
            .run(cube, &[1.0], &[3.0]);
        assert!(!report.is_ok(), "{report}");
        assert!(GradCheck::new()
            .step(1e-2)
            .tolerance(1e-3, 0.0)
            .run(cube, &[1.0], &[3.0])
            .is_ok());
    }

    #[test]
    fn nan_fails() {
        let report = check_gradient(|v| v[0], &[1.0], &[f64::NAN]);
        assert!(!report.is_ok());
        assert!(
            report
                .to_string()
                .contains("component 0: gradient NaN, central difference 0.99"),
            "{report}"
        );
    }

    #[test]
    fn assert_panics_with_the_message() {
        let err = std::panic::catch_unwind(|| {
            GradCheck::new()
                .variable("x", 2)
                .assert(|v| v[0] * v[1], &[2.0, 3.0], &[3.0, 2.5]);
        })
        .unwrap_err();
        let message = err.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("variable `x`, component 1: gradient 2.5, central difference 1.99"),
            "{message}"
        );
        assert!(check_gradient(|v| v[0] * v[1], &[2.0, 3.0], &[3.0, 2.0])
            .into_result()
            .is_ok());
    }

    #[test]
    #[should_panic(expected = "no variable is named `z`; expected one of `x`, `y`")]
    fn unknown_variable_panics() {
        GradCheck::new()
            .variable("x", 1)
            .variable("y", 1)
            .only("z")
            .run(quad, &[1.0, 2.0], &[0.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "the variables' lengths add up to 3, but the point has 2 components")]
    fn lengths_must_add_up() {
        GradCheck::new()
            .variable("x", 3)
            .run(quad, &[1.0, 2.0], &[0.0, 0.0]);
    }

    #[test]
    fn a_direction_failing_with_no_component_to_blame_says_so() {
        let agree = Comparison {
            gradient: 1.0,
            finite_difference: 1.0,
            step: 1e-6,
            tolerance: 1e-6,
        };
        let report = GradReport {
            directions: vec![
                agree,
                Comparison {
                    finite_difference: 1.1,
                    ..agree
                },
            ],
            components: vec![ComponentCheck {
                index: 0,
                variable: Some("x".into()),
                component: 0,
                comparison: agree,
                variable_len: 1,
            }],
            checked: 1,
        };
        assert!(!report.is_ok());
        assert_eq!(report.mismatches().count(), 0);
        let message = report.to_string();
        assert!(message.starts_with("gradient check failed: the gradient disagrees with central differences in 1 of 2 random directions over 1 component\n"), "{message}");
        assert!(message.contains("worst direction: gradient · v = 1, central difference 1.1 (|difference| 1.0e-1 > tolerance 1.0e-6)"), "{message}");
        assert!(
            message.contains("no single component disagrees"),
            "{message}"
        );
        assert!(
            message.contains(
                "\n  variable `x`: gradient 1, central difference 1 (within tolerance 1.0e-6)"
            ),
            "{message}"
        );
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(Num(2.5).to_string(), "2.5");
        assert_eq!(Num(-1e-300).to_string(), "-1e-300");
        assert_eq!(Num(3e20).to_string(), "3e20");
        assert_eq!(Num(0.0).to_string(), "0");
    }
}
