//! Compiler warnings for stops that stop nothing: `sg_for!(phi, e)` where
//! no derivative with respect to `phi` reaches `e`, `sg(e)` of a value that
//! carries no derivative, and a listed differentiation variable whose
//! gradient is zero by construction. Each is almost always a mistake in a
//! derivation (a wrong variable named, a stop placed one line too late).
//!
//! Stable Rust has no warning API for proc macros, so each warning is the
//! use of a `#[deprecated]` item, spanned at the offending tokens: rustc
//! reports it there, as "use of deprecated unit struct `NAME`: NOTE",
//! under the lint `deprecated` (silenced by `#[allow(deprecated)]` on the
//! function, made an error by `#![deny(deprecated)]`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::activity::Activity;
use crate::ir::{walk, Function, Prim, Stmt};

pub struct Warning {
    /// The offending code's first token (spans cannot be joined on stable).
    pub span: Span,
    /// The deprecated item's name, which rustc prints first.
    pub name: &'static str,
    pub note: String,
}

/// The stops of `f` that cut no derivative in any class they block.
pub fn useless_stops(f: &Function, act: &Activity) -> Vec<Warning> {
    // Per site: where it is written, and whether any of its stops cuts a
    // derivative (a site can be several stops: one per part of a tuple,
    // or a copy per branch the code after an early `return` was moved into).
    let mut sites: Vec<Option<(Span, bool, bool)>> = vec![None; f.sites.len()];
    walk(&f.body.stmts, &mut |s| {
        if let Stmt::Let {
            prim:
                Prim::Stop {
                    site,
                    arg,
                    is_macro,
                    ..
                },
            span,
            ..
        } = s
        {
            let varied = arg.var().map_or(0, |v| act.depends[v.0]);
            let cuts = varied & act.site_mask[*site] != 0;
            let entry = sites[*site].get_or_insert((*span, *is_macro, false));
            entry.2 |= cuts;
        }
    });
    let all: Vec<String> = f.wrt[..f.wrt.len() - f.fields.len()]
        .iter()
        .map(|p| format!("`{}`", p.ident))
        .collect();
    let mut warnings = Vec::new();
    for (site, info) in f.sites.iter().zip(sites) {
        let Some((span, is_macro, false)) = info else {
            continue;
        };
        let warning = match (&site.blocked, is_macro) {
            (Some(blocked), true) => {
                let names: Vec<String> = blocked
                    .iter()
                    .filter(|&&j| j < all.len())
                    .map(|&j| all[j].clone())
                    .collect();
                Warning {
                    span,
                    name: "sg_for_stops_nothing",
                    note: format!(
                        "no derivative with respect to {} reaches this expression, so `sg_for!` changes nothing here; check the variable it names and where the stop is placed, or remove it (`#[allow(deprecated)]` on the function silences this)",
                        names.join(", ")
                    ),
                }
            }
            _ => Warning {
                span,
                name: "sg_stops_nothing",
                note: format!(
                    "this value does not depend on {} {}, so `sg` changes nothing here; check that it wraps what you meant, or remove it (`#[allow(deprecated)]` on the function silences this)",
                    if all.len() == 1 { "the differentiation variable" } else { "any of the differentiation variables" },
                    all.join(", ")
                ),
            },
        };
        warnings.push(warning);
    }
    warnings
}

/// Whether the body names `name` anywhere but inside `sg(..)` and
/// `sg_for!(..)`: a variable it names elsewhere may have a zero gradient for
/// reasons the macro cannot judge (a condition, an integer, code rustc will
/// reject), so only one it does not name elsewhere is warned of.
pub fn named_outside_stops(block: &syn::Block, name: &syn::Ident) -> bool {
    use syn::visit::Visit;
    struct Names<'a> {
        name: &'a syn::Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            let is_sg = matches!(&*c.func, syn::Expr::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident == crate::symbol::SG));
            if !is_sg {
                syn::visit::visit_expr_call(self, c);
            }
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            if m.path
                .segments
                .last()
                .is_some_and(|s| s.ident == crate::symbol::SG_FOR)
            {
                return;
            }
            // Other macros (`println!`) may read it: look at their tokens.
            let mut tokens = m.tokens.clone().into_iter().collect::<Vec<_>>();
            while let Some(t) = tokens.pop() {
                match t {
                    proc_macro2::TokenTree::Ident(i) if i == *self.name => self.found = true,
                    proc_macro2::TokenTree::Group(g) => tokens.extend(g.stream()),
                    _ => {}
                }
            }
        }
        fn visit_ident(&mut self, i: &'ast syn::Ident) {
            self.found |= i == self.name;
        }
    }
    let mut names = Names { name, found: false };
    names.visit_block(block);
    names.found
}

/// A listed differentiation variable whose gradient is zero by construction:
/// it is read nowhere, or only inside stops.
pub fn zero_gradient(name: &syn::Ident) -> Warning {
    Warning {
        span: name.span(),
        name: "gradient_is_always_zero",
        note: format!(
            "`{name}` is listed, but the value reads it only inside `sg`/`sg_for!` stops that cut it, or not at all, so its gradient is always zero; check where the stops are placed, or remove `{name}` from the list (`#[allow(deprecated)]` on the function silences this)"
        ),
    }
}

/// The warnings of the function `owner` as one hidden function beside it
/// (a function, since the function may be a method: only functions are
/// items both in modules and in impls), under the lint levels `lints` (the
/// user's function's `#[allow(..)]`-style attributes).
pub fn emit(owner: &syn::Ident, warnings: &[Warning], lints: &TokenStream) -> TokenStream {
    if warnings.is_empty() {
        return TokenStream::new();
    }
    let uses = warnings.iter().map(|w| {
        let name = format_ident!("{}", w.name);
        let used = format_ident!("{}", w.name, span = w.span);
        let note = &w.note;
        let use_it = quote_spanned!(w.span=> let _ = #used;);
        quote! {{
            #[deprecated(note = #note)]
            #[allow(non_camel_case_types)]
            struct #name;
            #use_it
        }}
    });
    let holder = format_ident!("__sgrad_warnings_{}", owner);
    quote! {
        #lints
        #[doc(hidden)]
        #[allow(dead_code, non_snake_case)]
        fn #holder() {
            #(#uses)*
        }
    }
}
