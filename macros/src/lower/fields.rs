//! Parameter structs (`#[derive(Differentiable)]`): each field the body
//! reads becomes a differentiation variable of its own, syn to syn, before
//! lowering.
//!
//! ```text
//! #[differentiable(net)]                     the body is lowered as if it read
//! fn loss(net: &Mlp, x: f64) -> f64 {        two more parameters:
//!     net.w[0] * x + net.b                       __ad_f_net_w[0] * x + __ad_f_net_b
//! }                                          (`let __ad_f_net_w = &net.w;` first)
//! ```
//!
//! The macro cannot see the struct's definition, so each field's rank (how
//! many indexings reach a float) is read off how the body uses it: the
//! deepest indexing of it, through `let row = &net.w[j];` and `for row in
//! net.w.iter()` too; `&net.w[j]` is taken for a row. A field never
//! indexed is a number if it is only
//! computed with, and an opaque whole (`whole`: a nested struct, or an array
//! only passed to other functions) if it is borrowed or has methods called.
//! A guess too low makes generated code that rustc rejects (a row read as a
//! number does not type-check); an element taken for a row (`&net.b[i]`) is
//! read through a view of it, with the same derivative
//! (`tests/fd_structs.rs`, `element_by_reference_keeps_its_derivative`).
//!
//! The gradient of the struct is assembled after the backward sweep from
//! the fields' adjoints (`sweep/backward.rs`), on top of what calls that
//! take the whole struct gave it.

use std::collections::HashMap;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Member};

use crate::errors::Errors;
use crate::symbol::SG_FOR;

/// A field of a parameter struct that the body reads.
pub struct FieldRoot {
    /// The struct's index among the differentiation variables.
    pub owner: usize,
    /// The field as the user wrote it, `net.w` or `self.layer.b`.
    pub access: TokenStream,
    /// The part after the struct: `.w`, `.layer.b`.
    pub members: TokenStream,
    /// What the body reads instead.
    pub ident: Ident,
    pub rank: usize,
    pub whole: bool,
}

/// Rewrites the field accesses of the structs among the differentiation
/// variables (`owners`: index, name) in `body`, and returns the fields found.
pub fn split_fields(
    owners: &[(usize, Ident)],
    block: Option<&mut syn::Block>,
    expr: Option<&mut Expr>,
    errors: &Errors,
) -> Vec<FieldRoot> {
    let mut split = Split {
        owners,
        roots: Vec::new(),
        errors,
    };
    if let Some(b) = block {
        split.visit_block_mut(b);
    }
    if let Some(e) = expr {
        split.visit_expr_mut(e);
    }
    split.roots
}

struct Split<'a> {
    owners: &'a [(usize, Ident)],
    roots: Vec<FieldRoot>,
    errors: &'a Errors,
}

impl Split<'_> {
    /// `net.a.b` → (owner, [a, b]) if `net` is a struct variable.
    fn chain<'e>(&self, e: &'e Expr) -> Option<(usize, &'e Ident, Vec<&'e Member>)> {
        match e {
            Expr::Field(f) => {
                let (owner, base, mut path) = match &*f.base {
                    Expr::Path(p) if p.qself.is_none() => {
                        let ident = p.path.get_ident()?;
                        let (owner, _) = self.owners.iter().find(|(_, o)| o == ident)?;
                        (*owner, ident, Vec::new())
                    }
                    inner => self.chain(inner)?,
                };
                path.push(&f.member);
                Some((owner, base, path))
            }
            Expr::Paren(p) => self.chain(&p.expr),
            _ => None,
        }
    }

    fn root(&mut self, owner: usize, base: &Ident, path: &[&Member]) -> Ident {
        let members = quote!(#(. #path)*);
        let access = quote!(#base #members);
        let key = access.to_string();
        if let Some(r) = self.roots.iter().find(|r| r.access.to_string() == key) {
            return r.ident.clone();
        }
        let stem: Vec<String> = std::iter::once(base.to_string())
            .chain(path.iter().map(|m| match m {
                Member::Named(i) => i.to_string(),
                Member::Unnamed(i) => i.index.to_string(),
            }))
            .collect();
        let ident = Ident::new(&format!("__ad_f_{}", stem.join("_")), Span::mixed_site());
        self.roots.push(FieldRoot {
            owner,
            access,
            members,
            ident: ident.clone(),
            rank: 0,
            whole: false,
        });
        ident
    }
}

impl VisitMut for Split<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let Some((owner, base, path)) = self.chain(e) {
            let (base, path): (Ident, Vec<Member>) =
                (base.clone(), path.into_iter().cloned().collect());
            let ident = self.root(owner, &base, &path.iter().collect::<Vec<_>>());
            *e = syn::parse_quote!(#ident);
            return;
        }
        if let Expr::Macro(m) = e {
            self.rewrite_macro(&mut m.mac);
            return;
        }
        visit_mut::visit_expr_mut(self, e);
    }

    fn visit_stmt_macro_mut(&mut self, m: &mut syn::StmtMacro) {
        self.rewrite_macro(&mut m.mac);
    }

    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        if self.owners.iter().any(|(_, o)| *o == p.ident) {
            self.errors.push_spanned(
                &p.ident,
                format!(
                    "`{}` is a differentiation variable whose fields this function reads; binding the name again would hide it, so choose another name",
                    p.ident
                ),
            );
        }
        visit_mut::visit_pat_ident_mut(self, p);
    }

    // Nested items are the user's own code, passed through.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

impl Split<'_> {
    /// The expressions inside `sg_for!` and `vec!`, whose tokens the
    /// lowering parses later.
    fn rewrite_macro(&mut self, mac: &mut syn::Macro) {
        let name = super::exprs::macro_name(&mac.path);
        if name == SG_FOR {
            if let Ok(mut parsed) = mac.parse_body_with(super::calls::parse_sg_for) {
                self.visit_expr_mut(&mut parsed.expr);
                let (names, expr) = (&parsed.names, &parsed.expr);
                mac.tokens = quote!([#(#names),*], #expr);
            }
        } else if name == "vec" {
            let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
            if let Ok(mut list) = mac.parse_body_with(parser) {
                list.iter_mut().for_each(|e| self.visit_expr_mut(e));
                mac.tokens = list.to_token_stream();
            } else if let Ok(mut rep) = mac.parse_body::<Repeat>() {
                self.visit_expr_mut(&mut rep.0);
                self.visit_expr_mut(&mut rep.1);
                let (e, n) = (&rep.0, &rep.1);
                mac.tokens = quote!(#e; #n);
            }
        }
    }
}

/// `vec![e; n]`'s body.
struct Repeat(Expr, Expr);

impl syn::parse::Parse for Repeat {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let e = input.parse()?;
        input.parse::<syn::Token![;]>()?;
        Ok(Repeat(e, input.parse()?))
    }
}

/// Sets each field's rank from how `body` (already rewritten) uses it.
pub fn infer_ranks(roots: &mut [FieldRoot], block: Option<&syn::Block>, expr: Option<&Expr>) {
    let mut ranks = Ranks {
        names: roots
            .iter()
            .enumerate()
            .map(|(i, r)| (r.ident.to_string(), (i, 0)))
            .collect(),
        depth: vec![0; roots.len()],
        borrowed: vec![false; roots.len()],
    };
    if let Some(b) = block {
        ranks.visit_block(b);
    }
    if let Some(e) = expr {
        ranks.visit_expr(e);
    }
    for (i, r) in roots.iter_mut().enumerate() {
        r.rank = ranks.depth[i];
        r.whole = r.rank == 0 && ranks.borrowed[i];
    }
}

struct Ranks {
    /// Each field's stand-in, and names bound to parts of one (`let row =
    /// &net.w[j]`): the field and how many indexings reach the part.
    names: HashMap<String, (usize, usize)>,
    depth: Vec<usize>,
    borrowed: Vec<bool>,
}

impl Ranks {
    /// `field[i]..[j]` (or a name bound to part of it): the field and depth.
    fn place(&self, e: &Expr) -> Option<(usize, usize)> {
        match e {
            Expr::Paren(p) => self.place(&p.expr),
            Expr::Reference(r) => self.place(&r.expr),
            Expr::Index(ix) if !matches!(&*ix.index, Expr::Range(_)) => {
                let (r, d) = self.place(&ix.expr)?;
                Some((r, d + 1))
            }
            Expr::Index(ix) => self.place(&ix.expr),
            Expr::Path(p) if p.qself.is_none() => {
                self.names.get(&p.path.get_ident()?.to_string()).copied()
            }
            _ => None,
        }
    }

    /// What a `for` walks: `field[..]`, `&field[..]`, `field[..].iter()`
    /// (`.copied()`, `.enumerate()` ..): the field and the depth of one item.
    fn items(&self, e: &Expr) -> Option<(usize, usize)> {
        match e {
            Expr::MethodCall(m) if ITEM_METHODS.contains(&m.method.to_string().as_str()) => {
                match m.method.to_string().as_str() {
                    "iter" | "into_iter" | "iter_mut" => {
                        let (r, d) = self.place(&m.receiver)?;
                        Some((r, d + 1))
                    }
                    _ => self.items(&m.receiver),
                }
            }
            e => {
                let (r, d) = self.place(e)?;
                Some((r, d + 1))
            }
        }
    }

    fn observe(&mut self, (r, d): (usize, usize)) {
        self.depth[r] = self.depth[r].max(d);
    }

    /// Binds the names `pat` gives to the items of `(r, d)`: the pattern
    /// itself, or the last part of `(i, row)` from `enumerate`.
    fn bind(&mut self, pat: &syn::Pat, at: (usize, usize)) {
        match pat {
            syn::Pat::Ident(p) => {
                self.names.insert(p.ident.to_string(), at);
            }
            syn::Pat::Reference(r) => self.bind(&r.pat, at),
            syn::Pat::Type(t) => self.bind(&t.pat, at),
            syn::Pat::Tuple(t) if t.elems.len() == 2 => self.bind(&t.elems[1], at),
            _ => {}
        }
    }
}

/// Adaptors that keep the items of what they are called on.
const ITEM_METHODS: &[&str] = &[
    "iter",
    "into_iter",
    "iter_mut",
    "copied",
    "cloned",
    "enumerate",
    "rev",
    "skip",
    "take",
    "step_by",
];

impl<'ast> Visit<'ast> for Ranks {
    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            Expr::Index(_) => {
                if let Some(at) = self.place(e) {
                    self.observe(at);
                }
            }
            Expr::Reference(r) => match self.place(&r.expr) {
                Some((f, 0)) => self.borrowed[f] = true,
                // `&net.w[j]`: a row (`dot(&net.w[j], x)`), so at least one
                // indexing deeper reaches a number.
                Some((f, d)) if matches!(&*r.expr, Expr::Index(_)) => self.observe((f, d + 1)),
                _ => {}
            },
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                if let Some((f, d)) = self.place(&m.receiver) {
                    if method == "iter" || method == "into_iter" {
                        self.observe((f, d + 1));
                    } else if d == 0 && !crate::rules::is_known_method(&method) {
                        self.borrowed[f] = true;
                    }
                }
            }
            _ => {}
        }
        visit::visit_expr(self, e);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        visit::visit_local(self, l);
        let at = l.init.as_ref().and_then(|init| self.place(&init.expr));
        match at {
            Some(at) => self.bind(&l.pat, at),
            // The name now holds something else.
            None => {
                if let syn::Pat::Ident(p) = &l.pat {
                    self.names.remove(&p.ident.to_string());
                }
            }
        }
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        if let Some(at) = self.items(&f.expr) {
            self.observe(at);
            self.bind(&f.pat, at);
        }
        self.visit_block(&f.body);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}
