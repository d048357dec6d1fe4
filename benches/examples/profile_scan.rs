//! Scans one corpus a few times, for profilers (`valgrind --tool=callgrind`, `perf`).
//! Usage: `cargo run --release -p vallum-benches --example profile_scan -- prose|european|code|chat|digits|dash [MiB] [stream|output]`
//! (`digits`: CSV rows of numbers; `dash`: text full of `-`, `:`, `@` and `+`, the one-byte keywords)
//! The lazily built parts are built before the timed scan. By default the corpus is
//! scanned as input; with `output` as one output scan, and with
//! `stream` through `Guard::output_stream` in 16-byte chunks.

use vallum::{Guard, Policy};
use vallum_benches::{dense_chat, european_prose, prose, source_code};

/// The largest char boundary at or below `i`.
fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "prose".into());
    let mib: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mode = args.next().unwrap_or_default();
    let size = mib << 20;
    let text = match which.as_str() {
        "code" => source_code(size),
        "chat" => dense_chat(size),
        "european" => european_prose(size),
        "digits" => "2024-11-03,17:42:09,48213,0.0731,-12.5,+3\n".repeat(size / 40),
        "dash" => "-- a :: b -> c - d : e @ f + g -- \n".repeat(size / 36),
        _ => prose(size),
    };
    let built = std::time::Instant::now();
    let guard =
        Guard::from_policy(&Policy::from_toml("[detectors]\nclassifier = false").unwrap()).unwrap();
    // The first guard of a process parses the packs and builds the shared automata.
    eprintln!(
        "first guard built in {:.1} ms",
        built.elapsed().as_secs_f64() * 1e3
    );
    // The lazily built parts (rule regexes, the keyword DFA) are built before the timed scan,
    // so that it measures a steady state; a warm-up scan of 64 KiB builds the detectors' own.
    let warm = std::time::Instant::now();
    guard.warm_up().unwrap();
    let _ = guard
        .scan_input(&text[..floor_boundary(&text, 64 << 10)])
        .unwrap();
    eprintln!("warm-up in {:.1} ms", warm.elapsed().as_secs_f64() * 1e3);
    // `PROFILE_REPEAT=n` scans n times (for sampling profilers, which need the scan to
    // outweigh the build); the figure printed is the mean.
    let repeat: usize = std::env::var("PROFILE_REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let start = std::time::Instant::now();
    let mut findings = 0;
    for _ in 0..repeat {
        if mode == "stream" {
            let mut s = guard.output_stream(None);
            for chunk in text.as_bytes().chunks(16) {
                s.push_bytes(chunk).unwrap();
            }
            s.finish().unwrap();
            findings += s.report().findings.len();
        } else if mode == "output" {
            findings += guard.scan_output(&text, None).unwrap().findings.len();
        } else {
            findings += guard.scan_input(&text).unwrap().findings.len();
        }
    }
    findings /= repeat;
    let secs = start.elapsed().as_secs_f64() / repeat as f64;
    println!(
        "{which}: {} bytes, {} findings per scan, {:.1} MB/s",
        text.len(),
        findings,
        text.len() as f64 / secs / 1e6
    );
}
