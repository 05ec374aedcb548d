//! The grammar of the macros' arguments.
//!
//! ```text
//! #[differentiable]                 every parameter of type f64 / f32
//! #[differentiable(x, y)]           these parameters, in this order
//! #[differentiable(x, y; forward)]  also `<name>_jvp` (forward mode)
//! #[differentiable(x; recompute)]   loops record only their carried values
//! #[differentiable(x; latex)]       also `<name>_latex()`, the function as LaTeX
//! #[differentiable(x; latex(expectation, f = r"\mathcal{K}", phi1 = [a, b]))]
//!                                   .. with notation the user states (`Notation`)
//! grad!(|x: f64, y: f64| body)      every float parameter of the closure
//! grad!(|x: f64, y: f64| body, wrt(x))
//! ```

use proc_macro2::Ident;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::LitStr;
use syn::{ExprClosure, Token};

use crate::symbol::WRT;

/// The differentiation variables a user listed, or `None` for "every float
/// parameter"; and the options after `;`.
pub struct Wrt {
    pub names: Option<Vec<Ident>>,
    /// `forward`: also `<name>_jvp`.
    pub forward: bool,
    /// Where `forward` was written, for errors.
    pub forward_span: Option<proc_macro2::Span>,
    /// `recompute`: loops record what they carry and compute the rest of an
    /// iteration again in the backward sweep.
    pub recompute: bool,
    /// `latex` or `latex(..)`: also `<name>_latex()` (latex.rs).
    pub latex: Option<Notation>,
}

/// What the user states in `latex(..)` about how the function is written;
/// everything else follows the conventions of `latex.rs`.
#[derive(Clone, Default)]
pub struct Notation {
    /// `expectation`: the value is one sample of an expectation, written
    /// `\mathbb{E}[..]`.
    pub expectation: bool,
    /// `name = "LaTeX"`: how a variable, constant, the function itself or a
    /// called function is written; for a call, `#1`, `#2`, .. stand for its
    /// arguments (`log_pi = r"\log \pi(#1, #2)"`).
    pub symbols: Vec<(Ident, String)>,
    /// `name = [a, b]`: differentiation variables written as one (`phi1 =
    /// [mu1, rho1]` makes `sg_for!([mu1, rho1], e)` read `\bot_{\varphi_1}[e]`).
    pub groups: Vec<(Ident, Vec<Ident>)>,
}

impl Parse for Notation {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut notation = Notation::default();
        let mut seen: Vec<Ident> = Vec::new();
        let expected = "expected `expectation`, `name = \"LaTeX\"` or `name = [variables]` in `latex(..)`, as in `latex(expectation, elbo = r\"\\mathcal{K}\", phi1 = [mu1, rho1])`";
        while !input.is_empty() {
            let key: Ident = input
                .parse()
                .map_err(|e| syn::Error::new(e.span(), expected))?;
            if seen.contains(&key) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{key}` is given twice in `latex(..)`"),
                ));
            }
            seen.push(key.clone());
            if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                if input.peek(syn::token::Bracket) {
                    let content;
                    syn::bracketed!(content in input);
                    let members = Punctuated::<Ident, Token![,]>::parse_terminated(&content)
                        .map_err(|e| syn::Error::new(e.span(), expected))?;
                    notation.groups.push((key, members.into_iter().collect()));
                } else {
                    let text: LitStr = input
                        .parse()
                        .map_err(|e| syn::Error::new(e.span(), expected))?;
                    notation.symbols.push((key, text.value()));
                }
            } else if key == "expectation" {
                notation.expectation = true;
            } else {
                return Err(syn::Error::new(key.span(), expected));
            }
            if input.is_empty() {
                break;
            }
            input
                .parse::<Token![,]>()
                .map_err(|e| syn::Error::new(e.span(), expected))?;
        }
        Ok(notation)
    }
}

impl Parse for Wrt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let names = if input.is_empty() || input.peek(Token![;]) {
            None
        } else {
            Some(parse_names(input)?)
        };
        let (mut forward, mut recompute) = (false, false);
        let mut forward_span = None;
        let mut latex = None;
        if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
            let mut options = Vec::new();
            loop {
                let option = input.parse::<Ident>().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "expected an option after `;`, as in `#[differentiable(x; forward)]`",
                    )
                })?;
                if option == "latex" {
                    let notation = if input.peek(syn::token::Paren) {
                        let content;
                        syn::parenthesized!(content in input);
                        content.parse::<Notation>()?
                    } else {
                        Notation::default()
                    };
                    if latex.replace(notation).is_some() {
                        return Err(syn::Error::new(
                            option.span(),
                            "option `latex` is given twice",
                        ));
                    }
                } else {
                    options.push(option);
                }
                if !input.peek(Token![,]) {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            for option in options {
                let flag = match option.to_string().as_str() {
                    "forward" => {
                        forward_span = Some(option.span());
                        &mut forward
                    }
                    "recompute" => &mut recompute,
                    _ => return Err(syn::Error::new(
                        option.span(),
                        format!("unknown option `{option}`; the options are `forward` (also generate `<name>_jvp`), `recompute` (loops record only what they carry from one iteration to the next) and `latex` (also generate `<name>_latex()`, the function written as LaTeX), as in `#[differentiable(x; forward, recompute, latex)]`"),
                    )),
                };
                if std::mem::replace(flag, true) {
                    return Err(syn::Error::new(
                        option.span(),
                        format!("option `{option}` is given twice"),
                    ));
                }
            }
            if !input.is_empty() {
                return Err(input.error("expected `,` and another option, or nothing"));
            }
        }
        Ok(Wrt {
            names,
            forward,
            forward_span,
            recompute,
            latex,
        })
    }
}

fn parse_names(input: ParseStream) -> syn::Result<Vec<Ident>> {
    let mut names = Vec::new();
    while !input.is_empty() {
        let lookahead = input.lookahead1();
        if lookahead.peek(syn::Ident) {
            names.push(input.parse::<Ident>()?);
        } else if input.peek(Token![self]) {
            // A method's receiver, differentiated like a parameter struct.
            let receiver = input.parse::<Token![self]>()?;
            names.push(Ident::new("self", receiver.span));
        } else {
            return Err(syn::Error::new(
                input.span(),
                "expected the name of a parameter, as in `#[differentiable(x, y)]`",
            ));
        }
        if input.is_empty() || input.peek(Token![;]) {
            break;
        }
        if !input.peek(Token![,]) {
            return Err(input.error(
                "expected `,` between the names of the differentiation variables, as in `#[differentiable(x, y)]`",
            ));
        }
        input.parse::<Token![,]>()?;
    }
    Ok(names)
}

/// The input of `grad!`.
pub struct GradInput {
    pub closure: ExprClosure,
    pub wrt: Option<(Ident, Vec<Ident>)>,
}

impl Parse for GradInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let closure: ExprClosure = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a closure, as in `grad!(|x: f64| x * x)`",
            )
        })?;
        let mut wrt = None;
        if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let keyword: Ident = input.parse()?;
            if keyword != WRT {
                return Err(syn::Error::new(
                    keyword.span(),
                    "expected `wrt(..)` after the closure, as in `grad!(|x: f64, y: f64| x * y, wrt(x))`",
                ));
            }
            if !input.peek(syn::token::Paren) {
                return Err(input.error(
                    "expected the variables in parentheses, as in `wrt(x)` or `wrt(x, y)`",
                ));
            }
            let content;
            syn::parenthesized!(content in input);
            let names: Punctuated<Ident, Token![,]> = content.parse_terminated(
                |p: ParseStream| {
                    p.parse::<Ident>().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "expected the name of a closure parameter, as in `wrt(x, y)`",
                        )
                    })
                },
                Token![,],
            )?;
            if names.is_empty() {
                return Err(syn::Error::new(
                    keyword.span(),
                    "`wrt()` lists no variables; name at least one parameter of the closure",
                ));
            }
            wrt = Some((keyword, names.into_iter().collect()));
            input.parse::<Option<Token![,]>>()?;
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the arguments of `grad!`"));
        }
        Ok(GradInput { closure, wrt })
    }
}
