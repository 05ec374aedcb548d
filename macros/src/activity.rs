//! Activity analysis, per sweep class.
//!
//! Differentiation variables blocked at exactly the same `sg_for!` sites form
//! one *class*; each class sees its own program Pₖ (SEMANTICS.md) and gets its
//! own adjoints. A value is *varied* in class k if it depends on a variable of
//! class k through a path no site cuts for k; the reverse sweep only writes
//! adjoints of varied values and skips every structural zero.
//!
//! A backward *useful* pass finds code the macro passes through opaquely
//! (loops, unknown calls, ..) that reads a varied value and whose result
//! reaches the output: a derivative would silently be lost there, so it is a
//! compile error at that code.
//!
//! This module produces data only, never tokens.

use std::collections::BTreeMap;

use crate::errors::Errors;
use crate::ir::*;
use crate::rules::{self, Shape};

/// A set of classes, one bit each.
pub type Mask = u64;

/// The most classes one function can have: one bit of `Mask` each.
pub const MAX_CLASSES: usize = 64;

pub struct Activity {
    pub classes: usize,
    /// The class of each differentiation variable, by `wrt` index.
    pub class_of: Vec<usize>,
    /// The classes each site cuts.
    pub site_mask: Vec<Mask>,
    /// The classes in which each variable is varied.
    pub varied: Vec<Mask>,
    /// `varied` before calls whose value reaches nothing were made
    /// constants (`quiet`): what each value depends on, for warnings.
    pub depends: Vec<Mask>,
    /// Which variables are storage arrays: their classes only grow, as
    /// stores add to them.
    storage: Vec<bool>,
    /// The classes in which each variable reaches the output.
    useful: Vec<Mask>,
    /// Values of calls whose derivative reaches nothing (see `differentiates`):
    /// constants, so that nothing downstream asks for their tangent.
    quiet: std::collections::HashSet<VarId>,
}

impl Activity {
    pub fn is_varied(&self, v: VarId, class: usize) -> bool {
        self.varied[v.0] & (1 << class) != 0
    }

    /// Whether a call (`Prim::Call`, its value `value`) passes a derivative
    /// through its callee to the output, and so goes through the callee's
    /// pullback: `sg(plain(x))` or an unused `plain(x)` need none.
    pub fn differentiates(&self, value: VarId, args: &[CallArg]) -> bool {
        let useful = self.useful.get(value.0).copied().unwrap_or(0);
        args.iter().any(|a| self.of(&a.value) & useful != 0)
    }

    fn of(&self, o: &Operand) -> Mask {
        o.var().map_or(0, |v| self.varied[v.0])
    }
}

pub fn analyze(f: &Function, errors: &Errors) -> Activity {
    let (classes, class_of) = classes(f);
    if classes > MAX_CLASSES {
        let j = class_of.iter().position(|&k| k >= MAX_CLASSES).unwrap_or(0);
        errors.push_spanned(
            &f.wrt[j].ident,
            format!(
                "too many groups of differentiation variables: `{}` would be the {}th variable blocked at its own set of `sg_for!` sites, and at most {MAX_CLASSES} such groups are supported",
                f.wrt[j].ident,
                MAX_CLASSES + 1
            ),
        );
        return Activity {
            classes: 1,
            class_of: vec![0; f.wrt.len()],
            site_mask: vec![0; f.sites.len()],
            varied: vec![0; f.vars.len()],
            depends: vec![0; f.vars.len()],
            storage: Vec::new(),
            useful: vec![0; f.vars.len()],
            quiet: Default::default(),
        };
    }
    let all: Mask = if classes >= 64 {
        !0
    } else {
        (1 << classes) - 1
    };
    let site_mask = f
        .sites
        .iter()
        .map(|s| match &s.blocked {
            None => all,
            Some(list) => list.iter().fold(0, |m, &j| m | 1 << class_of[j]),
        })
        .collect();
    let mut act = Activity {
        classes,
        class_of,
        site_mask,
        varied: vec![0; f.vars.len()],
        depends: Vec::new(),
        storage: f.vars.iter().map(|v| v.storage).collect(),
        useful: vec![0; f.vars.len()],
        quiet: Default::default(),
    };
    varied_fixpoint(&mut act, f);

    let mut useful = vec![0; f.vars.len()];
    if let Some(r) = f.body.yields[0].var() {
        useful[r.0] = all;
    }
    let mut check = Check {
        f,
        act: &act,
        useful,
        errors,
    };
    loop {
        let before = check.useful.clone();
        check.block(&f.body);
        if check.useful == before {
            break;
        }
    }
    // Only now, at the fixed point, is it known what each opaque value feeds
    // (in a loop, a value may reach the output only through the next iteration).
    check.report_opaque();
    let useful = check.useful;
    act.useful = useful;
    // A call whose value reaches nothing needs no pullback; its value is
    // then a constant, and so is what is computed from it (none of which
    // reaches the output either).
    act.depends = act.varied.clone();
    act.quiet = quiet_calls(&act, &f.body.stmts);
    if !act.quiet.is_empty() {
        varied_fixpoint(&mut act, f);
    }
    act
}

fn varied_fixpoint(act: &mut Activity, f: &Function) {
    act.varied.iter_mut().for_each(|m| *m = 0);
    for (j, p) in f.wrt.iter().enumerate() {
        act.varied[p.var.0] |= 1 << act.class_of[j];
    }
    // Storage arrays gather what is stored anywhere in them: repeat until
    // a store late in the body has reached reads early in it.
    loop {
        let before = act.varied.clone();
        varied_block(act, &f.body);
        if act.varied == before {
            break;
        }
    }
}

fn quiet_calls(act: &Activity, stmts: &[Stmt]) -> std::collections::HashSet<VarId> {
    let mut out = std::collections::HashSet::new();
    walk(stmts, &mut |s| {
        if let Stmt::Let {
            outs,
            prim: Prim::Call { args, .. },
            ..
        } = s
        {
            if !act.differentiates(outs[0], args) {
                out.insert(outs[0]);
            }
        }
    });
    out
}

/// Groups the differentiation variables by the set of sites that block them.
fn classes(f: &Function) -> (usize, Vec<usize>) {
    let mut keys: BTreeMap<Vec<usize>, usize> = BTreeMap::new();
    let mut class_of = Vec::new();
    for j in 0..f.wrt.len() {
        let key: Vec<usize> = f
            .sites
            .iter()
            .enumerate()
            .filter(|(_, s)| s.blocked.as_ref().is_some_and(|l| l.contains(&j)))
            .map(|(i, _)| i)
            .collect();
        let next = keys.len();
        class_of.push(*keys.entry(key).or_insert(next));
    }
    (keys.len().max(1), class_of)
}

/// The arguments a primitive propagates derivatives through.
fn differentiable_args<'a>(
    rule: Option<&'static rules::Rule>,
    args: &'a [Operand],
) -> impl Iterator<Item = &'a Operand> {
    args.iter()
        .enumerate()
        .filter_map(move |(i, a)| match rule {
            Some(r)
                if r.shape != Shape::ZeroDerivative
                    && r.partials.get(i).is_some_and(Option::is_some) =>
            {
                Some(a)
            }
            _ => None,
        })
}

fn varied_block(act: &mut Activity, b: &Block) {
    varied_stmts(act, &b.stmts);
}

fn varied_stmts(act: &mut Activity, stmts: &[Stmt]) {
    for s in stmts {
        match s {
            Stmt::Let { outs, prim, .. } => {
                let m = match prim {
                    Prim::Copy(a) => act.of(a),
                    Prim::Apply { rule, args, .. } => {
                        differentiable_args(*rule, args).fold(0, |m, a| m | act.of(a))
                    }
                    Prim::Stop { site, arg, .. } => act.of(arg) & !act.site_mask[*site],
                    Prim::Index { base, .. } => act.varied[base.0],
                    Prim::ArrayFn { args, .. } => {
                        args.iter().fold(0, |m, (a, _)| m | act.varied[a.0])
                    }
                    Prim::Store { base, value, .. } => {
                        act.varied[base.0] |= act.of(value);
                        0
                    }
                    Prim::NewArray(new) => new.elems().into_iter().fold(0, |m, e| m | act.of(e)),
                    Prim::Call { .. } if act.quiet.contains(&outs[0]) => 0,
                    Prim::Call { args, .. } => args.iter().fold(0, |m, a| m | act.of(&a.value)),
                    Prim::Opaque(_) => 0,
                };
                // A call's second output holds its callee's gradients: constants.
                let outs = match prim {
                    Prim::Call { .. } => &outs[..1],
                    _ => &outs[..],
                };
                for o in outs {
                    if act.storage[o.0] {
                        act.varied[o.0] |= m;
                    } else {
                        act.varied[o.0] = m;
                    }
                }
            }
            Stmt::If(i) => {
                varied_block(act, &i.then_branch);
                varied_block(act, &i.else_branch);
                for (k, o) in i.outs.iter().enumerate() {
                    act.varied[o.0] =
                        act.of(&i.then_branch.yields[k]) | act.of(&i.else_branch.yields[k]);
                }
            }
            // A fixed point: what one iteration varies feeds the next.
            Stmt::Loop(l) => {
                for c in &l.carried {
                    act.varied[c.start.0] = act.of(&c.input);
                }
                loop {
                    if let Some((stmts, _)) = &l.cond {
                        varied_stmts(act, stmts);
                    }
                    varied_block(act, &l.body);
                    let mut changed = false;
                    for c in &l.carried {
                        let m = act.varied[c.start.0] | act.of(&c.end);
                        changed |= m != act.varied[c.start.0];
                        act.varied[c.start.0] = m;
                    }
                    if !changed {
                        break;
                    }
                }
                for c in &l.carried {
                    act.varied[c.out.0] = act.varied[c.start.0];
                }
            }
        }
    }
}

struct Check<'a> {
    f: &'a Function,
    act: &'a Activity,
    /// The classes in which each variable would reach the output if opaque
    /// code propagated derivatives.
    useful: Vec<Mask>,
    errors: &'a Errors,
}

impl Check<'_> {
    fn mark(&mut self, o: &Operand, m: Mask) {
        if let Some(v) = o.var() {
            self.useful[v.0] |= m;
        }
    }

    fn block(&mut self, b: &Block) {
        self.stmts(&b.stmts);
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts.iter().rev() {
            match s {
                Stmt::Let { outs, prim, .. } => {
                    let mut u = outs.iter().fold(0, |m, o| m | self.useful[o.0]);
                    match prim {
                        Prim::Copy(a) => self.mark(a, u),
                        Prim::Apply { rule, args, .. } => {
                            let args: Vec<Operand> =
                                differentiable_args(*rule, args).cloned().collect();
                            args.iter().for_each(|a| self.mark(a, u));
                        }
                        Prim::Stop { site, arg, .. } => {
                            self.mark(arg, u & !self.act.site_mask[*site])
                        }
                        Prim::Index { base, .. } => self.useful[base.0] |= u,
                        Prim::Store { base, value, .. } => {
                            let u = self.useful[base.0];
                            self.mark(value, u);
                        }
                        Prim::NewArray(new) => {
                            for e in new.elems() {
                                self.mark(e, u);
                            }
                        }
                        Prim::Call { args, .. } => {
                            for a in args {
                                self.mark(&a.value, u);
                            }
                        }
                        Prim::ArrayFn { args, .. } => {
                            for (a, _) in args {
                                self.useful[a.0] |= u;
                            }
                        }
                        Prim::Opaque(o) => {
                            u |= self.written_useful(o);
                            for (r, _) in &o.reads {
                                self.useful[r.0] |= u;
                            }
                        }
                    }
                }
                Stmt::If(i) => {
                    for (k, o) in i.outs.iter().enumerate() {
                        let u = self.useful[o.0];
                        self.mark(&i.then_branch.yields[k].clone(), u);
                        self.mark(&i.else_branch.yields[k].clone(), u);
                    }
                    self.block(&i.then_branch);
                    self.block(&i.else_branch);
                }
                // A fixed point, as for `varied`.
                Stmt::Loop(l) => {
                    loop {
                        let before = self.useful.clone();
                        for c in &l.carried {
                            let u = self.useful[c.out.0] | self.useful[c.start.0];
                            self.mark(&c.end.clone(), u);
                        }
                        self.block(&l.body);
                        if let Some((stmts, _)) = &l.cond {
                            self.stmts(stmts);
                        }
                        if self.useful == before {
                            break;
                        }
                    }
                    for c in &l.carried {
                        let u = self.useful[c.out.0] | self.useful[c.start.0];
                        self.mark(&c.input.clone(), u);
                    }
                }
            }
        }
    }

    /// The classes in which what opaque code writes reaches the output.
    fn written_useful(&self, o: &Opaque) -> Mask {
        let writes = o.writes.iter().fold(0, |m, w| m | self.useful[w.1 .0]);
        o.mutates.iter().fold(writes, |m, v| m | self.useful[v.0])
    }

    /// Every opaque statement, with what its outputs feed at the fixed point.
    fn report_opaque(&self) {
        walk(&self.f.body.stmts, &mut |s| {
            if let Stmt::Let {
                outs,
                prim: Prim::Opaque(o),
                ..
            } = s
            {
                let u = outs.iter().fold(0, |m, v| m | self.useful[v.0]);
                self.opaque(o, u | self.written_useful(o));
            }
        });
    }

    /// An error if a derivative would flow through opaque code.
    fn opaque(&self, o: &Opaque, useful: Mask) {
        if o.reported {
            return;
        }
        match &o.construct {
            // Wrong arity, or an operator floats do not have: rustc reports
            // these on the user's own function.
            Construct::Method(m) if rules::is_known_method(m) => return,
            Construct::Operator(_) => return,
            _ => {}
        }
        let Some((var, lanes)) = o
            .reads
            .iter()
            .map(|(r, name)| (name.as_str(), self.act.varied[r.0] & useful))
            .find(|(_, m)| *m != 0)
        else {
            return;
        };
        let wrt = self
            .act
            .class_of
            .iter()
            .position(|k| lanes & (1 << k) != 0)
            .map_or_else(String::new, |j| self.f.wrt[j].ident.to_string());
        let reads = if var == wrt {
            format!("it reads the differentiation variable `{wrt}`")
        } else {
            format!("it reads `{var}`, which depends on the differentiation variable `{wrt}`")
        };
        let hint = match &o.construct {
            Construct::Loop(_) => "loops over a range, `x.iter()` (with `enumerate`, `zip` or `rev`), `while` and `loop` are differentiated, but not `while let` or other iterators; rewrite it with an index, or wrap its result in `sg(..)` if it is a constant here".to_owned(),
            Construct::Method(m) => format!("sgrad has no derivative rule for the method `{m}` (the supported float methods are listed in `sgrad::rules`); if `{m}` is a `#[differentiable]` method, call it as `self.{m}(..)` or `Type::{m}(receiver, ..)`; if the value is a constant here, wrap it in `sg(..)`"),
            Construct::ClosureCall(_) => "a closure bound with `let` is inlined where it is called, unless its body has `return` or `?`, its parameters are patterns, or a name it reads is bound again before the call; write the computation inline (or as a `#[differentiable]` function), or wrap the value in `sg(..)` if it is a constant here".to_owned(),
            Construct::Function(name) if rules::is_runtime_function(name) => format!("the derivative rule of `sgrad::{name}` applies when it is called by that path: write `sgrad::{name}(..)`"),
            Construct::Function(name) => format!("derivatives flow into calls of `#[differentiable]` functions (through their `_pullback`), and of functions of the rule table, with arguments that are values or `&` references; `{name}` is neither, or takes a tuple or `&mut` argument: write its body inline, or wrap the call in `sg(..)` if it is a constant here"),
            Construct::OutParameter(name) => format!("derivatives do not flow through `&mut` arguments; make `{name}` return its result instead (a `#[differentiable]` function may return a `Vec<f64>` or an array: `let out = {name}(..);`), or wrap what it writes in `sg(..)` if it is a constant here"),
            Construct::TupleCall(name) => format!("a differentiated function returns one number, so `{name}`, which returns a tuple, cannot carry a derivative to its caller; split it into functions that each return one number, or wrap the call in `sg(..)` if it is a constant here"),
            Construct::IfLet => "rewrite it with `if`/`else` on a condition, or wrap the value in `sg(..)` if it is a constant here".to_owned(),
            Construct::Match => "match with patterns that bind nothing or name the whole value (`0 | 1 =>`, `Kind::A =>`, `v if v > 0.0 =>`) and read the parts inside the arm, or wrap the value in `sg(..)` if it is a constant here".to_owned(),
            Construct::Closure => "closures are not differentiated; write the computation inline, or wrap the value in `sg(..)` if it is a constant here".to_owned(),
            Construct::Macro(_) => "sgrad cannot see inside macros other than `sg_for!`; compute the value outside the macro, or wrap it in `sg(..)` if it is a constant here".to_owned(),
            _ => "sgrad cannot differentiate through it; write it with `let`, `if` and arithmetic, or wrap the value in `sg(..)` if it is a constant here".to_owned(),
        };
        let what = o.construct.describe();
        self.errors.push_spanned(
            &o.origin,
            format!("{what} cannot carry a derivative: {reads}; {hint}"),
        );
    }
}
