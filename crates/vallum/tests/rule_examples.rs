//! Every built-in rule's own examples: each `match` example must produce a finding of
//! that rule, each `no_match` example must not.

use vallum::{Direction, Guard};
use vallum_rules::{Direction as RuleDirection, builtin_packs};

#[test]
fn every_rule_example_holds() {
    let guard = Guard::builder()
        .without_builtin_detectors()
        .build()
        .unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for pack in builtin_packs() {
        for rule in &pack.rules {
            let direction = match rule.direction {
                RuleDirection::Output => Direction::Output,
                _ => Direction::Input,
            };
            for text in &rule.examples.matches {
                checked += 1;
                let report = guard.scan(text, direction, None).unwrap();
                if !report.findings.iter().any(|f| *f.rule == *rule.id) {
                    failures.push(format!("{}: missed {text:?}", rule.id));
                }
            }
            for text in &rule.examples.non_matches {
                checked += 1;
                let report = guard.scan(text, direction, None).unwrap();
                if report.findings.iter().any(|f| *f.rule == *rule.id) {
                    failures.push(format!("{}: false positive on {text:?}", rule.id));
                }
            }
        }
    }
    assert!(checked > 0, "no rule examples were found");
    assert!(
        failures.is_empty(),
        "{} rule example failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_match_example_is_exercised() {
    for pack in builtin_packs() {
        for rule in &pack.rules {
            assert!(
                !rule.examples.matches.is_empty(),
                "rule {} has no `examples.match`",
                rule.id
            );
        }
    }
}

#[test]
fn every_builtin_regex_compiles() {
    Guard::new().unwrap().warm_up().unwrap();
}
