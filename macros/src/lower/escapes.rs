//! Syntax queries: where code leaves by `return`, `break` or `continue`.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit::Visit;
use syn::Expr;

use super::exprs::is_compound_assign;
use super::opaque::OpaqueNode;

/// Whether a loop body leaves in a way the structured loop does not model:
/// `return`, a labeled `break`/`continue`, or `break` with a value. Plain
/// `break` and `continue` of this loop are modelled (`Lower::exits`).
/// How a loop body may leave more than its iteration: `return`, `break` /
/// `continue` with labels of enclosing loops, `break` with a value.
#[derive(Default)]
pub(super) struct Escapes {
    pub(super) returns: bool,
    /// Labels of `break 'l` / `continue 'l` (and whether `continue`).
    pub(super) labeled: BTreeSet<(String, bool)>,
    /// Labels of loops inside the body: their `break`s stay inside.
    pub(super) inner_labels: BTreeSet<String>,
    /// `break v` of this loop (not inside a nested loop), and labels of `break 'l v`.
    pub(super) values_unlabeled: bool,
    pub(super) values_labeled: BTreeSet<String>,
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
        Expr::Binary(b) => is_compound_assign(&b.op),
        Expr::Tuple(t) => t.elems.is_empty(),
        Expr::Paren(p) => is_unit_expr(&p.expr),
        _ => false,
    }
}

/// Whether `e` holds a `break` or `continue` of the loop being lowered (not
/// of a loop nested in it).
pub(super) fn contains_exit(e: &Expr) -> bool {
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

// ----- syntax queries -----

/// Whether `e` contains a `return` of the function (not inside closures or items).
pub(super) fn contains_return(e: &Expr) -> bool {
    find_return(e).is_some()
}

/// A `break` or `continue` in `node` that leaves it (to a loop around it),
/// as the tokens to point at.
pub(super) fn find_escape<T: OpaqueNode + ?Sized>(node: &T) -> Option<TokenStream> {
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

pub(super) fn find_return<T: OpaqueNode + ?Sized>(node: &T) -> Option<syn::ExprReturn> {
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
