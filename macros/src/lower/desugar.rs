//! Rewrites of the body before lowering, syn to syn: each construct becomes
//! the plainer code it stands for, which the lowering already
//! differentiates (and whose `break`, `continue` and `return` it already
//! handles):
//!
//! * `match` whose arms bind no part of the value → an `if` chain
//!   (`matches.rs`);
//! * a closure bound with `let` and called in the same block → its body at
//!   each call (`inline_closures` here).

use std::collections::BTreeSet;

use proc_macro2::Span;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprClosure, Ident, Pat, Stmt};

use super::matches::match_as_if;

/// The body with every rewrite applied.
pub(super) fn desugar_block(b: &syn::Block) -> syn::Block {
    let mut b = b.clone();
    Desugar.visit_block_mut(&mut b);
    b
}

/// [`desugar_block`] for a closure's expression body.
pub(super) fn desugar_expr(e: &Expr) -> Expr {
    let mut e = e.clone();
    Desugar.visit_expr_mut(&mut e);
    e
}

struct Desugar;

impl VisitMut for Desugar {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        // Inlined first, so that the copies are rewritten too.
        inline_closures(&mut b.stmts);
        visit_mut::visit_block_mut(self, b);
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        if let Expr::Match(m) = e {
            if let Some(chain) = match_as_if(m) {
                *e = chain;
            }
        }
    }

    // Nested items and closures are the user's own code, passed through.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    fn visit_expr_closure_mut(&mut self, _: &mut ExprClosure) {}
}

/// `let f = |a, b| body;` and later `f(x, y)` in the same block: each call
/// becomes `{ let t0 = x; let t1 = y; let a = t0; let b = t1; body }`. Not
/// when the body may leave the closure (`return`, `?`), or when a later
/// statement binds `f` or a name the body reads again (the call would then
/// see another variable than the closure captured).
fn inline_closures(stmts: &mut [Stmt]) {
    for i in 0..stmts.len() {
        let Some((name, closure)) = let_closure(&stmts[i]) else {
            continue;
        };
        let params: Option<Vec<(Ident, Option<syn::Type>)>> = closure
            .inputs
            .iter()
            .map(|p| match p {
                Pat::Ident(x) if x.subpat.is_none() && x.by_ref.is_none() => {
                    Some((x.ident.clone(), None))
                }
                Pat::Type(t) => match &*t.pat {
                    Pat::Ident(x) if x.subpat.is_none() && x.by_ref.is_none() => {
                        Some((x.ident.clone(), Some((*t.ty).clone())))
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let Some(params) = params else { continue };
        if leaves(&closure.body) {
            continue;
        }
        // The names the body reads from outside it.
        let mut names = Names::default();
        names.visit_expr(&closure.body);
        let mut watched: BTreeSet<String> = names
            .read
            .difference(&names.bound)
            .filter(|n| params.iter().all(|(p, _)| p != *n))
            .cloned()
            .collect();
        watched.insert(name.to_string());
        let mut later = Names::default();
        stmts[i + 1..].iter().for_each(|s| later.visit_stmt(s));
        if later.bound.iter().any(|b| watched.contains(b)) {
            continue;
        }
        let mut calls = Calls {
            name: &name,
            params: &params,
            body: &closure.body,
        };
        stmts[i + 1..]
            .iter_mut()
            .for_each(|s| calls.visit_stmt_mut(s));
    }
}

/// `let f = |..| ..;`: the name and the closure.
fn let_closure(s: &Stmt) -> Option<(Ident, ExprClosure)> {
    let Stmt::Local(l) = s else { return None };
    let Pat::Ident(p) = &l.pat else { return None };
    let init = l.init.as_ref().filter(|i| i.diverge.is_none())?;
    match &*init.expr {
        Expr::Closure(c) if c.asyncness.is_none() => Some((p.ident.clone(), c.clone())),
        _ => None,
    }
}

/// Whether an expression may leave the closure it is the body of.
fn leaves(e: &Expr) -> bool {
    struct Leaves(bool);
    impl Visit<'_> for Leaves {
        fn visit_expr(&mut self, e: &Expr) {
            self.0 |= matches!(e, Expr::Return(_) | Expr::Try(_));
            visit::visit_expr(self, e);
        }
        fn visit_expr_closure(&mut self, _: &ExprClosure) {}
        fn visit_item(&mut self, _: &syn::Item) {}
    }
    let mut v = Leaves(false);
    v.visit_expr(e);
    v.0
}

/// The one-segment names an expression reads, and those its patterns bind.
#[derive(Default)]
struct Names {
    read: BTreeSet<String>,
    bound: BTreeSet<String>,
}

impl Visit<'_> for Names {
    fn visit_expr_path(&mut self, p: &syn::ExprPath) {
        if let Some(i) = p.path.get_ident() {
            self.read.insert(i.to_string());
        }
    }
    fn visit_pat_ident(&mut self, p: &syn::PatIdent) {
        self.bound.insert(p.ident.to_string());
        visit::visit_pat_ident(self, p);
    }
    fn visit_macro(&mut self, m: &syn::Macro) {
        // Names inside a macro's tokens count as read.
        for t in m.tokens.clone() {
            if let proc_macro2::TokenTree::Ident(i) = t {
                self.read.insert(i.to_string());
            }
        }
    }
}

/// Replaces the calls of one closure by its body.
struct Calls<'a> {
    name: &'a Ident,
    params: &'a [(Ident, Option<syn::Type>)],
    body: &'a Expr,
}

impl VisitMut for Calls<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        let Expr::Call(c) = e else { return };
        let Expr::Path(f) = &*c.func else { return };
        if !f.path.is_ident(self.name) || c.args.len() != self.params.len() {
            return;
        }
        // The arguments first, in order, then the parameters (an argument
        // may name a parameter: `f(b, a)` with `|a, b|`).
        let temps: Vec<Ident> = (0..self.params.len())
            .map(|k| Ident::new(&format!("__sgrad_arg{k}"), Span::mixed_site()))
            .collect();
        let args = c.args.iter();
        let binds = self.params.iter().zip(&temps).map(|((p, ty), t)| match ty {
            Some(ty) => quote::quote!(let #p: #ty = #t;),
            None => quote::quote!(let #p = #t;),
        });
        let body = super::as_tail(self.body);
        if let Some(inlined) = try_parse!({
            #(let #temps = #args;)*
            #(#binds)*
            #body
        }) {
            *e = inlined;
        }
    }

    // Calls inside other closures (`|v| act(*v)`) are inlined too: they see
    // the same captured values.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
