//! Implementation detail of the `sgrad` crate: the `#[differentiable]` and
//! `grad!` macros. Depend on `sgrad`, not on this crate.
//!
//! Pipeline (see ARCHITECTURE.md at the repository root): `args` →
//! `lower` (syn → A-normal form IR) → `activity` → `sweep` (the backward
//! sweep planned, then the forward and backward code printed) → `emit`,
//! orchestrated by `expand`.

mod activity;
mod args;
mod derive;
mod emit;
mod errors;
mod expand;
mod ir;
mod lower;
mod names;
mod rule_attr;
mod rules;
mod sweep;
mod symbol;

#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// See the `sgrad` crate's documentation.
#[proc_macro_attribute]
pub fn differentiable(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::differentiable(attr.into(), item.into()).into()
}

/// See the `sgrad` crate's documentation.
#[proc_macro_attribute]
pub fn pullback_of(attr: TokenStream, item: TokenStream) -> TokenStream {
    rule_attr::pullback_of(attr.into(), item.into()).into()
}

/// See the `sgrad` crate's documentation.
#[proc_macro]
pub fn grad(input: TokenStream) -> TokenStream {
    expand::grad(input.into()).into()
}

/// Derives `sgrad::Differentiable` for a struct of parameters (see the
/// trait's documentation in `sgrad`).
#[proc_macro_derive(Differentiable, attributes(sgrad))]
pub fn derive_differentiable(input: TokenStream) -> TokenStream {
    derive::derive(input.into()).into()
}
