//! Criterion benches of the rule engine (see benches/RESULTS.md for recorded numbers).
#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! The rule engine: throughput on prose, code and dense chat; linear growth from 1 KB to
//! 10 MB; guard build time; one pass for N rules versus N passes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vallum::{Guard, Policy};
use vallum_benches::{dense_chat, european_prose, prose, source_code};

/// The default rule set without the classifier (benchmarked on its own).
fn rules_guard() -> Guard {
    Guard::from_policy(&Policy::from_toml("[detectors]\nclassifier = false").unwrap()).unwrap()
}

fn throughput(c: &mut Criterion) {
    let guard = rules_guard();
    let mut group = c.benchmark_group("throughput");
    group.measurement_time(Duration::from_secs(4));
    let size = 1 << 20;
    let corpora = [
        ("prose", prose(size)),
        ("european_prose", european_prose(size)),
        ("source_code", source_code(size)),
        ("dense_chat", dense_chat(size)),
    ];
    for (name, text) in &corpora {
        // The counts the corpora are built to give: none in prose, many in chat.
        let n = guard.scan_input(text).unwrap().findings.len();
        match *name {
            "prose" | "european_prose" => assert_eq!(n, 0, "{name} must be clean"),
            "dense_chat" => assert!(n > size / 200, "dense chat has only {n} findings"),
            _ => {}
        }
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| guard.scan_input(black_box(text)).unwrap());
        });
    }
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let guard = rules_guard();
    let mut group = c.benchmark_group("scaling_prose");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for size in [1 << 10, 1 << 14, 1 << 17, 1 << 20, 10 << 20] {
        let text = prose(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, t| {
            b.iter(|| guard.scan_input(black_box(t)).unwrap());
        });
    }
    group.finish();
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(20);
    group.bench_function("default_guard", |b| {
        b.iter(|| black_box(Guard::new().unwrap()));
    });
    group.bench_function("rules_only_guard", |b| b.iter(|| black_box(rules_guard())));
    group.finish();
}

/// N user regex rules compiled into one guard, against N guards of one rule each.
fn one_pass_vs_n_passes(c: &mut Criterion) {
    const N: usize = 40;
    let rules: Vec<String> = (0..N)
        .map(|i| format!("[[custom]]\nid = \"r{i}\"\npattern = 'tok{i:02}_[A-Za-z0-9]{{16,}}'\nnormalized = false\n"))
        .collect();
    let base = "[detectors]\npii = false\nsecrets = false\ninjection = false\nclassifier = false\ninvisible_text = false\nencoded = false\nexfiltration = false\ncanary = false\nprompt_leak = false\n";
    let one = Guard::from_policy(&Policy::from_toml(&format!("{base}{}", rules.concat())).unwrap())
        .unwrap();
    let many: Vec<Guard> = rules
        .iter()
        .map(|r| Guard::from_policy(&Policy::from_toml(&format!("{base}{r}")).unwrap()).unwrap())
        .collect();
    let mut text = prose(1 << 20);
    text.push_str(" tok07_ABCDEFGHIJKLMNOPQRST ");
    assert_eq!(one.scan_input(&text).unwrap().findings.len(), 1);
    let mut group = c.benchmark_group("one_pass_vs_n_passes");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    group.bench_function(format!("one_guard_{N}_rules"), |b| {
        b.iter(|| one.scan_input(black_box(&text)).unwrap());
    });
    group.bench_function(format!("{N}_guards_1_rule"), |b| {
        b.iter(|| {
            many.iter()
                .map(|g| g.scan_input(black_box(&text)).unwrap().findings.len())
                .sum::<usize>()
        });
    });
    group.finish();
}

/// The injection pack (rules and injection detectors) alone on long benign documents.
fn injection_pack(c: &mut Criterion) {
    let policy = "[detectors]\npii = false\nsecrets = false\nclassifier = false\nexfiltration = false\ncanary = false\nprompt_leak = false\n";
    let guard = Guard::from_policy(&Policy::from_toml(policy).unwrap()).unwrap();
    let text = prose(4 << 20);
    assert!(
        guard.scan_input(&text).unwrap().findings.is_empty(),
        "benign prose must stay clean"
    );
    let mut group = c.benchmark_group("injection_pack");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("long_benign_document", |b| {
        b.iter(|| guard.scan_input(black_box(&text)).unwrap());
    });
    group.finish();
}

criterion_group!(
    benches,
    throughput,
    scaling,
    build,
    one_pass_vs_n_passes,
    injection_pack
);
criterion_main!(benches);
