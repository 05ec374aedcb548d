//! Loops that only sum into their result (`s += term(i)`), differentiated
//! iteration by iteration.
//!
//! The adjoint of every term of a running sum is the adjoint of the sum, a
//! number known only once the code after the loop has been swept back. So
//! each iteration runs its backward code right after its forward code, with
//! the sum's adjoint taken as 1, and adds what it gives values from outside
//! the loop into buffers (`__adb_x`); after the loop's place in the backward
//! sweep, each buffer is scaled by the sum's real adjoint and added in:
//!
//! ```text
//! let mut __adb_x = zero_gradient(&x);        // forward sweep
//! for i in 0..n {
//!     ..forward code of the iteration..
//!     let mut __adj_t = one_like(&__ad_t);    // the term, per unit of s̄
//!     ..backward code of the iteration, into __adb_x..
//! }
//! ..
//! let mut __adj_x = scaled(__adb_x, __adj_s);  // backward sweep
//! ```
//!
//! Nothing is taped or computed twice, memory does not grow with the trip
//! count, and the data is walked once. Taken when the loop is at the top of
//! the function (its buffers and values are then in scope for the backward
//! sweep), is a plain `for`, stores into no array from outside it, each
//! class in which an adjoint flows into it has exactly one running sum, and
//! its body holds a loop or builds an array (what a tape would record then
//! grows with the inner work, and nested tapes force the replay last
//! iteration first). A flat sum is faster replayed by a second loop in the
//! forward order (`loops.rs`): its first loop stays a short chain of
//! additions, and its backward loop streams.
//!
//! Both carry the adjoints of `x[i + c]` in registers (`registers` here).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::loops::{is_running_sum, step_of, stored_arrays};
use super::{Backward, Carry, Fusing, Offsets};
use crate::ir::*;
use crate::names::{self, runtime};

impl Backward<'_> {
    /// The backward code of `l` at its place in the backward sweep if it is
    /// differentiated iteration by iteration (its per-iteration code goes to
    /// `self.fused`), or `None` to tape or replay it. `lanes` are its carried
    /// variables by class, as in `loop_stmt`.
    pub(super) fn running_sum_loop(
        &mut self,
        l: &Loop,
        active: &[usize],
        lanes: &[(usize, usize)],
    ) -> Option<TokenStream> {
        let one_per_class = active
            .iter()
            .all(|k| lanes.iter().filter(|(_, kk)| kk == k).count() == 1);
        if self.locals.len() != 1
            || self.fusing.is_some()
            || l.cond.is_some()
            || l.exit.is_some()
            || !one_per_class
            || !lanes.iter().all(|&(c, _)| is_running_sum(l, &l.carried[c]))
            || !has_inner_loop_or_array(l)
        {
            return None;
        }
        let inside = defined_inside(l);
        if stored_arrays(&l.body.stmts)
            .iter()
            .any(|a| !inside.contains(a))
        {
            return None;
        }

        let rt = runtime();
        let (declared, pending, referenced) = (
            self.declared.clone(),
            self.pending.clone(),
            self.referenced.clone(),
        );
        let pops = std::mem::take(&mut self.pops);
        self.carry = Some(Carry {
            loop_no: l.record.0,
            offsets: carried_reads(self.f, l, &inside),
            touched: BTreeSet::new(),
        });
        self.fusing = Some(Fusing {
            loop_no: l.record.0,
            inside,
            touched: RefCell::default(),
        });
        self.locals.push(l.body_locals().into_iter().collect());
        let mut body = TokenStream::new();
        for &(c, k) in lanes {
            let end = l.carried[c].end.var().expect("a running sum's end");
            let ident = self.f.ident(end);
            body.extend(self.accumulate(end, k, quote!(#rt::one_like(&#ident))));
        }
        body.extend(self.block(&l.body.stmts));
        self.locals.pop();
        let touched = self.fusing.take().expect("fusing").touched.into_inner();
        (self.declared, self.pending, self.referenced) = (declared, pending, referenced);
        self.pops = pops;
        let buffer = |s: &Self, v: VarId, k| {
            names::buffer(&s.f.vars[v.0].stem, k, s.act.classes, l.record.0)
        };
        // Each element of a buffer is stored once, and nothing else writes it.
        let (before, body, tail) = self.registers(l, body, |s, v, k| {
            let b = buffer(s, v, k);
            move |at: TokenStream, r: &proc_macro2::Ident| quote!(#b[#at] = #r;)
        });

        let mut buffers = TokenStream::new();
        for &(v, k) in &touched {
            let (buffer, ident) = (buffer(self, v, k), self.f.ident(v));
            buffers.extend(quote!(let mut #buffer = #rt::zero_gradient(&#ident);));
        }
        buffers.extend(before);
        let mut code = tail;
        for &(c, k) in lanes {
            let carried = &l.carried[c];
            if !self.declared.contains(&(carried.out, k)) {
                continue;
            }
            let sum = self.adjoint(carried.out, k);
            for &(v, _) in touched.iter().filter(|(_, kk)| *kk == k) {
                let buffer = buffer(self, v, k);
                code.extend(self.accumulate(v, k, quote!(#rt::scaled(#buffer, #sum))));
            }
            if let Some(input) = carried.input.var().filter(|i| self.act.is_varied(*i, k)) {
                code.extend(self.accumulate(input, k, quote!(#sum)));
            }
        }
        self.fused.insert(l.record, (buffers, body));
        Some(code)
    }
}

impl Backward<'_> {
    /// The register holding the adjoint of `base[index]` if `base` is one of
    /// the arrays whose adjoints the loop being printed carries in registers.
    pub(super) fn carried_register(
        &mut self,
        base: VarId,
        index: &[Operand],
        k: usize,
    ) -> Option<Ident> {
        let carry = self.carry.as_mut()?;
        let offset = *carry.offsets.get(&base)?.get(&index.first()?.var())?;
        carry.touched.insert((base, k));
        let loop_no = carry.loop_no;
        // The adjoint (or buffer) the registers are stored into must exist.
        let declare = self.accumulate_array(base, k, |_| TokenStream::new());
        debug_assert!(declare.is_empty(), "an array from outside the loop");
        Some(names::carry(
            &self.f.vars[base.0].stem,
            k,
            loop_no,
            offset,
            false,
        ))
    }

    /// Carries the adjoints of `x[i + c]` in registers (`self.carry`, taken
    /// here): `x[i + c]`'s part gathered so far lives in a register until
    /// iteration `i` no longer changes the lowest element it touches, which
    /// `store(at, register)` then writes once. Two `+=` on neighbouring
    /// elements of one array per iteration would otherwise be merged by
    /// LLVM's SLP vectoriser into one wide read-modify-write that the next
    /// iteration's read overlaps, and store-to-load forwarding fails (several
    /// times slower under fat LTO).
    ///
    /// Returns the registers' declarations before the loop, the iteration's
    /// backward code wrapped in their rotation, and the stores of what is
    /// left after the loop.
    pub(super) fn registers<S: Fn(TokenStream, &Ident) -> TokenStream>(
        &mut self,
        l: &Loop,
        body: TokenStream,
        store: impl Fn(&Self, VarId, usize) -> S,
    ) -> (TokenStream, TokenStream, TokenStream) {
        let Some(carry) = self.carry.take() else {
            return (TokenStream::new(), body, TokenStream::new());
        };
        let rt = runtime();
        let (mut before, mut head, mut foot, mut tail) = (
            TokenStream::new(),
            TokenStream::new(),
            TokenStream::new(),
            TokenStream::new(),
        );
        let index = self.f.ident(l.index).clone();
        let last = names::generated("last");
        let (start, end) = (self.operand(&l.range.start), self.operand(&l.range.end));
        for &(base, k) in &carry.touched {
            let offsets = &carry.offsets[&base];
            let lo = *offsets.values().min().expect("an offset");
            let hi = *offsets.values().max().expect("an offset");
            let ident = self.f.ident(base);
            let stem = &self.f.vars[base.0].stem;
            let reg = |c, next| names::carry(stem, k, carry.loop_no, c, next);
            let store = store(self, base, k);
            let (top, low) = (reg(hi, false), reg(lo, false));
            head = quote!(#head let mut #top = #rt::zero_element(&#ident););
            for c in lo..hi {
                let (now, next, up) = (reg(c, false), reg(c, true), reg(c + 1, false));
                before = quote!(#before let mut #next = #rt::zero_element(&#ident););
                head = quote!(#head let mut #now = #next;);
                foot = quote!(#foot #next = #up;);
                tail.extend(store(plus(quote!(#last), c + 1), &next));
            }
            let first = store(plus(quote!(#index), lo), &low);
            foot = quote!(#first #foot);
        }
        if tail.is_empty() {
            return (before, quote!(#head #body #foot), tail);
        }
        // What the last iteration left for the elements after its lowest.
        let tail = if l.range.inclusive {
            quote!(if #start <= #end { let #last = #end; #tail })
        } else {
            quote!(if #start < #end { let #last = #end - 1; #tail })
        };
        (before, quote!(#head #body #foot), tail)
    }
}

/// Whether a loop's body holds a loop or builds an array: what taping it
/// would record grows with the inner trip counts, and the backward sweep
/// would replay it last iteration first.
fn has_inner_loop_or_array(l: &Loop) -> bool {
    let mut found = false;
    walk(&l.body.stmts, &mut |s| {
        found |= matches!(
            s,
            Stmt::Loop(_)
                | Stmt::Let {
                    prim: Prim::NewArray(_),
                    ..
                }
        );
    });
    found
}

/// Every value defined inside a loop, at any depth.
pub(super) fn defined_inside(l: &Loop) -> HashSet<VarId> {
    let mut inside: HashSet<VarId> = l.body_locals().into_iter().collect();
    walk(&l.body.stmts, &mut |s| {
        inside.extend(s.defines());
        if let Stmt::Loop(inner) = s {
            inside.extend(inner.body_locals());
        }
    });
    inside
}

/// `at + c` for a constant `c` of either sign, in `usize`.
fn plus(at: TokenStream, c: i64) -> TokenStream {
    let d = c.unsigned_abs() as usize;
    match c {
        0 => at,
        c if c > 0 => quote!(#at + #d),
        _ => quote!(#at - #d),
    }
}

/// The arrays from outside `l` that its body reads only as `x[i + c]` at
/// its top level (`i` its index, `c` a constant, `None`-free keys: the index
/// variable of each read), when `l` walks its range forward one by one: per
/// array, the offset of each index variable.
pub(super) fn carried_reads(f: &Function, l: &Loop, inside: &HashSet<VarId>) -> Offsets {
    let mut out: Offsets = HashMap::new();
    if l.range.step.is_some() || l.range.rev {
        return out;
    }
    let mut offsets: HashMap<VarId, i64> = HashMap::from([(l.index, 0)]);
    // A counter stepped with the index (`let mut j = 1; .. j += 1;`) is
    // `i + (1 − start of the range)`.
    if let Some(first) = literal_operand(f, &l.range.start) {
        for c in &l.carried {
            let steps =
                step_of(l, c).is_some_and(|(rule, k, _)| rule == "add" && literal(k) == Some(1));
            if let (true, Some(input)) = (steps, literal_operand(f, &c.input)) {
                offsets.insert(c.start, input - first);
            }
        }
    }
    let mut reads: HashMap<VarId, usize> = HashMap::new();
    for s in &l.body.stmts {
        let Stmt::Let { outs, prim, .. } = s else {
            continue;
        };
        let [o] = outs[..] else { continue };
        match prim {
            Prim::Apply {
                rule: Some(rule),
                args,
                ..
            } if rule.name == "add" || rule.name == "sub" => {
                let sign = if rule.name == "add" { 1 } else { -1 };
                let offset = match (&args[0], &args[1]) {
                    (Operand::Var(v), Operand::Const(c)) => {
                        offsets.get(v).zip(literal(c)).map(|(o, c)| o + sign * c)
                    }
                    (Operand::Const(c), Operand::Var(v)) if sign == 1 => {
                        offsets.get(v).zip(literal(c)).map(|(o, c)| o + c)
                    }
                    _ => None,
                };
                if let Some(offset) = offset.filter(|o| o.abs() <= 8) {
                    offsets.insert(o, offset);
                }
            }
            Prim::Index {
                base,
                index,
                by_ref: false,
            } if !inside.contains(base)
                && f.vars[base.0].rank == 1
                && f.vars[base.0].view.is_none()
                && !f.vars[base.0].ndarray
                && !f.vars[o.0].is_array() =>
            {
                if let [Operand::Var(i)] = index[..] {
                    if let Some(&offset) = offsets.get(&i) {
                        out.entry(*base).or_default().insert(Some(i), offset);
                        *reads.entry(*base).or_default() += 1;
                    }
                }
            }
            _ => {}
        }
    }
    // Every read of the array must be one of those, and a register pays only
    // where an iteration touches neighbouring elements.
    out.retain(|base, offsets| {
        super::loops::uses_in_block(&l.body, *base) == reads[base]
            && offsets.values().collect::<HashSet<_>>().len() > 1
    });
    out
}

/// An integer literal, or a variable bound to one at the top of `f`.
fn literal_operand(f: &Function, o: &Operand) -> Option<i64> {
    match o {
        Operand::Const(c) => literal(c),
        Operand::Var(v) => f.body.stmts.iter().find_map(|s| match s {
            Stmt::Let {
                outs,
                prim: Prim::Copy(Operand::Const(c)),
                ..
            } if outs[..] == [*v] => literal(c),
            _ => None,
        }),
    }
}

/// A small integer literal (`1`, `2usize`).
fn literal(c: &TokenStream) -> Option<i64> {
    let s = c.to_string();
    let digits = s.trim_end_matches(|ch: char| ch.is_ascii_alphabetic() || ch == '_');
    digits.parse().ok()
}
