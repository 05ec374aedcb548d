//! Helpers shared by the integration tests (`mod common;` in each test
//! crate): a seeded random number generator, central differences and the
//! directional-derivative check, closeness and bit-identity asserts, and the
//! pieces of the oracle of `SEMANTICS.md` (per static site for
//! `fd_semantics.rs` and `test_user_programs.rs`, per dynamic occurrence for
//! `fd_loops.rs` and `fd_arrays.rs`).
//!
//! Every test crate compiles its own copy and none uses every helper.

#![allow(dead_code)]

use std::f64::consts::PI;

// ---------------------------------------------------------------------------
// A seeded random number generator (xorshift64*), no dependencies.

/// Seeded xorshift64*. The same seed gives the same sequence in every test.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        self.0 = s;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// In `0..n`, by the remainder of the next number.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// A standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }
    /// `n` numbers uniform in `[lo, hi)`.
    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
    /// `N` numbers uniform in `[lo, hi)`.
    pub fn array<const N: usize>(&mut self, lo: f64, hi: f64) -> [f64; N] {
        std::array::from_fn(|_| self.uniform(lo, hi))
    }
}

// ---------------------------------------------------------------------------
// Central differences.

/// Tolerance of a comparison with a central difference: `rel · |fd| + abs`,
/// plus the difference's rounding noise.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub rel: f64,
    pub abs: f64,
}

impl Tol {
    /// Relative only.
    pub const fn rel(rel: f64) -> Tol {
        Tol { rel, abs: 0.0 }
    }
}

/// `f64` gradients.
pub const F64: Tol = Tol::rel(1e-6);
/// `f32` gradients against differences of an `f64` copy.
pub const F32: Tol = Tol {
    rel: 2e-4,
    abs: 2e-4,
};

/// Central difference of `p` at `x` along `v` with step `h`, and its rounding
/// noise.
pub fn directional(p: &dyn Fn(&[f64]) -> f64, x: &[f64], v: &[f64], h: f64) -> (f64, f64) {
    let plus: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
    let minus: Vec<f64> = x.iter().zip(v).map(|(a, b)| a - h * b).collect();
    let (fp, fm) = (p(&plus), p(&minus));
    let d = (fp - fm) / (2.0 * h);
    let noise = 16.0 * f64::EPSILON * (fp.abs() + fm.abs()) / (2.0 * h);
    (d, noise)
}

/// `got` (a gradient dotted with `v`) against the central difference of `p`
/// at `x` along `v`, with a step of `1e-6 · max(1, |x|∞) / |v|`.
#[track_caller]
pub fn assert_directional(
    what: &str,
    p: &dyn Fn(&[f64]) -> f64,
    x: &[f64],
    v: &[f64],
    got: f64,
    tol: Tol,
) {
    let scale = x.iter().fold(1.0f64, |m, a| m.max(a.abs()));
    let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let h = 1e-6 * scale / norm;
    let (fd, noise) = directional(p, x, v, h);
    let bound = tol.rel * fd.abs() + tol.abs + noise;
    assert!(
        (got - fd).abs() <= bound,
        "{what} at {x:?}: gradient gives {got:e}, central difference {fd:e} (|diff| {:e} > tol {bound:e})",
        (got - fd).abs()
    );
}

// ---------------------------------------------------------------------------
// Closeness and bit identity.

/// `got` against `want` to `rel`, relative to the larger of `|want|` and
/// `scale` (the size of the terms summed into `want`).
#[track_caller]
pub fn assert_close_scaled(what: &str, got: f64, want: f64, scale: f64, rel: f64) {
    let s = scale.max(want.abs()).max(1e-300);
    assert!(
        (got - want).abs() <= rel * s,
        "{what}: got {got:e}, want {want:e} (scale {s:e})"
    );
}

/// `got` against `want` to `rel`, relative to `|want|`.
#[track_caller]
pub fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert_close_scaled(what, got, want, 0.0, rel);
}

/// [`assert_close_scaled`] component by component.
#[track_caller]
pub fn assert_close_all(what: &str, got: &[f64], want: &[f64], scale: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert_close_scaled(&format!("{what}[{i}]"), g, w, scale[i], rel);
    }
}

/// A float that can be compared bit for bit.
pub trait Bits: Copy + std::fmt::LowerExp {
    type Repr: PartialEq;
    fn bits(self) -> Self::Repr;
}

impl Bits for f64 {
    type Repr = u64;
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

impl Bits for f32 {
    type Repr = u32;
    fn bits(self) -> u32 {
        self.to_bits()
    }
}

/// The value `g` of `f_grad` is bit for bit the value `f` of `f`.
#[track_caller]
pub fn assert_bits<T: Bits>(what: &str, f: T, g: T) {
    assert!(f.bits() == g.bits(), "{what}: f = {f:e}, f_grad.0 = {g:e}");
}

// ---------------------------------------------------------------------------
// The oracle of `SEMANTICS.md`: for each differentiated function a copy of
// its body in plain Rust, in which every `sg` / `sg_for!` site is a call
// `s.cut(site, e)`, and a table saying which variables each site blocks. The
// derivative with respect to (a component of) xₖ must be the derivative of
// Pₖ: the copy with every site that blocks xₖ frozen at its value at the base
// point.

/// Which differentiation variables (indices in the attribute's order) a site
/// blocks.
#[derive(Clone, Copy, Debug)]
pub enum Cut {
    /// `sg(e)`: every variable.
    All,
    /// `sg_for!([..], e)`: the listed ones.
    For(&'static [usize]),
}

impl Cut {
    pub fn blocks(self, k: usize) -> bool {
        match self {
            Cut::All => true,
            Cut::For(vars) => vars.contains(&k),
        }
    }
}

/// Copies whose sites are reached at most once per evaluation
/// (`fd_semantics.rs`, `test_user_programs.rs`): one value per static site.
pub mod per_site {
    /// The sites of one evaluation of a copy: which are frozen (and to what),
    /// and what value each site's expression had.
    #[derive(Default)]
    pub struct Sites {
        frozen: Vec<Option<f64>>,
        seen: Vec<Option<f64>>,
    }

    impl Sites {
        /// Site `id` with expression value `e`: `e`, or its frozen value.
        pub fn cut(&mut self, id: usize, e: f64) -> f64 {
            if self.seen.len() <= id {
                self.seen.resize(id + 1, None);
            }
            self.seen[id] = Some(e);
            self.frozen.get(id).copied().flatten().unwrap_or(e)
        }
    }

    /// A copy of a differentiated function's body, as a function of its
    /// differentiation variables.
    pub type Body<'a> = &'a dyn Fn(&[f64], &mut Sites) -> f64;

    /// The copy at `x` with the sites in `frozen` frozen: its value, and each
    /// site's value (`None` for a site not reached).
    pub fn eval(copy: Body, x: &[f64], frozen: Vec<Option<f64>>) -> (f64, Vec<Option<f64>>) {
        let mut s = Sites {
            frozen,
            seen: Vec::new(),
        };
        let v = copy(x, &mut s);
        (v, s.seen)
    }
}

/// Copies over one flat vector of all differentiation variables' components,
/// whose sites may sit in loops (`fd_loops.rs`, `fd_arrays.rs`): a site is
/// reached once per iteration, and each of those dynamic occurrences is
/// frozen at its own value.
pub mod per_occurrence {
    use super::{assert_directional, Cut, Rng, Tol, F64};

    /// One evaluation of a copy: the sites reached, in order (a site inside
    /// a loop is reached once per iteration), with their values, and which
    /// of those occurrences are frozen (and to what).
    #[derive(Default)]
    pub struct Sites {
        frozen: Vec<Option<f64>>,
        seen: Vec<(usize, f64)>,
    }

    impl Sites {
        /// Static site `site` with expression value `e`: `e`, or the frozen
        /// value of this occurrence.
        pub fn cut(&mut self, site: usize, e: f64) -> f64 {
            let j = self.seen.len();
            self.seen.push((site, e));
            self.frozen.get(j).copied().flatten().unwrap_or(e)
        }
        /// Records that a branch was taken (`site` must block nothing), so
        /// that a perturbed point that takes another branch fails loudly.
        pub fn mark(&mut self, site: usize) {
            self.cut(site, 0.0);
        }
    }

    /// A copy of a differentiated function's body, as a function of the flat
    /// vector of its differentiation variables' components.
    pub type Body<'a> = &'a dyn Fn(&[f64], &mut Sites) -> f64;

    pub struct Oracle<'a> {
        pub name: &'a str,
        pub copy: Body<'a>,
        pub sites: &'a [Cut],
        /// The number of components of each differentiation variable, in order
        /// (1 for a scalar).
        pub shape: &'a [usize],
    }

    impl Oracle<'_> {
        pub fn eval(&self, x: &[f64], frozen: Vec<Option<f64>>) -> (f64, Vec<(usize, f64)>) {
            let mut s = Sites {
                frozen,
                seen: Vec::new(),
            };
            let v = (self.copy)(x, &mut s);
            (v, s.seen)
        }

        pub fn len(&self) -> usize {
            self.shape.iter().sum()
        }

        /// The variable that component `c` of the flat vector belongs to.
        pub fn var_of(&self, c: usize) -> usize {
            let mut start = 0;
            for (k, &n) in self.shape.iter().enumerate() {
                if c < start + n {
                    return k;
                }
                start += n;
            }
            panic!("{}: component {c} out of range", self.name)
        }

        /// The static sites blocked for variable `k`.
        pub fn blocked_for(&self, k: usize) -> Vec<bool> {
            self.sites.iter().map(|c| c.blocks(k)).collect()
        }

        /// Pₖ for every variable with the same blocked sites: the copy with
        /// every occurrence of those sites frozen at its value at `base`;
        /// panics if a perturbed point reaches other sites.
        pub fn program(&self, base: &[f64], blocked: &[bool]) -> impl Fn(&[f64]) -> f64 + '_ {
            let (_, seen) = self.eval(base, Vec::new());
            let path: Vec<usize> = seen.iter().map(|&(site, _)| site).collect();
            let frozen: Vec<Option<f64>> = seen
                .iter()
                .map(|&(site, v)| if blocked[site] { Some(v) } else { None })
                .collect();
            let name = self.name;
            move |x: &[f64]| {
                let (v, seen) = self.eval(x, frozen.clone());
                assert!(
                    seen.iter().map(|&(site, _)| site).eq(path.iter().copied()),
                    "{name}: the perturbed point reaches other sites (too close to a branch)"
                );
                v
            }
        }

        /// The copy computes the function's value (to `rel`: the copy may be in
        /// another precision).
        #[track_caller]
        pub fn check_value(&self, x: &[f64], value: f64, rel: f64) {
            let (v0, _) = self.eval(x, Vec::new());
            assert!(
                (v0 - value).abs() <= rel * v0.abs().max(1e-300),
                "{}: the copy computes {v0:e}, the function {value:e} (the copy is wrong)",
                self.name
            );
        }

        /// Each listed component of the gradient against Pₖ of its variable.
        #[track_caller]
        pub fn check_components(&self, x: &[f64], grad: &[f64], comps: &[usize], tol: Tol) {
            let name = self.name;
            assert_eq!(x.len(), self.len(), "{name}: shape");
            assert_eq!(grad.len(), self.len(), "{name}: gradient length");
            for &c in comps {
                let mut e = vec![0.0; x.len()];
                e[c] = 1.0;
                let k = self.var_of(c);
                let p = self.program(x, &self.blocked_for(k));
                assert_directional(
                    &format!("{name} d/dx[{c}] (variable {k})"),
                    &p,
                    x,
                    &e,
                    grad[c],
                    tol,
                );
            }
        }

        /// The gradient along a random direction within each group of variables
        /// that share a program.
        #[track_caller]
        pub fn check_directions(&self, x: &[f64], grad: &[f64], rng: &mut Rng, tol: Tol) {
            let name = self.name;
            let mut groups: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
            for k in 0..self.shape.len() {
                let b = self.blocked_for(k);
                match groups.iter_mut().find(|(g, _)| *g == b) {
                    Some((_, vars)) => vars.push(k),
                    None => groups.push((b, vec![k])),
                }
            }
            for (blocked, vars) in groups {
                let mut v = vec![0.0; x.len()];
                for (c, vc) in v.iter_mut().enumerate() {
                    if vars.contains(&self.var_of(c)) {
                        *vc = rng.normal();
                    }
                }
                let dot: f64 = grad.iter().zip(&v).map(|(g, v)| g * v).sum();
                let p = self.program(x, &blocked);
                assert_directional(
                    &format!("{name} along a random direction (variables {vars:?})"),
                    &p,
                    x,
                    &v,
                    dot,
                    tol,
                );
            }
        }

        /// The value (to `rel`), every component and random directions, to
        /// `tol`.
        #[track_caller]
        pub fn check_with(
            &self,
            x: &[f64],
            value: f64,
            grad: &[f64],
            rng: &mut Rng,
            tol: Tol,
            rel: f64,
        ) {
            self.check_value(x, value, rel);
            let all: Vec<usize> = (0..x.len()).collect();
            self.check_components(x, grad, &all, tol);
            self.check_directions(x, grad, rng, tol);
        }

        /// The value (to 1e-12), every component and random directions, at
        /// `f64` tolerance.
        #[track_caller]
        pub fn check(&self, x: &[f64], value: f64, grad: &[f64], rng: &mut Rng) {
            self.check_with(x, value, grad, rng, F64, 1e-12);
        }
    }
}
