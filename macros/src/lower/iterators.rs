//! Iterator chains over arrays (`w.iter().zip(x).map(|(a, b)| a * b).sum()`),
//! rewritten as the `for` loop they stand for and lowered as that loop:
//!
//! ```text
//! SRC.map(|p| e).sum()          { let mut acc = -0.0; for p in SRC { acc = acc + e; } acc }
//! SRC.map(|p| e).product()      { let mut acc = 1.0;  for p in SRC { acc = acc * e; } acc }
//! SRC.fold(init, |a, p| e)      { let mut acc = init; for p in SRC { let a = acc; acc = e; } acc }
//! SRC.map(|p| e).collect()      { let mut acc = Vec::new(); for p in SRC { acc.push(e); } acc }
//! ```
//!
//! `SRC` is what a `for` loop walks (`x.iter()`, `&x`, `.enumerate()`,
//! `.zip(..)`, `.rev()`, a range); `.copied()` / `.cloned()` after `iter()`
//! bind elements by value. Several `map`s bind one after the other. The sum
//! starts at `-0.0`, as `Iterator::sum` on floats does, so the value is the
//! same bit for bit.

use proc_macro2::Span;
use syn::{Expr, ExprClosure, ExprMethodCall, Ident, Pat};

/// The loop a chain stands for, or `None` if `e` is not such a chain (it is
/// then passed through as written).
pub(super) fn chain_as_loop(e: &ExprMethodCall) -> Option<Expr> {
    let acc = Ident::new("__sgrad_acc", Span::mixed_site());
    let method = e.method.to_string();
    // The stages between the source and the final call, outermost first.
    let (init, fold, source): (Expr, Option<&ExprClosure>, &Expr) = match method.as_str() {
        "sum" if e.args.is_empty() && float_turbofish(e) => (try_parse!(-0.0)?, None, &e.receiver),
        "product" if e.args.is_empty() && float_turbofish(e) => {
            (try_parse!(1.0)?, None, &e.receiver)
        }
        "fold" if e.args.len() == 2 => {
            let Expr::Closure(c) = &e.args[1] else {
                return None;
            };
            (e.args[0].clone(), Some(c), &e.receiver)
        }
        "collect" if e.args.is_empty() => (try_parse!(::std::vec::Vec::new())?, None, &e.receiver),
        _ => return None,
    };
    let mut maps: Vec<&ExprClosure> = Vec::new();
    let mut src = source;
    while let Expr::MethodCall(m) = src {
        if m.method != "map" || m.args.len() != 1 {
            break;
        }
        let Expr::Closure(c) = &m.args[0] else {
            return None;
        };
        if c.inputs.len() != 1 {
            return None;
        }
        maps.push(c);
        src = &m.receiver;
    }
    maps.reverse();
    // `.copied()` / `.cloned()`: the elements by value (`&v` patterns).
    let (src, by_value) = match src {
        Expr::MethodCall(m)
            if (m.method == "copied" || m.method == "cloned") && m.args.is_empty() =>
        {
            (&*m.receiver, true)
        }
        src => (src, false),
    };
    if !walks_an_array_or_range(src) {
        return None;
    }
    // The element's pattern: the first closure's, or a name.
    let element = Ident::new("__sgrad_item", Span::mixed_site());
    let (first_pat, rest): (Pat, &[&ExprClosure]) = match maps.split_first() {
        Some((c, rest)) => (strip_type(&c.inputs[0]), rest),
        None => (syn::parse_quote!(#element), &[]),
    };
    let loop_pat: Pat = if by_value {
        // (A closure's parameter is a single pattern: `&` before it parses.)
        syn::parse_quote!(&#first_pat)
    } else {
        first_pat
    };
    let mut body: Vec<syn::Stmt> = Vec::new();
    let mut value: Expr = match maps.first() {
        Some(c) => (*c.body).clone(),
        None => try_parse!(#element)?,
    };
    for (i, c) in rest.iter().enumerate() {
        let step = Ident::new(&format!("__sgrad_map{i}"), Span::mixed_site());
        let pat = strip_type(&c.inputs[0]);
        body.push(try_parse!(let #step = #value;)?);
        body.push(try_parse!(let #pat = #step;)?);
        value = (*c.body).clone();
    }
    match (method.as_str(), fold) {
        // Parenthesised: the closure's body is one term (`acc + (a * b + c)`).
        ("sum", _) => body.push(try_parse!(#acc = #acc + (#value);)?),
        ("product", _) => body.push(try_parse!(#acc = #acc * (#value);)?),
        ("collect", _) => body.push(try_parse!(#acc.push(#value);)?),
        (_, Some(c)) => {
            let [a, p] = [&c.inputs[0], &c.inputs[1]].map(strip_type);
            let fold_body = &c.body;
            body.push(try_parse!(let #a = #acc;)?);
            body.push(try_parse!(let #p = #value;)?);
            body.push(try_parse!(#acc = #fold_body;)?);
        }
        _ => return None,
    }
    try_parse!({
        let mut #acc = #init;
        for #loop_pat in #src {
            #(#body)*
        }
        #acc
    })
}

/// `sum()` / `sum::<f64>()`: no turbofish, or a float one (an integer sum
/// carries no derivative and is left as written).
fn float_turbofish(e: &ExprMethodCall) -> bool {
    e.turbofish.as_ref().is_none_or(|t| {
        t.args.len() == 1
            && matches!(&t.args[0], syn::GenericArgument::Type(syn::Type::Path(p))
                if p.path.is_ident("f64") || p.path.is_ident("f32"))
    })
}

/// Whether a chain starts from `x.iter()`, `&x` or a range (maybe with
/// `enumerate`, `zip`, `rev`): what a `for` loop walks.
fn walks_an_array_or_range(e: &Expr) -> bool {
    match e {
        Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => true,
        Expr::MethodCall(m)
            if matches!(m.method.to_string().as_str(), "enumerate" | "rev" | "zip") =>
        {
            walks_an_array_or_range(&m.receiver)
        }
        Expr::Paren(p) => walks_an_array_or_range(&p.expr),
        Expr::Range(_) => true,
        _ => false,
    }
}

/// `|v: &f64| ..` binds like `|v| ..`.
fn strip_type(p: &Pat) -> Pat {
    match p {
        Pat::Type(t) => (*t.pat).clone(),
        p => p.clone(),
    }
}
