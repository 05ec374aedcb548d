//! Loops: carried variables, the tape of what an iteration's backward code
//! reads (or its recomputation), and the iterations replayed last first.
//!
//! Each variable the body assigns is carried (`ir::Loop`): `start` at the top
//! of an iteration, `end` at the bottom, `out` after the loop; the adjoint of
//! `out` is the running adjoint. A local array the body stores into is
//! carried too, in place: one variable, one adjoint array.

use std::collections::{BTreeSet, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};

use super::running_sums::{carried_reads, defined_inside};
use super::{Backward, Carry, Primal};
use crate::ir::print::{apply_tokens, element_tokens, range_tokens};
use crate::ir::*;
use crate::names::{self, runtime};
use crate::rules;

/// A body value the backward sweep computes again instead of taping it.
enum Cheap<'a> {
    /// `base[index..]` (or `&base[..]`).
    Index(VarId, &'a [Operand], bool),
    Copy(&'a Operand),
    /// A primitive of `rules::RECOMPUTED`.
    Apply(&'a Form, &'a [Operand]),
}

/// The tapes of nested loops (`Loop::hoisted`) that hold something.
pub(super) fn hoisted_tapes(stmts: &[Stmt], saves: &Saves) -> Vec<VarId> {
    let mut out = Vec::new();
    walk(stmts, &mut |s| {
        if let Stmt::Loop(l) = s {
            if l.hoisted && saves.get(&l.record).is_some_and(|s| !s.0.is_empty()) {
                out.push(l.record);
            }
        }
    });
    out
}

impl Backward<'_> {
    /// The iterations replayed from the tape, last first. The adjoint of each
    /// carried variable's `out` is the running adjoint: it flows into the
    /// body's `end`, and after the body it becomes the adjoint of `start`.
    pub(super) fn loop_stmt(&mut self, l: &Loop) -> TokenStream {
        // A class flows into the loop if the value of some carried variable
        // after it matters; then every carried variable varied in that class
        // needs a running adjoint, also those unused after the loop (their
        // values feed later iterations).
        // Also if it stores into an array whose adjoint exists.
        let active: Vec<usize> = (0..self.act.classes)
            .filter(|&k| {
                l.carried
                    .iter()
                    .any(|c| self.declared.contains(&(c.out, k)))
                    || self.stores_flow(&[&l.body], k)
            })
            .collect();
        if active.is_empty() {
            return TokenStream::new();
        }
        let lanes: Vec<(usize, usize)> = (0..l.carried.len())
            .flat_map(|c| active.iter().map(move |&k| (c, k)))
            .filter(|&(c, k)| self.act.is_varied(l.carried[c].start, k))
            .collect();
        if let Some(code) = self.running_sum_loop(l, &active, &lanes) {
            return code;
        }
        let rt = runtime();
        let mut running_zeros = TokenStream::new();
        for &(c, k) in &lanes {
            let out = l.carried[c].out;
            if !self.declared.contains(&(out, k)) {
                self.declared.insert((out, k));
                self.referenced.insert(out);
                let (adj, ident) = (self.adjoint(out, k), self.f.ident(out));
                running_zeros.extend(quote!(let mut #adj = #rt::zero_gradient(&#ident);));
            }
        }
        // An array the body stores into and that lives on after an iteration
        // is carried too: its adjoint at the end of one iteration's backward
        // code is what the next one (the previous iteration) starts from, so
        // every store in the body, however deeply nested, must see it as live.
        let mut inside = HashSet::new();
        walk(&l.body.stmts, &mut |s| inside.extend(s.defines()));
        for a in stored_arrays(&l.body.stmts) {
            for &k in &active {
                if !inside.contains(&a)
                    && self.act.is_varied(a, k)
                    && !self.declared.contains(&(a, k))
                {
                    self.pending.insert((a, k));
                }
            }
        }
        let before = self.declared.clone();
        let locals: HashSet<VarId> = l.body_locals().into_iter().collect();
        // A flat sum at the top of the function is replayed first iteration
        // first (`forward` below), so it carries the adjoints of `x[i + c]`
        // in registers.
        // A loop inside a loop being fused keeps that loop's registers out:
        // they belong to reads at that loop's top level.
        let outer_carry = self.carry.take();
        let mut has_loop = false;
        walk(&l.body.stmts, &mut |s| {
            has_loop |= matches!(s, Stmt::Loop(_))
        });
        if self.locals.len() == 1 && !l.counted_by_tape() && !has_loop && self.sums_only(l) {
            self.carry = Some(Carry {
                loop_no: l.record.0,
                offsets: carried_reads(self.f, l, &defined_inside(l)),
                touched: BTreeSet::new(),
            });
        }
        self.locals.push(locals.clone());
        let mut body = TokenStream::new();
        let outer_pops = std::mem::take(&mut self.pops);
        for &(c, k) in &lanes {
            let carried = &l.carried[c];
            if let Some(end) = carried.end.var().filter(|e| self.act.is_varied(*e, k)) {
                let running = self.adjoint(carried.out, k);
                body.extend(self.accumulate(end, k, quote!(#running)));
            }
        }
        body.extend(self.block(&l.body.stmts));
        for &(c, k) in &lanes {
            let carried = &l.carried[c];
            let running = self.adjoint(carried.out, k);
            if self.declared.contains(&(carried.start, k)) {
                let start = self.adjoint(carried.start, k);
                body.extend(quote!(#running = #start;));
            } else {
                self.referenced.insert(carried.out);
                let out = self.f.ident(carried.out);
                body.extend(quote!(#running = #rt::zero_gradient(&#out);));
            }
        }
        let (registers, body, tail) = self.registers(l, body, |s, v, k| {
            let adj = s.adjoint(v, k);
            move |at: TokenStream, r: &Ident| quote!(#adj[#at] += #r;)
        });
        self.carry = outer_carry;
        self.locals.pop();
        self.declared = before;

        let predeclare = self.predeclare_pending();
        let needed: Vec<VarId> = self
            .referenced
            .iter()
            .copied()
            .filter(|v| locals.contains(v))
            .collect();
        let forward_order = self.sums_only(l) && !self.pops;
        // Replayed first iteration first, counters (`j += 1`) are counted
        // again instead of taped, and what depends on them can be recomputed.
        let counted = if forward_order && !l.hoisted {
            counters(l)
        } else {
            Vec::new()
        };
        let counted_starts: Vec<VarId> = counted.iter().map(|c| c.start).collect();
        let (saved, recompute) = self.tape_or_recompute(l, &needed, &locals, &counted_starts);
        let record = self.f.ident(l.record);
        let index = self.f.ident(l.index);
        // The index comes back from the range, walked the other way.
        // A loop that only sums into its carried variables (`s += ..`) passes
        // their adjoints through unchanged, so its iterations can be replayed
        // in the forward order, which walks memory the way the CPU expects.
        // Stores into arrays must be undone last first.
        let popped = l.hoisted && !saved.is_empty();
        let forward = forward_order && !popped;
        let saved_idents: Vec<_> = saved.iter().map(|v| self.f.ident(*v)).collect();
        self.pops |= outer_pops || popped;
        let range = self.range(&l.range, l.range.rev == forward);
        let tape = if forward {
            quote!(#record.into_iter())
        } else {
            quote!(#record.into_iter().rev())
        };
        let mut recompute = recompute;
        let (mut count_before, mut count_next) = (TokenStream::new(), TokenStream::new());
        for c in &counted {
            let (hold, start) = (names::replayed(self.f.ident(c.out)), self.f.ident(c.start));
            let (input, step) = (self.operand(&c.input), self.counter_step(l, c));
            count_before.extend(quote!(let mut #hold = #input;));
            recompute = quote!(let #start = #hold; #recompute);
            count_next.extend(quote!(#hold = #step;));
        }
        let iterations = if l.counted_by_tape() {
            quote!((#(#saved_idents,)*) in #tape)
        } else if popped {
            let top = names::tape_top(record);
            recompute =
                quote!(let (#(#saved_idents,)*) = #rt::pop(&mut #record, &mut #top); #recompute);
            quote!(#index in #range)
        } else if saved.is_empty() {
            quote!(#index in #range)
        } else {
            quote!((#index, (#(#saved_idents,)*)) in #range.zip(#tape))
        };
        let mut code = quote! {
            #predeclare
            #running_zeros
            #registers
            #count_before
            for #iterations {
                #recompute
                #body
                #count_next
            }
            #tail
        };
        for &(c, k) in &lanes {
            let carried = &l.carried[c];
            if let Some(input) = carried.input.var().filter(|i| self.act.is_varied(*i, k)) {
                let running = self.adjoint(carried.out, k);
                code.extend(self.accumulate(input, k, quote!(#running)));
            }
        }
        if !saved.is_empty() || l.counted_by_tape() {
            // The tape exists only if it holds something (or counts `while` iterations).
            self.referenced.insert(l.record);
        }
        self.saves.insert(l.record, (saved, Vec::new()));
        code
    }

    /// `(a..b)`, `(a..=b)`, or reversed.
    pub(super) fn range(&mut self, r: &Range, rev: bool) -> TokenStream {
        let (a, b) = (self.operand(&r.start), self.operand(&r.end));
        range_tokens(&a, &b, r.inclusive, rev)
    }

    /// Splits what an iteration's backward code reads into what goes on the
    /// tape and what is cheaper to compute again: values built by arithmetic
    /// from the index, from values fixed during the loop, and from array
    /// elements the loop cannot change (Griewank's recomputation). The tape
    /// keeps the rest: carried values and results of transcendental functions.
    pub(super) fn tape_or_recompute(
        &mut self,
        l: &Loop,
        needed: &[VarId],
        locals: &HashSet<VarId>,
        counted: &[VarId],
    ) -> (Vec<VarId>, TokenStream) {
        // Which body values could be recomputed, in body order.
        let mut cheap: Vec<(VarId, Cheap)> = Vec::new();
        let vars = &self.f.vars;
        // An operand fixed during the loop (SSA: defined outside the body and
        // not an array changed in place), the index of a walked range, or a
        // cheap value computed before. A storage array is never read again:
        // it may change later in the loop or after it, and the backward sweep
        // runs after all of that.
        // With the `recompute` option, every primitive with a rule is computed
        // again from the carried values, which go on the tape instead.
        let all = self.recompute;
        let starts: Vec<VarId> = l.carried.iter().map(|c| c.start).collect();
        let is_cheap_operand = |o: &Operand, cheap: &[(VarId, Cheap)]| match o.var() {
            None => true,
            Some(v) => {
                (v == l.index && !l.counted_by_tape())
                    || counted.contains(&v)
                    || (all && starts.contains(&v))
                    || (!locals.contains(&v) && !vars[v.0].storage)
                    || cheap.iter().any(|(c, _)| *c == v)
            }
        };
        for s in &l.body.stmts {
            let Stmt::Let { outs, prim, .. } = s else {
                continue;
            };
            let [o] = outs[..] else { continue };
            let candidate = match prim {
                // Elements of arrays the body cannot change.
                Prim::Index {
                    base,
                    index,
                    by_ref,
                } if !locals.contains(base)
                    && !vars[base.0].storage
                    && index.iter().all(|i| is_cheap_operand(i, &cheap)) =>
                {
                    Some(Cheap::Index(*base, index, *by_ref))
                }
                Prim::Copy(a) if is_cheap_operand(a, &cheap) => Some(Cheap::Copy(a)),
                Prim::Apply { rule, form, args }
                    if (all || rule.is_some_and(|r| rules::RECOMPUTED.contains(&r.name)))
                        && args.iter().all(|a| is_cheap_operand(a, &cheap)) =>
                {
                    Some(Cheap::Apply(form, args))
                }
                _ => None,
            };
            if let Some(c) = candidate {
                cheap.push((o, c));
            }
        }
        // What the needed values depend on, among the cheap ones.
        let mut wanted: HashSet<VarId> = needed
            .iter()
            .copied()
            .filter(|v| cheap.iter().any(|(c, _)| c == v))
            .collect();
        // Carried values a recomputed one reads (`recompute`): on the tape.
        let mut restarts: BTreeSet<VarId> = BTreeSet::new();
        for (o, c) in cheap.iter().rev() {
            if !wanted.contains(o) {
                continue;
            }
            let deps: Vec<VarId> = match c {
                Cheap::Index(_, index, _) => index.iter().filter_map(Operand::var).collect(),
                Cheap::Copy(a) => a.var().into_iter().collect(),
                Cheap::Apply(_, args) => args.iter().filter_map(Operand::var).collect(),
            };
            for d in deps {
                if cheap.iter().any(|(c, _)| *c == d) {
                    wanted.insert(d);
                } else if starts.contains(&d) && !counted.contains(&d) {
                    restarts.insert(d);
                }
            }
        }
        let mut recompute = TokenStream::new();
        for (o, c) in &cheap {
            if !wanted.contains(o) {
                continue;
            }
            let rhs = match *c {
                Cheap::Index(base, index, by_ref) => {
                    self.referenced.insert(base);
                    let index: Vec<TokenStream> = index.iter().map(|i| self.operand(i)).collect();
                    let ident = self.f.ident(base).to_token_stream();
                    let var = &self.f.vars[base.0];
                    element_tokens(var, &ident, &index, by_ref, Span::call_site())
                }
                Cheap::Copy(a) => self.operand(a),
                Cheap::Apply(form, args) => {
                    args.iter().for_each(|a| {
                        self.operand(a);
                    });
                    apply_tokens(&self.f.vars, form, args)
                }
            };
            let o = self.f.ident(*o);
            recompute.extend(quote!(let #o = #rhs;));
        }
        let mut saved: Vec<VarId> = needed
            .iter()
            .copied()
            .filter(|v| {
                (*v != l.index || l.counted_by_tape())
                    && !wanted.contains(v)
                    && !counted.contains(v)
            })
            .collect();
        for v in restarts {
            if !saved.contains(&v) {
                self.referenced.insert(v);
                saved.push(v);
            }
        }
        (saved, recompute)
    }
}

impl Primal<'_> {
    /// ```text
    /// let mut __ad_tape = tape(&(a..b));        // only if the backward sweep needs values
    /// let mut __ad_s_2 = __ad_s;                // carried: holds the running value
    /// for __ad_i in a..b {
    ///     let __ad_s_1 = __ad_s_2;              // its value at the top of the iteration
    ///     ..body..
    ///     __ad_tape.push((__ad_t, ..));          // what the backward sweep reads
    ///     __ad_s_2 = __ad_s_3;
    /// }
    /// ```
    pub(super) fn loop_stmt(&mut self, l: &Loop) -> TokenStream {
        let rt = runtime();
        let (a, b) = (self.op(&l.range.start), self.op(&l.range.end));
        let mut range = range_tokens(&a, &b, l.range.inclusive, l.range.rev);
        if let Some(k) = &l.range.step {
            let k = self.op(k);
            range = quote!(#range.step_by(#k));
        }
        let index = self.f.ident(l.index);
        let mut holders: Vec<Ident> = l
            .carried
            .iter()
            .map(|c| self.f.ident(c.out).clone())
            .collect();
        let mut holder_decls: Vec<_> = l
            .carried
            .iter()
            .map(|c| {
                let ident = self.f.ident(c.out);
                match &self.f.vars[c.out.0].ty {
                    Some(t) => quote!(#ident: #t),
                    None => quote!(#ident),
                }
            })
            .collect();
        let mut inputs: Vec<_> = l.carried.iter().map(|c| self.op(&c.input)).collect();
        let mut starts: Vec<Ident> = l
            .carried
            .iter()
            .map(|c| self.f.ident(c.start).clone())
            .collect();
        let mut ends: Vec<_> = l.carried.iter().map(|c| self.op(&c.end)).collect();
        // Forward mode: the tangents of carried variables are carried too.
        let starts_of: Vec<VarId> = l.carried.iter().map(|c| c.start).collect();
        for (start, k) in self.tangent_lanes(&starts_of) {
            let c = l
                .carried
                .iter()
                .find(|c| c.start == start)
                .expect("carried");
            let holder = self.tan(c.out, k);
            holder_decls.push(quote!(#holder));
            holders.push(holder);
            inputs.push(self.tan_or_zero(&c.input, k));
            starts.push(self.tan(c.start, k));
            ends.push(self.tan_or_zero(&c.end, k));
        }
        let mut body = self.block(&l.body.stmts);
        // A running sum differentiated iteration by iteration (`running_sums.rs`).
        let mut buffers = TokenStream::new();
        if let Some((decls, backward)) = self.fused.get(&l.record) {
            buffers.extend(decls.clone());
            body.extend(backward.clone());
        }
        // A `while` loop always keeps its tape: its length is the trip count.
        let (tape_init, tape_push) = match self.saves.get(&l.record) {
            Some((saved, _)) if !saved.is_empty() || l.counted_by_tape() => {
                let record = self.f.ident(l.record);
                let saved = self.idents(saved);
                let init = if l.hoisted {
                    // Room for the iterations, before the loop runs (a shared
                    // tape is for `for` loops over ranges, without exits).
                    let top = names::tape_top(record);
                    quote!(#rt::reserve(&mut #record, #top, &#range);)
                } else if l.cond.is_some() {
                    quote!(let mut #record = ::std::vec::Vec::new();)
                } else {
                    quote!(let mut #record = #rt::tape(&#range);)
                };
                let push = if l.hoisted {
                    let top = names::tape_top(record);
                    quote!(#rt::put(&mut #record, &mut #top, (#(#saved,)*));)
                } else {
                    quote!(#record.push((#(#saved,)*));)
                };
                (init, push)
            }
            _ => (TokenStream::new(), TokenStream::new()),
        };
        // `break` / `continue`: the body said whether to go on.
        let stop = l.exit.as_ref().map(|keep_going| {
            let keep_going = self.op(keep_going);
            quote!(if !#keep_going { break; })
        });
        match &l.cond {
            None => quote! {
                #tape_init
                #buffers
                #(let mut #holder_decls = #inputs;)*
                for #index in #range {
                    #(let #starts = #holders;)*
                    #body
                    #tape_push
                    #(#holders = #ends;)*
                    #stop
                }
            },
            // `while`: the condition reads the iteration's starting values.
            Some((stmts, cond)) => {
                let cond_stmts = self.block(stmts);
                let cond = self.op(cond);
                quote! {
                    #tape_init
                    #(let mut #holder_decls = #inputs;)*
                    loop {
                        #(let #starts = #holders;)*
                        #cond_stmts
                        if !#cond {
                            break;
                        }
                        #body
                        #tape_push
                        #(#holders = #ends;)*
                        #stop
                    }
                }
            }
        }
    }
}

impl Backward<'_> {
    /// Whether a loop's iterations can be replayed first iteration first:
    /// each carried variable that carries a derivative only sums (its
    /// adjoint passes through an iteration unchanged), and no array is
    /// stored into (stores must be undone last first).
    fn sums_only(&self, l: &Loop) -> bool {
        l.carried
            .iter()
            .filter(|c| (0..self.act.classes).any(|k| self.act.is_varied(c.start, k)))
            .all(|c| is_running_sum(l, c))
            && stored_arrays(&l.body.stmts).is_empty()
    }

    /// A counter's step, `start + 1` as the body wrote it.
    fn counter_step(&mut self, l: &Loop, c: &Carried) -> TokenStream {
        let end = c.end.var();
        for s in &l.body.stmts {
            if let Stmt::Let {
                outs,
                prim: Prim::Apply { form, args, .. },
                ..
            } = s
            {
                if end == Some(outs[0]) {
                    args.iter().for_each(|a| {
                        self.operand(a);
                    });
                    return apply_tokens(&self.f.vars, form, args);
                }
            }
        }
        unreachable!("`counters` found the step")
    }
}

/// The carried variables that are counters: stepped by a constant (`j +=
/// 1`, `j -= 2`) at the top of the body.
fn counters(l: &Loop) -> Vec<&Carried> {
    l.carried
        .iter()
        .filter(|c| step_of(l, c).is_some_and(|(_, _, start_first)| start_first))
        .collect()
}

/// How a carried variable steps, if its end is `start ± constant` (or
/// `constant + start`) at the top of the body: the rule (`add`, `sub`), the
/// constant, and whether `start` is the left operand.
pub(super) fn step_of<'l>(
    l: &'l Loop,
    c: &Carried,
) -> Option<(&'static str, &'l TokenStream, bool)> {
    let end = c.end.var()?;
    l.body.stmts.iter().find_map(|s| match s {
        Stmt::Let {
            outs,
            prim:
                Prim::Apply {
                    rule: Some(rule),
                    args,
                    ..
                },
            ..
        } if outs[..] == [end] && matches!(rule.name, "add" | "sub") => {
            match (&args[0], &args[1]) {
                (Operand::Var(v), Operand::Const(k)) if *v == c.start => Some((rule.name, k, true)),
                (Operand::Const(k), Operand::Var(v)) if *v == c.start && rule.name == "add" => {
                    Some((rule.name, k, false))
                }
                _ => None,
            }
        }
        _ => None,
    })
}

/// The storage arrays a block (its branches and loops included) stores into.
pub(super) fn stored_arrays(stmts: &[Stmt]) -> Vec<VarId> {
    let mut out = Vec::new();
    walk(stmts, &mut |s| {
        if let Stmt::Let {
            prim: Prim::Store { base, .. },
            ..
        } = s
        {
            out.push(*base);
        }
    });
    out
}

/// Whether a carried variable only accumulates: `end` is `start` plus or
/// minus terms (`s += t`, `s = s + a + b`, `s -= t`), through intermediate
/// sums read nowhere else, and `start` is read nowhere else, so `start̅ = end̅`.
pub(super) fn is_running_sum(l: &Loop, c: &Carried) -> bool {
    let Some(end) = c.end.var() else { return false };
    reaches_by_sums(&l.body, end, c.start, true) && uses_in_block(&l.body, c.start) == 1
}

/// Whether `v` is `start`, or a sum (`a + b`, `a - b`, a copy, an inner
/// loop's running sum) one of whose left-or-either operands is, each link
/// read only once (`end`: not read here).
fn reaches_by_sums(b: &Block, v: VarId, start: VarId, end: bool) -> bool {
    if v == start {
        return true;
    }
    if !end && uses_in_block(b, v) != 1 {
        return false;
    }
    let links: Vec<VarId> = b
        .stmts
        .iter()
        .find_map(|s| match s {
            Stmt::Let { outs, prim, .. } if outs[..] == [v] => Some(match prim {
                Prim::Apply {
                    rule: Some(rule),
                    args,
                    ..
                } if rule.name == "add" => args.iter().filter_map(Operand::var).collect(),
                Prim::Apply {
                    rule: Some(rule),
                    args,
                    ..
                } if rule.name == "sub" => args[0].var().into_iter().collect(),
                Prim::Copy(a) => a.var().into_iter().collect(),
                _ => Vec::new(),
            }),
            // A sum carried through an inner loop that only adds to it
            // (`for j in .. { s += .. }` inside `for i in ..`).
            Stmt::Loop(inner) => inner.carried.iter().find(|c| c.out == v).map(|c| {
                if is_running_sum(inner, c) {
                    c.input.var().into_iter().collect()
                } else {
                    Vec::new()
                }
            }),
            _ => None,
        })
        .unwrap_or_default();
    links
        .into_iter()
        .any(|a| reaches_by_sums(b, a, start, false))
}

/// How many times `v` is read in a block, its branches and its loops.
pub(super) fn uses_in_block(b: &Block, v: VarId) -> usize {
    let count = |o: &Operand| usize::from(o.var() == Some(v));
    let mut n: usize = b.yields.iter().map(count).sum();
    for s in &b.stmts {
        n += match s {
            Stmt::Let { prim, .. } => match prim {
                Prim::Copy(a) => count(a),
                Prim::Apply { args, .. } => args.iter().map(count).sum(),
                Prim::Stop { arg, .. } => count(arg),
                Prim::Index { base, index, .. } => {
                    usize::from(*base == v) + index.iter().map(count).sum::<usize>()
                }
                Prim::Store {
                    base, index, value, ..
                } => {
                    usize::from(*base == v) + index.iter().map(count).sum::<usize>() + count(value)
                }
                Prim::NewArray(new) => new.elems().into_iter().map(count).sum(),
                Prim::Call { args, .. } => args.iter().map(|a| count(&a.value)).sum(),
                Prim::ArrayFn { args, .. } => args.iter().filter(|(a, _)| *a == v).count(),
                Prim::Opaque(o) => {
                    o.reads.iter().filter(|(r, _)| *r == v).count()
                        + o.writes.iter().filter(|(r, _)| *r == v).count()
                        + o.mutates.iter().filter(|r| **r == v).count()
                }
            },
            Stmt::If(i) => {
                count(&i.cond) + uses_in_block(&i.then_branch, v) + uses_in_block(&i.else_branch, v)
            }
            Stmt::Loop(inner) => {
                count(&inner.range.start)
                    + count(&inner.range.end)
                    + inner.range.step.as_ref().map_or(0, count)
                    + inner
                        .carried
                        .iter()
                        .map(|c| count(&c.input) + count(&c.end))
                        .sum::<usize>()
                    + uses_in_block(&inner.body, v)
            }
        };
    }
    n
}
