//! The `secrets` rule pack: its shape (size, keywords, kinds, scores), end-to-end detection
//! and redaction, that no report or error ever carries a secret, and property tests of the
//! checksum and JWT validators against independent reference implementations.
//!
//! The throughput check is `#[ignore]`d; run it with
//! `cargo test --release -p vallum --test secrets -- --ignored --nocapture`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::LazyLock;

use proptest::prelude::*;
use vallum::{Action, Category, Direction, Guard, Policy, Verdict};
use vallum_rules::{Validator, builtin_pack};

fn pack() -> &'static vallum_rules::Pack {
    builtin_pack("secrets").expect("the secrets pack is built in")
}

/// The default guard, built once for the whole test binary.
fn guard() -> &'static Guard {
    static GUARD: LazyLock<Guard> = LazyLock::new(|| Guard::new().unwrap());
    &GUARD
}

/// A guard running only the secrets pack (no other packs, no code detectors).
fn secrets_only() -> &'static Guard {
    static GUARD: LazyLock<Guard> = LazyLock::new(|| {
        let mut policy = Policy::default();
        policy.detectors.pii = false;
        policy.detectors.injection = false;
        policy.detectors.exfiltration = false;
        Guard::builder()
            .policy(policy)
            .without_builtin_detectors()
            .build()
            .unwrap()
    });
    &GUARD
}

// ---------------------------------------------------------------- reference implementations

/// Bitwise CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): no table, no crate.
fn reference_crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

const B62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn reference_base62(mut n: u64) -> String {
    let mut out = Vec::new();
    while n > 0 {
        out.push(B62.as_bytes()[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < 6 {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// A GitHub token the way GitHub documents it: prefix + random part + base62(CRC-32(random)).
fn reference_github_token(prefix: &str, random: &str) -> String {
    format!(
        "{prefix}{random}{}",
        reference_base62(u64::from(reference_crc32(random.as_bytes())))
    )
}

/// Independent check: re-encode the checksum of the random part and compare text.
fn reference_github_valid(token: &str) -> bool {
    let Some((prefix, rest)) = token.split_at_checked(4) else {
        return false;
    };
    if !["ghp_", "gho_", "ghu_", "ghs_", "ghr_"].contains(&prefix)
        || rest.len() < 7
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return false;
    }
    let (random, check) = rest.split_at(rest.len() - 6);
    reference_base62(u64::from(reference_crc32(random.as_bytes()))) == check
}

/// Base64url without padding, written out bit by bit.
fn reference_b64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = String::new();
    for b in data {
        write!(bits, "{b:08b}").unwrap();
    }
    while !bits.len().is_multiple_of(6) {
        bits.push('0');
    }
    bits.as_bytes()
        .chunks(6)
        .map(|c| {
            let v = c
                .iter()
                .fold(0usize, |acc, &bit| acc * 2 + usize::from(bit - b'0'));
            char::from(A[v])
        })
        .collect()
}

// ---------------------------------------------------------------- the pack's shape

#[test]
fn pack_covers_at_least_150_formats() {
    let rules = &pack().rules;
    assert!(rules.len() >= 150, "only {} secret rules", rules.len());
    let kinds: BTreeSet<&str> = rules.iter().map(|r| r.kind.as_str()).collect();
    assert!(kinds.len() >= 100, "only {} distinct kinds", kinds.len());
    for kind in [
        "aws_access_key_id",
        "aws_secret_access_key",
        "gcp_service_account",
        "azure_storage_account_key",
        "github_token",
        "gitlab_token",
        "openai_api_key",
        "anthropic_api_key",
        "huggingface_token",
        "slack_bot_token",
        "stripe_secret_key",
        "npm_token",
        "pypi_token",
        "private_key",
        "jwt",
        "password_assignment",
        "database_url_password",
        "generic_secret",
    ] {
        assert!(kinds.contains(kind), "no rule of kind {kind}");
    }
}

#[test]
fn every_rule_is_keyword_gated_and_well_formed() {
    for rule in &pack().rules {
        let id = &rule.id;
        assert!(
            id.starts_with("secrets."),
            "{id}: id outside the pack namespace"
        );
        assert_eq!(rule.category, Category::Secret, "{id}");
        assert!(
            !rule.keywords.is_empty(),
            "{id}: no keyword, so it would run on every text"
        );
        assert!(
            rule.keywords.iter().all(|k| k.len() >= 2),
            "{id}: a one-byte keyword fires everywhere"
        );
        assert!(
            rule.window > 0 && rule.window <= 9_000,
            "{id}: window {}",
            rule.window
        );
        assert!(
            rule.kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{id}: kind `{}` is not snake_case",
            rule.kind
        );
        assert!(
            (0.5..=0.99).contains(&rule.score),
            "{id}: score {}",
            rule.score
        );
        assert!(!rule.description.is_empty(), "{id}: no description");
        assert!(
            !rule.examples.non_matches.is_empty(),
            "{id}: no hard negative in examples.no_match"
        );
        if rule.group.is_some() || rule.validator.is_none() {
            // Values without a checksum must not be obvious placeholders.
            assert!(
                rule.reject_placeholders || rule.validator.is_some() || rule.min_entropy.is_some(),
                "{id}: nothing rejects placeholders"
            );
        }
    }
}

#[test]
fn every_match_example_is_reported_near_a_keyword() {
    let guard = secrets_only();
    for rule in &pack().rules {
        for text in &rule.examples.matches {
            let report = guard.scan(text, Direction::Input, None).unwrap();
            let hits: Vec<_> = report
                .findings
                .iter()
                .filter(|f| *f.rule == *rule.id)
                .collect();
            assert!(!hits.is_empty(), "{}: example not reported", rule.id);
            let lower = text.to_ascii_lowercase();
            for f in hits {
                let from = f.span.start.saturating_sub(rule.window);
                let to = (f.span.end + rule.window).min(text.len());
                let near = rule.keywords.iter().any(|k| {
                    lower
                        .match_indices(&k.to_ascii_lowercase())
                        .any(|(i, _)| i >= from && i + k.len() <= to)
                });
                assert!(near, "{}: finding outside every keyword window", rule.id);
            }
        }
    }
}

#[test]
fn validators_named_by_the_pack_exist() {
    for name in [
        "github_token_checksum",
        "github_fine_grained_pat",
        "npm_token_checksum",
        "gitlab_routable_token",
        "jwt",
        "bech32_checksum",
        "private_key_block",
        "credential_value",
    ] {
        let v = Validator::by_name(name).unwrap_or_else(|| panic!("validator {name} missing"));
        assert!(
            pack().rules.iter().any(|r| r.validator == Some(v)),
            "no rule uses {name}"
        );
    }
}

// ---------------------------------------------------------------- end to end

const GH_TOKEN: &str = "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";

#[test]
fn default_policy_redacts_secrets_and_flags_the_text() {
    let guard = guard();
    let text = format!("push with {GH_TOKEN} please");
    let report = guard.scan_input(&text).unwrap();
    let f = report
        .findings
        .iter()
        .find(|f| &*f.kind == "github_token")
        .expect("GitHub token reported");
    assert_eq!(&text[f.span], GH_TOKEN);
    assert_eq!(f.category, Category::Secret);
    assert_eq!(f.action, Action::Redact);
    assert!(f.score >= 0.95);
    assert_eq!(report.verdict, Verdict::Flag);

    let clean = guard.redact(&text, Direction::Input).unwrap();
    assert!(!clean.contains(GH_TOKEN), "redaction left the token");
    assert!(clean.starts_with("push with ") && clean.ends_with(" please"));

    let (masked, vault) = guard.anonymize(&text).unwrap();
    assert!(!masked.contains(GH_TOKEN));
    assert_eq!(vault.restore(&masked), text);
}

#[test]
fn assignment_rules_report_only_the_value() {
    let guard = secrets_only();
    let cases = [
        ("DB_PASSWORD=Hx7!vR2q_9zL\n", "Hx7!vR2q_9zL"),
        ("{\"password\": \"Tr0ub4dor&3x\"}", "Tr0ub4dor&3x"),
        ("postgresql://app:Qm4xT9vLr2Zp@db:5432/app", "Qm4xT9vLr2Zp"),
        (
            "STRIPE_KEY_SECRET=Zk3Pq8Wm2Xr7Ty4Vb9Nc6Hd1",
            "Zk3Pq8Wm2Xr7Ty4Vb9Nc6Hd1",
        ),
    ];
    for (text, value) in cases {
        let report = guard.scan_input(text).unwrap();
        assert!(
            report.findings.iter().any(|f| &text[f.span] == value),
            "value not reported alone in {text:?}"
        );
        assert!(
            report
                .findings
                .iter()
                .all(|f| !text[f.span].contains('=') || value.contains('=')),
            "a finding spans the assignment name in {text:?}"
        );
    }
}

#[test]
fn multi_line_private_key_is_one_finding() {
    let body = (0..20).fold(String::new(), |mut out, i| {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC{i:03}abcdEFGH"
        );
        out
    });
    let key = format!("-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----");
    let text = format!("here:\n{key}\nthanks");
    let report = secrets_only().scan_input(&text).unwrap();
    let keys: Vec<_> = report
        .findings
        .iter()
        .filter(|f| &*f.kind == "private_key")
        .collect();
    assert_eq!(keys.len(), 1);
    assert_eq!(&text[keys[0].span], key);
}

#[test]
fn placeholders_and_code_are_not_secrets() {
    let guard = secrets_only();
    for text in [
        "AKIAXXXXXXXXXXXXXXXX",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "export OPENAI_API_KEY=<YOUR_KEY>",
        "export GITHUB_TOKEN=${TOKEN}",
        "token: {{ secrets.GITHUB_TOKEN }}",
        "password = os.environ['DB_PASSWORD']",
        "api_key = settings.API_KEY",
        "password: string",
        "We met in Asia; the basic password policy requires a token.",
        "fn tokenize(text: &str) -> Vec<Token> { let secret = lookup(key); }",
    ] {
        let report = guard.scan_input(text).unwrap();
        assert!(
            report.findings.is_empty(),
            "false positive in {text:?}: {:?}",
            report.findings
        );
    }
}

#[test]
fn nothing_prints_a_secret() {
    let guard = guard();
    let secrets = [
        GH_TOKEN.to_owned(),
        "Hx7!vR2q_9zLmQ".to_owned(),
        "sk-ant-api03-".to_owned() + &"aB3dE5fG7h".repeat(9) + "xyzAA",
    ];
    let text = format!(
        "token {}\nDB_PASSWORD={}\nANTHROPIC_API_KEY={}\n",
        secrets[0], secrets[1], secrets[2]
    );
    let report = guard.scan_input(&text).unwrap();
    assert!(report.findings.len() >= 3, "{:?}", report.findings);
    let debug = format!("{report:?}");
    let json = serde_json::to_string(&report).unwrap();
    for s in &secrets {
        assert!(!debug.contains(s.as_str()), "Debug output holds a secret");
        assert!(!json.contains(s.as_str()), "JSON output holds a secret");
    }
    for f in &report.findings {
        assert!(f.detail.is_none(), "a secret finding carries a detail");
    }

    // An input over the size limit: the error names sizes, never the content.
    let mut policy = Policy::default();
    policy.limits.max_input_bytes = 16;
    let small = Guard::from_policy(&policy).unwrap();
    let err = small.scan_input(&text).unwrap_err();
    let message = format!("{err} {err:?}");
    for s in &secrets {
        assert!(
            !message.contains(s.as_str()),
            "an error message holds a secret"
        );
    }
}

#[test]
fn checksum_failures_are_not_reported_as_tokens() {
    let guard = secrets_only();
    let mut wrong = GH_TOKEN.to_owned();
    wrong.replace_range(39..40, "8");
    let report = guard.scan_input(&format!("token {wrong}")).unwrap();
    assert!(report.findings.iter().all(|f| &*f.kind != "github_token"));
}

// ---------------------------------------------------------------- property tests

fn github_validator() -> Validator {
    Validator::by_name("github_token_checksum").unwrap()
}

fn jwt_validator() -> Validator {
    Validator::by_name("jwt").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Tokens made by the reference generator always validate, and any string of the same
    /// shape validates exactly when the reference says so.
    #[test]
    fn github_checksum_agrees_with_reference(
        prefix in prop::sample::select(vec!["ghp_", "gho_", "ghu_", "ghs_"]),
        random in "[A-Za-z0-9]{30}",
        noise in "[A-Za-z0-9]{36}",
        flip in 0usize..36,
    ) {
        let v = github_validator();
        let token = reference_github_token(prefix, &random);
        prop_assert!(v.check(&token));
        prop_assert!(reference_github_valid(&token));

        let arbitrary = format!("{prefix}{noise}");
        prop_assert_eq!(v.check(&arbitrary), reference_github_valid(&arbitrary));

        // Changing one character of the token: both agree (almost always invalid).
        let mut bytes = token.clone().into_bytes();
        let i = 4 + flip;
        bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
        let mutated = String::from_utf8(bytes).unwrap();
        prop_assert_eq!(v.check(&mutated), reference_github_valid(&mutated));
    }

    /// Refresh tokens carry a 70-character random part under the same scheme.
    #[test]
    fn github_refresh_token_checksum(random in "[A-Za-z0-9]{70}") {
        let token = reference_github_token("ghr_", &random);
        prop_assert!(github_validator().check(&token));
    }

    /// A valid token anywhere in text is reported with its exact span.
    #[test]
    fn github_tokens_are_found_in_text(
        random in "[A-Za-z0-9]{30}",
        before in "[ a-zA-Z.,:=\n]{0,40}",
        after in "[ a-zA-Z.,\n]{0,40}",
    ) {
        let token = reference_github_token("ghp_", &random);
        let text = format!("{before} {token} {after}");
        let report = secrets_only().scan_input(&text).unwrap();
        prop_assert!(report.findings.iter().any(|f| &*f.kind == "github_token" && text[f.span] == token));
    }

    /// The JWT validator accepts exactly: a JSON-object header with a string "alg", a
    /// JSON-object payload, and a base64url signature (empty only for alg "none").
    #[test]
    fn jwt_validator_agrees_with_reference(
        alg in prop::option::of(prop::sample::select(vec!["HS256", "RS256", "ES384", "none"])),
        typ in prop::option::of("[A-Z]{3}"),
        sub in "[a-z0-9]{1,12}",
        payload_is_object in any::<bool>(),
        signature in prop::option::of("[A-Za-z0-9_-]{16,86}"),
    ) {
        let mut header = serde_json::Map::new();
        if let Some(a) = alg {
            header.insert("alg".into(), a.into());
        }
        if let Some(t) = typ {
            header.insert("typ".into(), t.into());
        }
        let payload = if payload_is_object {
            serde_json::json!({ "sub": sub, "iat": 1_700_000_000 })
        } else {
            serde_json::json!([sub])
        };
        let sig = signature.clone().unwrap_or_default();
        let token = format!(
            "{}.{}.{}",
            reference_b64url(serde_json::to_string(&header).unwrap().as_bytes()),
            reference_b64url(serde_json::to_string(&payload).unwrap().as_bytes()),
            sig
        );
        // A signature of length 4k+1 is not valid base64url.
        let sig_ok = sig.len() % 4 != 1;
        let expected = alg.is_some()
            && payload_is_object
            && (if sig.is_empty() { alg == Some("none") } else { sig_ok });
        prop_assert_eq!(jwt_validator().check(&token), expected);
    }
}

// ---------------------------------------------------------------- throughput

/// A xorshift stream for the synthetic corpora (deterministic, no dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// English-like prose. `keyword_rate` is how many words in 10,000 are credential words
/// (password, token, secret, key, Asia, basic, ...) instead of ordinary ones.
fn prose(bytes: usize, keyword_rate: u64) -> String {
    const WORDS: &[&str] = &[
        "the",
        "of",
        "and",
        "to",
        "in",
        "a",
        "is",
        "that",
        "for",
        "it",
        "as",
        "was",
        "with",
        "be",
        "by",
        "on",
        "not",
        "he",
        "this",
        "are",
        "or",
        "his",
        "from",
        "at",
        "which",
        "but",
        "have",
        "an",
        "had",
        "they",
        "you",
        "were",
        "their",
        "one",
        "all",
        "we",
        "can",
        "her",
        "has",
        "there",
        "been",
        "if",
        "more",
        "when",
        "will",
        "would",
        "who",
        "so",
        "no",
        "river",
        "history",
        "government",
        "morning",
        "language",
        "village",
        "market",
        "season",
        "children",
        "question",
        "mountain",
        "evening",
        "letter",
        "garden",
        "company",
        "people",
        "water",
        "between",
        "important",
        "through",
        "during",
        "without",
        "because",
        "another",
        "public",
        "private",
        "access",
        "open",
        "report",
        "system",
        "service",
        "account",
    ];
    const CREDENTIAL_WORDS: &[&str] = &[
        "password",
        "token",
        "secret",
        "key",
        "Asia",
        "basic",
        "bearer",
        "credentials",
        "passwords",
        "tokens",
        "Asian",
        "private key",
    ];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = String::with_capacity(bytes + 64);
    let mut sentence = 0;
    while out.len() < bytes {
        let w = if rng.next() % 10_000 < keyword_rate {
            rng.pick(CREDENTIAL_WORDS)
        } else {
            rng.pick(WORDS)
        };
        if sentence == 0 {
            let mut c = w.chars();
            out.extend(c.next().map(|f| f.to_ascii_uppercase()));
            out.push_str(c.as_str());
        } else {
            out.push_str(w);
        }
        sentence += 1;
        if sentence > 8 + (rng.next() % 12) as usize {
            out.push_str(if rng.next().is_multiple_of(7) {
                ".\n\n"
            } else {
                ". "
            });
            sentence = 0;
        } else {
            out.push(' ');
        }
    }
    out
}

/// Source code: ordinary lines, with `auth_rate` lines in 100 touching credentials
/// (reading a password from the environment, a bearer header, a tokenizer, ...).
fn source_code(bytes: usize, auth_rate: u64) -> String {
    const LINES: &[&str] = &[
        "fn parse_config(path: &Path) -> Result<Config, Error> {",
        "    let text = std::fs::read_to_string(path)?;",
        "    for (i, item) in items.iter().enumerate() { total += item.price * i as u64; }",
        "    if entries.is_empty() { return Ok(Vec::new()); }",
        "def load(path: str, timeout: int = 30) -> dict:",
        "    url = f\"https://api.example.com/v1/items?page={page}\"",
        "    with open(path, encoding=\"utf-8\") as fh:",
        "        rows = [json.loads(line) for line in fh if line.strip()]",
        "const client = new Client({ baseUrl: config.baseUrl, retries: 3 });",
        "    // Keep the cache warm between requests.",
        "    match value { Some(v) => v.len(), None => 0 }",
        "}",
        "",
    ];
    const AUTH_LINES: &[&str] = &[
        "    let token = tokenizer.next_token(&mut state);",
        "    if password.len() < MIN_PASSWORD_LEN { return Err(Error::Weak); }",
        "    let secret = vault.get(\"db/password\").await?;",
        "    headers = {\"Authorization\": f\"Bearer {api_key}\"}",
        "const client = new Client({ apiKey: process.env.API_KEY });",
        "    # TODO: rotate the access key every 90 days",
        "    private_key_path = os.path.join(home, \".ssh\", \"id_ed25519\")",
        "    password = os.environ[\"DB_PASSWORD\"]",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(bytes + 128);
    while out.len() < bytes {
        let line = if rng.next() % 100 < auth_rate {
            rng.pick(AUTH_LINES)
        } else {
            rng.pick(LINES)
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// CPU time of this thread in seconds (Linux `schedstat`), so a busy machine does not skew
/// the numbers; `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn measure(label: &str, guard: &Guard, text: &str) {
    // One warm-up pass, then the best of three (by CPU time where available).
    guard.scan_input(text).unwrap();
    let mut best_wall = f64::MAX;
    let mut best_cpu = f64::MAX;
    for _ in 0..3 {
        let cpu = thread_cpu_seconds();
        let start = std::time::Instant::now();
        let report = guard.scan_input(text).unwrap();
        best_wall = best_wall.min(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu, thread_cpu_seconds()) {
            best_cpu = best_cpu.min(b - a);
        }
        std::hint::black_box(report);
    }
    let mb = text.len() as f64 / 1e6;
    let cpu = if best_cpu < f64::MAX {
        format!(", {:.0} MB/s of CPU time", mb / best_cpu)
    } else {
        String::new()
    };
    println!("{label}: {mb:.1} MB, {:.0} MB/s wall{cpu}", mb / best_wall);
}

#[test]
#[ignore = "throughput measurement; run in release with --ignored --nocapture"]
fn throughput() {
    const SIZE: usize = 10 << 20;
    let start = std::time::Instant::now();
    let full = guard();
    println!(
        "build, full default guard: {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let start = std::time::Instant::now();
    let secrets = secrets_only();
    println!(
        "build, secrets pack only: {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let mut without = Policy::default();
    without.detectors.secrets = false;
    let no_secrets = Guard::from_policy(&without).unwrap();
    let corpora = [
        ("prose (1 credential word in 5,000)", prose(SIZE, 2)),
        ("prose (1 credential word in 20)", prose(SIZE, 500)),
        ("code (2% auth lines)", source_code(SIZE, 2)),
        ("code (30% auth lines)", source_code(SIZE, 30)),
    ];
    for (label, text) in &corpora {
        measure(&format!("secrets pack, {label}"), secrets, text);
        measure(&format!("full guard,   {label}"), full, text);
        measure(
            &format!("full guard without secrets, {label}"),
            &no_secrets,
            text,
        );
    }
    // Real English, when the machine has it (Debian ships the licence texts).
    if let Ok(gpl) = std::fs::read_to_string("/usr/share/common-licenses/GPL-3") {
        let text = gpl.repeat(SIZE / gpl.len() + 1);
        measure("secrets pack, GPL-3 text repeated", secrets, &text);
        measure("full guard,   GPL-3 text repeated", full, &text);
    }
}

/// A match must lie inside the window of one keyword hit: a key block whose `-----END`
/// is further from its `-----BEGIN` than the rule's window is the truncated block, whether
/// or not another `-----BEGIN` follows close enough for the two windows to merge.
#[test]
fn a_key_block_does_not_grow_through_the_next_keywords_window() {
    let begin = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n";
    let filler =
        "The quarterly report covers revenue, churn and hiring across all regions.\n".repeat(120);
    assert!(
        filler.len() > 8192,
        "the END must lie past the rule's window"
    );
    let alone = format!("{begin}{filler}-----END RSA PRIVATE KEY-----\n");
    let followed = format!("{alone}Another one:\n{begin}");
    let key_spans = |text: &str| -> Vec<(usize, usize)> {
        secrets_only()
            .scan_input(text)
            .unwrap()
            .findings
            .iter()
            .filter(|f| f.rule.as_ref() == "secrets.private_key.pem")
            .map(|f| (f.span.start, f.span.end))
            .collect()
    };
    let first = key_spans(&alone);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].1 < 1024,
        "the truncated block, not one up to the END: {first:?}"
    );
    let both = key_spans(&followed);
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0], first[0], "what follows changed the first block");
}
