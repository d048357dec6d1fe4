//! `vallum-train`: trains and evaluates Vallum's injection classifier.
//!
//! ```text
//! vallum-train train --data DIR --base DIR --out FILE [--first-layer 4] [--window 128]
//!                    [--epochs 3] [--batch 32] [--lr 1e-4] [--head-lr 1e-3] [--seed N]
//!                    [--limit N] [--threads N] [--dataset-sha256 HEX]
//! vallum-train eval  --data DIR --base DIR --trained FILE --out FILE.json
//!                    [--window 128] [--stride 32] [--threads N] [--files a,b,...]
//!                    [--max-long-docs N] [--paragraphs true|false]
//! vallum-train windows --base DIR --trained FILE --file FILE.jsonl --out FILE.jsonl
//!                    [--window 128] [--stride 32] [--threads N] [--limit N]
//!                    [--paragraphs true|false]
//! ```
//! `windows` writes every window's byte span, score and text, one JSON line per input text
//! (for diagnosing which passages fire).
//! `--base` is a folder with the base model's `model.safetensors`, `tokenizer.json` and
//! `config.json` (what `scripts/classifier/install_model.sh` installs), checked against
//! the built-in pins.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device};
use vallum_classifier::model::{Encoder, Weights, canonical_name};
use vallum_classifier::train::{
    Example, TrainConfig, Trainer, compute_cache, make_windows, platt, read_jsonl,
};
use vallum_classifier::{
    BASE_WEIGHTS_FILE, BASE_WEIGHTS_SHA256, CONFIG_FILE, CONFIG_SHA256, Classifier,
    ClassifierOptions, ModelPins, TOKENIZER_FILE, TOKENIZER_SHA256, TRAINED_WEIGHTS_FILE,
    load_config, load_tokenizer, weights,
};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Args(HashMap<String, String>);

impl Args {
    fn parse(v: &[String]) -> Self {
        let mut m = HashMap::new();
        let mut i = 0;
        while i < v.len() {
            if let Some(k) = v[i].strip_prefix("--") {
                let val = v.get(i + 1).cloned().unwrap_or_default();
                m.insert(k.to_owned(), val);
                i += 2;
            } else {
                i += 1;
            }
        }
        Self(m)
    }
    fn path(&self, k: &str) -> Res<PathBuf> {
        self.0
            .get(k)
            .map(PathBuf::from)
            .ok_or_else(|| format!("missing --{k}").into())
    }
    fn get<T: std::str::FromStr>(&self, k: &str, default: T) -> Res<T> {
        match self.0.get(k) {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| format!("bad value for --{k}: {s}").into()),
        }
    }
}

fn main() -> Res<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprintln!("usage: vallum-train train|eval ... (see the crate README)");
        std::process::exit(2);
    };
    let args = Args::parse(&argv[1..]);
    let threads: usize = args.get("threads", 2)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    match cmd.as_str() {
        "train" => pool.install(|| train(&args)),
        "eval" => pool.install(|| eval(&args, threads)),
        "windows" => pool.install(|| windows(&args, threads)),
        other => Err(format!("unknown command {other}").into()),
    }
}

fn train(args: &Args) -> Res<()> {
    let data = args.path("data")?;
    let base = args.path("base")?;
    let out = args.path("out")?;
    let d = TrainConfig::default();
    let cfg = TrainConfig {
        first_trained_layer: args.get("first-layer", d.first_trained_layer)?,
        window_tokens: args.get("window", d.window_tokens)?,
        overlap_tokens: args.get("overlap", d.overlap_tokens)?,
        epochs: args.get("epochs", d.epochs)?,
        batch_size: args.get("batch", d.batch_size)?,
        lr: args.get("lr", d.lr)?,
        head_lr: args.get("head-lr", d.head_lr)?,
        weight_decay: args.get("weight-decay", d.weight_decay)?,
        warmup: args.get("warmup", d.warmup)?,
        dropout: args.get("dropout", d.dropout)?,
        pos_weight: args.get("pos-weight", d.pos_weight)?,
        seed: args.get("seed", d.seed)?,
        max_windows_per_example: args.get("max-windows", d.max_windows_per_example)?,
    };
    let limit: usize = args.get("limit", usize::MAX)?;
    let t0 = Instant::now();
    let device = Device::Cpu;
    let tok = load_tokenizer(&base.join(TOKENIZER_FILE), Some(TOKENIZER_SHA256))?;
    let bcfg = load_config(&base.join(CONFIG_FILE), Some(CONFIG_SHA256))?;
    let basew =
        weights::load_safetensors(&base.join(BASE_WEIGHTS_FILE), Some(BASE_WEIGHTS_SHA256))?;
    let base_map: HashMap<String, candle_core::Tensor> = basew
        .tensors
        .iter()
        .map(|(k, v)| (canonical_name(k).to_owned(), v.clone()))
        .collect();
    let encoder = Encoder::load(&Weights::new(&base_map, DType::F32, &device), &bcfg, true)?;

    let mut train_ex: Vec<Example> = read_jsonl(&data.join("train.jsonl"))?;
    let mut val_ex: Vec<Example> = read_jsonl(&data.join("val.jsonl"))?;
    train_ex.truncate(limit);
    val_ex.truncate(limit.saturating_mul(1).max(1).min(val_ex.len()));
    let tw = make_windows(&tok, &train_ex, &cfg)?;
    let vw = make_windows(&tok, &val_ex, &cfg)?;
    let tok_count: usize = tw.iter().map(|w| w.ids.len()).sum();
    eprintln!(
        "[{:.0}s] {} train examples -> {} windows ({} tokens, {} positive); {} val windows",
        t0.elapsed().as_secs_f32(),
        train_ex.len(),
        tw.len(),
        tok_count,
        tw.iter().filter(|w| w.label > 0.5).count(),
        vw.len()
    );
    let mut last = Instant::now();
    let mut prog = |done: usize, total: usize| {
        if last.elapsed().as_secs() >= 20 || done == total {
            eprintln!("[{:.0}s] cache {done}/{total}", t0.elapsed().as_secs_f32());
            last = Instant::now();
        }
    };
    let tcache = compute_cache(&encoder, &tw, cfg.first_trained_layer, &device, &mut prog)?;
    let vcache = compute_cache(&encoder, &vw, cfg.first_trained_layer, &device, &mut prog)?;
    drop(encoder);
    let mut trainer = Trainer::new(&base_map, &bcfg, &cfg, &device)?;
    let mut last = Instant::now();
    let mut run_loss = 0f32;
    let mut n_loss = 0;
    trainer.fit(&tcache, &tw, &mut |epoch, step, total, loss| {
        run_loss += loss;
        n_loss += 1;
        if last.elapsed().as_secs() >= 30 || step == total {
            eprintln!(
                "[{:.0}s] epoch {epoch} step {step}/{total} loss {:.4}",
                t0.elapsed().as_secs_f32(),
                run_loss / n_loss as f32
            );
            run_loss = 0.0;
            n_loss = 0;
            last = Instant::now();
        }
    })?;
    let vlogits = trainer.logits(&vcache, vw.len())?;
    let vlabels: Vec<f32> = vw.iter().map(|w| w.label).collect();
    let before = window_stats(&vlogits, &vlabels, 1.0, 0.0);
    let (a, b) = platt(&vlogits, &vlabels);
    let after = window_stats(&vlogits, &vlabels, a, b);
    eprintln!(
        "val windows before calibration: {before}\nplatt a={a:.4} b={b:.4}\nval windows after: {after}"
    );
    trainer.fold_calibration(a, b)?;
    let mut meta = HashMap::new();
    meta.insert("format".into(), "vallum-injection-classifier/1".into());
    meta.insert("base_sha256".into(), basew.sha256.clone());
    meta.insert(
        "first_trained_layer".into(),
        cfg.first_trained_layer.to_string(),
    );
    meta.insert("train_config".into(), serde_json::to_string(&cfg)?);
    meta.insert("platt".into(), format!("{a} {b}"));
    if let Some(s) = args.0.get("dataset-sha256") {
        meta.insert("dataset_sha256".into(), s.clone());
    }
    trainer.save(&out, meta)?;
    let (_, sha) = weights::read_pinned(&out, None)?;
    eprintln!(
        "[{:.0}s] wrote {} sha256 {sha}",
        t0.elapsed().as_secs_f32(),
        out.display()
    );
    Ok(())
}

fn window_stats(logits: &[f32], labels: &[f32], a: f32, b: f32) -> String {
    let mut loss = 0f64;
    let (mut tp, mut fp, mut pos, mut neg) = (0, 0, 0, 0);
    for (&z, &y) in logits.iter().zip(labels) {
        let p = 1.0 / (1.0 + (-(a * z + b)).exp());
        let p = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
        loss -= f64::from(y) * p.ln() + f64::from(1.0 - y) * (1.0 - p).ln();
        if y > 0.5 {
            pos += 1;
            tp += usize::from(p >= 0.5);
        } else {
            neg += 1;
            fp += usize::from(p >= 0.5);
        }
    }
    format!(
        "n={} logloss={:.4} recall={:.4} fpr={:.4}",
        logits.len(),
        loss / logits.len().max(1) as f64,
        tp as f64 / f64::from(pos.max(1)),
        fp as f64 / f64::from(neg.max(1))
    )
}

/// Stages a model folder: symlinks to the base files plus the trained file.
fn stage(base: &Path, trained: &Path) -> Res<PathBuf> {
    let dir = std::env::temp_dir().join(format!("vallum-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for f in [BASE_WEIGHTS_FILE, TOKENIZER_FILE, CONFIG_FILE] {
        let _ = std::fs::remove_file(dir.join(f));
        std::os::unix::fs::symlink(std::fs::canonicalize(base.join(f))?, dir.join(f))?;
    }
    let _ = std::fs::remove_file(dir.join(TRAINED_WEIGHTS_FILE));
    std::os::unix::fs::symlink(
        std::fs::canonicalize(trained)?,
        dir.join(TRAINED_WEIGHTS_FILE),
    )?;
    Ok(dir)
}

fn auc(scores: &[(f32, bool)]) -> Option<f64> {
    let pos = scores.iter().filter(|s| s.1).count();
    let neg = scores.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut v = scores.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0.total_cmp(&v[i].0).is_eq() {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += avg * v[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    Some((rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64)
}

/// Loads the trained file in `--trained` next to the base files in `--base`.
fn load_for_eval(args: &Args, threads: usize) -> Res<(Classifier, PathBuf)> {
    let base = args.path("base")?;
    let trained = args.path("trained")?;
    let window: usize = args.get("window", vallum_classifier::DEFAULT_WINDOW_TOKENS)?;
    let stride: usize = args.get("stride", vallum_classifier::DEFAULT_STRIDE_TOKENS)?;
    let paragraphs: bool = args.get("paragraphs", true)?;
    let (_, sha) = weights::read_pinned(&trained, None)?;
    let pins = ModelPins {
        trained_weights: sha,
        ..ModelPins::builtin()
    };
    let dir = stage(&base, &trained)?;
    let opts = ClassifierOptions {
        device: vallum_classifier::Device::Cpu,
        threads: Some(threads),
        max_window_tokens: window,
        stride_tokens: stride,
        batch_size: 32,
        paragraphs,
        ..ClassifierOptions::default()
    };
    Ok((Classifier::load_with_pins(&dir, &pins, opts)?, dir))
}

fn windows(args: &Args, threads: usize) -> Res<()> {
    use std::io::Write;
    let file = args.path("file")?;
    let out = args.path("out")?;
    let limit: usize = args.get("limit", usize::MAX)?;
    let (clf, dir) = load_for_eval(args, threads)?;
    let mut ex = read_jsonl(&file)?;
    ex.truncate(limit);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out)?);
    for (ci, chunk) in ex.chunks(64).enumerate() {
        let texts: Vec<&str> = chunk.iter().map(|e| e.text.as_str()).collect();
        for (i, (e, ws)) in chunk.iter().zip(clf.score_batch(&texts)?).enumerate() {
            let wins: Vec<serde_json::Value> = ws
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "start": s.start, "end": s.end, "score": s.score,
                        "text": e.text.get(s.start..s.end).unwrap_or_default(),
                    })
                })
                .collect();
            let line = serde_json::json!({
                "index": ci * 64 + i, "label": e.label, "source": e.source, "windows": wins,
            });
            writeln!(w, "{line}")?;
        }
    }
    w.flush()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn eval(args: &Args, threads: usize) -> Res<()> {
    let data = args.path("data")?;
    let out = args.path("out")?;
    let window: usize = args.get("window", vallum_classifier::DEFAULT_WINDOW_TOKENS)?;
    let stride: usize = args.get("stride", vallum_classifier::DEFAULT_STRIDE_TOKENS)?;
    let max_long: usize = args.get("max-long-docs", usize::MAX)?;
    let (clf, dir) = load_for_eval(args, threads)?;
    let mut files: Vec<String> = match args.0.get("files") {
        Some(s) => s.split(',').map(str::to_owned).collect(),
        None => std::fs::read_dir(&data)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                n.starts_with("test") && Path::new(n).extension().is_some_and(|e| e == "jsonl")
            })
            .collect(),
    };
    files.sort();
    let thresholds = [0.5f32, 0.3, 0.7, 0.9];
    let mut report = BTreeMap::new();
    for f in &files {
        let mut ex = read_jsonl(&data.join(f))?;
        if f.contains("long") || f.contains("embedded") {
            ex.truncate(max_long);
        }
        let t0 = Instant::now();
        let texts: Vec<&str> = ex.iter().map(|e| e.text.as_str()).collect();
        let mut scores = Vec::with_capacity(ex.len());
        let mut span_hits = 0usize;
        let mut span_total = 0usize;
        for (chunk_ex, chunk) in ex.chunks(64).zip(texts.chunks(64)) {
            for (e, ws) in chunk_ex.iter().zip(clf.score_batch(chunk)?) {
                let best = ws
                    .iter()
                    .copied()
                    .max_by(|a, b| a.score.total_cmp(&b.score));
                let s = best.map_or(0.0, |w| w.score);
                if let (Some((a, b)), Some(w)) = (e.span, best) {
                    span_total += 1;
                    span_hits += usize::from(w.start < b && a < w.end && s >= 0.5);
                }
                scores.push((s, e.label == 1));
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        let pos = scores.iter().filter(|s| s.1).count();
        let neg = scores.len() - pos;
        let mut m = serde_json::Map::new();
        m.insert("n".into(), scores.len().into());
        m.insert("positives".into(), pos.into());
        for th in thresholds {
            let tp = scores.iter().filter(|s| s.1 && s.0 >= th).count();
            let fp = scores.iter().filter(|s| !s.1 && s.0 >= th).count();
            let mut t = serde_json::Map::new();
            if pos > 0 {
                t.insert("recall".into(), (tp as f64 / pos as f64).into());
            }
            if neg > 0 {
                t.insert("fpr".into(), (fp as f64 / neg as f64).into());
            }
            if pos > 0 && neg > 0 {
                let prec = tp as f64 / (tp + fp).max(1) as f64;
                let rec = tp as f64 / pos as f64;
                let acc = (tp + neg - fp) as f64 / scores.len() as f64;
                t.insert("precision".into(), prec.into());
                t.insert(
                    "f1".into(),
                    (2.0 * prec * rec / (prec + rec).max(1e-12)).into(),
                );
                t.insert("accuracy".into(), acc.into());
            }
            m.insert(format!("at_{th}"), t.into());
        }
        if let Some(a) = auc(&scores) {
            m.insert("auc".into(), a.into());
        }
        if span_total > 0 {
            m.insert(
                "span_hit_rate".into(),
                (span_hits as f64 / span_total as f64).into(),
            );
        }
        m.insert("seconds".into(), secs.into());
        eprintln!("{f:42} {}", serde_json::Value::Object(m.clone()));
        report.insert(f.clone(), serde_json::Value::Object(m));
    }
    let full = serde_json::json!({
        "model_sha256": clf.model_sha256(),
        "window_tokens": window,
        "stride_tokens": stride,
        "results": report,
    });
    std::fs::write(&out, serde_json::to_string_pretty(&full)? + "\n")?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
