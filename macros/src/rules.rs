//! The derivative rules: one table, one place.
//!
//! A rule gives, for each argument of a primitive, its *share of `g`*: the
//! expression `g · ∂ans/∂arg`, linear in `g`. Reverse mode instantiates it with
//! `g` = the output's adjoint and adds it to the argument's adjoint; forward
//! mode instantiates it with `g` = the argument's tangent and sums over the
//! arguments. One template serves both (num-dual's idea).
//!
//! Templates are Rust expressions over these slots:
//!
//! * `g`: the adjoint (or tangent) being propagated;
//! * `x`, `y`, `z`, `w`: the arguments, in order (the receiver of a method is `x`);
//! * `ans`: the primitive's result, so `exp` reuses its own value;
//! * `__rt::`: the runtime's `__private` module; formulas that need constants
//!   or case analysis live in `runtime/src/private/partials.rs`.
//!
//! `None` means the argument gets nothing (an exponent of `powi`, say).
//! Non-smooth points follow JAX; the conventions are documented in the
//! runtime's `rules` module.

use proc_macro2::{TokenStream, TokenTree};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// The output is a linear function of the inputs (`+`, `-`, casts).
    Linear,
    /// Linear in each input separately (`*`).
    Bilinear,
    /// Anything smooth.
    General,
    /// Piecewise constant: no derivative code at all (`floor`, `<`).
    ZeroDerivative,
}

pub struct Rule {
    pub name: &'static str,
    pub arity: usize,
    pub shape: Shape,
    pub partials: &'static [Option<&'static str>],
}

macro_rules! rules {
    ($table:ident: $($name:literal $arity:literal $shape:ident [$($p:tt),*];)*) => {
        pub static $table: &[Rule] = &[$(Rule {
            name: $name,
            arity: $arity,
            shape: Shape::$shape,
            partials: &[$(rules!(@p $p)),*],
        }),*];
    };
    (@p None) => { None };
    (@p $t:literal) => { Some($t) };
}

rules! {
    RULES:
    // operators
    "add" 2 Linear ["g", "g"];
    "sub" 2 Linear ["g", "-g"];
    "mul" 2 Bilinear ["g * y", "g * x"];
    "div" 2 General ["g / y", "-(g / y) * ans"];
    "rem" 2 General ["g", "__rt::partials::rem_y(g, x, y)"];
    "neg" 1 Linear ["-g"];
    // `*v`, `v` an element bound by reference in `for v in x.iter()`
    "deref" 1 Linear ["g"];
    "cmp" 2 ZeroDerivative [None, None];
    "not" 1 ZeroDerivative [None];
    // `as f64` / `as f32`, and `as` anything else
    "cast" 1 Linear ["__rt::cast_like(g, &x)"];
    "cast_to_int" 1 ZeroDerivative [None];
    // float methods (receiver first)
    "exp" 1 General ["g * ans"];
    "exp2" 1 General ["__rt::partials::exp2(g, ans)"];
    "exp_m1" 1 General ["__rt::partials::exp_m1(g, ans)"];
    "ln" 1 General ["g / x"];
    "ln_1p" 1 General ["__rt::partials::ln_1p(g, x)"];
    "log" 2 General ["__rt::partials::log_x(g, x, y)", "__rt::partials::log_base(g, ans, y)"];
    "log2" 1 General ["__rt::partials::log2(g, x)"];
    "log10" 1 General ["__rt::partials::log10(g, x)"];
    "sqrt" 1 General ["__rt::partials::sqrt(g, ans)"];
    "cbrt" 1 General ["__rt::partials::cbrt(g, ans)"];
    "powi" 2 General ["__rt::partials::powi(g, x, y)", None];
    "powf" 2 General ["__rt::partials::powf_x(g, x, y)", "__rt::partials::powf_y(g, x, ans)"];
    "recip" 1 General ["__rt::partials::recip(g, ans)"];
    "sin" 1 General ["g * x.cos()"];
    "cos" 1 General ["-(g * x.sin())"];
    "tan" 1 General ["__rt::partials::tan(g, ans)"];
    "asin" 1 General ["__rt::partials::asin(g, x)"];
    "acos" 1 General ["__rt::partials::acos(g, x)"];
    "atan" 1 General ["__rt::partials::atan(g, x)"];
    "atan2" 2 General ["__rt::partials::atan2_y(g, x, y)", "__rt::partials::atan2_x(g, x, y)"];
    "sinh" 1 General ["g * x.cosh()"];
    "cosh" 1 General ["g * x.sinh()"];
    "tanh" 1 General ["__rt::partials::tanh(g, ans)"];
    "asinh" 1 General ["__rt::partials::asinh(g, x)"];
    "acosh" 1 General ["__rt::partials::acosh(g, x)"];
    "atanh" 1 General ["__rt::partials::atanh(g, x)"];
    "hypot" 2 General ["__rt::partials::hypot(g, x, ans)", "__rt::partials::hypot(g, y, ans)"];
    "abs" 1 General ["__rt::partials::abs(g, x)"];
    "min" 2 General ["__rt::partials::min_a(g, x, y)", "__rt::partials::min_a(g, y, x)"];
    "max" 2 General ["__rt::partials::max_a(g, x, y)", "__rt::partials::max_a(g, y, x)"];
    "clamp" 3 General [
        "__rt::partials::clamp_x(g, x, y, z)",
        "__rt::partials::clamp_lo(g, x, y)",
        "__rt::partials::clamp_hi(g, x, z)"
    ];
    "mul_add" 3 Bilinear ["g * y", "g * x", "g"];
    "to_degrees" 1 Linear ["g.to_degrees()"];
    "to_radians" 1 Linear ["g.to_radians()"];
    "signum" 1 ZeroDerivative [None];
    // `x.len()` of an array: an integer
    "len" 1 ZeroDerivative [None];
    "floor" 1 ZeroDerivative [None];
    "ceil" 1 ZeroDerivative [None];
    "round" 1 ZeroDerivative [None];
    "trunc" 1 ZeroDerivative [None];
}

/// The operators that are primitives (compound assignments map to these).
pub fn binary(op: &syn::BinOp) -> Option<&'static Rule> {
    use syn::BinOp::*;
    let name = match op {
        Add(_) | AddAssign(_) => "add",
        Sub(_) | SubAssign(_) => "sub",
        Mul(_) | MulAssign(_) => "mul",
        Div(_) | DivAssign(_) => "div",
        Rem(_) | RemAssign(_) => "rem",
        Lt(_) | Le(_) | Gt(_) | Ge(_) | Eq(_) | Ne(_) => "cmp",
        _ => return None,
    };
    find(name, 2)
}

/// A method or associated function by name and number of arguments
/// (receiver included). Operators are not found this way.
pub fn method(name: &str, arity: usize) -> Option<&'static Rule> {
    if matches!(
        name,
        "add"
            | "sub"
            | "mul"
            | "div"
            | "rem"
            | "neg"
            | "deref"
            | "cmp"
            | "not"
            | "cast"
            | "cast_to_int"
    ) {
        return None;
    }
    find(name, arity)
}

// Functions of the runtime, called by path: `sgrad::sigmoid(x)`. Only the
// `sgrad::` path is recognised: a bare `sigmoid(x)` may be the user's own.
// Their formulas are in `runtime/src/private/stats_partials.rs`.
rules! {
    FUNCTIONS:
    "student_t_log_pdf" 4 General [
        "__rt::stats_partials::student_t_log_pdf_x(g, x, y, z, w)",
        "__rt::stats_partials::student_t_log_pdf_nu(g, x, y, z, w)",
        "__rt::stats_partials::student_t_log_pdf_mu(g, x, y, z, w)",
        "__rt::stats_partials::student_t_log_pdf_sigma(g, x, y, z, w)"
    ];
    "sigmoid" 1 General ["__rt::stats_partials::sigmoid(g, x)"];
    "softplus" 1 General ["__rt::stats_partials::softplus(g, x)"];
    "log1p_exp" 1 General ["__rt::stats_partials::log1p_exp(g, x)"];
    "log_sigmoid" 1 General ["__rt::stats_partials::log_sigmoid(g, x)"];
    "ln_gamma" 1 General ["__rt::stats_partials::ln_gamma(g, x)"];
    "digamma" 1 General ["__rt::stats_partials::digamma(g, x)"];
    "trigamma" 1 General ["__rt::stats_partials::trigamma(g, x)"];
    "erf" 1 General ["__rt::stats_partials::erf(g, x)"];
    "erfc" 1 General ["__rt::stats_partials::erfc(g, x)"];
    "normal_cdf" 1 General ["__rt::stats_partials::normal_cdf(g, x)"];
    "normal_log_cdf" 1 General ["__rt::stats_partials::normal_log_cdf(g, x)"];
    "normal_log_pdf" 3 General [
        "__rt::stats_partials::normal_log_pdf_x(g, x, y, z)",
        "__rt::stats_partials::normal_log_pdf_mu(g, x, y, z)",
        "__rt::stats_partials::normal_log_pdf_sigma(g, x, y, z)"
    ];
    "lognormal_log_pdf" 3 General [
        "__rt::stats_partials::lognormal_log_pdf_x(g, x, y, z)",
        "__rt::stats_partials::lognormal_log_pdf_mu(g, x, y, z)",
        "__rt::stats_partials::lognormal_log_pdf_sigma(g, x, y, z)"
    ];
    "gamma_log_pdf" 3 General [
        "__rt::stats_partials::gamma_log_pdf_x(g, x, y, z)",
        "__rt::stats_partials::gamma_log_pdf_shape(g, x, y, z)",
        "__rt::stats_partials::gamma_log_pdf_rate(g, x, y, z)"
    ];
    "beta_log_pdf" 3 General [
        "__rt::stats_partials::beta_log_pdf_x(g, x, y, z)",
        "__rt::stats_partials::beta_log_pdf_a(g, x, y, z)",
        "__rt::stats_partials::beta_log_pdf_b(g, x, y, z)"
    ];
    "exponential_log_pdf" 2 General [
        "__rt::stats_partials::exponential_log_pdf_x(g, x, y)",
        "__rt::stats_partials::exponential_log_pdf_rate(g, x, y)"
    ];
}

/// A function of the runtime (`sgrad::name(..)`) by name and number of arguments.
pub fn function(name: &str, arity: usize) -> Option<&'static Rule> {
    FUNCTIONS
        .iter()
        .find(|r| r.name == name && r.arity == arity)
}

/// Whether the runtime has a differentiable function of this name.
pub fn is_runtime_function(name: &str) -> bool {
    FUNCTIONS.iter().any(|r| r.name == name)
}

/// Primitives cheap enough that a loop's backward sweep computes them again
/// from what it has, rather than reading them from the tape (Griewank's
/// recomputation; `sweep/loops.rs`, `tape_or_recompute`).
pub const RECOMPUTED: &[&str] = &[
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "deref",
    "cmp",
    "not",
    "cast",
    "cast_to_int",
    "len",
    // One or a few instructions (`powi` with the small exponents people
    // write: multiplications).
    "powi",
    "abs",
    "mul_add",
    "min",
    "max",
];

/// The runtime's functions of whole arrays (`log_sum_exp(&x)`), called bare
/// (checked to be sgrad's own) or by their `sgrad::` path. Their templates
/// take the argument being differentiated as `x`, the other one (of `dot`)
/// as `y`, the result as `ans`, and:
///
/// * forward mode: `t`, the tangent of `x`; the template is the result's tangent;
/// * reverse mode: `g`, the result's adjoint, and `adj`, the adjoint of `x`
///   (an array, or a row of one); the template is a statement adding `x`'s
///   share to `adj`.
pub struct ArrayRule {
    pub name: &'static str,
    pub arity: usize,
    /// The result is an array (`log_softmax`), not a number.
    pub returns_array: bool,
    /// The derivative reads the values of the arguments, which must then not
    /// change after the call (`sum`'s does not).
    pub reads_values: bool,
    pub jvp: &'static str,
    pub vjp: &'static str,
}

pub static ARRAY_FUNCTIONS: &[ArrayRule] = &[
    ArrayRule {
        name: "log_sum_exp",
        arity: 1,
        returns_array: false,
        reads_values: true,
        jvp: "__rt::partials::log_sum_exp_jvp(&x[..], ans, &t[..])",
        vjp: "__rt::partials::log_sum_exp_vjp(g, &x[..], ans, &mut adj[..]);",
    },
    ArrayRule {
        name: "log_softmax",
        arity: 1,
        returns_array: true,
        reads_values: true,
        jvp: "__rt::partials::log_softmax_jvp(&x[..], &t[..])",
        vjp: "__rt::partials::log_softmax_vjp(&x[..], &g[..], &mut adj[..]);",
    },
    ArrayRule {
        name: "dot",
        arity: 2,
        returns_array: false,
        reads_values: true,
        jvp: "__rt::dot(&t[..], &y[..])",
        vjp: "__rt::partials::dot_vjp(g, &y[..], &mut adj[..]);",
    },
    ArrayRule {
        name: "sum",
        arity: 1,
        returns_array: false,
        reads_values: false,
        jvp: "__rt::sum(&t[..])",
        vjp: "__rt::partials::sum_vjp(g, &mut adj[..]);",
    },
];

/// A function of whole arrays by name.
pub fn array_function(name: &str) -> Option<&'static ArrayRule> {
    ARRAY_FUNCTIONS.iter().find(|r| r.name == name)
}

/// A slot of a template that stands for something of the function.
pub enum Slot {
    /// An argument: `x` is 0, `y` 1, `z` 2, `w` 3.
    Arg(usize),
    /// `ans`: the primitive's result.
    Ans,
    /// `t`: an argument's tangent (array rules).
    Tangent,
    /// `adj`: an argument's adjoint (array rules).
    Adjoint,
}

/// A rule's template with its slots filled: `g` by `g`, `__rt` by the
/// runtime's path, the others by `slot` (`None` for an argument the
/// primitive does not have, which leaves the name as written).
pub fn instantiate(
    template: &str,
    g: &TokenStream,
    slot: &mut dyn FnMut(Slot) -> Option<TokenStream>,
) -> TokenStream {
    let tokens: TokenStream = template
        .parse()
        .expect("rule templates parse (tested below)");
    fill(tokens, g, slot)
}

fn fill(
    tokens: TokenStream,
    g: &TokenStream,
    slot: &mut dyn FnMut(Slot) -> Option<TokenStream>,
) -> TokenStream {
    let mut out = TokenStream::new();
    // `x` after `.` or `::` is a name, not a slot.
    let mut after_path_or_dot = false;
    for tt in tokens {
        let next_after =
            matches!(&tt, TokenTree::Punct(p) if p.as_char() == '.' || p.as_char() == ':');
        match &tt {
            TokenTree::Ident(i) if !after_path_or_dot => {
                let filled = match i.to_string().as_str() {
                    "g" => Some(g.clone()),
                    "ans" => slot(Slot::Ans),
                    "x" => slot(Slot::Arg(0)),
                    "y" => slot(Slot::Arg(1)),
                    "z" => slot(Slot::Arg(2)),
                    "w" => slot(Slot::Arg(3)),
                    "t" => slot(Slot::Tangent),
                    "adj" => slot(Slot::Adjoint),
                    "__rt" => Some(crate::names::runtime()),
                    _ => None,
                };
                out.extend(filled.unwrap_or_else(|| quote::quote!(#tt)));
            }
            TokenTree::Group(group) => {
                let inner = fill(group.stream(), g, slot);
                let mut new = proc_macro2::Group::new(group.delimiter(), inner);
                new.set_span(group.span());
                out.extend([TokenTree::Group(new)]);
            }
            _ => out.extend([tt.clone()]),
        }
        after_path_or_dot = next_after;
    }
    out
}

pub fn find(name: &str, arity: usize) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name && r.arity == arity)
}

/// Whether some rule has this name (with any arity): a call with the wrong
/// number of arguments is then rustc's to report, not ours.
pub fn is_known_method(name: &str) -> bool {
    RULES.iter().any(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_uses_known_slots() {
        let slots = ["g", "x", "y", "z", "w", "ans", "__rt"];
        for rule in RULES.iter().chain(FUNCTIONS) {
            assert_eq!(rule.partials.len(), rule.arity, "{}", rule.name);
            for p in rule.partials.iter().flatten() {
                let e: syn::Expr = syn::parse_str(p).unwrap_or_else(|e| panic!("{p}: {e}"));
                let text = quote::quote!(#e).to_string();
                for word in text.split(|c: char| !c.is_alphanumeric() && c != '_') {
                    if word.len() == 1 && word.chars().all(|c| c.is_alphabetic()) {
                        assert!(slots.contains(&word), "{}: unknown slot {word}", rule.name);
                    }
                }
                let arg_slots = ["x", "y", "z", "w"];
                for (i, s) in arg_slots.iter().enumerate() {
                    if i >= rule.arity {
                        assert!(
                            !text
                                .split(|c: char| !c.is_alphanumeric() && c != '_')
                                .any(|w| w == *s),
                            "{}: slot {s} beyond arity",
                            rule.name
                        );
                    }
                }
            }
            if rule.shape == Shape::ZeroDerivative {
                assert!(rule.partials.iter().all(Option::is_none), "{}", rule.name);
            }
        }
    }

    #[test]
    fn array_templates_parse_and_use_known_slots() {
        for rule in ARRAY_FUNCTIONS {
            let jvp: syn::Expr = syn::parse_str(rule.jvp).expect("jvp parses");
            let vjp: syn::Stmt = syn::parse_str(rule.vjp).expect("vjp parses");
            for text in [
                quote::quote!(#jvp).to_string(),
                quote::quote!(#vjp).to_string(),
            ] {
                for word in text.split(|c: char| !c.is_alphanumeric() && c != '_') {
                    if word.len() == 1 && word.chars().all(|c| c.is_alphabetic()) {
                        let ok = ["g", "x", "t", "ans"].contains(&word)
                            || (word == "y" && rule.arity == 2);
                        assert!(ok, "{}: unknown slot {word}", rule.name);
                    }
                }
            }
        }
    }

    #[test]
    fn names_are_unique_per_arity() {
        for table in [RULES, FUNCTIONS] {
            names_are_unique_in(table);
        }
    }

    fn names_are_unique_in(table: &[Rule]) {
        for (i, a) in table.iter().enumerate() {
            for b in &table[i + 1..] {
                assert!(!(a.name == b.name && a.arity == b.arity), "{}", a.name);
            }
        }
    }
}
