//! Runs every shared case in `testdata/*.jsonl` (format: testdata/README.md).

use std::path::Path;

use serde_json::Value;
use vallum::{Direction, Guard, Policy};

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn run_case(default_guard: &Guard, case: &Value) -> Result<(), String> {
    let text = str_field(case, "text").ok_or("case has no `text`")?;
    let direction: Direction = str_field(case, "direction")
        .unwrap_or("input")
        .parse()
        .map_err(|e: String| e)?;
    let prompt = str_field(case, "prompt");
    let custom;
    let guard = match case.get("policy") {
        Some(p) => {
            let policy = Policy::from_json(&p.to_string()).map_err(|e| e.to_string())?;
            custom = Guard::from_policy(&policy).map_err(|e| e.to_string())?;
            &custom
        }
        None => default_guard,
    };
    let report = guard
        .scan(text, direction, prompt)
        .map_err(|e| e.to_string())?;
    let shown: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{}.{} {:?} {:?}", f.category, f.kind, &text[f.span], f.rule))
        .collect();
    for want in case
        .get("expect")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ok = report.findings.iter().any(|f| {
            str_field(want, "category").is_none_or(|c| c == f.category.as_str())
                && str_field(want, "kind").is_none_or(|k| k == &*f.kind)
                && str_field(want, "rule").is_none_or(|r| r == &*f.rule)
                && str_field(want, "match").is_none_or(|m| m == &text[f.span])
        });
        if !ok {
            return Err(format!("expected {want} among {shown:?}"));
        }
    }
    for banned in case
        .get("expect_none")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let banned = banned.as_str().ok_or("expect_none entries are strings")?;
        if let Some(f) = report.findings.iter().find(|f| {
            banned == f.category.as_str() || banned == format!("{}.{}", f.category, f.kind)
        }) {
            return Err(format!(
                "unexpected {}.{} on {:?}",
                f.category, f.kind, &text[f.span]
            ));
        }
    }
    if let Some(v) = str_field(case, "verdict")
        && v != report.verdict.as_str()
    {
        return Err(format!(
            "verdict {} instead of {v}; findings {shown:?}",
            report.verdict
        ));
    }
    if let Some(want) = str_field(case, "redacted") {
        let got = guard.redact(text, direction).map_err(|e| e.to_string())?;
        if got != want {
            return Err(format!("redacted to {got:?} instead of {want:?}"));
        }
    }
    Ok(())
}

#[test]
fn shared_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let guard = Guard::new().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut count = 0;
    let mut failures = Vec::new();
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap();
        for (i, line) in src.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let name = format!("{}:{}", file.file_name().unwrap().to_string_lossy(), i + 1);
            let case: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
            count += 1;
            if let Err(e) = run_case(&guard, &case) {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(count > 0, "no shared cases found in {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} of {count} shared cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
