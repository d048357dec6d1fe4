//! The encoder's inference pass on the CPU, in f32, with fused kernels.
//!
//! candle runs a BERT layer as a dozen separate tensor ops, each allocating and filling a fresh
//! tensor (bias adds, head split and merge copies, mask add, scaling, residual adds), and its
//! element-wise ops run on a thread pool of their own whatever thread count the caller set.
//! This module does the same arithmetic in fewer passes over packed token rows:
//!
//! * every sequence keeps only its real tokens (no padding is computed), and the linear layers
//!   run over the rows of all sequences at once, with the bias written into the output first
//!   and the product accumulated onto it by the `gemm` crate (the kernels candle itself uses);
//! * attention reads Q, K and V in place from the fused QKV rows, per sequence and head;
//! * bias + GELU, and residual + layer norm, are one pass each.
//!
//! Matrix products run on the rayon pool the call is in (the classifier's own pool when
//! [`crate::ClassifierOptions::threads`] is set), so the thread count is honoured.
//! The parity test checks this path against an independent numpy implementation.

// The small math helpers are `#[inline(always)]` so that each multiversioned kernel inlines
// them and compiles them with its own target features.
#![allow(clippy::inline_always)]

use candle_core::{DType, Device, Result, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use crate::model::{BertConfig, Weights};

/// Defines an in-place kernel whose body is compiled three times, for AVX-512F, for AVX2 with
/// FMA and for the baseline, and runs the best one the CPU has (`is_x86_feature_detected!`
/// caches its answer). The element-wise loops below are written so that they vectorise.
macro_rules! multiversion {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn imp($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) {
                    imp($($arg),*);
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    imp($($arg),*);
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked just above.
                    #[allow(unsafe_code)]
                    unsafe {
                        avx512($($arg),*);
                    }
                    return;
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    #[allow(unsafe_code)]
                    unsafe {
                        avx2($($arg),*);
                    }
                    return;
                }
            }
            imp($($arg),*);
        }
    };
}

/// One transformer layer's weights. Matrices are stored transposed from PyTorch's
/// `[out][in]` to `[in][out]`: the product then reads them in the layout its kernels want
/// and does not repack the weights on every call (which dominated short inputs).
struct CpuLayer {
    qkv_w: Vec<f32>,
    qkv_b: Vec<f32>,
    attn_out_w: Vec<f32>,
    attn_out_b: Vec<f32>,
    ln1: (Vec<f32>, Vec<f32>),
    inter_w: Vec<f32>,
    inter_b: Vec<f32>,
    out_w: Vec<f32>,
    out_b: Vec<f32>,
    ln2: (Vec<f32>, Vec<f32>),
}

/// The whole encoder (embeddings, layers, optional head) as plain f32 buffers.
pub(crate) struct CpuEncoder {
    hidden: usize,
    heads: usize,
    intermediate: usize,
    eps: f32,
    vocab: usize,
    max_positions: usize,
    word: Vec<f32>,
    /// Position embeddings with the token-type-0 embedding already added.
    position: Vec<f32>,
    embed_ln: (Vec<f32>, Vec<f32>),
    layers: Vec<CpuLayer>,
    head: Option<(Vec<f32>, f32)>,
}

impl std::fmt::Debug for CpuEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuEncoder")
            .field("layers", &self.layers.len())
            .field("hidden", &self.hidden)
            .finish_non_exhaustive()
    }
}

fn flat(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

/// Token rows of several sequences packed one after another: sequence `i` owns rows
/// `starts[i]..starts[i + 1]`.
pub(crate) struct Packed {
    /// `rows × hidden` values.
    pub values: Vec<f32>,
    /// Row offsets, one more than there are sequences.
    pub starts: Vec<usize>,
}

impl CpuEncoder {
    /// Copies the weights out of `w` (which must be an f32 CPU view).
    pub(crate) fn load(w: &Weights<'_>, cfg: &BertConfig) -> Result<Self> {
        let get = |name: &str| -> Result<Vec<f32>> { flat(&w.get(name)?) };
        let ln = |p: &str| -> Result<(Vec<f32>, Vec<f32>)> {
            Ok((get(&format!("{p}.weight"))?, get(&format!("{p}.bias"))?))
        };
        let h = cfg.hidden_size;
        if cfg.num_attention_heads == 0 || !h.is_multiple_of(cfg.num_attention_heads) {
            candle_core::bail!(
                "hidden size {h} is not a multiple of {} heads",
                cfg.num_attention_heads
            );
        }
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let mut qkv_w = Vec::with_capacity(3 * h * h);
            let mut qkv_b = Vec::with_capacity(3 * h);
            for part in ["query", "key", "value"] {
                qkv_w.extend(get(&format!("{p}.attention.self.{part}.weight"))?);
                qkv_b.extend(get(&format!("{p}.attention.self.{part}.bias"))?);
            }
            let i_sz = cfg.intermediate_size;
            let layer = CpuLayer {
                qkv_w: panels(&qkv_w, 3 * h, h)?,
                qkv_b,
                attn_out_w: panels(&get(&format!("{p}.attention.output.dense.weight"))?, h, h)?,
                attn_out_b: get(&format!("{p}.attention.output.dense.bias"))?,
                ln1: ln(&format!("{p}.attention.output.LayerNorm"))?,
                inter_w: panels(&get(&format!("{p}.intermediate.dense.weight"))?, i_sz, h)?,
                inter_b: get(&format!("{p}.intermediate.dense.bias"))?,
                out_w: panels(&get(&format!("{p}.output.dense.weight"))?, h, i_sz)?,
                out_b: get(&format!("{p}.output.dense.bias"))?,
                ln2: ln(&format!("{p}.output.LayerNorm"))?,
            };
            let sizes = [
                (layer.qkv_w.len(), 3 * h * h),
                (layer.qkv_b.len(), 3 * h),
                (layer.attn_out_w.len(), h * h),
                (layer.attn_out_b.len(), h),
                (layer.ln1.0.len(), h),
                (layer.ln1.1.len(), h),
                (layer.inter_w.len(), i_sz * h),
                (layer.inter_b.len(), i_sz),
                (layer.out_w.len(), h * i_sz),
                (layer.out_b.len(), h),
                (layer.ln2.0.len(), h),
                (layer.ln2.1.len(), h),
            ];
            if let Some((got, want)) = sizes.iter().find(|(g, w)| g != w) {
                candle_core::bail!("layer {i}: a tensor has {got} values, expected {want}");
            }
            layers.push(layer);
        }
        let word = get("embeddings.word_embeddings.weight")?;
        let mut position = get("embeddings.position_embeddings.weight")?;
        let token_type0 = w.get("embeddings.token_type_embeddings.weight")?.get(0)?;
        let token_type0 = flat(&token_type0)?;
        if word.len() != cfg.vocab_size * h
            || position.len() != cfg.max_position_embeddings * h
            || token_type0.len() != h
        {
            candle_core::bail!("embedding tensors do not match the configuration");
        }
        for row in position.chunks_exact_mut(h) {
            for (p, t) in row.iter_mut().zip(&token_type0) {
                *p += t;
            }
        }
        let head = if w.contains("classifier.weight") {
            let weight = get("classifier.weight")?;
            let bias = get("classifier.bias")?;
            if weight.len() != h || bias.len() != 1 {
                candle_core::bail!("the classifier head must be 1×{h} with one bias");
            }
            Some((weight, bias[0]))
        } else {
            None
        };
        Ok(Self {
            hidden: h,
            heads: cfg.num_attention_heads,
            intermediate: cfg.intermediate_size,
            eps: cfg.layer_norm_eps as f32,
            vocab: cfg.vocab_size,
            max_positions: cfg.max_position_embeddings,
            word,
            position,
            embed_ln: ln("embeddings.LayerNorm")?,
            layers,
            head,
        })
    }

    /// Runs the embeddings and layers `0..upto` over every sequence.
    pub(crate) fn hidden_states(&self, seqs: &[&[u32]], upto: usize) -> Result<Packed> {
        let h = self.hidden;
        let mut starts = Vec::with_capacity(seqs.len() + 1);
        starts.push(0);
        for s in seqs {
            if s.len() > self.max_positions {
                candle_core::bail!(
                    "a sequence of {} tokens is longer than the model's {} positions",
                    s.len(),
                    self.max_positions
                );
            }
            if let Some(&id) = s.iter().find(|&&id| id as usize >= self.vocab) {
                candle_core::bail!("token id {id} is outside the vocabulary of {}", self.vocab);
            }
            starts.push(starts.last().copied().unwrap_or(0) + s.len());
        }
        let rows = starts.last().copied().unwrap_or(0);
        let mut x = Vec::with_capacity(rows * h);
        for s in seqs {
            for (pos, &id) in s.iter().enumerate() {
                let word = &self.word[id as usize * h..][..h];
                let position = &self.position[pos * h..][..h];
                x.extend(word.iter().zip(position).map(|(a, b)| a + b));
            }
        }
        layer_norm_rows(&mut x, h, &self.embed_ln, self.eps);
        let mut packed = Packed { values: x, starts };
        for layer in &self.layers[..upto.min(self.layers.len())] {
            self.layer(layer, &mut packed);
        }
        Ok(packed)
    }

    /// Mean-pooled sentence embeddings, `hidden` values per sequence.
    pub(crate) fn embed(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden;
        let packed = self.hidden_states(seqs, self.layers.len())?;
        Ok(packed
            .starts
            .windows(2)
            .map(|r| {
                let mut sum = vec![0f32; h];
                for row in packed.values[r[0] * h..r[1] * h].chunks_exact(h) {
                    for (s, v) in sum.iter_mut().zip(row) {
                        *s += v;
                    }
                }
                // An empty sequence pools to zeros, as the masked mean does.
                let n = (r[1] - r[0]).max(1) as f32;
                for s in &mut sum {
                    *s /= n;
                }
                sum
            })
            .collect())
    }

    /// One logit per sequence.
    pub(crate) fn logits(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        let Some((w, b)) = &self.head else {
            candle_core::bail!("model has no classifier head")
        };
        Ok(self
            .embed(seqs)?
            .iter()
            .map(|e| e.iter().zip(w).map(|(x, w)| x * w).sum::<f32>() + b)
            .collect())
    }

    /// One transformer layer over packed rows; the residual stream is updated in place.
    fn layer(&self, l: &CpuLayer, x: &mut Packed) {
        let h = self.hidden;
        let rows = x.values.len() / h;
        // Q, K and V of every token, bias included.
        let mut qkv = rows_of(&l.qkv_b, rows);
        linear_acc(&x.values, rows, h, &l.qkv_w, 3 * h, &mut qkv);
        let ctx = self.attention(&qkv, &x.starts);
        drop(qkv);
        // Residual + bias, the attention output projection accumulated on top, layer norm.
        let y = &mut x.values;
        add_bias_rows(y, &l.attn_out_b);
        linear_acc(&ctx, rows, h, &l.attn_out_w, h, y);
        layer_norm_rows(y, h, &l.ln1, self.eps);
        let mut inter = rows_of(&l.inter_b, rows);
        linear_acc(y, rows, h, &l.inter_w, self.intermediate, &mut inter);
        gelu_erf_in_place(&mut inter);
        // `y` is now only the residual: the output projection accumulates onto it.
        add_bias_rows(y, &l.out_b);
        linear_acc(&inter, rows, self.intermediate, &l.out_w, h, y);
        layer_norm_rows(y, h, &l.ln2, self.eps);
    }

    /// Scaled dot-product attention of each sequence with itself, per head, read straight
    /// from the fused `rows × 3·hidden` QKV buffer. Returns `rows × hidden` context values.
    fn attention(&self, qkv: &[f32], starts: &[usize]) -> Vec<f32> {
        let h = self.hidden;
        let dh = h / self.heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let rows = starts.last().copied().unwrap_or(0);
        let mut ctx = vec![0f32; rows * h];
        // Each sequence owns a contiguous block of context rows, so sequences run in
        // parallel and every head writes its columns of the block directly.
        let mut blocks: Vec<(usize, &mut [f32])> = Vec::with_capacity(starts.len());
        let mut rest = ctx.as_mut_slice();
        for r in starts.windows(2) {
            let (block, tail) = rest.split_at_mut((r[1] - r[0]) * h);
            blocks.push((r[0], block));
            rest = tail;
        }
        blocks.par_iter_mut().for_each(|(start, block)| {
            let len = block.len() / h;
            if len == 0 {
                return;
            }
            let base = &qkv[*start * 3 * h..(*start + len) * 3 * h];
            let mut scores = vec![0f32; len * len];
            for head in 0..self.heads {
                let q = &base[head * dh..];
                let k = &base[h + head * dh..];
                let v = &base[2 * h + head * dh..];
                // scores = scale · Q Kᵀ; Kᵀ's element (d, j) is K[j][d].
                let qm = Mat::new(q, 3 * h as isize, 1);
                let kt = Mat::new(k, 1, 3 * h as isize);
                matmul(len, len, dh, &mut scores, len, false, scale, qm, kt, false);
                softmax_rows(&mut scores, len);
                let sm = Mat::new(&scores, len as isize, 1);
                let vm = Mat::new(v, 3 * h as isize, 1);
                let dst = &mut block[head * dh..];
                matmul(len, dh, len, dst, h, false, 1.0, sm, vm, false);
            }
        });
        ctx
    }
}

/// Output features per weight panel (see [`panels`]). Chosen by measurement on the
/// classifier bench: 32, 64, 128, 256 and unpanelled (plain transpose) were compared, and
/// 128 was fastest or tied at every input size.
const PANEL: usize = 128;

/// Re-lays a PyTorch `[out][inp]` weight as panels of [`PANEL`] output features, each panel
/// stored `[inp][PANEL]`. The product reads a panel as one contiguous block: the plain
/// transposed layout made it touch a new page for every input feature, which is what
/// bounded short inputs (the weights do not stay in L2).
fn panels(m: &[f32], out: usize, inp: usize) -> Result<Vec<f32>> {
    if m.len() != out * inp {
        candle_core::bail!("a {out}×{inp} weight has {} values", m.len());
    }
    let mut t = Vec::with_capacity(m.len());
    for o0 in (0..out).step_by(PANEL) {
        let width = PANEL.min(out - o0);
        for i in 0..inp {
            t.extend((o0..o0 + width).map(|o| m[o * inp + i]));
        }
    }
    Ok(t)
}

/// `rows` copies of `bias`, one after another.
fn rows_of(bias: &[f32], rows: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(rows * bias.len());
    for _ in 0..rows {
        v.extend_from_slice(bias);
    }
    v
}

/// Adds `bias` to every row of `x`.
fn add_bias_rows(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// A matrix view into a slice: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    row_stride: isize,
    col_stride: isize,
}

impl<'a> Mat<'a> {
    fn new(data: &'a [f32], row_stride: isize, col_stride: isize) -> Self {
        Self {
            data,
            row_stride,
            col_stride,
        }
    }

    /// Panics unless every element of a `rows × cols` matrix lies inside the slice.
    fn check(&self, rows: usize, cols: usize) {
        assert!(self.row_stride >= 0 && self.col_stride >= 0);
        if rows > 0 && cols > 0 {
            let last =
                (rows - 1) * self.row_stride as usize + (cols - 1) * self.col_stride as usize;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// `dst (m × n, row stride dst_rs) = [dst +] scale · lhs (m × k) · rhs (k × n)`.
#[allow(clippy::too_many_arguments)]
fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    scale: f32,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    lhs.check(m, k);
    rhs.check(k, n);
    assert!(
        n <= dst_rs && (m - 1) * dst_rs + n <= dst.len(),
        "destination too small"
    );
    let threads = rayon::current_num_threads();
    let parallelism = if parallel && threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: `check` and the assert above prove that every element the product reads
    // (`lhs`: m × k, `rhs`: k × n) and writes (`dst`: m × n) lies inside its slice, with
    // non-negative strides; `dst` is borrowed mutably, so it aliases neither input.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride,
            lhs.row_stride,
            rhs.data.as_ptr(),
            rhs.col_stride,
            rhs.row_stride,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `dst (rows × out) += x (rows × inp) · wᵀ`, with `w` laid out by [`panels`].
fn linear_acc(x: &[f32], rows: usize, inp: usize, w: &[f32], out: usize, dst: &mut [f32]) {
    let xm = Mat::new(x, inp as isize, 1);
    for o0 in (0..out).step_by(PANEL) {
        let width = PANEL.min(out - o0);
        let panel = Mat::new(&w[o0 * inp..(o0 + width) * inp], width as isize, 1);
        matmul(
            rows,
            width,
            inp,
            &mut dst[o0..],
            out,
            true,
            1.0,
            xm,
            panel,
            true,
        );
    }
}

multiversion! {
    /// Layer norm of each `h`-wide row, in place.
    fn layer_norm_rows(x: &mut [f32], h: usize, params: &(Vec<f32>, Vec<f32>), eps: f32) {
        let (gamma, beta) = params;
        for row in x.chunks_exact_mut(h) {
            let mean = sum_lanes(row) / h as f32;
            let mut sq = [0f32; 16];
            let mut chunks = row.chunks_exact(16);
            for c in &mut chunks {
                for (s, v) in sq.iter_mut().zip(c) {
                    let d = v - mean;
                    *s += d * d;
                }
            }
            let tail: f32 = chunks.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
            let var = (sq.iter().sum::<f32>() + tail) / h as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

/// Maximum with sixteen independent lanes (so the compiler can vectorise it).
#[inline(always)]
fn max_lanes(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let tail = chunks.remainder().iter().copied();
    acc.into_iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Sum with sixteen independent accumulators (so the compiler can vectorise it).
#[inline(always)]
fn sum_lanes(x: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

multiversion! {
    /// Numerically stable softmax of each `len`-wide row, in place.
    fn softmax_rows(x: &mut [f32], len: usize) {
        for row in x.chunks_exact_mut(len) {
            let max = max_lanes(row);
            for v in row.iter_mut() {
                *v = exp(*v - max);
            }
            let inv = 1.0 / sum_lanes(row);
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

/// `e^x` for f32, branch-free so that loops over it vectorise: `x = n·ln 2 + r` with
/// `|r| ≤ ln 2 / 2`, a degree-6 polynomial for `e^r` (the Cephes `expf` coefficients,
/// relative error about 1e-7), and `2^n` built in the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Rounds to the nearest integer by the float-add trick (exact for |v| < 2^22).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // `shifted`'s low mantissa bits hold n in two's complement: reading them instead of
    // converting `n` keeps the loop free of the saturating float-to-int cast, which does
    // not vectorise. n + 127 is a biased exponent in 1..=254.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let bits = n_bits.wrapping_add(127) << 23;
    e_r * f32::from_bits(bits)
}

multiversion! {
    /// Exact (erf-based) GELU, `0.5·x·(1 + erf(x/√2))`, in place.
    fn gelu_erf_in_place(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

/// `erf(x)` from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), branch-free.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_72 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// Whether `w` describes a model that this module can run (f32 on the CPU).
pub(crate) fn applies(w: &Weights<'_>) -> bool {
    matches!(w.device(), Device::Cpu) && w.dtype() == DType::F32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_standard_library() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let rel = ((exp(x) - x.exp()) / x.exp()).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp(0.0).to_bits(), 1f32.to_bits());
    }

    #[test]
    fn erf_matches_a_series_expansion() {
        // erf(x) = 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1)), in f64 for |x| ≤ 3.
        let series = |x: f64| {
            let (mut term, mut sum) = (x, x);
            for n in 1..80 {
                term *= -x * x / f64::from(n);
                sum += term / f64::from(2 * n + 1);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        };
        let mut x = -3.0f64;
        while x <= 3.0 {
            #[allow(clippy::cast_possible_truncation)]
            let got = f64::from(erf(x as f32));
            assert!((got - series(x)).abs() < 3e-7, "erf({x}) = {got}");
            x += 0.01;
        }
        assert!((erf(10.0) - 1.0).abs() < 1e-7 && (erf(-10.0) + 1.0).abs() < 1e-7);
    }

    #[test]
    fn matmul_handles_strided_views_and_accumulation() {
        // lhs 2×3 read transposed from a 3×2 buffer; rhs 3×2 row-major.
        let lhs_t = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let rhs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut dst = vec![10.0, 20.0, 30.0, 40.0];
        matmul(
            2,
            2,
            3,
            &mut dst,
            2,
            true,
            1.0,
            Mat::new(&lhs_t, 1, 2),
            Mat::new(&rhs, 2, 1),
            false,
        );
        // [[1,2,3],[4,5,6]] · [[1,2],[3,4],[5,6]] = [[22,28],[49,64]]
        assert_eq!(dst, vec![32.0, 48.0, 79.0, 104.0]);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn matmul_refuses_a_view_past_its_slice() {
        let small = [1.0f32; 3];
        let mut dst = vec![0f32; 4];
        matmul(
            2,
            2,
            2,
            &mut dst,
            2,
            false,
            1.0,
            Mat::new(&small, 2, 1),
            Mat::new(&small, 2, 1),
            false,
        );
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut row = vec![1.0, 3.0, 2.0, -50.0, 0.5];
        softmax_rows(&mut row, 5);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[1] > row[2] && row[2] > row[0] && row[0] > row[4] && row[4] > row[3]);
    }
}
