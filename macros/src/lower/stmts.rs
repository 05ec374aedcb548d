//! Statement sequences (with the guards after a loop that may leave more),
//! `let`, patterns and assignment.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Pat, Stmt as SynStmt};

use super::escapes::{contains_exit, contains_return};
use super::exprs::macro_name;
use super::{block_items, placeholder, Exit, Flow, Item, Lower, Role, Value};
use crate::ir::*;

impl Lower<'_> {
    // ----- statement sequences -----

    pub(super) fn lower_seq(&mut self, items: &[Item<'_>], out: &mut Vec<Stmt>) -> Flow {
        let mut value = Value::Unit;
        for (i, item) in items.iter().enumerate() {
            match *item {
                Item::Open => self.scopes.push(Vec::new()),
                Item::Close => {
                    self.scopes.pop();
                }
                Item::Stmt(s) => self.lower_stmt(s, out),
                Item::Exit(exit) => return self.leave(exit, None, out),
                Item::Guard(flag, exit) => {
                    let rest = &items[i + 1..];
                    return self.lower_guard(Operand::Var(flag), &[Item::Exit(exit)], rest, out);
                }
                Item::Expr(e, role) => match e {
                    Expr::Return(r) => {
                        let v = match &r.expr {
                            Some(e) => self.lower_expr(e, out),
                            // rustc reports the missing value (E0069).
                            None => Value::Scalar(placeholder()),
                        };
                        if self.in_loop_body() {
                            let v = self.scalar(v, r.span());
                            return self.leave_function(v);
                        }
                        return Flow::Returned(v);
                    }
                    Expr::Break(b) if self.in_loop_body() => {
                        let target = self.target(b.label.as_ref());
                        return self.leave(Exit::Break(target), b.expr.as_deref(), out);
                    }
                    Expr::Continue(c) if self.in_loop_body() => {
                        let target = self.target(c.label.as_ref());
                        return self.leave(Exit::Continue(target), None, out);
                    }
                    Expr::If(ifx)
                        if contains_return(e) || (self.in_loop_body() && contains_exit(e)) =>
                    {
                        return self.lower_returning_if(ifx, role, &items[i + 1..], out);
                    }
                    Expr::Block(b)
                        if b.label.is_none()
                            && (contains_return(e)
                                || (self.in_loop_body() && contains_exit(e))) =>
                    {
                        let mut rest = block_items(&b.block, role);
                        rest.extend_from_slice(&items[i + 1..]);
                        return self.lower_seq(&rest, out);
                    }
                    _ => {
                        let v = self.lower_expr(e, out);
                        if !self.escapes.is_empty() {
                            // A loop that may leave more than itself: guards after it.
                            if role == Role::Value {
                                self.return_in_value(e);
                            }
                            let mut rest = self.guards_before(&items[i + 1..]);
                            if role == Role::Return {
                                // The loop's value is the result: `loop { .. break v; }`.
                                rest.push(Item::Exit(Exit::Return(self.result_var(v, out))));
                            }
                            return self.lower_seq(&rest, out);
                        }
                        match role {
                            Role::Return => return Flow::Returned(v),
                            Role::Value => value = v,
                            Role::Discard => {}
                        }
                    }
                },
            }
            if !self.escapes.is_empty() {
                // A loop inside a `let` (or another statement) that may leave more.
                let rest = self.guards_before(&items[i + 1..]);
                return self.lower_seq(&rest, out);
            }
        }
        Flow::Fell(value)
    }

    /// The guards the loop just lowered asks for (`escapes`), then `rest`.
    fn guards_before<'i>(&mut self, rest: &[Item<'i>]) -> Vec<Item<'i>> {
        let mut items: Vec<Item> = std::mem::take(&mut self.escapes)
            .into_iter()
            .map(|(flag, exit)| Item::Guard(flag, exit))
            .collect();
        items.extend_from_slice(rest);
        items
    }

    /// A value as a variable, for `Exit::Return`.
    fn result_var(&mut self, v: Value, out: &mut Vec<Stmt>) -> VarId {
        match self.scalar(v, Span::call_site()) {
            Operand::Var(v) => v,
            c => {
                let Value::Scalar(Operand::Var(v)) =
                    self.push_let(out, Prim::Copy(c), Span::call_site())
                else {
                    unreachable!("push_let makes a variable")
                };
                v
            }
        }
    }

    fn lower_stmt(&mut self, s: &SynStmt, out: &mut Vec<Stmt>) {
        match s {
            SynStmt::Local(local) => self.lower_let(local, out),
            SynStmt::Item(item) => out.push(Stmt::Let {
                outs: Vec::new(),
                prim: Prim::Opaque(Opaque {
                    is_item: true,
                    ..Opaque::reading(
                        item.to_token_stream(),
                        Vec::new(),
                        Construct::Other("item"),
                        TokenStream::new(),
                    )
                }),
                span: item.span(),
            }),
            SynStmt::Macro(m) => {
                let name = macro_name(&m.mac.path);
                self.opaque(s, Construct::Macro(name), out);
            }
            SynStmt::Expr(e, _) => {
                self.lower_expr(e, out);
            }
        }
    }

    fn lower_let(&mut self, local: &syn::Local, out: &mut Vec<Stmt>) {
        let (pat, ty) = match &local.pat {
            Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            p => (p, None),
        };
        match &local.init {
            None => self.declare_uninit(pat, ty),
            Some(init) => {
                if let Some((else_token, _)) = &init.diverge {
                    self.errors.push_spanned(
                        else_token,
                        "`let .. else` is not supported in differentiated code; use `if`/`else`",
                    );
                    return;
                }
                let first_new = self.vars.len();
                let value = match self.lower_grad_call(&init.expr, pat, out) {
                    Some(v) => v,
                    None => self.lower_expr(&init.expr, out),
                };
                if self.binds_array(pat, ty) {
                    self.array_valued_call(&value, None, out);
                }
                self.bind_pattern(pat, ty, value, first_new, out);
                if matches!(&*init.expr, Expr::Reference(_)) && matches!(pat, Pat::Tuple(_)) {
                    let mut names = Vec::new();
                    pattern_names(pat, &mut names);
                    for name in names {
                        if let Some(v) = self.lookup_var(&name) {
                            self.copies.insert(v);
                        }
                    }
                }
            }
        }
    }

    /// `let y;` or `let y: f64;`: the type belongs to the later assignments.
    fn declare_uninit(&mut self, pat: &Pat, ty: Option<&syn::Type>) {
        match pat {
            Pat::Ident(p) => {
                self.declare_typed(&p.ident.to_string(), None, p.mutability.is_some(), ty)
            }
            Pat::Tuple(t) => {
                for (i, p) in t.elems.iter().enumerate() {
                    let ty = tuple_element_type(ty, i);
                    self.declare_uninit(p, ty);
                }
            }
            Pat::Type(t) => self.declare_uninit(&t.pat, Some(&t.ty)),
            Pat::Paren(p) => self.declare_uninit(&p.pat, ty),
            Pat::Wild(_) => {}
            p => self.unsupported_pattern(p),
        }
    }

    pub(super) fn unsupported_pattern(&self, p: &Pat) {
        self.errors.push_spanned(
            p,
            "this pattern is not supported in differentiated code; bind a name or a tuple of names, as in `let (a, b) = ..`",
        );
    }

    /// Binds `pat` to `value`. Variables created since `first_new` are this
    /// initializer's own temporaries and take the user's name instead of a copy.
    fn bind_pattern(
        &mut self,
        pat: &Pat,
        ty: Option<&syn::Type>,
        value: Value,
        first_new: usize,
        out: &mut Vec<Stmt>,
    ) {
        match pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                let name = p.ident.to_string();
                let bound = self.bind_value(&name, ty, value, first_new, out, p.ident.span());
                if let Value::Scalar(Operand::Var(v)) = &bound {
                    // (A block's own `let mut` array, `let h = { .. acc }`, stays mutable.)
                    if v.0 >= first_new && self.vars[v.0].storage {
                        self.vars[v.0].mutable |= p.mutability.is_some();
                    }
                }
                self.declare_typed(&name, Some(bound), p.mutability.is_some(), ty);
            }
            Pat::Wild(_) => {}
            Pat::Paren(p) => self.bind_pattern(&p.pat, ty, value, first_new, out),
            Pat::Type(t) => self.bind_pattern(&t.pat, Some(&t.ty), value, first_new, out),
            Pat::Tuple(t) => {
                let parts = match value {
                    Value::Tuple(parts) if parts.len() == t.elems.len() => parts,
                    // A constant tuple (`const PAIR: (f64, f64)`): its fields are constants.
                    Value::Scalar(Operand::Const(c)) => (0..t.elems.len())
                        .map(|i| {
                            let index = syn::Index::from(i);
                            Value::Scalar(Operand::Const(quote!(#c.#index)))
                        })
                        .collect(),
                    Value::Scalar(Operand::Var(v)) => {
                        // A tuple computed by code the macro does not see into:
                        // project its fields (no derivative flows through them).
                        let (construct, origin) = match self.call_names.get(&v) {
                            Some((name, call)) => {
                                (Construct::TupleCall(name.clone()), call.clone())
                            }
                            None => (
                                Construct::Other(
                                    "a tuple computed by code the macro does not differentiate",
                                ),
                                t.to_token_stream(),
                            ),
                        };
                        (0..t.elems.len())
                            .map(|i| {
                                let index = syn::Index::from(i);
                                let ident = self.vars[v.0].ident.clone();
                                let prim = Prim::Opaque(Opaque::reading(
                                    quote!(#ident.#index),
                                    vec![(v, self.var_name(v))],
                                    construct.clone(),
                                    origin.clone(),
                                ));
                                self.push_let(out, prim, t.span())
                            })
                            .collect()
                    }
                    // A mismatched shape is a type error rustc reports.
                    _ => (0..t.elems.len())
                        .map(|_| Value::Scalar(placeholder()))
                        .collect(),
                };
                for (i, (p, v)) in t.elems.iter().zip(parts).enumerate() {
                    let ty = tuple_element_type(ty, i);
                    self.bind_pattern(p, ty, v, first_new, out);
                }
            }
            p => self.unsupported_pattern(p),
        }
    }

    fn bind_value(
        &mut self,
        name: &str,
        ty: Option<&syn::Type>,
        value: Value,
        first_new: usize,
        out: &mut Vec<Stmt>,
        span: Span,
    ) -> Value {
        match value {
            Value::Scalar(Operand::Var(v)) if v.0 >= first_new && self.vars[v.0].ty.is_none() => {
                self.rename_var(v, name);
                self.vars[v.0].ty = ty.cloned();
                Value::Scalar(Operand::Var(v))
            }
            Value::Scalar(Operand::Var(v)) if self.vars[v.0].storage => {
                let array = self.var_name(v);
                self.errors.push(syn::Error::new(
                    span,
                    format!("`{name}` would be a second name for the local array `{array}`, which is not supported in differentiated code; use `{array}` itself, or build `{name}` element by element"),
                ));
                Value::Scalar(Operand::Var(v))
            }
            // Arrays are aliased, never copied: rustc checks the annotation
            // on the user's function.
            Value::Scalar(Operand::Var(v)) if ty.is_none() || self.vars[v.0].is_array() => {
                Value::Scalar(Operand::Var(v))
            }
            Value::Scalar(o) => {
                let v = self.new_var(Some(name));
                self.vars[v.0].ty = ty.cloned();
                out.push(Stmt::Let {
                    outs: vec![v],
                    prim: Prim::Copy(o),
                    span,
                });
                Value::Scalar(Operand::Var(v))
            }
            Value::Tuple(parts) => Value::Tuple(
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let ty = tuple_element_type(ty, i);
                        self.bind_value(&format!("{name}_{i}"), ty, p, first_new, out, span)
                    })
                    .collect(),
            ),
            Value::Unit => Value::Unit,
        }
    }

    pub(super) fn lower_assign(
        &mut self,
        e: &Expr,
        a: &syn::ExprAssign,
        out: &mut Vec<Stmt>,
    ) -> Value {
        if let Some((array, index)) = self.storage_place(&a.left) {
            // The value first, as Rust evaluates it.
            let value = self.lower_operand(&a.right, out);
            let (root, index) = self.lower_indices(array, &index, out);
            self.store(root, index, value, false, e.span(), out);
            return Value::Unit;
        }
        let target = match &*a.left {
            Expr::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
            _ => None,
        };
        // `h = cell(&h, x);`: the new state from a function that returns an array.
        if let Some(to) = target.as_ref().and_then(|t| self.storage_name(t)) {
            if matches!(&*a.right, Expr::Call(_) | Expr::MethodCall(_)) {
                return self.assign_array_call(&to, &a.right, out);
            }
        }
        // `h = next;` between local arrays (a recurrent state replaced each
        // step): copied element by element, as `h.copy_from_slice(&next)`.
        if let (Some(to), Some(from)) = (
            target.as_ref().and_then(|t| self.storage_name(t)),
            self.storage_path(&a.right),
        ) {
            return self.copy_array(&to, &from, out);
        }
        if let Some(ident) = target {
            let name = ident.to_string();
            if self.lookup(&name).is_some() {
                let first_new = self.vars.len();
                let value = self.lower_expr(&a.right, out);
                let ty = self.lookup(&name).and_then(|e| e.ty.clone());
                let bound =
                    self.bind_value(&name, ty.as_ref(), value, first_new, out, ident.span());
                if let Some(entry) = self.lookup_mut(&name) {
                    entry.value = Some(bound);
                }
                return Value::Unit;
            }
        }
        // `(a, b) = (b, a)`: each name gets its part, all read before any is written.
        if let Expr::Tuple(targets) = &*a.left {
            let names: Option<Vec<String>> = targets
                .elems
                .iter()
                .map(|t| match t {
                    Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
                    _ => None,
                })
                .collect();
            if let Some(names) = names.filter(|ns| ns.iter().all(|n| self.lookup(n).is_some())) {
                let first_new = self.vars.len();
                if let Value::Tuple(parts) = self.lower_expr(&a.right, out) {
                    if parts.len() == names.len() {
                        for (name, part) in names.iter().zip(parts) {
                            let ty = self.lookup(name).and_then(|e| e.ty.clone());
                            let bound =
                                self.bind_value(name, ty.as_ref(), part, first_new, out, e.span());
                            if let Some(entry) = self.lookup_mut(name) {
                                entry.value = Some(bound);
                            }
                        }
                    }
                }
                return Value::Unit;
            }
        }
        self.opaque(e, Construct::Other("this assignment"), out)
    }
}

impl Lower<'_> {
    /// `name` if it names a local array of numbers (rank 1).
    pub(super) fn storage_name(&self, name: &Ident) -> Option<Ident> {
        let v = self.lookup_var(&name.to_string())?;
        (self.vars[v.0].storage && self.vars[v.0].rank == 1).then(|| name.clone())
    }

    /// `next` or `&next` naming a local array of numbers.
    pub(super) fn storage_path(&self, e: &Expr) -> Option<Ident> {
        match e {
            Expr::Reference(r) if r.mutability.is_none() => self.storage_path(&r.expr),
            Expr::Paren(p) => self.storage_path(&p.expr),
            Expr::Path(p) if p.qself.is_none() => self.storage_name(p.path.get_ident()?),
            _ => None,
        }
    }

    /// `for k in 0..from.len() { to[k] = from[k]; }`, lowered: the copy of
    /// one local array into another of the same length (a shorter `to`
    /// panics at the first element past its end, as `copy_from_slice` does).
    pub(super) fn copy_array(&mut self, to: &Ident, from: &Ident, out: &mut Vec<Stmt>) -> Value {
        let k = Ident::new("__sgrad_k", Span::mixed_site());
        let copy: Expr = syn::parse_quote!(for #k in 0..#from.len() { #to[#k] = #from[#k]; });
        self.lower_expr(&copy, out);
        Value::Unit
    }

    /// `std::mem::swap(&mut a, &mut b)` between local arrays, element by
    /// element.
    pub(super) fn swap_arrays(&mut self, a: &Ident, b: &Ident, out: &mut Vec<Stmt>) -> Value {
        let k = Ident::new("__sgrad_k", Span::mixed_site());
        let t = Ident::new("__sgrad_t", Span::mixed_site());
        let swap: Expr = syn::parse_quote!(for #k in 0..#a.len() {
            let #t = #a[#k];
            #a[#k] = #b[#k];
            #b[#k] = #t;
        });
        self.lower_expr(&swap, out);
        Value::Unit
    }
}

/// The type of element `i` of a tuple type, if `ty` is one.
fn tuple_element_type(ty: Option<&syn::Type>, i: usize) -> Option<&syn::Type> {
    match ty {
        Some(syn::Type::Tuple(t)) => t.elems.iter().nth(i),
        _ => None,
    }
}

/// The names a pattern binds.
fn pattern_names(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(p) => out.push(p.ident.to_string()),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| pattern_names(p, out)),
        Pat::Paren(p) => pattern_names(&p.pat, out),
        Pat::Type(t) => pattern_names(&t.pat, out),
        _ => {}
    }
}
