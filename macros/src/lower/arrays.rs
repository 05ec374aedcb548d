//! Arrays: elements and rows of array variables, and local (storage) arrays
//! built by `vec!`, `[e; n]`, `push` and stores.

use proc_macro2::Span;
use quote::quote;
use syn::spanned::Spanned;
use syn::Expr;

use super::exprs::macro_name;
use super::{Lower, Value};
use crate::ir::*;

impl Lower<'_> {
    // ----- arrays -----

    /// The array variable `e` names, if it is one.
    pub(super) fn array_var(&self, e: &Expr) -> Option<VarId> {
        let Expr::Path(p) = e else { return None };
        let v = self.lookup_var(&p.path.get_ident()?.to_string())?;
        self.vars[v.0].is_array().then_some(v)
    }

    /// The array variable a place indexes, and the index expressions:
    /// `x[i][j]` → (`x`, [`i`, `j`]), `x` → (`x`, []).
    pub(super) fn array_place<'e>(&self, e: &'e Expr) -> Option<(VarId, Vec<&'e Expr>)> {
        match e {
            Expr::Paren(p) => self.array_place(&p.expr),
            Expr::Index(ix) => {
                let (base, mut index) = self.array_place(&ix.expr)?;
                match &*ix.index {
                    // `a[[i, j]]` of an `ndarray` array: one index per axis.
                    Expr::Array(axes) if self.vars[base.0].ndarray => index.extend(&axes.elems),
                    i => index.push(i),
                }
                Some((base, index))
            }
            e => Some((self.array_var(e)?, Vec::new())),
        }
    }

    /// The array a view is a row of, and the indices reaching the row; an
    /// array that is not a view is its own root.
    pub(super) fn root(&self, array: VarId) -> (VarId, Vec<Operand>) {
        match &self.vars[array.0].view {
            Some((root, path)) => (*root, path.clone()),
            None => (array, Vec::new()),
        }
    }

    /// The root and all indices of `array[index..]`, the indices lowered in order.
    pub(super) fn lower_indices(
        &mut self,
        array: VarId,
        index: &[&Expr],
        out: &mut Vec<Stmt>,
    ) -> (VarId, Vec<Operand>) {
        let (root, mut path) = self.root(array);
        for i in index {
            path.push(self.lower_operand(i, out));
        }
        (root, path)
    }

    /// `root[index..]`: a number (`&` of one if `by_ref`), or a view of a row
    /// if there are fewer indices than the rank.
    pub(super) fn read_element(
        &mut self,
        root: VarId,
        index: Vec<Operand>,
        by_ref: bool,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let rank = self.vars[root.0].rank.saturating_sub(index.len());
        // Read-only arrays never change, so `x[i]` read twice is one value:
        // remembered in the environment under a name no user can write
        // (`3[i]`), which gives it the right scope for free.
        let key = (!self.vars[root.0].storage && rank == 0 && !by_ref).then(|| {
            let keys: String = index
                .iter()
                .map(|i| format!("[{}]", index_key(i)))
                .collect();
            format!("{}{keys}", root.0)
        });
        if let Some(key) = &key {
            if let Some(Value::Scalar(o)) = self.lookup(key).and_then(|e| e.value.clone()) {
                return Value::Scalar(o);
            }
        }
        let v = self.new_var(None);
        self.vars[v.0].rank = rank;
        // What the user's code sees: a reference (`&x[i]`, `row` of `x.iter()`),
        // or a value (`x[i]`, also a row `w[1]`, which the view borrows).
        self.vars[v.0].reference = by_ref;
        if rank > 0 {
            self.vars[v.0].view = Some((root, index.clone()));
            // A row `a.row(i)` of an `ndarray` array is an `ndarray` view.
            self.vars[v.0].ndarray = self.vars[root.0].ndarray;
        }
        out.push(Stmt::Let {
            outs: vec![v],
            prim: Prim::Index {
                base: root,
                index,
                by_ref: by_ref || rank > 0,
            },
            span,
        });
        let value = Value::Scalar(Operand::Var(v));
        if let Some(key) = key {
            self.declare(&key, Some(value.clone()), false);
        }
        value
    }

    /// `x[i]..` or `&x[i]..` of an array variable; `None` if `e` is not one.
    pub(super) fn lower_element(
        &mut self,
        e: &Expr,
        by_ref: bool,
        out: &mut Vec<Stmt>,
    ) -> Option<Value> {
        let (array, index) = self.array_place(e)?;
        if index.is_empty() {
            // `&x`: the array itself.
            return by_ref.then_some(Value::Scalar(Operand::Var(array)));
        }
        // `x[1..]` is a slice, not an element: read as written.
        if index.len() > self.vars[array.0].rank
            || index.iter().any(|i| matches!(i, Expr::Range(_)))
        {
            return None;
        }
        let (root, index) = self.lower_indices(array, &index, out);
        Some(self.read_element(root, index, by_ref, e.span(), out))
    }

    /// The storage array a place indexes down to a number: `a[i]` with `a`
    /// a local array.
    pub(super) fn storage_place<'e>(&self, e: &'e Expr) -> Option<(VarId, Vec<&'e Expr>)> {
        let (array, index) = self.array_place(e)?;
        (self.vars[array.0].storage && index.len() == self.vars[array.0].rank)
            .then_some((array, index))
    }

    /// `a[i] = value` (or `a.push(value)`, `index` then the length before it).
    pub(super) fn store(
        &mut self,
        base: VarId,
        index: Vec<Operand>,
        value: Operand,
        push: bool,
        span: Span,
        out: &mut Vec<Stmt>,
    ) {
        if let Some(reader) = self.whole_read.get(&base) {
            self.errors.push(syn::Error::new(
                span,
                format!(
                    "`{}` changes after `{reader}` read all of it, which is not supported in differentiated code: the derivative of `{reader}` needs the values it read; fill a new array instead",
                    self.var_name(base)
                ),
            ));
        }
        out.push(Stmt::Let {
            outs: Vec::new(),
            prim: Prim::Store {
                base,
                index,
                value,
                push,
            },
            span,
        });
    }

    /// `[e; n]`, `[a, b, ..]`, `vec![..]` of those, `Vec::new()` and
    /// `Vec::with_capacity(n)`: a new storage array, if `e` is one of these
    /// with numbers for elements.
    pub(super) fn new_array(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Option<Value> {
        let new = match e {
            Expr::Repeat(r) if self.is_number_like(&r.expr) => {
                let elem = self.lower_operand(&r.expr, out);
                let len = self.lower_operand(&r.len, out);
                NewArray::Repeat {
                    elem,
                    len,
                    vec: false,
                }
            }
            Expr::Array(a) if a.elems.iter().all(|e| self.is_number_like(e)) => {
                let elems = a.elems.iter().map(|e| self.lower_operand(e, out)).collect();
                NewArray::List { elems, vec: false }
            }
            Expr::Macro(m) if macro_name(&m.mac.path) == "vec" => {
                let tokens = &m.mac.tokens;
                let inner: Expr = syn::parse2(quote!([#tokens])).ok()?;
                if !matches!(&inner, Expr::Repeat(_) | Expr::Array(_)) {
                    return None;
                }
                let Value::Scalar(Operand::Var(v)) = self.new_array(&inner, out)? else {
                    return None;
                };
                let Some(Stmt::Let {
                    prim: Prim::NewArray(new),
                    ..
                }) = out.last_mut()
                else {
                    return None;
                };
                match new {
                    NewArray::Repeat { vec, .. } | NewArray::List { vec, .. } => *vec = true,
                    NewArray::Empty { .. } => {}
                }
                return Some(Value::Scalar(Operand::Var(v)));
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let n = p.path.segments.len();
                if p.qself.is_some() || n < 2 || p.path.segments[n - 2].ident != "Vec" {
                    return None;
                }
                let capacity = match (
                    p.path.segments[n - 1].ident.to_string().as_str(),
                    c.args.len(),
                ) {
                    ("new", 0) => None,
                    ("with_capacity", 1) => Some(self.lower_operand(&c.args[0], out)),
                    _ => return None,
                };
                NewArray::Empty {
                    ctor: p.path.clone(),
                    capacity,
                }
            }
            _ => return None,
        };
        let v = self.new_var(None);
        self.make_storage(v);
        out.push(Stmt::Let {
            outs: vec![v],
            prim: Prim::NewArray(new),
            span: e.span(),
        });
        Some(Value::Scalar(Operand::Var(v)))
    }

    /// Whether an array element expression is a number (not a tuple or an array).
    fn is_number_like(&self, e: &Expr) -> bool {
        match e {
            Expr::Tuple(_) | Expr::Array(_) | Expr::Repeat(_) => false,
            Expr::Macro(m) => macro_name(&m.mac.path) != "vec",
            Expr::Paren(p) => self.is_number_like(&p.expr),
            Expr::Path(p) => match p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                Some(entry) => match &entry.value {
                    Some(Value::Scalar(Operand::Var(v))) => !self.vars[v.0].is_array(),
                    Some(Value::Scalar(Operand::Const(_))) | None => true,
                    Some(_) => false,
                },
                None => true,
            },
            _ => true,
        }
    }

    /// A runtime function reads all of `array`: an error if the array
    /// changes later in a loop around the call (see `whole_read`).
    pub(super) fn read_whole(&mut self, array: VarId, reader: &str, span: Span) {
        if !self.vars[array.0].storage {
            return;
        }
        self.whole_read.insert(array, reader.to_owned());
        let name = self.var_name(array);
        if self.changed_by_loop(array) {
            self.errors.push(syn::Error::new(
                span,
                format!("`{reader}` reads all of `{name}`, which the loop around it changes, and that is not supported in differentiated code: the derivative of `{reader}` needs the values it read; declare `{name}` inside the loop, or fill a new array"),
            ));
        }
    }

    /// `v` is a local array of numbers, declared here: its elements can be
    /// stored to, and it is carried by the loops around that change it.
    pub(super) fn make_storage(&mut self, v: VarId) {
        self.vars[v.0].rank = 1;
        self.vars[v.0].storage = true;
        self.storage_depth.insert(v, self.loop_assigned.len());
    }

    /// Whether a loop around the code being lowered, inside the one that
    /// declares the storage array `array`, changes it.
    pub(super) fn changed_by_loop(&self, array: VarId) -> bool {
        let depth = self.storage_depth.get(&array).copied().unwrap_or(0);
        let name = self.var_name(array);
        self.loop_assigned[depth.min(self.loop_assigned.len())..]
            .iter()
            .any(|names| names.contains(&name))
    }

    /// `sg(a)` of an array is an array (an `ndarray` one if `a` is).
    pub(super) fn inherit_array(&mut self, v: &Value, arg: &Operand) {
        if let (Value::Scalar(Operand::Var(v)), Some(a)) = (v, arg.var()) {
            self.vars[v.0].rank = self.vars[a.0].rank;
            self.vars[v.0].ndarray = self.vars[a.0].ndarray;
        }
    }

    /// The `ndarray` array variable `m` is a method of, if `m` is one the
    /// macro reads itself: `a.row(i)` (a view of row `i`), `a.nrows()` and
    /// `a.ncols()` (integers) of a rank-2 array.
    pub(super) fn ndarray_method(&self, m: &syn::ExprMethodCall) -> Option<VarId> {
        let a = self.array_var(&m.receiver)?;
        let var = &self.vars[a.0];
        let known = match m.method.to_string().as_str() {
            "row" => m.args.len() == 1,
            "nrows" | "ncols" => m.args.is_empty(),
            _ => false,
        };
        (var.ndarray && var.rank == 2 && var.view.is_none() && known && m.turbofish.is_none())
            .then_some(a)
    }

    /// `a.row(i)`: a view of the row, whose elements `row[j]` are read as
    /// `a[[i, j]]` (their derivative goes to `a`'s adjoint), like `&x[i]` of
    /// a `Vec<Vec<f64>>`; `a.nrows()`, `a.ncols()`: integers, read as
    /// written, with no derivative.
    pub(super) fn lower_ndarray_method(
        &mut self,
        e: &Expr,
        m: &syn::ExprMethodCall,
        array: VarId,
        out: &mut Vec<Stmt>,
    ) -> Value {
        if m.method == "row" {
            let (root, index) = self.lower_indices(array, &[&m.args[0]], out);
            return self.read_element(root, index, false, e.span(), out);
        }
        // An integer, like `x.len()`: the rule of `len` (no derivative,
        // recomputed rather than taped), written as the user wrote it.
        let rule = crate::rules::method("len", 1);
        let form = Form::Method(m.method.clone());
        self.apply(rule, form, vec![Operand::Var(array)], e.span(), out)
    }
}

/// An operand as a key: its variable, or its constant's tokens.
fn index_key(o: &Operand) -> String {
    match o {
        Operand::Var(v) => format!("v{}", v.0),
        Operand::Const(c) => c.to_string(),
    }
}
