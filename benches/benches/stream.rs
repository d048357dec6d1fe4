//! Criterion benches of streamed output scanning (see benches/RESULTS.md): a 10 MB answer
//! pushed in 16-byte chunks against one `scan_output` of the same text, the cost of one
//! push, and a short answer streamed against a one-shot scan of it.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vallum::{Guard, Policy};
use vallum_benches::{dense_chat, prose};

/// The default policy without the classifier (benchmarked on its own).
fn guard() -> Guard {
    Guard::from_policy(&Policy::from_toml("[detectors]\nclassifier = false").unwrap()).unwrap()
}

fn stream_text(guard: &Guard, text: &str, chunk: usize) -> usize {
    let mut s = guard.output_stream(None);
    let mut shown = 0;
    for c in text.as_bytes().chunks(chunk) {
        shown += s.push_bytes(c).unwrap().len();
    }
    shown + s.finish().unwrap().len()
}

fn ten_megabytes(c: &mut Criterion) {
    let guard = guard();
    let mut group = c.benchmark_group("stream_10mb");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (name, text) in [
        ("prose", prose(10 << 20)),
        ("dense_chat", dense_chat(10 << 20)),
    ] {
        // Same findings both ways (the property tests check this on every chunking).
        let one = guard.scan_output(&text, None).unwrap().findings.len();
        let mut s = guard.output_stream(None);
        for chunk in text.as_bytes().chunks(16) {
            s.push_bytes(chunk).unwrap();
        }
        s.finish().unwrap();
        assert_eq!(
            s.report().findings.len(),
            one,
            "{name}: streamed findings differ"
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("{name}/one_shot"), |b| {
            b.iter(|| guard.scan_output(black_box(&text), None).unwrap());
        });
        group.bench_function(format!("{name}/stream_16b"), |b| {
            b.iter(|| stream_text(&guard, black_box(&text), 16));
        });
    }
    group.finish();
}

fn per_push(c: &mut Criterion) {
    let guard = guard();
    let text = prose(1 << 20);
    let mut group = c.benchmark_group("stream_push");
    group.throughput(Throughput::Elements((text.len() / 16) as u64));
    group.bench_function("prose_1mb_16b_chunks", |b| {
        b.iter(|| stream_text(&guard, black_box(&text), 16));
    });
    group.finish();
}

/// A short answer streamed (the stream opened, one push, finish) against a one-shot scan
/// of it: what a chat application pays per streamed answer beyond the scan.
fn short_answer(c: &mut Criterion) {
    let guard = guard();
    let answer = "Sure! The capital of France is Paris, and it has about two million people.";
    let mut group = c.benchmark_group("stream_short_answer");
    group.bench_function("one_shot", |b| {
        b.iter(|| guard.scan_output(black_box(answer), None).unwrap());
    });
    group.bench_function("stream", |b| {
        b.iter(|| stream_text(&guard, black_box(answer), 16));
    });
    group.finish();
}

criterion_group!(benches, ten_megabytes, per_push, short_answer);
criterion_main!(benches);
