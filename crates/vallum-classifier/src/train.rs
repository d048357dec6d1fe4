//! Training: partial fine-tuning of the top encoder layers plus a linear head, in candle.
//!
//! The lower `first_trained_layer` layers stay frozen. Their output for every training
//! window is computed once and cached (f16), so each epoch only runs the top layers
//! forward and backward. AdamW, linear warm-up then linear decay, dropout on the pooled
//! vector, a fixed seed for shuffling, dropout and the head's initialisation.
//! After training, Platt scaling fitted on the validation windows is folded into the
//! head so that `sigmoid(logit)` is a calibrated probability.

#![allow(clippy::many_single_char_names)] // a, b, z, p, w: the usual math names

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::model::{BertConfig, Encoder, Mode, Top, Weights, canonical_name};
use crate::windows::plan_windows;

/// One labelled example (a line of the JSONL files `prepare_data.py` writes).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Example {
    /// The text.
    pub text: String,
    /// 1 = injection, 0 = benign.
    pub label: u8,
    /// Where it came from.
    #[serde(default)]
    pub source: String,
    /// Byte span of the injected part of an otherwise benign document.
    #[serde(default)]
    pub span: Option<(usize, usize)>,
    /// Weight of this example's windows in the loss (hard negatives get more than 1).
    #[serde(default = "unit_weight", skip_serializing_if = "is_unit_weight")]
    pub weight: f32,
}

fn unit_weight() -> f32 {
    1.0
}

#[allow(clippy::trivially_copy_pass_by_ref, clippy::float_cmp)] // serde's signature; exact 1.0
fn is_unit_weight(w: &f32) -> bool {
    *w == 1.0
}

/// Reads a JSONL file of [`Example`]s.
pub fn read_jsonl(path: &Path) -> std::io::Result<Vec<Example>> {
    let f = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut v = Vec::new();
    for line in f.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        v.push(serde_json::from_str(&line).map_err(std::io::Error::other)?);
    }
    Ok(v)
}

/// Training hyper-parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Layers `first_trained_layer..` are trained; lower ones are frozen and cached.
    pub first_trained_layer: usize,
    /// Training window length in tokens (special tokens included).
    pub window_tokens: usize,
    /// Overlap of training windows over long texts.
    pub overlap_tokens: usize,
    /// Epochs over the training windows.
    pub epochs: usize,
    /// Windows per step.
    pub batch_size: usize,
    /// Peak learning rate of the encoder layers.
    pub lr: f64,
    /// Peak learning rate of the freshly initialised head.
    pub head_lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Fraction of steps spent warming up.
    pub warmup: f64,
    /// Dropout on the pooled vector.
    pub dropout: f32,
    /// Weight of positive windows in the loss.
    pub pos_weight: f32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Cap on the windows any one example contributes (long documents).
    pub max_windows_per_example: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            first_trained_layer: 4,
            window_tokens: 128,
            overlap_tokens: 32,
            epochs: 3,
            batch_size: 32,
            lr: 1e-4,
            head_lr: 1e-3,
            weight_decay: 0.01,
            warmup: 0.06,
            dropout: 0.1,
            pos_weight: 1.0,
            seed: 20_240_611,
            max_windows_per_example: 24,
        }
    }
}

/// SplitMix64: small, seedable, reproducible everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.next_f32().max(1e-7);
        let u2 = self.next_f32();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// A training window: token ids with specials, its label and which example it came from.
#[derive(Debug, Clone)]
pub struct TrainWindow {
    /// `[CLS] ... [SEP]`.
    pub ids: Vec<u32>,
    /// 0 or 1.
    pub label: f32,
    /// Index of its example.
    pub example: usize,
    /// Loss weight (the example's `weight`).
    pub weight: f32,
}

/// Cuts examples into labelled windows. For a document with an embedded injection
/// (`span`), windows holding at least half of the injection's tokens (or 32 of them) are
/// positive, windows holding none are negative, and the ambiguous rest is skipped.
pub fn make_windows(
    tok: &Tokenizer,
    examples: &[Example],
    cfg: &TrainConfig,
) -> Result<Vec<TrainWindow>, String> {
    let cls = tok.token_to_id("[CLS]").ok_or("no [CLS]")?;
    let sep = tok.token_to_id("[SEP]").ok_or("no [SEP]")?;
    let content = cfg.window_tokens - 2;
    let mut out = Vec::new();
    let encs = tok
        .encode_batch(
            examples.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(),
            false,
        )
        .map_err(|e| e.to_string())?;
    for (i, (ex, enc)) in examples.iter().zip(encs).enumerate() {
        let offs = enc.get_offsets();
        let ids = enc.get_ids();
        let plan = plan_windows(offs, &ex.text, content, cfg.overlap_tokens);
        let span_tokens: Vec<usize> = match ex.span {
            Some((s, e)) => (0..offs.len())
                .filter(|&t| offs[t].0 >= s && offs[t].1 <= e)
                .collect(),
            None => Vec::new(),
        };
        let mut ws = Vec::new();
        for w in plan {
            let label = if ex.span.is_some() {
                let inside = span_tokens.iter().filter(|t| w.tokens.contains(t)).count();
                if inside == 0 {
                    0.0
                } else if inside * 2 >= span_tokens.len() || inside >= 32 {
                    1.0
                } else {
                    continue;
                }
            } else {
                f32::from(ex.label)
            };
            let mut seq = Vec::with_capacity(w.tokens.len() + 2);
            seq.push(cls);
            seq.extend_from_slice(&ids[w.tokens.clone()]);
            seq.push(sep);
            ws.push(TrainWindow {
                ids: seq,
                label,
                example: i,
                weight: if ex.weight.is_finite() && ex.weight > 0.0 {
                    ex.weight
                } else {
                    1.0
                },
            });
        }
        if ws.len() > cfg.max_windows_per_example {
            // Keep every positive window of span documents, sample the rest evenly.
            let (pos, neg): (Vec<_>, Vec<_>) = ws
                .into_iter()
                .partition(|w| w.label > 0.5 && ex.span.is_some());
            let keep = cfg.max_windows_per_example.saturating_sub(pos.len()).max(1);
            let stride = neg.len().div_ceil(keep).max(1);
            ws = pos
                .into_iter()
                .chain(neg.into_iter().step_by(stride))
                .collect();
        }
        out.extend(ws);
    }
    Ok(out)
}

/// Frozen-layer outputs for a set of windows, stored in f16 on the CPU.
pub struct Cache {
    /// (seq, hidden) per window.
    pub hidden: Vec<Tensor>,
}

/// Runs embeddings and layers `0..upto` over every window once (batched by length).
pub fn compute_cache(
    enc: &Encoder,
    windows: &[TrainWindow],
    upto: usize,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> candle_core::Result<Cache> {
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.sort_by_key(|&i| windows[i].ids.len());
    let mut hidden: Vec<Option<Tensor>> = vec![None; windows.len()];
    let mut done = 0;
    let mut i = 0;
    while i < order.len() {
        // Token budget per batch: ~4096 tokens.
        let len = windows[order[i]].ids.len();
        let n = (4096 / len.max(1)).clamp(1, 64);
        let idx = &order[i..(i + n).min(order.len())];
        let seqs: Vec<&[u32]> = idx.iter().map(|&j| windows[j].ids.as_slice()).collect();
        let (ids, mask) = crate::pad_batch(&seqs, device)?;
        let h = enc
            .hidden_states(&ids, &mask, upto, Mode::Infer)?
            .to_device(&Device::Cpu)?;
        for (row, &j) in idx.iter().enumerate() {
            let l = windows[j].ids.len();
            // `to_dtype` on the narrowed view allocates just this window (a `copy` or
            // `contiguous` would keep the whole batch's storage alive).
            hidden[j] = Some(h.get(row)?.narrow(0, 0, l)?.to_dtype(DType::F16)?);
        }
        done += idx.len();
        progress(done, windows.len());
        i += idx.len();
    }
    Ok(Cache {
        hidden: hidden.into_iter().map(Option::unwrap).collect(),
    })
}

/// Batches of window indices with similar lengths, in a seeded random order.
pub fn length_batches(windows: &[TrainWindow], batch: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..windows.len()).collect();
    rng.shuffle(&mut idx);
    // Sort within chunks of 50 batches so batches are length-homogeneous but still mixed.
    let mut batches = Vec::new();
    for chunk in idx.chunks_mut(batch * 50) {
        chunk.sort_by_key(|&i| windows[i].ids.len());
        batches.extend(chunk.chunks(batch).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

fn stack_cached(
    cache: &Cache,
    idx: &[usize],
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let t = idx
        .iter()
        .map(|&i| cache.hidden[i].dim(0).unwrap_or(0))
        .max()
        .unwrap_or(1);
    let h = cache.hidden[idx[0]].dim(1)?;
    let mut rows = Vec::with_capacity(idx.len());
    let mut mask = vec![0u32; idx.len() * t];
    for (r, &i) in idx.iter().enumerate() {
        let x = &cache.hidden[i];
        let l = x.dim(0)?;
        mask[r * t..r * t + l].fill(1);
        rows.push(if l < t {
            x.pad_with_zeros(0, 0, t - l)?
        } else {
            x.clone()
        });
    }
    let x = Tensor::stack(&rows, 0)?
        .to_device(device)?
        .to_dtype(DType::F32)?;
    let _ = h;
    Ok((x, Tensor::from_vec(mask, (idx.len(), t), device)?))
}

/// Numerically stable weighted binary cross-entropy on logits.
fn bce(logits: &Tensor, labels: &Tensor, weights: &Tensor) -> candle_core::Result<Tensor> {
    let l =
        ((logits.relu()? - (logits * labels)?)? + ((logits.abs()?.neg()?.exp()? + 1.0)?.log()?))?;
    (l * weights)?.sum_all()? / f64::from(weights.sum_all()?.to_scalar::<f32>()?)
}

/// The trainable tensors and their optimiser state.
pub struct Trainer {
    /// Name -> variable, for every trained tensor.
    pub vars: HashMap<String, Var>,
    top: Top,
    cfg: TrainConfig,
    opt_layers: AdamW,
    opt_head: AdamW,
    device: Device,
}

impl Trainer {
    /// Copies layers `first_trained_layer..` from the base tensors into variables and
    /// initialises the head (normal, std 0.02, fixed seed).
    pub fn new(
        base: &HashMap<String, Tensor>,
        bcfg: &BertConfig,
        cfg: &TrainConfig,
        device: &Device,
    ) -> candle_core::Result<Self> {
        let mut vars = HashMap::new();
        let mut layer_vars = Vec::new();
        for (name, t) in base {
            let name = canonical_name(name);
            let trained = (cfg.first_trained_layer..bcfg.num_hidden_layers)
                .any(|i| name.starts_with(&format!("encoder.layer.{i}.")));
            if trained {
                let v = Var::from_tensor(&t.to_dtype(DType::F32)?.to_device(device)?)?;
                layer_vars.push(v.clone());
                vars.insert(name.to_owned(), v);
            }
        }
        let mut rng = Rng::new(cfg.seed ^ 0x4845_4144);
        let h = bcfg.hidden_size;
        let w: Vec<f32> = (0..h).map(|_| rng.normal() * 0.02).collect();
        let hw = Var::from_tensor(&Tensor::from_vec(w, (1, h), device)?)?;
        let hb = Var::from_tensor(&Tensor::zeros(1, DType::F32, device)?)?;
        vars.insert("classifier.weight".into(), hw.clone());
        vars.insert("classifier.bias".into(), hb.clone());
        let map: HashMap<String, Tensor> = vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        let top = Top::load(
            &Weights::new(&map, DType::F32, device),
            bcfg,
            cfg.first_trained_layer,
        )?;
        let p = |lr| ParamsAdamW {
            lr,
            weight_decay: cfg.weight_decay,
            ..ParamsAdamW::default()
        };
        Ok(Self {
            vars,
            top,
            cfg: cfg.clone(),
            opt_layers: AdamW::new(layer_vars, p(cfg.lr))?,
            opt_head: AdamW::new(vec![hw, hb], p(cfg.head_lr))?,
            device: device.clone(),
        })
    }

    /// One optimisation step on a batch of cached windows; returns the loss.
    pub fn step(
        &mut self,
        cache: &Cache,
        windows: &[TrainWindow],
        idx: &[usize],
        lr_scale: f64,
        rng: &mut Rng,
    ) -> candle_core::Result<f32> {
        let (x, mask) = stack_cached(cache, idx, &self.device)?;
        let h = x.dim(2)?;
        let keep = 1.0 - self.cfg.dropout;
        let drop: Vec<f32> = (0..idx.len() * h)
            .map(|_| {
                if rng.next_f32() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect();
        let drop = Tensor::from_vec(drop, (idx.len(), h), &self.device)?;
        let labels: Vec<f32> = idx.iter().map(|&i| windows[i].label).collect();
        let weights: Vec<f32> = idx
            .iter()
            .zip(&labels)
            .map(|(&i, &l)| windows[i].weight * if l > 0.5 { self.cfg.pos_weight } else { 1.0 })
            .collect();
        let labels = Tensor::from_vec(labels, idx.len(), &self.device)?;
        let weights = Tensor::from_vec(weights, idx.len(), &self.device)?;
        let logits = self.top.forward(&x, &mask, Some(&drop))?;
        let loss = bce(&logits, &labels, &weights)?;
        let grads = loss.backward()?;
        self.opt_layers.set_learning_rate(self.cfg.lr * lr_scale);
        self.opt_head.set_learning_rate(self.cfg.head_lr * lr_scale);
        self.opt_layers.step(&grads)?;
        self.opt_head.step(&grads)?;
        loss.to_scalar::<f32>()
    }

    /// Logits of cached windows (no dropout), batched.
    pub fn logits(&self, cache: &Cache, n: usize) -> candle_core::Result<Vec<f32>> {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| cache.hidden[i].dim(0).unwrap_or(0));
        let mut out = vec![0f32; n];
        for idx in order.chunks(64) {
            let (x, mask) = stack_cached(cache, idx, &self.device)?;
            let l = self.top.forward(&x, &mask, None)?.to_vec1::<f32>()?;
            for (&i, v) in idx.iter().zip(l) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Trains for `cfg.epochs`, calling `log` with (epoch, step, steps, loss).
    pub fn fit(
        &mut self,
        cache: &Cache,
        windows: &[TrainWindow],
        log: &mut dyn FnMut(usize, usize, usize, f32),
    ) -> candle_core::Result<()> {
        let mut rng = Rng::new(self.cfg.seed);
        let per_epoch = windows.len().div_ceil(self.cfg.batch_size);
        let total = (per_epoch * self.cfg.epochs).max(1);
        let warm = ((total as f64) * self.cfg.warmup).max(1.0);
        let mut step = 0usize;
        for epoch in 0..self.cfg.epochs {
            for b in length_batches(windows, self.cfg.batch_size, &mut rng) {
                let s = step as f64;
                let scale = if s < warm {
                    (s + 1.0) / warm
                } else {
                    ((total as f64 - s) / (total as f64 - warm)).max(0.0)
                };
                let loss = self.step(cache, windows, &b, scale, &mut rng)?;
                step += 1;
                log(epoch, step, total, loss);
            }
        }
        Ok(())
    }

    /// Folds `p = sigmoid(a * logit + b)` into the head.
    pub fn fold_calibration(&mut self, a: f32, b: f32) -> candle_core::Result<()> {
        let w = &self.vars["classifier.weight"];
        w.set(&(w.as_tensor() * f64::from(a))?)?;
        let bias = &self.vars["classifier.bias"];
        bias.set(&((bias.as_tensor() * f64::from(a))? + f64::from(b))?)?;
        Ok(())
    }

    /// Writes the trained tensors (layers in f16, head in f32) with `metadata`.
    pub fn save(&self, path: &Path, metadata: HashMap<String, String>) -> Result<(), String> {
        let mut out: Vec<(String, Tensor)> = Vec::new();
        for (k, v) in &self.vars {
            let t = v
                .as_tensor()
                .to_device(&Device::Cpu)
                .map_err(|e| e.to_string())?;
            let t = if k.starts_with("classifier.") {
                t
            } else {
                t.to_dtype(DType::F16).map_err(|e| e.to_string())?
            };
            out.push((k.clone(), t));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        safetensors::serialize_to_file(
            out.iter().map(|(k, t)| (k.as_str(), t)),
            Some(metadata),
            path,
        )
        .map_err(|e| e.to_string())
    }
}

/// Fits Platt scaling `sigmoid(a * z + b)` to logits and 0/1 labels (Newton's method).
pub fn platt(logits: &[f32], labels: &[f32]) -> (f32, f32) {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-6, 0.0, 1e-6);
        for (&z, &y) in logits.iter().zip(labels) {
            let z = f64::from(z);
            let p = 1.0 / (1.0 + (-(a * z + b)).exp());
            let d = p - f64::from(y);
            ga += d * z;
            gb += d;
            let w = p * (1.0 - p);
            haa += w * z * z;
            hab += w * z;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-9 && db.abs() < 1e-9 {
            break;
        }
    }
    (a as f32, b as f32)
}
