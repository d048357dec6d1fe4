//! The five-minute tour: scan a prompt, scan an answer, redact, anonymise and restore.
//! Run with `cargo run --example quickstart`.

use vallum::{Category, Direction, Guard, Verdict};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = Guard::new()?;

    // 1. Input: a prompt with personal data.
    let prompt = "Draft a reply to jane.doe@example.org about her refund.";
    let report = guard.scan_input(prompt)?;
    println!(
        "input verdict: {} (score {:.2})",
        report.verdict, report.score
    );
    for f in &report.findings {
        println!(
            "  {}/{} {:?} -> {:?}",
            f.category, f.kind, f.span, &prompt[f.span]
        );
    }
    assert_eq!(report.verdict, Verdict::Flag);
    assert!(
        report
            .by_category(Category::Pii)
            .any(|f| &*f.kind == "email")
    );

    // 2. Redaction: the same text with personal data replaced.
    let clean = guard.redact(prompt, Direction::Input)?;
    println!("redacted: {clean}");
    assert!(!clean.contains("jane.doe@example.org"));

    // 3. Anonymise before the model call, restore in its answer.
    let (masked, vault) = guard.anonymize(prompt)?;
    println!("sent to the model: {masked}");
    let model_answer = "Dear <EMAIL_1>, your refund is on its way.";
    let restored = vault.restore(model_answer);
    println!("shown to the user: {restored}");
    assert!(restored.contains("jane.doe@example.org"));

    // 4. Output: an answer checked before it is shown.
    let answer = "Your refund of 40 EUR was approved yesterday.";
    let report = guard.scan_output(answer, Some(prompt))?;
    println!("output verdict: {}", report.verdict);
    assert_eq!(report.verdict, Verdict::Allow);
    Ok(())
}
