//! Minimising a reproducer.

use super::*;

// Minimising a reproducer.

/// Greedily deletes statements, runs of tokens and groups while `case`
/// still panics with `key`.
pub(super) fn minimise(expander: fn(&Case) -> TokenStream, case: &Case, key: &str) -> Case {
    let mut budget = MINIMISE_BUDGET;
    let still = |c: &Case, budget: &mut usize| -> bool {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        matches!(run_with(expander, c, false).0, Outcome::Panicked(p) if panic_key(&p) == key)
    };
    let mut best = case.clone();
    // Simpler arguments first: none, else without `; forward`.
    for args in [TokenStream::new(), strip_forward(&case.args)] {
        if args.to_string() == best.args.to_string() {
            break;
        }
        let c = Case {
            args,
            ..best.clone()
        };
        if still(&c, &mut budget) {
            best = c;
            break;
        }
    }
    loop {
        let before = best.size();
        // Statements, the last first.
        let mut i = count_stmts(&best);
        while i > 0 {
            i -= 1;
            if let Some(c) = without_stmt(&best, i) {
                if still(&c, &mut budget) {
                    best = c;
                }
            }
        }
        // Whole groups, then runs of tokens from long to single.
        let mut toks = Vec::new();
        flatten(best.item.clone(), &mut toks);
        let mut i = 0;
        while i < toks.len() {
            if matches!(toks[i], Tok::Open(_)) {
                if let Some(j) = matching_close(&toks, i) {
                    // Empty the group, else drop its delimiters.
                    let mut emptied = toks.clone();
                    emptied.drain(i + 1..j);
                    let mut unwrapped = toks.clone();
                    unwrapped.remove(j);
                    unwrapped.remove(i);
                    for cand in [emptied, unwrapped] {
                        if cand.len() == toks.len() {
                            continue;
                        }
                        if let Some(c) = candidate(&best, &cand) {
                            if still(&c, &mut budget) {
                                best = c;
                                toks = cand;
                                break;
                            }
                        }
                    }
                }
            }
            i += 1;
        }
        for width in [16, 8, 4, 3, 2, 1] {
            let mut i = 0;
            while i + width <= toks.len() {
                let mut cand = toks.clone();
                cand.drain(i..i + width);
                match candidate(&best, &cand) {
                    Some(c) if still(&c, &mut budget) => {
                        best = c;
                        toks = cand;
                    }
                    _ => i += 1,
                }
            }
        }
        if best.size() >= before || budget == 0 {
            return best;
        }
    }
}

pub(super) fn strip_forward(args: &TokenStream) -> TokenStream {
    args.clone()
        .into_iter()
        .take_while(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ';'))
        .collect()
}

pub(super) fn candidate(best: &Case, toks: &[Tok]) -> Option<Case> {
    let item = relex(best.entry, &rebuild(toks)?)?;
    Some(Case {
        item,
        ..best.clone()
    })
}

pub(super) fn count_stmts(case: &Case) -> usize {
    struct Count(usize);
    impl<'ast> Visit<'ast> for Count {
        fn visit_block(&mut self, b: &'ast syn::Block) {
            self.0 += b.stmts.len();
            visit::visit_block(self, b);
        }
    }
    let mut c = Count(0);
    if let Some(ast) = Ast::parse(case.entry, case.item.clone()) {
        ast.visit(&mut c);
    }
    c.0
}

/// `case` without its `index`-th statement (counting block by block, pre-order).
pub(super) fn without_stmt(case: &Case, index: usize) -> Option<Case> {
    struct Delete {
        index: usize,
        seen: usize,
        done: bool,
    }
    impl VisitMut for Delete {
        fn visit_block_mut(&mut self, b: &mut syn::Block) {
            if !self.done && self.index < self.seen + b.stmts.len() {
                b.stmts.remove(self.index - self.seen);
                self.done = true;
                return;
            }
            self.seen += b.stmts.len();
            visit_mut::visit_block_mut(self, b);
        }
    }
    let mut ast = Ast::parse(case.entry, case.item.clone())?;
    let mut d = Delete {
        index,
        seen: 0,
        done: false,
    };
    ast.visit_mut(&mut d);
    if !d.done {
        return None;
    }
    let item = relex(case.entry, &ast.tokens())?;
    Some(Case {
        item,
        ..case.clone()
    })
}

// ---------------------------------------------------------------------------
