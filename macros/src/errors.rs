//! Errors gathered across a whole expansion and reported together (serde's `Ctxt`).

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

/// Collects the errors of one expansion. `finish` must be called: dropping an
/// `Errors` that still holds errors would lose them, so that panics (in the
/// macro's own tests, never on user input, because `run` always finishes).
#[derive(Default)]
pub struct Errors {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Errors {
    pub fn new() -> Self {
        Errors {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Adds an error spanning `node`'s tokens.
    pub fn push_spanned<T: ToTokens, M: Display>(&self, node: T, message: M) {
        self.push(syn::Error::new_spanned(node.into_token_stream(), message));
    }

    pub fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Errors used after finish")
            .push(error);
    }

    pub fn has_errors(&self) -> bool {
        self.errors.borrow().as_ref().is_some_and(|e| !e.is_empty())
    }

    /// All errors combined into one, or `Ok` if there were none.
    pub fn finish(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut iter = errors.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in iter {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("Errors dropped without calling finish");
        }
    }
}
