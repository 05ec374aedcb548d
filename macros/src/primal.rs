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

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::activity::Activity;
use crate::ir::*;
use crate::reverse::{runtime, Saves};

pub fn emit(f: &Function, act: &Activity, saves: &Saves) -> TokenStream {
    let mut p = Primal { f, act, saves };
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
    for s in stmts {
        match s {
            Stmt::Let { .. } => {}
            Stmt::If(i) => {
                out.extend(hoisted_tapes(&i.then_branch.stmts, saves));
                out.extend(hoisted_tapes(&i.else_branch.stmts, saves));
            }
            Stmt::Loop(l) => {
                if l.hoisted && saves.get(&l.record).is_some_and(|s| !s.0.is_empty()) {
                    out.push(l.record);
                }
                out.extend(hoisted_tapes(&l.body.stmts, saves));
            }
        }
    }
    out
}

fn collect_items(stmts: &[Stmt], items: &mut TokenStream) {
    for s in stmts {
        match s {
            Stmt::Let {
                prim: Prim::Opaque(o),
                ..
            } if o.is_item => items.extend(o.code.clone()),
            Stmt::Let { .. } => {}
            Stmt::If(i) => {
                collect_items(&i.then_branch.stmts, items);
                collect_items(&i.else_branch.stmts, items);
            }
            Stmt::Loop(l) => {
                if let Some((c, _)) = &l.cond {
                    collect_items(c, items);
                }
                collect_items(&l.body.stmts, items);
            }
        }
    }
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

struct Primal<'a> {
    f: &'a Function,
    act: &'a Activity,
    saves: &'a Saves,
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
                        let init = match new {
                            NewArray::Repeat { elem, len, vec } => {
                                let (elem, len) = (self.op(elem), self.op(len));
                                if *vec {
                                    quote!(::std::vec![#elem; #len])
                                } else {
                                    quote!([#elem; #len])
                                }
                            }
                            NewArray::List { elems, vec } => {
                                let elems = elems.iter().map(|e| self.op(e));
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
                        };
                        quote_spanned!(*span=> let #lhs = #init;)
                    }
                    Prim::ArrayFn { callee, args, .. } => {
                        let args = args.iter().map(|(a, by_ref)| {
                            let a = self.f.ident(*a);
                            if *by_ref {
                                quote!(&#a)
                            } else {
                                quote!(#a)
                            }
                        });
                        quote_spanned!(*span=> let #lhs = #callee(#(#args),*);)
                    }
                    Prim::Call { callee, args } => {
                        let pullback = self.act.differentiates(args);
                        let args = args.iter().map(|a| {
                            let v = self.op(&a.value);
                            if a.by_ref {
                                quote!(&#v)
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
            Stmt::If(i) => self.if_stmt(i),
            Stmt::Loop(l) => self.loop_stmt(l),
        }
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
        let outs: Vec<_> = i.outs.iter().map(|o| self.f.ident(*o)).collect();
        let then_stmts = self.block(&i.then_branch.stmts);
        let else_stmts = self.block(&i.else_branch.stmts);
        let then_yields: Vec<_> = i.then_branch.yields.iter().map(|y| self.op(y)).collect();
        let else_yields: Vec<_> = i.else_branch.yields.iter().map(|y| self.op(y)).collect();
        match self.saves.get(&i.record) {
            Some((then_saved, else_saved)) => {
                let record = self.f.ident(i.record);
                let ts = self.idents(then_saved);
                let es = self.idents(else_saved);
                let types = self.out_types(&i.outs, 1);
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
                let types = self.out_types(&i.outs, 0);
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
        let holders: Vec<_> = l.carried.iter().map(|c| self.f.ident(c.out)).collect();
        let holder_decls: Vec<_> = l
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
        let inputs: Vec<_> = l.carried.iter().map(|c| self.op(&c.input)).collect();
        let starts: Vec<_> = l.carried.iter().map(|c| self.f.ident(c.start)).collect();
        let ends: Vec<_> = l.carried.iter().map(|c| self.op(&c.end)).collect();
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
