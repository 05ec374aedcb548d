//! The sweeps: the IR printed as derivative code.
//!
//! `run` plans the backward sweep first, because it decides which values
//! each branch and loop iteration must save, then prints the forward sweep
//! that saves them; with `; forward`, it also prints the forward mode.
//!
//! ```text
//! forward sweep                     backward sweep
//! let __ad_t = x * y;               let mut __adj_s = one_like(&__ad_s);
//! let __ad_s = __ad_t.sin();   →    let mut __adj_t = __adj_s * __ad_t.cos();
//!                                   let mut __adj_x = __adj_t * y;
//!                                   let mut __adj_y = __adj_t * x;
//! ```
//!
//! * The forward sweep (`Primal`) prints every primitive as the user wrote
//!   it (`a * b`, `a.sin()`, `f64::max(a, b)`), in the user's order, so values
//!   are bit-for-bit those of the original function. In forward mode it also
//!   prints, after each statement, the tangents of what it defines.
//! * The backward sweep (`Backward`) keeps one adjoint per value and class
//!   (`__adj_t_c0`, `__adj_t_c1`): a site cut for one class simply contributes
//!   nothing to that class. An adjoint is declared by its first contribution
//!   (`let mut`), so values that receive nothing cost nothing.
//!
//! One file per construct holds its forward and backward code side by side:
//! `scalars.rs` (the rule table's primitives, copies, stop sites), `branches.rs`,
//! `loops.rs`, `arrays.rs` and `calls.rs`; `forward.rs` and `backward.rs` hold
//! the two walks that dispatch to them.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use proc_macro2::{Ident, TokenStream};

use crate::activity::Activity;
use crate::ir::*;

mod arrays;
mod backward;
mod branches;
mod calls;
mod forward;
mod loops;
mod running_sums;
mod scalars;

/// The derivative code of one function.
pub struct Sweeps {
    /// The forward sweep: the values, and what the backward sweep reads.
    pub forward: TokenStream,
    /// The backward sweep.
    pub backward: TokenStream,
    /// One gradient expression per differentiation variable.
    pub grads: Vec<TokenStream>,
    /// Per differentiation variable: its gradient is zero by construction.
    pub zero: Vec<bool>,
    /// With forward mode: the body of `<name>_jvp` before its result, and
    /// the directional derivative.
    pub jvp: Option<(TokenStream, TokenStream)>,
}

/// The sweeps of `f`; `seeds` (the tangent parameters) asks for forward mode
/// too; `recompute`, that loops record only their carried values (and what
/// cannot be computed again) and recompute the rest of each iteration.
pub fn run(f: &Function, act: &Activity, seeds: Option<&[Ident]>, recompute: bool) -> Sweeps {
    let (backward, grads, zero, saves, fused) = backward::emit(f, act, recompute);
    let forward = forward::emit(f, act, &saves, &fused);
    let jvp = seeds.map(|seeds| forward::emit_jvp(f, act, seeds));
    Sweeps {
        forward,
        backward,
        grads,
        zero,
        jvp,
    }
}

/// Prints the forward sweep (and, with `tangents`, forward mode).
struct Primal<'a> {
    f: &'a Function,
    act: &'a Activity,
    saves: &'a Saves,
    /// Loops differentiated iteration by iteration (`running_sums.rs`).
    fused: &'a Fused,
    /// Print tangents too (`emit_jvp`).
    tangents: bool,
}

/// Prints the backward sweep, statements last first.
struct Backward<'a> {
    f: &'a Function,
    act: &'a Activity,
    /// Adjoints in scope, by value and class.
    declared: HashSet<(VarId, usize)>,
    /// Primal values the backward code reads: a branch must save those it defines.
    referenced: BTreeSet<VarId>,
    saves: Saves,
    /// The values each open block defines, innermost last.
    locals: Vec<HashSet<VarId>>,
    /// Adjoints a branch added to before they were declared outside it.
    pending: BTreeSet<(VarId, usize)>,
    /// Whether the code swept so far pops a shared tape (`Loop::hoisted`):
    /// the loops around it must then be replayed last iteration first.
    pops: bool,
    /// While printing the backward code of a loop differentiated iteration by
    /// iteration: adjoints of values from outside it go to buffers.
    fusing: Option<Fusing>,
    fused: Fused,
    carry: Option<Carry>,
    /// The `recompute` option: everything but carried values is recomputed.
    recompute: bool,
}

/// Per loop differentiated iteration by iteration (`running_sums.rs`), keyed
/// by its record: the buffers declared before it, and the backward code each
/// iteration runs after its forward code.
type Fused = HashMap<VarId, (TokenStream, TokenStream)>;

/// The values defined inside the loop being fused, and the (value, class)
/// buffers its backward code has named so far.
struct Fusing {
    /// The loop's record's number, which names its buffers.
    loop_no: usize,
    inside: HashSet<VarId>,
    touched: RefCell<BTreeSet<(VarId, usize)>>,
}

/// While printing the backward code of a loop walked first iteration first:
/// the arrays from outside it read only at `i + c` for constants `c`
/// (`running_sums::carried_reads`), whose adjoints are carried in registers,
/// with the offset of each index variable; and the (array, class) pairs
/// whose registers the code uses.
struct Carry {
    loop_no: usize,
    offsets: Offsets,
    touched: BTreeSet<(VarId, usize)>,
}

/// Per array, the offset from the loop index of each index variable.
type Offsets = HashMap<VarId, HashMap<Option<VarId>, i64>>;

/// The variables a block defines directly.
fn defines(stmts: &[Stmt]) -> HashSet<VarId> {
    stmts.iter().flat_map(Stmt::defines).collect()
}
