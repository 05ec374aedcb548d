//! Opaque code: passed through as written with its variables renamed, and
//! what it reads and writes (`Uses`).

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Stmt as SynStmt};

use super::calls::{is_sg_for, parse_sg_for};
use super::escapes::{find_escape, find_return};
use super::exprs::{is_compound_assign, macro_name};
use super::rename::{may_name_variable, Rename, SgForCheck};
use super::{Lower, Value};
use crate::ir::*;
use crate::rules;

impl Lower<'_> {
    // ----- opaque code -----

    /// Code passed through as written, with the user's variables renamed to
    /// their current versions. Mutable variables it may write get a new
    /// version, declared `mut` before it.
    pub(super) fn opaque<T: ToTokens + OpaqueNode>(
        &mut self,
        node: &T,
        construct: Construct,
        out: &mut Vec<Stmt>,
    ) -> Value {
        let escape = find_escape(node);
        if let Some(exit) = &escape {
            self.errors.push_spanned(
                exit,
                format!(
                    "leaving a loop from inside {} is not supported in differentiated code; {}",
                    construct.describe(),
                    if matches!(construct, Construct::Loop(_)) {
                        "set a flag, `break` out of this loop, and leave the outer one after it"
                    } else {
                        "compute a condition first, then `break` or `continue` in an `if` on it"
                    }
                ),
            );
        }
        let reported = find_return(node).is_some() || escape.is_some();
        if let Some(ret) = find_return(node) {
            self.errors.push_spanned(
                ret,
                format!(
                    "`return` inside {} is not supported in differentiated code{}",
                    construct.describe(),
                    if matches!(construct, Construct::Loop(_)) {
                        "; leave the loop with `break` and return after it"
                    } else {
                        ""
                    }
                ),
            );
        }
        let mut uses = Uses::default();
        node.visit(&mut uses);

        let mut reads = Vec::new();
        let mut writes = Vec::new();
        let mut mutates = Vec::new();
        let mut declares = Vec::new();
        let mut rename = BTreeMap::new();
        let mut prelude = TokenStream::new();
        let mut epilogue = TokenStream::new();
        let names: BTreeSet<&String> = uses
            .paths
            .iter()
            .chain(&uses.in_macros)
            .chain(&uses.in_strings)
            .chain(&uses.in_index)
            .collect();
        for name in names {
            let Some(entry) = self.lookup(name).cloned() else {
                continue;
            };
            let Some(value) = entry.value else {
                // `let w; match k { .. => w = .. }`: declared here, assigned by the code.
                if uses.assigned.contains(name) {
                    let v = self.new_var(Some(name));
                    self.vars[v.0].ty = entry.ty.clone();
                    declares.push(v);
                    rename.insert(name.clone(), self.vars[v.0].ident.clone());
                    if let Some(e) = self.lookup_mut(name) {
                        e.value = Some(Value::Scalar(Operand::Var(v)));
                    }
                }
                continue;
            };
            let ops = value.operands();
            if !uses.index_only(name) {
                reads.extend(
                    ops.iter()
                        .filter_map(Operand::var)
                        .map(|v| (v, name.clone())),
                );
            }
            let user = Ident::new(name, Span::call_site());
            let writes_it = uses.assigned.contains(name)
                || (entry.mutable && uses.maybe_assigned.contains(name));
            // The new name would be captured by a binding inside the code
            // (`|x| x - center` where `center` is the parameter `x`).
            let target_bound = ops
                .iter()
                .filter_map(Operand::var)
                .any(|v| uses.bound.contains(&self.vars[v.0].ident.to_string()));
            let needs_prelude = uses.bound.contains(name)
                || uses.in_strings.contains(name)
                || target_bound
                || !matches!(value, Value::Scalar(_));
            if writes_it {
                if let Value::Scalar(Operand::Var(v)) = value {
                    if self.vars[v.0].storage {
                        if let Some(reader) = self.whole_read.get(&v) {
                            self.errors.push_spanned(
                                node,
                                format!("this may change `{name}` after `{reader}` read all of it, which is not supported in differentiated code: the derivative of `{reader}` needs the values it read; fill a new array instead"),
                            );
                        }
                        mutates.push(v);
                        let ident = self.vars[v.0].ident.clone();
                        if needs_prelude {
                            prelude.extend(quote!(let mut #user = #ident;));
                            epilogue.extend(quote!(#ident = #user;));
                        } else {
                            rename.insert(name.clone(), ident);
                        }
                        continue;
                    }
                }
                let Value::Scalar(Operand::Var(old)) = value else {
                    self.errors.push_spanned(
                        node,
                        format!("assigning to a part of `{name}` is not supported in differentiated code; assign the whole value instead, e.g. `{name} = (..)`"),
                    );
                    continue;
                };
                let new = self.new_var(Some(name));
                writes.push((old, new));
                let new_ident = self.vars[new.0].ident.clone();
                if needs_prelude {
                    prelude.extend(quote!(let mut #user = #new_ident;));
                    epilogue.extend(quote!(#new_ident = #user;));
                } else {
                    rename.insert(name.clone(), new_ident);
                }
                if let Some(e) = self.lookup_mut(name) {
                    e.value = Some(Value::Scalar(Operand::Var(new)));
                }
            } else if needs_prelude {
                let tokens = crate::ir::print::value_tokens(
                    &self.vars,
                    &ops,
                    matches!(value, Value::Scalar(_)),
                );
                prelude.extend(quote!(let #user = #tokens;));
            } else if let Value::Scalar(Operand::Var(v)) = value {
                rename.insert(name.clone(), self.vars[v.0].ident.clone());
            }
        }
        let code = node.renamed(Rename {
            rename: &rename,
            bound: &uses.bound,
            sg_for: SgForCheck {
                wrt_names: &self.wrt_names,
                param_names: &self.param_names,
                errors: self.errors,
            },
        });
        let is_item = false;
        self.push_let(
            out,
            Prim::Opaque(Opaque {
                code,
                prelude,
                epilogue,
                reads,
                writes,
                mutates,
                declares,
                construct,
                origin: node.origin(),
                is_item,
                reported,
            }),
            node.to_token_stream()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |t| t.span()),
        )
    }
}

impl Construct {
    pub fn describe(&self) -> String {
        match self {
            Construct::Loop("loop") => "a `loop`".into(),
            Construct::Loop(kw) => format!("a `{kw}` loop"),
            Construct::Closure => "a closure".into(),
            Construct::Unsafe => "an `unsafe` block".into(),
            Construct::Macro(m) => format!("the macro `{m}!`"),
            Construct::Match => "a `match` whose arm binds part of its value".into(),
            Construct::IfLet => "an `if let`".into(),
            Construct::Function(f) | Construct::OutParameter(f) => format!("a call to `{f}`"),
            Construct::ClosureCall(f) => format!("a call of the closure `{f}`"),
            Construct::TupleCall(f) => format!("the tuple `{f}` returns"),
            Construct::Method(m) => format!("a call to the method `{m}`"),
            Construct::Operator(o) => format!("the operator `{o}`"),
            Construct::Index => "indexing".into(),
            Construct::Reference => "a reference".into(),
            Construct::Other(w) => (*w).into(),
        }
    }
}

/// A syntax node that can be passed through opaquely.
pub(super) trait OpaqueNode: ToTokens {
    fn visit<'ast>(&'ast self, v: &mut impl Visit<'ast>);
    /// The smallest tokens that name the construct, to span its error.
    fn origin(&self) -> TokenStream {
        self.to_token_stream()
    }
    fn renamed(&self, rename: Rename<'_>) -> TokenStream;
}

impl OpaqueNode for Expr {
    fn visit<'ast>(&'ast self, v: &mut impl Visit<'ast>) {
        v.visit_expr(self);
    }
    fn origin(&self) -> TokenStream {
        match self {
            Expr::ForLoop(f) => {
                let (kw, pat, in_token, expr) = (&f.for_token, &f.pat, &f.in_token, &f.expr);
                quote!(#kw #pat #in_token #expr)
            }
            Expr::While(w) => {
                let (kw, cond) = (&w.while_token, &w.cond);
                quote!(#kw #cond)
            }
            Expr::Loop(l) => l.loop_token.to_token_stream(),
            Expr::Match(m) => {
                let (kw, expr) = (&m.match_token, &m.expr);
                quote!(#kw #expr)
            }
            Expr::If(i) => {
                let (kw, cond) = (&i.if_token, &i.cond);
                quote!(#kw #cond)
            }
            Expr::Unsafe(u) => u.unsafe_token.to_token_stream(),
            Expr::Closure(c) => {
                let (a, inputs, b) = (&c.or1_token, &c.inputs, &c.or2_token);
                quote!(#a #inputs #b)
            }
            Expr::Block(b) => b.label.to_token_stream(),
            Expr::Macro(m) => {
                let (path, bang) = (&m.mac.path, &m.mac.bang_token);
                quote!(#path #bang)
            }
            e => e.to_token_stream(),
        }
    }
    fn renamed(&self, mut rename: Rename<'_>) -> TokenStream {
        let mut e = self.clone();
        rename.visit_expr_mut(&mut e);
        e.into_token_stream()
    }
}

impl OpaqueNode for SynStmt {
    fn visit<'ast>(&'ast self, v: &mut impl Visit<'ast>) {
        v.visit_stmt(self);
    }
    fn origin(&self) -> TokenStream {
        match self {
            SynStmt::Macro(m) => {
                let (path, bang) = (&m.mac.path, &m.mac.bang_token);
                quote!(#path #bang)
            }
            s => s.to_token_stream(),
        }
    }
    fn renamed(&self, mut rename: Rename<'_>) -> TokenStream {
        let mut s = self.clone();
        rename.visit_stmt_mut(&mut s);
        s.into_token_stream()
    }
}

/// The names a piece of code uses, binds and may assign.
#[derive(Default)]
pub(super) struct Uses {
    paths: BTreeSet<String>,
    in_macros: BTreeSet<String>,
    /// Named inline in a format string, `{x}`.
    in_strings: BTreeSet<String>,
    bound: BTreeSet<String>,
    /// Certainly written: `x = ..`, `x += ..`, `&mut x`.
    pub(super) assigned: BTreeSet<String>,
    /// Possibly written, if declared `mut`: method receivers, macro arguments.
    pub(super) maybe_assigned: BTreeSet<String>,
    /// Used inside an index `[..]`, and how deep in indices the visit is.
    in_index: BTreeSet<String>,
    index_depth: usize,
}

/// Methods known to take `&self` (besides the float methods of the rules).
const READ_ONLY_METHODS: &[&str] = &[
    "is_finite",
    "is_nan",
    "is_infinite",
    "is_normal",
    "is_sign_positive",
    "is_sign_negative",
    "to_bits",
    "len",
    "is_empty",
    "iter",
    "get",
    "first",
    "last",
    "contains",
    "clone",
    "copied",
    "cloned",
    "to_vec",
    "as_slice",
    "to_string",
    "total_cmp",
    "partial_cmp",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
];

/// Macros known to only read their arguments.
const READ_ONLY_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "format_args",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "dbg",
    "vec",
];

impl Uses {
    /// Used only inside indices: an integer, so it carries no derivative.
    fn index_only(&self, name: &str) -> bool {
        self.in_index.contains(name)
            && !self.paths.contains(name)
            && !self.in_macros.contains(name)
            && !self.in_strings.contains(name)
    }

    fn merge(&mut self, other: Uses) {
        self.in_index.extend(other.in_index);
        self.paths.extend(other.paths);
        self.in_macros.extend(other.in_macros);
        self.in_strings.extend(other.in_strings);
        self.bound.extend(other.bound);
        self.assigned.extend(other.assigned);
        self.maybe_assigned.extend(other.maybe_assigned);
    }
}

fn base_ident(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Field(f) => base_ident(&f.base),
        Expr::Index(i) => base_ident(&i.expr),
        Expr::Paren(p) => base_ident(&p.expr),
        Expr::Unary(u) => base_ident(&u.expr),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() {
            if let Some(i) = p.path.get_ident() {
                if self.index_depth > 0 {
                    self.in_index.insert(i.to_string());
                } else {
                    self.paths.insert(i.to_string());
                }
            }
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_expr_index(&mut self, e: &'ast syn::ExprIndex) {
        self.visit_expr(&e.expr);
        self.index_depth += 1;
        self.visit_expr(&e.index);
        self.index_depth -= 1;
    }
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.bound.insert(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let Some(n) = base_ident(&a.left) {
            self.assigned.insert(n);
        }
        syn::visit::visit_expr_assign(self, a);
    }
    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        if is_compound_assign(&b.op) {
            if let Some(n) = base_ident(&b.left) {
                self.assigned.insert(n);
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
        if r.mutability.is_some() {
            if let Some(n) = base_ident(&r.expr) {
                self.assigned.insert(n);
            }
        }
        syn::visit::visit_expr_reference(self, r);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        let reads_only =
            READ_ONLY_METHODS.contains(&method.as_str()) || rules::is_known_method(&method);
        if let (Some(n), false) = (base_ident(&m.receiver), reads_only) {
            self.maybe_assigned.insert(n);
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if is_sg_for(&m.path) {
            if let Ok(parsed) = m.parse_body_with(parse_sg_for) {
                // The names before the comma are differentiation variables, not reads.
                let mut inner = Uses::default();
                inner.visit_expr(&parsed.expr);
                self.merge(inner);
            }
            return;
        }
        let read_only = READ_ONLY_MACROS.contains(&macro_name(&m.path).as_str());
        let mut idents = BTreeSet::new();
        scan_tokens(m.tokens.clone(), &mut idents, &mut self.in_strings);
        if !read_only {
            self.maybe_assigned.extend(idents.iter().cloned());
        }
        self.in_macros.extend(idents);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Identifiers in macro tokens that may name variables (not after `.` or
/// `::`), and `{name}` arguments inside string literals.
fn scan_tokens(tokens: TokenStream, idents: &mut BTreeSet<String>, strings: &mut BTreeSet<String>) {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    for (k, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Ident(i) if may_name_variable(&tts, k) => {
                idents.insert(i.to_string());
            }
            TokenTree::Group(g) => scan_tokens(g.stream(), idents, strings),
            TokenTree::Literal(l) => {
                let text = l.to_string();
                if text.starts_with('"') || text.starts_with('r') {
                    format_names(&text, strings);
                }
            }
            _ => {}
        }
    }
}

/// `{name}` and `{name:..}` in a format string.
fn format_names(text: &str, out: &mut BTreeSet<String>) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            continue;
        }
        let name: String = chars
            .clone()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
            out.insert(name);
        }
    }
}
