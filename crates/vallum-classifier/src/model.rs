//! A BERT encoder with a sequence-classification head, written on candle.
//!
//! Our own forward pass (instead of `candle_transformers::models::bert`) so that
//! the same code serves inference (fused QKV projection, fused layer-norm and
//! softmax kernels) and partial fine-tuning (differentiable ops, lower layers
//! run once and cached, only the top layers trained).

#![allow(clippy::many_single_char_names)] // b, t, h, q, k, v: the usual tensor names

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::Linear;
use serde::Deserialize;

use crate::cpu::CpuEncoder;

/// The subset of a Hugging Face `config.json` for BERT that the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of the hidden states (384 for MiniLM-L6).
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Longest sequence the position embeddings cover.
    pub max_position_embeddings: usize,
    /// Epsilon of every layer norm.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Activation; only `"gelu"` (exact, erf-based) is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".to_owned()
}

/// Whether the forward pass must be differentiable (training) or may use fused kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fused, non-differentiable kernels.
    Infer,
    /// Differentiable ops only.
    Train,
}

#[derive(Debug, Clone)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        match mode {
            Mode::Infer if x.is_contiguous() && x.dtype() == DType::F32 => {
                candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32)
            }
            _ => {
                let dtype = x.dtype();
                let x = x.to_dtype(DType::F32)?;
                let mean = x.mean_keepdim(D::Minus1)?;
                let xc = x.broadcast_sub(&mean)?;
                let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
                let y = xc
                    .broadcast_div(&(var + self.eps)?.sqrt()?)?
                    .to_dtype(dtype)?;
                y.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Qkv {
    /// One `hidden -> 3*hidden` projection (inference).
    Fused(Linear),
    /// Three projections sharing storage with trainable variables.
    Split(Linear, Linear, Linear),
}

/// One transformer layer.
#[derive(Debug, Clone)]
pub struct Layer {
    qkv: Qkv,
    attn_out: Linear,
    ln1: LayerNorm,
    inter: Linear,
    out: Linear,
    ln2: LayerNorm,
    heads: usize,
}

/// Fetches named tensors (from safetensors files or trainable variables).
pub struct Weights<'a> {
    map: &'a HashMap<String, Tensor>,
    dtype: DType,
    device: &'a Device,
}

impl<'a> Weights<'a> {
    /// Wraps a name -> tensor map; tensors are moved to `device` and cast to `dtype`.
    pub fn new(map: &'a HashMap<String, Tensor>, dtype: DType, device: &'a Device) -> Self {
        Self { map, dtype, device }
    }

    /// The device tensors are moved to.
    pub fn device(&self) -> &Device {
        self.device
    }

    /// The dtype tensors are cast to.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Whether a tensor called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The tensor called `name`, on the target device and dtype.
    pub fn get(&self, name: &str) -> Result<Tensor> {
        let t = self
            .map
            .get(name)
            .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor `{name}`")))?;
        t.to_device(self.device)?.to_dtype(self.dtype)
    }

    fn linear(&self, prefix: &str) -> Result<Linear> {
        Ok(Linear::new(
            self.get(&format!("{prefix}.weight"))?,
            Some(self.get(&format!("{prefix}.bias"))?),
        ))
    }

    fn layer_norm(&self, prefix: &str, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: self.get(&format!("{prefix}.weight"))?,
            bias: self.get(&format!("{prefix}.bias"))?,
            eps,
        })
    }
}

/// Strips an optional `bert.` / `model.` prefix so both naming schemes load.
pub fn canonical_name(name: &str) -> &str {
    name.strip_prefix("bert.")
        .or_else(|| name.strip_prefix("model."))
        .unwrap_or(name)
}

impl Layer {
    /// Loads layer `i` (`encoder.layer.{i}.*`). `fused` concatenates Q, K and V.
    pub fn load(w: &Weights<'_>, cfg: &BertConfig, i: usize, fused: bool) -> Result<Self> {
        let p = format!("encoder.layer.{i}");
        let q = w.linear(&format!("{p}.attention.self.query"))?;
        let k = w.linear(&format!("{p}.attention.self.key"))?;
        let v = w.linear(&format!("{p}.attention.self.value"))?;
        let qkv = if fused {
            let weight = Tensor::cat(&[q.weight(), k.weight(), v.weight()], 0)?;
            let bias = Tensor::cat(
                &[q.bias().unwrap(), k.bias().unwrap(), v.bias().unwrap()],
                0,
            )?;
            Qkv::Fused(Linear::new(weight, Some(bias)))
        } else {
            Qkv::Split(q, k, v)
        };
        Ok(Self {
            qkv,
            attn_out: w.linear(&format!("{p}.attention.output.dense"))?,
            ln1: w.layer_norm(
                &format!("{p}.attention.output.LayerNorm"),
                cfg.layer_norm_eps,
            )?,
            inter: w.linear(&format!("{p}.intermediate.dense"))?,
            out: w.linear(&format!("{p}.output.dense"))?,
            ln2: w.layer_norm(&format!("{p}.output.LayerNorm"), cfg.layer_norm_eps)?,
            heads: cfg.num_attention_heads,
        })
    }

    /// `x`: (batch, seq, hidden); `mask_bias`: (batch, 1, 1, seq) with 0 for tokens and a
    /// large negative value for padding.
    pub fn forward(&self, x: &Tensor, mask_bias: &Tensor, mode: Mode) -> Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let dh = h / self.heads;
        let split = |y: Tensor| -> Result<Tensor> {
            y.reshape((b, t, self.heads, dh))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = match &self.qkv {
            Qkv::Fused(l) => {
                let y = l.forward(x)?.reshape((b, t, 3, self.heads, dh))?;
                let y = y.permute((2, 0, 3, 1, 4))?.contiguous()?;
                (y.get(0)?, y.get(1)?, y.get(2)?)
            }
            Qkv::Split(q, k, v) => (
                split(q.forward(x)?)?,
                split(k.forward(x)?)?,
                split(v.forward(x)?)?,
            ),
        };
        let scale = 1.0 / (dh as f64).sqrt();
        let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(mask_bias)?;
        let probs = match mode {
            Mode::Infer => candle_nn::ops::softmax_last_dim(&scores)?,
            Mode::Train => candle_nn::ops::softmax(&scores, D::Minus1)?,
        };
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        let x = self
            .ln1
            .forward(&(self.attn_out.forward(&ctx)? + x)?, mode)?;
        let y = self.inter.forward(&x)?.gelu_erf()?;
        let y = self.out.forward(&y)?;
        self.ln2.forward(&(y + x)?, mode)
    }
}

/// Token, position and type embeddings followed by a layer norm.
#[derive(Debug, Clone)]
pub struct Embeddings {
    word: Tensor,
    position: Tensor,
    token_type0: Tensor,
    ln: LayerNorm,
}

impl Embeddings {
    /// Loads `embeddings.*`.
    pub fn load(w: &Weights<'_>, cfg: &BertConfig) -> Result<Self> {
        Ok(Self {
            word: w.get("embeddings.word_embeddings.weight")?,
            position: w.get("embeddings.position_embeddings.weight")?,
            token_type0: w.get("embeddings.token_type_embeddings.weight")?.get(0)?,
            ln: w.layer_norm("embeddings.LayerNorm", cfg.layer_norm_eps)?,
        })
    }

    /// `ids`: (batch, seq) u32 -> (batch, seq, hidden).
    pub fn forward(&self, ids: &Tensor, mode: Mode) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let h = self.word.dim(1)?;
        let x = self
            .word
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, h))?;
        let pos = self
            .position
            .narrow(0, 0, t)?
            .broadcast_add(&self.token_type0)?;
        let x = x.broadcast_add(&pos)?;
        self.ln.forward(&x, mode)
    }
}

/// Turns a (batch, seq) 0/1 mask into the additive attention bias (batch, 1, 1, seq).
pub fn mask_bias(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let (b, t) = mask.dims2()?;
    let m = mask.to_dtype(DType::F32)?;
    // 0 where attended, -1e4 (safe in f16 too) where padded.
    let bias = ((m - 1.0)? * 1e4)?;
    bias.reshape((b, 1, 1, t))?.to_dtype(dtype)
}

/// Masked mean over the sequence: (batch, seq, hidden), (batch, seq) -> (batch, hidden).
pub fn mean_pool(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(x.dtype())?.unsqueeze(2)?;
    let sum = x.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    sum.broadcast_div(&count)
}

/// The BERT encoder followed by mean pooling and a one-logit linear head.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// Model configuration.
    pub config: BertConfig,
    imp: Imp,
}

#[derive(Debug, Clone)]
enum Imp {
    /// candle tensor ops: any device and dtype.
    Candle {
        embeddings: Embeddings,
        layers: Vec<Layer>,
        /// `classifier.weight` (1, hidden) and `classifier.bias` (1), if loaded.
        head: Option<Linear>,
    },
    /// The fused f32 CPU kernels of `src/cpu.rs`.
    Cpu(Arc<CpuEncoder>),
}

impl Encoder {
    /// Loads the whole encoder (and the head when `classifier.weight` is present). `fused`
    /// asks for the inference form: on the CPU in f32 that is the fused kernels of
    /// `src/cpu.rs`, elsewhere candle ops with one QKV projection.
    pub fn load(w: &Weights<'_>, cfg: &BertConfig, fused: bool) -> Result<Self> {
        if cfg.hidden_act != "gelu" {
            candle_core::bail!("unsupported activation `{}` (only gelu)", cfg.hidden_act);
        }
        let imp = if fused && crate::cpu::applies(w) {
            Imp::Cpu(Arc::new(CpuEncoder::load(w, cfg)?))
        } else {
            let layers = (0..cfg.num_hidden_layers)
                .map(|i| Layer::load(w, cfg, i, fused))
                .collect::<Result<Vec<_>>>()?;
            let head = if w.contains("classifier.weight") {
                Some(w.linear("classifier")?)
            } else {
                None
            };
            Imp::Candle {
                embeddings: Embeddings::load(w, cfg)?,
                layers,
                head,
            }
        };
        Ok(Self {
            config: cfg.clone(),
            imp,
        })
    }

    /// Runs embeddings and layers `0..upto`: (batch, seq) ids -> hidden states. With the
    /// fused CPU kernels, padded positions come back as zeros (they are never computed).
    pub fn hidden_states(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        upto: usize,
        mode: Mode,
    ) -> Result<Tensor> {
        match &self.imp {
            Imp::Candle {
                embeddings, layers, ..
            } => {
                let x = embeddings.forward(ids, mode)?;
                let bias = mask_bias(mask, x.dtype())?;
                layers[..upto]
                    .iter()
                    .try_fold(x, |x, l| l.forward(&x, &bias, mode))
            }
            Imp::Cpu(cpu) => {
                let (b, t) = ids.dims2()?;
                let rows = unpadded(ids, mask)?;
                let seqs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
                let packed = cpu.hidden_states(&seqs, upto)?;
                let h = self.config.hidden_size;
                let mut out = vec![0f32; b * t * h];
                for (i, r) in packed.starts.windows(2).enumerate() {
                    out[i * t * h..][..(r[1] - r[0]) * h]
                        .copy_from_slice(&packed.values[r[0] * h..r[1] * h]);
                }
                Tensor::from_vec(out, (b, t, h), ids.device())
            }
        }
    }

    /// Mean-pooled sentence embeddings (the sentence-transformers output, unnormalised).
    pub fn embed(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        match &self.imp {
            Imp::Candle { layers, .. } => {
                let h = self.hidden_states(ids, mask, layers.len(), Mode::Infer)?;
                mean_pool(&h, mask)
            }
            Imp::Cpu(cpu) => {
                let rows = unpadded(ids, mask)?;
                let seqs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
                let pooled = cpu.embed(&seqs)?;
                let h = self.config.hidden_size;
                Tensor::from_vec(pooled.concat(), (seqs.len(), h), ids.device())
            }
        }
    }

    /// One logit per sequence: (batch,) f32.
    pub fn logits(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        match &self.imp {
            Imp::Candle { head, .. } => {
                let head = head.as_ref().ok_or_else(|| {
                    candle_core::Error::Msg("model has no classifier head".into())
                })?;
                let pooled = self.embed(ids, mask)?;
                head.forward(&pooled)?.squeeze(1)?.to_dtype(DType::F32)
            }
            Imp::Cpu(cpu) => {
                let rows = unpadded(ids, mask)?;
                let seqs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
                Tensor::new(cpu.logits(&seqs)?, ids.device())
            }
        }
    }

    /// One logit per token sequence, padding and batching them as the implementation needs.
    pub fn logits_of(&self, seqs: &[&[u32]], device: &Device) -> Result<Vec<f32>> {
        match &self.imp {
            Imp::Cpu(cpu) => cpu.logits(seqs),
            Imp::Candle { .. } => {
                let (ids, mask) = crate::pad_batch(seqs, device)?;
                self.logits(&ids, &mask)?.to_vec1::<f32>()
            }
        }
    }
}

/// The token rows of a right-padded (batch, seq) batch, without their padding.
fn unpadded(ids: &Tensor, mask: &Tensor) -> Result<Vec<Vec<u32>>> {
    let ids = ids.to_dtype(DType::U32)?.to_vec2::<u32>()?;
    let mask = mask.to_dtype(DType::U32)?.to_vec2::<u32>()?;
    ids.into_iter()
        .zip(mask)
        .map(|(mut row, m)| {
            let len = m.iter().take_while(|&&v| v != 0).count();
            if m[len..].iter().any(|&v| v != 0) {
                candle_core::bail!("the attention mask must be a run of ones then padding");
            }
            row.truncate(len);
            Ok(row)
        })
        .collect()
}

/// The trainable top of the network: layers `first..` plus the head, run on cached inputs.
pub struct Top {
    layers: Vec<Layer>,
    head: Linear,
}

impl Top {
    /// Builds the top from `w`, which must hold layers `first..n_layers` and `classifier.*`.
    pub fn load(w: &Weights<'_>, cfg: &BertConfig, first: usize) -> Result<Self> {
        let layers = (first..cfg.num_hidden_layers)
            .map(|i| Layer::load(w, cfg, i, false))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            layers,
            head: w.linear("classifier")?,
        })
    }

    /// Cached hidden states (batch, seq, hidden) -> one logit per sequence. `dropout`, when
    /// given, is a (batch, hidden) multiplicative mask applied to the pooled vector.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, dropout: Option<&Tensor>) -> Result<Tensor> {
        let bias = mask_bias(mask, x.dtype())?;
        let h = self
            .layers
            .iter()
            .try_fold(x.clone(), |x, l| l.forward(&x, &bias, Mode::Train))?;
        let mut pooled = mean_pool(&h, mask)?;
        if let Some(d) = dropout {
            pooled = (pooled * d)?;
        }
        self.head.forward(&pooled)?.squeeze(1)
    }
}
