//! The forward sweep: the original computation in A-normal form, plus the
//! branch records the backward sweep replays.
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
//!
//! Every primitive is printed as the user wrote it (`a * b`, `a.sin()`,
//! `f64::max(a, b)`), in the user's order, so values are bit-for-bit those of
//! the original function.

use std::collections::BTreeSet;

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::activity::Activity;
use crate::ir::*;
use crate::reverse::{runtime, Saves};

pub fn emit(f: &Function, act: &Activity, saves: &Saves) -> TokenStream {
    let mut p = Primal {
        f,
        act,
        saves,
        tangents: false,
    };
    // Nested items (`const K`, `use`, `fn`) go first: the backward sweep may
    // name them outside the block that declared them.
    let mut items = TokenStream::new();
    collect_items(&f.body.stmts, &mut items);
    let body = p.block(&f.body.stmts);
    let tapes = hoisted_tapes(&f.body.stmts, saves).into_iter().map(|t| {
        let t = f.ident(t);
        quote!(let mut #t = ::std::vec::Vec::new();)
    });
    quote!(#items #(#tapes)* #body)
}

/// The tapes of nested loops (`Loop::hoisted`) that hold something.
fn hoisted_tapes(stmts: &[Stmt], saves: &Saves) -> Vec<VarId> {
    let mut out = Vec::new();
    walk(stmts, &mut |s| {
        if let Stmt::Loop(l) = s {
            if l.hoisted && saves.get(&l.record).is_some_and(|s| !s.0.is_empty()) {
                out.push(l.record);
            }
        }
    });
    out
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

/// `(a..b)` or `(a..=b)`, reversed if `rev`.
pub fn range_tokens(a: &TokenStream, b: &TokenStream, inclusive: bool, rev: bool) -> TokenStream {
    let range = if inclusive {
        quote!((#a..=#b))
    } else {
        quote!((#a..#b))
    };
    if rev {
        quote!(#range.rev())
    } else {
        range
    }
}

/// A primitive applied to operands, as the user would write it.
pub fn apply_tokens(vars: &[Var], form: &Form, args: &[Operand]) -> TokenStream {
    let a: Vec<TokenStream> = args.iter().map(|o| operand(vars, o)).collect();
    match form {
        Form::Binary(op) => {
            let (l, r) = (&a[0], &a[1]);
            quote!(#l #op #r)
        }
        Form::Unary(op) => {
            let x = &a[0];
            quote!(#op #x)
        }
        Form::Method(name) => {
            let (recv, rest) = (&a[0], &a[1..]);
            quote!(#recv.#name(#(#rest),*))
        }
        Form::Path(path) => quote!(#path(#(#a),*)),
        Form::Cast(ty) => {
            let x = &a[0];
            quote!(#x as #ty)
        }
    }
}

pub fn operand(vars: &[Var], o: &Operand) -> TokenStream {
    match o {
        Operand::Var(v) => {
            let ident = &vars[v.0].ident;
            quote!(#ident)
        }
        Operand::Const(c) => c.clone(),
    }
}

/// The operands of a value: the one operand, or a tuple of them.
pub fn value_tokens(vars: &[Var], ops: &[Operand], scalar: bool) -> TokenStream {
    let ts: Vec<TokenStream> = ops.iter().map(|o| operand(vars, o)).collect();
    if scalar && ts.len() == 1 {
        ts[0].clone()
    } else {
        quote!((#(#ts,)*))
    }
}

/// The body of `<name>_jvp`: the forward sweep with, after each statement,
/// the tangents of what it defines, one per sweep class it is varied in
/// (forward mode: the rule templates with `g` = an argument's tangent, summed
/// over the arguments). `seeds` binds each differentiation variable's tangent
/// parameter. Returns the sweep and the directional derivative.
pub fn emit_jvp(f: &Function, act: &Activity, seeds: &[Ident]) -> (TokenStream, TokenStream) {
    let saves = Saves::new();
    let mut p = Primal {
        f,
        act,
        saves: &saves,
        tangents: true,
    };
    let mut items = TokenStream::new();
    collect_items(&f.body.stmts, &mut items);
    let mut bind = TokenStream::new();
    for (j, (param, seed)) in f.wrt.iter().zip(seeds).enumerate() {
        let t = p.tan(param.var, act.class_of[j]);
        bind.extend(quote!(let #t = #seed;));
    }
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

struct Primal<'a> {
    f: &'a Function,
    act: &'a Activity,
    saves: &'a Saves,
    /// Print tangents too (`emit_jvp`).
    tangents: bool,
}

impl Primal<'_> {
    fn block(&mut self, stmts: &[Stmt]) -> TokenStream {
        stmts.iter().map(|s| self.stmt(s)).collect()
    }

    fn op(&self, o: &Operand) -> TokenStream {
        operand(&self.f.vars, o)
    }

    fn stmt(&mut self, s: &Stmt) -> TokenStream {
        match s {
            Stmt::Let { outs, prim, .. } if self.tangents => {
                let mut code = self.let_stmt(s);
                code.extend(self.tangent_let(outs, prim));
                code
            }
            Stmt::Let { .. } => self.let_stmt(s),
            Stmt::If(i) => self.if_stmt(i),
            Stmt::Loop(l) => self.loop_stmt(l),
        }
    }

    fn let_stmt(&mut self, s: &Stmt) -> TokenStream {
        match s {
            Stmt::Let { outs, prim, span } => {
                let lhs = match &outs[..] {
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
                        quote_spanned!(*span=> let #lhs = #e;)
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
                    } => {
                        let base = self.f.ident(*base);
                        let index = index.iter().map(|i| self.op(i));
                        let amp = by_ref.then(|| quote!(&));
                        quote_spanned!(*span=> let #lhs = #amp #base #([#index])*;)
                    }
                    Prim::Store {
                        base,
                        index,
                        value,
                        push,
                    } => {
                        let base = self.f.ident(*base);
                        let value = self.op(value);
                        if *push {
                            quote_spanned!(*span=> #base.push(#value);)
                        } else {
                            let index = index.iter().map(|i| self.op(i));
                            quote_spanned!(*span=> #base #([#index])* = #value;)
                        }
                    }
                    Prim::NewArray(new) => {
                        let init = self.new_array(new, |p, e| p.op(e));
                        quote_spanned!(*span=> let #lhs = #init;)
                    }
                    Prim::ArrayFn { name, callee, args } => {
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
                        quote_spanned!(*span=> #check let #lhs = #callee(#(#args),*);)
                    }
                    Prim::Call { callee, args } => {
                        let pullback = self.act.differentiates(outs[0], args);
                        let args = args.iter().map(|a| {
                            let v = self.op(&a.value);
                            let var = a.value.var().map(|v| &self.f.vars[v.0]);
                            let reference = var.is_some_and(|v| v.reference);
                            let row_by_value =
                                var.is_some_and(|v| v.view.is_some() && !v.reference);
                            if a.by_ref && !reference {
                                quote!(&#v)
                            } else if row_by_value {
                                // `f(w[1])`: the row by value (its view borrows `&w[1]`).
                                quote!(*#v)
                            } else {
                                v
                            }
                        });
                        let rename = |name: &proc_macro2::Ident| {
                            if pullback {
                                crate::names::pullback_fn(name)
                            } else {
                                name.clone()
                            }
                        };
                        let call = match callee {
                            Callee::Path(path) => {
                                let mut path = path.clone();
                                if let Some(last) = path.segments.last_mut() {
                                    last.ident = rename(&last.ident);
                                }
                                quote_spanned!(*span=> #path(#(#args),*))
                            }
                            Callee::Method(m) => {
                                let m = rename(m);
                                quote_spanned!(*span=> self.#m(#(#args),*))
                            }
                        };
                        if pullback {
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
                    // Items are hoisted to the top of the function (see `emit`).
                    Prim::Opaque(o) if o.is_item => TokenStream::new(),
                    Prim::Opaque(o) => {
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
                            code.extend(quote!(let #lhs = { #prelude let __ad_value = { #body }; #epilogue __ad_value };));
                        }
                        code
                    }
                }
            }
            Stmt::If(_) | Stmt::Loop(_) => unreachable!("let statements only"),
        }
    }

    /// `[e; n]`, `vec![a, b]`, `Vec::new()`..: a new array as written, each
    /// element printed by `elem` (its value, or its tangent).
    fn new_array(
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

    // ----- tangents (forward mode) -----

    /// The tangent of `v` in class `k`.
    fn tan(&self, v: VarId, k: usize) -> Ident {
        crate::names::tangent(&self.f.vars[v.0].stem, k, self.act.classes)
    }

    /// The tangent of an operand, if it can be nonzero in class `k`.
    fn tan_of(&self, o: &Operand, k: usize) -> Option<TokenStream> {
        let v = o.var().filter(|v| self.act.is_varied(*v, k))?;
        let t = self.tan(v, k);
        Some(quote!(#t))
    }

    /// The tangent of a number, or a zero of its type.
    fn tan_or_zero(&self, o: &Operand, k: usize) -> TokenStream {
        self.tan_of(o, k).unwrap_or_else(|| {
            let rt = runtime();
            let v = self.value_of(o);
            quote!(#rt::zero_like(&#v))
        })
    }

    /// An operand as a number (`*v` for an element bound by reference).
    fn value_of(&self, o: &Operand) -> TokenStream {
        match o {
            Operand::Var(v) if self.f.vars[v.0].reference => {
                let ident = self.f.ident(*v);
                quote!((*#ident))
            }
            o => self.op(o),
        }
    }

    /// `let t = ..;` for what a statement defines, per class.
    fn tangent_let(&self, outs: &[VarId], prim: &Prim) -> TokenStream {
        let rt = runtime();
        let mut code = TokenStream::new();
        for k in 0..self.act.classes {
            if let Prim::Store {
                base,
                index,
                value,
                push,
            } = prim
            {
                if self.act.is_varied(*base, k) {
                    let t = self.tan(*base, k);
                    let tv = self.tan_or_zero(value, k);
                    let index = index.iter().map(|i| self.op(i));
                    code.extend(if *push {
                        quote!(#t.push(#tv);)
                    } else {
                        quote!(#t #([#index])* = #tv;)
                    });
                }
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
                } => {
                    let terms: Vec<TokenStream> = args
                        .iter()
                        .zip(rule.partials)
                        .filter_map(|(a, p)| {
                            let g = self.tan_of(a, k)?;
                            let template = (*p)?;
                            let vars = &self.f.vars;
                            let mut operand = |o: &Operand| match o {
                                Operand::Var(v) if vars[v.0].reference => {
                                    let ident = &vars[v.0].ident;
                                    quote!((*#ident))
                                }
                                o => operand(vars, o),
                            };
                            let share =
                                crate::rules::instantiate(template, &g, args, o, &mut operand);
                            Some(quote!((#share)))
                        })
                        .collect();
                    quote!(#(#terms)+*)
                }
                Prim::Index { base, index, .. } => {
                    let t = self.tan(*base, k);
                    let index = index.iter().map(|i| self.op(i));
                    if self.f.vars[o.0].is_array() {
                        quote!(&#t #([#index])*)
                    } else {
                        quote!(#t #([#index])*)
                    }
                }
                // An empty `Vec` gets its element type from the value's (the
                // user's annotation may be all that fixes it).
                Prim::NewArray(NewArray::Empty { capacity, .. }) => {
                    let rt = runtime();
                    let like = self.f.ident(o);
                    let capacity = capacity.as_ref().map_or_else(|| quote!(0), |c| self.op(c));
                    quote!(#rt::empty_like(&#like, #capacity))
                }
                Prim::NewArray(new) => self.new_array(new, |p, e| p.tan_or_zero(e, k)),
                Prim::ArrayFn { name, args, .. } => {
                    let terms: Vec<TokenStream> = args
                        .iter()
                        .enumerate()
                        .filter(|(_, (a, _))| self.act.is_varied(*a, k))
                        .map(|(i, (a, _))| {
                            let (x, t) = (self.f.ident(*a), self.tan(*a, k));
                            let ans = self.f.ident(o);
                            match *name {
                                "log_sum_exp" => {
                                    quote!(#rt::partials::log_sum_exp_jvp(&#x[..], #ans, &#t[..]))
                                }
                                "log_softmax" => {
                                    quote!(#rt::partials::log_softmax_jvp(&#x[..], &#t[..]))
                                }
                                "dot" => {
                                    let other = self.f.ident(args[1 - i].0);
                                    quote!(#rt::dot(&#t[..], &#other[..]))
                                }
                                _ => quote!(#rt::sum(&#t[..])),
                            }
                        })
                        .collect();
                    quote!(#(#terms)+*)
                }
                // Its value reaches nothing: a zero tangent, never read.
                Prim::Call { args, .. } if !self.act.differentiates(o, args) => {
                    let v = self.f.ident(o);
                    quote!(#rt::zero_like(&#v))
                }
                Prim::Call { callee, args } => {
                    let gs = self.f.ident(outs[1]);
                    let first = usize::from(matches!(callee, Callee::Method(_)));
                    let terms: Vec<TokenStream> = args
                        .iter()
                        .enumerate()
                        .filter_map(|(i, a)| {
                            let t = self.tan_of(&a.value, k)?;
                            let i = syn::Index::from(first + i);
                            let (at, gs, krate) = crate::names::at_argument(gs, a.span);
                            Some(quote_spanned!(at=> ::#krate::__private::along(&#gs.#i, &#t)))
                        })
                        .collect();
                    quote!(#(#terms)+*)
                }
                // Not varied (activity analysis).
                Prim::Apply { rule: None, .. } | Prim::Opaque(_) | Prim::Store { .. } => continue,
            };
            let mutable = self.f.vars[o.0].storage.then(|| quote!(mut));
            code.extend(quote!(let #mutable #t_o = #rhs;));
        }
        code
    }

    /// Tangent outputs of an `if` or a loop: (tangent, value) per varied (var, class).
    fn tangent_lanes(&self, vars: &[VarId]) -> Vec<(VarId, usize)> {
        if !self.tangents {
            return Vec::new();
        }
        vars.iter()
            .flat_map(|v| (0..self.act.classes).map(move |k| (*v, k)))
            .filter(|(v, k)| self.act.is_varied(*v, *k))
            .collect()
    }

    /// `: (f32, _, ..)` when some output of an `if` or loop has a type on
    /// its `let`, so that literals in the branches get that type.
    fn out_types(&self, outs: &[VarId], extra: usize) -> TokenStream {
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

    fn if_stmt(&mut self, i: &If) -> TokenStream {
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

    /// ```text
    /// let mut __ad_tape = tape(&(a..b));        // only if the backward sweep needs values
    /// let mut __ad_s_2 = __ad_s;                // carried: holds the running value
    /// for __ad_i in a..b {
    ///     let __ad_s_1 = __ad_s_2;              // its value at the top of the iteration
    ///     ..body..
    ///     __ad_tape.push((__ad_t, ..));          // what the backward sweep reads
    ///     __ad_s_2 = __ad_s_3;
    /// }
    /// ```
    fn loop_stmt(&mut self, l: &Loop) -> TokenStream {
        let rt = runtime();
        let (a, b) = (self.op(&l.range.start), self.op(&l.range.end));
        let mut range = range_tokens(&a, &b, l.range.inclusive, l.range.rev);
        if let Some(k) = &l.range.step {
            let k = self.op(k);
            range = quote!(#range.step_by(#k));
        }
        let index = self.f.ident(l.index);
        let mut holders: Vec<Ident> = l
            .carried
            .iter()
            .map(|c| self.f.ident(c.out).clone())
            .collect();
        let mut holder_decls: Vec<_> = l
            .carried
            .iter()
            .map(|c| {
                let ident = self.f.ident(c.out);
                match &self.f.vars[c.out.0].ty {
                    Some(t) => quote!(#ident: #t),
                    None => quote!(#ident),
                }
            })
            .collect();
        let mut inputs: Vec<_> = l.carried.iter().map(|c| self.op(&c.input)).collect();
        let mut starts: Vec<Ident> = l
            .carried
            .iter()
            .map(|c| self.f.ident(c.start).clone())
            .collect();
        let mut ends: Vec<_> = l.carried.iter().map(|c| self.op(&c.end)).collect();
        // Forward mode: the tangents of carried variables are carried too.
        let starts_of: Vec<VarId> = l.carried.iter().map(|c| c.start).collect();
        for (start, k) in self.tangent_lanes(&starts_of) {
            let c = l
                .carried
                .iter()
                .find(|c| c.start == start)
                .expect("carried");
            let holder = self.tan(c.out, k);
            holder_decls.push(quote!(#holder));
            holders.push(holder);
            inputs.push(self.tan_or_zero(&c.input, k));
            starts.push(self.tan(c.start, k));
            ends.push(self.tan_or_zero(&c.end, k));
        }
        let body = self.block(&l.body.stmts);
        // A `while` loop always keeps its tape: its length is the trip count.
        let (tape_init, tape_push) = match self.saves.get(&l.record) {
            Some((saved, _)) if !saved.is_empty() || l.counted_by_tape() => {
                let record = self.f.ident(l.record);
                let saved = self.idents(saved);
                let init = if l.hoisted {
                    TokenStream::new()
                } else if l.cond.is_some() {
                    quote!(let mut #record = ::std::vec::Vec::new();)
                } else {
                    quote!(let mut #record = #rt::tape(&#range);)
                };
                (init, quote!(#record.push((#(#saved,)*));))
            }
            _ => (TokenStream::new(), TokenStream::new()),
        };
        // `break` / `continue`: the body said whether to go on.
        let stop = l.exit.as_ref().map(|keep_going| {
            let keep_going = self.op(keep_going);
            quote!(if !#keep_going { break; })
        });
        match &l.cond {
            None => quote! {
                #tape_init
                #(let mut #holder_decls = #inputs;)*
                for #index in #range {
                    #(let #starts = #holders;)*
                    #body
                    #tape_push
                    #(#holders = #ends;)*
                    #stop
                }
            },
            // `while`: the condition reads the iteration's starting values.
            Some((stmts, cond)) => {
                let cond_stmts = self.block(stmts);
                let cond = self.op(cond);
                quote! {
                    #tape_init
                    #(let mut #holder_decls = #inputs;)*
                    loop {
                        #(let #starts = #holders;)*
                        #cond_stmts
                        if !#cond {
                            break;
                        }
                        #body
                        #tape_push
                        #(#holders = #ends;)*
                        #stop
                    }
                }
            }
        }
    }

    fn idents(&self, vs: &[VarId]) -> Vec<proc_macro2::Ident> {
        let set: BTreeSet<VarId> = vs.iter().copied().collect();
        set.into_iter().map(|v| self.f.ident(v).clone()).collect()
    }
}
