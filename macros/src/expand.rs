//! The two entry points: check the signature, lower, analyse, emit.
//!
//! After any error the user's function is still emitted (with `sg_for!`
//! compiled as its expression) together with a stub `<name>_grad` of the
//! right signature, so callers see the real error and not a cascade.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, ToTokens};
use syn::visit_mut::VisitMut;
use syn::{FnArg, ItemFn, Pat, ReturnType};

use crate::activity;
use crate::args::{GradInput, Wrt};
use crate::emit;
use crate::errors::Errors;
use crate::ir::print::operand;
use crate::ir::Function;
use crate::lower::{self, Body, Input, StripSgFor};
use crate::names;
use crate::sweep::{self, Sweeps};
use crate::symbol::{gradient_type, is_float_type, struct_type, vector_element};
use crate::warnings::{self, Warning};

pub fn differentiable(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            return match syn::parse2::<syn::Item>(item.clone()) {
                Ok(syn::Item::Impl(imp)) if imp.trait_.is_some() => trait_impl(attr, imp),
                Ok(other) => {
                    let err = syn::Error::new_spanned(
                        item_keyword(&other),
                        "`#[differentiable]` can only be applied to a function, or to a trait impl around its `#[differentiable(..)]` methods",
                    );
                    let err = err.into_compile_error();
                    quote!(#other #err)
                }
                // Not valid Rust: pass it through so rustc reports the real syntax error.
                Err(_) => item,
            };
        }
    };
    let errors = Errors::new();
    let wrt = parse_wrt(attr, &errors);
    let (original, generated) =
        crate::symbol::with_scalars(&func.sig.generics, || expand_fn(&func, wrt, &errors));
    let errors = errors.finish().err().map(syn::Error::into_compile_error);
    quote!(#original #generated #errors)
}

/// The attribute's arguments; `None` (reported) if they do not parse.
fn parse_wrt(attr: TokenStream, errors: &Errors) -> Option<Wrt> {
    syn::parse2::<Wrt>(attr).map_err(|e| errors.push(e)).ok()
}

/// `#[differentiable] impl Trait for Type { #[differentiable(self, x)] fn
/// value(&self, x: f64) -> f64 { .. } }`: the trait's methods stay in the
/// trait impl, and what is generated for the marked ones (`value_grad`,
/// `value_pullback`, ..), which the trait does not declare, goes to an
/// inherent `impl Type` beside it.
fn trait_impl(attr: TokenStream, mut imp: syn::ItemImpl) -> TokenStream {
    let mut errors = TokenStream::new();
    if !attr.is_empty() {
        errors.extend(
            syn::Error::new_spanned(
                &attr,
                "`#[differentiable]` on a trait impl takes no arguments; list the differentiation variables on each method, as in `#[differentiable(self, x)]`",
            )
            .into_compile_error(),
        );
    }
    let in_type = imp.self_ty.to_token_stream().to_string();
    let (kept, loose): (Vec<_>, Vec<_>) =
        (imp.generics.params.iter().cloned()).partition(|p| mentions(&in_type, param_ident(p)));
    let mentions_loose = |pred: &syn::WherePredicate| {
        let words = pred.to_token_stream().to_string();
        loose.iter().any(|p| mentions(&words, param_ident(p)))
    };
    let (loose_bounds, kept_bounds): (Vec<_>, Vec<_>) = imp
        .generics
        .where_clause
        .iter()
        .flat_map(|w| w.predicates.iter().cloned())
        .partition(mentions_loose);
    let mut generated = TokenStream::new();
    let mut marked = false;
    for item in &mut imp.items {
        let syn::ImplItem::Fn(m) = item else { continue };
        let Some(at) = m.attrs.iter().position(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "differentiable")
        }) else {
            continue;
        };
        marked = true;
        let attr = m.attrs.remove(at);
        let args = match attr.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(l) => l.tokens,
            syn::Meta::NameValue(nv) => {
                errors.extend(
                    syn::Error::new_spanned(nv, "expected `#[differentiable(..)]`")
                        .into_compile_error(),
                );
                continue;
            }
        };
        let mut func = ItemFn {
            attrs: m.attrs.clone(),
            // What the trait does not declare is reached through the type:
            // as public as the trait's methods.
            vis: syn::parse_quote!(pub),
            sig: m.sig.clone(),
            block: Box::new(m.block.clone()),
        };
        // The impl's parameters its type does not name (`impl<T: Real>
        // Objective<T> for Rosenbrock`) cannot be an inherent impl's: each
        // generated function takes them itself.
        let own = std::mem::take(&mut func.sig.generics.params);
        func.sig.generics.params = loose.iter().cloned().chain(own).collect();
        if !loose_bounds.is_empty() {
            let clause = func.sig.generics.make_where_clause();
            clause.predicates.extend(loose_bounds.iter().cloned());
        }
        // The impl's type parameters bounded by `Real` are scalars in its methods.
        let mut generics = imp.generics.clone();
        generics
            .params
            .extend(m.sig.generics.params.iter().cloned());
        let errors_of = Errors::new();
        let wrt = parse_wrt(args, &errors_of);
        let (original, beside) =
            crate::symbol::with_scalars(&generics, || expand_fn(&func, wrt, &errors_of));
        m.attrs = original.attrs;
        m.block = *original.block;
        generated.extend(beside);
        if let Err(e) = errors_of.finish() {
            errors.extend(e.into_compile_error());
        }
    }
    if !marked {
        errors.extend(
            syn::Error::new_spanned(
                imp.impl_token,
                "no method of this impl is marked `#[differentiable(..)]`; mark the methods to differentiate, as in `#[differentiable(self, x)]`",
            )
            .into_compile_error(),
        );
    }
    let ty = &imp.self_ty;
    let where_clause = (!kept_bounds.is_empty()).then(|| quote!(where #(#kept_bounds),*));
    quote! {
        #imp
        impl <#(#kept),*> #ty #where_clause {
            #generated
        }
        #errors
    }
}

fn item_keyword(item: &syn::Item) -> TokenStream {
    match item {
        syn::Item::Struct(s) => s.struct_token.into_token_stream(),
        syn::Item::Enum(e) => e.enum_token.into_token_stream(),
        syn::Item::Impl(i) => i.impl_token.into_token_stream(),
        syn::Item::Mod(m) => m.mod_token.into_token_stream(),
        syn::Item::Const(c) => c.const_token.into_token_stream(),
        syn::Item::Static(s) => s.static_token.into_token_stream(),
        other => other.to_token_stream(),
    }
}

/// The user's function (its `sg_for!` compiled as its expression), and what
/// is generated beside it: its gradient or a stub.
fn expand_fn(func: &ItemFn, wrt_attr: Option<Wrt>, errors: &Errors) -> (ItemFn, TokenStream) {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let syn::Signature {
        constness: _,
        asyncness,
        unsafety,
        abi,
        fn_token,
        ident,
        generics,
        paren_token: _,
        inputs,
        variadic,
        output,
    } = sig;

    let mut original = func.clone();
    StripSgFor.visit_block_mut(&mut original.block);
    // Calling only `<name>_grad` uses the function as much as calling it.
    original.attrs.push(syn::parse_quote!(#[allow(dead_code)]));

    if let Some(a) = asyncness {
        errors.push_spanned(a, "`#[differentiable]` does not support `async fn`");
    }
    if let Some(v) = variadic {
        errors.push_spanned(v, "`#[differentiable]` does not support variadic functions");
    }
    // A function that returns an array (`-> Vec<f64>`, a layer) gets
    // `<name>_vjp` instead of `<name>_grad`: the cotangent of its result in,
    // the vector-Jacobian product out.
    let vector = match output {
        ReturnType::Type(_, ty) => vector_element(ty).cloned(),
        ReturnType::Default => None,
    };
    let ret = match output {
        ReturnType::Type(_, ty) => {
            if !is_float_type(ty) && vector.is_none() {
                errors.push_spanned(
                    ty,
                    format!(
                        "a differentiated function must return `f64`, `f32` or a type parameter bounded by `sgrad::Real`, or a `Vec` or array of them, not `{}`",
                        type_name(ty)
                    ),
                );
            }
            ty.to_token_stream()
        }
        ReturnType::Default => {
            errors.push_spanned(ident, format!("`{ident}` returns nothing; a differentiated function must return `f64` or `f32`, e.g. `-> f64`"));
            quote!(())
        }
    };
    let forward = wrt_attr.as_ref().is_some_and(|w| w.forward) && vector.is_none();
    let recompute = wrt_attr.as_ref().is_some_and(|w| w.recompute);
    let latex = wrt_attr.as_ref().and_then(|w| w.latex.clone());
    let forward_span = wrt_attr.as_ref().and_then(|w| w.forward_span);
    let listed = wrt_attr.and_then(|w| w.names);
    // `self` in the list: the receiver is a parameter struct, read through
    // its fields like any other (its gradient has type `Self`).
    let receiver = inputs.iter().find_map(|a| match a {
        FnArg::Receiver(r) => Some(r),
        FnArg::Typed(_) => None,
    });
    let self_listed = listed.iter().flatten().find(|n| *n == "self");
    let self_param: Option<(Pat, syn::Type)> = match (self_listed, receiver) {
        (Some(name), Some(r)) => {
            if r.mutability.is_some() {
                errors.push_spanned(
                    r,
                    format!("`{name}` is listed, but a receiver that is changed (`&mut self`) cannot be differentiated; take `&self` or `self`"),
                );
            }
            Some((
                Pat::Ident(syn::PatIdent {
                    attrs: Vec::new(),
                    by_ref: None,
                    mutability: None,
                    ident: name.clone(),
                    subpat: None,
                }),
                syn::parse_quote!(Self),
            ))
        }
        _ => None,
    };
    let params: Vec<(&Pat, Option<&syn::Type>)> = self_param
        .iter()
        .map(|(p, t)| (p, Some(t)))
        .chain(inputs.iter().filter_map(|a| match a {
            FnArg::Typed(t) => Some((&*t.pat, Some(&*t.ty))),
            FnArg::Receiver(_) => None,
        }))
        .collect();
    let wrt = select_wrt(listed.clone(), &params, ident, "function", errors);
    if forward {
        for (name, ty) in &wrt {
            if gradient_type(ty).is_none() {
                errors.push_spanned(
                    name,
                    format!("`{name}` is a parameter struct; the `forward` option (`_jvp`) takes only float, array, slice and `Vec` variables so far"),
                );
            }
        }
    }

    if let (Some(at), Some(_)) = (forward_span, &vector) {
        errors.push(syn::Error::new(
            at,
            format!("`{ident}` returns an array, and the `forward` option (`_jvp`) takes functions that return one number so far; remove it and use `{ident}_vjp`"),
        ));
    }
    let grad_name = match vector {
        Some(_) => names::vjp_fn(ident),
        None => names::grad_fn(ident),
    };
    // `<name>_vjp` and its pullback take the cotangent of the result last.
    let cotangent = vector.as_ref().map(|elem| {
        let c = names::cotangent();
        quote!(#c: &[#elem])
    });
    // `#inputs` keeps a trailing comma (rustfmt writes one in long signatures).
    let params_no_comma: Vec<&FnArg> = inputs.iter().collect();
    let grad_types = slot_types(listed.as_deref(), &wrt, &ret);
    let grad_ty = emit::value_and_gradient(&ret, &grad_types);
    let where_clause = &generics.where_clause;
    let shared = emit::shared_attrs(attrs);
    let allows = emit::lint_allows();
    let wrt_names: Vec<Ident> = wrt.iter().map(|(i, _)| i.clone()).collect();
    let doc = match vector {
        Some(_) => emit::emit_vjp_doc(ident, &wrt_names),
        None => emit::emit_doc(ident, &wrt_names),
    };

    // The pullback: the gradient with respect to every parameter, in order
    // (`NoGradient` for those not differentiated), for callers to compose.
    // Float parameters left off the list are differentiated there too where
    // they can be (`through`), so that callers can pass derivatives through them.
    // A method's receiver has a slot too (`NoGradient`), so that
    // `Type::method(receiver, ..)` lines its arguments up with the gradients.
    let through = if errors.has_errors() || wrt.is_empty() {
        Vec::new()
    } else {
        through_params(&params, &wrt, block, vector.is_some())
    };
    let pullback_wrt: Vec<(Ident, syn::Type)> = wrt.iter().chain(&through).cloned().collect();
    let slots: Vec<Option<usize>> = receiver
        .filter(|_| self_param.is_none())
        .map(|_| None)
        .into_iter()
        .chain(params.iter().map(|(p, _)| match p {
            Pat::Ident(i) => pullback_wrt.iter().position(|(w, _)| *w == i.ident),
            _ => None,
        }))
        .collect();
    let pullback_types = slots.iter().map(|slot| match slot {
        Some(j) => gradient_tokens(&pullback_wrt[*j].1),
        None => quote!(::sgrad::NoGradient),
    });
    let pullback_ty = quote!((#ret, (#(#pullback_types,)*)));
    let pullback_name = names::pullback_fn(ident);
    let pullback_doc = match vector {
        Some(_) => format!(
            " Value of `{ident}` and `cotangent · ∂{ident}/∂p` for each parameter `p` in order (`NoGradient` for parameters it does not differentiate): what a differentiated function calling `{ident}` uses. Generated by `#[sgrad::differentiable]`."
        ),
        None => format!(
            " Value of `{ident}` and its gradient with respect to each parameter in order (`NoGradient` for parameters it does not differentiate): what a differentiated function calling `{ident}` uses. Generated by `#[sgrad::differentiable]`."
        ),
    };

    // Forward mode: one tangent parameter per differentiation variable, of its type.
    let seeds: Vec<Ident> = wrt
        .iter()
        .map(|(w, _)| quote::format_ident!("tangent_{}", w))
        .collect();
    let bodies = if errors.has_errors() || wrt.is_empty() {
        None
    } else {
        gradient_bodies(
            Input {
                params: params.clone(),
                wrt: wrt.clone(),
                body: Body::Block(block),
                returns_array: vector.is_some(),
            },
            (!through.is_empty()).then(|| Input {
                params: params.clone(),
                wrt: pullback_wrt.clone(),
                body: Body::Block(block),
                returns_array: vector.is_some(),
            }),
            &slots,
            forward.then_some(&seeds[..]),
            recompute,
            errors,
        )
    };
    // Warnings for stops that stop nothing, and for listed variables whose
    // gradient is always zero, under the function's own lint levels.
    let (body, pullback, jvp, mut found, zero) = match bodies {
        Some(b) => (b.grad, b.pullback, b.jvp, b.stops, b.zero),
        None => {
            let stub = quote!(::core::unreachable!());
            (
                stub.clone(),
                stub.clone(),
                Some(stub),
                Vec::new(),
                Vec::new(),
            )
        }
    };
    if let Some(names) = &listed {
        for ((w, _), zero) in wrt.iter().zip(&zero) {
            // Zero by construction: no adjoint, and named nowhere but in stops.
            if *zero && !warnings::named_outside_stops(block, w) {
                let at = names.iter().find(|n| *n == w).unwrap_or(w);
                found.push(warnings::zero_gradient(at));
            }
        }
    }
    let lints: TokenStream = (attrs.iter())
        .filter(|a| {
            ["allow", "warn", "deny", "expect", "forbid"]
                .iter()
                .any(|l| a.path().is_ident(l))
        })
        .map(ToTokens::to_token_stream)
        .collect();
    let found = warnings::emit(ident, &found, &lints);
    let jvp = jvp.filter(|_| forward).map(|jvp| {
        let jvp_name = names::jvp_fn(ident);
        let tangent_types = wrt.iter().map(|(_, t)| t);
        let jvp_doc = format!(
            " Value of `{ident}` and its derivative in the direction ({}) of ({}), by forward mode: `(value, Σ ∂{ident}/∂v · tangent_v)`, with the same `sg`/`sg_for!` meaning per variable as `{ident}_grad`. Generated by `#[sgrad::differentiable(..; forward)]`.",
            seeds.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            wrt.iter().map(|(w, _)| w.to_string()).collect::<Vec<_>>().join(", "),
        );
        quote! {
            #[doc = #jvp_doc]
            #shared
            #allows
            #vis #unsafety #abi #fn_token #jvp_name #generics (#(#params_no_comma,)* #(#seeds: #tangent_types),*) -> (#ret, #ret) #where_clause {
                #jvp
            }
        }
    });
    // `latex`: `<name>_latex()`, the function as mathematics (latex.rs).
    let latex = latex.map(|n| crate::latex::emit(func, &wrt_names, &n, errors));
    let components = if errors.has_errors() || receiver.is_some() {
        TokenStream::new()
    } else {
        gradient_components(
            func,
            &wrt,
            &pullback_wrt,
            &slots,
            forward.then_some(&seeds[..]),
        )
    };
    let generated = quote! {
        #found
        #components
        #doc
        #shared
        #allows
        #vis #unsafety #abi #fn_token #grad_name #generics (#(#params_no_comma,)* #cotangent) -> #grad_ty #where_clause {
            #body
        }
        #[doc = #pullback_doc]
        #shared
        #allows
        #vis #unsafety #abi #fn_token #pullback_name #generics (#(#params_no_comma,)* #cotangent) -> #pullback_ty #where_clause {
            #pullback
        }
        #jvp
        #latex
    };
    (original, generated)
}

/// Whether the printed tokens `words` contain the identifier `ident`.
fn mentions(words: &str, ident: &Ident) -> bool {
    words
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| *ident == w)
}

fn param_ident(p: &syn::GenericParam) -> &Ident {
    match p {
        syn::GenericParam::Type(t) => &t.ident,
        syn::GenericParam::Const(c) => &c.ident,
        syn::GenericParam::Lifetime(l) => &l.lifetime.ident,
    }
}

/// The body of a closure's gradient; `None` after errors.
fn gradient_body(input: Input, errors: &Errors) -> Option<TokenStream> {
    let (f, sweeps, _) = differentiate(input, None, false, errors)?;
    Some(emit::emit_body(&f, &sweeps))
}

/// The bodies of `<name>_grad` and `<name>_pullback` (the same sweeps, with
/// the gradients arranged per differentiation variable or per parameter),
/// and with `seeds`, of `<name>_jvp`.
/// `pullback_input`: the pullback's own differentiation variables when they
/// are more than `_grad`'s (see `through_params`).
fn gradient_bodies(
    input: Input,
    pullback_input: Option<Input>,
    slots: &[Option<usize>],
    seeds: Option<&[Ident]>,
    recompute: bool,
    errors: &Errors,
) -> Option<Bodies> {
    let (f, sweeps, stops) = differentiate(input, seeds, recompute, errors)?;
    let value = operand(&f.vars, &f.body.yields[0]);
    let jvp = sweeps
        .jvp
        .as_ref()
        .map(|(sweep, derivative)| quote!(#sweep (#value, #derivative)));
    let grad = emit::emit_body(&f, &sweeps);
    let (pullback, stops) = match pullback_input {
        None => (emit::emit_pullback(&f, &sweeps, slots), stops),
        // A stop is useless if it stops nothing for callers either.
        Some(input) => {
            let (f, sweeps, stops) = differentiate(input, None, recompute, errors)?;
            (emit::emit_pullback(&f, &sweeps, slots), stops)
        }
    };
    Some(Bodies {
        grad,
        pullback,
        jvp,
        stops,
        zero: sweeps.zero,
    })
}

/// The bodies of a function's generated functions, and what they found.
struct Bodies {
    grad: TokenStream,
    pullback: TokenStream,
    jvp: Option<TokenStream>,
    /// Stops that stop nothing.
    stops: Vec<Warning>,
    /// Per differentiation variable: its gradient is zero by construction.
    zero: Vec<bool>,
}

/// The float parameters not listed that the pullback can differentiate as
/// well, so that a caller may pass a derivative through them: those whose
/// derivative reaches only what the macro differentiates itself. Not one
/// that reaches a call of another function (which may not differentiate
/// with respect to it) or code passed through, nor arrays (whose gradient
/// would cost every caller an array). Found by a trial run per parameter
/// in which every other variable is blocked at a site no code uses, so the
/// parameter's class is its own.
fn through_params(
    params: &[(&Pat, Option<&syn::Type>)],
    wrt: &[(Ident, syn::Type)],
    block: &syn::Block,
    returns_array: bool,
) -> Vec<(Ident, syn::Type)> {
    let candidates = params.iter().filter_map(|(p, ty)| match (p, ty) {
        (Pat::Ident(i), Some(ty))
            if i.by_ref.is_none()
                && i.subpat.is_none()
                && is_float_type(ty)
                && !wrt.iter().any(|(w, _)| *w == i.ident) =>
        {
            Some((i.ident.clone(), (*ty).clone()))
        }
        _ => None,
    });
    candidates
        .filter(|candidate| {
            let scratch = Errors::new();
            let mut trial_wrt = wrt.to_vec();
            trial_wrt.push(candidate.clone());
            let mut f = lower::from_syn(
                Input {
                    params: params.to_vec(),
                    wrt: trial_wrt,
                    body: Body::Block(block),
                    returns_array,
                },
                &scratch,
            );
            let users = wrt.len();
            let others = (0..f.wrt.len()).filter(|&j| j != users).collect();
            f.sites.push(crate::ir::Site {
                blocked: Some(others),
            });
            let act = activity::analyze(&f, &scratch);
            let k = act.class_of[users];
            let mut reaches_call = false;
            crate::ir::walk(&f.body.stmts, &mut |s| {
                if let crate::ir::Stmt::Let {
                    prim: crate::ir::Prim::Call { args, .. },
                    ..
                } = s
                {
                    reaches_call |= args
                        .iter()
                        .any(|a| a.value.var().is_some_and(|v| act.is_varied(v, k)));
                }
            });
            let ok = !scratch.has_errors() && !reaches_call;
            // The trial's errors are not the user's.
            let _ = scratch.finish();
            ok
        })
        .collect()
}

/// The pipeline, once: lower, analyse, print the sweeps; `None` after errors.
/// `recompute`: the attribute's option (`sweep::run`).
/// Also the stops that stop nothing (`warnings.rs`).
fn differentiate(
    input: Input,
    seeds: Option<&[Ident]>,
    recompute: bool,
    errors: &Errors,
) -> Option<(Function, Sweeps, Vec<Warning>)> {
    let f = lower::from_syn(input, errors);
    let act = activity::analyze(&f, errors);
    if errors.has_errors() {
        return None;
    }
    let sweeps = sweep::run(&f, &act, seeds, recompute);
    let stops = warnings::useless_stops(&f, &act);
    Some((f, sweeps, stops))
}

/// The differentiation variables: the listed ones, or every float parameter.
/// The gradient's types: one per listed name even where the name was wrong,
/// so that a stub after an error still has the shape callers destructure.
fn slot_types(
    listed: Option<&[Ident]>,
    wrt: &[(Ident, syn::Type)],
    fallback: &TokenStream,
) -> Vec<TokenStream> {
    let fallback = if fallback.to_string() == "()" {
        quote!(f64)
    } else {
        fallback.clone()
    };
    match listed {
        Some(names) => names
            .iter()
            .map(|n| {
                wrt.iter()
                    .find(|(w, _)| w == n)
                    .map_or_else(|| fallback.clone(), |(_, t)| gradient_tokens(t))
            })
            .collect(),
        None => wrt.iter().map(|(_, t)| gradient_tokens(t)).collect(),
    }
}

/// The gradient's type for a differentiation variable of type `ty`: a
/// parameter struct's is the struct itself, by value.
fn gradient_tokens(ty: &syn::Type) -> TokenStream {
    match gradient_type(ty) {
        Some((g, _)) => g,
        None => struct_type(ty).map_or_else(|| ty.to_token_stream(), |s| s.to_token_stream()),
    }
}

/// A type as users write it (`&'static str`, `Vec<f64>`), for messages.
fn type_name(ty: &syn::Type) -> String {
    let mut s = ty.to_token_stream().to_string();
    for (from, to) in [
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        ("& ", "&"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
        ("( ", "("),
        (" )", ")"),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// Every identifier a pattern binds.
fn pattern_idents(p: &Pat, out: &mut Vec<Ident>) {
    match p {
        Pat::Ident(i) => out.push(i.ident.clone()),
        Pat::Type(t) => pattern_idents(&t.pat, out),
        Pat::Paren(p) => pattern_idents(&p.pat, out),
        Pat::Reference(r) => pattern_idents(&r.pat, out),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| pattern_idents(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| pattern_idents(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pattern_idents(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| pattern_idents(p, out)),
        _ => {}
    }
}

fn select_wrt(
    names: Option<Vec<Ident>>,
    params: &[(&Pat, Option<&syn::Type>)],
    owner: &dyn ToTokens,
    what: &str,
    errors: &Errors,
) -> Vec<(Ident, syn::Type)> {
    let ident_of = |p: &Pat| match p {
        Pat::Ident(i) if i.subpat.is_none() && i.by_ref.is_none() => Some(i.ident.clone()),
        _ => None,
    };
    let Some(names) = names else {
        let all: Vec<(Ident, syn::Type)> = params
            .iter()
            .filter_map(|(p, t)| Some((ident_of(p)?, (*t)?.clone())))
            // Bare `#[differentiable]` takes the float scalars; arrays are listed.
            .filter(|(_, t)| is_float_type(t))
            .collect();
        if all.is_empty() {
            let example = if what == "closure" {
                "`grad!(|x: &[f64]| .., wrt(x))`"
            } else {
                "`#[differentiable(x)]`"
            };
            errors.push_spanned(
                owner,
                format!("this {what} has no parameter of type `f64` or `f32` to differentiate with respect to; to differentiate with respect to arrays, slices or `Vec`s, list them, as in {example}"),
            );
        }
        return all;
    };
    let mut wrt: Vec<(Ident, syn::Type)> = Vec::new();
    for name in names {
        if wrt.iter().any(|(w, _)| *w == name) {
            errors.push_spanned(&name, format!("`{name}` is listed twice"));
            continue;
        }
        let found = params
            .iter()
            .find(|(p, _)| ident_of(p).is_some_and(|i| i == name));
        let in_pattern = || {
            params.iter().any(|(p, _)| {
                let mut bound = Vec::new();
                pattern_idents(p, &mut bound);
                ident_of(p).is_none() && bound.contains(&name)
            })
        };
        match found {
            None if in_pattern() => errors.push_spanned(
                &name,
                format!("`{name}` is bound by a pattern; only a parameter written as a plain name, e.g. `{name}: f64`, can be differentiated"),
            ),
            None => {
                let list = params
                    .iter()
                    .filter_map(|(p, _)| ident_of(p))
                    .map(|i| format!("`{i}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let message = if list.is_empty() {
                    format!("`{name}` is not a parameter of this {what}, which has none to differentiate")
                } else {
                    format!("`{name}` is not a parameter of this {what}; its parameters are {list}")
                };
                errors.push_spanned(&name, message);
            }
            Some((_, None)) => errors.push_spanned(
                &name,
                format!("give `{name}` a type to differentiate with respect to it, e.g. `|{name}: f64|`"),
            ),
            Some((_, Some(ty))) if gradient_type(ty).is_none() && struct_type(ty).is_none() => errors.push_spanned(
                ty,
                format!(
                    "cannot differentiate with respect to `{name}`: its type is `{}`; differentiation variables must be `f64` or `f32`, arrays, slices or `Vec`s of them, or structs that derive `sgrad::Differentiable`",
                    type_name(ty)
                ),
            ),
            Some((_, Some(ty))) => wrt.push((name, (*ty).clone())),
        }
    }
    wrt
}

pub fn grad(input: TokenStream) -> TokenStream {
    let GradInput { closure, wrt } = match syn::parse2(input) {
        Ok(g) => g,
        Err(e) => return e.into_compile_error(),
    };
    let errors = Errors::new();
    let out = expand_closure(&closure, wrt.map(|(_, names)| names), &errors);
    match errors.finish() {
        Ok(()) => out,
        Err(e) => {
            let e = e.into_compile_error();
            quote!({ #e #out })
        }
    }
}

fn expand_closure(
    closure: &syn::ExprClosure,
    names: Option<Vec<Ident>>,
    errors: &Errors,
) -> TokenStream {
    let syn::ExprClosure {
        attrs,
        lifetimes: _,
        constness: _,
        movability: _,
        asyncness,
        capture,
        or1_token,
        inputs,
        or2_token,
        output,
        body,
    } = closure;
    if let Some(a) = asyncness {
        errors.push_spanned(a, "`grad!` does not support `async` closures");
    }
    let params: Vec<(&Pat, Option<&syn::Type>)> = inputs
        .iter()
        .map(|p| match p {
            Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            p => (p, None),
        })
        .collect();
    let bars = quote!(#or1_token #inputs #or2_token);
    let wrt = select_wrt(names.clone(), &params, &bars, "closure", errors);
    let value_ty = match output {
        ReturnType::Type(_, ty) => {
            if !is_float_type(ty) {
                errors.push_spanned(
                    ty,
                    format!(
                        "the closure must return `f64` or `f32`, not `{}`",
                        type_name(ty)
                    ),
                );
            }
            Some(ty.to_token_stream())
        }
        ReturnType::Default => None,
    };
    let grad_types = slot_types(
        names.as_deref(),
        &wrt,
        value_ty.as_ref().unwrap_or(&quote!(f64)),
    );
    let body_tokens = if errors.has_errors() || wrt.is_empty() {
        None
    } else {
        gradient_body(
            Input {
                params: params.clone(),
                wrt: wrt.clone(),
                body: Body::Expr(body),
                returns_array: false,
            },
            errors,
        )
    };
    let allows = emit::lint_allows();
    match body_tokens {
        Some(b) => {
            let ret = value_ty.map(|v| {
                let t = emit::value_and_gradient(&v, &grad_types);
                quote!(-> #t)
            });
            // Lint attributes cannot go on a closure expression; a `let` carries them.
            quote!({
                #allows
                let __ad_closure = #(#attrs)* #capture |#inputs| #ret { #b };
                __ad_closure
            })
        }
        None => {
            let v = value_ty
                .or_else(|| grad_types.first().cloned())
                .unwrap_or_else(|| quote!(f64));
            let t = emit::value_and_gradient(&v, &grad_types);
            // The body, never called, keeps the user's imports and captures used.
            let mut body = (**body).clone();
            StripSgFor.visit_expr_mut(&mut body);
            quote!({
                #allows
                let __ad_closure = #capture |#inputs| -> #t {
                    let _ = || #body;
                    ::core::unreachable!()
                };
                __ad_closure
            })
        }
    }
}

/// For a function generic over `T: Real` whose differentiated parameters
/// are all `T`: each component of its gradient as a function of its own,
/// `<name>_grad_<j>`, with a pullback (`<name>_grad_<j>_pullback`), so that
/// differentiated code can call `<name>_grad` (reverse over reverse, as in
/// a gradient step inside an objective). The pullback of a gradient's
/// component is a row of the Hessian, and by symmetry the column that one
/// forward-mode sweep of `<name>_pullback` on dual numbers gives (tangent 1
/// on that variable); the rows for unlisted float parameters are the mixed
/// partials the same sweep gives. Nothing is generated otherwise (a call
/// then fails to find `<name>_grad_0_pullback`).
fn gradient_components(
    func: &ItemFn,
    wrt: &[(Ident, syn::Type)],
    pullback_wrt: &[(Ident, syn::Type)],
    slots: &[Option<usize>],
    seeds: Option<&[Ident]>,
) -> TokenStream {
    let Some(t) = crate::symbol::real_parameter() else {
        return TokenStream::new();
    };
    let is_t = |ty: &syn::Type| matches!(ty, syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident(&t));
    let sig = &func.sig;
    let ReturnType::Type(_, ret) = &sig.output else {
        return TokenStream::new();
    };
    if !is_t(ret) || !pullback_wrt.iter().all(|(_, ty)| is_t(ty)) {
        return TokenStream::new();
    }
    // Every parameter a plain name; those not differentiated of a type without `T`.
    let mut names = Vec::new();
    for arg in &sig.inputs {
        let FnArg::Typed(pt) = arg else {
            return TokenStream::new();
        };
        let Pat::Ident(i) = &*pt.pat else {
            return TokenStream::new();
        };
        let differentiated = pullback_wrt.iter().any(|(w, _)| *w == i.ident);
        let mentions_t = pt
            .ty
            .to_token_stream()
            .into_iter()
            .any(|tt| tt.to_string() == t);
        if !differentiated && mentions_t {
            return TokenStream::new();
        }
        names.push(i.ident.clone());
    }
    let name = &sig.ident;
    let (grad, pullback) = (names::grad_fn(name), names::pullback_fn(name));
    let (vis, generics, where_clause) = (&func.vis, &sig.generics, &sig.generics.where_clause);
    let inputs = &sig.inputs;
    let t: Ident = Ident::new(&t, proc_macro2::Span::call_site());
    let many = wrt.len() > 1;
    let rt = quote!(::sgrad);
    // The arguments of one dual sweep of `f_pullback`: each parameter
    // moving along `direction(n)` if it has one, held still if the pullback
    // differentiates it, as it is otherwise.
    let lift = |direction: &dyn Fn(&Ident) -> Option<TokenStream>| -> Vec<TokenStream> {
        (names.iter())
            .map(|n| match direction(n) {
                Some(d) => quote!(#rt::Dual::new(#n, #d)),
                None if pullback_wrt.iter().any(|(p, _)| p == n) => {
                    quote!(#rt::Dual::constant(#n))
                }
                None => quote!(#n),
            })
            .collect()
    };
    // `__ad_grads.<slot><part>` per parameter (`NoGradient` where the
    // pullback has none), and those slots' types.
    let per_slot = |part: TokenStream| -> Vec<TokenStream> {
        (slots.iter().enumerate())
            .map(|(i, s)| match s {
                Some(_) => {
                    let i = syn::Index::from(i);
                    quote!(__ad_grads.#i #part)
                }
                None => quote!(#rt::NoGradient),
            })
            .collect()
    };
    let slot_types: Vec<TokenStream> = (slots.iter())
        .map(|s| match s {
            Some(_) => quote!(#t),
            None => quote!(#rt::NoGradient),
        })
        .collect();
    let rows = per_slot(quote!(.eps));
    let mut out = TokenStream::new();
    for (j, (w, _)) in wrt.iter().enumerate() {
        let component = quote::format_ident!("{}_grad_{}", name, j);
        let component_pullback = names::pullback_fn(&component);
        let index = syn::Index::from(j);
        let pick = if many { quote!(.1.#index) } else { quote!(.1) };
        let lifted = lift(&|n| (n == w).then(|| quote!(<#t as #rt::Real>::one())));
        let own = slots
            .iter()
            .position(|s| *s == Some(j))
            .map(syn::Index::from);
        let doc = format!(" Component `{w}` of the gradient of `{name}`, for differentiated code that calls `{grad}` (reverse over reverse). Generated by `#[sgrad::differentiable]`.");
        let pdoc = format!(" `{component}` and its gradient with respect to each parameter: the row of the Hessian of `{name}` for `{w}`, by one forward-mode sweep of `{pullback}`. Generated by `#[sgrad::differentiable]`.");
        out.extend(quote! {
            #[doc = #doc]
            #[doc(hidden)]
            #[allow(dead_code, clippy::all)]
            #vis fn #component #generics (#inputs) -> #t #where_clause {
                #grad(#(#names),*) #pick
            }
            #[doc = #pdoc]
            #[doc(hidden)]
            #[allow(dead_code, clippy::all)]
            #vis fn #component_pullback #generics (#inputs) -> (#t, (#(#slot_types,)*)) #where_clause {
                let (_, __ad_grads) = #pullback(#(#lifted),*);
                (__ad_grads.#own.re, (#(#rows,)*))
            }
        });
    }
    // With `; forward`: `f_jvp`'s value and derivative as components
    // `f_jvp_0` and `f_jvp_1`, so that `let (v, d) = f_jvp(x, t)` composes
    // (reverse over forward). `d = ∇f · t`, so its pullback is `H t` for
    // `x` and `∇f` for `t`: one forward-mode sweep of `f_pullback` with `x`
    // moving along `t`.
    let Some(seeds) = seeds else { return out };
    let jvp = names::jvp_fn(name);
    let seed_types = wrt.iter().map(|_| &t);
    let inputs_list = sig.inputs.iter();
    let seed_params = quote!(#(#inputs_list,)* #(#seeds: #seed_types),*);
    let all: Vec<&Ident> = names.iter().chain(seeds).collect();
    let lifted = lift(&|n| {
        let j = wrt.iter().position(|(w, _)| w == n)?;
        let seed = &seeds[j];
        Some(quote!(#seed))
    });
    let of_seeds = wrt.iter().map(|(w, _)| {
        let i = names.iter().position(|n| n == w).map(syn::Index::from);
        quote!(__ad_grads.#i.re)
    });
    let value_rows = per_slot(TokenStream::new());
    let zeros = wrt.iter().map(|_| quote!(<#t as #rt::Real>::zero()));
    let t_type = quote!(#t);
    let row_types: Vec<&TokenStream> = slot_types
        .iter()
        .chain(wrt.iter().map(|_| &t_type))
        .collect();
    let (value, derivative) = (
        quote::format_ident!("{}_jvp_0", name),
        quote::format_ident!("{}_jvp_1", name),
    );
    let (value_pullback, derivative_pullback) =
        (names::pullback_fn(&value), names::pullback_fn(&derivative));
    let doc = format!(" The value and the directional derivative of `{jvp}` as functions of their own, for differentiated code that calls `{jvp}` (reverse over forward). Generated by `#[sgrad::differentiable(..; forward)]`.");
    out.extend(quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(dead_code, unused, clippy::all)]
        #vis fn #value #generics (#seed_params) -> #t #where_clause {
            #jvp(#(#all),*).0
        }
        #[doc(hidden)]
        #[allow(dead_code, unused, clippy::all)]
        #vis fn #value_pullback #generics (#seed_params) -> (#t, (#(#row_types,)*)) #where_clause {
            let (__ad_value, __ad_grads) = #pullback(#(#names),*);
            (__ad_value, (#(#value_rows,)* #(#zeros,)*))
        }
        #[doc(hidden)]
        #[allow(dead_code, unused, clippy::all)]
        #vis fn #derivative #generics (#seed_params) -> #t #where_clause {
            #jvp(#(#all),*).1
        }
        #[doc(hidden)]
        #[allow(dead_code, unused, clippy::all)]
        #vis fn #derivative_pullback #generics (#seed_params) -> (#t, (#(#row_types,)*)) #where_clause {
            let (_, __ad_grads) = #pullback(#(#lifted),*);
            (#jvp(#(#all),*).1, (#(#rows,)* #(#of_seeds,)*))
        }
    });
    out
}
