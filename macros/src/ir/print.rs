//! The IR printed back as Rust: what the forward sweep, the backward
//! sweep's recomputations and lowering's constant folding all write the same
//! way, so that values are bit-for-bit the user's.

use proc_macro2::TokenStream;
use quote::quote;

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
