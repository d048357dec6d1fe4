//! Shared by the injection and invisible-text tests: a guard with only the injection
//! packs and detectors, and a runner for the shared JSONL cases (format: testdata/README.md).

use std::path::Path;

use serde_json::Value;
use vallum::{Direction, Guard, Policy};

/// A guard with only the injection packs and detectors, so other packs cannot interfere.
pub fn injection_only() -> Guard {
    let mut policy = Policy::default();
    policy.detectors.pii = false;
    policy.detectors.secrets = false;
    policy.detectors.exfiltration = false;
    policy.detectors.canary = false;
    policy.detectors.prompt_leak = false;
    policy.detectors.classifier = false;
    Guard::from_policy(&policy).unwrap()
}

/// Runs the cases of one shared file (format: testdata/README.md) on `guard`.
pub fn run_jsonl(guard: &Guard, file: &str) -> (usize, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(file);
    let src = std::fs::read_to_string(&path).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for (i, line) in src.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        count += 1;
        let case: Value = serde_json::from_str(line).unwrap();
        let text = case["text"].as_str().unwrap();
        let direction: Direction = case
            .get("direction")
            .and_then(Value::as_str)
            .unwrap_or("input")
            .parse()
            .unwrap();
        let report = guard.scan(text, direction, None).unwrap();
        let shown: Vec<String> = report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{}.{} {} {:.2} {:?}",
                    f.category, f.kind, f.rule, f.score, f.detail
                )
            })
            .collect();
        let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        for want in case
            .get("expect")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ok = report.findings.iter().any(|f| {
                field(want, "category").is_none_or(|c| c == f.category.as_str())
                    && field(want, "kind").is_none_or(|k| k == *f.kind)
                    && field(want, "rule").is_none_or(|r| r == *f.rule)
                    && field(want, "match").is_none_or(|m| m == text[f.span])
            });
            if !ok {
                failures.push(format!(
                    "{file}:{}: expected {want} in {text:?}: {shown:?}",
                    i + 1
                ));
            }
        }
        for banned in case
            .get("expect_none")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let banned = banned.as_str().unwrap();
            if report.findings.iter().any(|f| {
                banned == f.category.as_str() || banned == format!("{}.{}", f.category, f.kind)
            }) {
                failures.push(format!(
                    "{file}:{}: unexpected {banned} in {text:?}: {shown:?}",
                    i + 1
                ));
            }
        }
        if let Some(v) = field(&case, "verdict")
            && v != report.verdict.as_str()
        {
            failures.push(format!(
                "{file}:{}: verdict {} not {v} for {text:?}: {shown:?}",
                i + 1,
                report.verdict
            ));
        }
    }
    (count, failures)
}
