//! Variables and the environment: each user name's current SSA version, in
//! scopes.

use proc_macro2::{Ident, Span};
use syn::Pat;

use super::{placeholder, Entry, Lower, Value};
use crate::ir::*;
use crate::names;

impl Lower<'_> {
    // ----- variables and the environment -----

    /// The variable of the differentiation variable `name`, if it is one.
    pub(super) fn wrt_var(&self, name: &str) -> Option<VarId> {
        self.wrt_vars.get(name).copied()
    }

    pub(super) fn new_param(&mut self, ident: &Ident) -> VarId {
        let stem = self.stems.param(&ident.to_string());
        self.vars.push(Var {
            stem,
            ident: ident.clone(),
            ty: None,
            user: Some(ident.to_string()),
            rank: 0,
            storage: false,
            mutable: false,
            view: None,
            reference: false,
            ndarray: false,
            whole: false,
        });
        VarId(self.vars.len() - 1)
    }

    pub(super) fn new_var(&mut self, user: Option<&str>) -> VarId {
        // A synthetic variable (`#ret1`, see `Frame`) is named for what it holds.
        if let Some(name) = user.and_then(|u| u.strip_prefix('#')) {
            let stem = self
                .stems
                .fresh(name.trim_end_matches(|c: char| !c.is_alphabetic()));
            return self.push_var(stem, None);
        }
        let stem = match user {
            Some(name) => self.stems.fresh(name),
            None => self.stems.temporary(),
        };
        self.push_var(stem, user.map(str::to_owned))
    }

    fn push_var(&mut self, stem: String, user: Option<String>) -> VarId {
        self.vars.push(Var {
            ident: names::generated(&stem),
            stem,
            ty: None,
            user,
            rank: 0,
            storage: false,
            mutable: false,
            view: None,
            reference: false,
            ndarray: false,
            whole: false,
        });
        VarId(self.vars.len() - 1)
    }

    pub(super) fn rename_var(&mut self, v: VarId, user: &str) {
        let stem = self.stems.fresh(user);
        let var = &mut self.vars[v.0];
        var.ident = names::generated(&stem);
        var.stem = stem;
        var.user = Some(user.to_owned());
    }

    pub(super) fn bind_param(&mut self, pat: &Pat) {
        match pat {
            Pat::Ident(p) => {
                self.param_names.push(p.ident.to_string());
                let v = self.new_param(&p.ident);
                self.declare(
                    &p.ident.to_string(),
                    Some(Value::Scalar(Operand::Var(v))),
                    p.mutability.is_some(),
                );
            }
            Pat::Type(t) => self.bind_param(&t.pat),
            Pat::Paren(p) => self.bind_param(&p.pat),
            Pat::Tuple(t) => t.elems.iter().for_each(|p| self.bind_param(p)),
            Pat::TupleStruct(t) => t.elems.iter().for_each(|p| self.bind_param(p)),
            Pat::Struct(s) => s.fields.iter().for_each(|f| self.bind_param(&f.pat)),
            Pat::Reference(r) => self.bind_param(&r.pat),
            Pat::Slice(s) => s.elems.iter().for_each(|p| self.bind_param(p)),
            _ => {}
        }
    }

    pub(super) fn declare(&mut self, name: &str, value: Option<Value>, mutable: bool) {
        self.declare_typed(name, value, mutable, None);
    }

    pub(super) fn declare_typed(
        &mut self,
        name: &str,
        value: Option<Value>,
        mutable: bool,
        ty: Option<&syn::Type>,
    ) {
        self.scopes
            .last_mut()
            .expect("a scope is open")
            .push(Entry {
                name: name.to_owned(),
                value,
                mutable,
                ty: ty.cloned(),
            });
    }

    pub(super) fn lookup(&self, name: &str) -> Option<&Entry> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|e| e.name == name)
    }

    /// The position of the entry `name` denotes now, in `scopes`.
    pub(super) fn locate(&self, name: &str) -> Option<(usize, usize)> {
        self.scopes.iter().enumerate().rev().find_map(|(i, scope)| {
            let j = scope.iter().rposition(|e| e.name == name)?;
            Some((i, j))
        })
    }

    pub(super) fn lookup_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.scopes
            .iter_mut()
            .rev()
            .flat_map(|s| s.iter_mut().rev())
            .find(|e| e.name == name)
    }

    pub(super) fn lookup_var(&self, name: &str) -> Option<VarId> {
        match self.lookup(name)?.value.as_ref()? {
            Value::Scalar(Operand::Var(v)) => Some(*v),
            _ => None,
        }
    }

    pub(super) fn var_name(&self, v: VarId) -> String {
        self.vars[v.0]
            .user
            .clone()
            .unwrap_or_else(|| "a temporary".to_owned())
    }

    pub(super) fn push_let(&mut self, out: &mut Vec<Stmt>, prim: Prim, span: Span) -> Value {
        let v = self.new_var(None);
        out.push(Stmt::Let {
            outs: vec![v],
            prim,
            span,
        });
        Value::Scalar(Operand::Var(v))
    }

    /// The operand of a value used as a number. A tuple or `()` here is a
    /// type error rustc reports on the user's own function, so the macro
    /// stays silent and continues with a placeholder (one error, not two).
    pub(super) fn scalar(&mut self, v: Value, _span: Span) -> Operand {
        match v {
            Value::Scalar(o) => o,
            _ => placeholder(),
        }
    }
}
