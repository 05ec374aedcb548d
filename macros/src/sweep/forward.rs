//! The forward sweep's walk: the original computation in A-normal form,
//! plus the branch records and tapes the backward sweep replays; with
//! tangents, forward mode.
//!
//! ```text
//! let __ad_t = x * y;
//! let (__ad_s, __ad_br) = if __ad_c {
//!     let __ad_u = __ad_t.sin();
//!     (__ad_u, Branch::Then((__ad_t_sin,)))    // values the backward sweep reads
//! } else {
//!     (__ad_t, Branch::Else(()))
//! };
//! ```

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};

use super::loops::hoisted_tapes;
use super::{Fused, Primal};
use crate::activity::Activity;
use crate::ir::print::{apply_tokens, operand};
use crate::ir::*;
use crate::names::{self, runtime};

/// The forward sweep of `_grad`, saving what `saves` says.
pub(super) fn emit(f: &Function, act: &Activity, saves: &Saves, fused: &Fused) -> TokenStream {
    let mut p = Primal {
        f,
        act,
        saves,
        fused,
        tangents: false,
    };
    // Nested items (`const K`, `use`, `fn`) go first: the backward sweep may
    // name them outside the block that declared them.
    let mut items = TokenStream::new();
    collect_items(&f.body.stmts, &mut items);
    let fields = field_bindings(
        f,
        |field| &f.wrt[field.owner].ident,
        |field| f.ident(f.wrt[field.param].var).clone(),
    );
    let body = p.block(&f.body.stmts);
    let tapes = hoisted_tapes(&f.body.stmts, saves).into_iter().map(|t| {
        let (t, top) = (f.ident(t), names::tape_top(f.ident(t)));
        quote!(let mut #t = ::std::vec::Vec::new(); let mut #top = 0usize;)
    });
    quote!(#items #fields #(#tapes)* #body)
}

/// `let __ad_f_net_w = &net.w;` for each field of a parameter struct the
/// body reads (a number by value), from the struct `owner` gives; `name`
/// names the binding.
fn field_bindings<'f>(
    f: &'f Function,
    owner: impl Fn(&Field) -> &'f Ident,
    name: impl Fn(&Field) -> Ident,
) -> TokenStream {
    f.fields
        .iter()
        .map(|field| {
            let (owner, name, members) = (owner(field), name(field), &field.members);
            let var = &f.vars[f.wrt[field.param].var.0];
            if var.rank == 0 && !var.whole {
                quote!(let #name = #owner #members;)
            } else {
                quote!(let #name = &#owner #members;)
            }
        })
        .collect()
}

fn collect_items(stmts: &[Stmt], items: &mut TokenStream) {
    walk(stmts, &mut |s| {
        if let Stmt::Let {
            prim: Prim::Opaque(o),
            ..
        } = s
        {
            if o.is_item {
                items.extend(o.code.clone());
            }
        }
    });
}

/// The body of `<name>_jvp`: the forward sweep with, after each statement,
/// the tangents of what it defines, one per sweep class it is varied in
/// (forward mode: the rule templates with `g` = an argument's tangent, summed
/// over the arguments). `seeds` binds each differentiation variable's tangent
/// parameter. Returns the sweep and the directional derivative.
pub(super) fn emit_jvp(
    f: &Function,
    act: &Activity,
    seeds: &[Ident],
) -> (TokenStream, TokenStream) {
    let (saves, fused) = (Saves::new(), Fused::new());
    let mut p = Primal {
        f,
        act,
        saves: &saves,
        fused: &fused,
        tangents: true,
    };
    let mut items = TokenStream::new();
    collect_items(&f.body.stmts, &mut items);
    let mut bind = field_bindings(
        f,
        |field| &f.wrt[field.owner].ident,
        |field| f.ident(f.wrt[field.param].var).clone(),
    );
    for (j, (param, seed)) in f.wrt.iter().zip(seeds).enumerate() {
        let t = p.tan(param.var, act.class_of[j]);
        bind.extend(quote!(let #t = #seed;));
    }
    // The tangent of a field: that field of the struct's tangent.
    bind.extend(field_bindings(
        f,
        |field| &seeds[field.owner],
        |field| p.tan(f.wrt[field.param].var, act.class_of[field.param]),
    ));
    let body = p.block(&f.body.stmts);
    let result = &f.body.yields[0];
    let terms: Vec<TokenStream> = (0..act.classes)
        .filter_map(|k| p.tan_of(result, k))
        .collect();
    let derivative = if terms.is_empty() {
        let rt = runtime();
        let value = p.op(result);
        quote!(#rt::zero_like(&#value))
    } else {
        quote!(#(#terms)+*)
    };
    (quote!(#items #bind #body), derivative)
}

impl Primal<'_> {
    pub(super) fn block(&mut self, stmts: &[Stmt]) -> TokenStream {
        stmts.iter().map(|s| self.stmt(s)).collect()
    }

    pub(super) fn op(&self, o: &Operand) -> TokenStream {
        operand(&self.f.vars, o)
    }

    pub(super) fn stmt(&mut self, s: &Stmt) -> TokenStream {
        match s {
            Stmt::Let { outs, prim, span } => {
                let mut code = self.let_stmt(outs, prim, *span);
                if self.tangents {
                    code.extend(self.tangent_let(outs, prim));
                }
                code
            }
            Stmt::If(i) => self.if_stmt(i),
            Stmt::Loop(l) => self.loop_stmt(l),
        }
    }

    /// One primitive, as the user wrote it. Every primitive is listed: a new
    /// one does not compile until it is printed.
    pub(super) fn let_stmt(&mut self, outs: &[VarId], prim: &Prim, span: Span) -> TokenStream {
        let lhs = match outs {
            [o] => {
                let var = &self.f.vars[o.0];
                let ident = &var.ident;
                let mutable = (var.storage && var.mutable).then(|| quote!(mut));
                match &var.ty {
                    Some(ty) => quote!(#mutable #ident: #ty),
                    None => quote!(#mutable #ident),
                }
            }
            _ => quote!(_),
        };
        match prim {
            Prim::Copy(a) => {
                let a = self.op(a);
                quote!(let #lhs = #a;)
            }
            Prim::Apply { form, args, .. } => {
                let e = apply_tokens(&self.f.vars, form, args);
                quote_spanned!(span=> let #lhs = #e;)
            }
            Prim::Stop {
                arg,
                callee,
                is_macro,
                ..
            } => {
                let a = self.op(arg);
                if *is_macro {
                    quote!(let #lhs = #callee!(@within #a);)
                } else {
                    quote!(let #lhs = #callee(#a);)
                }
            }
            Prim::Index {
                base,
                index,
                by_ref,
            } => self.index(&lhs, *base, index, *by_ref, span),
            Prim::Store {
                base,
                index,
                value,
                push,
            } => self.store(*base, index, value, *push, span),
            Prim::NewArray(new) => {
                let init = self.new_array(new, |p, e| p.op(e));
                quote_spanned!(span=> let #lhs = #init;)
            }
            Prim::ArrayFn { name, callee, args } => self.array_fn(&lhs, name, callee, args, span),
            Prim::Call { callee, args } => self.call(outs, callee, args, span),
            Prim::Opaque(o) => self.opaque(&lhs, o),
        }
    }

    // ----- tangents (forward mode) -----

    /// The tangent of `v` in class `k`.
    pub(super) fn tan(&self, v: VarId, k: usize) -> Ident {
        crate::names::tangent(&self.f.vars[v.0].stem, k, self.act.classes)
    }

    /// The tangent of an operand, if it can be nonzero in class `k`.
    pub(super) fn tan_of(&self, o: &Operand, k: usize) -> Option<TokenStream> {
        let v = o.var().filter(|v| self.act.is_varied(*v, k))?;
        let t = self.tan(v, k);
        Some(quote!(#t))
    }

    /// The tangent of a number, or a zero of its type.
    pub(super) fn tan_or_zero(&self, o: &Operand, k: usize) -> TokenStream {
        self.tan_of(o, k).unwrap_or_else(|| {
            let rt = runtime();
            let v = self.value_of(o);
            quote!(#rt::zero_like(&#v))
        })
    }

    /// An operand as a number (`*v` for an element bound by reference).
    pub(super) fn value_of(&self, o: &Operand) -> TokenStream {
        match o {
            Operand::Var(v) if self.f.vars[v.0].reference => {
                let ident = self.f.ident(*v);
                quote!((*#ident))
            }
            o => self.op(o),
        }
    }

    /// `let t = ..;` for what a statement defines, per class. Every
    /// primitive is listed: a new one does not compile until its tangent is
    /// written.
    pub(super) fn tangent_let(&self, outs: &[VarId], prim: &Prim) -> TokenStream {
        let mut code = TokenStream::new();
        for k in 0..self.act.classes {
            if let Prim::Store {
                base,
                index,
                value,
                push,
            } = prim
            {
                code.extend(self.store_tangent(*base, index, value, *push, k));
                continue;
            }
            let Some(&o) = outs.first() else { continue };
            if !self.act.is_varied(o, k) {
                continue;
            }
            let t_o = self.tan(o, k);
            let rhs = match prim {
                Prim::Copy(a) | Prim::Stop { arg: a, .. } => self.tan_or_zero(a, k),
                Prim::Apply {
                    rule: Some(rule),
                    args,
                    ..
                } => self.apply_tangent(rule, args, o, k),
                Prim::Index { base, index, .. } => self.index_tangent(o, *base, index, k),
                Prim::NewArray(new) => self.new_array_tangent(o, new, k),
                Prim::ArrayFn { name, args, .. } => self.array_fn_tangent(o, name, args, k),
                Prim::Call { callee, args } => self.call_tangent(outs, callee, args, k),
                // Not varied (activity analysis).
                Prim::Apply { rule: None, .. } | Prim::Opaque(_) | Prim::Store { .. } => continue,
            };
            let mutable = self.f.vars[o.0].storage.then(|| quote!(mut));
            code.extend(quote!(let #mutable #t_o = #rhs;));
        }
        code
    }

    /// Tangent outputs of an `if` or a loop: (tangent, value) per varied (var, class).
    pub(super) fn tangent_lanes(&self, vars: &[VarId]) -> Vec<(VarId, usize)> {
        if !self.tangents {
            return Vec::new();
        }
        vars.iter()
            .flat_map(|v| (0..self.act.classes).map(move |k| (*v, k)))
            .filter(|(v, k)| self.act.is_varied(*v, *k))
            .collect()
    }

    pub(super) fn idents(&self, vs: &[VarId]) -> Vec<proc_macro2::Ident> {
        let set: BTreeSet<VarId> = vs.iter().copied().collect();
        set.into_iter().map(|v| self.f.ident(v).clone()).collect()
    }
}
