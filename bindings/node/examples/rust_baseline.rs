//! The Rust side of `benches/node/bench.mjs`: times the core on the same texts the Node
//! benchmark uses, so the difference is the binding's per-call overhead.
//!
//! Usage: `rust_baseline CASES.json` where the file is `[{"name", "text", "direction",
//! "iterations", "chunk"?}]`; a case with `chunk` streams the text through an
//! `OutputStream` in chunks of that many bytes instead of scanning it in one call. Prints
//! one JSON line per case: `{"name", "ns_per_call", "findings"}`.

use std::hint::black_box;
use std::time::Instant;

use vallum::{Direction, Guard, ScanError};

fn stream(guard: &Guard, text: &str, chunk: usize) -> Result<usize, ScanError> {
    let mut s = guard.output_stream(None);
    let mut shown = 0;
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + chunk).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        shown += s.push(&text[at..end])?.len();
        at = end;
    }
    shown += s.finish()?.len();
    black_box(shown);
    Ok(s.report().findings.len())
}

fn run(guard: &Guard, text: &str, direction: Direction, chunk: usize) -> Result<usize, ScanError> {
    if chunk > 0 {
        stream(guard, text, chunk)
    } else {
        Ok(guard.scan(black_box(text), direction, None)?.findings.len())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: rust_baseline CASES.json")?;
    let cases: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let guard = Guard::new()?;
    for case in &cases {
        let name = case["name"].as_str().ok_or("case without a name")?;
        let text = case["text"].as_str().ok_or("case without a text")?;
        let direction: Direction = case["direction"]
            .as_str()
            .unwrap_or("input")
            .parse()
            .map_err(|e: String| e)?;
        let chunk = usize::try_from(case["chunk"].as_u64().unwrap_or(0))?;
        let iterations = case["iterations"].as_u64().unwrap_or(1000).max(1);
        let findings = run(&guard, text, direction, chunk)?;
        for _ in 0..iterations.div_ceil(10) {
            black_box(run(&guard, text, direction, chunk)?);
        }
        // The best of five rounds, as the Node side measures.
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..iterations {
                black_box(run(&guard, text, direction, chunk)?);
            }
            best = best.min(start.elapsed().as_nanos() as f64 / iterations as f64);
        }
        println!(
            "{}",
            serde_json::json!({ "name": name, "ns_per_call": best, "findings": findings })
        );
    }
    Ok(())
}
