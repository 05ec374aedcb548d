//! Helpers shared by the integration tests (`mod common;` in each test
//! crate): a seeded random number generator, central differences and the
//! directional-derivative check, closeness and bit-identity asserts, and the
//! pieces of the oracle of `SEMANTICS.md` (per static site for
//! `fd_semantics.rs` and `fd_user_programs.rs`, per dynamic occurrence for
//! `fd_loops.rs` and `fd_arrays.rs`), and the forward-mode check: the
//! dot-product identity `<gradient, v> = jvp(v)` (`assert_dot_identity`,
//! `assert_jvp`, with `Flat` / `like` to flatten gradients and shape
//! tangents). `per_occurrence::Oracle::check_all` is the whole check of one
//! program.
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
/// (`fd_semantics.rs`, `fd_user_programs.rs`): one value per static site.
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
    use super::{assert_bits, assert_directional, assert_jvp, Cut, Jvp, Rng, Tol, F64};

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

        /// The components of each group of variables that share a program.
        pub fn groups(&self) -> Vec<Vec<usize>> {
            super::groups(self.shape, |k| self.blocked_for(k))
        }

        /// Forward mode against the gradient: the dot-product identity in
        /// random directions within each group of variables that share a
        /// program, and over all of them ([`super::assert_jvp`]).
        #[track_caller]
        pub fn check_jvp(&self, value: f64, grad: &[f64], jvp: Jvp, rng: &mut Rng) {
            assert_jvp(self.name, value, grad, &self.groups(), jvp, rng);
        }

        /// The whole oracle: `f` (the function itself) bit for bit the value
        /// of `f_grad`, [`Self::check_with`] (the copy's value, every
        /// component and random directions of the frozen programs by central
        /// differences), and the dot-product identity with `f_jvp` (`jvp`,
        /// over the flat direction).
        #[track_caller]
        pub fn check_all_with(
            &self,
            x: &[f64],
            f: f64,
            (value, grad): (f64, &[f64]),
            jvp: Jvp,
            rng: &mut Rng,
            (tol, rel): (Tol, f64),
        ) {
            assert_bits(self.name, f, value);
            self.check_with(x, value, grad, rng, tol, rel);
            self.check_jvp(value, grad, jvp, rng);
        }

        /// [`Self::check_all_with`] at `f64` tolerance.
        #[track_caller]
        pub fn check_all(&self, x: &[f64], f: f64, grad: (f64, &[f64]), jvp: Jvp, rng: &mut Rng) {
            self.check_all_with(x, f, grad, jvp, rng, (F64, 1e-12));
        }
    }
}

// ---------------------------------------------------------------------------
// Forward mode: the dot-product identity ⟨∇f, v⟩ = jvp(f, v). Both sides are
// exact derivatives of the same program, so they agree to rounding; the
// identity is a second net beside the finite differences, not a
// replacement for them.

/// A gradient or a point flattened to its components, in order: scalars,
/// arrays, slices, `Vec`s, references to them, nested, and tuples of them
/// (a gradient `(gx, gy)`).
pub trait Flat {
    fn push_flat(&self, out: &mut Vec<f64>);
    fn flat(&self) -> Vec<f64> {
        let mut out = Vec::new();
        self.push_flat(&mut out);
        out
    }
}

impl Flat for f64 {
    fn push_flat(&self, out: &mut Vec<f64>) {
        out.push(*self);
    }
}

impl Flat for f32 {
    fn push_flat(&self, out: &mut Vec<f64>) {
        out.push(*self as f64);
    }
}

impl<T: Flat> Flat for [T] {
    fn push_flat(&self, out: &mut Vec<f64>) {
        for t in self {
            t.push_flat(out);
        }
    }
}

impl<T: Flat, const N: usize> Flat for [T; N] {
    fn push_flat(&self, out: &mut Vec<f64>) {
        self[..].push_flat(out);
    }
}

impl<T: Flat> Flat for Vec<T> {
    fn push_flat(&self, out: &mut Vec<f64>) {
        self[..].push_flat(out);
    }
}

impl<T: Flat + ?Sized> Flat for &T {
    fn push_flat(&self, out: &mut Vec<f64>) {
        (**self).push_flat(out);
    }
}

/// A value of the shape of another (a tangent shaped like its variable),
/// filled from the front of a flat vector.
pub trait Shaped: Sized {
    fn take_like(&self, v: &mut &[f64]) -> Self;
}

impl Shaped for f64 {
    fn take_like(&self, v: &mut &[f64]) -> f64 {
        let (first, rest) = v.split_first().expect("flat vector too short");
        *v = rest;
        *first
    }
}

impl Shaped for f32 {
    fn take_like(&self, v: &mut &[f64]) -> f32 {
        0.0f64.take_like(v) as f32
    }
}

impl<T: Shaped, const N: usize> Shaped for [T; N] {
    fn take_like(&self, v: &mut &[f64]) -> Self {
        let mut out = self.each_ref().map(|_| None);
        for (o, t) in out.iter_mut().zip(self) {
            *o = Some(t.take_like(v));
        }
        out.map(Option::unwrap)
    }
}

impl<T: Shaped> Shaped for Vec<T> {
    fn take_like(&self, v: &mut &[f64]) -> Self {
        self.iter().map(|t| t.take_like(v)).collect()
    }
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: Flat),+> Flat for ($($t,)+) {
            fn push_flat(&self, out: &mut Vec<f64>) {
                $(self.$i.push_flat(out);)+
            }
        }
        impl<$($t: Shaped),+> Shaped for ($($t,)+) {
            fn take_like(&self, v: &mut &[f64]) -> Self {
                ($(self.$i.take_like(v),)+)
            }
        }
    )*};
}

tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
}

/// The flat vector `v` as a value shaped like `shape` (every component
/// used): `let (tx, ty) = like(&(x.clone(), y), v)`.
pub fn like<T: Shaped>(shape: &T, v: &[f64]) -> T {
    let mut rest = v;
    let t = shape.take_like(&mut rest);
    assert!(rest.is_empty(), "flat vector too long by {}", rest.len());
    t
}

/// Relative tolerance of the dot-product identity in `f64`, relative to
/// `Σ |gᵢ vᵢ|`.
pub const JVP_REL: f64 = 1e-10;
/// The same for `f32` functions (both sides computed in `f32`).
pub const JVP_REL_F32: f64 = 1e-5;

/// `jvp` (forward mode along `v`) against `⟨grad, v⟩` (reverse mode), to
/// `rel · Σ |gᵢ vᵢ|`.
#[track_caller]
pub fn assert_dot_identity_rel(what: &str, grad: &[f64], jvp: f64, v: &[f64], rel: f64) {
    assert_eq!(grad.len(), v.len(), "{what}: direction length");
    let dot: f64 = grad.iter().zip(v).map(|(g, v)| g * v).sum();
    let scale: f64 = grad.iter().zip(v).map(|(g, v)| (g * v).abs()).sum();
    assert!(
        (jvp - dot).abs() <= rel * scale,
        "{what}: forward mode gives {jvp:e}, <gradient, v> = {dot:e} (|diff| {:e} > {rel:e} · {scale:e}), v = {v:?}",
        (jvp - dot).abs()
    );
}

/// [`assert_dot_identity_rel`] at `f64` tolerance.
#[track_caller]
pub fn assert_dot_identity(what: &str, grad: &[f64], jvp: f64, v: &[f64]) {
    assert_dot_identity_rel(what, grad, jvp, v, JVP_REL);
}

/// `f_jvp` as a function of one flat direction over every differentiation
/// variable's components: `(value, tangent)`.
pub type Jvp<'a> = &'a dyn Fn(&[f64]) -> (f64, f64);

/// The random directions the identity is checked in per group.
pub const JVP_DIRECTIONS: usize = 2;

/// The components of each group of variables blocked at the same sites:
/// `shape[k]` components for variable `k`, `blocked(k)` its sites.
pub fn groups(shape: &[usize], blocked: impl Fn(usize) -> Vec<bool>) -> Vec<Vec<usize>> {
    let mut out: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
    let mut start = 0;
    for (k, &n) in shape.iter().enumerate() {
        let b = blocked(k);
        let comps = start..start + n;
        start += n;
        match out.iter_mut().find(|(g, _)| *g == b) {
            Some((_, c)) => c.extend(comps),
            None => out.push((b, comps.collect())),
        }
    }
    out.into_iter().map(|(_, c)| c).collect()
}

/// One group per variable (`shape[k]` components for variable `k`): a
/// tangent for one variable at a time, whatever sites block it.
pub fn per_variable(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut start = 0;
    shape
        .iter()
        .map(|&n| {
            start += n;
            (start - n..start).collect()
        })
        .collect()
}

/// The identity in seeded random directions: [`JVP_DIRECTIONS`] within each
/// group of components (a tangent for those variables, zero for the rest:
/// with `sg_for!` the jvp of one class is that class's part of the
/// gradient), and one over every component when there are several groups
/// (the jvp sums the classes). Each jvp's value is bit for bit `value`.
#[track_caller]
pub fn assert_jvp_rel(
    what: &str,
    value: f64,
    grad: &[f64],
    groups: &[Vec<usize>],
    jvp: Jvp,
    rng: &mut Rng,
    rel: f64,
) {
    let n = grad.len();
    let mut dirs: Vec<(String, Vec<f64>)> = Vec::new();
    for comps in groups.iter().filter(|c| !c.is_empty()) {
        for _ in 0..JVP_DIRECTIONS {
            let mut v = vec![0.0; n];
            for &c in comps {
                v[c] = rng.normal();
            }
            dirs.push((format!("components {comps:?}"), v));
        }
    }
    if groups.iter().filter(|c| !c.is_empty()).count() > 1 {
        dirs.push((
            "every component".into(),
            (0..n).map(|_| rng.normal()).collect(),
        ));
    }
    for (which, v) in dirs {
        let (fv, t) = jvp(&v);
        assert!(
            fv.to_bits() == value.to_bits(),
            "{what}: f_jvp.0 = {fv:e}, f_grad.0 = {value:e}"
        );
        assert_dot_identity_rel(&format!("{what} jvp along {which}"), grad, t, &v, rel);
    }
}

/// [`assert_jvp_rel`] at `f64` tolerance.
#[track_caller]
pub fn assert_jvp(
    what: &str,
    value: f64,
    grad: &[f64],
    groups: &[Vec<usize>],
    jvp: Jvp,
    rng: &mut Rng,
) {
    assert_jvp_rel(what, value, grad, groups, jvp, rng, JVP_REL);
}

/// [`assert_jvp`] for a function without `sg_for!`: one group.
#[track_caller]
pub fn assert_jvp_plain(what: &str, value: f64, grad: &[f64], jvp: Jvp, rng: &mut Rng) {
    assert_jvp(what, value, grad, &[(0..grad.len()).collect()], jvp, rng);
}
