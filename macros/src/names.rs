//! Every name the macro generates (tangent's `naming`).
//!
//! * `<f>_grad`: the public gradient function, at the user's span.
//! * `__ad_<stem>`: a primal value; `<stem>` is the user's variable name
//!   (`__ad_t`, `__ad_t_1` for its second version) or a number for a
//!   temporary (`__ad_3`). Parameters keep their own names.
//! * `__adj_<stem>`: the adjoint of that value; `__adj_<stem>_c<k>` when
//!   variables fall into several sweep classes (one adjoint per class). The
//!   prefix differs from `__ad_` in its fifth character, so no primal name
//!   (`__ad_` + any stem) can equal an adjoint name.
//! * `__ad_br<n>`: the record of the branch an `if` took.
//!
//! Generated locals live at `Span::mixed_site()`, so they never capture or
//! shadow user names.

use std::collections::HashSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// `::sgrad::__private`: everything generated code calls.
pub fn runtime() -> TokenStream {
    let krate = Ident::new(crate::symbol::CRATE, Span::call_site());
    quote!(::#krate::__private)
}

pub fn grad_fn(name: &Ident) -> Ident {
    format_ident!("{}_grad", name)
}

pub fn pullback_fn(name: &Ident) -> Ident {
    format_ident!("{}_pullback", name)
}

pub fn generated(s: &str) -> Ident {
    Ident::new(&format!("__ad_{s}"), Span::mixed_site())
}

pub fn adjoint(stem: &str, class: usize, classes: usize) -> Ident {
    if classes == 1 {
        Ident::new(&format!("__adj_{stem}"), Span::mixed_site())
    } else {
        Ident::new(&format!("__adj_{stem}_c{class}"), Span::mixed_site())
    }
}

/// What one iteration of a loop differentiated iteration by iteration adds
/// to the adjoint of a value from outside it, per unit of the running sum's
/// adjoint (`__adb<loop>_…`, numbered by loop: one function may have several).
pub fn buffer(stem: &str, class: usize, classes: usize, loop_no: usize) -> Ident {
    if classes == 1 {
        Ident::new(&format!("__adb{loop_no}_{stem}"), Span::mixed_site())
    } else {
        Ident::new(
            &format!("__adb{loop_no}_{stem}_c{class}"),
            Span::mixed_site(),
        )
    }
}

/// The part of the adjoint of `stem[i + offset]` gathered so far by a loop
/// differentiated iteration by iteration, held in a register
/// (`__adr<loop>_…_<offset>`, `m` for minus).
/// `next`: the same across iterations, for `stem[i + 1 + offset]` of the
/// next iteration's `i`.
pub fn carry(stem: &str, class: usize, loop_no: usize, offset: i64, next: bool) -> Ident {
    let sign = if offset < 0 { "m" } else { "" };
    let (off, next) = (offset.unsigned_abs(), if next { "_next" } else { "" });
    Ident::new(
        &format!("__adr{loop_no}_{stem}_c{class}_{sign}{off}{next}"),
        Span::mixed_site(),
    )
}

/// A counter counted again by the backward sweep (`<holder>_again`).
pub fn replayed(holder: &Ident) -> Ident {
    Ident::new(&format!("{holder}_again"), Span::mixed_site())
}

/// How many entries of a shared tape (`tape`) are in use.
pub fn tape_top(tape: &Ident) -> Ident {
    Ident::new(&format!("{tape}_top"), Span::mixed_site())
}

/// The tangent of a value in forward mode (`__tan_…`), per class like adjoints.
pub fn tangent(stem: &str, class: usize, classes: usize) -> Ident {
    if classes == 1 {
        Ident::new(&format!("__tan_{stem}"), Span::mixed_site())
    } else {
        Ident::new(&format!("__tan_{stem}_c{class}"), Span::mixed_site())
    }
}

/// The span of a call's argument for generated code about it, the call's
/// gradients (`grads`) renamed there, and the crate's name there: a type
/// error in that code (a gradient the callee does not have) points at the
/// argument, while names keep their hygiene.
pub fn at_argument(grads: &Ident, argument: Span) -> (Span, Ident, Ident) {
    let at = Span::mixed_site().located_at(argument);
    let mut grads = grads.clone();
    grads.set_span(at);
    (at, grads, Ident::new(crate::symbol::CRATE, at))
}

pub fn jvp_fn(name: &Ident) -> Ident {
    format_ident!("{}_jvp", name)
}

/// `<name>_vjp`: the entry point of a function that returns an array.
pub fn vjp_fn(name: &Ident) -> Ident {
    format_ident!("{}_vjp", name)
}

/// The parameter of `<name>_vjp` and of its pullback holding the adjoint of
/// the result (hygienic: the user's body cannot name it).
pub fn cotangent() -> Ident {
    Ident::new("cotangent", Span::mixed_site())
}

/// Hands out unique stems, so that primal and adjoint names never collide.
#[derive(Default)]
pub struct Stems {
    taken: HashSet<String>,
    temporaries: usize,
}

impl Stems {
    /// The stem of a parameter: its own name (always free, parameters come first).
    pub fn param(&mut self, name: &str) -> String {
        self.fresh(name)
    }

    /// A stem for a new version of the user variable `name`.
    pub fn fresh(&mut self, name: &str) -> String {
        let name = name.trim_start_matches("r#");
        if self.taken.insert(name.to_owned()) {
            return name.to_owned();
        }
        (1..)
            .map(|n| format!("{name}_{n}"))
            .find(|s| self.taken.insert(s.clone()))
            .expect("an unbounded range has a free name")
    }

    /// A stem for a temporary of A-normal form.
    pub fn temporary(&mut self) -> String {
        loop {
            self.temporaries += 1;
            let s = self.temporaries.to_string();
            if self.taken.insert(s.clone()) {
                return s;
            }
        }
    }
}
