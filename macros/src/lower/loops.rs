//! Loops: `for` over ranges and arrays, `while`, `loop`, `x.iter().sum()`;
//! the carried variables and the synthetic exits of a loop's frame.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Pat};

use super::escapes::Escapes;
use super::opaque::Uses;
use super::{block_items, placeholder, Exit, Flow, Frame, Lower, Role, Value};
use crate::ir::*;
use crate::rules;

impl Lower<'_> {
    /// The loop index of `for i in a..b`.
    fn bind_index(&mut self, pat: &Pat) -> VarId {
        match pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                let v = self.new_var(Some(&p.ident.to_string()));
                self.declare(
                    &p.ident.to_string(),
                    Some(Value::Scalar(Operand::Var(v))),
                    false,
                );
                v
            }
            Pat::Wild(_) => self.new_var(None),
            p => {
                self.unsupported_pattern(p);
                self.new_var(None)
            }
        }
    }

    /// `v` (a reference) or `&v` (a value) bound to `array[index]`.
    fn bind_element(&mut self, array: VarId, index: VarId, pat: &Pat, body: &mut Vec<Stmt>) {
        let (name, by_ref) = match pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                (p.ident.to_string(), true)
            }
            Pat::Reference(r) => match &*r.pat {
                Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                    (p.ident.to_string(), false)
                }
                p => return self.unsupported_pattern(p),
            },
            Pat::Wild(_) => return,
            p => return self.unsupported_pattern(p),
        };
        if self.vars[array.0].is_array() {
            let (root, mut path) = self.root(array);
            path.push(Operand::Var(index));
            let value = self.read_element(root, path, by_ref, pat.span(), body);
            if let Value::Scalar(Operand::Var(v)) = &value {
                self.rename_var(*v, &name);
            }
            self.declare(&name, Some(value), false);
            return;
        }
        let v = self.new_var(Some(&name));
        self.vars[v.0].reference = by_ref;
        let prim = {
            // Constant data: read as written, no derivative.
            let (a, i) = (
                self.vars[array.0].ident.clone(),
                self.vars[index.0].ident.clone(),
            );
            let amp = by_ref.then(|| quote!(&));
            Prim::Opaque(Opaque::reading(
                quote!(#amp #a[#i]),
                vec![(array, self.var_name(array))],
                Construct::Index,
                pat.to_token_stream(),
            ))
        };
        body.push(Stmt::Let {
            outs: vec![v],
            prim,
            span: pat.span(),
        });
        self.declare(&name, Some(Value::Scalar(Operand::Var(v))), false);
    }

    /// `x.iter().sum()` / `.product()` of an array variable, as the loop it is.
    pub(super) fn lower_fold(
        &mut self,
        array: VarId,
        product: bool,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let len = self.method_call("len", vec![Operand::Var(array)], span, out);
        let index = self.new_var(Some("i"));
        let (root, mut path) = self.root(array);
        path.push(Operand::Var(index));
        let element = self.new_var(None);
        let start = self.new_var(Some("acc"));
        let end = self.new_var(Some("acc"));
        let result = self.new_var(Some("acc"));
        let (op, rule, init) = if product {
            (syn::BinOp::Mul(syn::Token![*](span)), "mul", quote!(1.0))
        } else {
            // `Iterator::sum` on floats starts at −0.0 (the sum of nothing
            // is −0.0, and of [−0.0] too): the same value bit for bit.
            (syn::BinOp::Add(syn::Token![+](span)), "add", quote!((-0.0)))
        };
        let body = vec![
            Stmt::Let {
                outs: vec![element],
                prim: Prim::Index {
                    base: root,
                    index: path,
                    by_ref: false,
                },
                span,
            },
            Stmt::Let {
                outs: vec![end],
                prim: Prim::Apply {
                    rule: rules::find(rule, 2),
                    form: Form::Binary(op),
                    args: vec![Operand::Var(start), Operand::Var(element)],
                },
                span,
            },
        ];
        let record = self.new_var(Some("tape"));
        out.push(Stmt::Loop(Loop {
            index,
            range: Range {
                start: Operand::Const(quote!(0)),
                end: len,
                inclusive: false,
                rev: false,
                step: None,
            },
            carried: vec![Carried {
                input: Operand::Const(init),
                start,
                end: Operand::Var(end),
                out: result,
            }],
            body: Block {
                stmts: body,
                yields: Vec::new(),
            },
            record,
            cond: None,
            exit: None,
            hoisted: !self.loop_assigned.is_empty(),
        }));
        Value::Scalar(Operand::Var(result))
    }

    /// `for` over a range, or over the elements of variables.
    pub(super) fn loop_source<'e>(
        &mut self,
        e: &'e Expr,
        out: &mut Vec<Stmt>,
    ) -> Option<LoopSource<'e>> {
        // `(a..b).step_by(k)`, `(a..b).rev().step_by(k)`.
        if let Expr::MethodCall(m) = e {
            if m.method == "step_by" && m.args.len() == 1 && m.turbofish.is_none() {
                let (a, b, inclusive, rev) = loop_range(&m.receiver)?;
                return Some(LoopSource::Range(a, b, inclusive, rev, Some(&m.args[0])));
            }
        }
        if let Some((a, b, inclusive, rev)) = loop_range(e) {
            return Some(LoopSource::Range(a, b, inclusive, rev, None));
        }
        // `x.iter().rev()`: the same elements, last first.
        let (e, rev) = match e {
            Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => (&*m.receiver, true),
            e => (e, false),
        };
        let (e, enumerate) = match e {
            Expr::MethodCall(m) if m.method == "enumerate" && m.args.is_empty() && !rev => {
                (&*m.receiver, true)
            }
            e => (e, false),
        };
        let arrays = match e {
            Expr::MethodCall(m) if m.method == "zip" && m.args.len() == 1 => {
                vec![
                    self.iterated_var(&m.receiver, out)?,
                    self.iterated_var(&m.args[0], out)?,
                ]
            }
            e => vec![self.iterated_var(e, out)?],
        };
        if rev && arrays.len() > 1 {
            // `zip(..).rev()` aligns the ends of unequal lengths: not modelled.
            return None;
        }
        Some(LoopSource::Iter {
            arrays,
            enumerate,
            rev,
        })
    }

    /// The variable `x` in `x.iter()` or `&x`; a row `m[i]` there (`m[i].iter()`,
    /// `&m[i]`) is read first, as a view.
    fn iterated_var(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Option<VarId> {
        match e {
            Expr::Paren(p) => self.iterated_var(&p.expr, out),
            Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => self
                .path_var(&m.receiver)
                .or_else(|| self.row(&m.receiver, out)),
            Expr::Reference(r) if r.mutability.is_none() => {
                self.path_var(&r.expr).or_else(|| self.row(&r.expr, out))
            }
            // `zip(y)` with `y` a slice: its elements by reference.
            Expr::Path(_) => self.array_var(e),
            _ => None,
        }
        // A rank-2 `ndarray` array iterates over its elements, not its
        // rows: data is passed through as written, a differentiation
        // variable is an error.
        .filter(|&v| {
            let var = &self.vars[v.0];
            if !(var.ndarray && var.rank > 1) {
                return true;
            }
            let differentiated = self.wrt_vars.values().any(|&w| w == v);
            if differentiated {
                let name = self.var_name(v);
                self.errors.push(syn::Error::new(
                    e.span(),
                    format!("iterating over `{name}`, a rank-2 `ndarray` array, is not supported in differentiated code (it walks the elements, not the rows); index it as `{name}[[i, j]]` in `for i in 0..{name}.nrows()` and `for j in 0..{name}.ncols()`, or take a row with `{name}.row(i)`"),
                ));
            }
            // Lowered on as a loop after the error (only this one is
            // reported); data is passed through as written instead.
            differentiated
        })
    }

    /// The array variable `x` in `x.iter()` (or a row, `m[i].iter()`).
    pub(super) fn iter_of_array(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Option<VarId> {
        match e {
            Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => self
                .array_var(&m.receiver)
                .or_else(|| self.row(&m.receiver, out))
                .filter(|v| self.vars[v.0].rank == 1),
            _ => None,
        }
    }

    /// `m[i]` with `m` an array of arrays: the row, read as a view.
    fn row(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Option<VarId> {
        let e = match e {
            Expr::Paren(p) => return self.row(&p.expr, out),
            Expr::Reference(r) if r.mutability.is_none() => return self.row(&r.expr, out),
            e => e,
        };
        let (array, index) = self.array_place(e)?;
        if index.is_empty() || index.len() >= self.vars[array.0].rank {
            return None;
        }
        match self.lower_element(e, true, out)? {
            Value::Scalar(Operand::Var(v)) if self.vars[v.0].is_array() => Some(v),
            _ => None,
        }
    }

    /// `for i in a..b { body }`: the variables the body assigns are carried
    /// from one iteration to the next (see `ir::Loop`).
    /// A `for` or `while` loop (see `ir::Loop`); `pat` is unused for `while`.
    pub(super) fn lower_loop(
        &mut self,
        pat: &Pat,
        body_block: &syn::Block,
        source: LoopSource,
        label: Option<&syn::Label>,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let mut step = None;
        let (start, end, inclusive, rev) = match &source {
            LoopSource::While(_) | LoopSource::Forever => {
                (placeholder(), placeholder(), false, false)
            }
            LoopSource::Range(start_e, end_e, inclusive, rev, step_e) => {
                let range = (
                    self.lower_operand(start_e, out),
                    self.lower_operand(end_e, out),
                    *inclusive,
                    *rev,
                );
                step = step_e.map(|k| self.lower_operand(k, out));
                range
            }
            // `for v in x.iter()` walks `0..x.len()` (the shortest, for `zip`).
            LoopSource::Iter { arrays, rev, .. } => {
                let mut end: Option<Operand> = None;
                for &a in arrays {
                    let len = self.method_call("len", vec![Operand::Var(a)], span, out);
                    end = Some(match end {
                        None => len,
                        Some(e) => self.method_call("min", vec![e, len], span, out),
                    });
                }
                (
                    Operand::Const(quote!(0)),
                    end.unwrap_or_else(placeholder),
                    false,
                    *rev,
                )
            }
        };

        let mut uses = Uses::default();
        uses.visit_block(body_block);
        if let LoopSource::While(c) = &source {
            uses.visit_expr(c);
        }
        let mut names: Vec<String> = uses.assigned.iter().cloned().collect();
        names.extend(
            uses.maybe_assigned
                .iter()
                .filter(|n| self.lookup(n).is_some_and(|e| e.mutable))
                .cloned(),
        );
        let frame = self.new_frame(body_block, label, &mut names, span, out);
        names.sort();
        names.dedup();

        let snapshot = self.scopes.clone();
        let mut carried = Vec::new();
        for name in names {
            let Some(input) = self.lookup_var(&name) else {
                continue;
            };
            if self.vars[input.0].storage {
                // Changed in place, element by element: one variable throughout.
                continue;
            }
            if self.vars[input.0].is_array() {
                self.errors.push_spanned(
                    body_block,
                    format!("`{name}` is an array that this loop changes; changing arrays in loops is not supported yet"),
                );
                continue;
            }
            let start_v = self.new_var(Some(&name));
            let out_v = self.new_var(Some(&name));
            let ty = self.lookup(&name).and_then(|e| e.ty.clone());
            self.vars[out_v.0].ty = ty;
            if let Some(entry) = self.lookup_mut(&name) {
                entry.value = Some(Value::Scalar(Operand::Var(start_v)));
            }
            let slot = self.locate(&name).expect("looked up above");
            carried.push((name, input, start_v, out_v, slot));
        }

        self.scopes.push(Vec::new());
        let mut body = Vec::new();
        let mut cond = None;
        let index = match &source {
            LoopSource::While(c) => {
                let mut stmts = Vec::new();
                let operand = self.lower_operand(c, &mut stmts);
                cond = Some((stmts, operand));
                self.new_var(None)
            }
            LoopSource::Forever => {
                cond = Some((Vec::new(), Operand::Const(quote!(true))));
                self.new_var(None)
            }
            LoopSource::Range(..) => self.bind_index(pat),
            LoopSource::Iter {
                arrays, enumerate, ..
            } => {
                let index = self.new_var(Some("i"));
                let elements: Vec<&Pat> = match (pat, *enumerate, arrays.len()) {
                    (Pat::Tuple(t), true, 1) if t.elems.len() == 2 => {
                        // The enumerate index is the loop index itself.
                        if let Pat::Ident(p) = &t.elems[0] {
                            let name = p.ident.to_string();
                            self.declare(&name, Some(Value::Scalar(Operand::Var(index))), false);
                        } else if !matches!(&t.elems[0], Pat::Wild(_)) {
                            self.unsupported_pattern(&t.elems[0]);
                        }
                        vec![&t.elems[1]]
                    }
                    (p, false, 1) => vec![p],
                    (Pat::Tuple(t), false, n) if t.elems.len() == n => t.elems.iter().collect(),
                    (p, _, _) => {
                        self.unsupported_pattern(p);
                        Vec::new()
                    }
                };
                for (&a, p) in arrays.iter().zip(elements) {
                    self.bind_element(a, index, p, &mut body);
                }
                index
            }
        };
        let items = block_items(body_block, Role::Discard);
        self.frames.push(Frame {
            carried: carried.iter().map(|c| c.4).collect(),
            ..frame
        });
        self.loop_assigned
            .push(uses.assigned.union(&uses.maybe_assigned).cloned().collect());
        let flow = self.lower_seq(&items, &mut body);
        self.loop_assigned.pop();
        let frame = self.frames.pop().expect("pushed above");
        self.scopes.pop();

        // With `break`/`continue` the body ends in an exit tuple: whether to
        // go on, then the carried values; otherwise read them off the scope.
        let (exit, ends): (Option<Operand>, Vec<Operand>) = match flow {
            Flow::Returned(Value::Tuple(parts)) if parts.len() == carried.len() + 1 => {
                let mut ops = parts.iter().map(|p| match p {
                    Value::Scalar(o) => o.clone(),
                    _ => placeholder(),
                });
                let keep_going = ops.next();
                (keep_going, ops.collect())
            }
            _ => (
                None,
                carried
                    .iter()
                    .map(
                        |&(_, _, start_v, _, (i, j))| match &self.scopes[i][j].value {
                            Some(Value::Scalar(o)) => o.clone(),
                            _ => Operand::Var(start_v),
                        },
                    )
                    .collect(),
            ),
        };
        self.scopes = snapshot;
        let carried = carried
            .into_iter()
            .zip(ends)
            .map(|((_, input, start_v, out_v, (i, j)), end)| {
                self.scopes[i][j].value = Some(Value::Scalar(Operand::Var(out_v)));
                Carried {
                    input: Operand::Var(input),
                    start: start_v,
                    end,
                    out: out_v,
                }
            })
            .collect();
        let record = self.new_var(Some("tape"));
        out.push(Stmt::Loop(Loop {
            index,
            range: Range {
                start,
                end,
                inclusive,
                rev,
                step: step.clone(),
            },
            carried,
            body: Block {
                stmts: body,
                yields: Vec::new(),
            },
            record,
            hoisted: !self.loop_assigned.is_empty()
                && cond.is_none()
                && exit.is_none()
                && step.is_none(),
            cond,
            exit,
        }));

        // What the statements after the loop must do: leave further if a flag is up.
        let out_var = |cx: &Self, name: &str| cx.lookup_var(name);
        if let Some((value, flag)) = &frame.ret {
            if let (Some(v), Some(f)) = (out_var(self, value), out_var(self, flag)) {
                self.escapes.push((f, Exit::Return(v)));
            }
        }
        for (target, is_continue, flag) in &frame.outer {
            if let Some(f) = out_var(self, flag) {
                let exit = if *is_continue {
                    Exit::Continue(*target)
                } else {
                    Exit::Break(*target)
                };
                self.escapes.push((f, exit));
            }
        }
        match frame.value.as_deref().and_then(|v| out_var(self, v)) {
            Some(v) => Value::Scalar(Operand::Var(v)),
            None => Value::Unit,
        }
    }

    /// The frame of a loop about to be lowered: its label, and the synthetic
    /// variables for the ways its body may leave more than one iteration
    /// (declared here, with their starting values, and added to `names`).
    fn new_frame(
        &mut self,
        body: &syn::Block,
        label: Option<&syn::Label>,
        names: &mut Vec<String>,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Frame {
        let label = label.map(|l| l.name.ident.to_string());
        let mut esc = Escapes::default();
        esc.visit_block(body);
        self.loops_seen += 1;
        let n = self.loops_seen;
        let mut synthetic = |cx: &mut Self, name: String, init: TokenStream| {
            let Value::Scalar(v) = cx.push_let(out, Prim::Copy(Operand::Const(init)), span) else {
                unreachable!("push_let makes a variable")
            };
            cx.declare(&name, Some(Value::Scalar(v)), true);
            names.push(name.clone());
            name
        };
        let default = quote!(::core::default::Default::default());
        let ret = esc.returns.then(|| {
            (
                synthetic(self, format!("#ret{n}"), default.clone()),
                synthetic(self, format!("#returned{n}"), quote!(false)),
            )
        });
        let mut outer = Vec::new();
        for (l, is_continue) in &esc.labeled {
            if Some(l) == label.as_ref() || esc.inner_labels.contains(l) {
                continue;
            }
            let Some(target) = self
                .frames
                .iter()
                .rposition(|f| f.label.as_ref() == Some(l))
            else {
                continue;
            };
            let kind = if *is_continue { "continue" } else { "break" };
            let flag = synthetic(self, format!("#{kind}{n}_{target}"), quote!(false));
            outer.push((target, *is_continue, flag));
        }
        let own_value = esc.values_unlabeled
            || label
                .as_ref()
                .is_some_and(|l| esc.values_labeled.contains(l));
        let value = own_value.then(|| synthetic(self, format!("#value{n}"), default));
        Frame {
            carried: Vec::new(),
            label,
            ret,
            outer,
            value,
        }
    }
}

/// What a `for` loop walks.
pub(super) enum LoopSource<'e> {
    /// `a..b`, `a..=b`, `(a..b).rev()`, each maybe `.step_by(k)`:
    /// (start, end, inclusive, reversed, step).
    Range(&'e Expr, &'e Expr, bool, bool, Option<&'e Expr>),
    /// `x.iter()`, `&x`, `.enumerate()`, `x.iter().zip(y.iter())`.
    Iter {
        arrays: Vec<VarId>,
        enumerate: bool,
        rev: bool,
    },
    /// `while cond`.
    While(&'e Expr),
    /// `loop`: it ends by `break`.
    Forever,
}

/// `for PAT in data.iter()` over data that is not one of the function's
/// arrays (a slice of tuples, of structs, of integers), as a loop over its
/// indices: `for k in 0..data.len() { let PAT = &data[k]; body }`, so
/// destructuring patterns work as in `let`. Also `&data`,
/// `data.iter().copied()` (`let PAT = data[k];`) and `.enumerate()` (the
/// index is the loop's own). Returns the index pattern, the new body, the
/// trip count and `data`, which must be a place (a path, field or index),
/// read again at each iteration.
pub(super) fn data_loop(f: &syn::ExprForLoop) -> Option<(Pat, syn::Block, Expr, &Expr)> {
    let (e, enumerate) = match &*f.expr {
        Expr::MethodCall(m) if m.method == "enumerate" && m.args.is_empty() => (&*m.receiver, true),
        e => (e, false),
    };
    let (data, by_ref) = match e {
        Expr::MethodCall(m) if m.method == "copied" && m.args.is_empty() => match &*m.receiver {
            Expr::MethodCall(i) if i.method == "iter" && i.args.is_empty() => (&*i.receiver, false),
            _ => return None,
        },
        Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => (&*m.receiver, true),
        Expr::Reference(r) if r.mutability.is_none() && !enumerate => (&*r.expr, true),
        // `for p in points` over a slice parameter: its elements by reference.
        e if !enumerate && is_place(e) => (e, true),
        _ => return None,
    };
    if !is_place(data) {
        return None;
    }
    let (index, pat): (Pat, &Pat) = match (&*f.pat, enumerate) {
        (Pat::Tuple(t), true) if t.elems.len() == 2 => (t.elems[0].clone(), &t.elems[1]),
        (_, true) => return None,
        (pat, false) => (syn::parse_quote!(__sgrad_element_index), pat),
    };
    let Pat::Ident(ref k) = index else {
        return None;
    };
    let k = &k.ident;
    // `for &(a, b) in ..` binds copies: `let (a, b) = data[k];`.
    let (pat, by_ref) = match pat {
        Pat::Reference(r) if by_ref && r.mutability.is_none() => (&*r.pat, false),
        pat => (pat, by_ref),
    };
    let read: Expr = if by_ref {
        syn::parse_quote!(&#data[#k])
    } else {
        syn::parse_quote!(#data[#k])
    };
    let mut body = f.body.clone();
    body.stmts.insert(0, syn::parse_quote!(let #pat = #read;));
    Some((index, body, syn::parse_quote!(#data.len()), data))
}

/// A path, a field of one or an element of one: cheap and the same at
/// every read.
fn is_place(e: &Expr) -> bool {
    match e {
        Expr::Path(_) => true,
        Expr::Paren(p) => is_place(&p.expr),
        Expr::Field(f) => is_place(&f.base),
        Expr::Index(i) => is_place(&i.expr) && matches!(&*i.index, Expr::Path(_) | Expr::Lit(_)),
        _ => false,
    }
}

/// `a..b`, `a..=b` or `(a..b).rev()`: (start, end, inclusive, reversed).
fn loop_range(e: &Expr) -> Option<(&Expr, &Expr, bool, bool)> {
    match e {
        Expr::Paren(p) => loop_range(&p.expr),
        Expr::Group(g) => loop_range(&g.expr),
        Expr::Range(r) => {
            let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
            Some((r.start.as_deref()?, r.end.as_deref()?, inclusive, false))
        }
        Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() && m.turbofish.is_none() => {
            let (a, b, inclusive, rev) = loop_range(&m.receiver)?;
            (!rev).then_some((a, b, inclusive, true))
        }
        _ => None,
    }
}
