//! Expressions: operators, casts, fields, and the dispatch to the other
//! lowerings.

use proc_macro2::Span;
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Pat};

use super::calls::is_sg_for;
use super::iterators;
use super::loops::{self, LoopSource};
use super::{placeholder, Lower, Value};
use crate::ir::*;
use crate::rules;

impl Lower<'_> {
    // ----- expressions -----

    pub(super) fn lower_operand(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Operand {
        let v = self.lower_expr(e, out);
        self.scalar(v, e.span())
    }

    pub(super) fn lower_expr(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Value {
        match e {
            Expr::Lit(l) => Value::Scalar(Operand::Const(l.to_token_stream())),
            Expr::Paren(p) => self.lower_expr(&p.expr, out),
            Expr::Group(g) => self.lower_expr(&g.expr, out),
            Expr::Path(p) => {
                if p.qself.is_none() {
                    if let Some(ident) = p.path.get_ident() {
                        if let Some(entry) = self.lookup(&ident.to_string()) {
                            return match &entry.value {
                                Some(v) => v.clone(),
                                None => Value::Scalar(Operand::Const(quote!(#ident))),
                            };
                        }
                    }
                }
                Value::Scalar(Operand::Const(p.to_token_stream()))
            }
            Expr::Tuple(t) => {
                Value::Tuple(t.elems.iter().map(|e| self.lower_expr(e, out)).collect())
            }
            Expr::Binary(b) => self.lower_binary(e, b, out),
            Expr::Unary(u) => match u.op {
                syn::UnOp::Neg(_) | syn::UnOp::Not(_) => {
                    let a = self.lower_operand(&u.expr, out);
                    let rule = match u.op {
                        syn::UnOp::Neg(_) => rules::find("neg", 1),
                        _ => rules::find("not", 1),
                    };
                    self.apply(rule, Form::Unary(u.op), vec![a], e.span(), out)
                }
                syn::UnOp::Deref(_)
                    if self
                        .path_var(&u.expr)
                        .is_some_and(|v| self.copies.contains(&v)) =>
                {
                    Value::Scalar(Operand::Var(self.path_var(&u.expr).expect("checked")))
                }
                syn::UnOp::Deref(_) if self.reference_var(&u.expr).is_some() => {
                    let v = self.reference_var(&u.expr).expect("checked");
                    self.apply(
                        rules::find("deref", 1),
                        Form::Unary(u.op),
                        vec![Operand::Var(v)],
                        e.span(),
                        out,
                    )
                }
                _ => self.opaque(e, Construct::Other("a dereference"), out),
            },
            Expr::Cast(c) => {
                let a = self.lower_operand(&c.expr, out);
                // Integer targets have no derivative; anything else (`f32`,
                // `_`, an alias) is taken as a float, so that a derivative is
                // never dropped silently (an integer alias then fails to compile).
                let rule = if is_integer_type(&c.ty) {
                    rules::find("cast_to_int", 1)
                } else {
                    rules::find("cast", 1)
                };
                self.apply(rule, Form::Cast((*c.ty).clone()), vec![a], e.span(), out)
            }
            Expr::MethodCall(m)
                if matches!(m.method.to_string().as_str(), "sum" | "product")
                    && m.args.is_empty() =>
            {
                match self.iter_of_array(&m.receiver, out) {
                    Some(a) => self.lower_fold(a, m.method == "product", e.span(), out),
                    None => match iterators::chain_as_loop(m) {
                        Some(as_loop) => self.lower_expr(&as_loop, out),
                        None => self.opaque(e, Construct::Method(m.method.to_string()), out),
                    },
                }
            }
            // `.fold(..)` and `.collect()` at the end of an iterator chain.
            Expr::MethodCall(m)
                if matches!(m.method.to_string().as_str(), "fold" | "collect")
                    && iterators::chain_as_loop(m).is_some() =>
            {
                let as_loop = iterators::chain_as_loop(m).expect("checked");
                self.lower_expr(&as_loop, out)
            }
            // `h.copy_from_slice(&next)` between local arrays.
            Expr::MethodCall(m)
                if m.method == "copy_from_slice"
                    && m.args.len() == 1
                    && self.storage_path(&m.receiver).is_some()
                    && self.storage_path(&m.args[0]).is_some() =>
            {
                let to = self.storage_path(&m.receiver).expect("checked");
                let from = self.storage_path(&m.args[0]).expect("checked");
                self.copy_array(&to, &from, out)
            }
            Expr::MethodCall(m)
                if m.method == "push"
                    && m.args.len() == 1
                    && self
                        .path_var(&m.receiver)
                        .is_some_and(|v| self.vars[v.0].storage) =>
            {
                let base = self.path_var(&m.receiver).expect("checked");
                let value = self.lower_operand(&m.args[0], out);
                let len = self.method_call("len", vec![Operand::Var(base)], e.span(), out);
                self.store(base, vec![len], value, true, e.span(), out);
                Value::Unit
            }
            Expr::MethodCall(m) if self.ndarray_method(m).is_some() => {
                let array = self.ndarray_method(m).expect("checked");
                self.lower_ndarray_method(e, m, array, out)
            }
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                // `self.log(x)` is the user's method, never the float one.
                let rule = rules::method(&name, m.args.len() + 1).filter(|_| !is_self(&m.receiver));
                // The length of a row of an array that carries no derivative
                // (`idx[i].len()`, `idx: &[Vec<usize>]`): read as written,
                // not through a copy of the row (a `Vec` cannot be moved out).
                let opaque_row = name == "len"
                    && matches!(&*m.receiver, Expr::Index(_))
                    && self.array_place(&m.receiver).is_none();
                match rule {
                    Some(_) if opaque_row => self.opaque(e, Construct::Method(name), out),
                    Some(rule) if m.turbofish.is_none() => {
                        let mut args = vec![self.lower_operand(&m.receiver, out)];
                        for a in &m.args {
                            args.push(self.lower_operand(a, out));
                        }
                        self.apply(
                            Some(rule),
                            Form::Method(m.method.clone()),
                            args,
                            e.span(),
                            out,
                        )
                    }
                    _ if m.turbofish.is_none() && self.struct_receiver(&m.receiver).is_some() => {
                        // A differentiated receiver is an argument like any
                        // other: `Type::m(net, ..)`, its gradient in slot 0.
                        let (receiver, ty) = self.struct_receiver(&m.receiver).expect("checked");
                        match self.call_args(&m.args, out) {
                            Some(mut args) => {
                                args.insert(
                                    0,
                                    CallArg {
                                        value: Operand::Var(receiver),
                                        by_ref: false,
                                        span: m.receiver.span(),
                                    },
                                );
                                let mut path = ty;
                                path.segments.push(m.method.clone().into());
                                self.call(Callee::Path(path), args, e.span(), out)
                            }
                            None => self.opaque(e, Construct::Method(name), out),
                        }
                    }
                    _ if is_self(&m.receiver) && m.turbofish.is_none() => {
                        match self.call_args(&m.args, out) {
                            Some(args) => {
                                self.call(Callee::Method(m.method.clone()), args, e.span(), out)
                            }
                            None => self.opaque(e, Construct::Method(name), out),
                        }
                    }
                    _ => self.opaque(e, Construct::Method(name), out),
                }
            }
            // `std::mem::swap(&mut a, &mut b)` between local arrays.
            Expr::Call(c) if self.swapped_arrays(c).is_some() => {
                let (a, b) = self.swapped_arrays(c).expect("checked");
                self.swap_arrays(&a, &b, out)
            }
            Expr::Call(c) => match self.new_array(e, out) {
                Some(v) => v,
                None => self.lower_call(e, c, out),
            },
            Expr::Macro(m) if is_sg_for(&m.mac.path) => self.lower_sg_for(&m.mac, out),
            Expr::Macro(m) if macro_name(&m.mac.path) == "vec" => match self.new_array(e, out) {
                Some(v) => v,
                None => self.opaque(e, Construct::Macro("vec".to_owned()), out),
            },
            Expr::Macro(m) => self.opaque(e, Construct::Macro(macro_name(&m.mac.path)), out),
            // `points[0].x`, `self.data.len()`: a place, read as written (lowering
            // its base separately would move out of it).
            Expr::Field(f) if !self.is_tuple_or_constant(&f.base) => {
                self.opaque(e, Construct::Other("a field access"), out)
            }
            Expr::Field(f) => {
                let base = self.lower_expr(&f.base, out);
                match (base, &f.member) {
                    (Value::Tuple(parts), syn::Member::Unnamed(i))
                        if (i.index as usize) < parts.len() =>
                    {
                        parts[i.index as usize].clone()
                    }
                    (Value::Scalar(Operand::Const(c)), member) => {
                        Value::Scalar(Operand::Const(quote!(#c.#member)))
                    }
                    (Value::Scalar(Operand::Var(v)), member) => {
                        let ident = self.vars[v.0].ident.clone();
                        let prim = Prim::Opaque(Opaque::reading(
                            quote!(#ident.#member),
                            vec![(v, self.var_name(v))],
                            Construct::Other("a field access"),
                            e.to_token_stream(),
                        ));
                        self.push_let(out, prim, e.span())
                    }
                    // No such field: rustc reports it.
                    _ => Value::Scalar(placeholder()),
                }
            }
            Expr::Block(b) if b.label.is_none() => self.lower_block_value(&b.block, out),
            Expr::If(ifx) => self.lower_if(e, ifx, out),
            Expr::Assign(a) => self.lower_assign(e, a, out),
            Expr::Return(r) => {
                self.return_in_value(r);
                Value::Scalar(placeholder())
            }
            Expr::ForLoop(f) => {
                // Over data that is not one of the function's arrays (a slice of
                // tuples, of integers): a loop over its indices, where
                // destructuring works as in `let`.
                let data = loops::data_loop(f).filter(|(.., d)| self.array_place(d).is_none());
                let destructures = !matches!(&*f.pat, Pat::Ident(_));
                let source = match &data {
                    Some(_) if destructures => None,
                    _ => self.loop_source(&f.expr, out),
                };
                let label = f.label.as_ref();
                match (source, data) {
                    (Some(source), _) => {
                        self.lower_loop(&f.pat, &f.body, source, label, f.span(), out)
                    }
                    (None, Some((index, body, len, _))) => {
                        let zero: Expr = syn::parse_quote!(0);
                        let source = LoopSource::Range(&zero, &len, false, false, None);
                        self.lower_loop(&index, &body, source, label, f.span(), out)
                    }
                    (None, None) => self.opaque(e, Construct::Loop("for"), out),
                }
            }
            Expr::While(w) if !matches!(&*w.cond, Expr::Let(_)) => {
                let wild = Pat::Wild(syn::PatWild {
                    attrs: Vec::new(),
                    underscore_token: syn::Token![_](w.while_token.span),
                });
                let source = LoopSource::While(&w.cond);
                self.lower_loop(&wild, &w.body, source, w.label.as_ref(), e.span(), out)
            }
            Expr::While(_) => self.opaque(e, Construct::Loop("while"), out),
            Expr::Loop(l) => {
                let wild = Pat::Wild(syn::PatWild {
                    attrs: Vec::new(),
                    underscore_token: syn::Token![_](l.loop_token.span),
                });
                let label = l.label.as_ref();
                self.lower_loop(&wild, &l.body, LoopSource::Forever, label, e.span(), out)
            }
            Expr::Closure(_) => self.opaque(e, Construct::Closure, out),
            Expr::Unsafe(_) => self.opaque(e, Construct::Unsafe, out),
            // (One `match_as_if` takes was rewritten before lowering.)
            Expr::Match(_) => self.opaque(e, Construct::Match, out),
            Expr::Index(_) => match self.lower_element(e, false, out) {
                Some(v) => v,
                None => self.opaque(e, Construct::Index, out),
            },
            Expr::Reference(r) if r.mutability.is_none() => {
                match self.lower_element(&r.expr, true, out) {
                    Some(v) => v,
                    None => self.opaque(e, Construct::Reference, out),
                }
            }
            Expr::Reference(_) => self.opaque(e, Construct::Reference, out),
            Expr::Repeat(_) | Expr::Array(_) => match self.new_array(e, out) {
                Some(v) => v,
                None => self.opaque(e, Construct::Other(expr_kind(e)), out),
            },
            _ => self.opaque(e, Construct::Other(expr_kind(e)), out),
        }
    }

    fn lower_binary(&mut self, e: &Expr, b: &syn::ExprBinary, out: &mut Vec<Stmt>) -> Value {
        use syn::BinOp::*;
        match b.op {
            And(_) | Or(_) => self.lower_short_circuit(b, out),
            AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_)
                if self.storage_place(&b.left).is_some() =>
            {
                // `a[i] += v`: read the element, combine, store it back.
                let (array, index) = self.storage_place(&b.left).expect("checked");
                let rhs = self.lower_operand(&b.right, out);
                let (root, index) = self.lower_indices(array, &index, out);
                let span = b.op.span();
                let old = self.read_element(root, index.clone(), false, span, out);
                let old = self.scalar(old, span);
                let op = compound_op(&b.op);
                let new = self.apply(
                    rules::binary(&op),
                    Form::Binary(op),
                    vec![old, rhs],
                    e.span(),
                    out,
                );
                let new = self.scalar(new, span);
                self.store(root, index, new, false, e.span(), out);
                Value::Unit
            }
            AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_) => {
                let target = match &*b.left {
                    Expr::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
                    _ => None,
                };
                let name = target.as_ref().map(|i| i.to_string());
                let old = name.as_deref().and_then(|n| self.lookup_var(n));
                match (name, old) {
                    (Some(name), Some(old)) => {
                        let rhs = self.lower_operand(&b.right, out);
                        let op = compound_op(&b.op);
                        let new = self.new_var(Some(&name));
                        out.push(Stmt::Let {
                            outs: vec![new],
                            prim: Prim::Apply {
                                rule: rules::binary(&op),
                                form: Form::Binary(op),
                                args: vec![Operand::Var(old), rhs],
                            },
                            span: e.span(),
                        });
                        if let Some(entry) = self.lookup_mut(&name) {
                            entry.value = Some(Value::Scalar(Operand::Var(new)));
                        }
                        Value::Unit
                    }
                    _ => self.opaque(e, Construct::Other("this assignment"), out),
                }
            }
            _ => {
                let l = self.lower_operand(&b.left, out);
                let r = self.lower_operand(&b.right, out);
                let rule = rules::binary(&b.op);
                if rule.is_none() {
                    let op = b.op.to_token_stream().to_string();
                    return self.apply_unknown(
                        Form::Binary(b.op),
                        vec![l, r],
                        Construct::Operator(op),
                        e,
                        out,
                    );
                }
                self.apply(rule, Form::Binary(b.op), vec![l, r], e.span(), out)
            }
        }
    }

    /// An operator the table does not know (`&`, `<<`, ..): fine on integers,
    /// an error if a derivative would flow through it.
    fn apply_unknown(
        &mut self,
        form: Form,
        args: Vec<Operand>,
        construct: Construct,
        e: &Expr,
        out: &mut Vec<Stmt>,
    ) -> Value {
        if args.iter().all(|a| a.var().is_none()) {
            return self.apply(None, form, args, e.span(), out);
        }
        let reads = args
            .iter()
            .filter_map(Operand::var)
            .map(|v| (v, self.var_name(v)))
            .collect();
        let code = crate::ir::print::apply_tokens(&self.vars, &form, &args);
        self.push_let(
            out,
            Prim::Opaque(Opaque::reading(code, reads, construct, e.to_token_stream())),
            e.span(),
        )
    }

    /// `a && b` is `if a { b } else { false }`; `a || b` is `if a { true } else { b }`.
    fn lower_short_circuit(&mut self, b: &syn::ExprBinary, out: &mut Vec<Stmt>) -> Value {
        let cond = self.lower_operand(&b.left, out);
        let snapshot = self.scopes.clone();
        let mut rhs_stmts = Vec::new();
        let rhs = self.lower_operand(&b.right, &mut rhs_stmts);
        self.scopes = snapshot;
        let is_and = matches!(b.op, syn::BinOp::And(_));
        let fixed = Block {
            stmts: Vec::new(),
            yields: vec![Operand::Const(if is_and {
                quote!(false)
            } else {
                quote!(true)
            })],
        };
        let rhs = Block {
            stmts: rhs_stmts,
            yields: vec![rhs],
        };
        let (then_branch, else_branch) = if is_and { (rhs, fixed) } else { (fixed, rhs) };
        let v = self.new_var(None);
        let record = self.new_var(Some("br"));
        out.push(Stmt::If(If {
            cond,
            then_branch,
            else_branch,
            outs: vec![v],
            record,
        }));
        Value::Scalar(Operand::Var(v))
    }

    pub(super) fn apply(
        &mut self,
        rule: Option<&'static rules::Rule>,
        form: Form,
        args: Vec<Operand>,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let foldable = matches!(form, Form::Binary(_) | Form::Unary(_) | Form::Cast(_));
        if foldable && args.iter().all(|a| a.var().is_none()) {
            // Constant arithmetic stays inline, as the user wrote it.
            let code = crate::ir::print::apply_tokens(&self.vars, &form, &args);
            return Value::Scalar(Operand::Const(quote!((#code))));
        }
        self.push_let(out, Prim::Apply { rule, form, args }, span)
    }

    /// A parameter struct that is a differentiation variable (`net`, `self`),
    /// and its type as a path to call methods by (`Mlp::<T>`, `Self`).
    fn struct_receiver(&self, e: &Expr) -> Option<(VarId, syn::Path)> {
        let v = self.path_var(e)?;
        let Expr::Path(p) = e else { return None };
        let name = p.path.get_ident()?.to_string();
        let ty = self.struct_types.get(&name)?;
        (self.wrt_var(&name) == Some(v)).then(|| (v, ty.clone()))
    }

    pub(super) fn path_var(&self, e: &Expr) -> Option<VarId> {
        let Expr::Path(p) = e else { return None };
        self.lookup_var(&p.path.get_ident()?.to_string())
    }

    /// The variable `e` names if it is an element bound by reference.
    fn reference_var(&self, e: &Expr) -> Option<VarId> {
        self.path_var(e)
            .filter(|v| self.vars[v.0].reference && self.vars[v.0].rank == 0)
    }

    /// A tuple (`(a, b)`, a variable holding one) or a constant path
    /// (`self`, a `const`): fields of these are lowered, others are read as written.
    fn is_tuple_or_constant(&self, e: &Expr) -> bool {
        match e {
            Expr::Tuple(_) => true,
            Expr::Paren(p) => self.is_tuple_or_constant(&p.expr),
            Expr::Path(p) => match p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                Some(entry) => matches!(entry.value, Some(Value::Tuple(_))),
                None => true,
            },
            Expr::Field(f) => {
                self.is_tuple_or_constant(&f.base)
                    && !matches!(&*f.base, Expr::Path(p) if p.path.get_ident().is_some_and(|i| self.lookup(&i.to_string()).is_some()))
            }
            _ => false,
        }
    }
}

/// `self`.
fn is_self(e: &Expr) -> bool {
    matches!(e, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("self"))
}

/// `a += b`, `a <<= b` and the other operators that assign.
pub(super) fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

/// `+` for `+=`, and so on.
fn compound_op(op: &syn::BinOp) -> syn::BinOp {
    use syn::BinOp::*;
    let span = op.span();
    match op {
        AddAssign(_) => Add(syn::Token![+](span)),
        SubAssign(_) => Sub(syn::Token![-](span)),
        MulAssign(_) => Mul(syn::Token![*](span)),
        DivAssign(_) => Div(syn::Token![/](span)),
        _ => Rem(syn::Token![%](span)),
    }
}

/// `i32`, `usize`, `bool`, .. : cast targets without derivative.
fn is_integer_type(ty: &syn::Type) -> bool {
    const INTEGERS: &[&str] = &[
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
        "bool", "char",
    ];
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p
            .path
            .get_ident()
            .is_some_and(|i| INTEGERS.iter().any(|n| i == n)),
        syn::Type::Paren(p) => is_integer_type(&p.elem),
        syn::Type::Group(g) => is_integer_type(&g.elem),
        _ => false,
    }
}

/// What to call an expression the macro does not lower, in errors.
fn expr_kind(e: &Expr) -> &'static str {
    match e {
        Expr::Array(_) | Expr::Repeat(_) => "an array",
        Expr::Struct(_) => "a struct literal",
        Expr::Range(_) => "a range",
        Expr::Try(_) => "the `?` operator",
        Expr::Await(_) | Expr::Async(_) => "async code",
        Expr::Break(_) | Expr::Continue(_) => "`break`/`continue`",
        Expr::Block(_) => "a labeled block",
        Expr::Const(_) => "a `const` block",
        Expr::Let(_) => "a `let` condition",
        _ => "this expression",
    }
}

pub(super) fn macro_name(path: &syn::Path) -> String {
    path.segments
        .last()
        .map_or_else(String::new, |s| s.ident.to_string())
}

impl Lower<'_> {
    /// The two local arrays of `std::mem::swap(&mut a, &mut b)` (or
    /// `mem::swap`, `core::mem::swap`).
    fn swapped_arrays(
        &self,
        c: &syn::ExprCall,
    ) -> Option<(proc_macro2::Ident, proc_macro2::Ident)> {
        let Expr::Path(f) = &*c.func else { return None };
        let path: Vec<String> = f
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let is_swap = matches!(
            path.iter().map(String::as_str).collect::<Vec<_>>()[..],
            ["std" | "core", "mem", "swap"] | ["mem", "swap"]
        );
        if !is_swap || c.args.len() != 2 {
            return None;
        }
        let array = |e: &Expr| match e {
            Expr::Reference(r) if r.mutability.is_some() => match &*r.expr {
                Expr::Path(p) => self.storage_name(p.path.get_ident()?),
                _ => None,
            },
            _ => None,
        };
        Some((array(&c.args[0])?, array(&c.args[1])?))
    }
}
