//! Seeds: the differentiated functions of the repository's tests.

use super::*;

// Seeds.

#[derive(Default)]
pub(super) struct Seeds {
    pub(super) cases: Vec<Case>,
}

pub(super) fn last_segment(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

impl Seeds {
    pub(super) fn take(
        &mut self,
        attrs: &[syn::Attribute],
        rebuild: impl FnOnce(Vec<syn::Attribute>) -> TokenStream,
    ) {
        let pos = attrs.iter().position(|a| {
            matches!(
                last_segment(a.path()).as_str(),
                "differentiable" | "pullback_of"
            )
        });
        let Some(i) = pos else { return };
        let mut attrs = attrs.to_vec();
        let attr = attrs.remove(i);
        let entry = if last_segment(attr.path()) == "differentiable" {
            Entry::Differentiable
        } else {
            Entry::PullbackOf
        };
        let args = match attr.meta {
            syn::Meta::List(l) => l.tokens,
            _ => TokenStream::new(),
        };
        self.cases.push(Case {
            entry,
            args,
            item: rebuild(attrs),
        });
    }
}

impl<'ast> Visit<'ast> for Seeds {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.take(&f.attrs, |attrs| {
            let mut f = f.clone();
            f.attrs = attrs;
            f.into_token_stream()
        });
        visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.take(&f.attrs, |attrs| {
            let (vis, sig, block) = (&f.vis, &f.sig, &f.block);
            quote!(#(#attrs)* #vis #sig #block)
        });
        visit::visit_impl_item_fn(self, f);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if last_segment(&m.path) == "grad" {
            if let Some((closure, args)) = split_grad(m.tokens.clone()) {
                self.cases.push(Case {
                    entry: Entry::Grad,
                    args,
                    item: closure,
                });
            }
        }
        visit::visit_macro(self, m);
    }
}

/// `closure, wrt(..)` → the two parts.
pub(super) fn split_grad(tokens: TokenStream) -> Option<(TokenStream, TokenStream)> {
    use syn::parse::{ParseStream, Parser};
    let parser = |input: ParseStream| {
        let closure: syn::ExprClosure = input.parse()?;
        input.parse::<Option<syn::Token![,]>>()?;
        let rest: TokenStream = input.parse()?;
        Ok((closure.into_token_stream(), rest))
    };
    parser.parse2(tokens).ok()
}

/// A seed, parsed once.
pub(super) struct Seed {
    pub(super) case: Case,
    pub(super) ast: Ast,
}

pub(super) fn collect_seeds() -> (Vec<Seed>, Vec<Seed>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests");
    let mut files: Vec<_> = Vec::new();
    for dir in [root.join("expand"), root.clone()] {
        let entries = std::fs::read_dir(&dir).expect("tests/ and tests/expand/ exist");
        for e in entries {
            let p = e.expect("readable entry").path();
            let name = p.to_string_lossy().to_string();
            if p.extension().is_some_and(|e| e == "rs") && !name.ends_with(".expanded.rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut from_tests = Seeds::default();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable test file");
        if let Ok(file) = syn::parse_file(&text) {
            from_tests.visit_file(&file);
        }
    }
    let mut hand = Seeds::default();
    for text in [HAND_SEEDS, ODD_SEEDS, HAND_GRAD_SEEDS] {
        let file = syn::parse_file(text).expect("hand-written seeds parse");
        hand.visit_file(&file);
    }
    let dedup = |cases: Vec<Case>| {
        let mut seen = BTreeSet::new();
        cases
            .into_iter()
            .filter(|c| seen.insert(format!("{:?} {} {}", c.entry, c.args, c.item)))
            .filter_map(|case| {
                let ast = Ast::parse(case.entry, case.item.clone())?;
                Some(Seed { case, ast })
            })
            .collect::<Vec<_>>()
    };
    (dedup(hand.cases), dedup(from_tests.cases))
}

// ---------------------------------------------------------------------------
