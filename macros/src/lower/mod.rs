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
//!
//! One context, `Lower`, with its methods split by concern:
//!
//! * `env`: variables and the scoped environment;
//! * `stmts`: statement sequences, `let`, patterns, assignment;
//! * `control`: `if`, and leaving a function or a loop body early;
//! * `exprs`: expressions and operators;
//! * `calls`: calls, and the stop sites `sg` and `sg_for!`;
//! * `loops`: `for`, `while`, `loop` and their carried variables;
//! * `arrays`: array elements and rows, local arrays and stores;
//! * `escapes`: syntax queries for `return`, `break` and `continue`;
//! * `opaque`: code passed through as written;
//! * `rename`: renaming opaque code, stripping `sg_for!`.

use std::collections::{BTreeSet, HashMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Expr, Pat, Stmt as SynStmt};

use crate::errors::Errors;
use crate::ir::*;
use crate::names::Stems;

/// `syn::parse_quote!` giving `None` where the tokens do not parse: the
/// rewrites (`desugar.rs`, `iterators.rs`) put pieces of the user's code
/// together, and the macro must never panic on what it is given.
macro_rules! try_parse {
    ($($tokens:tt)*) => {
        syn::parse2(quote::quote!($($tokens)*)).ok()
    };
}

mod arrays;
mod calls;
mod control;
mod desugar;
mod env;
mod escapes;
mod exprs;
mod fields;
mod iterators;
mod loops;
mod matches;
mod opaque;
mod rename;
mod stmts;

pub use self::rename::StripSgFor;

/// What lowering needs to know about the function.
pub struct Input<'a> {
    /// Every parameter's pattern, in order.
    /// The parameters, with their types where written.
    pub params: Vec<(&'a Pat, Option<&'a syn::Type>)>,
    /// The differentiation variables (already checked to be identifier
    /// parameters of float type), in the user's order.
    pub wrt: Vec<(Ident, syn::Type)>,
    pub body: Body<'a>,
    /// The function returns an array (`-> Vec<f64>`): a call in tail
    /// position returns one too.
    pub returns_array: bool,
}

pub enum Body<'a> {
    Block(&'a syn::Block),
    Expr(&'a Expr),
}

pub fn from_syn(input: Input, errors: &Errors) -> Function {
    // `match` and closures called in the body become the plainer code they
    // stand for before anything else sees it (`desugar.rs`).
    let (mut block, mut expr) = (None, None);
    match input.body {
        Body::Block(b) => block = Some(desugar::desugar_block(b)),
        Body::Expr(e) => expr = Some(desugar::desugar_expr(e)),
    }
    // Fields of parameter structs become parameters of their own (`fields.rs`).
    let owners: Vec<(usize, Ident)> = (input.wrt.iter().enumerate())
        .filter(|(_, (_, ty))| crate::symbol::gradient_type(ty).is_none())
        .map(|(j, (ident, _))| (j, ident.clone()))
        .collect();
    let mut roots = Vec::new();
    if !owners.is_empty() {
        roots = fields::split_fields(&owners, block.as_mut(), expr.as_mut(), errors);
        fields::infer_ranks(&mut roots, block.as_ref(), expr.as_ref());
    }
    let body = match (&block, &expr) {
        (Some(b), _) => Body::Block(b),
        (_, Some(e)) => Body::Expr(e),
        _ => unreachable!("one of the two is set above"),
    };
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
        field_owners: Vec::new(),
        struct_types: HashMap::new(),
        wrt_vars: HashMap::new(),
        whole_read: HashMap::new(),
        array_names: calls::array_uses(block.as_ref(), expr.as_ref()),
        snapshots: 0,
        copies: HashSet::new(),
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
                    cx.vars[v.0].ndarray = crate::symbol::ndarray_type(ty).is_some();
                }
            }
        }
    }
    let mut wrt: Vec<Param> = input
        .wrt
        .iter()
        .map(|(ident, _ty)| {
            let var = cx
                .lookup_var(&ident.to_string())
                .unwrap_or_else(|| cx.new_param(ident));
            cx.vars[var.0].rank = crate::symbol::gradient_type(_ty).map_or(0, |(_, rank)| rank);
            cx.vars[var.0].ndarray = crate::symbol::ndarray_type(_ty).is_some();
            Param {
                ident: ident.clone(),
                var,
            }
        })
        .collect();
    for (p, (_, ty)) in wrt.iter().zip(&input.wrt) {
        cx.wrt_vars.insert(p.ident.to_string(), p.var);
        if owners.iter().any(|(_, o)| *o == p.ident) {
            cx.vars[p.var.0].whole = true;
            if let Some(path) = crate::symbol::struct_type(ty).and_then(method_path) {
                cx.struct_types.insert(p.ident.to_string(), path);
            }
        }
    }
    let mut fields = Vec::new();
    for root in roots {
        let var = cx.new_param(&root.ident);
        cx.declare(
            &root.ident.to_string(),
            Some(Value::Scalar(Operand::Var(var))),
            false,
        );
        cx.vars[var.0].rank = root.rank;
        cx.vars[var.0].whole = root.whole;
        // Named for error messages as the user wrote it.
        cx.vars[var.0].user = Some(root.access.to_string().replace(' ', ""));
        cx.field_owners.push(root.owner);
        fields.push(Field {
            owner: root.owner,
            param: wrt.len(),
            members: root.members,
        });
        wrt.push(Param {
            ident: root.ident,
            var,
        });
    }

    let items = match body {
        Body::Block(b) => block_items(b, Role::Return),
        Body::Expr(Expr::Block(b)) if b.label.is_none() => block_items(&b.block, Role::Return),
        Body::Expr(e) => vec![Item::Expr(e, Role::Return)],
    };
    let mut stmts = Vec::new();
    let result = match cx.lower_seq(&items, &mut stmts) {
        Flow::Returned(v) => {
            if input.returns_array {
                cx.array_valued_call(&v, None, &mut stmts);
            }
            cx.scalar(v, body_span(&body))
        }
        // A body without a final value either diverges (`unimplemented!()`)
        // or is a type error that rustc reports on the user's function.
        Flow::Fell(_) => placeholder(),
    };
    Function {
        vars: cx.vars,
        wrt,
        fields,
        sites: cx.sites,
        body: Block {
            stmts,
            yields: vec![result],
        },
    }
}

/// `Mlp<T>` as a path its methods are called by in an expression: `Mlp::<T>`.
fn method_path(ty: syn::Type) -> Option<syn::Path> {
    let syn::Type::Path(p) = ty else { return None };
    let mut path = p.path;
    for s in &mut path.segments {
        if let syn::PathArguments::AngleBracketed(a) = &mut s.arguments {
            a.colon2_token = Some(Default::default());
        }
    }
    Some(path)
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
    whole_read: HashMap<VarId, String>,
    /// The names the body uses as arrays (`calls::array_uses`).
    array_names: HashSet<String>,
    /// Copies of local arrays taken for calls so far (`Lower::snapshot`).
    snapshots: usize,
    /// Fields of a tuple the user's code borrows (`let (a, b) = &pts[k];`,
    /// `for (a, b) in pts.iter()`): references there, copies here, so `*a`
    /// is `a`.
    copies: HashSet<VarId>,
    /// For each field of a parameter struct (differentiation variable
    /// `wrt_names.len() + i`), the struct's index: `sg_for!` naming the
    /// struct blocks its fields too.
    field_owners: Vec<usize>,
    /// The parameter structs among the differentiation variables, by name:
    /// the path their methods are called by (`Mlp::<T>`, `Self`).
    struct_types: HashMap<String, syn::Path>,
    /// The differentiation variables' own variables, by name.
    wrt_vars: HashMap<String, VarId>,
}

/// `e` as the last expression of a block: parenthesised if it starts with
/// a block-like expression (`{ .. } - 1.0`), which would otherwise be read
/// as a statement followed by another expression.
fn as_tail(e: &Expr) -> TokenStream {
    fn starts_with_block(e: &Expr) -> bool {
        match e {
            Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Unsafe(_) => true,
            Expr::Binary(b) => starts_with_block(&b.left),
            Expr::Cast(c) => starts_with_block(&c.expr),
            Expr::MethodCall(m) => starts_with_block(&m.receiver),
            Expr::Field(f) => starts_with_block(&f.base),
            Expr::Index(i) => starts_with_block(&i.expr),
            Expr::Try(t) => starts_with_block(&t.expr),
            Expr::Call(c) => starts_with_block(&c.func),
            Expr::Assign(a) => starts_with_block(&a.left),
            Expr::Range(r) => r.start.as_deref().is_some_and(starts_with_block),
            _ => false,
        }
    }
    let is_plain_block = matches!(e, Expr::Block(_) | Expr::If(_) | Expr::Match(_));
    if starts_with_block(e) && !is_plain_block {
        quote::quote!((#e))
    } else {
        quote::quote!(#e)
    }
}
