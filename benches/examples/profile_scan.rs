//! Scans one corpus a few times, for profilers (`valgrind --tool=callgrind`, `perf`).
//! Usage: `cargo run --release -p vallum-benches --example profile_scan -- prose|code|chat [MiB] [stream|output]`
//! By default the corpus is scanned as input; with `output` as one output scan, and with
//! `stream` through `Guard::output_stream` in 16-byte chunks.

use vallum::{Guard, Policy};
use vallum_benches::{dense_chat, prose, source_code};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "prose".into());
    let mib: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mode = args.next().unwrap_or_default();
    let size = mib << 20;
    let text = match which.as_str() {
        "code" => source_code(size),
        "chat" => dense_chat(size),
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
    let start = std::time::Instant::now();
    let mut findings = 0;
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
    let secs = start.elapsed().as_secs_f64() / 1.0;
    println!(
        "{which}: {} bytes, {} findings per scan, {:.1} MB/s",
        text.len(),
        findings,
        text.len() as f64 / secs / 1e6
    );
}
