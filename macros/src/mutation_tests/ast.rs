//! Statement- and expression-level mutations, on syn's tree.

use super::*;

// Statement- and expression-level mutations, on syn's tree.

#[derive(Clone)]
pub(super) enum Ast {
    Fn(syn::ItemFn),
    Closure(syn::ExprClosure),
}

impl Ast {
    pub(super) fn parse(entry: Entry, tokens: TokenStream) -> Option<Ast> {
        match entry {
            Entry::Differentiable | Entry::PullbackOf => syn::parse2(tokens).ok().map(Ast::Fn),
            Entry::Grad => syn::parse2(tokens).ok().map(Ast::Closure),
        }
    }

    pub(super) fn tokens(&self) -> TokenStream {
        match self {
            Ast::Fn(f) => f.to_token_stream(),
            Ast::Closure(c) => c.to_token_stream(),
        }
    }

    pub(super) fn visit_mut(&mut self, v: &mut impl VisitMut) {
        match self {
            Ast::Fn(f) => v.visit_item_fn_mut(f),
            Ast::Closure(c) => v.visit_expr_closure_mut(c),
        }
    }

    pub(super) fn visit<'a>(&'a self, v: &mut impl Visit<'a>) {
        match self {
            Ast::Fn(f) => v.visit_item_fn(f),
            Ast::Closure(c) => v.visit_expr_closure(c),
        }
    }

    /// The parameters' names.
    pub(super) fn params(&self) -> Vec<String> {
        let pats: Vec<&syn::Pat> = match self {
            Ast::Fn(f) => f
                .sig
                .inputs
                .iter()
                .filter_map(|a| match a {
                    syn::FnArg::Typed(t) => Some(&*t.pat),
                    syn::FnArg::Receiver(_) => None,
                })
                .collect(),
            Ast::Closure(c) => c.inputs.iter().collect(),
        };
        pats.into_iter()
            .filter_map(|p| match p {
                syn::Pat::Ident(i) => Some(i.ident.to_string()),
                syn::Pat::Type(t) => match &*t.pat {
                    syn::Pat::Ident(i) => Some(i.ident.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
}

/// Names bound in the function, loop labels, and how many blocks and
/// expressions it has.
#[derive(Default)]
pub(super) struct Census {
    pub(super) bound: BTreeSet<String>,
    pub(super) labels: BTreeSet<String>,
    pub(super) blocks: usize,
    pub(super) exprs: usize,
}

impl<'ast> Visit<'ast> for Census {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.bound.insert(p.ident.to_string());
        visit::visit_pat_ident(self, p);
    }
    fn visit_label(&mut self, l: &'ast syn::Label) {
        self.labels.insert(format!("'{}", l.name.ident));
        visit::visit_label(self, l);
    }
    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.blocks += 1;
        visit::visit_block(self, b);
    }
    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        self.exprs += 1;
        visit::visit_expr(self, e);
    }
}

/// Applies `f` to the `target`-th block (pre-order).
pub(super) struct AtBlock<F: FnMut(&mut syn::Block)> {
    pub(super) target: usize,
    pub(super) seen: usize,
    pub(super) f: F,
}

impl<F: FnMut(&mut syn::Block)> VisitMut for AtBlock<F> {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        if self.seen == self.target {
            (self.f)(b);
        }
        self.seen += 1;
        visit_mut::visit_block_mut(self, b);
    }
}

/// Replaces the `target`-th expression (pre-order) by `f(it)`.
pub(super) struct AtExpr<F: FnMut(&syn::Expr) -> Option<syn::Expr>> {
    target: usize,
    seen: usize,
    f: F,
    done: bool,
}

impl<F: FnMut(&syn::Expr) -> Option<syn::Expr>> VisitMut for AtExpr<F> {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        let me = self.seen;
        self.seen += 1;
        if me == self.target {
            if let Some(new) = (self.f)(e) {
                *e = new;
                self.done = true;
            }
            return;
        }
        visit_mut::visit_expr_mut(self, e);
    }
}

pub(super) fn stmt(tokens: TokenStream) -> Option<syn::Stmt> {
    use syn::parse::Parser;
    // A block's statements: one statement, parsed as a block would.
    let stmts = syn::Block::parse_within.parse2(tokens).ok()?;
    match <[syn::Stmt; 1]>::try_from(stmts) {
        Ok([s]) => Some(s),
        Err(_) => None,
    }
}

pub(super) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

pub(super) fn label(rng: &mut Rng, census: &Census) -> syn::Lifetime {
    let labels: Vec<&String> = census.labels.iter().collect();
    let name = if labels.is_empty() || rng.chance(20) {
        "'l".to_string()
    } else {
        (*rng.pick(&labels)).clone()
    };
    syn::Lifetime::new(&name, Span::call_site())
}

/// A statement to insert: an exit, an assignment, a loop, an array store...
pub(super) fn new_stmt(rng: &mut Rng, census: &Census, names: &[String]) -> Option<syn::Stmt> {
    let v = ident(rng.pick::<String>(names));
    let w = ident(rng.pick::<String>(names));
    let l = label(rng, census);
    let tokens = match rng.below(40) {
        0 | 1 => quote!(break;),
        2 | 3 => quote!(continue;),
        4 | 5 => quote!(return #v;),
        6 => quote!(return;),
        7 => quote!(break #v;),
        8 => quote!(break #l;),
        9 => quote!(continue #l;),
        10 => quote!(break #l #v;),
        11 => quote!(if #v > 0.0 { break; }),
        12 => quote!(if #v > 0.0 { continue; }),
        13 => quote!(if #v < #w { return #w; }),
        14 => quote!(if #v < 1.0 { break #v * #w; }),
        15 => quote!(#v += #w;),
        16 => quote!(let #v = sg(#w);),
        17 => quote!(#v[0] = #w;),
        18 => quote!(#v.push(#w);),
        19 => quote!(let mut #v = loop { break #w; };),
        20 => quote!(let #v = #l: { if #w > 0.0 { break #l #w; } #v };),
        21 => quote!(let (#v, #w) = (#w, #v);),
        22 => quote!((#v, #w) = (#w, #v);),
        23 => quote!(#v = if #w > 0.0 { return #v; } else { #w };),
        24 => quote!(let Some(#v) = Some(#w) else { return #v; };),
        25 => quote!(#v[0] += #w;),
        26 => quote!(#v.push(loop { break #w; });),
        27 => quote!(for i in 0..#v.len() { if #v[i] > 0.0 { break; } #v[i] = #w; }),
        28 => quote!(let mut #v = vec![#w; 3];),
        29 => quote!(let mut #v = [#w; 2];),
        30 => quote!(#l: for i in 0..3 { for j in 0..3 { if j > i { continue #l; } #v += #w; } }),
        31 => quote!(#v = loop { if #w > 0.0 { break #w; } #v += 1.0; };),
        32 => quote!(while #v < #w { #v *= 2.0; if #v > 1.0 { break; } }),
        33 => quote!(loop { #v += #w; if #v > 1.0 { break; } }),
        34 => quote!(let #v = match 0 { 0 => #w, _ => return #v };),
        35 => quote!(if #v > #w { return #v; } else if #w > 0.0 { return #w; }),
        36 => quote!(let #v: f64;),
        37 => quote!(#v = #w;),
        38 => quote!(let mut #v = Vec::new();),
        _ => quote!(let #v = { let t = #w; if t > 0.0 { return t; } t };),
    };
    stmt(tokens)
}

/// `e` inside a loop, `if`, block...: the same value (mostly) by new control flow.
pub(super) fn wrap_expr(
    rng: &mut Rng,
    census: &Census,
    names: &[String],
    e: &syn::Expr,
) -> Option<syn::Expr> {
    let v = ident(rng.pick::<String>(names));
    let l = label(rng, census);
    let tokens = match rng.below(30) {
        0..=5 => quote!(loop { break #e; }),
        6 => quote!(#l: loop { break #l #e; }),
        7 => quote!(loop { if #v > 0.0 { break #e; } }),
        8 => quote!(if #v > 0.0 { #e } else { #e }),
        9 => quote!({ #e }),
        10 => quote!(sg(#e)),
        11 => quote!(#l: { break #l #e; }),
        12 => quote!(#l: { if #v > 0.0 { break #l #e; } #e }),
        13 => quote!({ let t = #e; t }),
        14 => quote!(if #v > 0.0 { return #e; } else { #e }),
        15 => quote!(match 0 { 0 => #e, _ => #e }),
        16 => quote!((#e, #v).0),
        17 => quote!([#e, #v][0]),
        18 => quote!(sg_for!(#v, #e)),
        19 => quote!((|t: f64| t)(#e)),
        20 => quote!(loop { break loop { break #e; }; }),
        21 => quote!({ return #e; }),
        22 => quote!(if #v > 0.0 { continue } else { #e }),
        23 => quote!(if #v > 0.0 { break } else { #e }),
        24 => quote!({ #v += #e; #v }),
        25 => quote!(vec![#e; 2][0]),
        26 => quote!(#l: loop { for i in 0..2 { if #v > 0.0 { break #l #e; } } break #l #e; }),
        27 => quote!(#l: loop { for i in 0..2 { continue #l; } break #e; }),
        28 => quote!({ for _ in 0..2 { if #v > 0.0 { break; } } #e }),
        _ => quote!({ while #v > 1.0 { return #e; } #e }),
    };
    syn::parse2(tokens).ok()
}

/// `s` inside a loop, `if`, block...
pub(super) fn wrap_stmt(
    rng: &mut Rng,
    census: &Census,
    names: &[String],
    s: &syn::Stmt,
) -> Option<syn::Stmt> {
    let v = ident(rng.pick::<String>(names));
    let l = label(rng, census);
    // A final expression becomes a statement inside the new construct.
    let s = match s {
        syn::Stmt::Expr(e, None) if !rng.chance(20) => quote!(#e;),
        s => s.to_token_stream(),
    };
    let tokens = match rng.below(11) {
        0 => quote!(loop { #s break; }),
        1 => quote!(if #v > 0.0 { #s }),
        2 => quote!(for _ in 0..2 { #s }),
        3 => quote!(while #v < 1.0 { #s }),
        4 => quote!(#l: loop { #s break #l; }),
        5 => quote!({ #s }),
        6 => quote!(#l: for i in 0..3 { #s }),
        7 => quote!(if #v > 0.0 { #s } else { #s }),
        8 => quote!(#l: { #s }),
        9 => quote!(loop { if #v > 0.0 { break; } #s }),
        _ => quote!(for i in (0..3).rev() { #s if #v > 1.0 { continue; } }),
    };
    stmt(tokens)
}

/// A clone of the `target`-th expression (pre-order).
pub(super) struct NthExpr<'a> {
    pub(super) target: usize,
    pub(super) seen: usize,
    pub(super) found: Option<&'a syn::Expr>,
}

impl<'a> Visit<'a> for NthExpr<'a> {
    fn visit_expr(&mut self, e: &'a syn::Expr) {
        if self.seen == self.target {
            self.found = Some(e);
        }
        self.seen += 1;
        if self.found.is_none() {
            visit::visit_expr(self, e);
        }
    }
}

/// The statements of the `target`-th block (pre-order).
pub(super) struct NthBlock<'a> {
    pub(super) target: usize,
    pub(super) seen: usize,
    pub(super) found: Option<&'a syn::Block>,
}

impl<'a> Visit<'a> for NthBlock<'a> {
    fn visit_block(&mut self, b: &'a syn::Block) {
        if self.seen == self.target {
            self.found = Some(b);
        }
        self.seen += 1;
        if self.found.is_none() {
            visit::visit_block(self, b);
        }
    }
}

/// A statement of another seed, its names mostly changed to this function's.
pub(super) fn transplant(rng: &mut Rng, donors: &[Seed], names: &[String]) -> Option<syn::Stmt> {
    let donor = &rng.pick(donors).ast;
    let mut census = Census::default();
    donor.visit(&mut census);
    let mut nth = NthBlock {
        target: rng.below(census.blocks),
        seen: 0,
        found: None,
    };
    donor.visit(&mut nth);
    let stmts = &nth.found?.stmts;
    if stmts.is_empty() {
        return None;
    }
    let s = rng.pick(stmts).clone();
    if rng.chance(30) {
        return Some(s);
    }
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut toks = Vec::new();
    flatten(s.to_token_stream(), &mut toks);
    for t in &mut toks {
        if let Tok::Leaf(TokenTree::Ident(i)) = t {
            let name = i.to_string();
            if census.bound.contains(&name) {
                let to = map
                    .entry(name)
                    .or_insert_with(|| rng.pick::<String>(names).clone());
                *t = Tok::Leaf(TokenTree::Ident(ident(to)));
            }
        }
    }
    stmt(rebuild(&toks)?)
}

pub(super) const TYPES: &[&str] = &[
    "f64",
    "f32",
    "&[f64]",
    "Vec<f64>",
    "[f64; 3]",
    "&[Vec<f64>]",
    "&Vec<f64>",
    "&mut f64",
    "usize",
    "&[[f64; 2]]",
    "(f64, f64)",
    "Vec<Vec<Vec<f64>>>",
    "&&[f64]",
    "Option<f64>",
    "&[f32]",
    "T",
    "[[f64; 2]; 2]",
    "Box<[f64]>",
    "&mut [f64]",
    "impl Fn(f64) -> f64",
    "bool",
    "&[f64; 4]",
    "i32",
];

/// A parameter (or the result) of another type, a parameter pattern changed.
pub(super) fn retype(ast: &mut Ast, rng: &mut Rng) -> Option<()> {
    let ty: syn::Type = syn::parse_str(rng.pick::<&str>(TYPES)).ok()?;
    let typed: Vec<&mut syn::PatType> = match ast {
        Ast::Fn(f) => {
            if rng.chance(15) {
                let t = &ty;
                f.sig.output = syn::parse2(quote!(-> #t)).ok()?;
                return Some(());
            }
            f.sig
                .inputs
                .iter_mut()
                .filter_map(|a| match a {
                    syn::FnArg::Typed(t) => Some(t),
                    syn::FnArg::Receiver(_) => None,
                })
                .collect()
        }
        Ast::Closure(c) => c
            .inputs
            .iter_mut()
            .filter_map(|p| match p {
                syn::Pat::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
    };
    if typed.is_empty() {
        return None;
    }
    let i = rng.below(typed.len());
    let t = typed.into_iter().nth(i)?;
    if rng.chance(20) {
        let syn::Pat::Ident(p) = &*t.pat else {
            return None;
        };
        let name = &p.ident;
        let pat = match rng.below(4) {
            0 => quote!(mut #name),
            1 => quote!((#name, _z)),
            2 => quote!(_),
            _ => quote!(ref #name),
        };
        *t.pat = syn::Pat::parse_single.parse2(pat).ok()?;
    } else {
        *t.ty = ty;
    }
    Some(())
}

/// One statement- or expression-level mutation; `None` if it did not apply.
/// `repeat`: whether a statement may still be copied many times (once per mutant,
/// so that a cost exponential in the copies stays bounded).
pub(super) fn mutate_ast(
    ast: &mut Ast,
    rng: &mut Rng,
    donors: &[Seed],
    repeat: &mut bool,
) -> Option<()> {
    let mut census = Census::default();
    ast.visit(&mut census);
    let mut names: Vec<String> = census.bound.iter().cloned().collect();
    names.extend(ast.params());
    if names.is_empty() {
        names.push("x".to_string());
    }
    let op = rng.below(11);
    if op == 10 {
        return retype(ast, rng);
    }
    if op >= 7 {
        if census.exprs == 0 {
            return None;
        }
        // Wrap an expression, or replace it by another of the function.
        let other = (op == 9).then(|| {
            let mut nth = NthExpr {
                target: rng.below(census.exprs),
                seen: 0,
                found: None,
            };
            ast.visit(&mut nth);
            nth.found.cloned()
        });
        let target = rng.below(census.exprs);
        let mut at = AtExpr {
            target,
            seen: 0,
            f: |e: &syn::Expr| match &other {
                Some(o) => o.clone(),
                None => wrap_expr(rng, &census, &names, e),
            },
            done: false,
        };
        ast.visit_mut(&mut at);
        return at.done.then_some(());
    }
    if census.blocks == 0 {
        return None;
    }
    let target = rng.below(census.blocks);
    let mut done = false;
    let mut at = AtBlock {
        target,
        seen: 0,
        f: |b: &mut syn::Block| {
            let n = b.stmts.len();
            match op {
                // Delete a statement.
                0 if n > 0 => {
                    b.stmts.remove(rng.below(n));
                    done = true;
                }
                // Duplicate a statement or two, sometimes many times (a
                // cost exponential in the number of copies is a bug too).
                1 if n > 0 => {
                    let i = rng.below(n);
                    let run = if i + 1 < n && rng.chance(30) { 2 } else { 1 };
                    let copies = if *repeat && rng.chance(30) {
                        *repeat = false;
                        2 + rng.below(4)
                    } else {
                        1
                    };
                    let copied: Vec<syn::Stmt> = b.stmts[i..i + run].to_vec();
                    for _ in 0..copies {
                        b.stmts.splice(i..i, copied.iter().cloned());
                    }
                    done = true;
                }
                // Wrap a statement in a loop, `if` or block.
                2 | 3 if n > 0 => {
                    let i = rng.below(n);
                    if let Some(s) = wrap_stmt(rng, &census, &names, &b.stmts[i]) {
                        b.stmts[i] = s;
                        done = true;
                    }
                }
                // A statement of another seed.
                4 => {
                    if let Some(s) = transplant(rng, donors, &names) {
                        let i = rng.below(n + 1);
                        b.stmts.insert(i, s);
                        done = true;
                    }
                }
                // Insert an exit or another statement.
                _ => {
                    if let Some(s) = new_stmt(rng, &census, &names) {
                        let i = rng.below(n + 1);
                        b.stmts.insert(i, s);
                        done = true;
                    }
                }
            }
        },
    };
    ast.visit_mut(&mut at);
    done.then_some(())
}
