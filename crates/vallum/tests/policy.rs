//! Policies: parsing, defaults, clear errors naming the offending key or rule, and user
//! rules that cannot blow up memory or time.

use vallum::{Action, BuildError, Category, Direction, Guard, Policy, PolicyError, Verdict};

#[test]
fn default_policy_matches_the_api_contract() {
    let p = Policy::default();
    assert_eq!(p.action(Category::PromptInjection), Action::Block);
    assert_eq!(p.action(Category::Exfiltration), Action::Block);
    assert_eq!(p.action(Category::Canary), Action::Block);
    assert_eq!(p.action(Category::PromptLeak), Action::Block);
    assert_eq!(p.action(Category::Secret), Action::Redact);
    assert_eq!(p.action(Category::Pii), Action::Flag);
    assert_eq!(
        p.action_for_kind(Category::InvisibleText, "tag_characters"),
        Action::Block
    );
    assert_eq!(
        p.action_for_kind(Category::InvisibleText, "zero_width"),
        Action::Flag
    );
    assert!((p.threshold(Category::PromptInjection) - 0.5).abs() < f32::EPSILON);
    assert_eq!(p.limits.max_input_bytes, 16 * 1024 * 1024);
}

#[test]
fn toml_and_json_round_trip() {
    let src = r#"
        min_score = 0.2
        [detectors]
        pii = false
        [actions]
        pii = "redact"
        [kind_actions]
        "invisible_text.zero_width" = "block"
        [thresholds]
        prompt_injection = 0.8
        [allow]
        hosts = ["*.example.com"]
        [[custom]]
        id = "codename"
        terms = ["bluebird"]
        action = "block"
    "#;
    let p = Policy::from_toml(src).unwrap();
    assert!(!p.detectors.pii);
    assert_eq!(p.action(Category::Pii), Action::Redact);
    assert_eq!(
        p.action_for_kind(Category::InvisibleText, "zero_width"),
        Action::Block
    );
    assert_eq!(Policy::from_toml(&p.to_toml()).unwrap(), p);
    assert_eq!(Policy::from_json(&p.to_json()).unwrap(), p);
}

fn syntax_message(r: Result<Policy, PolicyError>) -> String {
    match r {
        Err(e @ PolicyError::Syntax { .. }) => e.to_string(),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn malformed_policies_name_the_problem() {
    let m = syntax_message(Policy::from_toml("[detectors]\npii = \"yes\""));
    assert!(m.contains("pii"), "{m}");
    let m = syntax_message(Policy::from_toml("[actions]\npii = \"shred\""));
    assert!(m.contains("shred"), "{m}");
    let m = syntax_message(Policy::from_toml("[actions]\nnot_a_category = \"flag\""));
    assert!(m.contains("not_a_category"), "{m}");
    let m = syntax_message(Policy::from_toml("unknown_key = 1"));
    assert!(m.contains("unknown_key"), "{m}");
    let m = syntax_message(Policy::from_toml("[detectors"));
    assert!(m.contains("TOML"), "{m}");
    let m = syntax_message(Policy::from_json("{\"limits\": {\"max_input_bytes\": -1}}"));
    assert!(m.contains("JSON"), "{m}");

    let e = Policy::from_toml("[thresholds]\nprompt_injection = 1.5").unwrap_err();
    assert!(e.to_string().contains("thresholds.prompt_injection"), "{e}");
    let e = Policy::from_toml("[limits]\nmax_input_bytes = 0").unwrap_err();
    assert!(e.to_string().contains("limits.max_input_bytes"), "{e}");
    let e = Policy::from_toml("[redaction]\nmode = \"hash\"").unwrap_err();
    assert!(e.to_string().contains("redaction.hash_key"), "{e}");
    let e = Policy::from_toml("[[custom]]\nid = \"x\"").unwrap_err();
    assert!(e.to_string().contains("custom rule `x`"), "{e}");
    let e = Policy::from_toml(
        "[[custom]]\nid = \"x\"\nterms=[\"a\"]\n[[custom]]\nid = \"x\"\nterms=[\"b\"]",
    )
    .unwrap_err();
    assert!(e.to_string().contains("used by another"), "{e}");
    let e = Policy::from_path("/nonexistent/policy.toml").unwrap_err();
    assert!(matches!(e, PolicyError::Io { .. }), "{e}");
}

fn build_error(src: &str) -> String {
    let policy = Policy::from_toml(src).unwrap();
    match Guard::from_policy(&policy) {
        Err(BuildError::Policy(e)) => e.to_string(),
        other => panic!("expected a policy error, got {other:?}"),
    }
}

#[test]
fn bad_user_regexes_are_refused_with_the_rule_id() {
    let m = build_error("[[custom]]\nid = \"broken\"\npattern = \"(unclosed\"");
    assert!(m.contains("broken"), "{m}");
    // Back-references and look-around do not exist in a linear-time engine.
    let m = build_error("[[custom]]\nid = \"backref\"\npattern = '(a)\\1'");
    assert!(m.contains("backref"), "{m}");
    // A pattern whose automaton would be huge is refused by the size limit, quickly.
    let m = build_error("[[custom]]\nid = \"huge\"\npattern = '(?:\\w{100}){100}'");
    assert!(m.contains("huge"), "{m}");
    let m = build_error(&format!(
        "[[custom]]\nid = \"long\"\npattern = '{}'",
        "a".repeat(20_000)
    ));
    assert!(m.contains("long") && m.contains("limit"), "{m}");
    let m = build_error(&format!(
        "[[custom]]\nid = \"deep\"\npattern = '{}a{}'",
        "(".repeat(200),
        ")".repeat(200)
    ));
    assert!(m.contains("deep"), "{m}");
}

#[test]
fn classic_catastrophic_regex_runs_in_linear_time() {
    // `(a+)+$` backtracks exponentially elsewhere; here it is a DFA and returns at once.
    let policy =
        Policy::from_toml("[[custom]]\nid = \"redos\"\npattern = '(a+)+b'\nnormalized = false")
            .unwrap();
    let guard = Guard::from_policy(&policy).unwrap();
    let text = "a".repeat(100_000);
    let report = guard.scan_input(&text).unwrap();
    assert!(report.findings.iter().all(|f| &*f.rule != "redos"));
    let text = format!("{}b", "a".repeat(100_000));
    let report = guard.scan_input(&text).unwrap();
    assert!(report.findings.iter().any(|f| &*f.rule == "redos"));
}

#[test]
fn many_custom_terms_compile_into_one_automaton() {
    let terms: Vec<String> = (0..100_000).map(|i| format!("term{i:06}x")).collect();
    let policy = Policy {
        custom: vec![vallum::policy::CustomRule {
            id: "many".into(),
            kind: "banned".into(),
            terms,
            pattern: None,
            action: Action::Block,
            score: 1.0,
            case_sensitive: false,
            normalized: false,
        }],
        ..Policy::default()
    };
    let guard = Guard::from_policy(&policy).unwrap();
    let report = guard
        .scan_input("nothing here, then TERM054321X and term099999x.")
        .unwrap();
    let hits: Vec<_> = report
        .findings
        .iter()
        .filter(|f| &*f.rule == "many")
        .collect();
    assert_eq!(hits.len(), 2);
    assert_eq!(report.verdict, Verdict::Block);
}

#[test]
fn case_sensitive_terms_need_the_exact_case() {
    let policy = Policy::from_toml(
        "[[custom]]\nid = \"cs\"\nterms = [\"NASA\"]\ncase_sensitive = true\nnormalized = false",
    )
    .unwrap();
    let guard = Guard::from_policy(&policy).unwrap();
    assert_eq!(guard.scan_input("nasa and Nasa").unwrap().findings.len(), 0);
    assert_eq!(guard.scan_input("NASA").unwrap().findings.len(), 1);
}

#[test]
fn size_limit_is_an_error_not_a_truncation() {
    let policy = Policy::from_toml("[limits]\nmax_input_bytes = 1000").unwrap();
    let guard = Guard::from_policy(&policy).unwrap();
    let err = guard.scan_input(&"a".repeat(1001)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("1001") && msg.contains("1000"), "{msg}");
    assert!(guard.scan_input(&"a".repeat(1000)).is_ok());
    let err = guard
        .scan_bytes(b"ok \xff\xfe", Direction::Input, None)
        .unwrap_err();
    assert!(err.to_string().contains("offset 3"), "{err}");
}

#[test]
fn thresholds_downgrade_blocks_to_flags() {
    let src = "[[custom]]\nid = \"weak\"\nterms = [\"meh\"]\naction = \"block\"\nscore = 0.3\n[thresholds]\ncustom = 0.5";
    let guard = Guard::from_policy(&Policy::from_toml(src).unwrap()).unwrap();
    let report = guard.scan_input("meh").unwrap();
    assert_eq!(report.verdict, Verdict::Flag);
    assert_eq!(report.findings[0].action, Action::Flag);
}

#[test]
fn disabled_packs_do_not_run() {
    let guard =
        Guard::from_policy(&Policy::from_toml("[detectors]\npii = false").unwrap()).unwrap();
    let report = guard.scan_input("mail jane@example.org").unwrap();
    assert!(report.by_category(Category::Pii).next().is_none());
}
