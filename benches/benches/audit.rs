//! Criterion bench of the audit log's cost per scan (see benches/RESULTS.md): one chat
//! message scanned bare, then through an `AuditedGuard` with each fsync mode. The log
//! lives in the system temp directory (the disk the machine has).
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vallum::{Guard, Policy};
use vallum_audit::{AuditConfig, AuditKey, AuditSink, AuditedGuard, Fsync, verify};

const MESSAGE: &str = "Hi! Please send the invoice to jane.doe@example.org and call me at \
    +1 415 555 0100. Also, what is the capital of France? Thanks a lot, Jane.";

fn guard() -> Guard {
    Guard::from_policy(&Policy::from_toml("[detectors]\nclassifier = false").unwrap()).unwrap()
}

fn audit_overhead(c: &mut Criterion) {
    let guard = guard();
    assert_eq!(guard.scan_input(MESSAGE).unwrap().findings.len(), 2);
    let dir = std::env::temp_dir().join(format!("vallum-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut group = c.benchmark_group("audit_per_scan");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("no_audit", |b| {
        b.iter(|| guard.scan_input(black_box(MESSAGE)).unwrap());
    });
    for fsync in [Fsync::Never, Fsync::Batch, Fsync::Always] {
        let path = dir.join(format!("audit-{fsync}.jsonl"));
        let _ = std::fs::remove_file(&path);
        let key = AuditKey::new(*b"benchmark key, 32 bytes long....").unwrap();
        let sink = AuditSink::open(AuditConfig::new(&path).fsync(fsync), key).unwrap();
        let audited = AuditedGuard::new(guard.clone(), sink);
        group.bench_function(format!("fsync_{fsync}"), |b| {
            b.iter(|| audited.scan_input(black_box(MESSAGE)).unwrap());
        });
        drop(audited);
        // Every record written is in an intact chain.
        let v = verify(&[&path], None).unwrap();
        assert!(v.is_intact() && v.records > 0, "{v}");
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, audit_overhead);
criterion_main!(benches);
