//! Writes the benchmark corpora of `vallum_benches` to files, so that other tools (the Python
//! peers of `benches/compare`) scan exactly the same bytes.
//! Usage: `cargo run --release -p vallum-benches --example dump_corpora -- OUT_DIR [KiB]`
//! (default 256 KiB each): writes `prose.txt`, `code.txt`, `config.txt` and `chat.txt`.

use std::path::PathBuf;
use std::process::ExitCode;

use vallum_benches::{config, dense_chat, prose, source_code};

/// A corpus generator of `vallum_benches`: text of about the given size.
type Corpus = fn(usize) -> String;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: dump_corpora OUT_DIR [KiB]");
        return ExitCode::from(2);
    };
    let kib = match args.next().map(|s| s.parse::<usize>()) {
        None => 256,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("dump_corpora: KiB must be a positive integer");
            return ExitCode::from(2);
        }
    };
    let size = kib << 10;
    let corpora: [(&str, Corpus); 4] = [
        ("prose", prose),
        ("code", source_code),
        ("config", config),
        ("chat", dense_chat),
    ];
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("dump_corpora: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, make) in corpora {
        let path = dir.join(format!("{name}.txt"));
        let text = make(size);
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("dump_corpora: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{}: {} bytes", path.display(), text.len());
    }
    ExitCode::SUCCESS
}
