//! Parameter structs: the [`Differentiable`] trait and what an optimiser
//! loop needs of a set of parameters.

/// A set of parameters: numbers, arrays and `Vec`s of them, and structs
/// that `#[derive(sgrad::Differentiable)]`.
///
/// A struct that derives it can be a differentiation variable of a
/// `#[differentiable]` function, by value or by reference; its gradient is
/// a value of the same type, with each field the derivative with respect to
/// that field (zero where the output does not depend on it). Fields marked
/// `#[sgrad(skip)]` (sizes, flags) are constants: not visited by the methods
/// below, and copied unchanged into gradients.
///
/// The required methods visit the parameters in a fixed order (fields in
/// declaration order, arrays element by element); the provided ones build
/// the arithmetic of an optimiser step on them. `f32` parameters are seen as
/// `f64` and rounded back.
///
/// ```
/// use sgrad::{differentiable, Differentiable};
///
/// #[derive(Clone, Debug, Differentiable)]
/// struct Line {
///     slope: f64,
///     intercept: f64,
///     #[sgrad(skip)]
///     name: &'static str,
/// }
///
/// #[differentiable(line)]
/// fn squared_error(line: &Line, x: &[f64], y: &[f64]) -> f64 {
///     let mut s = 0.0;
///     for i in 0..x.len() {
///         let r = line.slope * x[i] + line.intercept - y[i];
///         s += r * r;
///     }
///     s
/// }
///
/// let (x, y) = ([0.0, 1.0, 2.0], [1.0, 3.0, 5.0]);
/// let mut line = Line { slope: 0.0, intercept: 0.0, name: "fit" };
/// for _ in 0..500 {
///     let (_, grad) = squared_error_grad(&line, &x, &y);
///     line.axpy(-0.05, &grad); // one step of gradient descent
/// }
/// assert!((line.slope - 2.0).abs() < 1e-6 && (line.intercept - 1.0).abs() < 1e-6);
/// assert_eq!(line.num_params(), 2);
/// ```
pub trait Differentiable: Clone {
    /// Calls `f` on every parameter, in order.
    fn for_each_param<F: FnMut(f64)>(&self, f: &mut F);

    /// Replaces every parameter `p` by `f(p)`.
    fn map_params<F: FnMut(f64) -> f64>(&mut self, f: &mut F);

    /// Replaces every parameter `p` by `f(p, q)`, with `q` the parameter of
    /// `other` in the same place.
    ///
    /// # Panics
    ///
    /// If a `Vec` of `other` differs in length from the one in `self`.
    fn zip_map_params<F: FnMut(f64, f64) -> f64>(&mut self, other: &Self, f: &mut F);

    /// Calls `f(p, q)` on every parameter `p` of `self` and `q` of `other`
    /// in the same place.
    ///
    /// # Panics
    ///
    /// If a `Vec` of `other` differs in length from the one in `self`.
    fn zip_for_each_param<F: FnMut(f64, f64)>(&self, other: &Self, f: &mut F);

    /// The same shape with every parameter 0 (skipped fields kept).
    fn zeros_like(&self) -> Self {
        let mut z = self.clone();
        z.map_params(&mut |_| 0.0);
        z
    }

    /// How many numbers the parameters hold.
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.for_each_param(&mut |_| n += 1);
        n
    }

    /// The parameters, in order, as one flat vector.
    fn params(&self) -> Vec<f64> {
        let mut v = Vec::new();
        self.for_each_param(&mut |p| v.push(p));
        v
    }

    /// `self += other`, parameter by parameter.
    fn accumulate(&mut self, other: &Self) {
        self.zip_map_params(other, &mut |p, q| p + q);
    }

    /// `self *= k`, parameter by parameter.
    fn scale(&mut self, k: f64) {
        self.map_params(&mut |p| p * k);
    }

    /// `self += a · x`, parameter by parameter: a gradient-descent step is
    /// `params.axpy(-learning_rate, &grad)`.
    fn axpy(&mut self, a: f64, x: &Self) {
        self.zip_map_params(x, &mut |p, q| p + a * q);
    }

    /// The sum of products of the parameters of `self` and `other`.
    fn dot(&self, other: &Self) -> f64 {
        let mut s = 0.0;
        self.zip_for_each_param(other, &mut |p, q| s += p * q);
        s
    }

    /// The Euclidean norm of the parameters (of a gradient, for clipping).
    fn norm(&self) -> f64 {
        let mut s = 0.0;
        self.for_each_param(&mut |p| s += p * p);
        s.sqrt()
    }
}

impl Differentiable for f64 {
    fn for_each_param<F: FnMut(f64)>(&self, f: &mut F) {
        f(*self);
    }
    fn map_params<F: FnMut(f64) -> f64>(&mut self, f: &mut F) {
        *self = f(*self);
    }
    fn zip_map_params<F: FnMut(f64, f64) -> f64>(&mut self, other: &Self, f: &mut F) {
        *self = f(*self, *other);
    }
    fn zip_for_each_param<F: FnMut(f64, f64)>(&self, other: &Self, f: &mut F) {
        f(*self, *other);
    }
}

impl Differentiable for f32 {
    fn for_each_param<F: FnMut(f64)>(&self, f: &mut F) {
        f(f64::from(*self));
    }
    fn map_params<F: FnMut(f64) -> f64>(&mut self, f: &mut F) {
        *self = f(f64::from(*self)) as f32;
    }
    fn zip_map_params<F: FnMut(f64, f64) -> f64>(&mut self, other: &Self, f: &mut F) {
        *self = f(f64::from(*self), f64::from(*other)) as f32;
    }
    fn zip_for_each_param<F: FnMut(f64, f64)>(&self, other: &Self, f: &mut F) {
        f(f64::from(*self), f64::from(*other));
    }
}

/// The methods of a container of parameters, element by element.
macro_rules! elementwise {
    () => {
        fn for_each_param<F: FnMut(f64)>(&self, f: &mut F) {
            self.iter().for_each(|d| d.for_each_param(f));
        }
        fn map_params<F: FnMut(f64) -> f64>(&mut self, f: &mut F) {
            self.iter_mut().for_each(|d| d.map_params(f));
        }
        fn zip_map_params<F: FnMut(f64, f64) -> f64>(&mut self, other: &Self, f: &mut F) {
            assert_eq!(
                self.len(),
                other.len(),
                "parameter vectors differ in length"
            );
            for (d, o) in self.iter_mut().zip(other.iter()) {
                d.zip_map_params(o, f);
            }
        }
        fn zip_for_each_param<F: FnMut(f64, f64)>(&self, other: &Self, f: &mut F) {
            assert_eq!(
                self.len(),
                other.len(),
                "parameter vectors differ in length"
            );
            for (d, o) in self.iter().zip(other.iter()) {
                d.zip_for_each_param(o, f);
            }
        }
    };
}

impl<D: Differentiable> Differentiable for Vec<D> {
    elementwise!();
}

impl<D: Differentiable, const N: usize> Differentiable for [D; N] {
    elementwise!();
}

impl<A: Differentiable, B: Differentiable> Differentiable for (A, B) {
    fn for_each_param<F: FnMut(f64)>(&self, f: &mut F) {
        self.0.for_each_param(f);
        self.1.for_each_param(f);
    }
    fn map_params<F: FnMut(f64) -> f64>(&mut self, f: &mut F) {
        self.0.map_params(f);
        self.1.map_params(f);
    }
    fn zip_map_params<F: FnMut(f64, f64) -> f64>(&mut self, other: &Self, f: &mut F) {
        self.0.zip_map_params(&other.0, f);
        self.1.zip_map_params(&other.1, f);
    }
    fn zip_for_each_param<F: FnMut(f64, f64)>(&self, other: &Self, f: &mut F) {
        self.0.zip_for_each_param(&other.0, f);
        self.1.zip_for_each_param(&other.1, f);
    }
}

impl<D: Differentiable> Differentiable for Box<D> {
    fn for_each_param<F: FnMut(f64)>(&self, f: &mut F) {
        (**self).for_each_param(f);
    }
    fn map_params<F: FnMut(f64) -> f64>(&mut self, f: &mut F) {
        (**self).map_params(f);
    }
    fn zip_map_params<F: FnMut(f64, f64) -> f64>(&mut self, other: &Self, f: &mut F) {
        (**self).zip_map_params(other, f);
    }
    fn zip_for_each_param<F: FnMut(f64, f64)>(&self, other: &Self, f: &mut F) {
        (**self).zip_for_each_param(other, f);
    }
}
