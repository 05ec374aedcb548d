//! `sgrad-gradbench --bench`: time each eval's primal against its
//! derivative at one of the sizes its GradBench driver uses by default,
//! with inputs drawn as the driver draws them (same distributions and
//! shapes, this crate's own seeded generator), and report derivative ÷
//! primal. With `--manual DIR`, the same input files are also given to
//! GradBench's hand-written C++ tool (`DIR/<eval> FILE FUNCTION`, built
//! with `make -C tools/manual`), and its ratio is reported beside.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::evals::{self, Rng};

/// One measured case: an eval, a description of its size, its input and
/// the names of its primal and derivative functions.
struct Case {
    eval: &'static str,
    size: String,
    input: Value,
    primal: &'static str,
    derivative: &'static str,
}

fn rows(rng: &mut Rng, n: usize, d: usize, f: impl Fn(&mut Rng) -> f64) -> Vec<Vec<f64>> {
    (0..n).map(|_| (0..d).map(|_| f(rng)).collect()).collect()
}

fn cases(only: &[String]) -> Vec<Case> {
    let mut rng = Rng(31337);
    let mut out = Vec::new();
    let mut add = |eval: &'static str, size: String, input: Value, primal, derivative| {
        if only.is_empty() || only.iter().any(|o| o == eval) {
            out.push(Case {
                eval,
                size,
                input,
                primal,
                derivative,
            });
        }
    };
    let n = 1_280_000;
    add(
        "lse",
        format!("n = {n}"),
        json!({ "x": rng.vec(n, 0.0, 1.0) }),
        "primal",
        "gradient",
    );
    let (n, m) = (16392, 128);
    add(
        "llsq",
        format!("n = {n}, m = {m}"),
        json!({ "x": rng.vec(m, 0.0, 1.0), "n": n }),
        "primal",
        "gradient",
    );
    let (n, s) = (10000, 100);
    add(
        "ode",
        format!("n = {n}, s = {s}"),
        json!({ "x": rng.vec(n, 0.0, 1.0), "s": s }),
        "primal",
        "gradient",
    );
    let ell = 9;
    add(
        "det",
        format!("ℓ = {ell}"),
        json!({ "A": rng.vec(ell * ell, 0.0, 1.0), "ell": ell }),
        "primal",
        "gradient",
    );
    for (d, k) in [(10, 25), (64, 100)] {
        let n = 1000;
        let input = json!({
            "d": d, "k": k, "n": n, "m": 0, "gamma": 1.0,
            "x": rows(&mut rng, n, d, Rng::normal),
            "alpha": (0..k).map(|_| rng.normal()).collect::<Vec<f64>>(),
            "mu": rows(&mut rng, k, d, Rng::uniform),
            "q": rows(&mut rng, k, d, Rng::normal),
            "l": rows(&mut rng, k, d * (d - 1) / 2, Rng::normal),
        });
        add(
            "gmm",
            format!("d = {d}, k = {k}, n = {n}"),
            input,
            "objective",
            "jacobian",
        );
    }
    let (k, n, d) = (100, 10000, 16);
    let points = rows(&mut rng, n, d, Rng::uniform);
    let centroids = points[n - k..].to_vec();
    add(
        "kmeans",
        format!("k = {k}, n = {n}, d = {d}"),
        json!({ "points": points, "centroids": centroids }),
        "cost",
        "dir",
    );
    for (l, c) in [(2, 1024), (4, 4096)] {
        // Text of lowercase letters: 7 bits a character, as for the driver's text.
        let b = 7;
        let seq: Vec<Vec<f64>> = (0..c)
            .map(|_| {
                let ch = 97 + (rng.uniform() * 26.0) as u32;
                (0..b).rev().map(|bit| ((ch >> bit) & 1) as f64).collect()
            })
            .collect();
        let input = json!({
            "main_params": rows(&mut rng, 2 * l, 4 * b, Rng::uniform),
            "extra_params": rows(&mut rng, 3, b, Rng::uniform),
            "state": rows(&mut rng, 2 * l, b, Rng::uniform),
            "sequence": seq,
        });
        add(
            "lstm",
            format!("l = {l}, c = {c}"),
            input,
            "objective",
            "jacobian",
        );
    }
    // The sizes of GradBench's first BA file, one camera and point like its own.
    let (n, m, p) = (49, 7776, 31843);
    let cam = [
        -0.76, -1.11, -0.85, 34.6, 39.7, 53.9, 419.2, 5.86, -8.52, 0.0878, 0.00274,
    ];
    add(
        "ba",
        format!("n = {n}, m = {m}, p = {p}"),
        json!({ "n": n, "m": m, "p": p, "cam": cam, "x": [7.2, 0.0011, 3.02], "w": 0.417, "feat": [271.8, 834.2] }),
        "objective",
        "jacobian",
    );
    // A synthetic hand of the small model's size (544 vertices, each on a
    // bone and its parent), the complicated variant, as hand6's 1600 points.
    let (verts, n) = (544, 1600);
    add(
        "ht",
        format!("complicated, {verts} vertices, n = {n} (synthetic hand)"),
        evals::ht::synthetic_input(31337, verts, n, true, usize::MAX),
        "objective",
        "jacobian",
    );
    out
}

fn median(mut t: Vec<u64>) -> f64 {
    t.sort_unstable();
    if t.is_empty() {
        return f64::NAN;
    }
    let mid = t.len() / 2;
    if t.len() % 2 == 1 {
        t[mid] as f64
    } else {
        (t[mid - 1] + t[mid]) as f64 / 2.0
    }
}

/// Median time of `function` in ns by this tool.
fn time_sgrad(case: &Case, function: &str) -> Result<f64, String> {
    let ev = evals::evaluate(case.eval, function, &case.input)?;
    Ok(median(ev.timings))
}

/// Median time of `function` in ns by the C++ tool in `dir`.
fn time_manual(dir: &Path, file: &Path, case: &Case, function: &str) -> Result<f64, String> {
    let bin = dir.join(case.eval);
    let out = Command::new(&bin)
        .arg(file)
        .arg(function)
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let times = stdout
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|t| t["name"] == "evaluate")
        .filter_map(|t| t["nanoseconds"].as_u64())
        .collect();
    Ok(median(times))
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Run the benchmark; `args` are the evals to run (all when empty),
/// `--manual DIR`, `--min-runs N` and `--min-seconds S`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut manual: Option<PathBuf> = None;
    let mut min_runs = 5u64;
    let mut min_seconds = 1.0f64;
    let mut only = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--manual" => manual = it.next().map(PathBuf::from),
            "--min-runs" => min_runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(min_runs),
            "--min-seconds" => {
                min_seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(min_seconds)
            }
            other => only.push(other.to_string()),
        }
    }
    let dir = std::env::temp_dir().join(format!("sgrad-gradbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    println!("| eval | size | sgrad primal | sgrad derivative | sgrad ÷ | manual primal | manual derivative | manual ÷ |");
    println!("|---|---|---|---|---|---|---|---|");
    for mut case in cases(&only) {
        case.input["min_runs"] = json!(min_runs);
        case.input["min_seconds"] = json!(min_seconds);
        let p = time_sgrad(&case, case.primal)?;
        let d = time_sgrad(&case, case.derivative)?;
        let mut row = format!(
            "| {} | {} | {} | {} | **{:.1}** |",
            case.eval,
            case.size,
            fmt_ns(p),
            fmt_ns(d),
            d / p
        );
        match &manual {
            Some(bin) => {
                let file = dir.join(format!("{}.json", case.eval));
                std::fs::write(&file, case.input.to_string()).map_err(|e| e.to_string())?;
                let mp = time_manual(bin, &file, &case, case.primal);
                let md = time_manual(bin, &file, &case, case.derivative);
                match (mp, md) {
                    (Ok(mp), Ok(md)) => {
                        row += &format!(" {} | {} | **{:.1}** |", fmt_ns(mp), fmt_ns(md), md / mp)
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        row += " — | — | — |";
                        eprintln!("manual {}: {e}", case.eval);
                    }
                }
                let _ = std::fs::remove_file(&file);
            }
            None => row += " — | — | — |",
        }
        println!("{row}");
    }
    // The nested evals have no primal/derivative pair of their own; time
    // their outer objective against its derivative, and each whole solve.
    if only.is_empty() || only.iter().any(|o| o == "particle" || o == "saddle") {
        nested(min_runs, min_seconds);
    }
    let _ = std::fs::remove_dir(&dir);
    Ok(())
}

fn nested(min_runs: u64, min_seconds: f64) {
    use crate::protocol::Runs;
    let runs = Runs {
        min_runs: min_runs as usize,
        min_seconds,
    };
    let time = |f: &mut dyn FnMut() -> f64| median(runs.repeat(f).1);
    use evals::particle::{miss_inner_reverse, miss_inner_reverse_grad, miss_inner_reverse_jvp};
    let p = time(&mut || miss_inner_reverse(0.0));
    let r = time(&mut || miss_inner_reverse_grad(0.0).1);
    let f = time(&mut || miss_inner_reverse_jvp(0.0, 1.0).1);
    println!();
    println!("particle, outer objective at w = 0 (inner reverse): {}; outer reverse {} (÷ {:.1}); outer forward {} (÷ {:.1})",
        fmt_ns(p), fmt_ns(r), r / p, fmt_ns(f), f / p);
    for mode in ["rr", "rf", "fr", "ff"] {
        let t = time(&mut || evals::particle::solve(mode, 0.0).unwrap_or(f64::NAN));
        println!("particle {mode}, whole descent: {}", fmt_ns(t));
    }
    for mode in ["rr", "rf", "fr", "ff"] {
        let t = time(&mut || evals::saddle::solve(mode, [1.0, 1.0]).map_or(f64::NAN, |v| v[0]));
        println!("saddle {mode}, whole descent: {}", fmt_ns(t));
    }
}
