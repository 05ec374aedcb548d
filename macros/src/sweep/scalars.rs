//! Numbers: copies, `sg`/`sg_for!` sites, and the rule table's primitives
//! (`rules.rs`), whose templates give both modes: forward mode sums
//! `∂ans/∂arg · ṫ` over the arguments, reverse mode adds `ans̅ · ∂ans/∂arg`
//! to each argument's adjoint.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{Backward, Primal};
use crate::ir::print::operand;
use crate::ir::*;
use crate::rules::{self, Rule, Slot};

impl Backward<'_> {
    /// `o = a`: `a̅ += o̅`.
    pub(super) fn copy(&mut self, a: &Operand, k: usize, g: &Ident) -> TokenStream {
        match a.var().filter(|a| self.act.is_varied(*a, k)) {
            Some(a) => self.accumulate(a, k, quote!(#g)),
            None => TokenStream::new(),
        }
    }

    /// `o = sg(a)` or `o = sg_for!(S, a)`: a copy, except in the classes
    /// the site cuts.
    pub(super) fn stop(&mut self, site: usize, arg: &Operand, k: usize, g: &Ident) -> TokenStream {
        if self.act.site_mask[site] & (1 << k) != 0 {
            return TokenStream::new();
        }
        self.copy(arg, k, g)
    }

    /// `o = prim(args..)`: each varied argument gets its share of `o̅`.
    pub(super) fn apply(
        &mut self,
        rule: &Rule,
        args: &[Operand],
        o: VarId,
        k: usize,
        g: &Ident,
    ) -> TokenStream {
        let mut code = TokenStream::new();
        for (i, arg) in args.iter().enumerate() {
            let (Some(a), Some(Some(template))) = (arg.var(), rule.partials.get(i)) else {
                continue;
            };
            if !self.act.is_varied(a, k) {
                continue;
            }
            let share = self.instantiate(template, g, args, o);
            code.extend(self.accumulate(a, k, share));
        }
        code
    }

    /// A rule's template with its slots filled (see `rules.rs`).
    pub(super) fn instantiate(
        &mut self,
        template: &str,
        g: &Ident,
        args: &[Operand],
        ans: VarId,
    ) -> TokenStream {
        let g = quote!(#g);
        rules::instantiate(template, &g, &mut |slot| match slot {
            Slot::Arg(i) => args.get(i).map(|a| self.operand(a)),
            Slot::Ans => Some(self.operand(&Operand::Var(ans))),
            _ => None,
        })
    }
}

impl Primal<'_> {
    /// The tangent of `o = prim(args..)`: the sum of each varied argument's share.
    pub(super) fn apply_tangent(
        &self,
        rule: &Rule,
        args: &[Operand],
        o: VarId,
        k: usize,
    ) -> TokenStream {
        let terms: Vec<TokenStream> = args
            .iter()
            .zip(rule.partials)
            .filter_map(|(a, p)| {
                let g = self.tan_of(a, k)?;
                let template = (*p)?;
                // A cast's tangent takes the type of its result; the reverse
                // template converts to the operand's (`cast_like(g, &x)`).
                let template = if rule.name == "cast" {
                    "__rt::cast_like(g, &ans)"
                } else {
                    template
                };
                let vars = &self.f.vars;
                let value = |o: &Operand| match o {
                    Operand::Var(v) if vars[v.0].reference => {
                        let ident = &vars[v.0].ident;
                        quote!((*#ident))
                    }
                    o => operand(vars, o),
                };
                let share = rules::instantiate(template, &g, &mut |slot| match slot {
                    Slot::Arg(i) => args.get(i).map(value),
                    Slot::Ans => Some(value(&Operand::Var(o))),
                    _ => None,
                });
                Some(quote!((#share)))
            })
            .collect();
        quote!(#(#terms)+*)
    }
}
