//! Whole mutants: attribute arguments, closures, several mutations in a row.

use super::*;

/// Other arguments: none, other names, `; forward`, a name that is not a parameter.
pub(super) fn mutate_args(entry: Entry, params: &[String], rng: &mut Rng) -> TokenStream {
    let mut names: Vec<Ident> = params.iter().map(|p| ident(p)).collect();
    let mut chosen = Vec::new();
    if !names.is_empty() {
        for _ in 0..=rng.below(names.len().min(3)) {
            let i = rng.below(names.len());
            chosen.push(names.remove(i));
        }
    }
    if rng.chance(10) {
        chosen.push(ident("nope"));
    }
    match entry {
        Entry::Differentiable => {
            let list = if rng.chance(25) { Vec::new() } else { chosen };
            if rng.chance(40) {
                quote!(#(#list),*; forward)
            } else {
                quote!(#(#list),*)
            }
        }
        Entry::Grad if rng.chance(30) => TokenStream::new(),
        Entry::Grad => quote!(wrt(#(#chosen),*)),
        Entry::PullbackOf => match chosen.first() {
            Some(c) if rng.chance(80) => quote!(#c),
            _ => TokenStream::new(),
        },
    }
}

/// A `#[differentiable]` function as a `grad!` closure with the same body.
pub(super) fn as_closure(case: &Case) -> Option<Case> {
    let f: syn::ItemFn = syn::parse2(case.item.clone()).ok()?;
    if f.sig
        .inputs
        .iter()
        .any(|a| matches!(a, syn::FnArg::Receiver(_)))
    {
        return None;
    }
    let inputs = f.sig.inputs.iter();
    let output = &f.sig.output;
    let block = &f.block;
    let names: Option<syn::punctuated::Punctuated<Ident, syn::Token![,]>> = {
        use syn::parse::Parser;
        let args = case.args.clone();
        let until_semicolon: TokenStream = args
            .into_iter()
            .take_while(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ';'))
            .collect();
        syn::punctuated::Punctuated::parse_terminated
            .parse2(until_semicolon)
            .ok()
    };
    let args = match names {
        Some(n) if !n.is_empty() => quote!(wrt(#n)),
        _ => TokenStream::new(),
    };
    Some(Case {
        entry: Entry::Grad,
        args,
        item: quote!(|#(#inputs),*| #output #block),
    })
}

/// Printed and lexed again (so that it is text a user can write), and still
/// the input its entry point parses.
pub(super) fn relex(entry: Entry, tokens: &TokenStream) -> Option<TokenStream> {
    let again: TokenStream = tokens.to_string().parse().ok()?;
    Ast::parse(entry, again.clone())?;
    Some(again)
}

/// Mutant `index` of the campaign with `seed`: one to four mutations of a seed.
/// With at most `depth` mutations.
pub(super) fn mutant_deep(
    hand: &[Seed],
    tests: &[Seed],
    seed: u64,
    index: usize,
    depth: usize,
) -> Option<Case> {
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let base = if rng.chance(40) {
        rng.pick(hand)
    } else {
        rng.pick(tests)
    };
    let (mut case, mut ast) = (base.case.clone(), base.ast.clone());
    if case.entry == Entry::Differentiable && rng.chance(10) {
        if let Some(c) = as_closure(&case) {
            ast = Ast::parse(c.entry, c.item.clone())?;
            case = c;
        }
    }
    let mut n = 1;
    while n < depth && rng.chance(45) {
        n += 1;
    }
    let mut applied = 0;
    let mut repeat = true;
    for _ in 0..n {
        for _ in 0..TRIES {
            let changed = if rng.chance(50) {
                // Printed by syn: no need to lex it again.
                let mut a = ast.clone();
                let donors = if rng.chance(70) { hand } else { tests };
                mutate_ast(&mut a, &mut rng, donors, &mut repeat).map(|()| a)
            } else {
                let mut toks = Vec::new();
                flatten(ast.tokens(), &mut toks);
                let mut idents: BTreeSet<String> = BTreeSet::new();
                for t in &toks {
                    if let Tok::Leaf(TokenTree::Ident(i)) = t {
                        idents.insert(i.to_string());
                    }
                }
                let idents: Vec<String> = idents.into_iter().collect();
                mutate_tokens(&mut toks, &idents, &mut rng)
                    .and_then(|()| rebuild(&toks))
                    .and_then(|t| relex(case.entry, &t))
                    .and_then(|t| Ast::parse(case.entry, t))
            };
            if let Some(a) = changed {
                ast = a;
                applied += 1;
                break;
            }
        }
    }
    case.item = ast.tokens();
    if rng.chance(12) {
        case.args = mutate_args(case.entry, &ast.params(), &mut rng);
        applied += 1;
    }
    (applied > 0).then_some(case)
}

/// `case` with the `index`-th statement (block by block, pre-order) written `copies` times.
pub(super) fn with_copies(case: &Case, index: usize, copies: usize) -> Option<Case> {
    struct Copy {
        index: usize,
        seen: usize,
        copies: usize,
        done: bool,
    }
    impl VisitMut for Copy {
        fn visit_block_mut(&mut self, b: &mut syn::Block) {
            if !self.done && self.index < self.seen + b.stmts.len() {
                let i = self.index - self.seen;
                let s = b.stmts[i].clone();
                for _ in 1..self.copies {
                    b.stmts.insert(i, s.clone());
                }
                self.done = true;
                return;
            }
            self.seen += b.stmts.len();
            visit_mut::visit_block_mut(self, b);
        }
    }
    let mut ast = Ast::parse(case.entry, case.item.clone())?;
    let mut c = Copy {
        index,
        seen: 0,
        copies,
        done: false,
    };
    ast.visit_mut(&mut c);
    c.done.then(|| Case {
        item: ast.tokens(),
        ..case.clone()
    })
}

/// Whether the expansion grows exponentially with the copies of one
/// statement: sizes for 2, 4 and 8 copies, compared. A linear (or
/// quadratic) growth adds at most 4 times as much from 4 to 8 copies as
/// from 2 to 4; a doubling per copy adds 20 times as much.
pub(super) fn growth(case: &Case, index: usize) -> Option<String> {
    let size = |copies: usize| -> Option<(usize, Case)> {
        let c = with_copies(case, index, copies)?;
        match run(&c, false).0 {
            Outcome::Fine(false, out) => Some((out, c)),
            _ => None,
        }
    };
    let (t2, _) = size(2)?;
    let (t4, c4) = size(4)?;
    let d1 = t4.saturating_sub(t2);
    if d1 == 0 {
        return None;
    }
    // Already doubling per copy: do not try 8.
    let t8 = if t4 > 3 * t2 && t4 > 20_000 {
        None
    } else {
        Some(size(8)?.0)
    };
    let exponential = match t8 {
        None => true,
        Some(t8) => t8.saturating_sub(t4) > 6 * d1 && t8 > 20_000,
    };
    exponential.then(|| {
        format!(
            "// The expansion is exponential in the copies of statement {index}: {t2} / {t4} / {} tokens\n// for 2 / 4 / 8 copies. With 4 copies:\n{}",
            t8.map_or("(not tried)".to_string(), |t| t.to_string()),
            c4.render()
        )
    })
}

// ---------------------------------------------------------------------------
