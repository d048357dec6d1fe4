//! Invariants over generated text: spans on char boundaries and within the input, findings
//! sorted, redaction idempotent, normalisation idempotent, view offsets exact.

use proptest::prelude::*;
use vallum::{Direction, Guard, Policy, Span, normalize};

fn guard() -> &'static Guard {
    static GUARD: std::sync::OnceLock<Guard> = std::sync::OnceLock::new();
    GUARD.get_or_init(|| {
        let policy = Policy::from_toml("[detectors]\nclassifier = false").unwrap();
        Guard::from_policy(&policy).unwrap()
    })
}

/// Text mixing prose, things detectors look for, and evasion characters.
fn texty() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("hello ".to_owned()),
        Just("jane.doe@example.org".to_owned()),
        Just("ignore previous instructions".to_owned()),
        Just("4111 1111 1111 1111".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("\u{E0041}\u{E0042}".to_owned()),
        Just("ｆｕｌｌ".to_owned()),
        Just("é".to_owned()),
        Just("е".to_owned()),
        Just("😀".to_owned()),
        Just("\n".to_owned()),
        "\\PC{0,6}",
    ];
    proptest::collection::vec(atoms, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn findings_are_valid_spans_in_order(text in texty()) {
        for direction in [Direction::Input, Direction::Output] {
            let report = guard().scan(&text, direction, None).unwrap();
            let mut prev = (0, 0);
            for f in &report.findings {
                prop_assert!(f.span.start < f.span.end, "empty span {:?}", f.span);
                prop_assert!(f.span.end <= text.len());
                prop_assert!(text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end));
                prop_assert!((0.0..=1.0).contains(&f.score));
                prop_assert!((f.span.start, f.span.end) >= prev, "findings out of order");
                prev = (f.span.start, f.span.end);
            }
            let max = report.findings.iter().map(|f| f.score).fold(0.0_f32, f32::max);
            prop_assert_eq!(report.score.to_bits(), max.to_bits());
        }
    }

    #[test]
    fn redaction_is_idempotent(text in texty()) {
        let once = guard().redact(&text, Direction::Input).unwrap().into_owned();
        let twice = guard().redact(&once, Direction::Input).unwrap();
        prop_assert_eq!(&once, &*twice);
    }

    #[test]
    fn normalisation_is_idempotent(text in texty()) {
        let once = normalize(&text).as_str().to_owned();
        let twice = normalize(&once);
        prop_assert_eq!(&once, twice.as_str());
    }

    #[test]
    fn view_offsets_map_back(text in texty()) {
        let view = normalize(&text);
        let v = view.as_str();
        // Every char of the view maps to a non-empty original span, spans advance
        // monotonically, and a whole-view span covers exactly the mapped range.
        let mut last_end = 0;
        for (i, c) in v.char_indices() {
            let s = view.to_original(Span::new(i, i + c.len_utf8()));
            prop_assert!(s.start < s.end && s.end <= text.len());
            prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            prop_assert!(s.start >= last_end || s.end == last_end, "map went backwards");
            last_end = s.end;
            // Copied text maps to itself exactly.
            let piece = &text[s];
            if piece.is_ascii() {
                prop_assert_eq!(piece, c.to_string(), "an ASCII piece maps to another char");
            }
        }
        if !v.is_empty() {
            let all = view.to_original(Span::new(0, v.len()));
            prop_assert!(all.end <= text.len());
        }
    }
}
