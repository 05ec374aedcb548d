//! Lowering: a function body (syn) → A-normal form (`ir.rs`).
//!
//! ```text
//! let t = x * y;                      let __ad_t = x * y;
//! let mut s = t.sin() + c;     →      let __ad_1 = __ad_t.sin();
//! s *= 2.0;                           let __ad_s = __ad_1 + c;
//! s                                   let __ad_s_1 = __ad_s * 2.0;   yield __ad_s_1
//! ```
//!
//! * Each user variable maps to its current SSA version in a scoped
//!   environment; assignment makes a new version, and an `if` merges the
//!   versions its branches produce into outputs of the `if`.
//! * `return` inside an `if` is handled by moving the statements that follow
//!   the `if` into the branches that fall through, so every path ends in one
//!   returned value.
//! * Literals and constant paths stay inline (`Operand::Const`).
//! * Code the macro does not differentiate (loops, closures, unknown calls,
//!   other macros) becomes an `Opaque` binding with its variables renamed;
//!   activity analysis later rejects it if a derivative would flow through it.
//!   Errors are collected, never thrown, so one compile reports all of them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat, Stmt as SynStmt};

use crate::errors::Errors;
use crate::ir::*;
use crate::names::{self, Stems};
use crate::rules;
use crate::symbol::{SG, SG_FOR};

/// What lowering needs to know about the function.
pub struct Input<'a> {
    /// Every parameter's pattern, in order.
    /// The parameters, with their types where written.
    pub params: Vec<(&'a Pat, Option<&'a syn::Type>)>,
    /// The differentiation variables (already checked to be identifier
    /// parameters of float type), in the user's order.
    pub wrt: Vec<(Ident, syn::Type)>,
    pub body: Body<'a>,
}

pub enum Body<'a> {
    Block(&'a syn::Block),
    Expr(&'a Expr),
}

pub fn from_syn(input: Input, errors: &Errors) -> Function {
    let mut cx = Lower {
        errors,
        vars: Vec::new(),
        stems: Stems::default(),
        sites: Vec::new(),
        wrt_names: input.wrt.iter().map(|(i, _)| i.clone()).collect(),
        param_names: Vec::new(),
        scopes: vec![Vec::new()],
        frames: Vec::new(),
        escapes: Vec::new(),
        loops_seen: 0,
        call_names: HashMap::new(),
        loop_assigned: Vec::new(),
        storage_depth: HashMap::new(),
        whole_read: HashMap::new(),
    };
    for (pat, ty) in &input.params {
        cx.bind_param(pat);
        // Arrays of floats among the constants are data the body only reads
        // (unless `mut`): indexed like differentiation variables, their
        // elements can be recomputed in the backward sweep instead of taped.
        if let (Pat::Ident(p), Some(ty)) = (pat, ty) {
            if p.mutability.is_none() {
                if let Some(v) = cx.lookup_var(&p.ident.to_string()) {
                    cx.vars[v.0].rank = crate::symbol::gradient_type(ty).map_or(0, |(_, r)| r);
                }
            }
        }
    }
    let wrt = input
        .wrt
        .iter()
        .map(|(ident, _ty)| {
            let var = cx
                .lookup_var(&ident.to_string())
                .unwrap_or_else(|| cx.new_param(ident));
            cx.vars[var.0].rank = crate::symbol::gradient_type(_ty).map_or(0, |(_, rank)| rank);
            Param {
                ident: ident.clone(),
                var,
            }
        })
        .collect();

    let items = match input.body {
        Body::Block(b) => block_items(b, Role::Return),
        Body::Expr(Expr::Block(b)) if b.label.is_none() => block_items(&b.block, Role::Return),
        Body::Expr(e) => vec![Item::Expr(e, Role::Return)],
    };
    let mut stmts = Vec::new();
    let result = match cx.lower_seq(&items, &mut stmts) {
        Flow::Returned(v) => cx.scalar(v, body_span(&input.body)),
        // A body without a final value either diverges (`unimplemented!()`)
        // or is a type error that rustc reports on the user's function.
        Flow::Fell(_) => placeholder(),
    };
    Function {
        vars: cx.vars,
        wrt,
        sites: cx.sites,
        body: Block {
            stmts,
            yields: vec![result],
        },
    }
}

/// Stands in for a value after an error, so lowering can go on.
fn placeholder() -> Operand {
    Operand::Const(quote!(0.0))
}

fn body_span(body: &Body) -> Span {
    match body {
        Body::Block(b) => b.brace_token.span.join(),
        Body::Expr(e) => e.span(),
    }
}

/// A value during lowering: tuples are kept apart so their components can be
/// differentiated separately.
#[derive(Clone)]
enum Value {
    Unit,
    Scalar(Operand),
    Tuple(Vec<Value>),
}

impl Value {
    fn operands(&self) -> Vec<Operand> {
        match self {
            Value::Unit => Vec::new(),
            Value::Scalar(o) => vec![o.clone()],
            Value::Tuple(vs) => vs.iter().flat_map(Value::operands).collect(),
        }
    }

    fn same_shape(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Unit, Value::Unit) | (Value::Scalar(_), Value::Scalar(_)) => true,
            (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same_shape(b))
            }
            _ => false,
        }
    }

    /// The same shape, with fresh operands taken from `ops`.
    fn rebuild(&self, ops: &mut impl Iterator<Item = Operand>) -> Value {
        match self {
            Value::Unit => Value::Unit,
            Value::Scalar(_) => Value::Scalar(ops.next().expect("one operand per component")),
            Value::Tuple(vs) => Value::Tuple(vs.iter().map(|v| v.rebuild(ops)).collect()),
        }
    }
}

fn same_operand(a: &Operand, b: &Operand) -> bool {
    match (a, b) {
        (Operand::Var(a), Operand::Var(b)) => a == b,
        (Operand::Const(a), Operand::Const(b)) => a.to_string() == b.to_string(),
        _ => false,
    }
}

fn same_value(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.same_shape(b) && {
                let (a, b) = (a.operands(), b.operands());
                a.iter().zip(&b).all(|(a, b)| same_operand(a, b))
            }
        }
        _ => false,
    }
}

#[derive(Clone)]
struct Entry {
    name: String,
    /// `None` while declared without a value (`let x;`).
    value: Option<Value>,
    mutable: bool,
    /// The type on its `let`, which every later version keeps.
    ty: Option<syn::Type>,
}

type Scopes = Vec<Vec<Entry>>;

#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// The function's result.
    Return,
    /// The value of the enclosing block.
    Value,
    /// Evaluated for its effects.
    Discard,
}

#[derive(Clone, Copy)]
enum Item<'a> {
    Stmt(&'a SynStmt),
    Expr(&'a Expr, Role),
    Open,
    Close,
    /// Leave as `exit` says: what a loop's escape flag asks for after it.
    Exit(Exit),
    /// `if flag { exit } else { the items after this one }`.
    Guard(VarId, Exit),
}

/// A way out of a loop body other than the end of the iteration.
#[derive(Clone, Copy)]
enum Exit {
    /// `return` with this value.
    Return(VarId),
    /// `break` / `continue` of the loop with this frame index.
    Break(usize),
    Continue(usize),
}

/// A loop body being lowered.
struct Frame {
    /// Where the variables it carries (synthetic ones included) live in
    /// `scopes`: by position, not by name, since the body may shadow them.
    carried: Vec<(usize, usize)>,
    label: Option<String>,
    /// Synthetic variables (named `#..`, which no user can write), carried
    /// like the user's: the value and flag of a `return`, ..
    ret: Option<(String, String)>,
    /// .. the flags of `break`/`continue` of enclosing loops (by frame index,
    /// and whether it is `continue`), ..
    outer: Vec<(usize, bool, String)>,
    /// .. and the value of `break v` of this `loop`.
    value: Option<String>,
}

enum Flow {
    /// The sequence returned from the function with this value.
    Returned(Value),
    /// The sequence fell through with this block value.
    Fell(Value),
}

fn block_items(block: &syn::Block, tail: Role) -> Vec<Item<'_>> {
    let mut items = vec![Item::Open];
    let n = block.stmts.len();
    for (i, s) in block.stmts.iter().enumerate() {
        match s {
            SynStmt::Expr(e, None) if i + 1 == n => items.push(Item::Expr(e, tail)),
            SynStmt::Expr(e, _) => items.push(Item::Expr(e, Role::Discard)),
            _ => items.push(Item::Stmt(s)),
        }
    }
    items.push(Item::Close);
    items
}

struct Lower<'a> {
    errors: &'a Errors,
    vars: Vec<Var>,
    stems: Stems,
    sites: Vec<Site>,
    wrt_names: Vec<Ident>,
    param_names: Vec<String>,
    scopes: Scopes,
    /// The loop bodies being lowered, innermost last. `break` and `continue`
    /// end the body's item sequence with the tuple (keep going?, carried
    /// values..), like `return` ends a function; leaving an outer loop or the
    /// function sets a synthetic flag first (see `Frame`), and after the loop
    /// a guard on the flag leaves again (`escapes`).
    frames: Vec<Frame>,
    /// Guards the statements after a loop need: (flag, exit), from the loop
    /// just lowered.
    escapes: Vec<(VarId, Exit)>,
    /// Numbers the synthetic names of loops.
    loops_seen: usize,
    /// The values of calls (`Prim::Call`), with the function's name for errors.
    call_names: HashMap<VarId, (String, TokenStream)>,
    /// For each loop body being lowered, innermost last: the names it assigns.
    loop_assigned: Vec<BTreeSet<String>>,
    /// How many loops enclose each storage array's declaration.
    storage_depth: HashMap<VarId, usize>,
    /// Storage arrays a runtime function has read whole, and that function:
    /// its derivative needs the values it saw, so they must not change after.
    whole_read: HashMap<VarId, &'static str>,
}

impl Lower<'_> {
    // ----- variables and the environment -----

    fn new_param(&mut self, ident: &Ident) -> VarId {
        let stem = self.stems.param(&ident.to_string());
        self.vars.push(Var {
            stem,
            ident: ident.clone(),
            ty: None,
            user: Some(ident.to_string()),
            rank: 0,
            storage: false,
            mutable: false,
            view: None,
            reference: false,
        });
        VarId(self.vars.len() - 1)
    }

    fn new_var(&mut self, user: Option<&str>) -> VarId {
        // A synthetic variable (`#ret1`, see `Frame`) is named for what it holds.
        if let Some(name) = user.and_then(|u| u.strip_prefix('#')) {
            let stem = self
                .stems
                .fresh(name.trim_end_matches(|c: char| !c.is_alphabetic()));
            return self.push_var(stem, None);
        }
        let stem = match user {
            Some(name) => self.stems.fresh(name),
            None => self.stems.temporary(),
        };
        self.push_var(stem, user.map(str::to_owned))
    }

    fn push_var(&mut self, stem: String, user: Option<String>) -> VarId {
        self.vars.push(Var {
            ident: names::generated(&stem),
            stem,
            ty: None,
            user,
            rank: 0,
            storage: false,
            mutable: false,
            view: None,
            reference: false,
        });
        VarId(self.vars.len() - 1)
    }

    fn rename_var(&mut self, v: VarId, user: &str) {
        let stem = self.stems.fresh(user);
        let var = &mut self.vars[v.0];
        var.ident = names::generated(&stem);
        var.stem = stem;
        var.user = Some(user.to_owned());
    }

    fn bind_param(&mut self, pat: &Pat) {
        match pat {
            Pat::Ident(p) => {
                self.param_names.push(p.ident.to_string());
                let v = self.new_param(&p.ident);
                self.declare(
                    &p.ident.to_string(),
                    Some(Value::Scalar(Operand::Var(v))),
                    p.mutability.is_some(),
                );
            }
            Pat::Type(t) => self.bind_param(&t.pat),
            Pat::Paren(p) => self.bind_param(&p.pat),
            Pat::Tuple(t) => t.elems.iter().for_each(|p| self.bind_param(p)),
            Pat::TupleStruct(t) => t.elems.iter().for_each(|p| self.bind_param(p)),
            Pat::Struct(s) => s.fields.iter().for_each(|f| self.bind_param(&f.pat)),
            Pat::Reference(r) => self.bind_param(&r.pat),
            Pat::Slice(s) => s.elems.iter().for_each(|p| self.bind_param(p)),
            _ => {}
        }
    }

    fn declare(&mut self, name: &str, value: Option<Value>, mutable: bool) {
        self.declare_typed(name, value, mutable, None);
    }

    fn declare_typed(
        &mut self,
        name: &str,
        value: Option<Value>,
        mutable: bool,
        ty: Option<&syn::Type>,
    ) {
        self.scopes
            .last_mut()
            .expect("a scope is open")
            .push(Entry {
                name: name.to_owned(),
                value,
                mutable,
                ty: ty.cloned(),
            });
    }

    fn lookup(&self, name: &str) -> Option<&Entry> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|e| e.name == name)
    }

    /// The position of the entry `name` denotes now, in `scopes`.
    fn locate(&self, name: &str) -> Option<(usize, usize)> {
        self.scopes.iter().enumerate().rev().find_map(|(i, scope)| {
            let j = scope.iter().rposition(|e| e.name == name)?;
            Some((i, j))
        })
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.scopes
            .iter_mut()
            .rev()
            .flat_map(|s| s.iter_mut().rev())
            .find(|e| e.name == name)
    }

    fn lookup_var(&self, name: &str) -> Option<VarId> {
        match self.lookup(name)?.value.as_ref()? {
            Value::Scalar(Operand::Var(v)) => Some(*v),
            _ => None,
        }
    }

    fn var_name(&self, v: VarId) -> String {
        self.vars[v.0]
            .user
            .clone()
            .unwrap_or_else(|| "a temporary".to_owned())
    }

    fn push_let(&mut self, out: &mut Vec<Stmt>, prim: Prim, span: Span) -> Value {
        let v = self.new_var(None);
        out.push(Stmt::Let {
            outs: vec![v],
            prim,
            span,
        });
        Value::Scalar(Operand::Var(v))
    }

    /// The operand of a value used as a number. A tuple or `()` here is a
    /// type error rustc reports on the user's own function, so the macro
    /// stays silent and continues with a placeholder (one error, not two).
    fn scalar(&mut self, v: Value, _span: Span) -> Operand {
        match v {
            Value::Scalar(o) => o,
            _ => placeholder(),
        }
    }

    // ----- statement sequences -----

    fn lower_seq(&mut self, items: &[Item<'_>], out: &mut Vec<Stmt>) -> Flow {
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

    /// The frame a `break`/`continue` leaves: the innermost loop, or the one
    /// with that label.
    fn target(&self, label: Option<&syn::Lifetime>) -> usize {
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
    fn leave_function(&mut self, v: Operand) -> Flow {
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
    fn leave(&mut self, exit: Exit, value: Option<&Expr>, out: &mut Vec<Stmt>) -> Flow {
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
    fn lower_guard(
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
    fn lower_returning_if(
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
                let value = self.lower_expr(&init.expr, out);
                self.bind_pattern(pat, ty, value, first_new, out);
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

    fn unsupported_pattern(&self, p: &Pat) {
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
                    if v.0 >= first_new && self.vars[v.0].storage {
                        self.vars[v.0].mutable = p.mutability.is_some();
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

    // ----- expressions -----

    fn lower_operand(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Operand {
        let v = self.lower_expr(e, out);
        self.scalar(v, e.span())
    }

    fn lower_expr(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Value {
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
                    None => self.opaque(e, Construct::Method(m.method.to_string()), out),
                }
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
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                // `self.log(x)` is the user's method, never the float one.
                let rule = rules::method(&name, m.args.len() + 1).filter(|_| !is_self(&m.receiver));
                match rule {
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
            Expr::ForLoop(f) => match self.loop_source(&f.expr, out) {
                Some(source) => {
                    self.lower_loop(&f.pat, &f.body, source, f.label.as_ref(), f.span(), out)
                }
                _ => self.opaque(e, Construct::Loop("for"), out),
            },
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
        let code = crate::primal::apply_tokens(&self.vars, &form, &args);
        self.push_let(
            out,
            Prim::Opaque(Opaque::reading(code, reads, construct, e.to_token_stream())),
            e.span(),
        )
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

    fn in_loop_body(&self) -> bool {
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

    fn apply(
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
            let code = crate::primal::apply_tokens(&self.vars, &form, &args);
            return Value::Scalar(Operand::Const(quote!((#code))));
        }
        self.push_let(out, Prim::Apply { rule, form, args }, span)
    }

    fn lower_call(&mut self, e: &Expr, c: &syn::ExprCall, out: &mut Vec<Stmt>) -> Value {
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
    fn call_args(
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

    /// `let (value, gradients) = callee(args..)` (see `Prim::Call`).
    fn call(
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

    fn lower_sg_for(&mut self, mac: &syn::Macro, out: &mut Vec<Stmt>) -> Value {
        let parsed = match mac.parse_body_with(parse_sg_for) {
            Ok(p) => p,
            Err(err) => {
                self.errors.push(err);
                return Value::Scalar(Operand::Const(quote!(0.0)));
            }
        };
        let blocked = check_sg_for_names(
            &parsed.names,
            &self.wrt_names,
            &self.param_names,
            self.errors,
        );
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
        let (name, arity) = match last.ident.to_string().as_str() {
            "log_sum_exp" => ("log_sum_exp", 1),
            "log_softmax" => ("log_softmax", 1),
            "dot" => ("dot", 2),
            "sum" => ("sum", 1),
            _ => return None,
        };
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
            if name != "sum" {
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
        if name == "log_softmax" {
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

    /// `sg(a)` of an array is an array.
    fn inherit_array(&mut self, v: &Value, arg: &Operand) {
        if let (Value::Scalar(Operand::Var(v)), Some(a)) = (v, arg.var()) {
            self.vars[v.0].rank = self.vars[a.0].rank;
        }
    }

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

    /// `receiver.name(args..)` for a method of the rule table.
    fn method_call(
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

    /// `x.iter().sum()` / `.product()` of an array variable, as the loop it is.
    fn lower_fold(
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
            (syn::BinOp::Add(syn::Token![+](span)), "add", quote!(0.0))
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
    fn loop_source<'e>(&mut self, e: &'e Expr, out: &mut Vec<Stmt>) -> Option<LoopSource<'e>> {
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
            _ => None,
        }
    }

    /// The array variable `x` in `x.iter()` (or a row, `m[i].iter()`).
    fn iter_of_array(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Option<VarId> {
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

    fn path_var(&self, e: &Expr) -> Option<VarId> {
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

    /// The array variable `e` names, if it is one.
    fn array_var(&self, e: &Expr) -> Option<VarId> {
        let Expr::Path(p) = e else { return None };
        let v = self.lookup_var(&p.path.get_ident()?.to_string())?;
        self.vars[v.0].is_array().then_some(v)
    }

    // ----- arrays -----

    /// The array variable a place indexes, and the index expressions:
    /// `x[i][j]` → (`x`, [`i`, `j`]), `x` → (`x`, []).
    fn array_place<'e>(&self, e: &'e Expr) -> Option<(VarId, Vec<&'e Expr>)> {
        match e {
            Expr::Paren(p) => self.array_place(&p.expr),
            Expr::Index(ix) => {
                let (base, mut index) = self.array_place(&ix.expr)?;
                index.push(&ix.index);
                Some((base, index))
            }
            e => Some((self.array_var(e)?, Vec::new())),
        }
    }

    /// The array a view is a row of, and the indices reaching the row; an
    /// array that is not a view is its own root.
    fn root(&self, array: VarId) -> (VarId, Vec<Operand>) {
        match &self.vars[array.0].view {
            Some((root, path)) => (*root, path.clone()),
            None => (array, Vec::new()),
        }
    }

    /// The root and all indices of `array[index..]`, the indices lowered in order.
    fn lower_indices(
        &mut self,
        array: VarId,
        index: &[&Expr],
        out: &mut Vec<Stmt>,
    ) -> (VarId, Vec<Operand>) {
        let (root, mut path) = self.root(array);
        for i in index {
            path.push(self.lower_operand(i, out));
        }
        (root, path)
    }

    /// `root[index..]`: a number (`&` of one if `by_ref`), or a view of a row
    /// if there are fewer indices than the rank.
    fn read_element(
        &mut self,
        root: VarId,
        index: Vec<Operand>,
        by_ref: bool,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let rank = self.vars[root.0].rank.saturating_sub(index.len());
        // Read-only arrays never change, so `x[i]` read twice is one value:
        // remembered in the environment under a name no user can write
        // (`3[i]`), which gives it the right scope for free.
        let key = (!self.vars[root.0].storage && rank == 0 && !by_ref).then(|| {
            let keys: String = index
                .iter()
                .map(|i| format!("[{}]", index_key(i)))
                .collect();
            format!("{}{keys}", root.0)
        });
        if let Some(key) = &key {
            if let Some(Value::Scalar(o)) = self.lookup(key).and_then(|e| e.value.clone()) {
                return Value::Scalar(o);
            }
        }
        let v = self.new_var(None);
        self.vars[v.0].rank = rank;
        // What the user's code sees: a reference (`&x[i]`, `row` of `x.iter()`),
        // or a value (`x[i]`, also a row `w[1]`, which the view borrows).
        self.vars[v.0].reference = by_ref;
        if rank > 0 {
            self.vars[v.0].view = Some((root, index.clone()));
        }
        out.push(Stmt::Let {
            outs: vec![v],
            prim: Prim::Index {
                base: root,
                index,
                by_ref: by_ref || rank > 0,
            },
            span,
        });
        let value = Value::Scalar(Operand::Var(v));
        if let Some(key) = key {
            self.declare(&key, Some(value.clone()), false);
        }
        value
    }

    /// `x[i]..` or `&x[i]..` of an array variable; `None` if `e` is not one.
    fn lower_element(&mut self, e: &Expr, by_ref: bool, out: &mut Vec<Stmt>) -> Option<Value> {
        let (array, index) = self.array_place(e)?;
        if index.is_empty() {
            // `&x`: the array itself.
            return by_ref.then_some(Value::Scalar(Operand::Var(array)));
        }
        // `x[1..]` is a slice, not an element: read as written.
        if index.len() > self.vars[array.0].rank
            || index.iter().any(|i| matches!(i, Expr::Range(_)))
        {
            return None;
        }
        let (root, index) = self.lower_indices(array, &index, out);
        Some(self.read_element(root, index, by_ref, e.span(), out))
    }

    /// The storage array a place indexes down to a number: `a[i]` with `a`
    /// a local array.
    fn storage_place<'e>(&self, e: &'e Expr) -> Option<(VarId, Vec<&'e Expr>)> {
        let (array, index) = self.array_place(e)?;
        (self.vars[array.0].storage && index.len() == self.vars[array.0].rank)
            .then_some((array, index))
    }

    /// `a[i] = value` (or `a.push(value)`, `index` then the length before it).
    fn store(
        &mut self,
        base: VarId,
        index: Vec<Operand>,
        value: Operand,
        push: bool,
        span: Span,
        out: &mut Vec<Stmt>,
    ) {
        if let Some(reader) = self.whole_read.get(&base) {
            self.errors.push(syn::Error::new(
                span,
                format!(
                    "`{}` changes after `{reader}` read all of it, which is not supported in differentiated code: the derivative of `{reader}` needs the values it read; fill a new array instead",
                    self.var_name(base)
                ),
            ));
        }
        out.push(Stmt::Let {
            outs: Vec::new(),
            prim: Prim::Store {
                base,
                index,
                value,
                push,
            },
            span,
        });
    }

    /// `[e; n]`, `[a, b, ..]`, `vec![..]` of those, `Vec::new()` and
    /// `Vec::with_capacity(n)`: a new storage array, if `e` is one of these
    /// with numbers for elements.
    fn new_array(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Option<Value> {
        let new = match e {
            Expr::Repeat(r) if self.is_number_like(&r.expr) => {
                let elem = self.lower_operand(&r.expr, out);
                let len = self.lower_operand(&r.len, out);
                NewArray::Repeat {
                    elem,
                    len,
                    vec: false,
                }
            }
            Expr::Array(a) if a.elems.iter().all(|e| self.is_number_like(e)) => {
                let elems = a.elems.iter().map(|e| self.lower_operand(e, out)).collect();
                NewArray::List { elems, vec: false }
            }
            Expr::Macro(m) if macro_name(&m.mac.path) == "vec" => {
                let tokens = &m.mac.tokens;
                let inner: Expr = syn::parse2(quote!([#tokens])).ok()?;
                if !matches!(&inner, Expr::Repeat(_) | Expr::Array(_)) {
                    return None;
                }
                let Value::Scalar(Operand::Var(v)) = self.new_array(&inner, out)? else {
                    return None;
                };
                let Some(Stmt::Let {
                    prim: Prim::NewArray(new),
                    ..
                }) = out.last_mut()
                else {
                    return None;
                };
                match new {
                    NewArray::Repeat { vec, .. } | NewArray::List { vec, .. } => *vec = true,
                    NewArray::Empty { .. } => {}
                }
                return Some(Value::Scalar(Operand::Var(v)));
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let n = p.path.segments.len();
                if p.qself.is_some() || n < 2 || p.path.segments[n - 2].ident != "Vec" {
                    return None;
                }
                let capacity = match (
                    p.path.segments[n - 1].ident.to_string().as_str(),
                    c.args.len(),
                ) {
                    ("new", 0) => None,
                    ("with_capacity", 1) => Some(self.lower_operand(&c.args[0], out)),
                    _ => return None,
                };
                NewArray::Empty {
                    ctor: p.path.clone(),
                    capacity,
                }
            }
            _ => return None,
        };
        let v = self.new_var(None);
        self.vars[v.0].rank = 1;
        self.vars[v.0].storage = true;
        self.storage_depth.insert(v, self.loop_assigned.len());
        out.push(Stmt::Let {
            outs: vec![v],
            prim: Prim::NewArray(new),
            span: e.span(),
        });
        Some(Value::Scalar(Operand::Var(v)))
    }

    /// Whether an array element expression is a number (not a tuple or an array).
    fn is_number_like(&self, e: &Expr) -> bool {
        match e {
            Expr::Tuple(_) | Expr::Array(_) | Expr::Repeat(_) => false,
            Expr::Macro(m) => macro_name(&m.mac.path) != "vec",
            Expr::Paren(p) => self.is_number_like(&p.expr),
            Expr::Path(p) => match p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                Some(entry) => match &entry.value {
                    Some(Value::Scalar(Operand::Var(v))) => !self.vars[v.0].is_array(),
                    Some(Value::Scalar(Operand::Const(_))) | None => true,
                    Some(_) => false,
                },
                None => true,
            },
            _ => true,
        }
    }

    /// A runtime function reads all of `array`: an error if the array
    /// changes later in a loop around the call (see `whole_read`).
    fn read_whole(&mut self, array: VarId, reader: &'static str, span: Span) {
        if !self.vars[array.0].storage {
            return;
        }
        self.whole_read.insert(array, reader);
        let depth = self.storage_depth.get(&array).copied().unwrap_or(0);
        let name = self.var_name(array);
        if self.loop_assigned[depth.min(self.loop_assigned.len())..]
            .iter()
            .any(|names| names.contains(&name))
        {
            self.errors.push(syn::Error::new(
                span,
                format!("`{reader}` reads all of `{name}`, which the loop around it changes, and that is not supported in differentiated code: the derivative of `{reader}` needs the values it read; declare `{name}` inside the loop, or fill a new array"),
            ));
        }
    }

    /// `for i in a..b { body }`: the variables the body assigns are carried
    /// from one iteration to the next (see `ir::Loop`).
    /// A `for` or `while` loop (see `ir::Loop`); `pat` is unused for `while`.
    fn lower_loop(
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

    fn lower_block_value(&mut self, block: &syn::Block, out: &mut Vec<Stmt>) -> Value {
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
    fn return_in_value<T: ToTokens>(&self, node: &T) {
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
    fn lower_if(&mut self, e: &Expr, ifx: &syn::ExprIf, out: &mut Vec<Stmt>) -> Value {
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

    fn lower_assign(&mut self, e: &Expr, a: &syn::ExprAssign, out: &mut Vec<Stmt>) -> Value {
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

    // ----- opaque code -----

    /// Code passed through as written, with the user's variables renamed to
    /// their current versions. Mutable variables it may write get a new
    /// version, declared `mut` before it.
    fn opaque<T: ToTokens + OpaqueNode>(
        &mut self,
        node: &T,
        construct: Construct,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let escape = find_escape(node);
        if let Some(exit) = &escape {
            self.errors.push_spanned(
                exit,
                format!(
                    "leaving a loop from inside {} is not supported in differentiated code; {}",
                    construct.describe(),
                    if matches!(construct, Construct::Loop(_)) {
                        "set a flag, `break` out of this loop, and leave the outer one after it"
                    } else {
                        "compute a condition first, then `break` or `continue` in an `if` on it"
                    }
                ),
            );
        }
        let reported = find_return(node).is_some() || escape.is_some();
        if let Some(ret) = find_return(node) {
            self.errors.push_spanned(
                ret,
                format!(
                    "`return` inside {} is not supported in differentiated code{}",
                    construct.describe(),
                    if matches!(construct, Construct::Loop(_)) {
                        "; leave the loop with `break` and return after it"
                    } else {
                        ""
                    }
                ),
            );
        }
        let mut uses = Uses::default();
        node.visit(&mut uses);

        let mut reads = Vec::new();
        let mut writes = Vec::new();
        let mut mutates = Vec::new();
        let mut declares = Vec::new();
        let mut rename = BTreeMap::new();
        let mut prelude = TokenStream::new();
        let mut epilogue = TokenStream::new();
        let names: BTreeSet<&String> = uses
            .paths
            .iter()
            .chain(&uses.in_macros)
            .chain(&uses.in_strings)
            .chain(&uses.in_index)
            .collect();
        for name in names {
            let Some(entry) = self.lookup(name).cloned() else {
                continue;
            };
            let Some(value) = entry.value else {
                // `let w; match k { .. => w = .. }`: declared here, assigned by the code.
                if uses.assigned.contains(name) {
                    let v = self.new_var(Some(name));
                    self.vars[v.0].ty = entry.ty.clone();
                    declares.push(v);
                    rename.insert(name.clone(), self.vars[v.0].ident.clone());
                    if let Some(e) = self.lookup_mut(name) {
                        e.value = Some(Value::Scalar(Operand::Var(v)));
                    }
                }
                continue;
            };
            let ops = value.operands();
            if !uses.index_only(name) {
                reads.extend(
                    ops.iter()
                        .filter_map(Operand::var)
                        .map(|v| (v, name.clone())),
                );
            }
            let user = Ident::new(name, Span::call_site());
            let writes_it = uses.assigned.contains(name)
                || (entry.mutable && uses.maybe_assigned.contains(name));
            // The new name would be captured by a binding inside the code
            // (`|x| x - center` where `center` is the parameter `x`).
            let target_bound = ops
                .iter()
                .filter_map(Operand::var)
                .any(|v| uses.bound.contains(&self.vars[v.0].ident.to_string()));
            let needs_prelude = uses.bound.contains(name)
                || uses.in_strings.contains(name)
                || target_bound
                || !matches!(value, Value::Scalar(_));
            if writes_it {
                if let Value::Scalar(Operand::Var(v)) = value {
                    if self.vars[v.0].storage {
                        if let Some(reader) = self.whole_read.get(&v) {
                            self.errors.push_spanned(
                                node,
                                format!("this may change `{name}` after `{reader}` read all of it, which is not supported in differentiated code: the derivative of `{reader}` needs the values it read; fill a new array instead"),
                            );
                        }
                        mutates.push(v);
                        let ident = self.vars[v.0].ident.clone();
                        if needs_prelude {
                            prelude.extend(quote!(let mut #user = #ident;));
                            epilogue.extend(quote!(#ident = #user;));
                        } else {
                            rename.insert(name.clone(), ident);
                        }
                        continue;
                    }
                }
                let Value::Scalar(Operand::Var(old)) = value else {
                    self.errors.push_spanned(
                        node,
                        format!("assigning to a part of `{name}` is not supported in differentiated code; assign the whole value instead, e.g. `{name} = (..)`"),
                    );
                    continue;
                };
                let new = self.new_var(Some(name));
                writes.push((old, new));
                let new_ident = self.vars[new.0].ident.clone();
                if needs_prelude {
                    prelude.extend(quote!(let mut #user = #new_ident;));
                    epilogue.extend(quote!(#new_ident = #user;));
                } else {
                    rename.insert(name.clone(), new_ident);
                }
                if let Some(e) = self.lookup_mut(name) {
                    e.value = Some(Value::Scalar(Operand::Var(new)));
                }
            } else if needs_prelude {
                let tokens = crate::primal::value_tokens(
                    &self.vars,
                    &ops,
                    matches!(value, Value::Scalar(_)),
                );
                prelude.extend(quote!(let #user = #tokens;));
            } else if let Value::Scalar(Operand::Var(v)) = value {
                rename.insert(name.clone(), self.vars[v.0].ident.clone());
            }
        }
        let code = node.renamed(Rename {
            rename: &rename,
            bound: &uses.bound,
            sg_for: SgForCheck {
                wrt_names: &self.wrt_names,
                param_names: &self.param_names,
                errors: self.errors,
            },
        });
        let is_item = false;
        self.push_let(
            out,
            Prim::Opaque(Opaque {
                code,
                prelude,
                epilogue,
                reads,
                writes,
                mutates,
                declares,
                construct,
                origin: node.origin(),
                is_item,
                reported,
            }),
            node.to_token_stream()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |t| t.span()),
        )
    }
}

/// `self`.
fn is_self(e: &Expr) -> bool {
    matches!(e, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("self"))
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

/// The `wrt` indices `sg_for!` names; an error at each name that is not a
/// differentiation variable (SEMANTICS rule 5) or is listed twice.
fn check_sg_for_names(
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

/// What a `for` loop walks.
enum LoopSource<'e> {
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

/// The type of element `i` of a tuple type, if `ty` is one.
fn tuple_element_type(ty: Option<&syn::Type>, i: usize) -> Option<&syn::Type> {
    match ty {
        Some(syn::Type::Tuple(t)) => t.elems.iter().nth(i),
        _ => None,
    }
}

/// An operand as a key: its variable, or its constant's tokens.
fn index_key(o: &Operand) -> String {
    match o {
        Operand::Var(v) => format!("v{}", v.0),
        Operand::Const(c) => c.to_string(),
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

/// Whether a loop body leaves in a way the structured loop does not model:
/// `return`, a labeled `break`/`continue`, or `break` with a value. Plain
/// `break` and `continue` of this loop are modelled (`Lower::exits`).
/// How a loop body may leave more than its iteration: `return`, `break` /
/// `continue` with labels of enclosing loops, `break` with a value.
#[derive(Default)]
struct Escapes {
    returns: bool,
    /// Labels of `break 'l` / `continue 'l` (and whether `continue`).
    labeled: BTreeSet<(String, bool)>,
    /// Labels of loops inside the body: their `break`s stay inside.
    inner_labels: BTreeSet<String>,
    /// `break v` of this loop (not inside a nested loop), and labels of `break 'l v`.
    values_unlabeled: bool,
    values_labeled: BTreeSet<String>,
    depth: usize,
}

impl Escapes {
    fn nested(&mut self, label: Option<&syn::Label>, visit: impl FnOnce(&mut Self)) {
        if let Some(l) = label {
            self.inner_labels.insert(l.name.ident.to_string());
        }
        self.depth += 1;
        visit(self);
        self.depth -= 1;
    }
}

impl<'ast> Visit<'ast> for Escapes {
    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        self.returns = true;
        syn::visit::visit_expr_return(self, r);
    }
    fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
        match (&b.label, &b.expr) {
            (Some(l), value) => {
                let name = l.ident.to_string();
                if value.as_deref().is_some_and(|v| !is_unit_expr(v)) {
                    self.values_labeled.insert(name.clone());
                }
                self.labeled.insert((name, false));
            }
            (None, Some(v)) if self.depth == 0 && !is_unit_expr(v) => self.values_unlabeled = true,
            _ => {}
        }
        syn::visit::visit_expr_break(self, b);
    }
    fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
        if let Some(l) = &c.label {
            self.labeled.insert((l.ident.to_string(), true));
        }
    }
    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        self.nested(f.label.as_ref(), |v| v.visit_block(&f.body));
    }
    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.nested(w.label.as_ref(), |v| {
            v.visit_expr(&w.cond);
            v.visit_block(&w.body);
        });
    }
    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.nested(l.label.as_ref(), |v| v.visit_block(&l.body));
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Whether `e` has the value `()` by its syntax: `a = b`, `a += b`, `()`.
fn is_unit_expr(e: &Expr) -> bool {
    match e {
        Expr::Assign(_) => true,
        Expr::Binary(b) => {
            use syn::BinOp::*;
            matches!(
                b.op,
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
        Expr::Tuple(t) => t.elems.is_empty(),
        Expr::Paren(p) => is_unit_expr(&p.expr),
        _ => false,
    }
}

/// Whether `e` holds a `break` or `continue` of the loop being lowered (not
/// of a loop nested in it).
fn contains_exit(e: &Expr) -> bool {
    struct Find(bool);
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_break(&mut self, _: &'ast syn::ExprBreak) {
            self.0 = true;
        }
        fn visit_expr_continue(&mut self, _: &'ast syn::ExprContinue) {
            self.0 = true;
        }
        // A nested loop's own exits stay inside it; labeled ones may not.
        fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
            self.0 |= labeled_exit(&f.body);
        }
        fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
            self.0 |= labeled_exit(&w.body);
        }
        fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
            self.0 |= labeled_exit(&l.body);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut f = Find(false);
    f.visit_expr(e);
    f.0
}

/// Whether a loop body holds a `break 'l` or `continue 'l`.
fn labeled_exit(body: &syn::Block) -> bool {
    let mut esc = Escapes::default();
    esc.visit_block(body);
    !esc.labeled.is_empty()
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

fn macro_name(path: &syn::Path) -> String {
    path.segments
        .last()
        .map_or_else(String::new, |s| s.ident.to_string())
}

fn is_sg(path: &syn::Path) -> bool {
    path.segments
        .last()
        .is_some_and(|s| s.ident == SG && s.arguments.is_none())
        && (path.segments.len() == 1
            || path.segments.len() == 2 && path.segments[0].ident == crate::symbol::CRATE)
}

fn is_sg_for(path: &syn::Path) -> bool {
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
        names.push(input.parse()?);
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

impl Construct {
    pub fn describe(&self) -> String {
        match self {
            Construct::Loop("loop") => "a `loop`".into(),
            Construct::Loop(kw) => format!("a `{kw}` loop"),
            Construct::Closure => "a closure".into(),
            Construct::Unsafe => "an `unsafe` block".into(),
            Construct::Macro(m) => format!("the macro `{m}!`"),
            Construct::Match => "a `match`".into(),
            Construct::IfLet => "an `if let`".into(),
            Construct::Function(f) => format!("a call to `{f}`"),
            Construct::TupleCall(f) => format!("the tuple `{f}` returns"),
            Construct::Method(m) => format!("a call to the method `{m}`"),
            Construct::Operator(o) => format!("the operator `{o}`"),
            Construct::Index => "indexing".into(),
            Construct::Reference => "a reference".into(),
            Construct::Other(w) => (*w).into(),
        }
    }
}

// ----- syntax queries -----

/// Whether `e` contains a `return` of the function (not inside closures or items).
fn contains_return(e: &Expr) -> bool {
    find_return(e).is_some()
}

/// A `break` or `continue` in `node` that leaves it (to a loop around it),
/// as the tokens to point at.
fn find_escape<T: OpaqueNode + ?Sized>(node: &T) -> Option<TokenStream> {
    #[derive(Default)]
    struct Find {
        found: Option<TokenStream>,
        /// The labels of the loops and blocks entered so far, and how many loops.
        labels: Vec<String>,
        loops: usize,
    }
    impl Find {
        fn exit(&mut self, label: Option<&syn::Lifetime>, tokens: TokenStream) {
            let escapes = match label {
                None => self.loops == 0,
                Some(l) => !self.labels.contains(&l.ident.to_string()),
            };
            if escapes && self.found.is_none() {
                self.found = Some(tokens);
            }
        }
        fn enter(
            &mut self,
            label: Option<&syn::Label>,
            is_loop: bool,
            visit: impl FnOnce(&mut Self),
        ) {
            let (labels, loops) = (self.labels.len(), self.loops);
            self.labels.extend(label.map(|l| l.name.ident.to_string()));
            self.loops += usize::from(is_loop);
            visit(self);
            self.labels.truncate(labels);
            self.loops = loops;
        }
    }
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
            self.exit(b.label.as_ref(), b.to_token_stream());
            syn::visit::visit_expr_break(self, b);
        }
        fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
            self.exit(c.label.as_ref(), c.to_token_stream());
        }
        fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
            self.visit_expr(&f.expr);
            self.enter(f.label.as_ref(), true, |v| v.visit_block(&f.body));
        }
        fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
            self.enter(w.label.as_ref(), true, |v| {
                v.visit_expr(&w.cond);
                v.visit_block(&w.body);
            });
        }
        fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
            self.enter(l.label.as_ref(), true, |v| v.visit_block(&l.body));
        }
        fn visit_expr_block(&mut self, b: &'ast syn::ExprBlock) {
            self.enter(b.label.as_ref(), false, |v| v.visit_block(&b.block));
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut f = Find::default();
    node.visit(&mut f);
    f.found
}

fn find_return<T: OpaqueNode + ?Sized>(node: &T) -> Option<syn::ExprReturn> {
    struct Find(Option<syn::ExprReturn>);
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
            self.0.get_or_insert_with(|| r.clone());
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut f = Find(None);
    node.visit(&mut f);
    f.0
}

/// A syntax node that can be passed through opaquely.
trait OpaqueNode: ToTokens {
    fn visit<'ast>(&'ast self, v: &mut impl Visit<'ast>);
    /// The smallest tokens that name the construct, to span its error.
    fn origin(&self) -> TokenStream {
        self.to_token_stream()
    }
    fn renamed(&self, rename: Rename<'_>) -> TokenStream;
}

impl OpaqueNode for Expr {
    fn visit<'ast>(&'ast self, v: &mut impl Visit<'ast>) {
        v.visit_expr(self);
    }
    fn origin(&self) -> TokenStream {
        match self {
            Expr::ForLoop(f) => {
                let (kw, pat, in_token, expr) = (&f.for_token, &f.pat, &f.in_token, &f.expr);
                quote!(#kw #pat #in_token #expr)
            }
            Expr::While(w) => {
                let (kw, cond) = (&w.while_token, &w.cond);
                quote!(#kw #cond)
            }
            Expr::Loop(l) => l.loop_token.to_token_stream(),
            Expr::Match(m) => {
                let (kw, expr) = (&m.match_token, &m.expr);
                quote!(#kw #expr)
            }
            Expr::If(i) => {
                let (kw, cond) = (&i.if_token, &i.cond);
                quote!(#kw #cond)
            }
            Expr::Unsafe(u) => u.unsafe_token.to_token_stream(),
            Expr::Closure(c) => {
                let (a, inputs, b) = (&c.or1_token, &c.inputs, &c.or2_token);
                quote!(#a #inputs #b)
            }
            Expr::Block(b) => b.label.to_token_stream(),
            Expr::Macro(m) => {
                let (path, bang) = (&m.mac.path, &m.mac.bang_token);
                quote!(#path #bang)
            }
            e => e.to_token_stream(),
        }
    }
    fn renamed(&self, mut rename: Rename<'_>) -> TokenStream {
        let mut e = self.clone();
        rename.visit_expr_mut(&mut e);
        e.into_token_stream()
    }
}

impl OpaqueNode for SynStmt {
    fn visit<'ast>(&'ast self, v: &mut impl Visit<'ast>) {
        v.visit_stmt(self);
    }
    fn origin(&self) -> TokenStream {
        match self {
            SynStmt::Macro(m) => {
                let (path, bang) = (&m.mac.path, &m.mac.bang_token);
                quote!(#path #bang)
            }
            s => s.to_token_stream(),
        }
    }
    fn renamed(&self, mut rename: Rename<'_>) -> TokenStream {
        let mut s = self.clone();
        rename.visit_stmt_mut(&mut s);
        s.into_token_stream()
    }
}

/// The names a piece of code uses, binds and may assign.
#[derive(Default)]
struct Uses {
    paths: BTreeSet<String>,
    in_macros: BTreeSet<String>,
    /// Named inline in a format string, `{x}`.
    in_strings: BTreeSet<String>,
    bound: BTreeSet<String>,
    /// Certainly written: `x = ..`, `x += ..`, `&mut x`.
    assigned: BTreeSet<String>,
    /// Possibly written, if declared `mut`: method receivers, macro arguments.
    maybe_assigned: BTreeSet<String>,
    /// Used inside an index `[..]`, and how deep in indices the visit is.
    in_index: BTreeSet<String>,
    index_depth: usize,
}

/// Methods known to take `&self` (besides the float methods of the rules).
const READ_ONLY_METHODS: &[&str] = &[
    "is_finite",
    "is_nan",
    "is_infinite",
    "is_normal",
    "is_sign_positive",
    "is_sign_negative",
    "to_bits",
    "len",
    "is_empty",
    "iter",
    "get",
    "first",
    "last",
    "contains",
    "clone",
    "copied",
    "cloned",
    "to_vec",
    "as_slice",
    "to_string",
    "total_cmp",
    "partial_cmp",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
];

/// Macros known to only read their arguments.
const READ_ONLY_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "format_args",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "dbg",
    "vec",
];

impl Uses {
    /// Used only inside indices: an integer, so it carries no derivative.
    fn index_only(&self, name: &str) -> bool {
        self.in_index.contains(name)
            && !self.paths.contains(name)
            && !self.in_macros.contains(name)
            && !self.in_strings.contains(name)
    }

    fn merge(&mut self, other: Uses) {
        self.in_index.extend(other.in_index);
        self.paths.extend(other.paths);
        self.in_macros.extend(other.in_macros);
        self.in_strings.extend(other.in_strings);
        self.bound.extend(other.bound);
        self.assigned.extend(other.assigned);
        self.maybe_assigned.extend(other.maybe_assigned);
    }
}

fn base_ident(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Field(f) => base_ident(&f.base),
        Expr::Index(i) => base_ident(&i.expr),
        Expr::Paren(p) => base_ident(&p.expr),
        Expr::Unary(u) => base_ident(&u.expr),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() {
            if let Some(i) = p.path.get_ident() {
                if self.index_depth > 0 {
                    self.in_index.insert(i.to_string());
                } else {
                    self.paths.insert(i.to_string());
                }
            }
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_expr_index(&mut self, e: &'ast syn::ExprIndex) {
        self.visit_expr(&e.expr);
        self.index_depth += 1;
        self.visit_expr(&e.index);
        self.index_depth -= 1;
    }
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.bound.insert(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let Some(n) = base_ident(&a.left) {
            self.assigned.insert(n);
        }
        syn::visit::visit_expr_assign(self, a);
    }
    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(
            b.op,
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
        ) {
            if let Some(n) = base_ident(&b.left) {
                self.assigned.insert(n);
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
        if r.mutability.is_some() {
            if let Some(n) = base_ident(&r.expr) {
                self.assigned.insert(n);
            }
        }
        syn::visit::visit_expr_reference(self, r);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        let reads_only =
            READ_ONLY_METHODS.contains(&method.as_str()) || rules::is_known_method(&method);
        if let (Some(n), false) = (base_ident(&m.receiver), reads_only) {
            self.maybe_assigned.insert(n);
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if is_sg_for(&m.path) {
            if let Ok(parsed) = m.parse_body_with(parse_sg_for) {
                // The names before the comma are differentiation variables, not reads.
                let mut inner = Uses::default();
                inner.visit_expr(&parsed.expr);
                self.merge(inner);
            }
            return;
        }
        let read_only = READ_ONLY_MACROS.contains(&macro_name(&m.path).as_str());
        let mut idents = BTreeSet::new();
        scan_tokens(m.tokens.clone(), &mut idents, &mut self.in_strings);
        if !read_only {
            self.maybe_assigned.extend(idents.iter().cloned());
        }
        self.in_macros.extend(idents);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Identifiers in macro tokens that may name variables (not after `.` or
/// `::`), and `{name}` arguments inside string literals.
fn scan_tokens(tokens: TokenStream, idents: &mut BTreeSet<String>, strings: &mut BTreeSet<String>) {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    for (k, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Ident(i) if may_name_variable(&tts, k) => {
                idents.insert(i.to_string());
            }
            TokenTree::Group(g) => scan_tokens(g.stream(), idents, strings),
            TokenTree::Literal(l) => {
                let text = l.to_string();
                if text.starts_with('"') || text.starts_with('r') {
                    format_names(&text, strings);
                }
            }
            _ => {}
        }
    }
}

/// `{name}` and `{name:..}` in a format string.
fn format_names(text: &str, out: &mut BTreeSet<String>) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            continue;
        }
        let name: String = chars
            .clone()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
            out.insert(name);
        }
    }
}

/// Renames variable paths (and identifiers in macro tokens) to their SSA names.
struct Rename<'a> {
    rename: &'a BTreeMap<String, Ident>,
    bound: &'a BTreeSet<String>,
    sg_for: SgForCheck<'a>,
}

/// What checking an `sg_for!` inside opaque code needs.
#[derive(Clone, Copy)]
struct SgForCheck<'a> {
    wrt_names: &'a [Ident],
    param_names: &'a [String],
    errors: &'a Errors,
}

impl Rename<'_> {
    fn ident(&self, i: &Ident) -> Option<Ident> {
        let name = i.to_string();
        if self.bound.contains(&name) {
            return None;
        }
        self.rename.get(&name).map(|new| {
            let mut new = new.clone();
            new.set_span(new.span().located_at(i.span()));
            new
        })
    }

    fn tokens(&self, tokens: TokenStream) -> TokenStream {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = Vec::with_capacity(tts.len());
        for (k, tt) in tts.iter().enumerate() {
            let renamed = match tt {
                TokenTree::Ident(i) if may_name_variable(&tts, k) => {
                    self.ident(i).map(TokenTree::Ident)
                }
                TokenTree::Group(g) => {
                    let mut ng = proc_macro2::Group::new(g.delimiter(), self.tokens(g.stream()));
                    ng.set_span(g.span());
                    Some(TokenTree::Group(ng))
                }
                _ => None,
            };
            out.push(renamed.unwrap_or_else(|| tt.clone()));
        }
        out.into_iter().collect()
    }
}

/// Whether the identifier at `k` in macro tokens may name a variable: not a
/// field or method after `.`, not a path segment after `::`, not a field
/// name before a single `:` (`Point { x: 1.0 }`).
fn may_name_variable(tts: &[TokenTree], k: usize) -> bool {
    let punct = |i: usize| match tts.get(i) {
        Some(TokenTree::Punct(p)) => Some((p.as_char(), p.spacing())),
        _ => None,
    };
    let after_dot_or_path = k > 0 && matches!(punct(k - 1), Some(('.', _)) | Some((':', _)));
    let field_name = matches!(punct(k + 1), Some((':', proc_macro2::Spacing::Alone)));
    !after_dot_or_path && !field_name
}

impl VisitMut for Rename<'_> {
    fn visit_expr_path_mut(&mut self, p: &mut syn::ExprPath) {
        if p.qself.is_none() && p.path.segments.len() == 1 && p.path.leading_colon.is_none() {
            if let Some(new) = self.ident(&p.path.segments[0].ident) {
                p.path.segments[0].ident = new;
            }
        }
    }
    fn visit_field_value_mut(&mut self, fv: &mut syn::FieldValue) {
        // `Point { x }` becomes `Point { x: __ad_x }`: the field keeps its name.
        let shorthand = fv.colon_token.is_none();
        self.visit_expr_mut(&mut fv.expr);
        if shorthand {
            fv.colon_token = Some(Default::default());
        }
    }
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        if !is_sg_for(&m.path) {
            m.tokens = self.tokens(m.tokens.clone());
            return;
        }
        // Inside opaque code the cut has no effect (nothing differentiates
        // through it), but the names must still be valid.
        match m.parse_body_with(parse_sg_for) {
            Ok(mut parsed) => {
                let c = self.sg_for;
                check_sg_for_names(&parsed.names, c.wrt_names, c.param_names, c.errors);
                self.visit_expr_mut(&mut parsed.expr);
                let e = parsed.expr;
                m.tokens = quote!(@within #e);
            }
            Err(err) => {
                self.sg_for.errors.push(err);
                m.tokens = quote!(@within 0.0);
            }
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Replaces every `sg_for!(S, e)` by `sg_for!(@within e)`, which the runtime
/// macro expands to `e`: the code the user keeps computes exactly the value
/// without annotations, and the `sg_for` import stays used.
pub struct StripSgFor;

impl VisitMut for StripSgFor {
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        if is_sg_for(&m.path) {
            match m.parse_body_with(parse_sg_for) {
                Ok(mut parsed) => {
                    self.visit_expr_mut(&mut parsed.expr);
                    let e = parsed.expr;
                    let span = m.delimiter.span().join();
                    m.tokens = quote_spanned!(span=> @within #e);
                }
                // Reported where the body is lowered.
                Err(_) => m.tokens = quote!(@within 0.0),
            }
        } else {
            // `vec![sg_for!(x, e), y]`: other macros' tokens are not syntax
            // trees, so their `sg_for!` calls are found token by token.
            m.tokens = strip_sg_for_tokens(std::mem::take(&mut m.tokens));
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// `StripSgFor` on the `sg_for!(..)` calls among `tokens`, at any depth.
fn strip_sg_for_tokens(tokens: TokenStream) -> TokenStream {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tts.len());
    let mut i = 0;
    while i < tts.len() {
        if let (TokenTree::Ident(name), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(g))) =
            (&tts[i], tts.get(i + 1), tts.get(i + 2))
        {
            if name == SG_FOR && bang.as_char() == '!' {
                if let Ok(mut mac) = syn::parse2::<syn::Macro>(quote!(#name ! #g)) {
                    StripSgFor.visit_macro_mut(&mut mac);
                    out.extend(mac.to_token_stream());
                    i += 3;
                    continue;
                }
            }
        }
        match &tts[i] {
            TokenTree::Group(g) => {
                let mut inner =
                    proc_macro2::Group::new(g.delimiter(), strip_sg_for_tokens(g.stream()));
                inner.set_span(g.span());
                out.push(TokenTree::Group(inner));
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}
