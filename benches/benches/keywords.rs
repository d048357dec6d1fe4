//! The engine's keyword search alone, side by side with the automata it replaces: Vallum's
//! filter (`crates/vallum/src/keywords.rs`, compiled in here from its source) against
//! aho-corasick's DFA and contiguous NFA over the same keywords, those of every built-in
//! pack plus the ten digits (the engine's digit anchors). Results in benches/RESULTS.md.
//! The module is compiled from its source because the engine keeps it crate-private.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;
use std::time::Duration;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vallum_benches::{dense_chat, prose, source_code};

#[allow(dead_code)]
#[path = "../../crates/vallum/src/keywords.rs"]
mod keywords;

fn builtin_keywords() -> Vec<String> {
    let mut list: Vec<String> = vallum_rules::builtin_packs()
        .iter()
        .flat_map(|p| &p.rules)
        .flat_map(|r| &r.keywords)
        .map(|k| k.to_ascii_lowercase())
        .collect();
    list.sort();
    list.dedup();
    list.extend((b'0'..=b'9').map(|d| char::from(d).to_string()));
    list
}

fn automaton(list: &[String], kind: AhoCorasickKind) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .kind(Some(kind))
        .build(list)
        .unwrap()
}

fn keyword_search(c: &mut Criterion) {
    let list = builtin_keywords();
    let index = keywords::KeywordIndex::build(&list).unwrap();
    index.warm_up();
    let dfa = automaton(&list, AhoCorasickKind::DFA);
    let nfa = automaton(&list, AhoCorasickKind::ContiguousNFA);
    let size = 1 << 20;
    let mut group = c.benchmark_group("keywords");
    group.measurement_time(Duration::from_secs(3));
    let mut hits = Vec::new();
    for (name, text) in [
        ("prose", prose(size)),
        ("source_code", source_code(size)),
        ("dense_chat", dense_chat(size)),
    ] {
        // The filter must find exactly what the automaton finds.
        hits.clear();
        index.find_all(text.as_bytes(), 0, &mut hits);
        assert_eq!(
            hits.len(),
            dfa.find_overlapping_iter(&text).count(),
            "{name}"
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("{name}/filter"), |b| {
            b.iter(|| {
                hits.clear();
                index.find_all(black_box(text.as_bytes()), 0, &mut hits);
                hits.len()
            });
        });
        for (kind, ac) in [("dfa", &dfa), ("contiguous_nfa", &nfa)] {
            group.bench_function(format!("{name}/{kind}"), |b| {
                b.iter(|| ac.find_overlapping_iter(black_box(&text)).count());
            });
        }
    }
    group.finish();
}

fn build(c: &mut Criterion) {
    let list = builtin_keywords();
    let mut group = c.benchmark_group("keywords_build");
    group.bench_function("filter", |b| {
        b.iter(|| keywords::KeywordIndex::build(black_box(&list)).unwrap());
    });
    group.bench_function("dfa", |b| {
        b.iter(|| automaton(black_box(&list), AhoCorasickKind::DFA));
    });
    group.bench_function("contiguous_nfa", |b| {
        b.iter(|| automaton(black_box(&list), AhoCorasickKind::ContiguousNFA));
    });
    group.finish();
}

criterion_group!(benches, keyword_search, build);
criterion_main!(benches);
