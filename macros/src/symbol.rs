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
/// its rank (how many indexings reach a float): `f64` → `f64`; `[T; N]` and
/// `&[T; N]` → `[G; N]`; `&[T]`, `Vec<T>` and `&Vec<T>` → `Vec<G>`, where `G`
/// is the gradient type of `T`, a float or again an array; `ndarray`'s
/// `Array1<F>`, `ArrayView1<F>` → `Array1<F>` and `Array2<F>`, `ArrayView2<F>`
/// → `Array2<F>` (see `ndarray_type`). `None` if the type cannot be
/// differentiated.
pub fn gradient_type(ty: &syn::Type) -> Option<(proc_macro2::TokenStream, usize)> {
    if let Some((elem, rank)) = ndarray_type(ty) {
        return Some((ndarray_gradient(elem, rank), rank));
    }
    match ty {
        syn::Type::Reference(r) if r.mutability.is_none() => match &*r.elem {
            syn::Type::Slice(s) => vec_gradient(&s.elem),
            inner => array_gradient(inner),
        },
        t if is_float_type(t) => Some((quote::quote!(#t), 0)),
        t => array_gradient(t),
    }
}

/// The `ndarray` array types (with the `ndarray` feature of `sgrad`) a
/// differentiation variable may have, and their ranks: owned arrays and
/// views, by value or by reference.
pub const NDARRAYS: [(&str, usize); 4] = [
    ("Array1", 1),
    ("ArrayView1", 1),
    ("Array2", 2),
    ("ArrayView2", 2),
];

/// If `ty` is an `ndarray` array of floats (`ArrayView1<f64>`, `&Array2<T>`,
/// `ndarray::ArrayView1<'a, f32>`), by value or by one shared reference:
/// its element type and rank. Recognised by name: the macro never sees the
/// crate, and a type of another crate with the same name gives a type error
/// in the generated code, never a wrong derivative.
pub fn ndarray_type(ty: &syn::Type) -> Option<(&syn::Type, usize)> {
    let ty = match ty {
        syn::Type::Reference(r) if r.mutability.is_none() => &*r.elem,
        t => t,
    };
    match ty {
        syn::Type::Paren(p) => return ndarray_type(&p.elem),
        syn::Type::Group(g) => return ndarray_type(&g.elem),
        _ => {}
    }
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    let rank = NDARRAYS.iter().find(|(n, _)| last.ident == n)?.1;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    // `ArrayView1<'a, f64>`: lifetimes first, then the one element type.
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Lifetime(_) => None,
        syn::GenericArgument::Type(t) => Some(Some(t)),
        _ => Some(None),
    });
    let elem = types.next()??;
    (types.next().is_none() && is_float_type(elem)).then_some((elem, rank))
}

/// `::sgrad::__private::ndarray::Array1<F>` (or `Array2`): the gradient of an
/// `ndarray` variable, an owned array of its shape.
fn ndarray_gradient(elem: &syn::Type, rank: usize) -> proc_macro2::TokenStream {
    let krate = proc_macro2::Ident::new(CRATE, proc_macro2::Span::call_site());
    let array = quote::format_ident!("Array{}", rank);
    quote::quote!(::#krate::__private::ndarray::#array<#elem>)
}

/// `[T; N]` or `Vec<T>`, with `T` differentiable (a float or an array).
fn array_gradient(ty: &syn::Type) -> Option<(proc_macro2::TokenStream, usize)> {
    match ty {
        syn::Type::Array(a) => {
            let (g, rank) = element_gradient(&a.elem)?;
            let len = &a.len;
            Some((quote::quote!([#g; #len]), rank + 1))
        }
        syn::Type::Paren(p) => array_gradient(&p.elem),
        syn::Type::Group(g) => array_gradient(&g.elem),
        t => vec_gradient(vec_elem(t)?),
    }
}

fn vec_gradient(elem: &syn::Type) -> Option<(proc_macro2::TokenStream, usize)> {
    let (g, rank) = element_gradient(elem)?;
    Some((quote::quote!(::std::vec::Vec<#g>), rank + 1))
}

/// The element of an array: a float, or an array by value.
fn element_gradient(elem: &syn::Type) -> Option<(proc_macro2::TokenStream, usize)> {
    if is_float_type(elem) {
        Some((quote::quote!(#elem), 0))
    } else {
        array_gradient(elem)
    }
}

/// `F` if `ty` is `Vec<F>` or `[F; N]` with `F` a float: the result of a
/// function whose entry point is `<name>_vjp`.
pub fn vector_element(ty: &syn::Type) -> Option<&syn::Type> {
    let elem = match ty {
        syn::Type::Array(a) => &*a.elem,
        syn::Type::Paren(p) => return vector_element(&p.elem),
        syn::Type::Group(g) => return vector_element(&g.elem),
        t => vec_elem(t)?,
    };
    is_float_type(elem).then_some(elem)
}

/// `T` if `ty` is `Vec<T>`.
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
        syn::GenericArgument::Type(t) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

thread_local! {
    /// The type parameters of the function being expanded that are bounded by
    /// `Real` (`fn f<T: Real>`): scalars like `f64`. Set for the length of one
    /// expansion (`with_scalars`), so every type check below sees them without
    /// threading them through each call.
    static SCALARS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with the `Real`-bounded type parameters of `generics` counted as floats.
pub fn with_scalars<R>(generics: &syn::Generics, f: impl FnOnce() -> R) -> R {
    let bounded_by_real =
        |bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>| {
            bounds.iter().any(|b| {
                matches!(b, syn::TypeParamBound::Trait(t)
                if t.path.segments.last().is_some_and(|s| s.ident == "Real"))
            })
        };
    let mut names: Vec<String> = generics
        .type_params()
        .filter(|t| bounded_by_real(&t.bounds))
        .map(|t| t.ident.to_string())
        .collect();
    if let Some(w) = &generics.where_clause {
        for p in &w.predicates {
            if let syn::WherePredicate::Type(t) = p {
                if let syn::Type::Path(tp) = &t.bounded_ty {
                    if let Some(i) = tp.path.get_ident() {
                        if bounded_by_real(&t.bounds) {
                            names.push(i.to_string());
                        }
                    }
                }
            }
        }
    }
    let previous = SCALARS.with(|s| std::mem::replace(&mut *s.borrow_mut(), names));
    let result = f();
    SCALARS.with(|s| *s.borrow_mut() = previous);
    result
}

/// Whether `ty` is `f64`, `f32`, or a type parameter bounded by `Real`.
pub fn is_float_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p.path.get_ident().is_some_and(|i| {
            FLOATS.iter().any(|f| i == f) || SCALARS.with(|s| s.borrow().iter().any(|n| i == n))
        }),
        syn::Type::Paren(p) => is_float_type(&p.elem),
        syn::Type::Group(g) => is_float_type(&g.elem),
        _ => false,
    }
}

/// Types that are never parameter structs: numbers that are not floats,
/// text, and the standard containers (whose float forms `gradient_type` knows).
const NOT_STRUCTS: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "bool",
    "char", "str", "String", "Vec", "Option", "Result", "Box", "Rc", "Arc", "HashMap", "BTreeMap",
    "HashSet", "BTreeSet",
];

/// If `ty` is a parameter struct (`Mlp`, `&Mlp`, `model::Mlp<f64>`,
/// `Self`): the type of its gradient, the struct itself by value.
pub fn struct_type(ty: &syn::Type) -> Option<syn::Type> {
    match ty {
        syn::Type::Reference(r) if r.mutability.is_none() => struct_type(&r.elem),
        syn::Type::Paren(p) => struct_type(&p.elem),
        syn::Type::Group(g) => struct_type(&g.elem),
        syn::Type::Path(p) if p.qself.is_none() && !is_float_type(ty) => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            (!NOT_STRUCTS.contains(&name.as_str())).then(|| ty.clone())
        }
        _ => None,
    }
}

/// The first type parameter bounded by `Real` of the function being expanded.
pub fn real_parameter() -> Option<String> {
    SCALARS.with(|s| s.borrow().first().cloned())
}
