//! Replays every input under `fuzz/regressions/<target>/` (crashes the fuzzers found,
//! minimised, and kept after the fix) through the same checks the fuzz target makes, so CI
//! runs them without cargo-fuzz. The checks are `fuzz/checks.rs`, included as is.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../../fuzz/checks.rs"]
mod checks;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_fuzz_target_has_its_checks_here() {
    let mut targets: Vec<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    targets.sort();
    let mut known: Vec<String> = checks::TARGETS
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    known.sort();
    assert_eq!(targets, known, "fuzz_targets/ and checks::TARGETS disagree");
    // Every regression folder names a target.
    let folders = std::fs::read_dir(fuzz_dir().join("regressions")).unwrap();
    for entry in folders.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(known.contains(&name), "regressions/{name} is not a target");
    }
}

#[test]
fn every_regression_input_passes_its_targets_checks() {
    let mut failed = Vec::new();
    let mut count = 0;
    for (target, check) in checks::TARGETS {
        for file in files(&fuzz_dir().join("regressions").join(target)) {
            let data = std::fs::read(&file).unwrap();
            count += 1;
            if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failed.push(format!("{target}/{}", file.file_name().unwrap().display()));
            }
        }
    }
    assert!(count > 0, "no regression inputs found");
    assert!(failed.is_empty(), "failing regression inputs: {failed:?}");
}

#[test]
fn every_seed_passes_its_targets_checks() {
    for (target, check) in checks::TARGETS {
        for file in files(&fuzz_dir().join("seeds").join(target)) {
            check(&std::fs::read(&file).unwrap());
        }
    }
}

#[test]
fn the_seed_policies_parse() {
    // The policy seeds are there to start the fuzzer inside the schema: they must parse.
    for file in files(&fuzz_dir().join("seeds/policy")) {
        let src = std::fs::read_to_string(&file).unwrap();
        let parsed = if file.extension().is_some_and(|e| e == "json") {
            vallum::Policy::from_json(&src)
        } else {
            vallum::Policy::from_toml(&src)
        };
        assert!(parsed.is_ok(), "{}: {parsed:?}", file.display());
    }
}
