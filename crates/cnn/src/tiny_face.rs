//! The tiny face detector of face-api (a Tiny-YOLOv2-style single-shot detector with
//! depthwise-separable convolutions, 190 kB of uint8-quantized weights), run on images in
//! `[H, W, C]` order (channels last).
//!
//! Layers, as the package's `TinyYolov2Base::runMobilenet` runs them (`isFirstLayerConv2d`,
//! seven filter sizes): a 3×3 convolution without padding (3 → 16 channels) and leaky ReLU;
//! five separable blocks (zero padding of 1, 3×3 depthwise, 1×1 pointwise, bias, leaky ReLU:
//! 32, 64, 128, 256, 512 channels), each after a 2×2 max pool (stride 2, `SAME`), the last
//! block followed by a 2×2 max pool of stride 1 (`SAME`); a 1×1 convolution to 5 anchors × 5
//! values per cell. A cell is 32 px of the input. The input is any size, multiples of 32 on
//! each side giving whole cells; the package itself pads an image to a square first.

use std::collections::HashMap;

use crate::error::{Error, bail};
use crate::tensor::Tensor;

/// Mean of each channel (R, G, B) subtracted from 0–255 pixel values before dividing by 255.
pub const MEAN_RGB: [f32; 3] = [117.001, 114.697, 97.404];
/// Anchor boxes (width, height) in cells.
pub const ANCHORS: [(f32, f32); 5] = [
    (1.603231, 2.094468),
    (6.041143, 7.080126),
    (2.882459, 3.518061),
    (4.266906, 5.178857),
    (9.041765, 10.66308),
];
/// Input pixels per output cell.
pub const CELL: usize = 32;
const LEAK: f32 = 0.1;

/// A separable block's weights: depthwise `[3, 3, C]`, pointwise `[C, M]`, bias `[M]`.
struct Separable {
    depthwise: Vec<f32>,
    pointwise: Vec<f32>,
    bias: Vec<f32>,
    channels: usize,
    outputs: usize,
}

/// A box found: corners in input pixels and the score (sigmoid of the objectness).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub score: f32,
}

/// The net with its weights.
pub struct TinyFaceNet {
    /// `[3·3·3, 16]` (rows in `ky, kx, c` order) and its bias.
    conv0: (Vec<f32>, Vec<f32>),
    blocks: Vec<Separable>,
    /// `[512, 25]` and its bias.
    head: (Vec<f32>, Vec<f32>),
}

fn take(
    weights: &mut HashMap<String, Tensor>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, Error> {
    let Some(t) = weights.remove(name) else {
        bail!("the weights have no tensor {name:?}");
    };
    if t.shape() != shape {
        bail!("tensor {name:?} has shape {:?}, not {shape:?}", t.shape());
    }
    Ok(t.into_data())
}

impl TinyFaceNet {
    /// Reads the package's `tiny_face_detector_model-weights_manifest.json` and `.bin`.
    pub fn from_tfjs(manifest: &str, bin: &[u8]) -> Result<Self, Error> {
        let mut w = crate::tfjs::read_weights(manifest, bin)?;
        let conv0 = (
            take(&mut w, "conv0/filters", &[3, 3, 3, 16])?,
            take(&mut w, "conv0/bias", &[16])?,
        );
        let sizes = [16, 32, 64, 128, 256, 512];
        let mut blocks = Vec::new();
        for (i, pair) in sizes.windows(2).enumerate() {
            let (c, m) = (pair[0], pair[1]);
            let p = format!("conv{}", i + 1);
            blocks.push(Separable {
                depthwise: take(&mut w, &format!("{p}/depthwise_filter"), &[3, 3, c, 1])?,
                pointwise: take(&mut w, &format!("{p}/pointwise_filter"), &[1, 1, c, m])?,
                bias: take(&mut w, &format!("{p}/bias"), &[m])?,
                channels: c,
                outputs: m,
            });
        }
        let head = (
            take(&mut w, "conv8/filters", &[1, 1, 512, 25])?,
            take(&mut w, "conv8/bias", &[25])?,
        );
        Ok(Self {
            conv0,
            blocks,
            head,
        })
    }

    /// Runs the net on `input`, `[H, W, 3]` already normalised (`(v − MEAN_RGB) / 255`);
    /// returns `[gh, gw, 25]`: per cell and anchor, x, y, w, h and objectness, raw.
    pub fn run(&self, input: &[f32], height: usize, width: usize) -> Result<Tensor, Error> {
        if height < 4 || width < 4 || input.len() != height * width * 3 {
            bail!("an input of {} values for {height}×{width}×3", input.len());
        }
        let (mut x, mut h, mut w) = first_layer(input, height, width, &self.conv0.0, &self.conv0.1);
        for (i, b) in self.blocks.iter().enumerate() {
            if i > 0 {
                let pooled;
                (pooled, h, w) = max_pool_same(&x, h, w, b.channels, 2);
                x = pooled;
            }
            x = separable(&x, h, w, b);
        }
        let (px, ph, pw) = max_pool_same(&x, h, w, 512, 1);
        let mut out = vec![0f32; ph * pw * 25];
        for row in out.chunks_exact_mut(25) {
            row.copy_from_slice(&self.head.1);
        }
        gemm(ph * pw, 512, 25, &px, &self.head.0, &mut out);
        Tensor::new(&[ph, pw, 25], out)
    }
}

/// `(v − MEAN_RGB) / 255` of 8-bit RGB pixels, `[H, W, 3]`.
pub fn normalize(rgb: &[u8]) -> Vec<f32> {
    rgb.chunks_exact(3)
        .flat_map(|p| {
            [
                (f32::from(p[0]) - MEAN_RGB[0]) / 255.0,
                (f32::from(p[1]) - MEAN_RGB[1]) / 255.0,
                (f32::from(p[2]) - MEAN_RGB[2]) / 255.0,
            ]
        })
        .collect()
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// The boxes of a `run` output scoring above `threshold`, in input pixels (no suppression).
pub fn boxes(out: &Tensor, threshold: f32) -> Vec<Detection> {
    let &[gh, gw, 25] = out.shape() else {
        return Vec::new();
    };
    let cell = CELL as f32;
    let mut found = Vec::new();
    for (i, v) in out.data().chunks_exact(5).enumerate() {
        let anchor = i % 5;
        let (col, row) = ((i / 5) % gw, i / 5 / gw);
        if row >= gh {
            break;
        }
        let score = sigmoid(v[4]);
        if score <= threshold {
            continue;
        }
        let cx = (col as f32 + sigmoid(v[0])) * cell;
        let cy = (row as f32 + sigmoid(v[1])) * cell;
        let (aw, ah) = ANCHORS[anchor];
        let width = v[2].exp() * aw * cell;
        let height = v[3].exp() * ah * cell;
        found.push(Detection {
            x: cx - width / 2.0,
            y: cy - height / 2.0,
            width,
            height,
            score,
        });
    }
    found
}

/// The highest score of a `run` output (sigmoid of the best objectness).
pub fn best_score(out: &Tensor) -> f32 {
    let best = out
        .data()
        .chunks_exact(5)
        .map(|v| v[4])
        .fold(f32::NEG_INFINITY, f32::max);
    sigmoid(best)
}

fn leaky(x: &mut [f32]) {
    for v in x {
        *v = v.max(*v * LEAK);
    }
}

/// 3×3 convolution without padding on `[H, W, 3]` (weights `[3·3·3, M]`), leaky ReLU and
/// the 2×2 max pool of stride 2 that follows, two convolved rows at a time: the full-size
/// output of the first layer, the largest tensor of the net, is never held whole.
fn first_layer(
    x: &[f32],
    h: usize,
    w: usize,
    weights: &[f32],
    bias: &[f32],
) -> (Vec<f32>, usize, usize) {
    let (oh, ow, m) = (h - 2, w - 2, bias.len());
    let (ph, pw) = (oh.div_ceil(2), ow.div_ceil(2));
    let mut pooled = vec![0f32; ph * pw * m];
    let mut cols = vec![0f32; ow * 27];
    let mut rows = [vec![0f32; ow * m], vec![0f32; ow * m]];
    for py in 0..ph {
        let pair = [2 * py, (2 * py + 1).min(oh - 1)];
        for (oy, out) in pair.iter().zip(rows.iter_mut()) {
            for (ox, col) in cols.chunks_exact_mut(27).enumerate() {
                for ky in 0..3 {
                    let at = ((oy + ky) * w + ox) * 3;
                    col[ky * 9..ky * 9 + 9].copy_from_slice(&x[at..at + 9]);
                }
            }
            for row in out.chunks_exact_mut(m) {
                row.copy_from_slice(bias);
            }
            gemm(ow, 27, m, &cols, weights, out);
            leaky(out);
        }
        let dst_row = &mut pooled[py * pw * m..(py + 1) * pw * m];
        for (px, dst) in dst_row.chunks_exact_mut(m).enumerate() {
            let (x0, x1) = (2 * px, (2 * px + 1).min(ow - 1));
            let [r0, r1] = &rows;
            let (a, b) = (&r0[x0 * m..(x0 + 1) * m], &r0[x1 * m..(x1 + 1) * m]);
            let (d, e) = (&r1[x0 * m..(x0 + 1) * m], &r1[x1 * m..(x1 + 1) * m]);
            for i in 0..m {
                dst[i] = a[i].max(b[i]).max(d[i].max(e[i]));
            }
        }
    }
    (pooled, ph, pw)
}

/// 2×2 max pool, `SAME` (`ceil(in / stride)` outputs; windows over the bottom and right edges
/// take what is inside), on `[H, W, C]`.
fn max_pool_same(
    x: &[f32],
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
) -> (Vec<f32>, usize, usize) {
    let (oh, ow) = (h.div_ceil(stride), w.div_ceil(stride));
    let mut out = vec![0f32; oh * ow * c];
    for oy in 0..oh {
        let y0 = oy * stride;
        let y1 = (y0 + 1).min(h - 1);
        for ox in 0..ow {
            let x0 = ox * stride;
            let x1 = (x0 + 1).min(w - 1);
            let dst = &mut out[(oy * ow + ox) * c..][..c];
            let a = &x[(y0 * w + x0) * c..][..c];
            let b = &x[(y0 * w + x1) * c..][..c];
            let d = &x[(y1 * w + x0) * c..][..c];
            let e = &x[(y1 * w + x1) * c..][..c];
            for i in 0..c {
                dst[i] = a[i].max(b[i]).max(d[i].max(e[i]));
            }
        }
    }
    (out, oh, ow)
}

/// A separable block on `[H, W, C]` (zero padding of 1, so the size is kept).
fn separable(x: &[f32], h: usize, w: usize, b: &Separable) -> Vec<f32> {
    let dw = depthwise(x, h, w, b.channels, &b.depthwise);
    let m = b.outputs;
    let mut out = vec![0f32; h * w * m];
    for row in out.chunks_exact_mut(m) {
        row.copy_from_slice(&b.bias);
    }
    gemm(h * w, b.channels, m, &dw, &b.pointwise, &mut out);
    leaky(&mut out);
    out
}

/// 3×3 depthwise convolution with zero padding of 1 on `[H, W, C]`, kernel `[3, 3, C]`.
fn depthwise(x: &[f32], h: usize, w: usize, c: usize, kernel: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; h * w * c];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { depthwise_avx2(x, h, w, c, kernel, &mut out) };
        return out;
    }
    depthwise_into(x, h, w, c, kernel, &mut out);
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn depthwise_avx2(x: &[f32], h: usize, w: usize, c: usize, kernel: &[f32], out: &mut [f32]) {
    depthwise_into(x, h, w, c, kernel, out);
}

#[inline(always)]
fn depthwise_into(x: &[f32], h: usize, w: usize, c: usize, kernel: &[f32], out: &mut [f32]) {
    let row_len = w * c;
    for oy in 0..h {
        let dst_row = &mut out[oy * row_len..(oy + 1) * row_len];
        for ky in 0..3 {
            let Some(iy) = (oy + ky).checked_sub(1).filter(|&iy| iy < h) else {
                continue;
            };
            let src_row = &x[iy * row_len..(iy + 1) * row_len];
            for kx in 0..3 {
                let k = &kernel[(ky * 3 + kx) * c..(ky * 3 + kx + 1) * c];
                // Output pixels whose tap `kx` falls inside the row: ox + kx − 1 in 0..w.
                let first = 1usize.saturating_sub(kx);
                let last = (w + 1 - kx).min(w);
                for ox in first..last {
                    let ix = ox + kx - 1;
                    let src = &src_row[ix * c..(ix + 1) * c];
                    let dst = &mut dst_row[ox * c..(ox + 1) * c];
                    for ((d, &s), &k) in dst.iter_mut().zip(src).zip(k) {
                        *d += s * k;
                    }
                }
            }
        }
    }
}

/// `c += a · b` for row-major `a` `[m, k]`, `b` `[k, n]`, `c` `[m, n]`.
fn gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    crate::pointwise::product(m, k, n, a, b, c);
}
