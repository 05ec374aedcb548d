//! Loops that only sum into their result (`s += term(i)`), differentiated
//! iteration by iteration.
//!
//! The adjoint of every term of a running sum is the adjoint of the sum, a
//! number known only once the code after the loop has been swept back. So
//! each iteration runs its backward code right after its forward code, with
//! the sum's adjoint taken as 1, and adds what it gives values from outside
//! the loop into buffers (`__adb_x`); after the loop's place in the backward
//! sweep, each buffer is scaled by the sum's real adjoint and added in:
//!
//! ```text
//! let mut __adb_x = zero_gradient(&x);        // forward sweep
//! for i in 0..n {
//!     ..forward code of the iteration..
//!     let mut __adj_t = one_like(&__ad_t);    // the term, per unit of s̄
//!     ..backward code of the iteration, into __adb_x..
//! }
//! ..
//! let mut __adj_x = scaled(__adb_x, __adj_s);  // backward sweep
//! ```
//!
//! Nothing is taped or computed twice, memory does not grow with the trip
//! count, and the data is walked once. Taken when the loop is at the top of
//! the function (its buffers and values are then in scope for the backward
//! sweep), is a plain `for`, stores into no array from outside it, and each
//! class in which an adjoint flows into it has exactly one running sum.

use std::cell::RefCell;
use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::loops::{is_running_sum, stored_arrays};
use super::{Backward, Fusing};
use crate::ir::*;
use crate::names::{self, runtime};

impl Backward<'_> {
    /// The backward code of `l` at its place in the backward sweep if it is
    /// differentiated iteration by iteration (its per-iteration code goes to
    /// `self.fused`), or `None` to tape or replay it. `lanes` are its carried
    /// variables by class, as in `loop_stmt`.
    pub(super) fn running_sum_loop(
        &mut self,
        l: &Loop,
        active: &[usize],
        lanes: &[(usize, usize)],
    ) -> Option<TokenStream> {
        let one_per_class = active
            .iter()
            .all(|k| lanes.iter().filter(|(_, kk)| kk == k).count() == 1);
        if self.locals.len() != 1
            || self.fusing.is_some()
            || l.cond.is_some()
            || l.exit.is_some()
            || !one_per_class
            || !lanes.iter().all(|&(c, _)| is_running_sum(l, &l.carried[c]))
        {
            return None;
        }
        let mut inside: HashSet<VarId> = l.body_locals().into_iter().collect();
        walk(&l.body.stmts, &mut |s| {
            inside.extend(s.defines());
            if let Stmt::Loop(inner) = s {
                inside.extend(inner.body_locals());
            }
        });
        if stored_arrays(&l.body.stmts)
            .iter()
            .any(|a| !inside.contains(a))
        {
            return None;
        }

        let rt = runtime();
        let (declared, pending, referenced) = (
            self.declared.clone(),
            self.pending.clone(),
            self.referenced.clone(),
        );
        let pops = std::mem::take(&mut self.pops);
        self.fusing = Some(Fusing {
            loop_no: l.record.0,
            inside: inside.clone(),
            touched: RefCell::default(),
        });
        self.locals.push(l.body_locals().into_iter().collect());
        let mut body = TokenStream::new();
        for &(c, k) in lanes {
            let end = l.carried[c].end.var().expect("a running sum's end");
            let ident = self.f.ident(end);
            body.extend(self.accumulate(end, k, quote!(#rt::one_like(&#ident))));
        }
        body.extend(self.block(&l.body.stmts));
        self.locals.pop();
        let touched = self.fusing.take().expect("fusing").touched.into_inner();
        (self.declared, self.pending, self.referenced) = (declared, pending, referenced);
        self.pops = pops;

        let buffer = |s: &Self, v: VarId, k| {
            names::buffer(&s.f.vars[v.0].stem, k, s.act.classes, l.record.0)
        };
        let mut buffers = TokenStream::new();
        for &(v, k) in &touched {
            let (buffer, ident) = (buffer(self, v, k), self.f.ident(v));
            buffers.extend(quote!(let mut #buffer = #rt::zero_gradient(&#ident);));
        }
        let mut code = TokenStream::new();
        for &(c, k) in lanes {
            let carried = &l.carried[c];
            if !self.declared.contains(&(carried.out, k)) {
                continue;
            }
            let sum = self.adjoint(carried.out, k);
            for &(v, _) in touched.iter().filter(|(_, kk)| *kk == k) {
                let buffer = buffer(self, v, k);
                code.extend(self.accumulate(v, k, quote!(#rt::scaled(#buffer, #sum))));
            }
            if let Some(input) = carried.input.var().filter(|i| self.act.is_varied(*i, k)) {
                code.extend(self.accumulate(input, k, quote!(#sum)));
            }
        }
        self.fused.insert(l.record, (buffers, body));
        Some(code)
    }
}
