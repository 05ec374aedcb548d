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
