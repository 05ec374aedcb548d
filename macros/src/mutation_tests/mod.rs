//! Mutation ("fuzz") test of invariant 5: the macro never panics on user
//! input (and does not take exponential time on it either).
//!
//! Seeds are the `#[differentiable]` functions, `#[pullback_of]` rules and
//! `grad!` closures of `tests/expand/*.rs` and `tests/*.rs` (read from disk and
//! parsed with syn at test time), plus the hand-written `HAND_SEEDS`,
//! `ODD_SEEDS` and `HAND_GRAD_SEEDS` below; each seed is expanded unchanged
//! first. Each mutant is a seed changed by one to four mutations:
//! * on tokens: delete one or a short run, duplicate, swap two adjacent,
//!   replace an identifier by another of the function, replace a literal,
//!   delete a group or only its delimiters, copy a token elsewhere;
//! * on syn's tree: delete or duplicate a statement (once per mutant up to
//!   five copies), wrap a statement in a loop / `for` / `while` / `if` /
//!   labeled block, wrap an expression (`loop { break e; }`, labeled blocks
//!   and loops with `break 'l e`, `if`, `match`, tuples, `sg`, `sg_for!`,
//!   closures, `return` ...), replace an expression by another of the
//!   function, insert an exit (`break;`, `continue 'l;`, `break v;`,
//!   `return x;` ...) or another statement (tuple swaps, array stores and
//!   pushes, `let .. else`, loops used as values), transplant a statement of
//!   another seed (its names changed to this function's), change the type or
//!   pattern of a parameter or the result type;
//! * sometimes on the attribute's arguments (other names, none, `; forward`,
//!   a name that is not a parameter), and one `#[differentiable]` function in
//!   ten is given to `grad!` as a closure instead.
//!
//! Token-level mutants are printed and lexed again, so each is text a user
//! could write; mutants that no longer parse as the macro's input are skipped
//! (the macro passes those through untouched).
//!
//! A panic is caught with `catch_unwind`; a process-wide hook, installed once,
//! keeps the default output of panics raised while a mutant is expanded (on
//! this test's own threads only; every other panic still reaches the previous
//! hook, so nothing needs restoring) and records their message, location and
//! backtrace instead. Distinct panics (by location and message, digits
//! ignored) are minimised greedily (arguments, statements, groups, then runs
//! of tokens deleted while the same panic remains) and listed, pretty-printed,
//! when the test fails.
//!
//! Cost is checked three ways: an expansion slower than a second (timed again
//! before it counts); an expansion more than `BLOWUP_RATIO` times larger than
//! its input; and `growth`, which copies one statement 2, 4 and 8 times and
//! compares the sizes of the expansions (every statement of the hand-written
//! seeds, and of `GROWTH_PERCENT` % of the mutants). An expansion still
//! running after `SGRAD_MUTATION_HANG_SECS` fails the test at once with its
//! input.
//!
//! Environment:
//! * `SGRAD_MUTANTS=200000`: the number of mutants (default `DEFAULT_MUTANTS`,
//!   about 5 s on two cores in a debug build).
//! * `SGRAD_MUTATION_SEED=7`: another sequence of mutants (mutant `i` of seed
//!   `s` is the same whatever the number of threads).
//! * `SGRAD_MUTATION_THREADS=1`: worker threads (default: 2, or 1 on one core).
//! * `SGRAD_MUTATION_DEPTH=8`: mutations per mutant at most (default 4).
//! * `SGRAD_MUTATION_HANG_SECS=300`: when an expansion is a hang (default 60).
//! * `SGRAD_MUTATION_REPORT=/path/report.md`: also write the report there.
//!
//! `cargo test -p sgrad-macros mutation -- --nocapture` prints statistics;
//! `mutation_print_mutants` (ignored) prints mutants, `mutation_time_expansion`
//! (ignored) times the expansion of a file's functions.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::parse::Parser;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};

/// Mutants per run by default: with the seeds and growth probes, about 10 s
/// of one core in a debug build.
const DEFAULT_MUTANTS: usize = 4000;
/// An expansion slower than this is a finding.
const SLOW: Duration = Duration::from_secs(1);
/// An expansion this many times larger than its input (and `BLOWUP_TOKENS`
/// tokens at least) is a finding: the usual is 5 to 90 times, and a cost
/// exponential in the input shows here long before it takes seconds.
const BLOWUP_RATIO: usize = 300;
const BLOWUP_TOKENS: usize = 50_000;
/// The share of mutants (percent) whose statements are copied 2, 4, 8 times
/// to see whether the expansion grows exponentially (`growth`).
const GROWTH_PERCENT: u64 = 4;
/// Tries to find a mutation that still parses, per mutation.
const TRIES: usize = 12;
/// Expansions spent minimising one reproducer at most.
const MINIMISE_BUDGET: usize = 4000;

mod ast;
mod cases;
mod minimise;
mod mutants;
mod seeds;
mod seeds_hand;
mod tokens;

use self::ast::*;
use self::cases::*;
use self::minimise::*;
use self::mutants::*;
use self::seeds::*;
use self::seeds_hand::*;
use self::tokens::*;

// The campaign.

struct Config {
    mutants: usize,
    seed: u64,
    threads: usize,
    /// Mutations per mutant at most.
    depth: usize,
    hang: Duration,
    report: Option<String>,
}

impl Config {
    fn from_env() -> Config {
        let num = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
                })
                .unwrap_or(default)
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        Config {
            mutants: num("SGRAD_MUTANTS", DEFAULT_MUTANTS as u64) as usize,
            seed: num("SGRAD_MUTATION_SEED", 1),
            threads: num("SGRAD_MUTATION_THREADS", cores as u64).max(1) as usize,
            depth: num("SGRAD_MUTATION_DEPTH", 4).max(1) as usize,
            hang: Duration::from_secs(num("SGRAD_MUTATION_HANG_SECS", 60)),
            report: std::env::var("SGRAD_MUTATION_REPORT").ok(),
        }
    }
}

/// What a worker is expanding: seed `j` unchanged, or mutant `i`.
#[derive(Clone, Copy, Debug)]
enum Work {
    Seed(usize),
    /// Statement `k` of hand-written seed `j` copied 2, 4, 8 times (`growth`).
    Growth(usize, usize),
    Mutant(usize),
}

impl Work {
    fn number(self) -> usize {
        match self {
            Work::Seed(j) => j,
            Work::Growth(j, k) => (j << 20) + k + (1 << 36),
            Work::Mutant(i) => i + (1 << 40),
        }
    }

    fn case(self, hand: &[Seed], tests: &[Seed], config: &Config) -> Option<Case> {
        match self {
            Work::Seed(j) | Work::Growth(j, _) => {
                hand.iter().chain(tests).nth(j).map(|s| s.case.clone())
            }
            Work::Mutant(i) => mutant_deep(hand, tests, config.seed, i, config.depth),
        }
    }
}

/// A panic found by one worker: the smallest input that raised it.
struct Found {
    location: String,
    message: String,
    hits: usize,
    case: Case,
    work: Work,
}

#[derive(Default)]
struct Stats {
    seeds: usize,
    tried: usize,
    expanded: usize,
    with_errors: usize,
    generating: Duration,
    expanding: Duration,
    slowest: Duration,
    slowest_work: Option<Work>,
    /// How many expansions were 50, 100, 200, 400, 800 times larger than their input.
    ratios: [usize; 5],
    largest_ratio: usize,
    largest_work: Option<Work>,
    growth_probes: usize,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.seeds += o.seeds;
        self.tried += o.tried;
        self.expanded += o.expanded;
        self.with_errors += o.with_errors;
        self.generating += o.generating;
        self.expanding += o.expanding;
        if o.slowest > self.slowest {
            self.slowest = o.slowest;
            self.slowest_work = o.slowest_work;
        }
        self.growth_probes += o.growth_probes;
        for (a, b) in self.ratios.iter_mut().zip(o.ratios) {
            *a += b;
        }
        if o.largest_ratio > self.largest_ratio {
            self.largest_ratio = o.largest_ratio;
            self.largest_work = o.largest_work;
        }
    }
}

/// What a worker sends back: strings only (token streams stay on their thread).
struct Report {
    stats: Stats,
    panics: BTreeMap<String, PanicReport>,
    /// (what, the input): slow expansions and exponential growth.
    slow: Vec<(String, String)>,
}

struct PanicReport {
    location: String,
    message: String,
    hits: usize,
    work: Work,
    size: usize,
    original: String,
    minimised: String,
    frames: Vec<String>,
}

type Current = Arc<Mutex<Option<(Instant, Work)>>>;

fn worker(config: &Config, thread: usize, current: &Current) -> Report {
    let (hand, tests) = collect_seeds();
    assert!(hand.len() > 20, "hand-written seeds: {}", hand.len());
    assert!(tests.len() > 100, "seeds from tests/: {}", tests.len());
    let seeds = hand.len() + tests.len();
    let mut stats = Stats::default();
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut slow = Vec::new();
    // The seeds as they are, then the mutants; thread `t` takes every `t`-th.
    let growth_work: Vec<Work> = hand
        .iter()
        .enumerate()
        .flat_map(|(j, s)| (0..count_stmts(&s.case)).map(move |k| Work::Growth(j, k)))
        .collect();
    let work = (0..seeds)
        .map(Work::Seed)
        .chain(growth_work)
        .chain((0..config.mutants).map(Work::Mutant))
        .skip(thread)
        .step_by(config.threads);
    for w in work {
        let start = Instant::now();
        let case = w.case(&hand, &tests, config);
        stats.generating += start.elapsed();
        match w {
            Work::Seed(_) => stats.seeds += 1,
            Work::Mutant(_) => stats.tried += 1,
            Work::Growth(_, k) => {
                stats.growth_probes += 1;
                if let Some(found) = case.as_ref().and_then(|c| growth(c, k)) {
                    slow.push((format!("{w:?}: exponential growth"), found));
                }
                continue;
            }
        }
        if config.mutants > 4 * DEFAULT_MUTANTS && stats.tried % 10_000 == 0 && stats.tried > 0 {
            eprintln!(
                "[mutation-{thread}] {} mutants, {} distinct panic(s), {} slow",
                stats.tried,
                found.len(),
                slow.len()
            );
        }
        let Some(case) = case else { continue };
        stats.expanded += 1;
        *current.lock().unwrap() = Some((Instant::now(), w));
        let (outcome, elapsed) = run(&case, false);
        *current.lock().unwrap() = None;
        stats.expanding += elapsed;
        if elapsed > stats.slowest {
            stats.slowest = elapsed;
            stats.slowest_work = Some(w);
        }
        if elapsed > SLOW {
            // Timed again, so that a busy machine is not a finding.
            let again = if elapsed > 5 * SLOW {
                elapsed
            } else {
                run(&case, false).1
            };
            if again > SLOW {
                slow.push((
                    format!("{w:?}: {:.1?} to expand", elapsed.min(again)),
                    case.render(),
                ));
            }
        }
        match outcome {
            Outcome::Fine(errors, out) => {
                stats.with_errors += usize::from(errors);
                // Now and then, whether one statement copied makes the expansion explode.
                let mut rng = Rng::new(config.seed ^ 0x5EED ^ (w.number() as u64) << 20);
                if !errors && out < 20_000 && rng.chance(GROWTH_PERCENT) {
                    stats.growth_probes += 1;
                    let stmts = count_stmts(&case);
                    let found = (stmts > 0)
                        .then(|| growth(&case, rng.below(stmts)))
                        .flatten();
                    if let Some(found) = found {
                        slow.push((format!("{w:?}: exponential growth"), found));
                    }
                }
                let ratio = out / case.size().max(1);
                for (i, bound) in [50, 100, 200, 400, 800].into_iter().enumerate() {
                    if ratio >= bound {
                        stats.ratios[i] += 1;
                    }
                }
                if ratio >= BLOWUP_RATIO && out >= BLOWUP_TOKENS {
                    slow.push((
                        format!(
                            "{w:?}: {out} tokens out of {} in {elapsed:.1?}",
                            case.size()
                        ),
                        case.render(),
                    ));
                }
                if ratio > stats.largest_ratio {
                    stats.largest_ratio = ratio;
                    stats.largest_work = Some(w);
                }
            }
            Outcome::Panicked(p) => {
                let key = panic_key(&p);
                let size = case.size();
                let entry = found.entry(key).or_insert_with(|| Found {
                    location: p.location.clone(),
                    message: p.message.clone(),
                    hits: 0,
                    case: case.clone(),
                    work: w,
                });
                entry.hits += 1;
                if size < entry.case.size() {
                    entry.case = case;
                    entry.work = w;
                }
            }
        }
    }
    let panics = found
        .into_iter()
        .map(|(key, f)| {
            let small = minimise(expand, &f.case, &key);
            let frames = match run(&small, true).0 {
                Outcome::Panicked(PanicInfo {
                    backtrace: Some(bt),
                    ..
                }) => macro_frames(&bt),
                _ => Vec::new(),
            };
            let report = PanicReport {
                location: f.location,
                message: f.message,
                hits: f.hits,
                work: f.work,
                size: small.size(),
                original: f.case.render(),
                minimised: small.render(),
                frames,
            };
            (key, report)
        })
        .collect();
    Report {
        stats,
        panics,
        slow,
    }
}

fn render_report(
    config: &Config,
    stats: &Stats,
    panics: &[&PanicReport],
    slow: &[(String, String)],
    took: Duration,
) -> String {
    let mut out = format!(
        "{} seeds and {} mutants (seed {}, {} thread(s)) in {:.1?}: {} parsed and expanded, {} of them reporting an error; generating {:.1?}, expanding {:.1?}, slowest expansion {:.1?} ({:?}); expansions 50/100/200/400/800 times their input: {:?}, the largest {} times ({:?}); {} growth probes\n{} distinct panic(s), {} slow or blown-up input(s)\n",
        stats.seeds,
        stats.tried,
        config.seed,
        config.threads,
        took,
        stats.expanded,
        stats.with_errors,
        stats.generating,
        stats.expanding,
        stats.slowest,
        stats.slowest_work,
        stats.ratios,
        stats.largest_ratio,
        stats.largest_work,
        stats.growth_probes,
        panics.len(),
        slow.len()
    );
    for (n, p) in panics.iter().enumerate() {
        out.push_str(&format!(
            "\n## Panic {}: {}\n\nat {} ({} input(s) hit it; the smallest: {:?})\n",
            n + 1,
            p.message,
            p.location,
            p.hits,
            p.work
        ));
        if !p.frames.is_empty() {
            out.push_str("\nin:\n");
            for f in &p.frames {
                out.push_str(&format!("  {f}\n"));
            }
        }
        out.push_str(&format!(
            "\nminimised ({} tokens):\n\n```rust\n{}```\n",
            p.size, p.minimised
        ));
    }
    for (what, source) in slow {
        out.push_str(&format!(
            "\n## Slow or blown up: {what}\n\n```rust\n{source}```\n"
        ));
    }
    out
}

/// A development aid, not a test: prints mutants `SGRAD_MUTATION_FROM..+SGRAD_MUTANTS`
/// (`SGRAD_MUTANTS=20 cargo test -p sgrad-macros mutation_print -- --ignored --nocapture`).
#[test]
#[ignore]
fn mutation_print_mutants() {
    let config = Config::from_env();
    let from = std::env::var("SGRAD_MUTATION_FROM").map_or(0, |v| v.parse().expect("a number"));
    let (hand, tests) = collect_seeds();
    for index in from..from + config.mutants.min(1000) {
        if let Some(case) = mutant_deep(&hand, &tests, config.seed, index, config.depth) {
            println!("// mutant {index}\n{}", case.render());
        }
    }
}

#[test]
fn mutation_the_macro_never_panics() {
    install_quiet_hook();
    let config = Arc::new(Config::from_env());
    let start = Instant::now();
    let mut handles = Vec::new();
    for thread in 0..config.threads {
        let current: Current = Arc::new(Mutex::new(None));
        let config = Arc::clone(&config);
        let c = Arc::clone(&current);
        let handle = std::thread::Builder::new()
            .name(format!("mutation-{thread}"))
            .stack_size(256 << 20)
            .spawn(move || worker(&config, thread, &c))
            .expect("a worker thread");
        handles.push((handle, current));
    }
    // Watch for a hang; a worker still stuck when the test fails ends with the process.
    while handles.iter().any(|(h, _)| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        for (_, current) in &handles {
            let stuck = *current.lock().unwrap();
            if let Some((since, w)) = stuck {
                // Said once, should the process die of it (memory).
                let t = since.elapsed();
                if t > Duration::from_secs(5) && t < Duration::from_millis(5020) {
                    eprintln!("[mutation] {w:?} has been expanding for 5 s");
                }
                if t > config.hang {
                    let (hand, tests) = collect_seeds();
                    let source = w
                        .case(&hand, &tests, &config)
                        .map_or_else(String::new, |c| c.render());
                    panic!(
                        "the macro has been expanding {w:?} for {:.1?} (a hang):\n{source}",
                        since.elapsed()
                    );
                }
            }
        }
    }
    let mut stats = Stats::default();
    let mut panics: BTreeMap<String, PanicReport> = BTreeMap::new();
    let mut slow = Vec::new();
    for (h, _) in handles {
        let r = h.join().unwrap_or_else(|e| panic::resume_unwind(e));
        stats.add(&r.stats);
        slow.extend(r.slow);
        for (key, p) in r.panics {
            let hits = panics.get(&key).map_or(0, |q| q.hits) + p.hits;
            match panics.get_mut(&key) {
                Some(q) if q.size <= p.size => q.hits = hits,
                _ => {
                    panics.insert(key, PanicReport { hits, ..p });
                }
            }
        }
    }
    // One entry per kind of finding: the smallest input, and how many there were.
    let mut kinds: BTreeMap<String, (usize, String, String)> = BTreeMap::new();
    for (what, source) in slow {
        let kind = what.split_once(": ").map_or(what.as_str(), |(_, k)| k);
        let kind = if kind.contains("tokens out of") {
            "blown up"
        } else if kind.contains("to expand") {
            "slow"
        } else {
            "exponential growth"
        }
        .to_string();
        let e = kinds
            .entry(kind)
            .or_insert((0, what.clone(), source.clone()));
        e.0 += 1;
        if source.len() < e.2.len() {
            (e.1, e.2) = (what, source);
        }
    }
    let slow: Vec<(String, String)> = kinds
        .into_values()
        .map(|(n, what, source)| {
            (
                format!("{what} ({n} input(s) like it; the smallest)"),
                source,
            )
        })
        .collect();
    let took = start.elapsed();
    let mut list: Vec<&PanicReport> = panics.values().collect();
    list.sort_by_key(|p| std::cmp::Reverse(p.hits));
    let report = render_report(&config, &stats, &list, &slow, took);
    if let Some(path) = &config.report {
        let mut full = report.clone();
        full.push_str("\n# The smallest inputs before minimising\n");
        for p in &list {
            full.push_str(&format!(
                "\n{} at {} ({:?}):\n\n```rust\n{}```\n",
                p.message, p.location, p.work, p.original
            ));
        }
        std::fs::write(path, full).expect("writable report");
    }
    println!("{report}");
    assert!(
        stats.expanded * 2 > stats.tried,
        "too few mutants parse: {} of {}",
        stats.expanded,
        stats.tried
    );
    // Slow inputs are reported, not failed: the one kind found is the
    // README's known limitation (guards with nested `return`s in sequence
    // copy the code after them into both branches).
    assert!(
        list.is_empty(),
        "the macro panicked on valid input (invariant 5):\n{report}"
    );
}

/// The harness itself: a stand-in for the macro that panics on `break (..)`
/// inside a `loop` is caught quietly, and minimised to a few tokens.
#[test]
fn mutation_harness_catches_and_minimises_a_panic() {
    install_quiet_hook();
    fn fake(case: &Case) -> TokenStream {
        let text = case.item.to_string();
        if text.contains("loop") && text.contains("break (") {
            let v: Vec<usize> = Vec::new();
            let _ = v[text.len()];
        }
        case.item.clone()
    }
    let file = syn::parse_file(HAND_SEEDS).expect("hand-written seeds parse");
    let mut seeds = Seeds::default();
    seeds.visit_file(&file);
    let case = seeds
        .cases
        .into_iter()
        .find(|c| c.item.to_string().contains("loop_value_tuple"))
        .expect("the seed");
    let Outcome::Panicked(p) = run_with(fake, &case, false).0 else {
        panic!("the stand-in panics");
    };
    assert!(p.message.contains("index out of bounds"), "{}", p.message);
    assert!(
        p.location.contains("mutation_tests/mod.rs"),
        "{}",
        p.location
    );
    let key = panic_key(&p);
    let small = minimise(fake, &case, &key);
    assert!(small.size() < case.size(), "{}", small.render());
    let text = small.item.to_string();
    assert!(text.contains("loop") && text.contains("break ("), "{text}");
    assert!(small.size() <= 20, "{}", small.render());
    assert!(
        matches!(run_with(fake, &small, false).0, Outcome::Panicked(q) if panic_key(&q) == key)
    );
}

/// A development aid, not a test: times the expansion of each seed in the file
/// named by `SGRAD_EXPAND`, without printing it (`SGRAD_EXPAND=/tmp/f.rs cargo
/// test -p sgrad-macros mutation_time -- --ignored --nocapture`).
#[test]
#[ignore]
fn mutation_time_expansion() {
    install_quiet_hook();
    let path = std::env::var("SGRAD_EXPAND").expect("SGRAD_EXPAND names a file");
    let text = std::fs::read_to_string(path).expect("readable file");
    let mut seeds = Seeds::default();
    seeds.visit_file(&syn::parse_file(&text).expect("the file parses"));
    for case in &seeds.cases {
        let start = Instant::now();
        let result = panic::catch_unwind(AssertUnwindSafe(|| expand(case)));
        let took = start.elapsed();
        match result {
            Ok(out) => println!(
                "{took:.2?}: {} input tokens, {} output tokens, errors: {}",
                case.size(),
                count_tokens(out.clone()),
                reports_error(out)
            ),
            Err(_) => println!("{took:.2?}: panicked"),
        }
    }
}
