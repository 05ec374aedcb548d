//! Cases (what one entry point gets), and catching the macro's panics quietly.

use super::*;

// Cases: what one entry point gets.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Entry {
    /// `#[differentiable(args)] item`
    Differentiable,
    /// `grad!(item, args)` (`args` is `wrt(..)` or empty)
    Grad,
    /// `#[pullback_of(args)] item`
    PullbackOf,
}

#[derive(Clone)]
pub(super) struct Case {
    pub(super) entry: Entry,
    pub(super) args: TokenStream,
    pub(super) item: TokenStream,
}

impl Case {
    pub(super) fn size(&self) -> usize {
        let mut v = Vec::new();
        flatten(self.item.clone(), &mut v);
        v.len() + count_tokens(self.args.clone())
    }

    /// What a user writes: `#[differentiable(..)] fn ..`, pretty-printed.
    pub(super) fn render(&self) -> String {
        let args = &self.args;
        let item = &self.item;
        let text = match self.entry {
            Entry::Differentiable if args.is_empty() => quote!(#[differentiable] #item),
            Entry::Differentiable => quote!(#[differentiable(#args)] #item),
            Entry::PullbackOf => quote!(#[pullback_of(#args)] #item),
            Entry::Grad if args.is_empty() => quote!(
                fn user() {
                    let g = grad!(#item);
                }
            ),
            Entry::Grad => quote!(
                fn user() {
                    let g = grad!(#item, #args);
                }
            ),
        };
        let text = text.to_string();
        // prettyplease is not the code under test: should it fail, print tokens.
        let pretty = panic::catch_unwind(|| {
            syn::parse_file(&text)
                .ok()
                .map(|f| prettyplease::unparse(&f))
        });
        match pretty {
            Ok(Some(p)) => p,
            _ => text,
        }
    }
}

pub(super) fn count_tokens(ts: TokenStream) -> usize {
    let mut v = Vec::new();
    flatten(ts, &mut v);
    v.len()
}

/// Runs the macro once on `case`. `with_scalars` around the call resets the
/// macro's thread-local state that a panic in an earlier expansion left behind.
pub(super) fn expand(case: &Case) -> TokenStream {
    let args = case.args.clone();
    let item = case.item.clone();
    crate::symbol::with_scalars(&syn::Generics::default(), || match case.entry {
        Entry::Differentiable => crate::expand::differentiable(args, item),
        Entry::PullbackOf => crate::rule_attr::pullback_of(args, item),
        Entry::Grad if args.is_empty() => crate::expand::grad(item),
        Entry::Grad => crate::expand::grad(quote!(#item, #args)),
    })
}

// ---------------------------------------------------------------------------
// Catching panics quietly.

pub(super) struct PanicInfo {
    pub(super) location: String,
    pub(super) message: String,
    pub(super) backtrace: Option<std::backtrace::Backtrace>,
}

thread_local! {
    /// Set while this thread expands a mutant: its panics are recorded, not printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Whether to capture a backtrace with the next recorded panic.
    static WANT_BACKTRACE: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<PanicInfo>> = const { RefCell::new(None) };
}

pub(super) fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                return previous(info);
            }
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic payload>".to_string());
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_else(|| "<unknown>".to_string());
            let backtrace = WANT_BACKTRACE
                .with(Cell::get)
                .then(std::backtrace::Backtrace::force_capture);
            LAST_PANIC.with(|p| {
                *p.borrow_mut() = Some(PanicInfo {
                    location,
                    message,
                    backtrace,
                })
            });
        }));
    });
}

pub(super) enum Outcome {
    /// Expanded: whether the expansion reports an error, and its size in tokens.
    Fine(bool, usize),
    Panicked(PanicInfo),
}

/// Whether an expansion holds a `compile_error!` (at the top or in a block).
pub(super) fn reports_error(out: TokenStream) -> bool {
    out.into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == "compile_error",
        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => g
            .stream()
            .into_iter()
            .any(|t| matches!(t, TokenTree::Ident(i) if i == "compile_error")),
        _ => false,
    })
}

pub(super) fn run(case: &Case, backtrace: bool) -> (Outcome, Duration) {
    run_with(expand, case, backtrace)
}

/// `expander` is the macro (`expand`), or a stand-in in the harness's own test.
pub(super) fn run_with(
    expander: fn(&Case) -> TokenStream,
    case: &Case,
    backtrace: bool,
) -> (Outcome, Duration) {
    QUIET.with(|q| q.set(true));
    WANT_BACKTRACE.with(|w| w.set(backtrace));
    LAST_PANIC.with(|p| p.borrow_mut().take());
    let start = Instant::now();
    let result = panic::catch_unwind(AssertUnwindSafe(|| expander(case)));
    let elapsed = start.elapsed();
    QUIET.with(|q| q.set(false));
    let outcome = match result {
        Ok(out) => Outcome::Fine(reports_error(out.clone()), count_tokens(out)),
        Err(_) => Outcome::Panicked(LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or(
            PanicInfo {
                location: "<unknown>".to_string(),
                message: "<panic without hook>".to_string(),
                backtrace: None,
            },
        )),
    };
    (outcome, elapsed)
}

/// Panics are the same bug if they happen at the same place with the same
/// message up to numbers (`the len is 3 but the index is 5`).
pub(super) fn panic_key(p: &PanicInfo) -> String {
    let mut message = String::new();
    let mut in_digits = false;
    for c in p.message.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                message.push('N');
            }
            in_digits = true;
        } else {
            message.push(c);
            in_digits = false;
        }
    }
    format!("{} {}", p.location, message)
}

/// The frames of the macro in a backtrace, innermost first.
pub(super) fn macro_frames(bt: &std::backtrace::Backtrace) -> Vec<String> {
    let text = bt.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut frames = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        let Some((_, name)) = line.split_once(": ") else {
            continue;
        };
        if !name.starts_with("sgrad_macros::") || name.contains("mutation_tests") {
            continue;
        }
        let at = lines
            .get(i + 1)
            .map(|l| l.trim())
            .filter(|l| l.starts_with("at "))
            .map(|l| format!(" ({})", l.trim_start_matches("at ")))
            .unwrap_or_default();
        let name = name.rsplit_once("::h").map_or(name, |(n, _)| n);
        frames.push(format!("{name}{at}"));
        if frames.len() == 8 {
            break;
        }
    }
    frames
}

// ---------------------------------------------------------------------------
