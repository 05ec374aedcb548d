//! `match` whose arms bind no names, rewritten as the `if` chain it stands
//! for (syn to syn) and lowered as one; the arm taken is replayed like an
//! `if`'s branch:
//!
//! ```text
//! match a { 0 | 1 => x, n if .. => .., _ => y }
//! { let s = &(a); if matches!(*s, 0 | 1) { x } else if .. { .. } else { y } }
//! ```
//!
//! The scrutinee is evaluated once and borrowed, so matching a field does
//! not move it. The last arm without a guard is the `else` (rustc checks
//! that the `match` is exhaustive on the user's own function). An arm may
//! name the whole value (`v if v < 0.1 =>`); arms that bind parts of it
//! (`Some(v) =>`) are left to the opaque path.

use proc_macro2::Span;
use syn::{Expr, ExprMatch, Ident, Pat};

use super::as_tail;

/// The `if` chain a `match` stands for, or `None` if an arm binds names
/// other than the whole value (`v if v < 0.0 =>`).
pub(super) fn match_as_if(m: &ExprMatch) -> Option<Expr> {
    let s = Ident::new("__sgrad_scrutinee", Span::mixed_site());
    let scrutinee = &m.expr;
    // A scrutinee without calls is read again by each test (so the chain
    // is a plain `if` statement, and `break` in an arm leaves the loop
    // around it); one with calls is evaluated once and borrowed.
    let pure = is_pure(scrutinee);
    let place: Expr = if pure {
        try_parse!((#scrutinee))?
    } else {
        try_parse!(*#s)?
    };
    // A name for the whole value reads it again: a copy that keeps its
    // derivative where the scrutinee has no calls.
    let whole = &place;
    let arms: Vec<(Option<&Pat>, Option<&Ident>)> = m
        .arms
        .iter()
        .map(|a| match &a.pat {
            Pat::Ident(i)
                if i.subpat.is_none()
                    && i.by_ref.is_none()
                    && !i.ident.to_string().starts_with(char::is_uppercase) =>
            {
                Some((None, Some(&i.ident)))
            }
            p if binds_nothing(p) => Some((Some(p), None)),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if arms.is_empty() {
        return None;
    }
    let last = arms.len() - 1;
    // Built from the last arm back: each arm's `if` has the rest as `else`.
    let mut chain: Option<Expr> = None;
    for (i, (arm, &(pat, name))) in m.arms.iter().zip(&arms).enumerate().rev() {
        let bind: Option<syn::Stmt> = match name {
            Some(v) => Some(try_parse!(let #v = #whole;)?),
            None => None,
        };
        let body = as_tail(&arm.body);
        let body: Expr = try_parse!({ #bind #body })?;
        let matched: Option<Expr> = match pat {
            Some(p) => Some(try_parse!(matches!(#place, #p))?),
            None => None,
        };
        let test: Expr = match (&arm.guard, matched) {
            (Some((_, guard)), Some(matched)) => try_parse!(#matched && (#guard))?,
            (Some((_, guard)), None) => try_parse!({ #bind (#guard) })?,
            (None, Some(matched)) if i != last => matched,
            // An arm that always matches: what comes after it is unreachable.
            (None, _) => {
                chain = Some(body);
                continue;
            }
        };
        let rest: Expr = match chain.take() {
            Some(rest) => rest,
            // A guarded last arm: exhaustiveness means it always matches.
            None => try_parse!({ ::core::unreachable!() })?,
        };
        chain = Some(try_parse!(if #test #body else #rest)?);
    }
    let chain = chain?;
    if pure {
        return Some(chain);
    }
    try_parse!({
        let #s = &(#scrutinee);
        #chain
    })
}

/// Paths, fields, literals, and unary, binary, cast and index operators on
/// them: cheap to read again, with no effects.
fn is_pure(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Field(f) => is_pure(&f.base),
        Expr::Paren(p) => is_pure(&p.expr),
        Expr::Unary(u) => is_pure(&u.expr),
        Expr::Binary(b) => is_pure(&b.left) && is_pure(&b.right),
        Expr::Cast(c) => is_pure(&c.expr),
        Expr::Index(i) => is_pure(&i.expr) && is_pure(&i.index),
        Expr::Tuple(t) => t.elems.iter().all(is_pure),
        Expr::Reference(r) => r.mutability.is_none() && is_pure(&r.expr),
        _ => false,
    }
}

/// Whether a pattern binds no names: literals, ranges, paths and unit
/// variants (`Kind::A`, `None`, a `CONST`), `_`, and tuples, alternatives
/// and variants of those. A lower-case name binds.
fn binds_nothing(p: &Pat) -> bool {
    match p {
        Pat::Lit(_) | Pat::Range(_) | Pat::Path(_) | Pat::Wild(_) | Pat::Rest(_) => true,
        Pat::Ident(i) => {
            i.subpat.is_none()
                && i.by_ref.is_none()
                && i.mutability.is_none()
                && i.ident.to_string().starts_with(char::is_uppercase)
        }
        Pat::Or(o) => o.cases.iter().all(binds_nothing),
        Pat::Tuple(t) => t.elems.iter().all(binds_nothing),
        Pat::TupleStruct(t) => t.elems.iter().all(binds_nothing),
        Pat::Struct(s) => s.fields.iter().all(|f| binds_nothing(&f.pat)),
        Pat::Reference(r) => binds_nothing(&r.pat),
        Pat::Paren(p) => binds_nothing(&p.pat),
        _ => false,
    }
}
