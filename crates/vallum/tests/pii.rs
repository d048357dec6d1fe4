//! The PII rule pack end to end: coverage of `testdata/pii.jsonl` (run by testdata.rs), exact spans,
//! one finding per value, context scoring, hard negatives, and (ignored) a throughput loop.

use std::path::Path;

use serde_json::Value;
use vallum::policy::Detectors;
use vallum::{Category, Direction, Finding, Guard, Policy};

fn guard() -> Guard {
    Guard::new().unwrap()
}

/// The PII findings of `text` as `(kind, matched text, score)`.
fn pii(guard: &Guard, text: &str) -> Vec<(String, String, f32)> {
    guard
        .scan_input(text)
        .unwrap()
        .findings
        .iter()
        .filter(|f| f.category == Category::Pii)
        .map(|f: &Finding| (f.kind.to_string(), text[f.span].to_owned(), f.score))
        .collect()
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

// The cases of `testdata/pii.jsonl` are run by the shared runner, `tests/testdata.rs`.

#[test]
fn every_fixed_kind_is_covered_by_the_shared_cases() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pii.jsonl");
    let src = std::fs::read_to_string(path).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for line in src.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        for e in case
            .get("expect")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = str_field(e, "kind") {
                kinds.insert(k.to_owned());
            }
        }
    }
    // Every kind the pack reports has at least one positive shared case.
    let pack = vallum_rules::builtin_pack("pii").unwrap();
    for rule in &pack.rules {
        assert!(
            kinds.contains(&rule.kind),
            "no shared case for kind {}",
            rule.kind
        );
    }
    for fixed in [
        "email",
        "phone",
        "credit_card",
        "iban",
        "us_ssn",
        "ip_address",
    ] {
        assert!(kinds.contains(fixed), "fixed kind {fixed} is not covered");
    }
}

#[test]
fn one_finding_per_value() {
    // A number that several phone rules could read (international and national forms)
    // is reported once, with the span of its longest reading.
    let g = guard();
    for (text, want) in [
        ("call +1 (212) 555-0123 now", "+1 (212) 555-0123"),
        ("call +44 020 7946 0958 now", "+44 020 7946 0958"),
        ("call +91 98765 43210 now", "+91 98765 43210"),
        ("call +55 (11) 91234-5678 now", "+55 (11) 91234-5678"),
        ("call 0044 20 7946 0958 now", "0044 20 7946 0958"),
        ("NHS number 943 476 5919", "943 476 5919"),
    ] {
        let found = pii(&g, text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert_eq!(found[0].1, want, "{text}: {found:?}");
    }
}

#[test]
fn spans_are_exact_with_non_ascii_around() {
    let g = guard();
    let text = "Ünïcødé → jane@example.org ← 電話 +81 3-1234-5678 。IBAN DE89370400440532013000";
    let found = pii(&g, text);
    let matched: Vec<&str> = found.iter().map(|(_, m, _)| m.as_str()).collect();
    assert_eq!(
        matched,
        [
            "jane@example.org",
            "+81 3-1234-5678",
            "DE89370400440532013000"
        ],
        "{found:?}"
    );
}

#[test]
fn context_words_raise_and_lower_scores() {
    let g = guard();
    let score = |text: &str, kind: &str| {
        pii(&g, text)
            .into_iter()
            .find(|(k, _, _)| k == kind)
            .map(|(_, _, s)| s)
    };
    let plain = score("reach 212-555-0123 today", "phone").unwrap();
    let boosted = score("phone: 212-555-0123", "phone").unwrap();
    let lowered = score("invoice 212-555-0123", "phone").unwrap();
    assert!(
        boosted > plain && plain > lowered,
        "{boosted} {plain} {lowered}"
    );

    let card = score("ref 4012888888881881", "credit_card").unwrap();
    let card_ctx = score("visa 4012888888881881", "credit_card").unwrap();
    assert!(card_ctx > card);
    assert_eq!(score("order 4012888888881881", "credit_card"), None);

    let nino = score("AB 12 34 56 C", "uk_nino").unwrap();
    let nino_ctx = score("national insurance AB 12 34 56 C", "uk_nino").unwrap();
    assert!(nino_ctx > nino);

    let ip = score("host 203.0.113.42", "ip_address").unwrap();
    let version = score("firmware version 10.2.3.4", "ip_address");
    assert!(version.is_none_or(|v| v < ip), "{version:?} vs {ip}");
}

#[test]
fn checksummed_kinds_score_higher_than_format_only_kinds() {
    let g = guard();
    let scores: std::collections::HashMap<String, f32> = pii(
        &g,
        "IBAN DE89 3704 0044 0532 0130 00; CF RSSMRA85T10A562S; card 4111 1111 1111 1111; \
         PAN ABCPE1234F; AB 12 34 56 C",
    )
    .into_iter()
    .map(|(k, _, s)| (k, s))
    .collect();
    for strong in ["iban", "it_fiscal_code", "credit_card"] {
        assert!(scores[strong] >= 0.9, "{strong}: {scores:?}");
    }
    for weak in ["in_pan", "uk_nino"] {
        assert!(scores[weak] < 0.9, "{weak}: {scores:?}");
    }
}

/// Texts full of numbers and identifiers that are not personal data.
const HARD_NEGATIVES: &[&str] = &[
    "Released v2.14.3 (build 20240115.1) and 1.2.3-beta.4; bump to 10.0.19045.3803.",
    "2024-01-15T10:30:00Z 2024-01-15 10:30:00.123 +0000 1705314600 1705314600123",
    "uuid 550e8400-e29b-41d4-a716-446655440000 request-id 7f9c2ba4-e88f-11d9-9d3f-0242ac130003",
    "md5 d41d8cd98f00b204e9800998ecf8427e sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "The answer is 42; 6 * 7 = 42; 2^32 = 4294967296; 1e9+7 = 1000000007; pi = 3.14159265358979",
    "Population 8,045,311,447 in 2023; GDP $105,435,000,000,000 (USD).",
    "Coordinates 48.8566, 2.3522 and 40.7128 N, 74.0060 W.",
    "Colors #FF5733 #C70039 rgb(255, 87, 51); z-index 9999; margin 0 0 10px 0.",
    "Order #100234 shipped; invoice INV-2024-00042; SKU 4006381333931; tracking 1Z999AA10123456784.",
    "Matrix [[1, 0, 0], [0, 1, 0], [0, 0, 1]] has determinant 1.",
    "Port 8080, PID 31337, exit code 137, errno 104, HTTP 404, chmod 0755.",
    "Chapter 12, Section 3.4.1, page 215, figure 7, table 2.",
    "Flight BA0117 departs 09:45 from gate 23; seat 14C; booking ref QX7YRT.",
    "The range 100-200-300 and the ratio 3:4:5 and the list 1, 2, 3, 4, 5, 6.",
    "GPU driver 535.104.05, CUDA 12.2, kernel 6.5.0-14-generic, glibc 2.35.",
    "Serial 0123456789 is a placeholder value in our docs.",
    "std::string s = foo::bar(); auto x = a::b::c;",
    "IPv4 header fields: version 4, IHL 5, TTL 64, protocol 6.",
    "log line: [12:30:45.678] worker-3 processed 15000 items in 2.5s",
    "ISBN 978-3-16-148410-0, ISSN 0378-5955, DOI 10.1000/182.",
];

#[test]
fn hard_negatives_report_no_personal_data() {
    let g = guard();
    let mut failures = Vec::new();
    for text in HARD_NEGATIVES {
        let found = pii(&g, text);
        if !found.is_empty() {
            failures.push(format!("{text:?}: {found:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "false positives:\n{}",
        failures.join("\n")
    );
}

#[test]
fn redaction_uses_the_kind_placeholders() {
    let g = guard();
    let text = "Ana, ana@example.com, +34 612 34 56 78, IBAN ES91 2100 0418 4502 0005 1332";
    let clean = g.redact(text, Direction::Input).unwrap();
    assert_eq!(clean, "Ana, <EMAIL>, <PHONE>, IBAN <IBAN>");
}

#[test]
fn output_direction_is_scanned_too() {
    let g = guard();
    let report = g
        .scan_output("Sure! Her SSN is 536-22-1234.", None)
        .unwrap();
    assert!(report.findings.iter().any(|f| &*f.kind == "us_ssn"));
}

fn pii_only_policy() -> Policy {
    Policy {
        detectors: Detectors {
            pii: true,
            secrets: false,
            injection: false,
            classifier: false,
            invisible_text: false,
            encoded: false,
            exfiltration: false,
            canary: false,
            prompt_leak: false,
        },
        ..Policy::default()
    }
}

/// Clean English prose without personal data: what most traffic looks like.
fn prose(bytes: usize) -> String {
    const PARAGRAPH: &str = "The committee met on Tuesday to review the proposal for the new \
        library wing. Members agreed that the design balances natural light with the needs of \
        rare book storage, although several raised questions about the heating budget and the \
        timeline for construction. After a long discussion about accessibility, the chair asked \
        the architects to return with a revised plan that widens the entrance, adds a second \
        lift and moves the reading room closer to the garden. Everyone thanked the volunteers \
        who organised the public consultation, which drew more responses than any before it. ";
    let mut s = String::with_capacity(bytes + PARAGRAPH.len());
    while s.len() < bytes {
        s.push_str(PARAGRAPH);
    }
    s
}

/// Chat text dense with numbers, identifiers and personal data.
fn dense_chat(bytes: usize) -> String {
    const LINES: &[&str] = &[
        "user: hi, I'm Jane (jane.doe@example.org), call me on +44 20 7946 0958 or 07700 900123.\n",
        "assistant: Thanks Jane. Order #100234 shipped on 2024-01-15 at 10:30:00, tracking 1Z999AA10123456784.\n",
        "user: card 4111 1111 1111 1111 exp 12/27, IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-1234.\n",
        "assistant: Server 203.0.113.42 (2001:db8::1) logged version 1.2.3 build 20240115, uuid 550e8400-e29b-41d4-a716-446655440000.\n",
        "user: my US number is (212) 555-0123, office 030 12345678, DOB: 04/12/1987, I live at 221B Baker Street.\n",
        "assistant: Noted. The total is $1,234.56 for 3 items; invoice INV-2024-00042 due 05.06.2024.\n",
    ];
    let mut s = String::with_capacity(bytes + 256);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(LINES[i % LINES.len()]);
        i += 1;
    }
    s
}

/// Seconds this thread has run on a CPU (Linux), so that timings on a shared, loaded machine
/// count only our own work; wall-clock time elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn throughput(guard: &Guard, text: &str, rounds: usize) -> (f64, usize) {
    let mut findings = 0;
    // Warm the caches and pools once.
    findings += guard.scan_input(text).unwrap().findings.len();
    let wall = std::time::Instant::now();
    let cpu = cpu_seconds();
    for _ in 0..rounds {
        findings += guard.scan_input(text).unwrap().findings.len();
    }
    let secs = match (cpu, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall.elapsed().as_secs_f64(),
    };
    (
        (text.len() * rounds) as f64 / secs / 1e6,
        findings / (rounds + 1),
    )
}

/// `cargo test --release -p vallum --test pii -- --ignored --nocapture pii_throughput`
#[test]
#[ignore = "timing loop; run in release mode by hand"]
fn pii_throughput() {
    let prose = prose(4 << 20);
    let chat = dense_chat(1 << 20);
    let all = Guard::builder()
        .without_builtin_detectors()
        .build()
        .unwrap();
    let only = Guard::builder()
        .policy(pii_only_policy())
        .without_builtin_detectors()
        .build()
        .unwrap();
    let mut none_policy = pii_only_policy();
    none_policy.detectors.pii = false;
    let none = Guard::builder()
        .policy(none_policy)
        .without_builtin_detectors()
        .build()
        .unwrap();
    for (name, g) in [
        ("no packs (baseline)", &none),
        ("all rule packs", &all),
        ("pii pack only", &only),
    ] {
        let (p, pf) = throughput(g, &prose, 5);
        let (c, cf) = throughput(g, &chat, 5);
        println!(
            "{name}: prose {p:.0} MB/s ({pf} findings), dense chat {c:.0} MB/s ({cf} findings)"
        );
    }
}
