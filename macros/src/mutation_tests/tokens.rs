//! The random numbers, and mutations of the flat token list.

use super::*;

// The random numbers: xorshift64, seeded through splitmix64.

pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(super) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------
// Tokens, flat: groups as open/close markers, so that positions are easy.

#[derive(Clone)]
pub(super) enum Tok {
    Open(Delimiter),
    Close(Delimiter),
    Leaf(TokenTree),
}

pub(super) fn flatten(ts: TokenStream, out: &mut Vec<Tok>) {
    for tt in ts {
        match tt {
            TokenTree::Group(g) => {
                out.push(Tok::Open(g.delimiter()));
                flatten(g.stream(), out);
                out.push(Tok::Close(g.delimiter()));
            }
            leaf => out.push(Tok::Leaf(leaf)),
        }
    }
}

/// The token stream of a flat list, if its groups are balanced.
pub(super) fn rebuild(toks: &[Tok]) -> Option<TokenStream> {
    let mut stack: Vec<(Option<Delimiter>, Vec<TokenTree>)> = vec![(None, Vec::new())];
    for t in toks {
        match t {
            Tok::Open(d) => stack.push((Some(*d), Vec::new())),
            Tok::Close(d) => {
                let (open, items) = stack.pop()?;
                if open != Some(*d) {
                    return None;
                }
                let g = Group::new(*d, items.into_iter().collect());
                stack.last_mut()?.1.push(TokenTree::Group(g));
            }
            Tok::Leaf(l) => stack.last_mut()?.1.push(l.clone()),
        }
    }
    let (open, items) = stack.pop()?;
    (stack.is_empty() && open.is_none()).then(|| items.into_iter().collect())
}

/// The index of the `Close` matching the `Open` at `i`.
pub(super) fn matching_close(toks: &[Tok], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(i) {
        match t {
            Tok::Open(_) => depth += 1,
            Tok::Close(_) => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            Tok::Leaf(_) => {}
        }
    }
    None
}

pub(super) fn leaves(toks: &[Tok], want: impl Fn(&TokenTree) -> bool) -> Vec<usize> {
    toks.iter()
        .enumerate()
        .filter_map(|(i, t)| match t {
            Tok::Leaf(l) if want(l) => Some(i),
            _ => None,
        })
        .collect()
}

pub(super) fn lex(text: &str) -> Vec<Tok> {
    let mut v = Vec::new();
    flatten(text.parse().expect("a pool entry lexes"), &mut v);
    v
}

pub(super) const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "0.0",
    "1.0",
    "-1.0",
    "0.5",
    "2.0",
    "1e300",
    "1e-300",
    "3usize",
    "1f32",
    "2.0f64",
    "10",
    "\"s\"",
    "'c'",
    "true",
    "(1.0, 2.0)",
    "[1.0, 2.0]",
    "()",
    "f64::NAN",
];

pub(super) const NAMES: &[&str] = &[
    "sg",
    "sg_for",
    "x",
    "self",
    "Self",
    "Vec",
    "f64",
    "f32",
    "len",
    "iter",
    "sum",
    "push",
    "enumerate",
    "_",
    "i",
    "s",
    "a",
];

/// One token-level mutation; `None` if it did not apply.
pub(super) fn mutate_tokens(toks: &mut Vec<Tok>, idents: &[String], rng: &mut Rng) -> Option<()> {
    if toks.is_empty() {
        return None;
    }
    let all_leaves = leaves(toks, |_| true);
    match rng.below(8) {
        // Delete a token.
        0 => {
            let i = *rng.pick(&all_leaves);
            toks.remove(i);
        }
        // Duplicate a token.
        1 => {
            let i = *rng.pick(&all_leaves);
            let t = toks[i].clone();
            toks.insert(i, t);
        }
        // Swap two adjacent tokens.
        2 => {
            let i = *rng.pick(&all_leaves);
            if i + 1 >= toks.len() || !matches!(toks[i + 1], Tok::Leaf(_)) {
                return None;
            }
            toks.swap(i, i + 1);
        }
        // Replace an identifier by another of the function (or a known name).
        3 => {
            let ids = leaves(toks, |l| matches!(l, TokenTree::Ident(_)));
            if ids.is_empty() || idents.is_empty() {
                return None;
            }
            let i = *rng.pick(&ids);
            let name = if rng.chance(85) {
                rng.pick(idents).clone()
            } else {
                rng.pick(NAMES).to_string()
            };
            toks.splice(i..=i, lex(&name));
        }
        // Replace a literal.
        4 => {
            let lits = leaves(toks, |l| matches!(l, TokenTree::Literal(_)));
            if lits.is_empty() {
                return None;
            }
            let i = *rng.pick(&lits);
            let other = if rng.chance(30) {
                let j = *rng.pick(&lits);
                vec![toks[j].clone()]
            } else {
                lex(rng.pick::<&str>(LITERALS))
            };
            toks.splice(i..=i, other);
        }
        // Delete a whole group, or only its delimiters.
        5 => {
            let opens: Vec<usize> = (0..toks.len())
                .filter(|&i| matches!(toks[i], Tok::Open(_)))
                .collect();
            if opens.is_empty() {
                return None;
            }
            let i = *rng.pick(&opens);
            let j = matching_close(toks, i)?;
            if rng.chance(50) {
                toks.drain(i..=j);
            } else {
                toks.remove(j);
                toks.remove(i);
            }
        }
        // Copy a token from elsewhere in the function.
        6 => {
            let from = *rng.pick(&all_leaves);
            let to = rng.below(toks.len() + 1);
            let t = toks[from].clone();
            toks.insert(to, t);
        }
        // Delete a short run of tokens.
        _ => {
            let i = *rng.pick(&all_leaves);
            let n = 2 + rng.below(3);
            let j = (i + n).min(toks.len());
            toks.drain(i..j);
        }
    }
    Some(())
}

// ---------------------------------------------------------------------------
