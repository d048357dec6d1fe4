//! The engine's keyword search alone, side by side with the automata it replaces: Vallum's
//! filter (`crates/vallum/src/keywords.rs`, compiled in here from its source) against
//! aho-corasick's DFA and contiguous NFA over the same keywords, those of every built-in
//! pack plus the ten digits (the engine's digit anchors); and, on dense chat, that DFA and
//! an oracle's confirmations of the findings beside the whole scan (the floor under the
//! issue-2 target). Results in benches/RESULTS.md.
//! The module is compiled from its source because the engine keeps it crate-private.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::collections::HashMap;
use std::hint::black_box;
use std::ops::Range;
use std::time::Duration;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, meta};
use vallum::{Guard, Policy};
use vallum_benches::{dense_chat, prose, source_code};
use vallum_rules::RuleSpec;

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

/// The floor under the dense-chat target (issue 2: 250 MB/s), side by side with the whole
/// scan by the default rule set: aho-corasick's DFA only counting the keyword hits, with
/// every keyword and with the keywords of two or more bytes alone (no digits, no `:` `-` `+`
/// `@`); and, as if an oracle told where each finding lies, one anchored search of its
/// rule's pattern over exactly its span (no search for where matches are, no validators, no
/// report). A scan keyed by these keywords that confirms its findings with these patterns
/// takes at least the first plus the last.
fn dense_chat_floor(c: &mut Criterion) {
    let list = builtin_keywords();
    let longer: Vec<String> = list.iter().filter(|k| k.len() > 1).cloned().collect();
    let text = dense_chat(1 << 20);
    let guard =
        Guard::from_policy(&Policy::from_toml("[detectors]\nclassifier = false").unwrap()).unwrap();
    guard.warm_up().unwrap();
    let mut group = c.benchmark_group("dense_chat_floor");
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Bytes(text.len() as u64));
    for (name, keywords) in [
        ("dfa_all_keywords", &list),
        ("dfa_keywords_of_2_bytes_or_more", &longer),
    ] {
        let dfa = automaton(keywords, AhoCorasickKind::DFA);
        group.bench_function(name, |b| {
            b.iter(|| dfa.find_overlapping_iter(black_box(&text)).count());
        });
    }
    let specs: HashMap<&str, &RuleSpec> = vallum_rules::builtin_packs()
        .iter()
        .flat_map(|p| &p.rules)
        .map(|r| (r.id.as_str(), r))
        .collect();
    let findings = guard.scan_input(&text).unwrap().findings;
    let mut patterns: HashMap<&str, meta::Regex> = HashMap::new();
    for spec in findings.iter().filter_map(|f| specs.get(&*f.rule)) {
        patterns.entry(spec.id.as_str()).or_insert_with(|| {
            meta::Builder::new()
                .syntax(syntax::Config::new().case_insensitive(spec.case_insensitive))
                .build(&spec.pattern)
                .unwrap()
        });
    }
    let confirmations: Vec<(&meta::Regex, Range<usize>)> = findings
        .iter()
        .filter_map(|f| Some((patterns.get(&*f.rule)?, f.span.start..f.span.end)))
        .collect();
    // Nearly every finding comes from a rule of the packs (a few from detectors).
    assert!(confirmations.len() * 100 >= findings.len() * 99);
    group.bench_function("oracle_confirmations", |b| {
        b.iter(|| {
            confirmations
                .iter()
                .filter(|(re, span)| {
                    let input = Input::new(&text)
                        .range(span.clone())
                        .anchored(Anchored::Yes);
                    re.search(black_box(&input)).is_some()
                })
                .count()
        });
    });
    group.bench_function("whole_scan", |b| {
        b.iter(|| guard.scan_input(black_box(&text)).unwrap().findings.len());
    });
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

criterion_group!(benches, keyword_search, dense_chat_floor, build);
criterion_main!(benches);
