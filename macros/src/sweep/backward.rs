//! The backward sweep's walk: adjoints accumulated in reverse order, each
//! statement handed to the file of its construct.

use std::collections::{BTreeSet, HashMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::{defines, Backward};
use crate::activity::Activity;
use crate::ir::*;
use crate::names::{self, runtime};

/// The backward sweep of `f`: its code, one gradient expression per
/// differentiation variable, and what the forward sweep must save for it.
pub(super) fn emit(
    f: &Function,
    act: &Activity,
    recompute: bool,
) -> (
    TokenStream,
    Vec<TokenStream>,
    Vec<bool>,
    Saves,
    super::Fused,
) {
    let params: HashSet<VarId> = f.wrt.iter().map(|p| p.var).collect();
    let mut sweep = Backward {
        f,
        act,
        declared: HashSet::new(),
        referenced: BTreeSet::new(),
        saves: HashMap::new(),
        locals: Vec::new(),
        pending: BTreeSet::new(),
        pops: false,
        fusing: None,
        fused: HashMap::new(),
        carry: None,
        recompute,
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
                if f.vars[r.0].is_array() {
                    // `<name>_vjp`: the caller's cotangent is the result's adjoint.
                    let c = names::cotangent();
                    code.extend(quote!(let mut #adj = #rt::seed(&#ident, #c);));
                } else {
                    code.extend(quote!(let mut #adj = #rt::one_like(&#ident);));
                }
                sweep.declared.insert((r, k));
                sweep.referenced.insert(r);
            }
        }
    }
    code.extend(sweep.block(&f.body.stmts));

    let grad = |j: usize| {
        let p = &f.wrt[j];
        let k = act.class_of[j];
        sweep.declared.contains(&(p.var, k)).then(|| {
            let adj = sweep.adjoint(p.var, k);
            quote!(#adj)
        })
    };
    let users = f.wrt.len() - f.fields.len();
    // A variable with no adjoint, nor any of its fields: zero by construction.
    let zero = (0..users)
        .map(|j| {
            grad(j).is_none()
                && (f.fields.iter())
                    .filter(|field| field.owner == j)
                    .all(|field| grad(field.param).is_none())
        })
        .collect();
    let grads = (0..users)
        .map(|j| {
            let ident = &f.wrt[j].ident;
            // At the parameter: a struct that does not derive `Differentiable` is reported there.
            let (at, _, krate) = names::at_argument(ident, ident.span());
            let own = grad(j);
            let has_whole = own.is_some();
            let whole = own.unwrap_or_else(
                || quote::quote_spanned!(at=> ::#krate::__private::zero_gradient(&#ident)),
            );
            // A parameter struct: its fields' adjoints added in place.
            let fields: Vec<TokenStream> = (f.fields.iter().filter(|field| field.owner == j))
                .filter_map(|field| {
                    let adj = grad(field.param)?;
                    let members = &field.members;
                    // Moved in, unless calls gave the struct a gradient already,
                    // or another field read is part of this one or contains it
                    // (`net.layer` and `net.layer.w`).
                    // (Compared without spaces: the compiler prints tokens
                    // differently from `proc_macro2`'s fallback.)
                    let flat = |t: &TokenStream| t.to_string().replace(' ', "");
                    let path = flat(members);
                    let inside = |a: &str, b: &str| {
                        a.strip_prefix(b).is_some_and(|rest| rest.starts_with('.'))
                    };
                    let overlaps = f.fields.iter().any(|other| {
                        let o = flat(&other.members);
                        other.owner == j && (inside(&o, &path) || inside(&path, &o))
                    });
                    Some(if overlaps || has_whole {
                        quote!(#rt::add_to(&mut __ad_grad #members, #adj);)
                    } else {
                        quote!(__ad_grad #members = #adj;)
                    })
                })
                .collect();
            if fields.is_empty() {
                whole
            } else {
                quote!({ let mut __ad_grad = #whole; #(#fields)* __ad_grad })
            }
        })
        .collect();
    (code, grads, zero, sweep.saves, sweep.fused)
}

impl Backward<'_> {
    pub(super) fn adjoint(&self, v: VarId, class: usize) -> Ident {
        let stem = &self.f.vars[v.0].stem;
        if let Some(fusing) = self.fusing.as_ref().filter(|f| !f.inside.contains(&v)) {
            fusing.touched.borrow_mut().insert((v, class));
            return names::buffer(stem, class, self.act.classes, fusing.loop_no);
        }
        names::adjoint(stem, class, self.act.classes)
    }

    pub(super) fn block(&mut self, stmts: &[Stmt]) -> TokenStream {
        stmts.iter().rev().map(|s| self.stmt(s)).collect()
    }

    /// `a̅ += contribution`, declaring `a̅` if this is its first contribution.
    pub(super) fn accumulate(
        &mut self,
        a: VarId,
        k: usize,
        contribution: TokenStream,
    ) -> TokenStream {
        if let Some((root, path)) = self.f.vars[a.0].view.clone() {
            // A row: its adjoint is part of the whole array's.
            let ndarray = self.f.vars[root.0].ndarray;
            let path = self.place(root, &path);
            let rt = runtime();
            return self.accumulate_array(root, k, |adj| {
                if ndarray {
                    // `adj.row_mut(i)`: a view, added to element by element.
                    quote!(#rt::ndarray::add_to_view(#adj #path, #contribution);)
                } else {
                    quote!(#rt::add_to(&mut #adj #path, #contribution);)
                }
            });
        }
        let adj = self.adjoint(a, k);
        let add = if self.f.vars[a.0].is_array() || self.f.vars[a.0].whole {
            // Arrays have no `+=`; the runtime adds element by element.
            let rt = runtime();
            quote!(#rt::add_to(&mut #adj, #contribution);)
        } else {
            quote!(#adj += #contribution;)
        };
        self.declare_or_add(a, k, contribution, add)
    }

    /// `add` (a statement adding to `a̅`), or `let mut a̅ = contribution;` if
    /// this is the first contribution to a value of this block.
    pub(super) fn declare_or_add(
        &mut self,
        a: VarId,
        k: usize,
        contribution: TokenStream,
        add: TokenStream,
    ) -> TokenStream {
        let adj = self.adjoint(a, k);
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
    pub(super) fn accumulate_array(
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
    pub(super) fn indices(&mut self, index: &[Operand]) -> TokenStream {
        index
            .iter()
            .map(|i| {
                let i = self.operand(i);
                quote!([#i])
            })
            .collect()
    }

    /// The indices after the adjoint of the array `base`: `[i][j]..` (see
    /// `print::index_tokens`; a row of an `ndarray` adjoint is `.row_mut(i)`).
    pub(super) fn place(&mut self, base: VarId, index: &[Operand]) -> TokenStream {
        let index: Vec<TokenStream> = index.iter().map(|i| self.operand(i)).collect();
        crate::ir::print::index_tokens(&self.f.vars[base.0], &index, true, Span::call_site())
    }

    pub(super) fn is_local(&self, a: VarId) -> bool {
        self.locals.last().is_some_and(|l| l.contains(&a))
    }

    pub(super) fn stmt(&mut self, s: &Stmt) -> TokenStream {
        match s {
            Stmt::Let { outs, prim, .. } => self.let_stmt(outs, prim),
            Stmt::If(i) => self.if_stmt(i),
            Stmt::Loop(l) => self.loop_stmt(l),
        }
    }

    /// Every primitive is listed: a new one does not compile until its
    /// adjoint is written.
    pub(super) fn let_stmt(&mut self, outs: &[VarId], prim: &Prim) -> TokenStream {
        match prim {
            Prim::Copy(a) => self.per_class(outs, |s, k, g| s.copy(a, k, g)),
            Prim::Apply { rule, args, .. } => {
                let Some(rule) = rule else {
                    // An operator without a rule: its value carries no derivative.
                    return TokenStream::new();
                };
                self.per_class(outs, |s, k, g| s.apply(rule, args, outs[0], k, g))
            }
            Prim::Stop { site, arg, .. } => {
                self.per_class(outs, |s, k, g| s.stop(*site, arg, k, g))
            }
            Prim::Index { base, index, .. } => {
                self.per_class(outs, |s, k, g| s.index(*base, index, outs[0], k, g))
            }
            Prim::Store {
                base, index, value, ..
            } => self.store(*base, index, value),
            Prim::NewArray(new) => self.per_class(outs, |s, k, g| s.new_array(new, k, g)),
            Prim::ArrayFn { name, args, .. } => {
                self.per_class(outs, |s, k, g| s.array_fn(name, args, outs[0], k, g))
            }
            Prim::Call { callee, args } => self.call(outs[0], outs[1], callee, args),
            // No derivative flows through it (activity analysis rejects
            // opaque code where one would).
            Prim::Opaque(_) => TokenStream::new(),
        }
    }

    /// `pull(k, o̅)` for each class in which the one output `o` has an adjoint.
    pub(super) fn per_class(
        &mut self,
        outs: &[VarId],
        mut pull: impl FnMut(&mut Self, usize, &Ident) -> TokenStream,
    ) -> TokenStream {
        let [o] = outs[..] else {
            return TokenStream::new();
        };
        let mut code = TokenStream::new();
        for k in 0..self.act.classes {
            if self.declared.contains(&(o, k)) {
                let g = self.adjoint(o, k);
                code.extend(pull(self, k, &g));
            }
        }
        code
    }

    pub(super) fn operand(&mut self, o: &Operand) -> TokenStream {
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

    /// An operand as the forward sweep prints it (a reference stays one),
    /// recorded as read like `operand`.
    pub(super) fn operand_as_written(&mut self, o: &Operand) -> TokenStream {
        if let Operand::Var(v) = o {
            self.referenced.insert(*v);
            let ident = self.f.ident(*v);
            return quote!(#ident);
        }
        self.operand(o)
    }
}
