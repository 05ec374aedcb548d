//! Calls: functions and methods with a rule, other `#[differentiable]`
//! functions (`Prim::Call`), the runtime's array functions, and the stop
//! sites `sg` and `sg_for!`.

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
        let base = last.ident.to_string().strip_suffix("_grad")?.to_owned();
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
                self.vars[v.0].rank = 1;
                self.vars[v.0].storage = true;
                self.storage_depth.insert(*v, self.loop_assigned.len());
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
