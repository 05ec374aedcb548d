//! Calls of other differentiated functions, through their pullbacks
//! (`<name>_pullback`: the value and the callee's gradient per parameter),
//! and code passed through opaquely, which carries no derivative.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};

use super::{Backward, Primal};
use crate::ir::*;
use crate::names::{self, runtime};

impl Backward<'_> {
    /// A call through the callee's pullback: each argument gets the callee's
    /// gradient for its parameter, scaled by the adjoint of the call's value.
    pub(super) fn call(
        &mut self,
        value: VarId,
        grads: VarId,
        callee: &Callee,
        args: &[CallArg],
    ) -> TokenStream {
        // `self.method(..)`: the pullback's first gradient is the receiver's.
        let first = usize::from(matches!(callee, Callee::Method(_)));
        if self.f.vars[value.0].is_array() {
            return self.array_call(value, grads, callee, first, args);
        }
        let mut code = TokenStream::new();
        for k in 0..self.act.classes {
            if !self.declared.contains(&(value, k)) {
                continue;
            }
            if args
                .iter()
                .any(|a| a.value.var().is_some_and(|a| self.act.is_varied(a, k)))
            {
                self.referenced.insert(grads);
            }
            let g = self.adjoint(value, k);
            let gs = self.f.ident(grads).clone();
            code.extend(self.receive(args, first, k, &gs, &Weight::Scaled(g)));
        }
        code
    }

    /// A call whose value is an array (`let q = dense(&w, &b, x)`): the
    /// callee's pullback runs here, per class, with the adjoint of `q` as
    /// the cotangent, and each argument gets its gradient from it.
    fn array_call(
        &mut self,
        value: VarId,
        grads: VarId,
        callee: &Callee,
        first: usize,
        args: &[CallArg],
    ) -> TokenStream {
        let mut code = TokenStream::new();
        for k in 0..self.act.classes {
            if !self.declared.contains(&(value, k)) {
                continue;
            }
            let cotangent = self.adjoint(value, k);
            let printed: Vec<TokenStream> = args
                .iter()
                .map(|a| {
                    let v = self.operand_as_written(&a.value);
                    call_arg(self.f, a, v)
                })
                .collect();
            let gs = quote::format_ident!("{}_c{}", self.f.ident(grads), k);
            let call = callee_call(
                callee,
                printed,
                true,
                Some(quote!(&#cotangent[..])),
                Span::call_site(),
            );
            code.extend(quote!(let (_, #gs) = #call;));
            code.extend(self.receive(args, first, k, &gs, &Weight::Unit(cotangent)));
        }
        code
    }

    /// Each argument varied in class `k` gets its gradient `gs.(first + i)`
    /// from the callee's pullback, weighted as `weight` says.
    fn receive(
        &mut self,
        args: &[CallArg],
        first: usize,
        k: usize,
        gs: &Ident,
        weight: &Weight,
    ) -> TokenStream {
        let mut code = TokenStream::new();
        for (i, arg) in args.iter().enumerate() {
            let Some(a) = arg.value.var().filter(|a| self.act.is_varied(*a, k)) else {
                continue;
            };
            let (at, gs, krate) = names::at_argument(gs, arg.span);
            let i = syn::Index::from(first + i);
            let var = &self.f.vars[a.0];
            if var.rank == 1 && !var.whole && !var.ndarray {
                // An array: added element by element, whatever its container
                // (`[f64; N]` argument, `Vec` gradient from a `&[f64]` parameter).
                let (root, path) = self.array_arg(a);
                code.extend(self.accumulate_array(root, k, |adj| match weight {
                    Weight::Scaled(g) => quote_spanned!(at=> ::#krate::__private::add_scaled(&mut #adj #path[..], #g, &#gs.#i);),
                    Weight::Unit(_) => quote_spanned!(at=> ::#krate::__private::add_gradient(&mut #adj #path[..], &#gs.#i);),
                }));
                continue;
            }
            let share = match weight {
                Weight::Scaled(g) => quote_spanned!(at=> ::#krate::__private::scale(#g, &#gs.#i)),
                Weight::Unit(c) => {
                    quote_spanned!(at=> ::#krate::__private::received(#gs.#i, &#c[..]))
                }
            };
            if var.whole {
                // A parameter struct: added to in place (a scaled copy of
                // the callee's gradient per call would cost an allocation).
                let adj = self.adjoint(a, k);
                let add = match weight {
                    Weight::Scaled(g) => quote_spanned!(at=> ::#krate::Differentiable::axpy(
                        &mut #adj, ::core::convert::Into::<f64>::into(#g), &#gs.#i);),
                    Weight::Unit(_) => {
                        quote_spanned!(at=> ::#krate::Differentiable::accumulate(&mut #adj, &#gs.#i);)
                    }
                };
                code.extend(self.declare_or_add(a, k, share, add));
                continue;
            }
            code.extend(self.accumulate(a, k, share));
        }
        code
    }
}

/// How a callee's gradients reach the arguments: scaled by the adjoint `g`
/// of a call's number, or as they are, for a call whose value is an array
/// whose adjoint (`Unit`'s cotangent, which fixes the scalar type) the
/// pullback has already taken in.
enum Weight {
    Scaled(Ident),
    Unit(Ident),
}

/// An argument as a call is written: `&x` where the user wrote a reference
/// to a value, `*row` for a row passed by value, else the value.
fn call_arg(f: &Function, a: &CallArg, v: TokenStream) -> TokenStream {
    let var = a.value.var().map(|v| &f.vars[v.0]);
    let reference = var.is_some_and(|v| v.reference);
    // (A row `a.row(i)` of an `ndarray` array is a view by value already.)
    let row_by_value = var.is_some_and(|v| v.view.is_some() && !v.reference && !v.ndarray);
    if a.by_ref && !reference {
        quote!(&#v)
    } else if row_by_value {
        // `f(w[1])`: the row by value (its view borrows `&w[1]`).
        quote!(*#v)
    } else {
        v
    }
}

/// `f(args..)`, or `f_pullback(args.., extra)` (`self.m_pullback(..)` for a method).
fn callee_call(
    callee: &Callee,
    mut args: Vec<TokenStream>,
    pullback: bool,
    extra: Option<TokenStream>,
    span: Span,
) -> TokenStream {
    args.extend(extra);
    let rename = |name: &proc_macro2::Ident| {
        if pullback {
            names::pullback_fn(name)
        } else {
            name.clone()
        }
    };
    match callee {
        Callee::Path(path) => {
            let mut path = path.clone();
            if let Some(last) = path.segments.last_mut() {
                last.ident = rename(&last.ident);
            }
            quote_spanned!(span=> #path(#(#args),*))
        }
        Callee::Method(m) => {
            let m = rename(m);
            quote_spanned!(span=> self.#m(#(#args),*))
        }
    }
}

impl Primal<'_> {
    /// `let v = f(args..);`, or, when a derivative flows through the call,
    /// `let (v, grads) = f_pullback(args..);`. A call whose value is an
    /// array is made as written: its pullback runs in the backward sweep.
    pub(super) fn call(
        &self,
        outs: &[VarId],
        callee: &Callee,
        args: &[CallArg],
        span: Span,
    ) -> TokenStream {
        let array = self.f.vars[outs[0].0].is_array();
        let pullback = !array && self.act.differentiates(outs[0], args);
        let args = args
            .iter()
            .map(|a| call_arg(self.f, a, self.op(&a.value)))
            .collect();
        let call = callee_call(callee, args, pullback, None, span);
        if array {
            let v = self.f.ident(outs[0]);
            let var = &self.f.vars[outs[0].0];
            let mutable = var.mutable.then(|| quote!(mut));
            let ty = var.ty.as_ref().map(|t| quote!(: #t));
            quote!(let #mutable #v #ty = #call;)
        } else if pullback {
            let (v, gs) = (self.f.ident(outs[0]), self.f.ident(outs[1]));
            let ty = self.f.vars[outs[0].0]
                .ty
                .as_ref()
                .map(|t| quote!(: (#t, _)));
            quote!(let (#v, #gs) #ty = #call;)
        } else {
            let v = self.f.ident(outs[0]);
            let ty = self.f.vars[outs[0].0].ty.as_ref().map(|t| quote!(: #t));
            quote!(let #v #ty = #call;)
        }
    }

    /// The tangent of a call: the callee's gradients along the arguments' tangents.
    pub(super) fn call_tangent(
        &self,
        outs: &[VarId],
        callee: &Callee,
        args: &[CallArg],
        k: usize,
    ) -> TokenStream {
        let o = outs[0];
        if self.f.vars[o.0].is_array() {
            let span = args.first().map_or_else(Span::call_site, |a| a.span);
            return quote_spanned!(span=> ::core::compile_error!("forward mode (`; forward`) does not go through calls of functions that return arrays yet; remove the option and use the gradient"));
        }
        if !self.act.differentiates(o, args) {
            // Its value reaches nothing: a zero tangent, never read.
            let rt = runtime();
            let v = self.f.ident(o);
            return quote!(#rt::zero_like(&#v));
        }
        let gs = self.f.ident(outs[1]);
        let first = usize::from(matches!(callee, Callee::Method(_)));
        let terms: Vec<TokenStream> = args
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let t = self.tan_of(&a.value, k)?;
                let i = syn::Index::from(first + i);
                let (at, gs, krate) = names::at_argument(gs, a.span);
                Some(quote_spanned!(at=> ::#krate::__private::along(&#gs.#i, &#t)))
            })
            .collect();
        quote!(#(#terms)+*)
    }

    /// Code passed through: the user's tokens, renamed, with the copies of
    /// what it writes.
    pub(super) fn opaque(&self, lhs: &TokenStream, o: &Opaque) -> TokenStream {
        // Items are hoisted to the top of the function (see `emit`).
        if o.is_item {
            return TokenStream::new();
        }
        let mut code = TokenStream::new();
        for v in &o.declares {
            let ident = self.f.ident(*v);
            let ty = self.f.vars[v.0].ty.as_ref().map(|t| quote!(: #t));
            code.extend(quote!(let mut #ident #ty;));
        }
        for (old, new) in &o.writes {
            let (old, new) = (self.f.ident(*old), self.f.ident(*new));
            code.extend(quote!(let mut #new = #old;));
        }
        let (prelude, body, epilogue) = (&o.prelude, &o.code, &o.epilogue);
        if epilogue.is_empty() {
            code.extend(quote!(let #lhs = { #prelude #body };));
        } else {
            code.extend(
                quote!(let #lhs = { #prelude let __ad_value = { #body }; #epilogue __ad_value };),
            );
        }
        code
    }
}
