//! The IR printed back as Rust: what the forward sweep, the backward
//! sweep's recomputations and lowering's constant folding all write the same
//! way, so that values are bit-for-bit the user's.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

use super::{Form, Operand, Var};

/// `(a..b)` or `(a..=b)`, reversed if `rev`.
pub fn range_tokens(a: &TokenStream, b: &TokenStream, inclusive: bool, rev: bool) -> TokenStream {
    let range = if inclusive {
        quote!((#a..=#b))
    } else {
        quote!((#a..#b))
    };
    if rev {
        quote!(#range.rev())
    } else {
        range
    }
}

/// A primitive applied to operands, as the user would write it.
pub fn apply_tokens(vars: &[Var], form: &Form, args: &[Operand]) -> TokenStream {
    let a: Vec<TokenStream> = args.iter().map(|o| operand(vars, o)).collect();
    match form {
        Form::Binary(op) => {
            let (l, r) = (&a[0], &a[1]);
            quote!(#l #op #r)
        }
        Form::Unary(op) => {
            let x = &a[0];
            quote!(#op #x)
        }
        Form::Method(name) => {
            let (recv, rest) = (&a[0], &a[1..]);
            quote!(#recv.#name(#(#rest),*))
        }
        Form::Path(path) => quote!(#path(#(#a),*)),
        Form::Cast(ty) => {
            let x = &a[0];
            quote!(#x as #ty)
        }
    }
}

pub fn operand(vars: &[Var], o: &Operand) -> TokenStream {
    match o {
        Operand::Var(v) => {
            let ident = &vars[v.0].ident;
            quote!(#ident)
        }
        Operand::Const(c) => c.clone(),
    }
}

/// The operands of a value: the one operand, or a tuple of them.
pub fn value_tokens(vars: &[Var], ops: &[Operand], scalar: bool) -> TokenStream {
    let ts: Vec<TokenStream> = ops.iter().map(|o| operand(vars, o)).collect();
    if scalar && ts.len() == 1 {
        ts[0].clone()
    } else {
        quote!((#(#ts,)*))
    }
}

/// The indices after an array: `[i][j]..`; for an `ndarray` array (`a`
/// is its `Var`) `[i]` at rank 1 and `[[i, j]]` at rank 2, and one index
/// into a rank-2 array, a row, `.row(i)` (`.row_mut(i)` if `mutable`).
/// Slices, arrays and `Vec`s print exactly as before.
pub fn index_tokens(a: &Var, index: &[TokenStream], mutable: bool, span: Span) -> TokenStream {
    match index {
        [i] if a.ndarray && a.rank == 2 && mutable => quote_spanned!(span=> .row_mut(#i)),
        [i] if a.ndarray && a.rank == 2 => quote_spanned!(span=> .row(#i)),
        [_, _, ..] if a.ndarray => quote_spanned!(span=> [[#(#index),*]]),
        index => quote_spanned!(span=> #([#index])*),
    }
}

/// `base[i]..`, or `&base[i]..` if `by_ref`, `base` the array `a`: an
/// element or a row, as the user reads it (`a.row(i)` of an `ndarray`
/// array is a view, taken without `&`).
pub fn element_tokens(
    a: &Var,
    base: &TokenStream,
    index: &[TokenStream],
    by_ref: bool,
    span: Span,
) -> TokenStream {
    let row = a.ndarray && index.len() < a.rank;
    let amp = (by_ref && !row).then(|| quote_spanned!(span=> &));
    let index = index_tokens(a, index, false, span);
    quote_spanned!(span=> #amp #base #index)
}
