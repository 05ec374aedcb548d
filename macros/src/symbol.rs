//! Names the macro recognises in user code.

/// `sg(e)`: the runtime function that stops the gradient for every variable.
pub const SG: &str = "sg";
/// `sg_for!(v, e)`: stops the gradient for the listed variables only.
pub const SG_FOR: &str = "sg_for";
/// `grad!(closure, wrt(..))`.
pub const WRT: &str = "wrt";
/// The crate generated code refers to.
pub const CRATE: &str = "sgrad";
/// The float types a differentiation variable may have.
pub const FLOATS: [&str; 2] = ["f64", "f32"];

/// The type of the gradient with respect to a variable of type `ty`, and
/// whether it is an array: `f64` → `f64`; `[T; N]` and `&[T; N]` → `[T; N]`;
/// `&[T]`, `Vec<T>` and `&Vec<T>` → `Vec<T>` (T = `f64` or `f32`). `None` if
/// the type cannot be differentiated.
pub fn gradient_type(ty: &syn::Type) -> Option<(proc_macro2::TokenStream, bool)> {
    use quote::quote;
    match ty {
        t if is_float_type(t) => Some((quote!(#t), false)),
        syn::Type::Array(a) if is_float_type(&a.elem) => Some((quote!(#a), true)),
        syn::Type::Reference(r) if r.mutability.is_none() => match &*r.elem {
            syn::Type::Array(a) if is_float_type(&a.elem) => Some((quote!(#a), true)),
            syn::Type::Slice(s) if is_float_type(&s.elem) => {
                let e = &s.elem;
                Some((quote!(::std::vec::Vec<#e>), true))
            }
            inner => vec_elem(inner).map(|e| (quote!(::std::vec::Vec<#e>), true)),
        },
        t => vec_elem(t).map(|e| (quote!(::std::vec::Vec<#e>), true)),
    }
}

/// `T` if `ty` is `Vec<T>` with `T` a float.
fn vec_elem(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Vec" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) if args.args.len() == 1 && is_float_type(t) => Some(t),
        _ => None,
    }
}

/// Whether `ty` is `f64` or `f32`.
pub fn is_float_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p
            .path
            .get_ident()
            .is_some_and(|i| FLOATS.iter().any(|f| i == f)),
        syn::Type::Paren(p) => is_float_type(&p.elem),
        syn::Type::Group(g) => is_float_type(&g.elem),
        _ => false,
    }
}
