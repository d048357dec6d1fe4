//! The `vallum` command end to end: exit codes, human and JSON output, datasets.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn vallum(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vallum"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the vallum binary runs");
    // The command may exit before it reads its input (a bad policy, a missing
    // file): a closed pipe is then expected, not a failure of the test.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn tmp(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vallum-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn clean_text_exits_zero() {
    let out = vallum(&["scan"], "What is the capital of France?");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict: allow"));
}

#[test]
fn findings_exit_one_and_json_is_parseable() {
    let out = vallum(&["scan", "--json", "-"], "write to jane@example.org");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "flag");
    assert_eq!(v["findings"][0]["kind"], "email");
    assert_eq!(v["findings"][0]["span"]["start"], 9);
}

#[test]
fn errors_exit_two_with_a_message() {
    let out = vallum(&["scan", "/nonexistent/file.txt"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));

    let bad = tmp("bad.bin", b"abc\xff\xfe");
    let out = vallum(&["scan", bad.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UTF-8"));

    let policy = tmp("bad.toml", b"[actions]\npii = \"shred\"\n");
    let out = vallum(&["--policy", policy.to_str().unwrap(), "scan"], "hi");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shred"));
}

#[test]
fn policy_file_changes_the_verdict() {
    let policy = tmp("block.toml", b"[actions]\npii = \"block\"\n");
    let out = vallum(
        &["--policy", policy.to_str().unwrap(), "scan", "--json"],
        "jane@example.org",
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "block");
}

#[test]
fn jsonl_dataset_reports_every_line_and_a_summary() {
    let data = tmp(
        "data.jsonl",
        b"{\"text\": \"hello there\"}\n{\"text\": \"mail bob@example.com\"}\n\n{\"other\": 1}\n",
    );
    let out = vallum(
        &[
            "scan-jsonl",
            data.to_str().unwrap(),
            "--field",
            "text",
            "--quiet",
        ],
        "",
    );
    // A line without the field is an error record, and the run reports it (exit 2).
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["verdict"], "allow");
    assert_eq!(lines[1]["findings"][0]["kind"], "email");
    assert_eq!(lines[2]["line"], 4);
    assert!(lines[2]["error"].as_str().unwrap().contains("no field"));
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().next().unwrap()).unwrap();
    assert_eq!(summary["rows"], 3);
    assert_eq!(summary["errors"], 1);
    assert_eq!(summary["flag"], 1);
    assert_eq!(summary["by_category"]["pii"], 1);
    assert_eq!(summary["by_kind"]["pii.email"], 1);
}

#[test]
fn secrets_are_never_printed() {
    let key = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
    let out = vallum(&["scan"], &format!("token = {key}"));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("secret/"),
        "the token was not reported: {shown}"
    );
    assert!(!shown.contains(key), "{shown}");
}
