//! GradBench's protocol: one JSON message per line on stdin, one response
//! per line on stdout, in the same order.
//!
//! The eval sends `start`, `define` (a module), `evaluate` (a function of
//! that module at an input) and `analysis` (its verdict on an earlier
//! output). Only `define` and `evaluate` get substantive answers; every
//! other kind is acknowledged with its `id`.

use std::io::{BufRead, Write};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::evals;

/// One message from the eval, with the fields the tool reads.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub id: Value,
    pub kind: String,
    #[serde(default)]
    pub module: Option<String>,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub input: Option<Value>,
}

/// How often an evaluation is repeated: at least `min_runs` times, and
/// until the runs together took at least `min_seconds`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Runs {
    pub min_runs: usize,
    pub min_seconds: f64,
}

impl Runs {
    /// Read `min_runs` and `min_seconds` from an input (defaults: one run).
    pub fn from_input(input: &Value) -> Runs {
        let min_runs = input
            .get("min_runs")
            .and_then(Value::as_u64)
            .map_or(1, |r| r.max(1) as usize);
        let min_seconds = input
            .get("min_seconds")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        Runs {
            min_runs,
            min_seconds,
        }
    }

    /// Call `f` as often as asked and return its last result and the time
    /// of every call in nanoseconds.
    pub fn repeat<O>(&self, mut f: impl FnMut() -> O) -> (O, Vec<u64>) {
        let mut times = Vec::new();
        let mut total = 0.0;
        loop {
            let start = Instant::now();
            let out = f();
            let ns = start.elapsed().as_nanos() as u64;
            times.push(ns);
            total += ns as f64 * 1e-9;
            if times.len() >= self.min_runs && total >= self.min_seconds {
                return (out, times);
            }
        }
    }
}

/// What an evaluation produced: the output and one `evaluate` timing per run.
#[derive(Debug)]
pub struct Evaluation {
    pub output: Value,
    pub timings: Vec<u64>,
}

impl Evaluation {
    /// Run `f` per `input`'s `min_runs`/`min_seconds` and serialize the result.
    pub fn timed<O: serde::Serialize>(
        input: &Value,
        f: impl FnMut() -> O,
    ) -> Result<Evaluation, String> {
        let (out, timings) = Runs::from_input(input).repeat(f);
        let output = serde_json::to_value(out).map_err(|e| e.to_string())?;
        Ok(Evaluation { output, timings })
    }
}

/// The response to one line of input.
pub fn respond(line: &str) -> Value {
    let message: Message = match serde_json::from_str(line) {
        Ok(m) => m,
        Err(e) => {
            return json!({ "id": null, "success": false, "error": format!("bad message: {e}") })
        }
    };
    let mut response = Map::new();
    response.insert("id".into(), message.id.clone());
    match message.kind.as_str() {
        "start" => {
            response.insert("tool".into(), json!("sgrad"));
        }
        "define" => {
            let module = message.module.as_deref().unwrap_or("");
            match evals::define(module) {
                Ok(()) => {
                    response.insert("success".into(), json!(true));
                }
                Err(e) => {
                    response.insert("success".into(), json!(false));
                    response.insert("error".into(), json!(e));
                }
            }
        }
        "evaluate" => {
            let module = message.module.as_deref().unwrap_or("");
            let function = message.function.as_deref().unwrap_or("");
            let input = message.input.unwrap_or(Value::Null);
            match evals::evaluate(module, function, &input) {
                Ok(ev) => {
                    let timings: Vec<Value> = ev
                        .timings
                        .iter()
                        .map(|ns| json!({ "name": "evaluate", "nanoseconds": ns }))
                        .collect();
                    response.insert("success".into(), json!(true));
                    response.insert("output".into(), ev.output);
                    response.insert("timings".into(), Value::Array(timings));
                }
                Err(e) => {
                    response.insert("success".into(), json!(false));
                    response.insert("error".into(), json!(e));
                }
            }
        }
        _ => {}
    }
    Value::Object(response)
}

/// Answer every line of `input` on `output` until the input ends.
pub fn serve(input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let response = respond(&line);
        writeln!(output, "{response}")?;
        output.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledges_start_and_analysis() {
        let r = respond(r#"{"id": 0, "kind": "start", "eval": "hello"}"#);
        assert_eq!(r["id"], 0);
        assert_eq!(r["tool"], "sgrad");
        let r = respond(r#"{"id": 7, "kind": "analysis", "of": 3, "valid": true}"#);
        assert_eq!(r, json!({ "id": 7 }));
    }

    #[test]
    fn defines_known_modules_only() {
        let r = respond(r#"{"id": 1, "kind": "define", "module": "hello"}"#);
        assert_eq!(r["success"], true);
        let r = respond(r#"{"id": 2, "kind": "define", "module": "no-such-eval"}"#);
        assert_eq!(r["success"], false);
        assert!(r["error"].is_string());
    }

    #[test]
    fn evaluates_hello_with_timings() {
        let r = respond(
            r#"{"id": 2, "kind": "evaluate", "module": "hello", "function": "double", "input": 3.0}"#,
        );
        assert_eq!(r["success"], true);
        assert_eq!(r["output"], 6.0);
        assert_eq!(r["timings"][0]["name"], "evaluate");
    }

    #[test]
    fn repeats_at_least_min_runs() {
        let runs = Runs::from_input(&json!({ "min_runs": 5, "min_seconds": 0 }));
        let mut calls = 0;
        let (_, times) = runs.repeat(|| calls += 1);
        assert_eq!(calls, 5);
        assert_eq!(times.len(), 5);
    }

    #[test]
    fn unknown_function_is_an_error_response() {
        let r = respond(
            r#"{"id": 3, "kind": "evaluate", "module": "hello", "function": "cube", "input": 1.0}"#,
        );
        assert_eq!(r["success"], false);
    }

    #[test]
    fn serves_a_session() {
        let session = "{\"id\":0,\"kind\":\"start\"}\n{\"id\":1,\"kind\":\"define\",\"module\":\"hello\"}\n{\"id\":2,\"kind\":\"evaluate\",\"module\":\"hello\",\"function\":\"square\",\"input\":1.5}\n";
        let mut out = Vec::new();
        serve(session.as_bytes(), &mut out).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["output"], 2.25);
    }
}
