//! `if`: the forward sweep yields the branch's outputs and a record of the
//! branch taken, with the branch-local values the backward code reads; the
//! backward sweep `match`es on the record. Adjoints of outer values that only
//! a branch contributes to are declared (as zero) before the `match`.
//!
//! ```text
//! let (__ad_s, __ad_br) = if __ad_c {        match __ad_br {
//!     let __ad_u = __ad_t.sin();                 Branch::Then((__ad_t,)) => {
//!     (__ad_u, Branch::Then((__ad_t,)))              __adj_t += __adj_s * __ad_t.cos();
//! } else {                                       }
//!     (__ad_t, Branch::Else(()))                 Branch::Else(()) => { __adj_t += __adj_s; }
//! };                                         }
//! ```

use std::collections::BTreeSet;

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::loops::stored_arrays;
use super::{defines, Backward, Primal};
use crate::ir::*;
use crate::names::runtime;

impl Backward<'_> {
    /// Whether an array the region stores into has an adjoint in class `k`:
    /// the region's backward code must then run.
    pub(super) fn stores_flow(&self, stmts: &[&Block], k: usize) -> bool {
        stmts.iter().any(|b| {
            stored_arrays(&b.stmts)
                .iter()
                .any(|a| self.declared.contains(&(*a, k)) || self.pending.contains(&(*a, k)))
        })
    }

    pub(super) fn if_stmt(&mut self, i: &If) -> TokenStream {
        let flows_in = (0..self.act.classes).any(|k| {
            i.outs.iter().any(|o| self.declared.contains(&(*o, k)))
                || self.stores_flow(&[&i.then_branch, &i.else_branch], k)
        });
        if !flows_in {
            return TokenStream::new();
        }
        let before = self.declared.clone();
        let then_code = self.branch(&i.then_branch, &i.outs);
        self.declared = before.clone();
        let else_code = self.branch(&i.else_branch, &i.outs);
        self.declared = before;
        if then_code.is_empty() && else_code.is_empty() {
            return TokenStream::new();
        }

        // Adjoints of values defined in this block that only the branches add to.
        let predeclare = self.predeclare_pending();
        let rt = runtime();

        let save = |stmts: &[Stmt], referenced: &BTreeSet<VarId>| -> Vec<VarId> {
            let d = defines(stmts);
            referenced
                .iter()
                .copied()
                .filter(|v| d.contains(v))
                .collect()
        };
        let then_saved = save(&i.then_branch.stmts, &self.referenced);
        let else_saved = save(&i.else_branch.stmts, &self.referenced);
        let then_idents = then_saved.iter().map(|v| self.f.ident(*v));
        let else_idents = else_saved.iter().map(|v| self.f.ident(*v));
        let record = self.f.ident(i.record);
        let code = quote! {
            #predeclare
            match #record {
                #rt::Branch::Then((#(#then_idents,)*)) => { #then_code }
                #rt::Branch::Else((#(#else_idents,)*)) => { #else_code }
            }
        };
        self.saves.insert(i.record, (then_saved, else_saved));
        self.referenced.insert(i.record);
        code
    }

    /// Declares, before a region's backward code, the adjoints of values of
    /// the current block that only the region added to.
    pub(super) fn predeclare_pending(&mut self) -> TokenStream {
        let rt = runtime();
        let local: Vec<(VarId, usize)> = self
            .pending
            .iter()
            .copied()
            .filter(|(v, _)| self.is_local(*v))
            .collect();
        let mut code = TokenStream::new();
        for (v, k) in local {
            self.pending.remove(&(v, k));
            self.declared.insert((v, k));
            self.referenced.insert(v);
            let adj = self.adjoint(v, k);
            let ident = self.f.ident(v);
            code.extend(quote!(let mut #adj = #rt::zero_gradient(&#ident);));
        }
        code
    }

    pub(super) fn branch(&mut self, b: &Block, outs: &[VarId]) -> TokenStream {
        self.locals.push(defines(&b.stmts));
        let mut code = TokenStream::new();
        for (o, y) in outs.iter().zip(&b.yields) {
            let Some(y) = y.var() else { continue };
            for k in 0..self.act.classes {
                if self.declared.contains(&(*o, k)) && self.act.is_varied(y, k) {
                    let g = self.adjoint(*o, k);
                    code.extend(self.accumulate(y, k, quote!(#g)));
                }
            }
        }
        code.extend(self.block(&b.stmts));
        self.locals.pop();
        code
    }
}

impl Primal<'_> {
    /// `: (f32, _, ..)` when some output of an `if` or loop has a type on
    /// its `let`, so that literals in the branches get that type.
    pub(super) fn out_types(&self, outs: &[VarId], extra: usize) -> TokenStream {
        if outs.iter().all(|o| self.f.vars[o.0].ty.is_none()) {
            return TokenStream::new();
        }
        let tys = outs.iter().map(|o| match &self.f.vars[o.0].ty {
            Some(t) => quote!(#t),
            None => quote!(_),
        });
        let rest = (0..extra).map(|_| quote!(_));
        quote!(: (#(#tys,)* #(#rest,)*))
    }

    pub(super) fn if_stmt(&mut self, i: &If) -> TokenStream {
        let rt = runtime();
        let cond = self.op(&i.cond);
        let mut outs: Vec<Ident> = i.outs.iter().map(|o| self.f.ident(*o).clone()).collect();
        let then_stmts = self.block(&i.then_branch.stmts);
        let else_stmts = self.block(&i.else_branch.stmts);
        let mut then_yields: Vec<_> = i.then_branch.yields.iter().map(|y| self.op(y)).collect();
        let mut else_yields: Vec<_> = i.else_branch.yields.iter().map(|y| self.op(y)).collect();
        // Forward mode: each varied output's tangent is an output too.
        for (o, k) in self.tangent_lanes(&i.outs) {
            let n = i.outs.iter().position(|x| *x == o).expect("an output");
            outs.push(self.tan(o, k));
            then_yields.push(self.tan_or_zero(&i.then_branch.yields[n], k));
            else_yields.push(self.tan_or_zero(&i.else_branch.yields[n], k));
        }
        match self.saves.get(&i.record) {
            Some((then_saved, else_saved)) => {
                let record = self.f.ident(i.record);
                let ts = self.idents(then_saved);
                let es = self.idents(else_saved);
                let types = self.out_types(&i.outs, 1 + outs.len() - i.outs.len());
                quote! {
                    let (#(#outs,)* #record) #types = if #cond {
                        #then_stmts
                        (#(#then_yields,)* #rt::Branch::Then((#(#ts,)*)))
                    } else {
                        #else_stmts
                        (#(#else_yields,)* #rt::Branch::Else((#(#es,)*)))
                    };
                }
            }
            None => {
                let types = self.out_types(&i.outs, outs.len() - i.outs.len());
                quote! {
                let (#(#outs,)*) #types = if #cond {
                    #then_stmts
                    (#(#then_yields,)*)
                } else {
                    #else_stmts
                    (#(#else_yields,)*)
                };
                }
            }
        }
    }
}
