//! Control flow: `if` (a plain one merges the versions its branches assign;
//! one that leaves takes the statements after it into its branches), and
//! leaving a function or a loop body early (`return`, `break`, `continue`).

use proc_macro2::Span;
use quote::{quote, ToTokens};
use syn::Expr;

use super::escapes::{contains_return, find_return};
use super::{block_items, placeholder, same_value, Exit, Flow, Item, Lower, Role, Value};
use crate::ir::*;

impl Lower<'_> {
    /// The frame a `break`/`continue` leaves: the innermost loop, or the one
    /// with that label.
    pub(super) fn target(&self, label: Option<&syn::Lifetime>) -> usize {
        let innermost = self.frames.len() - 1;
        match label {
            None => innermost,
            Some(l) => {
                let name = l.ident.to_string();
                self.frames
                    .iter()
                    .rposition(|f| f.label.as_deref() == Some(name.as_str()))
                    .unwrap_or(innermost)
            }
        }
    }

    /// `return v` inside a loop body: remember the value, raise the flag,
    /// and leave the iteration; the guard after the loop returns.
    pub(super) fn leave_function(&mut self, v: Operand) -> Flow {
        let frame = self.frames.last().expect("in a loop body");
        let Some((value, flag)) = frame.ret.clone() else {
            return Flow::Returned(self.exit_tuple(false));
        };
        self.set_synthetic(&value, Value::Scalar(v));
        self.set_synthetic(&flag, Value::Scalar(Operand::Const(quote!(true))));
        Flow::Returned(self.exit_tuple(false))
    }

    /// Leaves by `exit`: the end of the iteration for the innermost loop,
    /// else a flag for the guard after it; `value` is the `v` of `break v`.
    pub(super) fn leave(&mut self, exit: Exit, value: Option<&Expr>, out: &mut Vec<Stmt>) -> Flow {
        let Some(innermost) = self.frames.len().checked_sub(1) else {
            return match exit {
                Exit::Return(v) => Flow::Returned(Value::Scalar(Operand::Var(v))),
                // A label rustc does not know: it reports it.
                _ => Flow::Returned(Value::Scalar(placeholder())),
            };
        };
        match exit {
            Exit::Return(v) => self.leave_function(Operand::Var(v)),
            Exit::Break(t) | Exit::Continue(t) if t == innermost => {
                if let Some(e) = value {
                    let v = self.lower_expr(e, out);
                    match (v, self.frames[innermost].value.clone()) {
                        (v @ Value::Scalar(_), Some(name)) => self.set_synthetic(&name, v),
                        (Value::Tuple(_), _) => self.errors.push_spanned(
                            e,
                            "`break` with a tuple value is not supported in differentiated code; assign each part to a variable declared before the loop, then `break`",
                        ),
                        // `break s -= 1.0;`: a `()` value, computed for its effect.
                        _ => {}
                    }
                }
                Flow::Returned(self.exit_tuple(matches!(exit, Exit::Continue(_))))
            }
            Exit::Break(t) | Exit::Continue(t) => {
                if let Some(e) = value {
                    self.errors.push_spanned(
                        e,
                        "`break` with a value out of an enclosing loop is not supported in differentiated code; break out of that loop's own body with the value, or assign a variable before `break`",
                    );
                }
                let is_continue = matches!(exit, Exit::Continue(_));
                let flag = self.frames[innermost]
                    .outer
                    .iter()
                    .find(|(f, c, _)| *f == t && *c == is_continue)
                    .map(|(_, _, name)| name.clone());
                if let Some(flag) = flag {
                    self.set_synthetic(&flag, Value::Scalar(Operand::Const(quote!(true))));
                }
                Flow::Returned(self.exit_tuple(false))
            }
        }
    }

    fn set_synthetic(&mut self, name: &str, value: Value) {
        if let Some(entry) = self.lookup_mut(name) {
            entry.value = Some(value);
        }
    }

    /// `if cond { then } else { rest }`, each ending the sequence: the
    /// branches end in the function's value (or a loop body's exit tuple),
    /// and the `if` yields it.
    pub(super) fn lower_guard(
        &mut self,
        cond: Operand,
        then_items: &[Item<'_>],
        else_items: &[Item<'_>],
        out: &mut Vec<Stmt>,
    ) -> Flow {
        let snapshot = self.scopes.clone();
        let whole_read = self.whole_read.clone();
        let mut then_stmts = Vec::new();
        let then_flow = self.lower_seq(then_items, &mut then_stmts);
        // Read the branch's exit values before its scope is forgotten.
        let then_value = self.branch_result(then_flow);
        self.scopes = snapshot.clone();
        // The other branch runs instead of this one, not after it.
        let then_read = std::mem::replace(&mut self.whole_read, whole_read);
        let mut else_stmts = Vec::new();
        let else_flow = self.lower_seq(else_items, &mut else_stmts);
        let mut else_value = self.branch_result(else_flow);
        self.scopes = snapshot;
        self.whole_read.extend(then_read);
        if !then_value.same_shape(&else_value) {
            // The branches leave with different kinds of values; each way of
            // leaving is checked where it is lowered, so this is a backstop.
            if !self.errors.has_errors() {
                self.errors.push(syn::Error::new(
                    Span::call_site(),
                    "sgrad cannot differentiate a branch of this function: its ways out leave with values of different shapes; assign the values to variables before leaving",
                ));
            }
            else_value = then_value.rebuild(&mut std::iter::repeat_with(placeholder));
        }
        let (then_ops, else_ops) = (then_value.operands(), else_value.operands());
        let outs: Vec<VarId> = then_ops.iter().map(|_| self.new_var(None)).collect();
        let record = self.new_var(Some("br"));
        out.push(Stmt::If(If {
            cond,
            then_branch: Block {
                stmts: then_stmts,
                yields: then_ops,
            },
            else_branch: Block {
                stmts: else_stmts,
                yields: else_ops,
            },
            outs: outs.clone(),
            record,
        }));
        Flow::Returned(then_value.rebuild(&mut outs.into_iter().map(Operand::Var)))
    }

    /// `if c { ..; return a; } rest` → `if c { ..; return a; } else { rest }`:
    /// the statements after the `if` move into every branch, so each branch
    /// ends in the function's value and the `if` yields it.
    pub(super) fn lower_returning_if(
        &mut self,
        ifx: &syn::ExprIf,
        role: Role,
        rest: &[Item<'_>],
        out: &mut Vec<Stmt>,
    ) -> Flow {
        if let Expr::Let(l) = &*ifx.cond {
            self.errors.push_spanned(
                l,
                "`return` inside `if let` is not supported in differentiated code; use `if`/`else` with a condition",
            );
            return Flow::Returned(Value::Scalar(Operand::Const(quote!(0.0))));
        }
        if role == Role::Value {
            self.return_in_value(ifx);
        }
        let cond = self.lower_operand(&ifx.cond, out);
        let mut then_items = block_items(&ifx.then_branch, role);
        then_items.extend_from_slice(rest);
        let mut else_items = Vec::new();
        if let Some((_, e)) = &ifx.else_branch {
            else_items.push(Item::Expr(e, role));
        }
        else_items.extend_from_slice(rest);
        self.lower_guard(cond, &then_items, &else_items, out)
    }

    /// How a branch of a returning `if` ends: in a loop body, an exit tuple
    /// (falling off the end means `continue`); in a function, the returned number.
    fn branch_result(&mut self, flow: Flow) -> Value {
        match flow {
            Flow::Returned(v) if self.in_loop_body() => v,
            Flow::Returned(v) => Value::Scalar(self.scalar(v, Span::call_site())),
            Flow::Fell(_) if self.in_loop_body() => self.exit_tuple(true),
            // As for the whole body: diverges, or rustc reports it.
            Flow::Fell(_) => Value::Scalar(placeholder()),
        }
    }

    pub(super) fn in_loop_body(&self) -> bool {
        !self.frames.is_empty()
    }

    /// (keep going?, the carried variables' current values): how an iteration ends.
    fn exit_tuple(&self, keep_going: bool) -> Value {
        let slots = self
            .frames
            .last()
            .map(|f| f.carried.clone())
            .unwrap_or_default();
        let mut parts = vec![Value::Scalar(Operand::Const(if keep_going {
            quote!(true)
        } else {
            quote!(false)
        }))];
        for (i, j) in slots {
            let v = self.scopes[i][j]
                .value
                .clone()
                .unwrap_or_else(|| Value::Scalar(placeholder()));
            parts.push(v);
        }
        Value::Tuple(parts)
    }

    pub(super) fn lower_block_value(&mut self, block: &syn::Block, out: &mut Vec<Stmt>) -> Value {
        let items = block_items(block, Role::Value);
        match self.lower_seq(&items, out) {
            Flow::Fell(v) => v,
            // The block's own `return` would leave the function, not yield a value.
            Flow::Returned(_) => {
                self.return_in_value(block);
                Value::Scalar(placeholder())
            }
        }
    }

    /// `return` where the macro needs a value: `let a = { return x; };`.
    pub(super) fn return_in_value<T: ToTokens>(&self, node: &T) {
        let tokens = node.to_token_stream();
        let target = syn::parse2::<Expr>(tokens.clone())
            .ok()
            .and_then(|e| find_return(&e))
            .map_or(tokens, |r| r.to_token_stream());
        self.errors.push_spanned(
            target,
            "`return` inside an expression is not supported in differentiated code; use `return` as a statement, e.g. in an `if` statement",
        );
    }

    /// An `if` without `return` inside: both branches run to their end, and
    /// the variables either assigns become outputs of the `if`.
    pub(super) fn lower_if(&mut self, e: &Expr, ifx: &syn::ExprIf, out: &mut Vec<Stmt>) -> Value {
        if contains_return(e) {
            self.return_in_value(e);
            return Value::Scalar(placeholder());
        }
        if matches!(&*ifx.cond, Expr::Let(_)) {
            return self.opaque(e, Construct::IfLet, out);
        }
        let cond = self.lower_operand(&ifx.cond, out);
        let snapshot = self.scopes.clone();
        let whole_read = self.whole_read.clone();

        let mut then_stmts = Vec::new();
        let then_value = self.lower_block_value(&ifx.then_branch, &mut then_stmts);
        let then_env = std::mem::replace(&mut self.scopes, snapshot.clone());
        // A branch does not run after the other: its stores do not change
        // what the other read whole.
        let then_read = std::mem::replace(&mut self.whole_read, whole_read);

        let mut else_stmts = Vec::new();
        let else_value = match &ifx.else_branch {
            Some((_, e)) => self.lower_expr(e, &mut else_stmts),
            None => Value::Unit,
        };
        let else_env = std::mem::replace(&mut self.scopes, snapshot.clone());
        self.whole_read.extend(then_read);

        // Branches of different types are an error rustc reports.
        let value_shape = if then_value.same_shape(&else_value) {
            then_value.clone()
        } else {
            Value::Unit
        };
        let mut then_yields = if value_shape.same_shape(&then_value) {
            then_value.operands()
        } else {
            Vec::new()
        };
        let mut else_yields = if value_shape.same_shape(&else_value) {
            else_value.operands()
        } else {
            Vec::new()
        };
        if then_yields.len() != else_yields.len() {
            then_yields.clear();
            else_yields.clear();
        }
        let mut outs: Vec<VarId> = then_yields.iter().map(|_| self.new_var(None)).collect();

        // Variables assigned in either branch.
        let mut merged = Vec::new();
        for (si, scope) in snapshot.iter().enumerate() {
            for (ei, entry) in scope.iter().enumerate() {
                let t = &then_env[si][ei].value;
                let f = &else_env[si][ei].value;
                if same_value(t, &entry.value) && same_value(f, &entry.value) {
                    continue;
                }
                // `let y; if c { y = .. } else { unreachable!() }`: a branch that
                // leaves `y` unassigned can only diverge (rustc checks), so it
                // yields a placeholder that never runs.
                let never = |v: &Value| {
                    v.rebuild(&mut std::iter::repeat(Operand::Const(quote!(
                        ::sgrad::__private::never()
                    ))))
                };
                let (t, f) = match (t, f) {
                    (Some(t), None) if entry.value.is_none() => (t.clone(), never(t)),
                    (None, Some(f)) if entry.value.is_none() => (never(f), f.clone()),
                    (Some(t), Some(f)) => (t.clone(), f.clone()),
                    _ => {
                        merged.push((si, ei, None));
                        continue;
                    }
                };
                if !t.same_shape(&f) {
                    merged.push((si, ei, None));
                    continue;
                }
                let ops: Vec<VarId> = t
                    .operands()
                    .iter()
                    .map(|_| self.new_var(Some(&entry.name)))
                    .collect();
                for v in &ops {
                    self.vars[v.0].ty = entry.ty.clone();
                }
                then_yields.extend(t.operands());
                else_yields.extend(f.operands());
                outs.extend(&ops);
                let merged_value = t.rebuild(&mut ops.into_iter().map(Operand::Var));
                merged.push((si, ei, Some(merged_value)));
            }
        }
        for (si, ei, value) in merged {
            self.scopes[si][ei].value = value;
        }

        let arrays = then_yields
            .iter()
            .chain(&else_yields)
            .filter_map(Operand::var)
            .any(|v| self.vars[v.0].is_array());
        if arrays {
            // Its outputs are arrays too, so reading them reports nothing more.
            for (o, (t, f)) in outs.iter().zip(then_yields.iter().zip(&else_yields)) {
                let rank = |y: &Operand| y.var().map_or(0, |v| self.vars[v.0].rank);
                if rank(t).max(rank(f)) > 0 {
                    self.vars[o.0].rank = rank(t).max(rank(f));
                }
            }
            self.errors.push_spanned(
                ifx.if_token,
                "this `if` chooses between arrays, which is not supported yet; index the arrays inside the branches instead",
            );
        }
        let record = self.new_var(Some("br"));
        let n_value = value_shape.operands().len().min(outs.len());
        let value_outs: Vec<Operand> = outs[..n_value].iter().map(|v| Operand::Var(*v)).collect();
        out.push(Stmt::If(If {
            cond,
            then_branch: Block {
                stmts: then_stmts,
                yields: then_yields,
            },
            else_branch: Block {
                stmts: else_stmts,
                yields: else_yields,
            },
            outs,
            record,
        }));
        if n_value == value_shape.operands().len() {
            value_shape.rebuild(&mut value_outs.into_iter())
        } else {
            Value::Unit
        }
    }
}
