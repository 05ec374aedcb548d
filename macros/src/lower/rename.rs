//! Renaming opaque code to SSA names, and stripping `sg_for!` from the code
//! the user keeps.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::visit_mut::VisitMut;

use super::calls::{check_sg_for_names, is_sg_for, parse_sg_for};
use crate::errors::Errors;
use crate::symbol::SG_FOR;

/// Renames variable paths (and identifiers in macro tokens) to their SSA names.
pub(super) struct Rename<'a> {
    pub(super) rename: &'a BTreeMap<String, Ident>,
    pub(super) bound: &'a BTreeSet<String>,
    pub(super) sg_for: SgForCheck<'a>,
}

/// What checking an `sg_for!` inside opaque code needs.
#[derive(Clone, Copy)]
pub(super) struct SgForCheck<'a> {
    pub(super) wrt_names: &'a [Ident],
    pub(super) param_names: &'a [String],
    pub(super) errors: &'a Errors,
}

impl Rename<'_> {
    fn ident(&self, i: &Ident) -> Option<Ident> {
        let name = i.to_string();
        if self.bound.contains(&name) {
            return None;
        }
        self.rename.get(&name).map(|new| {
            let mut new = new.clone();
            new.set_span(new.span().located_at(i.span()));
            new
        })
    }

    fn tokens(&self, tokens: TokenStream) -> TokenStream {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = Vec::with_capacity(tts.len());
        for (k, tt) in tts.iter().enumerate() {
            let renamed = match tt {
                TokenTree::Ident(i) if may_name_variable(&tts, k) => {
                    self.ident(i).map(TokenTree::Ident)
                }
                TokenTree::Group(g) => {
                    let mut ng = proc_macro2::Group::new(g.delimiter(), self.tokens(g.stream()));
                    ng.set_span(g.span());
                    Some(TokenTree::Group(ng))
                }
                _ => None,
            };
            out.push(renamed.unwrap_or_else(|| tt.clone()));
        }
        out.into_iter().collect()
    }
}

/// Whether the identifier at `k` in macro tokens may name a variable: not a
/// field or method after `.`, not a path segment after `::`, not a field
/// name before a single `:` (`Point { x: 1.0 }`).
pub(super) fn may_name_variable(tts: &[TokenTree], k: usize) -> bool {
    let punct = |i: usize| match tts.get(i) {
        Some(TokenTree::Punct(p)) => Some((p.as_char(), p.spacing())),
        _ => None,
    };
    let after_dot_or_path = k > 0 && matches!(punct(k - 1), Some(('.', _)) | Some((':', _)));
    let field_name = matches!(punct(k + 1), Some((':', proc_macro2::Spacing::Alone)));
    !after_dot_or_path && !field_name
}

impl VisitMut for Rename<'_> {
    fn visit_expr_path_mut(&mut self, p: &mut syn::ExprPath) {
        if p.qself.is_none() && p.path.segments.len() == 1 && p.path.leading_colon.is_none() {
            if let Some(new) = self.ident(&p.path.segments[0].ident) {
                p.path.segments[0].ident = new;
            }
        }
    }
    fn visit_field_value_mut(&mut self, fv: &mut syn::FieldValue) {
        // `Point { x }` becomes `Point { x: __ad_x }`: the field keeps its name.
        let shorthand = fv.colon_token.is_none();
        self.visit_expr_mut(&mut fv.expr);
        if shorthand {
            fv.colon_token = Some(Default::default());
        }
    }
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        if !is_sg_for(&m.path) {
            m.tokens = self.tokens(m.tokens.clone());
            return;
        }
        // Inside opaque code the cut has no effect (nothing differentiates
        // through it), but the names must still be valid.
        match m.parse_body_with(parse_sg_for) {
            Ok(mut parsed) => {
                let c = self.sg_for;
                check_sg_for_names(&parsed.names, c.wrt_names, c.param_names, c.errors);
                self.visit_expr_mut(&mut parsed.expr);
                let e = parsed.expr;
                m.tokens = quote!(@within #e);
            }
            Err(err) => {
                self.sg_for.errors.push(err);
                m.tokens = quote!(@within 0.0);
            }
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Replaces every `sg_for!(S, e)` by `sg_for!(@within e)`, which the runtime
/// macro expands to `e`: the code the user keeps computes exactly the value
/// without annotations, and the `sg_for` import stays used.
pub struct StripSgFor;

impl VisitMut for StripSgFor {
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        if is_sg_for(&m.path) {
            match m.parse_body_with(parse_sg_for) {
                Ok(mut parsed) => {
                    self.visit_expr_mut(&mut parsed.expr);
                    let e = parsed.expr;
                    let span = m.delimiter.span().join();
                    m.tokens = quote_spanned!(span=> @within #e);
                }
                // Reported where the body is lowered.
                Err(_) => m.tokens = quote!(@within 0.0),
            }
        } else {
            // `vec![sg_for!(x, e), y]`: other macros' tokens are not syntax
            // trees, so their `sg_for!` calls are found token by token.
            m.tokens = strip_sg_for_tokens(std::mem::take(&mut m.tokens));
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// `StripSgFor` on the `sg_for!(..)` calls among `tokens`, at any depth.
fn strip_sg_for_tokens(tokens: TokenStream) -> TokenStream {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tts.len());
    let mut i = 0;
    while i < tts.len() {
        if let (TokenTree::Ident(name), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(g))) =
            (&tts[i], tts.get(i + 1), tts.get(i + 2))
        {
            if name == SG_FOR && bang.as_char() == '!' {
                if let Ok(mut mac) = syn::parse2::<syn::Macro>(quote!(#name ! #g)) {
                    StripSgFor.visit_macro_mut(&mut mac);
                    out.extend(mac.to_token_stream());
                    i += 3;
                    continue;
                }
            }
        }
        match &tts[i] {
            TokenTree::Group(g) => {
                let mut inner =
                    proc_macro2::Group::new(g.delimiter(), strip_sg_for_tokens(g.stream()));
                inner.set_span(g.span());
                out.push(TokenTree::Group(inner));
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}
