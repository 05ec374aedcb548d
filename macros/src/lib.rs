//! Implementation detail of the [`sgrad`](https://docs.rs/sgrad) crate: its
//! procedural macros. Depend on `sgrad`, not on this crate.
//!
//! `sgrad` re-exports everything defined here, with the full documentation
//! and tested examples:
//!
//! | macro | in `sgrad` | what it does |
//! |---|---|---|
//! | `#[differentiable]` | [`sgrad::differentiable`](https://docs.rs/sgrad/latest/sgrad/attr.differentiable.html) | generates `<name>_grad` (reverse mode) and, on request, `<name>_jvp` (forward mode) beside a function |
//! | `grad!` | [`sgrad::grad!`](https://docs.rs/sgrad/latest/sgrad/macro.grad.html) | turns a closure into one that returns its value and gradient |
//! | `#[pullback_of(f)]` | [`sgrad::pullback_of`](https://docs.rs/sgrad/latest/sgrad/attr.pullback_of.html) | gives `f` a derivative written by hand |
//! | `#[derive(Differentiable)]` | [`sgrad::Differentiable`](https://docs.rs/sgrad/latest/sgrad/derive.Differentiable.html) | makes a struct of parameters a differentiation variable |
//!
//! The code that `#[differentiable]`, `grad!` and the derive generate calls
//! into the runtime by the absolute path `::sgrad`, so it compiles only in a
//! crate that depends on `sgrad` under that name. The macros have no API of their own beyond their syntax, and
//! their version is pinned exactly by `sgrad`'s.
//!
//! For contributors, the pipeline (see `ARCHITECTURE.md` in the repository):
//! `args` → `lower` (syn → A-normal form IR) → `activity` → `sweep` (the
//! backward sweep planned, then the forward and backward code printed) →
//! `emit`, orchestrated by `expand`.
#![warn(missing_docs)]

mod activity;
mod args;
mod derive;
mod emit;
mod errors;
mod expand;
mod ir;
mod latex;
mod lower;
mod names;
mod rule_attr;
mod rules;
mod sweep;
mod symbol;
mod warnings;

#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

// The documentation of each macro is written for two readers. `sgrad`
// re-exports the macro with its own, complete documentation, and rustdoc
// appends the text below to it on `sgrad`'s page: so the unconditional part
// is a closing note about where the macro comes from. The `cfg_attr(doc, ..)`
// part is seen only when rustdoc documents this crate itself (`cfg(doc)` is
// not set while compiling it as a dependency of `sgrad`), and gives this
// crate's own page a summary and a link to the full documentation.

#[cfg_attr(
    doc,
    doc = "Marks a function for differentiation and generates `<name>_grad` beside it.

Use it as [`sgrad::differentiable`](https://docs.rs/sgrad/latest/sgrad/attr.differentiable.html),
where it is documented with examples.

"
)]
/// The attribute is implemented in the `sgrad-macros` crate. The functions
/// it generates call into `sgrad` by the absolute path `::sgrad`, so the
/// crate using it must depend on `sgrad` under that name (not renamed in
/// `Cargo.toml`).
#[proc_macro_attribute]
pub fn differentiable(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::differentiable(attr.into(), item.into()).into()
}

#[cfg_attr(
    doc,
    doc = "Gives a function a derivative written by hand, used wherever differentiated code calls it.

Use it as [`sgrad::pullback_of`](https://docs.rs/sgrad/latest/sgrad/attr.pullback_of.html),
where it is documented with examples.

"
)]
/// The attribute is implemented in the `sgrad-macros` crate. It generates
/// `<f>_pullback` beside the rule, and a differentiated caller that calls
/// `f(..)` or `m::f(..)` calls `f_pullback(..)` or `m::f_pullback(..)`: put
/// the rule in the module where that path leads, the one that defines or
/// imports `f`.
#[proc_macro_attribute]
pub fn pullback_of(attr: TokenStream, item: TokenStream) -> TokenStream {
    rule_attr::pullback_of(attr.into(), item.into()).into()
}

#[cfg_attr(
    doc,
    doc = "Turns a closure into one that returns its value and gradient.

Use it as [`sgrad::grad!`](https://docs.rs/sgrad/latest/sgrad/macro.grad.html),
where it is documented with examples.

"
)]
/// The macro is implemented in the `sgrad-macros` crate. The closure it
/// generates calls into `sgrad` by the absolute path `::sgrad`, so the crate
/// using it must depend on `sgrad` under that name (not renamed in
/// `Cargo.toml`).
#[proc_macro]
pub fn grad(input: TokenStream) -> TokenStream {
    expand::grad(input.into()).into()
}

#[cfg_attr(
    doc,
    doc = "Derives `sgrad::Differentiable` for a struct of parameters.

Use it as [`sgrad::Differentiable`](https://docs.rs/sgrad/latest/sgrad/derive.Differentiable.html),
where it is documented with examples.

"
)]
/// The derive is implemented in the `sgrad-macros` crate. The impl it
/// generates names the trait by the absolute path `::sgrad::Differentiable`,
/// so the crate using it must depend on `sgrad` under that name (not renamed
/// in `Cargo.toml`).
#[proc_macro_derive(Differentiable, attributes(sgrad))]
pub fn derive_differentiable(input: TokenStream) -> TokenStream {
    derive::derive(input.into()).into()
}
