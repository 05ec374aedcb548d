//! Arrays: element reads (`x[i]`, rows `&x[i]`), local arrays and their
//! stores (`a[i] = v`, `push`), and the runtime's functions of whole arrays
//! (`ARRAY_FUNCTIONS` in `rules.rs`). An array's adjoint and tangent are
//! arrays of its shape, updated element by element.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use super::{Backward, Primal};
use crate::ir::print::element_tokens;
use crate::ir::*;
use crate::names::runtime;
use crate::rules::{self, Slot};

impl Backward<'_> {
    /// An array argument of a runtime function: the root array whose
    /// adjoint receives its derivative, and the indices of the row.
    pub(super) fn array_arg(&mut self, a: VarId) -> (VarId, TokenStream) {
        match self.f.vars[a.0].view.clone() {
            Some((root, path)) => (root, self.place(root, &path)),
            None => (a, TokenStream::new()),
        }
    }

    /// `o = base[i]..`: a number read from an array goes to that element of
    /// its adjoint (a view's derivative goes straight to its array, through
    /// the reads of its elements).
    pub(super) fn index(
        &mut self,
        base: VarId,
        index: &[Operand],
        o: VarId,
        k: usize,
        g: &Ident,
    ) -> TokenStream {
        if !self.act.is_varied(base, k) || self.f.vars[o.0].is_array() {
            return TokenStream::new();
        }
        if let Some(register) = self.carried_register(base, index, k) {
            return quote!(#register += #g;);
        }
        let index = self.place(base, index);
        self.accumulate_array(base, k, |adj| quote!(#adj #index += #g;))
    }

    /// `a[i].. = v`: the element's adjoint moves to `v` and becomes zero,
    /// since the old value no longer reaches the output through it.
    pub(super) fn store(&mut self, base: VarId, index: &[Operand], value: &Operand) -> TokenStream {
        let mut code = TokenStream::new();
        for k in 0..self.act.classes {
            if !self.act.is_varied(base, k) {
                continue;
            }
            if !self.declared.contains(&(base, k)) && !self.pending.contains(&(base, k)) {
                if self.is_local(base) {
                    // Nothing later reads the array: its adjoint is all zeros.
                    continue;
                }
                // Later iterations of a loop around us may read it.
                self.pending.insert((base, k));
            }
            let adj = self.adjoint(base, k);
            let index = self.indices(index);
            let taken = quote!(::core::mem::take(&mut #adj #index));
            match value.var().filter(|v| self.act.is_varied(*v, k)) {
                Some(v) => code.extend(self.accumulate(v, k, taken)),
                None => code.extend(quote!(#taken;)),
            }
        }
        code
    }

    /// A new local array: each starting element gets its element's adjoint.
    pub(super) fn new_array(&mut self, new: &NewArray, k: usize, g: &Ident) -> TokenStream {
        let mut code = TokenStream::new();
        match new {
            NewArray::Repeat { elem, .. } => {
                if let Some(e) = elem.var().filter(|e| self.act.is_varied(*e, k)) {
                    let rt = runtime();
                    code.extend(self.accumulate(e, k, quote!(#rt::sum(&#g[..]))));
                }
            }
            NewArray::List { elems, .. } => {
                for (i, e) in elems.iter().enumerate() {
                    if let Some(e) = e.var().filter(|e| self.act.is_varied(*e, k)) {
                        code.extend(self.accumulate(e, k, quote!(#g[#i])));
                    }
                }
            }
            NewArray::Empty { .. } => {}
        }
        code
    }

    /// `o = log_sum_exp(&x)` and the other array functions: each varied
    /// argument's adjoint gets its share, by the rule's `vjp` template.
    pub(super) fn array_fn(
        &mut self,
        name: &str,
        args: &[(VarId, bool)],
        o: VarId,
        k: usize,
        g: &Ident,
    ) -> TokenStream {
        let Some(rule) = rules::array_function(name) else {
            return TokenStream::new();
        };
        let mut code = TokenStream::new();
        for (i, (a, _)) in args.iter().enumerate() {
            if !self.act.is_varied(*a, k) {
                continue;
            }
            // The values the template reads, printed (and so recorded as read)
            // before the adjoint it adds to is borrowed.
            let other = (rule.arity == 2).then(|| args[1 - i].0);
            let mut wanted = Vec::new();
            rules::instantiate(rule.vjp, &quote!(#g), &mut |slot| {
                wanted.push(slot);
                None
            });
            let (mut x, mut y, mut ans) = (None, None, None);
            for slot in wanted {
                match slot {
                    Slot::Arg(0) => x = Some(self.operand(&Operand::Var(*a))),
                    Slot::Arg(_) => y = other.map(|b| self.operand(&Operand::Var(b))),
                    Slot::Ans => ans = Some(self.operand(&Operand::Var(o))),
                    Slot::Tangent | Slot::Adjoint => {}
                }
            }
            let (root, path) = self.array_arg(*a);
            code.extend(self.accumulate_array(root, k, |adj| {
                rules::instantiate(rule.vjp, &quote!(#g), &mut |slot| match slot {
                    Slot::Arg(0) => x.clone(),
                    Slot::Arg(_) => y.clone(),
                    Slot::Ans => ans.clone(),
                    Slot::Adjoint => Some(quote!(#adj #path)),
                    Slot::Tangent => None,
                })
            }));
        }
        code
    }
}

impl Primal<'_> {
    /// `let o = base[i]..;` (or `&base[i]..` for a row).
    pub(super) fn index(
        &self,
        lhs: &TokenStream,
        base: VarId,
        index: &[Operand],
        by_ref: bool,
        span: Span,
    ) -> TokenStream {
        let var = &self.f.vars[base.0];
        let base = self.f.ident(base).to_token_stream();
        let index: Vec<TokenStream> = index.iter().map(|i| self.op(i)).collect();
        let element = element_tokens(var, &base, &index, by_ref, span);
        quote_spanned!(span=> let #lhs = #element;)
    }

    /// `base[i].. = value;` or `base.push(value);`.
    pub(super) fn store(
        &self,
        base: VarId,
        index: &[Operand],
        value: &Operand,
        push: bool,
        span: Span,
    ) -> TokenStream {
        let base = self.f.ident(base);
        let value = self.op(value);
        if push {
            quote_spanned!(span=> #base.push(#value);)
        } else {
            let index = index.iter().map(|i| self.op(i));
            quote_spanned!(span=> #base #([#index])* = #value;)
        }
    }

    /// `let o = log_sum_exp(&x);`, as the user called it.
    pub(super) fn array_fn(
        &self,
        lhs: &TokenStream,
        name: &str,
        callee: &syn::Path,
        args: &[(VarId, bool)],
        span: Span,
    ) -> TokenStream {
        // A bare `sum(..)` gets sgrad's rule: it must be sgrad's
        // function (imported), not one of the user's own. Two
        // different functions have different types: a type error.
        let check = (callee.segments.len() == 1).then(|| {
            let krate = Ident::new(crate::symbol::CRATE, proc_macro2::Span::call_site());
            let own = Ident::new(name, callee.span());
            let first = self.f.ident(args[0].0);
            let witness = match args.len() {
                1 => quote!(is_runtime_fn1),
                _ => quote!(is_runtime_fn2),
            };
            quote_spanned!(callee.span()=> ::#krate::__private::#witness(#callee, ::#krate::#own, &#first[..]);)
        });
        let args = args.iter().map(|(a, by_ref)| {
            let a = self.f.ident(*a);
            if *by_ref {
                quote!(&#a)
            } else {
                quote!(#a)
            }
        });
        quote_spanned!(span=> #check let #lhs = #callee(#(#args),*);)
    }

    /// `[e; n]`, `vec![a, b]`, `Vec::new()`..: a new array as written, each
    /// element printed by `elem` (its value, or its tangent).
    pub(super) fn new_array(
        &self,
        new: &NewArray,
        elem: impl Fn(&Self, &Operand) -> TokenStream,
    ) -> TokenStream {
        match new {
            NewArray::Repeat { elem: e, len, vec } => {
                let (e, len) = (elem(self, e), self.op(len));
                if *vec {
                    quote!(::std::vec![#e; #len])
                } else {
                    quote!([#e; #len])
                }
            }
            NewArray::List { elems, vec } => {
                let elems = elems.iter().map(|e| elem(self, e));
                if *vec {
                    quote!(::std::vec![#(#elems),*])
                } else {
                    quote!([#(#elems),*])
                }
            }
            NewArray::Empty { ctor, capacity } => {
                let capacity = capacity.as_ref().map(|c| self.op(c));
                quote!(#ctor(#capacity))
            }
        }
    }

    /// The tangent of a store: the same store into the tangent array.
    pub(super) fn store_tangent(
        &self,
        base: VarId,
        index: &[Operand],
        value: &Operand,
        push: bool,
        k: usize,
    ) -> TokenStream {
        if !self.act.is_varied(base, k) {
            return TokenStream::new();
        }
        let t = self.tan(base, k);
        let tv = self.tan_or_zero(value, k);
        let index = index.iter().map(|i| self.op(i));
        if push {
            quote!(#t.push(#tv);)
        } else {
            quote!(#t #([#index])* = #tv;)
        }
    }

    /// The tangent of `o = base[i]..`: the same element (or row) of the base's tangent.
    pub(super) fn index_tangent(
        &self,
        o: VarId,
        base: VarId,
        index: &[Operand],
        k: usize,
    ) -> TokenStream {
        let t = self.tan(base, k).to_token_stream();
        let index: Vec<TokenStream> = index.iter().map(|i| self.op(i)).collect();
        let by_ref = self.f.vars[o.0].is_array();
        element_tokens(&self.f.vars[base.0], &t, &index, by_ref, Span::call_site())
    }

    /// The tangent of a new array: the array of its elements' tangents.
    pub(super) fn new_array_tangent(&self, o: VarId, new: &NewArray, k: usize) -> TokenStream {
        match new {
            // An empty `Vec` gets its element type from the value's (the
            // user's annotation may be all that fixes it).
            NewArray::Empty { capacity, .. } => {
                let rt = runtime();
                let like = self.f.ident(o);
                let capacity = capacity.as_ref().map_or_else(|| quote!(0), |c| self.op(c));
                quote!(#rt::empty_like(&#like, #capacity))
            }
            new => self.new_array(new, |p, e| p.tan_or_zero(e, k)),
        }
    }

    /// The tangent of `o = log_sum_exp(&x)` and the other array functions:
    /// the sum over the varied arguments of the rule's `jvp` template.
    pub(super) fn array_fn_tangent(
        &self,
        o: VarId,
        name: &str,
        args: &[(VarId, bool)],
        k: usize,
    ) -> TokenStream {
        let Some(rule) = rules::array_function(name) else {
            return TokenStream::new();
        };
        let terms: Vec<TokenStream> = args
            .iter()
            .enumerate()
            .filter(|(_, (a, _))| self.act.is_varied(*a, k))
            .map(|(i, (a, _))| {
                let other = (rule.arity == 2).then(|| self.f.ident(args[1 - i].0));
                let g = TokenStream::new();
                rules::instantiate(rule.jvp, &g, &mut |slot| match slot {
                    Slot::Arg(0) => Some(self.f.ident(*a).to_token_stream()),
                    Slot::Arg(_) => other.map(|b| b.to_token_stream()),
                    Slot::Ans => Some(self.f.ident(o).to_token_stream()),
                    Slot::Tangent => Some(self.tan(*a, k).to_token_stream()),
                    Slot::Adjoint => None,
                })
            })
            .collect();
        quote!(#(#terms)+*)
    }
}
