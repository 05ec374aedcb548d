//! `#[derive(Differentiable)]`: a struct of parameters.
//!
//! Implements `sgrad::Differentiable` field by field (fields marked
//! `#[sgrad(skip)]` are left out), and the runtime's private traits that
//! generated gradient code uses on a whole struct (zero, add, scale) in
//! terms of it.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, Member};

use crate::errors::Errors;

pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.into_compile_error(),
    };
    let errors = Errors::new();
    let out = expand(&input, &errors);
    match errors.finish() {
        Ok(()) => out,
        Err(e) => e.into_compile_error(),
    }
}

fn expand(input: &DeriveInput, errors: &Errors) -> TokenStream {
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        Data::Enum(e) => {
            errors.push_spanned(
                e.enum_token,
                "`Differentiable` can be derived for structs only; an enum's parameters change with its variant",
            );
            return TokenStream::new();
        }
        Data::Union(u) => {
            errors.push_spanned(
                u.union_token,
                "`Differentiable` can be derived for structs only",
            );
            return TokenStream::new();
        }
    };
    let members: Vec<(Member, &syn::Type)> = match fields {
        Fields::Named(n) => n
            .named
            .iter()
            .filter(|f| !skipped(f, errors))
            .map(|f| (Member::Named(f.ident.clone().expect("named")), &f.ty))
            .collect(),
        Fields::Unnamed(u) => u
            .unnamed
            .iter()
            .enumerate()
            .filter(|(_, f)| !skipped(f, errors))
            .map(|(i, f)| (Member::Unnamed(syn::Index::from(i)), &f.ty))
            .collect(),
        Fields::Unit => Vec::new(),
    };
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut where_clause = where_clause
        .cloned()
        .unwrap_or_else(|| syn::parse_quote!(where));
    for (_, ty) in &members {
        where_clause
            .predicates
            .push(syn::parse_quote!(#ty: ::sgrad::Differentiable));
    }
    let tr = quote!(::sgrad::Differentiable);
    let m: Vec<&Member> = members.iter().map(|(m, _)| m).collect();
    let private = quote!(::sgrad::__private);
    let this = quote!(#name #ty_generics);
    let scalars = [quote!(f64), quote!(f32)].map(|s| {
        quote! {
            impl #impl_generics #private::Pullback<#s> for #this #where_clause {
                type Output = Self;
                fn scale(&self, g: #s) -> Self {
                    let mut c = ::core::clone::Clone::clone(self);
                    #tr::scale(&mut c, ::core::convert::Into::<f64>::into(g));
                    c
                }
            }
            impl #impl_generics #private::Scale<#s> for #this #where_clause {
                fn scale_by(&mut self, g: #s) {
                    #tr::scale(self, ::core::convert::Into::<f64>::into(g));
                }
            }
        }
    });
    quote! {
        impl #impl_generics #tr for #this #where_clause {
            fn for_each_param<__F: ::core::ops::FnMut(f64)>(&self, f: &mut __F) {
                #(#tr::for_each_param(&self.#m, f);)*
            }
            fn map_params<__F: ::core::ops::FnMut(f64) -> f64>(&mut self, f: &mut __F) {
                #(#tr::map_params(&mut self.#m, f);)*
            }
            fn zip_map_params<__F: ::core::ops::FnMut(f64, f64) -> f64>(&mut self, other: &Self, f: &mut __F) {
                #(#tr::zip_map_params(&mut self.#m, &other.#m, f);)*
            }
            fn zip_for_each_param<__F: ::core::ops::FnMut(f64, f64)>(&self, other: &Self, f: &mut __F) {
                #(#tr::zip_for_each_param(&self.#m, &other.#m, f);)*
            }
        }
        impl #impl_generics #private::Differentiable for #this #where_clause {
            type Gradient = Self;
            fn zero_gradient(&self) -> Self {
                #tr::zeros_like(self)
            }
        }
        impl #impl_generics #private::Accumulate for #this #where_clause {
            fn add_to(&mut self, g: Self) {
                #tr::accumulate(self, &g);
            }
        }
        #(#scalars)*
    }
}

/// Whether a field is marked `#[sgrad(skip)]`; other `sgrad` attributes are errors.
fn skipped(field: &syn::Field, errors: &Errors) -> bool {
    let mut skip = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("sgrad")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error("unknown `sgrad` attribute; the only one is `#[sgrad(skip)]`, for a field that is not a parameter"))
            }
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    skip
}
