//! Latency / throughput / memory / load-time benchmark of the installed classifier.
//!
//! ```text
//! cargo run --release -p vallum-classifier --example classifier_bench -- [--threads 1] [--iters 200]
//!     [--window 128] [--model-dir DIR] [--export benches/classifier/inputs.json] [--out result.json]
//! ```
//! Prints a JSON report. `--export` also writes the exact token-id windows of every case,
//! so the PyTorch and ONNX Runtime peers (benches/classifier/peers.py) run the same batches.

use std::time::{Duration, Instant};

use vallum_classifier::{Classifier, ClassifierOptions, Device};

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

const PARA: &str = "The quarterly report shows steady growth across all regions. Customers in \
the northern markets asked for longer opening hours, while the logistics team reduced \
delivery times by nearly a fifth. The board approved the budget for next year, although two \
members asked to revisit the marketing spend. Please review the attached figures before \
Friday's meeting and send any corrections to the finance office. ";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let threads: usize = arg("--threads").map_or(Ok(1), |s| s.parse())?;
    let iters: usize = arg("--iters").map_or(Ok(200), |s| s.parse())?;
    let window: usize =
        arg("--window").map_or(Ok(vallum_classifier::DEFAULT_WINDOW_TOKENS), |s| s.parse())?;
    let opts = ClassifierOptions {
        device: Device::Cpu,
        threads: Some(threads),
        max_window_tokens: window,
        ..ClassifierOptions::default()
    };
    let rss0 = rss_kib("VmRSS:");
    let t = Instant::now();
    let clf = match arg("--model-dir") {
        // A model folder whose trained tensors are not (yet) the built-in pin.
        Some(d) => {
            let dir = std::path::PathBuf::from(d);
            let path = dir.join(vallum_classifier::TRAINED_WEIGHTS_FILE);
            let sha = vallum_classifier::weights::read_pinned(&path, None)?.1;
            let pins = vallum_classifier::ModelPins {
                trained_weights: sha,
                ..vallum_classifier::ModelPins::builtin()
            };
            Classifier::load_with_pins(&dir, &pins, opts.clone())?
        }
        None => Classifier::load_installed(opts.clone())?.ok_or("no model installed")?,
    };
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss_loaded = rss_kib("VmRSS:");

    // Inputs of exactly N tokens (incl. [CLS]/[SEP]) cut from a benign document.
    let doc = PARA.repeat(60);
    let (_, offs) = clf.tokenize(&doc)?;
    let cut = |n: usize| &doc[..offs[n - 3].1];
    let cases: Vec<(String, String)> = [16usize, 64, 256, 512]
        .iter()
        .map(|&n| (format!("{n}_tokens"), cut(n).to_owned()))
        .chain(std::iter::once((
            "doc_4000_tokens".to_owned(),
            cut(4000).to_owned(),
        )))
        .chain(std::iter::once((
            // The same document in paragraphs: each also scored on its own.
            "doc_4000_tokens_paragraphs".to_owned(),
            cut(4000).replace(". Please review", ".\n\nPlease review"),
        )))
        .collect();

    let mut report = serde_json::Map::new();
    let mut export = serde_json::Map::new();
    for (name, text) in &cases {
        let (ids, plan) = clf.plan(text)?;
        let windows: Vec<Vec<u32>> = plan
            .iter()
            .map(|w| {
                let mut s = vec![101u32];
                s.extend_from_slice(&ids[w.tokens.clone()]);
                s.push(102);
                s
            })
            .collect();
        export.insert(name.clone(), serde_json::json!(windows));
        let n = if name.starts_with("doc") {
            (iters / 10).max(10)
        } else {
            iters
        };
        for _ in 0..3 {
            clf.score(text)?;
        }
        let mut lat = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            std::hint::black_box(clf.score(text)?);
            lat.push(t.elapsed());
        }
        // Encoder only, on pre-tokenized windows (what the peers measure).
        let mut enc = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            for chunk in windows.chunks(opts.batch_size) {
                let refs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
                std::hint::black_box(clf.probs(&refs)?);
            }
            enc.push(t.elapsed());
        }
        report.insert(
            name.clone(),
            serde_json::json!({
                "tokens": ids.len() + 2, "windows": windows.len(), "iters": n,
                "p50_ms": pct(&mut lat, 0.5), "p99_ms": pct(&mut lat, 0.99),
                "encoder_p50_ms": pct(&mut enc, 0.5), "encoder_p99_ms": pct(&mut enc, 0.99),
            }),
        );
        eprintln!("{name}: {}", report[name]);
    }
    // Throughput: 256 short prompts (~16-64 tokens) through score_batch.
    let prompts: Vec<String> = (0..256)
        .map(|i| cut(16 + (i * 7) % 48).to_owned())
        .collect();
    let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
    clf.score_batch(&refs[..32])?;
    let t = Instant::now();
    let reps = 3;
    for _ in 0..reps {
        std::hint::black_box(clf.score_batch(&refs)?);
    }
    let secs = t.elapsed().as_secs_f64();
    let tokens: usize = refs
        .iter()
        .map(|t| clf.tokenize(t).map_or(0, |x| x.0.len() + 2))
        .sum();
    report.insert(
        "batch_throughput".into(),
        serde_json::json!({
            "texts": refs.len() * reps, "texts_per_s": (refs.len() * reps) as f64 / secs,
            "tokens_per_s": (tokens * reps) as f64 / secs,
        }),
    );
    let full = serde_json::json!({
        "threads": threads, "window_tokens": opts.max_window_tokens, "stride_tokens": opts.stride_tokens,
        "batch_size": opts.batch_size, "model_sha256": clf.model_sha256(),
        "load_ms": load_ms, "rss_before_load_mib": rss0 as f64 / 1024.0,
        "rss_after_load_mib": rss_loaded as f64 / 1024.0, "peak_rss_mib": rss_kib("VmHWM:") as f64 / 1024.0,
        "cases": report,
    });
    println!("{}", serde_json::to_string_pretty(&full)?);
    if let Some(p) = arg("--out") {
        std::fs::write(p, serde_json::to_string_pretty(&full)? + "\n")?;
    }
    if let Some(p) = arg("--export") {
        std::fs::write(
            p,
            serde_json::to_string(&serde_json::json!({
                "batch_size": opts.batch_size, "cases": export,
                "throughput_texts": prompts.iter().map(|t| {
                    let (ids, _) = clf.tokenize(t).unwrap();
                    let mut s = vec![101u32]; s.extend(ids); s.push(102); s
                }).collect::<Vec<_>>(),
            }))?,
        )?;
    }
    Ok(())
}
