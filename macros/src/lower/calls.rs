//! Calls: functions and methods with a rule, other `#[differentiable]`
//! functions (`Prim::Call`), the runtime's array functions, and the stop
//! sites `sg` and `sg_for!`.

use std::collections::HashSet;

use proc_macro2::{Ident, Span};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::Expr;

use super::{placeholder, Lower, Value};
use crate::errors::Errors;
use crate::ir::*;
use crate::rules;
use crate::symbol::{SG, SG_FOR};

impl Lower<'_> {
    pub(super) fn lower_call(&mut self, e: &Expr, c: &syn::ExprCall, out: &mut Vec<Stmt>) -> Value {
        let path = match &*c.func {
            Expr::Path(p) if p.qself.is_none() => Some(&p.path),
            _ => None,
        };
        if let Some(path) = path {
            if is_sg(path) && c.args.len() == 1 {
                let value = self.lower_expr(&c.args[0], out);
                self.sites.push(Site { blocked: None });
                let site = self.sites.len() - 1;
                return self.stop(value, site, path, false, e.span(), out);
            }
            // `log_sum_exp(&x)`, `dot(&a, &b)`, `sum(&x)` of the runtime.
            if let Some(v) = self.array_fn(path, c, e.span(), out) {
                return v;
            }
            // `f64::sin(x)`, `f32::max(a, b)`: the float methods by path.
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            // `sgrad::sigmoid(x)`: a function of the runtime with a rule.
            if let [krate, name] = &segments[..] {
                let rule = rules::function(name, c.args.len());
                if krate == crate::symbol::CRATE {
                    if let Some(rule) = rule.filter(|_| path.segments[1].arguments.is_none()) {
                        let args = c.args.iter().map(|a| self.lower_operand(a, out)).collect();
                        return self.apply(
                            Some(rule),
                            Form::Path(path.clone()),
                            args,
                            e.span(),
                            out,
                        );
                    }
                }
            }
            if segments.len() >= 2
                && crate::symbol::FLOATS.contains(&segments[segments.len() - 2].as_str())
            {
                let last = path.segments.last().expect("two segments");
                // `f64::from(y)` converts like `y as f64`.
                let name = match segments[segments.len() - 1].as_str() {
                    "from" => "cast",
                    name => name,
                };
                let rule = if name == "cast" {
                    rules::find("cast", 1)
                } else {
                    rules::method(name, c.args.len())
                };
                if let Some(rule) = rule.filter(|r| r.arity == c.args.len()) {
                    if last.arguments.is_none() {
                        let args = c.args.iter().map(|a| self.lower_operand(a, out)).collect();
                        return self.apply(
                            Some(rule),
                            Form::Path(path.clone()),
                            args,
                            e.span(),
                            out,
                        );
                    }
                }
            }
        }
        if let Some(path) = path.filter(|p| self.may_be_differentiated(p)) {
            if let Some(args) = self.call_args(&c.args, out) {
                let name = path.segments.last().map(|s| s.ident.to_string());
                let value = self.call(Callee::Path(path.clone()), args, e.span(), out);
                if let (Value::Scalar(Operand::Var(v)), Some(name)) = (&value, name) {
                    self.vars[v.0].user = Some(format!("{name}(..)"));
                    self.call_names.insert(*v, (name, e.to_token_stream()));
                }
                return value;
            }
        }
        let mut callee = &*c.func;
        while let Expr::Paren(p) = callee {
            callee = &p.expr;
        }
        if matches!(callee, Expr::Closure(_)) {
            // `(|t| t * t)(w)`: a closure, called where it is written.
            return self.opaque(e, Construct::Closure, out);
        }
        if let Some(local) = path
            .and_then(|p| p.get_ident())
            .filter(|i| self.lookup(&i.to_string()).is_some())
        {
            // A closure (or function value) bound in the body, not inlined.
            return self.opaque(e, Construct::ClosureCall(local.to_string()), out);
        }
        let name = match path {
            Some(p) => p.to_token_stream().to_string().replace(' ', ""),
            // `(s.f)(x)`: named by its expression.
            None => c.func.to_token_stream().to_string().replace(' ', ""),
        };
        let writes = c
            .args
            .iter()
            .any(|a| matches!(a, Expr::Reference(r) if r.mutability.is_some()));
        if writes {
            return self.opaque(e, Construct::OutParameter(name), out);
        }
        self.opaque(e, Construct::Function(name), out)
    }

    /// Whether a called path may be a `#[differentiable]` function: not a
    /// local variable (a closure), nor a function of `std` or of a primitive type.
    fn may_be_differentiated(&self, path: &syn::Path) -> bool {
        const FOREIGN: &[&str] = &[
            "std", "core", "alloc", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8",
            "u16", "u32", "u64", "u128", "usize", "bool", "char", "str",
        ];
        let local = path
            .get_ident()
            .is_some_and(|i| self.lookup(&i.to_string()).is_some());
        // `Some(x)`, `Point(x, y)`: constructors, not functions.
        let constructor = path
            .segments
            .last()
            .is_some_and(|s| s.ident.to_string().starts_with(char::is_uppercase));
        !local
            && !constructor
            && !path
                .segments
                .iter()
                .any(|s| FOREIGN.contains(&s.ident.to_string().as_str()))
    }

    /// The arguments of a call of a function without a rule, lowered; `None`
    /// (nothing lowered) if one is a tuple or a `&mut`, which stay opaque.
    pub(super) fn call_args(
        &mut self,
        args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>,
        out: &mut Vec<Stmt>,
    ) -> Option<Vec<CallArg>> {
        let plain = args.iter().all(|a| match a {
            Expr::Tuple(_) => false,
            Expr::Reference(r) => r.mutability.is_none(),
            _ => true,
        });
        if !plain {
            return None;
        }
        let mut lowered = Vec::new();
        for a in args {
            let (inner, by_ref) = match a {
                Expr::Reference(r) => (&*r.expr, true),
                e => (e, false),
            };
            // `&x[i]` of an array is lowered as the reference it is.
            let (value, by_ref) = match self.array_place(inner) {
                Some((_, index)) if by_ref && !index.is_empty() => {
                    (self.lower_element(inner, true, out), true)
                }
                _ => (None, by_ref),
            };
            let value = match value {
                Some(v) => v,
                None => self.lower_expr(inner, out),
            };
            // `dense(&w2, &b2, &dense(&w1, &b1, x))`: a call lent by
            // reference returns an array.
            if by_ref && matches!(inner, Expr::Call(_) | Expr::MethodCall(_)) {
                self.array_valued_call(&value, None, out);
            }
            let value = self.scalar(value, a.span());
            lowered.push(CallArg {
                value,
                by_ref,
                span: a.span(),
            });
        }
        Some(lowered)
    }

    /// `let (v, g) = f_grad(args..)` or `let (v, (g1, g2, ..)) = ..`: the
    /// gradient of another differentiated function, inside this one (reverse
    /// over reverse). The shape comes from the pattern; the value is a call
    /// of `f`, and each component a call of `f_grad_<j>`, whose pullback is a
    /// row of `f`'s Hessian (see `expand::gradient_components`).
    pub(super) fn lower_grad_call(
        &mut self,
        init: &Expr,
        pat: &syn::Pat,
        out: &mut Vec<Stmt>,
    ) -> Option<Value> {
        let Expr::Call(c) = init else { return None };
        let Expr::Path(p) = &*c.func else { return None };
        let last = p.path.segments.last()?;
        let name = last.ident.to_string();
        // `let (v, d) = f_jvp(x, t);`: the value and the directional
        // derivative, components `f_jvp_0` and `f_jvp_1` (see `expand.rs`).
        if let Some(base) = name.strip_suffix("_jvp").filter(|b| !b.is_empty()) {
            if p.qself.is_some() || !self.may_be_differentiated(&p.path) {
                return None;
            }
            let syn::Pat::Tuple(t) = pat else { return None };
            if t.elems.len() != 2 {
                return None;
            }
            let args = self.call_args(&c.args, out)?;
            let span = init.span();
            let parts = (0..2)
                .map(|j| {
                    let mut path = p.path.clone();
                    if let Some(last) = path.segments.last_mut() {
                        last.ident = Ident::new(&format!("{base}_jvp_{j}"), last.ident.span());
                    }
                    self.call(Callee::Path(path), args.clone(), span, out)
                })
                .collect();
            return Some(Value::Tuple(parts));
        }
        let base = name.strip_suffix("_grad")?.to_owned();
        if p.qself.is_some() || base.is_empty() || !self.may_be_differentiated(&p.path) {
            return None;
        }
        let syn::Pat::Tuple(t) = pat else { return None };
        let components = match t.elems.iter().nth(1)? {
            syn::Pat::Tuple(g) if t.elems.len() == 2 => Some(g.elems.len()),
            _ if t.elems.len() == 2 => None,
            _ => return None,
        };
        let args = self.call_args(&c.args, out)?;
        let path_to = |name: String| {
            let mut path = p.path.clone();
            if let Some(last) = path.segments.last_mut() {
                last.ident = Ident::new(&name, last.ident.span());
            }
            path
        };
        let span = init.span();
        let value = self.call(Callee::Path(path_to(base.clone())), args.clone(), span, out);
        let mut component = |j: usize, out: &mut Vec<Stmt>| {
            let path = path_to(format!("{base}_grad_{j}"));
            self.call(Callee::Path(path), args.clone(), span, out)
        };
        let grads = match components {
            None => component(0, out),
            Some(n) => Value::Tuple((0..n).map(|j| component(j, out)).collect()),
        };
        Some(Value::Tuple(vec![value, grads]))
    }

    /// `let q = dense(&w, &b, x);` where the body uses `q` as an array (or
    /// its type says so), or `h = cell(&h, x);` with `h` a local array: the
    /// callee returns one, and the call (the last statement of `out`, whose
    /// value is `value`) becomes a storage array whose adjoint the backward
    /// sweep hands to the callee's pullback as the cotangent. That pullback
    /// reads the arguments again then, so a local array passed that the loop
    /// around changes is passed as a copy taken at the call (the recurrent
    /// `h = cell(&h, ..)`), and one changed later outside a loop is an error
    /// at the change; so is the array the call's value is `assigned` to. Returns
    /// the array, if `value` was such a call.
    pub(super) fn array_valued_call(
        &mut self,
        value: &Value,
        assigned: Option<VarId>,
        out: &mut Vec<Stmt>,
    ) -> Option<VarId> {
        let Value::Scalar(Operand::Var(v)) = value else {
            return None;
        };
        let is_call = |s: &Stmt| matches!(s, Stmt::Let { outs, prim: Prim::Call { .. }, .. } if outs[0] == *v);
        if !out.last().is_some_and(is_call) {
            return None;
        }
        let Some(Stmt::Let {
            outs,
            prim: Prim::Call { callee, mut args },
            span,
        }) = out.pop()
        else {
            unreachable!("checked above")
        };
        let name = match &callee {
            Callee::Path(path) => path.segments.last().map(|s| s.ident.to_string()),
            Callee::Method(m) => Some(m.to_string()),
        }
        .unwrap_or_default();
        for arg in &mut args {
            let Some(a) = arg.value.var().filter(|a| self.vars[a.0].storage) else {
                continue;
            };
            if self.changed_by_loop(a) || assigned == Some(a) {
                arg.value = Operand::Var(self.snapshot(a, arg.span, out));
            } else {
                self.read_whole(a, &name, arg.span);
            }
        }
        out.push(Stmt::Let {
            outs,
            prim: Prim::Call { callee, args },
            span,
        });
        self.make_storage(*v);
        Some(*v)
    }

    /// Whether `let pat: ty = ..` binds an array the body uses as one.
    pub(super) fn binds_array(&self, pat: &syn::Pat, ty: Option<&syn::Type>) -> bool {
        let syn::Pat::Ident(p) = pat else {
            return false;
        };
        match ty {
            Some(t) => crate::symbol::vector_element(t).is_some(),
            None => self.array_names.contains(&p.ident.to_string()),
        }
    }

    /// `h = cell(&h, x);` with `h` a local array: the call's array copied in.
    pub(super) fn assign_array_call(
        &mut self,
        to: &Ident,
        call: &Expr,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let value = self.lower_expr(call, out);
        let target = self.lookup_var(&to.to_string());
        let Some(next) = self.array_valued_call(&value, target, out) else {
            self.errors.push_spanned(
                call,
                format!("`{to}` is a local array, and this is not a call of a function that returns one; assign its elements, or `{to}.copy_from_slice(&other)`"),
            );
            return Value::Unit;
        };
        let from = self.name_hidden(next, "next", false);
        self.copy_array(to, &from, out)
    }

    /// A new local array holding the values `array` has now, element by element.
    fn snapshot(&mut self, array: VarId, span: Span, out: &mut Vec<Stmt>) -> VarId {
        let from = Ident::new(&self.var_name(array), span);
        let rt = crate::names::runtime();
        let ident = &self.vars[array.0].ident;
        let len: Expr = syn::parse_quote!(#from.len());
        let new = NewArray::Repeat {
            elem: Operand::Const(quote!(#rt::zero_element(&#ident))),
            len: self.lower_operand(&len, out),
            vec: true,
        };
        let Value::Scalar(Operand::Var(copy)) = self.push_let(out, Prim::NewArray(new), span)
        else {
            unreachable!("push_let makes a variable")
        };
        self.make_storage(copy);
        self.vars[copy.0].mutable = true;
        let to = self.name_hidden(copy, "copy", true);
        self.copy_array(&to, &from, out);
        copy
    }

    /// Binds `v` to a fresh name the user's code cannot see
    /// (`__sgrad_<stem><n>`), for the copy loops that lowering writes.
    fn name_hidden(&mut self, v: VarId, stem: &str, mutable: bool) -> Ident {
        self.snapshots += 1;
        let name = format!("__sgrad_{stem}{}", self.snapshots);
        self.rename_var(v, &name);
        self.declare(&name, Some(Value::Scalar(Operand::Var(v))), mutable);
        Ident::new(&name, Span::mixed_site())
    }

    /// `let (value, gradients) = callee(args..)` (see `Prim::Call`).
    pub(super) fn call(
        &mut self,
        callee: Callee,
        args: Vec<CallArg>,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let value = self.new_var(None);
        let grads = self.new_var(Some("pullback"));
        out.push(Stmt::Let {
            outs: vec![value, grads],
            prim: Prim::Call { callee, args },
            span,
        });
        Value::Scalar(Operand::Var(value))
    }

    pub(super) fn lower_sg_for(&mut self, mac: &syn::Macro, out: &mut Vec<Stmt>) -> Value {
        let parsed = match mac.parse_body_with(parse_sg_for) {
            Ok(p) => p,
            Err(err) => {
                self.errors.push(err);
                return Value::Scalar(Operand::Const(quote!(0.0)));
            }
        };
        let mut blocked = check_sg_for_names(
            &parsed.names,
            &self.wrt_names,
            &self.param_names,
            self.errors,
        );
        // Naming a parameter struct blocks each of its fields.
        let n = self.wrt_names.len();
        for (i, owner) in self.field_owners.iter().enumerate() {
            if blocked.contains(owner) {
                blocked.push(n + i);
            }
        }
        let value = self.lower_expr(&parsed.expr, out);
        self.sites.push(Site {
            blocked: Some(blocked),
        });
        let site = self.sites.len() - 1;
        self.stop(value, site, &mac.path, true, mac.span(), out)
    }

    /// A call of the runtime's array functions on array variables, if it is one.
    fn array_fn<'e>(
        &mut self,
        path: &syn::Path,
        c: &'e syn::ExprCall,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Option<Value> {
        let last = path.segments.last()?;
        let crate_path = path.segments.len() == 1
            || (path.segments.len() == 2 && path.segments[0].ident == crate::symbol::CRATE);
        let rule = rules::array_function(&last.ident.to_string())?;
        let (name, arity) = (rule.name, rule.arity);
        if !crate_path || c.args.len() != arity {
            return None;
        }
        // Each argument an array variable or a row of one (`&x[i]`), by
        // reference or not; anything else is constant data, read as written.
        let unref = |a: &'e Expr| match a {
            Expr::Reference(r) if r.mutability.is_none() => (&*r.expr, true),
            e => (e, false),
        };
        let mut args = Vec::new();
        for a in &c.args {
            let (inner, by_ref) = unref(a);
            let is_row = self
                .array_place(inner)
                .is_some_and(|(v, index)| !index.is_empty() && index.len() < self.vars[v.0].rank);
            let v = match self.array_var(inner) {
                Some(v) => v,
                // A row: the view is a reference already.
                None if is_row => match self.lower_element(inner, true, out) {
                    Some(Value::Scalar(Operand::Var(v))) => v,
                    _ => return None,
                },
                None => {
                    let value = self.lower_expr(a, out);
                    let value = self.scalar(value, a.span());
                    let Value::Scalar(Operand::Var(v)) =
                        self.push_let(out, Prim::Copy(value), a.span())
                    else {
                        unreachable!("push_let makes a variable")
                    };
                    args.push((v, false));
                    continue;
                }
            };
            if rule.reads_values {
                self.read_whole(v, name, a.span());
            }
            args.push((v, by_ref && self.vars[v.0].view.is_none()));
        }
        let prim = Prim::ArrayFn {
            name,
            callee: path.clone(),
            args,
        };
        let v = self.push_let(out, prim, span);
        if rule.returns_array {
            if let Value::Scalar(Operand::Var(v)) = &v {
                self.make_storage(*v);
            }
        }
        Some(v)
    }

    /// `sg`/`sg_for!` applied to each number of a value (tuples part by part).
    fn stop(
        &mut self,
        value: Value,
        site: usize,
        callee: &syn::Path,
        is_macro: bool,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Value {
        match value {
            Value::Scalar(arg) if arg.var().is_some() => {
                let prim = Prim::Stop {
                    site,
                    arg: arg.clone(),
                    callee: callee.clone(),
                    is_macro,
                };
                let v = self.push_let(out, prim, span);
                self.inherit_array(&v, &arg);
                v
            }
            Value::Tuple(parts) => Value::Tuple(
                parts
                    .into_iter()
                    .map(|p| self.stop(p, site, callee, is_macro, span, out))
                    .collect(),
            ),
            // A constant stays a constant.
            other => other,
        }
    }

    /// `receiver.name(args..)` for a method of the rule table.
    pub(super) fn method_call(
        &mut self,
        name: &str,
        args: Vec<Operand>,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        let rule = rules::find(name, args.len());
        let form = Form::Method(Ident::new(name, span));
        match self.apply(rule, form, args, span, out) {
            Value::Scalar(o) => o,
            _ => placeholder(),
        }
    }
}

/// The `wrt` indices `sg_for!` names; an error at each name that is not a
/// differentiation variable (SEMANTICS rule 5) or is listed twice.
pub(super) fn check_sg_for_names(
    names: &[Ident],
    wrt_names: &[Ident],
    param_names: &[String],
    errors: &Errors,
) -> Vec<usize> {
    let mut blocked = Vec::new();
    for name in names {
        match wrt_names.iter().position(|w| w == name) {
            Some(i) if blocked.contains(&i) => {
                errors.push_spanned(name, format!("`{name}` is listed twice"))
            }
            Some(i) => blocked.push(i),
            None => {
                let allowed = wrt_names
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let what = if param_names.iter().any(|p| name == p) {
                    format!("`{name}` is a constant parameter, not a differentiation variable")
                } else {
                    format!("`{name}` is not a differentiation variable")
                };
                let can = if wrt_names.len() == 1 {
                    allowed
                } else {
                    format!("one of {allowed}")
                };
                errors.push_spanned(name, format!("{what}; `sg_for!` can name {can}"));
            }
        }
    }
    blocked
}

fn is_sg(path: &syn::Path) -> bool {
    path.segments
        .last()
        .is_some_and(|s| s.ident == SG && s.arguments.is_none())
        && (path.segments.len() == 1
            || path.segments.len() == 2 && path.segments[0].ident == crate::symbol::CRATE)
}

pub(super) fn is_sg_for(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|s| s.ident == SG_FOR)
}

pub struct SgFor {
    pub names: Vec<Ident>,
    pub expr: Expr,
}

/// `v, e` or `[v, w], e`.
pub fn parse_sg_for(input: syn::parse::ParseStream) -> syn::Result<SgFor> {
    let mut names = Vec::new();
    if input.peek(syn::token::Bracket) {
        let content;
        let bracket = syn::bracketed!(content in input);
        let list = content.parse_terminated(
            |p: syn::parse::ParseStream| {
                p.parse::<Ident>().map_err(|e| {
                    syn::Error::new(e.span(), "expected the name of a differentiation variable")
                })
            },
            syn::Token![,],
        )?;
        if list.is_empty() {
            return Err(syn::Error::new(
                bracket.span.join(),
                "the list of variables is empty; name at least one, as in `sg_for!([phi, psi], e)`",
            ));
        }
        names.extend(list);
    } else if input.peek(syn::Ident) {
        let name: Ident = input.parse()?;
        if input.peek(syn::Token![.]) {
            // `sg_for!(net.w, e)`: a field of a parameter struct.
            let fork = input.fork();
            let field = fork
                .parse::<syn::Token![.]>()
                .and_then(|_| fork.parse::<syn::Member>())
                .map(|m| quote!(#name.#m))
                .unwrap_or_else(|_| quote!(#name));
            return Err(syn::Error::new_spanned(
                &field,
                format!(
                    "`sg_for!` names whole differentiation variables, not fields; write `sg_for!({name}, ..)` to hold all of `{name}` constant, or `sg(..)` around the field's uses to hold it constant for every variable"
                ),
            ));
        }
        names.push(name);
    } else {
        return Err(input.error(
            "expected a differentiation variable or a list of them, then the expression: `sg_for!(phi, e)` or `sg_for!([phi, psi], e)`",
        ));
    }
    if input.is_empty() {
        return Err(input.error(
            "expected `,` and then the expression whose gradient stops, as in `sg_for!(phi, e)`",
        ));
    }
    if !input.peek(syn::Token![,]) {
        return Err(input.error(
            "expected `,` after the variables, then the expression whose gradient stops: `sg_for!(phi, e)` or `sg_for!([phi, psi], e)`",
        ));
    }
    input.parse::<syn::Token![,]>()?;
    if input.is_empty() {
        return Err(
            input.error("expected the expression whose gradient stops, as in `sg_for!(phi, e)`")
        );
    }
    let expr: Expr = input.parse()?;
    input.parse::<Option<syn::Token![,]>>()?;
    if !input.is_empty() {
        return Err(
            input.error("unexpected tokens: `sg_for!` takes the variables and one expression")
        );
    }
    Ok(SgFor { names, expr })
}

/// The names the body uses as arrays: indexed (`q[j]`), walked (`q.iter()`,
/// `for v in &q`), measured (`q.len()`), lent to a call (`f(&q)`), or
/// assigned to or from such a name (`h = next`, `let a = b`). A
/// `let` of a call bound to one of them calls a function that returns an
/// array (`Lower::array_valued_call`). Shadowing is not followed: a wrong
/// guess is a type error in the generated code, never a wrong derivative.
pub(super) fn array_uses(block: Option<&syn::Block>, expr: Option<&Expr>) -> HashSet<String> {
    use syn::visit::Visit;
    struct Uses(HashSet<String>, Vec<(String, String)>);
    fn name(e: &Expr) -> Option<String> {
        match e {
            Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(ToString::to_string),
            Expr::Reference(r) => name(&r.expr),
            Expr::Paren(p) => name(&p.expr),
            _ => None,
        }
    }
    impl<'ast> Visit<'ast> for Uses {
        fn visit_expr(&mut self, e: &'ast Expr) {
            let used = match e {
                Expr::Index(i) => name(&i.expr),
                Expr::MethodCall(m)
                    if ["iter", "len", "to_vec", "as_slice", "first", "last"]
                        .contains(&m.method.to_string().as_str()) =>
                {
                    name(&m.receiver)
                }
                Expr::ForLoop(f) => name(&f.expr),
                _ => None,
            };
            self.0.extend(used);
            if let Expr::Assign(a) = e {
                if let (Some(l), Some(r)) = (name(&a.left), name(&a.right)) {
                    self.1.push((l, r));
                }
            }
            let args = match e {
                Expr::Call(c) => Some(&c.args),
                Expr::MethodCall(m) => Some(&m.args),
                _ => None,
            };
            for a in args.into_iter().flatten() {
                if let Expr::Reference(r) = a {
                    self.0.extend(name(&r.expr));
                }
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_local(&mut self, l: &'ast syn::Local) {
            let bound = match &l.pat {
                syn::Pat::Ident(p) => Some(p.ident.to_string()),
                syn::Pat::Type(t) => match &*t.pat {
                    syn::Pat::Ident(p) => Some(p.ident.to_string()),
                    _ => None,
                },
                _ => None,
            };
            if let (Some(l), Some(r)) = (bound, l.init.as_ref().and_then(|i| name(&i.expr))) {
                self.1.push((l, r));
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut uses = Uses(HashSet::new(), Vec::new());
    if let Some(b) = block {
        uses.visit_block(b);
    }
    if let Some(e) = expr {
        uses.visit_expr(e);
    }
    let Uses(mut names, pairs) = uses;
    // Either side of `a = b` an array makes the other one.
    loop {
        let before = names.len();
        for (a, b) in &pairs {
            if names.contains(a) || names.contains(b) {
                names.insert(a.clone());
                names.insert(b.clone());
            }
        }
        if names.len() == before {
            return names;
        }
    }
}
