//! The backward sweep: adjoints accumulated in reverse order.
//!
//! ```text
//! let __ad_t = x * y;                 let mut __adj_t = __adj_1 * __ad_s;   // from the use below
//! let __ad_s = __ad_t.sin();   →      let mut __adj_x = __adj_t * y;
//!                                     let mut __adj_y = __adj_t * x;
//! ```
//!
//! * One adjoint per value and class (`__adj_t_c0`, `__adj_t_c1`): a site
//!   cut for one class simply contributes nothing to that class.
//! * An adjoint is declared by its first contribution (`let mut`), so values
//!   that receive nothing cost nothing (structural zeros).
//! * An `if` is replayed from its branch record: the forward sweep stores
//!   which branch ran and the branch-local values the backward code reads;
//!   the backward sweep `match`es on it. Adjoints of outer values that only a
//!   branch contributes to are declared (as zero) before the `match`.

use std::collections::{BTreeSet, HashMap, HashSet};

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use crate::activity::Activity;
use crate::ir::*;
use crate::names;

/// The saved values of each `if`'s branches, keyed by its record.
pub type Saves = HashMap<VarId, (Vec<VarId>, Vec<VarId>)>;

pub struct Reverse {
    pub code: TokenStream,
    /// One gradient expression per differentiation variable.
    pub grads: Vec<TokenStream>,
    pub saves: Saves,
}

pub fn runtime() -> TokenStream {
    let krate = Ident::new(crate::symbol::CRATE, proc_macro2::Span::call_site());
    quote!(::#krate::__private)
}

pub fn emit(f: &Function, act: &Activity) -> Reverse {
    let params: HashSet<VarId> = f.wrt.iter().map(|p| p.var).collect();
    let mut sweep = Sweep {
        f,
        act,
        declared: HashSet::new(),
        referenced: BTreeSet::new(),
        saves: HashMap::new(),
        locals: Vec::new(),
        pending: BTreeSet::new(),
        pops: false,
    };
    let mut top: HashSet<VarId> = defines(&f.body.stmts);
    top.extend(params);
    sweep.locals.push(top);

    let rt = runtime();
    let mut code = TokenStream::new();
    if let Some(r) = f.body.yields[0].var() {
        let ident = f.ident(r);
        for k in 0..act.classes {
            if act.is_varied(r, k) {
                let adj = sweep.adjoint(r, k);
                code.extend(quote!(let mut #adj = #rt::one_like(&#ident);));
                sweep.declared.insert((r, k));
                sweep.referenced.insert(r);
            }
        }
    }
    code.extend(sweep.block(&f.body.stmts));

    let grads = f
        .wrt
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let k = act.class_of[j];
            if sweep.declared.contains(&(p.var, k)) {
                let adj = sweep.adjoint(p.var, k);
                quote!(#adj)
            } else {
                let ident = &p.ident;
                quote!(#rt::zero_gradient(&#ident))
            }
        })
        .collect();
    Reverse {
        code,
        grads,
        saves: sweep.saves,
    }
}

fn defines(stmts: &[Stmt]) -> HashSet<VarId> {
    stmts.iter().flat_map(Stmt::defines).collect()
}

struct Sweep<'a> {
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
}

impl Sweep<'_> {
    fn adjoint(&self, v: VarId, class: usize) -> Ident {
        names::adjoint(&self.f.vars[v.0].stem, class, self.act.classes)
    }

    fn block(&mut self, stmts: &[Stmt]) -> TokenStream {
        stmts.iter().rev().map(|s| self.stmt(s)).collect()
    }

    /// `a̅ += contribution`, declaring `a̅` if this is its first contribution.
    fn accumulate(&mut self, a: VarId, k: usize, contribution: TokenStream) -> TokenStream {
        if let Some((root, path)) = self.f.vars[a.0].view.clone() {
            // A row: its adjoint is part of the whole array's.
            let path = self.indices(&path);
            let rt = runtime();
            return self.accumulate_array(
                root,
                k,
                |adj| quote!(#rt::add_to(&mut #adj #path, #contribution);),
            );
        }
        let adj = self.adjoint(a, k);
        let add = if self.f.vars[a.0].is_array() {
            // Arrays have no `+=`; the runtime adds element by element.
            let rt = runtime();
            quote!(#rt::add_to(&mut #adj, #contribution);)
        } else {
            quote!(#adj += #contribution;)
        };
        if self.declared.contains(&(a, k)) {
            add
        } else if self.is_local(a) {
            self.declared.insert((a, k));
            quote!(let mut #adj = #contribution;)
        } else {
            self.pending.insert((a, k));
            add
        }
    }

    /// An update of an array adjoint (`a̅[i] += ..`, or a runtime function on all of it), declaring
    /// the adjoint (as zeros) if needed.
    fn accumulate_array(
        &mut self,
        a: VarId,
        k: usize,
        update: impl FnOnce(&Ident) -> TokenStream,
    ) -> TokenStream {
        let adj = self.adjoint(a, k);
        let code = update(&adj);
        if self.declared.contains(&(a, k)) {
            code
        } else if self.is_local(a) {
            self.declared.insert((a, k));
            self.referenced.insert(a);
            let rt = runtime();
            let ident = self.f.ident(a);
            quote!(let mut #adj = #rt::zero_gradient(&#ident); #code)
        } else {
            self.pending.insert((a, k));
            code
        }
    }

    /// `[i][j]..` of index operands.
    fn indices(&mut self, index: &[Operand]) -> TokenStream {
        index
            .iter()
            .map(|i| {
                let i = self.operand(i);
                quote!([#i])
            })
            .collect()
    }

    /// An array argument of a runtime function: the root array whose
    /// adjoint receives its derivative, and the indices of the row.
    fn array_arg(&mut self, a: VarId) -> (VarId, TokenStream) {
        match self.f.vars[a.0].view.clone() {
            Some((root, path)) => (root, self.indices(&path)),
            None => (a, TokenStream::new()),
        }
    }

    /// `a[i].. = v`: the element's adjoint moves to `v` and becomes zero,
    /// since the old value no longer reaches the output through it.
    fn store(&mut self, base: VarId, index: &[Operand], value: &Operand) -> TokenStream {
        let mut code = TokenStream::new();
        for k in 0..self.act.classes {
            if !self.act.is_varied(base, k) {
                continue;
            }
            if !self.declared.contains(&(base, k)) && !self.pending.contains(&(base, k)) {
                if self.is_local(base) {
                    // Nothing later reads the array: its adjoint is all zeros.
                    continue;
                }
                // Later iterations of a loop around us may read it.
                self.pending.insert((base, k));
            }
            let adj = self.adjoint(base, k);
            let index = self.indices(index);
            let taken = quote!(::core::mem::take(&mut #adj #index));
            match value.var().filter(|v| self.act.is_varied(*v, k)) {
                Some(v) => code.extend(self.accumulate(v, k, taken)),
                None => code.extend(quote!(#taken;)),
            }
        }
        code
    }

    /// A call through the callee's pullback: each argument gets the callee's
    /// gradient for its parameter, scaled by the adjoint of the call's value.
    fn call(&mut self, value: VarId, grads: VarId, first: usize, args: &[CallArg]) -> TokenStream {
        let mut code = TokenStream::new();
        for k in 0..self.act.classes {
            if !self.declared.contains(&(value, k)) {
                continue;
            }
            let g = self.adjoint(value, k);
            for (i, arg) in args.iter().enumerate() {
                let Some(a) = arg.value.var().filter(|a| self.act.is_varied(*a, k)) else {
                    continue;
                };
                self.referenced.insert(grads);
                let (at, gs, krate) = names::at_argument(self.f.ident(grads), arg.span);
                let i = syn::Index::from(first + i);
                if self.f.vars[a.0].rank == 1 {
                    // An array: added element by element, whatever its container
                    // (`[f64; N]` argument, `Vec` gradient from a `&[f64]` parameter).
                    let (root, path) = self.array_arg(a);
                    code.extend(self.accumulate_array(root, k, |adj| {
                        quote_spanned!(at=> ::#krate::__private::add_scaled(&mut #adj #path[..], #g, &#gs.#i);)
                    }));
                    continue;
                }
                let share = quote_spanned!(at=> ::#krate::__private::scale(#g, &#gs.#i));
                code.extend(self.accumulate(a, k, share));
            }
        }
        code
    }

    fn is_local(&self, a: VarId) -> bool {
        self.locals.last().is_some_and(|l| l.contains(&a))
    }

    fn stmt(&mut self, s: &Stmt) -> TokenStream {
        match s {
            Stmt::Let {
                prim: Prim::Store {
                    base, index, value, ..
                },
                ..
            } => self.store(*base, index, value),
            Stmt::Let {
                outs,
                prim: Prim::Call { callee, args },
                ..
            } => {
                // `self.method(..)`: the pullback's first gradient is the receiver's.
                let first = usize::from(matches!(callee, Callee::Method(_)));
                self.call(outs[0], outs[1], first, args)
            }
            Stmt::Let { outs, prim, .. } => {
                let [o] = outs[..] else {
                    return TokenStream::new();
                };
                let mut code = TokenStream::new();
                for k in 0..self.act.classes {
                    if !self.declared.contains(&(o, k)) {
                        continue;
                    }
                    let g = self.adjoint(o, k);
                    match prim {
                        Prim::Copy(Operand::Var(a)) if self.act.is_varied(*a, k) => {
                            code.extend(self.accumulate(*a, k, quote!(#g)));
                        }
                        Prim::ArrayFn { name, args, .. } => {
                            let rt = runtime();
                            for (i, (a, _)) in args.iter().enumerate() {
                                if !self.act.is_varied(*a, k) {
                                    continue;
                                }
                                let x = self.operand(&Operand::Var(*a));
                                let other = args
                                    .get(1 - i.min(1))
                                    .map(|(b, _)| self.operand(&Operand::Var(*b)));
                                let ans = (*name == "log_sum_exp")
                                    .then(|| self.operand(&Operand::Var(o)));
                                let (root, path) = self.array_arg(*a);
                                let g = g.clone();
                                code.extend(self.accumulate_array(root, k, |adj| match *name {
                                    "log_sum_exp" => quote!(#rt::partials::log_sum_exp_vjp(#g, &#x[..], #ans, &mut #adj #path[..]);),
                                    "log_softmax" => quote!(#rt::partials::log_softmax_vjp(&#x[..], &#g[..], &mut #adj #path[..]);),
                                    "dot" => quote!(#rt::partials::dot_vjp(#g, &#other[..], &mut #adj #path[..]);),
                                    _ => quote!(#rt::partials::sum_vjp(#g, &mut #adj #path[..]);),
                                }));
                            }
                        }
                        // A number read from an array (a view's derivative goes
                        // straight to its array, through the reads of its elements).
                        Prim::Index { base, index, .. }
                            if self.act.is_varied(*base, k) && !self.f.vars[o.0].is_array() =>
                        {
                            let index = self.indices(index);
                            code.extend(self.accumulate_array(
                                *base,
                                k,
                                |adj| quote!(#adj #index += #g;),
                            ));
                        }
                        Prim::NewArray(new) => match new {
                            NewArray::Repeat { elem, .. } => {
                                if let Some(e) = elem.var().filter(|e| self.act.is_varied(*e, k)) {
                                    let rt = runtime();
                                    code.extend(self.accumulate(e, k, quote!(#rt::sum(&#g[..]))));
                                }
                            }
                            NewArray::List { elems, .. } => {
                                for (i, e) in elems.iter().enumerate() {
                                    if let Some(e) = e.var().filter(|e| self.act.is_varied(*e, k)) {
                                        code.extend(self.accumulate(e, k, quote!(#g[#i])));
                                    }
                                }
                            }
                            NewArray::Empty { .. } => {}
                        },
                        Prim::Stop {
                            site,
                            arg: Operand::Var(a),
                            ..
                        } if self.act.site_mask[*site] & (1 << k) == 0
                            && self.act.is_varied(*a, k) =>
                        {
                            code.extend(self.accumulate(*a, k, quote!(#g)));
                        }
                        Prim::Apply {
                            rule: Some(rule),
                            args,
                            ..
                        } => {
                            for (i, arg) in args.iter().enumerate() {
                                let (Some(a), Some(Some(template))) =
                                    (arg.var(), rule.partials.get(i))
                                else {
                                    continue;
                                };
                                if !self.act.is_varied(a, k) {
                                    continue;
                                }
                                let share = self.instantiate(template, &g, args, o);
                                code.extend(self.accumulate(a, k, share));
                            }
                        }
                        _ => {}
                    }
                }
                code
            }
            Stmt::If(i) => self.if_stmt(i),
            Stmt::Loop(l) => self.loop_stmt(l),
        }
    }

    /// A rule's template with its slots filled (see `rules.rs`).
    fn instantiate(
        &mut self,
        template: &str,
        g: &Ident,
        args: &[Operand],
        ans: VarId,
    ) -> TokenStream {
        let g = quote!(#g);
        crate::rules::instantiate(template, &g, args, ans, &mut |o| self.operand(o))
    }

    fn operand(&mut self, o: &Operand) -> TokenStream {
        match o {
            Operand::Var(v) => {
                self.referenced.insert(*v);
                let ident = self.f.ident(*v);
                if self.f.vars[v.0].reference {
                    quote!((*#ident))
                } else {
                    quote!(#ident)
                }
            }
            Operand::Const(c) => c.clone(),
        }
    }

    /// Whether an array the region stores into has an adjoint in class `k`:
    /// the region's backward code must then run.
    fn stores_flow(&self, stmts: &[&Block], k: usize) -> bool {
        stmts.iter().any(|b| {
            stored_arrays(&b.stmts)
                .iter()
                .any(|a| self.declared.contains(&(*a, k)) || self.pending.contains(&(*a, k)))
        })
    }

    fn if_stmt(&mut self, i: &If) -> TokenStream {
        let flows_in = (0..self.act.classes).any(|k| {
            i.outs.iter().any(|o| self.declared.contains(&(*o, k)))
                || self.stores_flow(&[&i.then_branch, &i.else_branch], k)
        });
        if !flows_in {
            return TokenStream::new();
        }
        let before = self.declared.clone();
        let then_code = self.branch(&i.then_branch, &i.outs);
        self.declared = before.clone();
        let else_code = self.branch(&i.else_branch, &i.outs);
        self.declared = before;
        if then_code.is_empty() && else_code.is_empty() {
            return TokenStream::new();
        }

        // Adjoints of values defined in this block that only the branches add to.
        let predeclare = self.predeclare_pending();
        let rt = runtime();

        let save = |stmts: &[Stmt], referenced: &BTreeSet<VarId>| -> Vec<VarId> {
            let d = defines(stmts);
            referenced
                .iter()
                .copied()
                .filter(|v| d.contains(v))
                .collect()
        };
        let then_saved = save(&i.then_branch.stmts, &self.referenced);
        let else_saved = save(&i.else_branch.stmts, &self.referenced);
        let then_idents = then_saved.iter().map(|v| self.f.ident(*v));
        let else_idents = else_saved.iter().map(|v| self.f.ident(*v));
        let record = self.f.ident(i.record);
        let code = quote! {
            #predeclare
            match #record {
                #rt::Branch::Then((#(#then_idents,)*)) => { #then_code }
                #rt::Branch::Else((#(#else_idents,)*)) => { #else_code }
            }
        };
        self.saves.insert(i.record, (then_saved, else_saved));
        self.referenced.insert(i.record);
        code
    }

    /// Declares, before a region's backward code, the adjoints of values of
    /// the current block that only the region added to.
    fn predeclare_pending(&mut self) -> TokenStream {
        let rt = runtime();
        let local: Vec<(VarId, usize)> = self
            .pending
            .iter()
            .copied()
            .filter(|(v, _)| self.is_local(*v))
            .collect();
        let mut code = TokenStream::new();
        for (v, k) in local {
            self.pending.remove(&(v, k));
            self.declared.insert((v, k));
            self.referenced.insert(v);
            let adj = self.adjoint(v, k);
            let ident = self.f.ident(v);
            code.extend(quote!(let mut #adj = #rt::zero_gradient(&#ident);));
        }
        code
    }

    /// The iterations replayed from the tape, last first. The adjoint of each
    /// carried variable's `out` is the running adjoint: it flows into the
    /// body's `end`, and after the body it becomes the adjoint of `start`.
    fn loop_stmt(&mut self, l: &Loop) -> TokenStream {
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
        self.locals.pop();
        self.declared = before;

        let predeclare = self.predeclare_pending();
        let needed: Vec<VarId> = self
            .referenced
            .iter()
            .copied()
            .filter(|v| locals.contains(v))
            .collect();
        let (saved, recompute) = self.tape_or_recompute(l, &needed, &locals);
        let saved_idents: Vec<_> = saved.iter().map(|v| self.f.ident(*v)).collect();
        let record = self.f.ident(l.record);
        let index = self.f.ident(l.index);
        // The index comes back from the range, walked the other way.
        // A loop that only sums into its carried variables (`s += ..`) passes
        // their adjoints through unchanged, so its iterations can be replayed
        // in the forward order, which walks memory the way the CPU expects.
        // Stores into arrays must be undone last first.
        let popped = l.hoisted && !saved.is_empty();
        let forward = l.carried.iter().all(|c| is_running_sum(l, c))
            && stored_arrays(&l.body.stmts).is_empty()
            && !popped
            && !self.pops;
        self.pops |= outer_pops || popped;
        let range = self.range(&l.range, l.range.rev == forward);
        let tape = if forward {
            quote!(#record.into_iter())
        } else {
            quote!(#record.into_iter().rev())
        };
        let mut recompute = recompute;
        let iterations = if l.counted_by_tape() {
            quote!((#(#saved_idents,)*) in #tape)
        } else if popped {
            recompute = quote!(let (#(#saved_idents,)*) = #rt::pop(&mut #record); #recompute);
            quote!(#index in #range)
        } else if saved.is_empty() {
            quote!(#index in #range)
        } else {
            quote!((#index, (#(#saved_idents,)*)) in #range.zip(#tape))
        };
        let mut code = quote! {
            #predeclare
            #running_zeros
            for #iterations {
                #recompute
                #body
            }
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
    fn range(&mut self, r: &Range, rev: bool) -> TokenStream {
        let (a, b) = (self.operand(&r.start), self.operand(&r.end));
        crate::primal::range_tokens(&a, &b, r.inclusive, rev)
    }

    /// Splits what an iteration's backward code reads into what goes on the
    /// tape and what is cheaper to compute again: values built by arithmetic
    /// from the index, from values fixed during the loop, and from array
    /// elements the loop cannot change (Griewank's recomputation). The tape
    /// keeps the rest: carried values and results of transcendental functions.
    fn tape_or_recompute(
        &mut self,
        l: &Loop,
        needed: &[VarId],
        locals: &HashSet<VarId>,
    ) -> (Vec<VarId>, TokenStream) {
        // Which body values could be recomputed, in body order.
        let mut cheap: Vec<(VarId, &Prim)> = Vec::new();
        // A storage array changes as the loop runs (even its length, with `push`).
        let vars = &self.f.vars;
        let is_cheap_operand = |o: &Operand, cheap: &[(VarId, &Prim)]| match o.var() {
            None => true,
            Some(v) => {
                (v == l.index && !l.counted_by_tape())
                    || (!locals.contains(&v) && !vars[v.0].storage)
                    || cheap.iter().any(|(c, _)| *c == v)
            }
        };
        for s in &l.body.stmts {
            let Stmt::Let { outs, prim, .. } = s else {
                continue;
            };
            let [o] = outs[..] else { continue };
            let ok = match prim {
                // Elements of arrays the body cannot change.
                Prim::Index { base, index, .. } => {
                    !locals.contains(base)
                        && !vars[base.0].storage
                        && index.iter().all(|i| is_cheap_operand(i, &cheap))
                }
                Prim::Copy(a) => is_cheap_operand(a, &cheap),
                Prim::Apply {
                    rule: Some(rule),
                    args,
                    ..
                } => {
                    matches!(
                        rule.name,
                        "add"
                            | "sub"
                            | "mul"
                            | "div"
                            | "neg"
                            | "deref"
                            | "cmp"
                            | "not"
                            | "cast"
                            | "cast_to_int"
                            | "len"
                    ) && args.iter().all(|a| is_cheap_operand(a, &cheap))
                }
                _ => false,
            };
            if ok {
                cheap.push((o, prim));
            }
        }
        // What the needed values depend on, among the cheap ones.
        let mut wanted: HashSet<VarId> = needed
            .iter()
            .copied()
            .filter(|v| cheap.iter().any(|(c, _)| c == v))
            .collect();
        for (o, prim) in cheap.iter().rev() {
            if !wanted.contains(o) {
                continue;
            }
            let deps: Vec<VarId> = match prim {
                Prim::Index { index, .. } => index.iter().filter_map(Operand::var).collect(),
                Prim::Copy(a) => a.var().into_iter().collect(),
                Prim::Apply { args, .. } => args.iter().filter_map(Operand::var).collect(),
                _ => Vec::new(),
            };
            wanted.extend(
                deps.into_iter()
                    .filter(|d| cheap.iter().any(|(c, _)| c == d)),
            );
        }
        let mut recompute = TokenStream::new();
        for (o, prim) in &cheap {
            if !wanted.contains(o) {
                continue;
            }
            let rhs = match prim {
                Prim::Index {
                    base,
                    index,
                    by_ref,
                } => {
                    self.referenced.insert(*base);
                    let (base, index) = (self.f.ident(*base), self.indices(index));
                    let amp = by_ref.then(|| quote!(&));
                    quote!(#amp #base #index)
                }
                Prim::Copy(a) => self.operand(a),
                Prim::Apply { form, args, .. } => {
                    args.iter().for_each(|a| {
                        self.operand(a);
                    });
                    crate::primal::apply_tokens(&self.f.vars, form, args)
                }
                _ => unreachable!("only cheap primitives are recomputed"),
            };
            let o = self.f.ident(*o);
            recompute.extend(quote!(let #o = #rhs;));
        }
        let saved = needed
            .iter()
            .copied()
            .filter(|v| (*v != l.index || l.counted_by_tape()) && !wanted.contains(v))
            .collect();
        (saved, recompute)
    }

    fn branch(&mut self, b: &Block, outs: &[VarId]) -> TokenStream {
        self.locals.push(defines(&b.stmts));
        let mut code = TokenStream::new();
        for (o, y) in outs.iter().zip(&b.yields) {
            let Some(y) = y.var() else { continue };
            for k in 0..self.act.classes {
                if self.declared.contains(&(*o, k)) && self.act.is_varied(y, k) {
                    let g = self.adjoint(*o, k);
                    code.extend(self.accumulate(y, k, quote!(#g)));
                }
            }
        }
        code.extend(self.block(&b.stmts));
        self.locals.pop();
        code
    }
}

/// The storage arrays a block (its branches and loops included) stores into.
fn stored_arrays(stmts: &[Stmt]) -> Vec<VarId> {
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

/// Whether a carried variable only accumulates: `end = start + t` (or
/// `start - t`) and `start` is read nowhere else, so `start̅ = end̅`.
fn is_running_sum(l: &Loop, c: &Carried) -> bool {
    let Some(end) = c.end.var() else { return false };
    let sums = l.body.stmts.iter().any(|s| match s {
        Stmt::Let {
            outs,
            prim:
                Prim::Apply {
                    rule: Some(rule),
                    args,
                    ..
                },
            ..
        } => {
            outs[..] == [end]
                && ((rule.name == "add" && args.iter().any(|a| a.var() == Some(c.start)))
                    || (rule.name == "sub" && args[0].var() == Some(c.start)))
        }
        _ => false,
    });
    sums && uses_in_block(&l.body, c.start) == 1
}

/// How many times `v` is read in a block, its branches and its loops.
fn uses_in_block(b: &Block, v: VarId) -> usize {
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
