//! Unit tests of the stages, and the expansion snapshots.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::activity;
use crate::errors::Errors;
use crate::ir::Function;
use crate::lower::{self, Body, Input};

/// Expands every `#[differentiable]` function of a file and formats the result.
fn expand_file(source: &str) -> String {
    let file: syn::File = syn::parse_str(source).expect("snapshot input parses");
    let mut items = Vec::new();
    for item in file.items {
        match item {
            syn::Item::Fn(mut f) => {
                let pos = f
                    .attrs
                    .iter()
                    .position(|a| a.path().is_ident("differentiable"));
                match pos {
                    Some(i) => {
                        let attr = f.attrs.remove(i);
                        let args = match attr.meta {
                            syn::Meta::List(l) => l.tokens,
                            _ => TokenStream::new(),
                        };
                        let out = crate::expand::differentiable(args, f.into_token_stream());
                        let parsed: syn::File = syn::parse2(out).expect("expansion parses");
                        // `<name>_pullback` repeats `<name>_grad`'s sweeps with the
                        // gradients per parameter: only its signature is kept.
                        items.extend(parsed.items.into_iter().map(|item| match item {
                            syn::Item::Fn(mut f)
                                if f.sig.ident.to_string().ends_with("_pullback") =>
                            {
                                f.block = syn::parse_quote!({
                                    snapshot_omits!(
                                        "the sweeps of `_grad`, gradients per parameter"
                                    )
                                });
                                syn::Item::Fn(f)
                            }
                            other => other,
                        }));
                    }
                    None => items.push(syn::Item::Fn(f)),
                }
            }
            other => items.push(other),
        }
    }
    prettyplease::unparse(&syn::File {
        shebang: None,
        attrs: Vec::new(),
        items,
    })
}

/// A development aid, not a test: prints the expansion of the file named by
/// `SGRAD_EXPAND` (`SGRAD_EXPAND=/tmp/f.rs cargo test -p sgrad-macros
/// print_expansion -- --ignored --nocapture`).
#[test]
#[ignore]
fn print_expansion() {
    let path = std::env::var("SGRAD_EXPAND").expect("SGRAD_EXPAND names a file");
    let source = std::fs::read_to_string(path).expect("readable file");
    println!("{}", expand_file(&source));
}

/// `tests/expand/<case>.rs` → `<case>.expanded.rs`. Set `SGRAD_BLESS=1` to rewrite.
#[test]
fn expansion_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/expand");
    let bless = std::env::var_os("SGRAD_BLESS").is_some();
    let mut failures = Vec::new();
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/expand exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs")
                && !p.to_string_lossy().ends_with(".expanded.rs")
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    for case in cases {
        let source = std::fs::read_to_string(&case).expect("readable case");
        let actual = expand_file(&source);
        let snapshot = case.with_extension("expanded.rs");
        if bless {
            std::fs::write(&snapshot, &actual).expect("writable snapshot");
            continue;
        }
        match std::fs::read_to_string(&snapshot) {
            Ok(expected) if expected == actual => {}
            Ok(_) => failures.push(format!(
                "{} changed; review and rerun with SGRAD_BLESS=1",
                snapshot.display()
            )),
            Err(_) => failures.push(format!(
                "{} missing; run with SGRAD_BLESS=1",
                snapshot.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn lower_fn(tokens: TokenStream, wrt: &[&str]) -> (Function, activity::Activity, Errors) {
    let f: syn::ItemFn = syn::parse2(tokens).expect("test input parses");
    let errors = Errors::new();
    let params: Vec<(&syn::Pat, Option<&syn::Type>)> = f
        .sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            syn::FnArg::Typed(t) => Some((&*t.pat, Some(&*t.ty))),
            _ => None,
        })
        .collect();
    let wrt = wrt
        .iter()
        .map(|w| {
            (
                syn::Ident::new(w, proc_macro2::Span::call_site()),
                syn::parse_quote!(f64),
            )
        })
        .collect();
    let func = lower::from_syn(
        Input {
            params,
            wrt,
            body: Body::Block(&f.block),
            returns_array: false,
        },
        &errors,
    );
    let act = activity::analyze(&func, &errors);
    (func, act, errors)
}

fn var_named(f: &Function, user: &str) -> crate::ir::VarId {
    let i = f
        .vars
        .iter()
        .position(|v| v.user.as_deref() == Some(user))
        .expect("variable exists");
    crate::ir::VarId(i)
}

#[test]
fn sg_for_cuts_only_the_named_class() {
    let (f, act, errors) = lower_fn(
        quote! {
            fn f(phi1: f64, phi2: f64) -> f64 {
                let theta = phi1 * phi2;
                let cut = sg_for!(phi1, theta.sin());
                cut + theta
            }
        },
        &["phi1", "phi2"],
    );
    errors.finish().unwrap();
    assert_eq!(act.classes, 2);
    assert_ne!(act.class_of[0], act.class_of[1]);
    let cut = var_named(&f, "cut");
    let theta = var_named(&f, "theta");
    let (c1, c2) = (act.class_of[0], act.class_of[1]);
    assert!(act.is_varied(theta, c1) && act.is_varied(theta, c2));
    assert!(!act.is_varied(cut, c1), "phi1 is cut");
    assert!(act.is_varied(cut, c2), "phi2 flows through");
}

#[test]
fn sg_cuts_every_class_and_variables_share_a_class_without_sg_for() {
    let (f, act, errors) = lower_fn(
        quote! {
            fn f(a: f64, b: f64) -> f64 {
                let s = sg(a * b);
                s * a
            }
        },
        &["a", "b"],
    );
    errors.finish().unwrap();
    assert_eq!(act.classes, 1);
    assert!(!act.is_varied(var_named(&f, "s"), 0));
}

#[test]
fn variables_blocked_at_the_same_sites_share_a_class() {
    let (_, act, errors) = lower_fn(
        quote! {
            fn f(a: f64, b: f64, c: f64) -> f64 {
                sg_for!([a, b], a * b * c) + c
            }
        },
        &["a", "b", "c"],
    );
    errors.finish().unwrap();
    assert_eq!(act.classes, 2);
    assert_eq!(act.class_of[0], act.class_of[1]);
    assert_ne!(act.class_of[0], act.class_of[2]);
}

#[test]
fn reassignment_and_if_make_new_versions() {
    let (f, _, errors) = lower_fn(
        quote! {
            fn f(x: f64) -> f64 {
                let mut s = x;
                s *= 2.0;
                if x > 0.0 { s += 1.0; }
                s
            }
        },
        &["x"],
    );
    errors.finish().unwrap();
    let versions = f
        .vars
        .iter()
        .filter(|v| v.user.as_deref() == Some("s"))
        .count();
    assert_eq!(
        versions, 3,
        "`s *= 2`, `s += 1` in the branch, and the merge"
    );
}

#[test]
fn opaque_code_reading_a_varied_value_is_an_error_only_if_it_matters() {
    let (_, _, errors) = lower_fn(
        quote! {
            fn f(x: f64, n: usize) -> f64 {
                let mut k = 0.0;
                for i in 0..n { k += i as f64; }
                println!("{x}");
                x * k
            }
        },
        &["x"],
    );
    errors.finish().unwrap();
    let (_, _, errors) = lower_fn(
        quote! {
            fn f(x: f64, n: usize) -> f64 {
                let mut k = 0.0;
                for t in (0..n).map(|i| i as f64) { k += x * t; }
                k
            }
        },
        &["x"],
    );
    let err = errors.finish().unwrap_err().to_string();
    assert!(err.contains("`for` loop"), "{err}");
}

#[test]
fn the_macro_never_panics_on_odd_input() {
    let inputs = [
        quote!(
            fn f(x: f64) -> f64 {
                return;
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                let (a, b) = x;
                a
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                let [a] = [x];
                a
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                sg_for!()
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                sg_for!(x)
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                sg_for!([], x)
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                sg_for!(x,)
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                sg_for!(1, x)
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                let y;
                y
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                if x > 0.0 {
                    return x;
                }
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                let a = if x > 0.0 { (x, x) } else { x };
                a
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                let a = {
                    return x;
                };
                a
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                (x, x).0 + (x,).5
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                loop {
                    return x;
                }
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                x += 1.0;
                *x
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {}
        ),
        quote!(
            fn f(x: f64) -> f64 {
                for (a, b, c) in x.iter().enumerate() {}
                x
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                for i in x.iter().zip(x.iter()).rev() {}
                x
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                for [a] in 0..3 {}
                x
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                while let Some(v) = None {}
                x
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                let mut s = x;
                while s > 1.0 {
                    s = sg((s, s)).0;
                }
                s
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                let w;
                match 1 {
                    _ => w = x,
                }
                (w, w) = (x, x);
                *w
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                x.iter().sum::<f64>() + (x,).0.iter().product::<f64>()
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                let p = P { x };
                p.x.y[0].z
            }
        ),
    ];
    for input in inputs {
        let (_, _, errors) = lower_fn(input, &["x"]);
        let _ = errors.finish();
    }
    for (attr, item) in [
        (
            quote!(x y),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
        ),
        (
            quote!(1),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
        ),
        (
            quote!(),
            quote!(
                struct S;
            ),
        ),
        (quote!(), quote!(fn f(x: f64) -> f64 { x +})),
        (
            quote!(x),
            quote!(
                fn f(x: f64) {}
            ),
        ),
        (
            quote!(q),
            quote!(
                fn f() -> f64 {
                    1.0
                }
            ),
        ),
    ] {
        let _ = crate::expand::differentiable(attr, item);
    }
    for input in [
        quote!(),
        quote!(1),
        quote!(|x: f64| x, wrt),
        quote!(|x: f64| x, wrt()),
        quote!(|x| x),
    ] {
        let _ = crate::expand::grad(input);
    }
}

/// A measurement, not a test: how long expanding each `#[differentiable]`
/// function of `benches/gmm/mod.rs` takes (the GMM objective, about 70
/// lines, twice). `cargo test -p sgrad-macros --release expansion_time --
/// --ignored --nocapture`
#[test]
#[ignore]
fn expansion_time() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/gmm/mod.rs");
    let source = std::fs::read_to_string(path).expect("readable file");
    let file: syn::File = syn::parse_str(&source).expect("parses");
    for item in file.items {
        let syn::Item::Fn(mut f) = item else { continue };
        let Some(i) = f.attrs.iter().position(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "differentiable")
        }) else {
            continue;
        };
        let attr = f.attrs.remove(i);
        let syn::Meta::List(list) = attr.meta else {
            continue;
        };
        let lines = f.to_token_stream().to_string().matches(';').count();
        let input = f.into_token_stream();
        let runs = 20;
        let start = std::time::Instant::now();
        for _ in 0..runs {
            std::hint::black_box(crate::expand::differentiable(
                list.tokens.clone(),
                input.clone(),
            ));
        }
        let each = start.elapsed() / runs;
        println!(
            "{}: {lines} statements, {each:?} per expansion",
            list.tokens
        );
    }
}
