//! The intermediate representation: a function body in A-normal form.
//!
//! Every binding applies one primitive to operands that are variables or
//! constants; every variable is assigned once (reassignment and shadowing make
//! new variables); `if` is a structured region whose branches yield the
//! variables it defines. Lowering (`lower/`) produces it, activity analysis
//! (`activity.rs`) annotates it, and the sweeps (`sweep/`) print it, through
//! the printer in `print.rs`.

use std::collections::HashMap;

use proc_macro2::{Ident, Span, TokenStream};

use crate::rules::Rule;

pub mod print;

/// What the backward sweep reads of each `if` branch and each loop
/// iteration, keyed by the region's record (`If::record`, `Loop::record`):
/// the values the forward sweep stores in the branch record or on the tape
/// (`Vec::new()` for a loop's second slot).
pub type Saves = HashMap<VarId, (Vec<VarId>, Vec<VarId>)>;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct VarId(pub usize);

impl Var {
    pub fn is_array(&self) -> bool {
        self.rank > 0
    }
}

pub struct Var {
    /// Unique among the function's variables (see `names.rs`).
    pub stem: String,
    /// The name of the primal value in generated code.
    pub ident: Ident,
    /// The type the user wrote on the `let`, if any.
    pub ty: Option<syn::Type>,
    /// The user's name for it, for error messages.
    pub user: Option<String>,
    /// How many indexings reach a float: 0 for a number, 1 for an array,
    /// slice or `Vec` of floats, 2 for `Vec<Vec<f64>>` and `[[f64; N]; M]`.
    /// Arrays are read by indexing, and their adjoints are arrays too.
    pub rank: usize,
    /// A local array whose elements the body assigns in place (`a[i] = ..`,
    /// `a.push(..)`): one variable for its whole life, never versioned, with
    /// one adjoint array that the backward sweep updates in place.
    pub storage: bool,
    /// `let mut` on its declaration.
    pub mutable: bool,
    /// A row of an array (`&x[i]`, or `row` in `for row in x.iter()`): the
    /// array it is part of and the indices that reach it. Derivatives go
    /// straight to that array's adjoint.
    pub view: Option<(VarId, Vec<Operand>)>,
    /// A `&f64` in the user's code (an element bound by `for v in x.iter()`):
    /// derivative formulas read it as `*v`.
    pub reference: bool,
    /// An `ndarray` array (`ArrayView1<f64>`, `&Array2<f64>`, a parameter of
    /// such a type, or a row `a.row(i)` of one): its elements are read as
    /// `x[i]` at rank 1 and `x[[i, j]]` at rank 2, a row as `x.row(i)`, and
    /// its adjoint is an owned `ndarray` array indexed the same way.
    pub ndarray: bool,
    /// A value the macro does not look into: a parameter struct, or a field
    /// of one only ever passed whole to other functions. Derivatives reach
    /// it through calls, and its adjoint is added to with `add_to`.
    pub whole: bool,
}

#[derive(Clone)]
pub enum Operand {
    Var(VarId),
    /// A literal or a path, or arithmetic on them: cheap, pure, and inlined
    /// wherever it is used. Already parenthesised when not atomic.
    Const(TokenStream),
}

impl Operand {
    pub fn var(&self) -> Option<VarId> {
        match self {
            Operand::Var(v) => Some(*v),
            Operand::Const(_) => None,
        }
    }
}

/// How a primitive is written in the forward sweep.
#[derive(Clone)]
pub enum Form {
    /// `a op b`.
    Binary(syn::BinOp),
    /// `-a` or `!a`.
    Unary(syn::UnOp),
    /// `a.name(b, ..)`.
    Method(Ident),
    /// `path(a, b, ..)`, e.g. `f64::max(a, b)`.
    Path(syn::Path),
    /// `a as ty`.
    Cast(syn::Type),
}

/// Why the macro treats some code as a black box; names it in errors.
#[derive(Clone)]
pub enum Construct {
    Loop(&'static str),
    Closure,
    /// A call of a closure bound with `let` that was not inlined.
    ClosureCall(String),
    Unsafe,
    Macro(String),
    Match,
    IfLet,
    Function(String),
    /// A call with a `&mut` argument (`rhs(&x, &mut out)`).
    OutParameter(String),
    /// The tuple a call of this function returned.
    TupleCall(String),
    Method(String),
    Operator(String),
    Index,
    Reference,
    Other(&'static str),
}

/// Code passed through unchanged: it may compute anything, but no derivative
/// flows through it, so activity analysis rejects it where one would.
pub struct Opaque {
    /// The code, with the user's variable names renamed to their current versions.
    pub code: TokenStream,
    /// `let name = version;` bindings placed before `code`, for names the
    /// renaming cannot reach (format strings, names the code also binds).
    pub prelude: TokenStream,
    /// Copies of written prelude names back into their new versions.
    pub epilogue: TokenStream,
    /// The variables the code reads, with the names it reads them by. Names
    /// used only inside `[..]` are left out: an index is an integer, so no
    /// derivative can flow out of it.
    pub reads: Vec<(VarId, String)>,
    /// Mutable variables the code may write: `(old version, new version)`;
    /// the new version is declared `mut` from the old before the code runs.
    pub writes: Vec<(VarId, VarId)>,
    /// Storage arrays the code may change in place (`v.sort()`); they keep
    /// their one variable.
    pub mutates: Vec<VarId>,
    /// Variables declared without a value (`let w;`) that the code assigns:
    /// declared `let mut w;` before it.
    pub declares: Vec<VarId>,
    pub construct: Construct,
    /// The user's tokens, to span errors.
    pub origin: TokenStream,
    /// A nested item (`fn`, `const`): emitted as is, not as a value.
    pub is_item: bool,
    /// Lowering already reported an error here (a `return` inside a loop):
    /// activity analysis does not add a second one.
    pub reported: bool,
}

impl Opaque {
    /// Code that only reads `reads` and yields one value.
    pub fn reading(
        code: TokenStream,
        reads: Vec<(VarId, String)>,
        construct: Construct,
        origin: TokenStream,
    ) -> Self {
        Opaque {
            code,
            prelude: TokenStream::new(),
            epilogue: TokenStream::new(),
            reads,
            writes: Vec::new(),
            mutates: Vec::new(),
            declares: Vec::new(),
            construct,
            origin,
            is_item: false,
            reported: false,
        }
    }
}

/// Where `sg`/`sg_for!` cuts derivatives.
pub struct Site {
    /// `None` for `sg(..)`: every variable. Otherwise indices into the `wrt` list.
    pub blocked: Option<Vec<usize>>,
}

pub enum Prim {
    /// `a`.
    Copy(Operand),
    /// A primitive of the rule table; `rule` is `None` for an operator or
    /// method the table does not know (it then has no derivative).
    Apply {
        rule: Option<&'static Rule>,
        form: Form,
        args: Vec<Operand>,
    },
    /// `sg(a)` (written `callee(a)`) or `sg_for!(S, a)` (written `callee!(@within a)`).
    Stop {
        site: usize,
        arg: Operand,
        callee: syn::Path,
        is_macro: bool,
    },
    /// `base[i][j]..` (or `&base[i]..` if `by_ref`), `base` an array
    /// variable (never a view), the indices integers. The result is a number,
    /// or a view if fewer indices than the rank.
    Index {
        base: VarId,
        index: Vec<Operand>,
        by_ref: bool,
    },
    /// `base[i].. = value` (no output), or `base.push(value)` with `index`
    /// the length before the push; `base` a storage array.
    Store {
        base: VarId,
        index: Vec<Operand>,
        value: Operand,
        push: bool,
    },
    /// A new storage array (the output).
    NewArray(NewArray),
    /// `log_sum_exp(&x)`, `dot(&a, &b)`, `sum(&x)` of the runtime, on array
    /// variables (each written `&x` or `x`, as `by_ref` says).
    ArrayFn {
        name: &'static str,
        callee: syn::Path,
        args: Vec<(VarId, bool)>,
    },
    /// A call of a function the rule table does not know, `path(args..)` or
    /// `self.method(args..)`. Outputs: the value, then, when an argument
    /// carries a derivative, the callee's gradients: the call is then made to
    /// `<name>_pullback`, which `#[differentiable]` generates (see `expand.rs`).
    Call {
        callee: Callee,
        args: Vec<CallArg>,
    },
    Opaque(Opaque),
}

pub enum Callee {
    Path(syn::Path),
    /// `self.method(..)`.
    Method(Ident),
}

#[derive(Clone)]
pub struct CallArg {
    pub value: Operand,
    /// Written `&value`.
    pub by_ref: bool,
    /// The user's argument, to span errors.
    pub span: Span,
}

/// How a local array starts.
pub enum NewArray {
    /// `[elem; len]`, or `vec![elem; len]` if `vec`.
    Repeat {
        elem: Operand,
        len: Operand,
        vec: bool,
    },
    /// `[a, b, ..]`, or `vec![a, b, ..]` if `vec`.
    List { elems: Vec<Operand>, vec: bool },
    /// `Vec::new()`, or `Vec::with_capacity(n)`; `ctor` is the path as written.
    Empty {
        ctor: syn::Path,
        capacity: Option<Operand>,
    },
}

impl NewArray {
    /// The numbers it starts with.
    pub fn elems(&self) -> Vec<&Operand> {
        match self {
            NewArray::Repeat { elem, .. } => vec![elem],
            NewArray::List { elems, .. } => elems.iter().collect(),
            NewArray::Empty { .. } => Vec::new(),
        }
    }
}

pub enum Stmt {
    /// `let (outs..) = prim;`. `Opaque` may have several outputs; `Store`
    /// has none.
    Let {
        outs: Vec<VarId>,
        prim: Prim,
        span: Span,
    },
    If(If),
    Loop(Loop),
}

/// `for index in start..end { body }` (or `..=`, `.rev()`, `.step_by(k)`).
///
/// Each variable the body assigns is *carried*: `start` holds its value at
/// the top of an iteration (`input` in the first), the body yields `end`, and
/// `out` is its value after the loop.
pub struct Loop {
    pub index: VarId,
    pub range: Range,
    pub carried: Vec<Carried>,
    pub body: Block,
    /// The tape (`__ad_tape<n>`): per iteration, the values the backward sweep reads.
    pub record: VarId,
    /// For `while`: the statements computing the condition at the top of each
    /// iteration, and the condition. `range` and `index` are then unused.
    pub cond: Option<(Vec<Stmt>, Operand)>,
    /// With `break`/`continue`: whether the iteration goes on (a body value).
    /// The tape then counts the iterations, as for `while`.
    pub exit: Option<Operand>,
    /// A loop inside a loop, with its trip count known from its range: its
    /// tape is declared once at the top of the function and shared by every
    /// run of the loop (no allocation per run); the backward sweep pops it.
    pub hoisted: bool,
}

impl Loop {
    /// Whether the trip count is known only once the loop ran: the backward
    /// sweep then walks the tape instead of the range.
    pub fn counted_by_tape(&self) -> bool {
        // A stepped range is not walked backwards (`StepBy` of an inclusive
        // range cannot be reversed): its iterations are counted too.
        self.cond.is_some() || self.exit.is_some() || self.range.step.is_some()
    }
}

pub struct Range {
    pub start: Operand,
    pub end: Operand,
    pub inclusive: bool,
    pub rev: bool,
    /// `.step_by(k)` after the range (and after `.rev()`).
    pub step: Option<Operand>,
}

pub struct Carried {
    pub input: Operand,
    pub start: VarId,
    pub end: Operand,
    pub out: VarId,
}

pub struct If {
    pub cond: Operand,
    pub then_branch: Block,
    pub else_branch: Block,
    /// Defined by the `if`: each branch yields one operand per output.
    pub outs: Vec<VarId>,
    /// The branch record (`__ad_br<n>`), emitted only if the backward sweep needs it.
    pub record: VarId,
}

pub struct Block {
    pub stmts: Vec<Stmt>,
    pub yields: Vec<Operand>,
}

pub struct Param {
    pub ident: Ident,
    pub var: VarId,
}

/// A field of a parameter struct the body reads: a differentiation
/// variable of its own (`lower/fields.rs`), whose adjoint goes into the
/// struct's gradient at `members`.
pub struct Field {
    /// The struct's index in `Function::wrt`.
    pub owner: usize,
    /// The field's own index in `Function::wrt`.
    pub param: usize,
    /// `.w`.
    pub members: TokenStream,
}

pub struct Function {
    pub vars: Vec<Var>,
    /// The differentiation variables, in the order the user listed them,
    /// then the fields of parameter structs (`fields`).
    pub wrt: Vec<Param>,
    pub fields: Vec<Field>,
    pub sites: Vec<Site>,
    /// Yields exactly one operand: the returned value.
    pub body: Block,
}

impl Function {
    pub fn ident(&self, v: VarId) -> &Ident {
        &self.vars[v.0].ident
    }
}

impl Loop {
    /// Variables bound inside each iteration: the body's, the carried
    /// starts, and the index.
    pub fn body_locals(&self) -> Vec<VarId> {
        let mut d: Vec<VarId> = self.body.stmts.iter().flat_map(Stmt::defines).collect();
        if let Some((stmts, _)) = &self.cond {
            d.extend(stmts.iter().flat_map(Stmt::defines));
        }
        d.extend(self.carried.iter().map(|c| c.start));
        d.push(self.index);
        d
    }
}

/// Calls `f` on every statement, those inside branches and loops (a
/// `while` condition's before the body) included, in program order.
pub fn walk(stmts: &[Stmt], f: &mut impl FnMut(&Stmt)) {
    for s in stmts {
        f(s);
        match s {
            Stmt::Let { .. } => {}
            Stmt::If(i) => {
                walk(&i.then_branch.stmts, f);
                walk(&i.else_branch.stmts, f);
            }
            Stmt::Loop(l) => {
                if let Some((c, _)) = &l.cond {
                    walk(c, f);
                }
                walk(&l.body.stmts, f);
            }
        }
    }
}

impl Stmt {
    /// Variables this statement defines directly (not inside its branches).
    pub fn defines(&self) -> Vec<VarId> {
        match self {
            Stmt::Let { outs, prim, .. } => {
                let mut d = outs.clone();
                if let Prim::Opaque(o) = prim {
                    d.extend(o.writes.iter().map(|w| w.1));
                    d.extend(&o.declares);
                }
                d
            }
            Stmt::If(i) => {
                let mut d = i.outs.clone();
                d.push(i.record);
                d
            }
            Stmt::Loop(l) => {
                let mut d: Vec<VarId> = l.carried.iter().map(|c| c.out).collect();
                if !l.hoisted {
                    d.push(l.record);
                }
                d
            }
        }
    }
}
