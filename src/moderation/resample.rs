//! The triangle-filter resize of the image crate (`imageops::resize` with
//! `FilterType::Triangle`) for RGB images: the same taps and weights, summed in the same order
//! (down the columns first, then along the rows, rounded once), so the same pixels — without
//! its per-pixel generic accessors, its four-channel intermediate and its call to `roundf`
//! per channel, which made the face check's pyramid levels and crops cost as much as a net.
//!
//! The pass down the columns runs eight values at a time where the CPU has AVX2. Along the
//! rows every pixel reads as many taps as the widest (zero weights, which change no sum): with
//! AVX2 eight pixels at a time, each channel gathered into one register; otherwise a pixel's
//! three channels in one SSE2 register. A rectangle of an image is read in place
//! (`resize_view`: MTCNN's crops). Unit tests compare the pixels with the image crate's.

use image::RgbImage;

/// The source cells each output cell reads and their weights (summing to 1), flat: cell `i`
/// reads `count[i]` cells from `start[i]`, its weights following those of the cells before it.
struct Taps {
    start: Vec<usize>,
    count: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    /// Each cell's first source cell and its weights, in order.
    fn cells(&self) -> impl Iterator<Item = (usize, &[f32])> {
        let mut rest = self.weights.as_slice();
        self.start
            .iter()
            .zip(&self.count)
            .map(move |(&start, &count)| {
                let (own, after) = rest.split_at(count);
                rest = after;
                (start, own)
            })
    }
}

/// The image crate's triangle kernel: 1 at the centre, 0 from one cell away.
fn triangle(x: f32) -> f32 {
    if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 }
}

/// Taps of each of `new_len` cells resampled from `len` (the image crate's arithmetic, in
/// `f32`, so that the weights are bit for bit its weights).
fn taps(len: u32, new_len: u32) -> Taps {
    let ratio = len as f32 / new_len as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let support = sratio;
    let cells = new_len as usize;
    let mut taps = Taps {
        start: Vec::with_capacity(cells),
        count: Vec::with_capacity(cells),
        weights: Vec::with_capacity(cells * (2 * support.ceil() as usize + 2)),
    };
    for out in 0..new_len {
        let centre = (out as f32 + 0.5) * ratio;
        let left = ((centre - support).floor() as i64).clamp(0, i64::from(len) - 1);
        let right = ((centre + support).ceil() as i64).clamp(left + 1, i64::from(len));
        let centre = centre - 0.5;
        let from = taps.weights.len();
        taps.weights
            .extend((left..right).map(|i| triangle((i as f32 - centre) / sratio)));
        let cell = &mut taps.weights[from..];
        let sum: f32 = cell.iter().fold(0.0, |s, &w| s + w);
        for w in cell {
            *w /= sum;
        }
        taps.start.push(left as usize);
        taps.count.push((right - left) as usize);
    }
    taps
}

/// The same taps, each `width` long (the most any cell reads) and inside `0..len`: a cell
/// that reads fewer gets zero weights before or after its own. They change no sum, as every
/// value and weight is ≥ 0, so every partial sum is ≥ +0 and adding `v · 0 = +0` leaves it
/// as it was.
fn widened(taps: &Taps, len: usize) -> (usize, Vec<usize>, Vec<f32>) {
    let width = taps.count.iter().copied().max().unwrap_or(0);
    let mut starts = Vec::with_capacity(taps.start.len());
    let mut weights = vec![0f32; taps.start.len() * width];
    for (cell, (start, own)) in weights.chunks_exact_mut(width.max(1)).zip(taps.cells()) {
        let first = start.min(len.saturating_sub(width));
        cell[start - first..start - first + own.len()].copy_from_slice(own);
        starts.push(first);
    }
    (width, starts, weights)
}

/// A rectangle of an RGB image's bytes: `width`×`height` pixels from `(x, y)`, rows `stride`
/// bytes apart.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub raw: &'a [u8],
    pub stride: usize,
    pub x: usize,
    pub y: usize,
    pub width: u32,
    pub height: u32,
}

impl<'a> View<'a> {
    /// All of `image`.
    pub fn of(image: &'a RgbImage) -> Self {
        Self {
            raw: image.as_raw(),
            stride: image.width() as usize * 3,
            x: 0,
            y: 0,
            width: image.width(),
            height: image.height(),
        }
    }

    /// Row `y` of the rectangle (`None` when the rectangle is not inside `raw`).
    fn row(&self, y: usize) -> Option<&'a [u8]> {
        let from = (self.y + y) * self.stride + self.x * 3;
        self.raw.get(from..from + self.width as usize * 3)
    }
}

/// `src` resized to `width`×`height` with the triangle filter (a copy when the size is the
/// same; black when `src` is empty).
pub fn triangle_resize(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    if src.dimensions() == (width, height) {
        return src.clone();
    }
    resize_view(View::of(src), width, height)
}

/// The rectangle `src` resized to `width`×`height` with the triangle filter, read in place
/// (black when it is empty or not inside its image).
pub fn resize_view(src: View<'_>, width: u32, height: u32) -> RgbImage {
    let (w, h) = (src.width, src.height);
    if w == 0 || h == 0 || width == 0 || height == 0 {
        return RgbImage::new(width, height);
    }
    let stride = w as usize * 3;
    // Down the columns: `height` rows of `w` pixels, unrounded (and one value more, which the
    // last pixel's four-wide reads below take in and weigh by nothing).
    let mut columns = vec![0f32; height as usize * stride + 1];
    let down = taps(h, height);
    for (out, (start, own)) in columns.chunks_exact_mut(stride).zip(down.cells()) {
        for (k, &weight) in own.iter().enumerate() {
            let Some(row) = src.row(start + k) else {
                return RgbImage::new(width, height);
            };
            accumulate(out, row, weight);
        }
    }
    // Along the rows, rounded to the nearest value.
    let (taps_each, starts, weights) = widened(&taps(w, width), w as usize);
    #[cfg(target_arch = "x86_64")]
    let runs = Runs::new(&starts, &weights, taps_each, stride);
    let mut out = vec![0u8; height as usize * width as usize * 3];
    for (y, out_row) in out.chunks_exact_mut(width as usize * 3).enumerate() {
        let row = &columns[y * stride..(y + 1) * stride + 1];
        #[allow(unused_mut)]
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if let Some(runs) = &runs {
            // SAFETY: `Runs::new` gave runs only on a CPU with AVX2, for these taps, which read
            // inside `row` (`stride` values).
            done = unsafe { across_avx2(row, runs, out_row) };
        }
        across(
            row,
            &starts[done..],
            &weights[done * taps_each..],
            taps_each,
            &mut out_row[done * 3..],
        );
    }
    RgbImage::from_raw(width, height, out).unwrap_or_else(|| RgbImage::new(width, height))
}

/// `out[i] += row[i] · weight`, eight at a time where the CPU has AVX2 (the same operations:
/// a multiply, then an add, never fused).
fn accumulate(out: &mut [f32], row: &[u8], weight: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above).
        unsafe { accumulate_avx2(out, row, weight) };
        return;
    }
    accumulate_plain(out, row, weight);
}

#[inline(always)]
fn accumulate_plain(out: &mut [f32], row: &[u8], weight: f32) {
    for (o, &v) in out.iter_mut().zip(row) {
        *o += f32::from(v) * weight;
    }
}

/// [`accumulate_plain`] compiled for AVX2.
///
/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn accumulate_avx2(out: &mut [f32], row: &[u8], weight: f32) {
    accumulate_plain(out, row, weight);
}

/// One row along x: each output pixel the sum, tap after tap, of `taps_each` source pixels
/// from its start times their weights, clamped and rounded.
fn across(row: &[f32], starts: &[usize], weights: &[f32], taps_each: usize, out: &mut [u8]) {
    let cells = out.chunks_exact_mut(3).zip(starts);
    for ((pixel, &start), weights) in cells.zip(weights.chunks_exact(taps_each.max(1))) {
        let sum = pixel_sum(&row[start * 3..(start + taps_each) * 3 + 1], weights);
        for (p, s) in pixel.iter_mut().zip(sum) {
            *p = (s.clamp(0.0, 255.0) + 0.5) as u8;
        }
    }
}

/// The taps of whole runs of eight output pixels, laid out for AVX2's gathers: the index of
/// each pixel's first value in the row, and each tap's eight weights side by side.
#[cfg(target_arch = "x86_64")]
struct Runs {
    first: Vec<i32>,
    weights: Vec<f32>,
    taps_each: usize,
}

#[cfg(target_arch = "x86_64")]
impl Runs {
    /// `None` on a CPU without AVX2, or for rows too long for 32-bit indices.
    fn new(starts: &[usize], weights: &[f32], taps_each: usize, stride: usize) -> Option<Self> {
        if !std::arch::is_x86_feature_detected!("avx2")
            || i32::try_from(stride).is_err()
            || taps_each == 0
        {
            return None;
        }
        let whole = starts.len() / 8 * 8;
        let first = starts[..whole]
            .iter()
            .map(|&s| i32::try_from(s * 3).ok())
            .collect::<Option<Vec<_>>>()?;
        let mut runs = vec![0f32; whole * taps_each];
        for (run, out) in runs.chunks_exact_mut(8 * taps_each).enumerate() {
            for (k, lanes) in out.chunks_exact_mut(8).enumerate() {
                for (lane, w) in lanes.iter_mut().enumerate() {
                    *w = weights[(run * 8 + lane) * taps_each + k];
                }
            }
        }
        Some(Self {
            first,
            weights: runs,
            taps_each,
        })
    }
}

/// [`across`] for the whole runs of eight pixels of `runs`, each channel of eight pixels
/// gathered into one register: the same multiplies and adds, tap after tap, so the same
/// sums, and the same clamping and rounding. How many pixels it wrote.
///
/// # Safety
/// The CPU has AVX2; every index `runs` makes (each pixel's first value, plus `3 · tap + 2`)
/// is inside `row`, and `out` holds three bytes a pixel of the runs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn across_avx2(row: &[f32], runs: &Runs, out: &mut [u8]) -> usize {
    use std::arch::x86_64::{
        _mm256_add_epi32, _mm256_add_ps, _mm256_cvttps_epi32, _mm256_i32gather_ps, _mm256_loadu_ps,
        _mm256_loadu_si256, _mm256_max_ps, _mm256_min_ps, _mm256_mul_ps, _mm256_set1_epi32,
        _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_si256,
    };
    let taps_each = runs.taps_each;
    let (zero, top, half) = (
        _mm256_setzero_ps(),
        _mm256_set1_ps(255.0),
        _mm256_set1_ps(0.5),
    );
    let mut done = 0;
    for (first, weights) in runs
        .first
        .chunks_exact(8)
        .zip(runs.weights.chunks_exact(8 * taps_each))
    {
        // SAFETY (every unsafe operation below): the caller vouches for the CPU and for the
        // indices; `first` holds 8 indices, `weights` 8 per tap, `out` 24 bytes from `done`.
        unsafe {
            let mut index = _mm256_loadu_si256(first.as_ptr().cast());
            let mut sums = [zero; 3];
            for k in 0..taps_each {
                let w = _mm256_loadu_ps(weights.as_ptr().add(k * 8));
                for (c, sum) in sums.iter_mut().enumerate() {
                    let at = _mm256_add_epi32(index, _mm256_set1_epi32(c as i32));
                    let v = _mm256_i32gather_ps::<4>(row.as_ptr(), at);
                    *sum = _mm256_add_ps(*sum, _mm256_mul_ps(v, w));
                }
                index = _mm256_add_epi32(index, _mm256_set1_epi32(3));
            }
            let pixels = &mut out[done * 3..done * 3 + 24];
            for (c, sum) in sums.into_iter().enumerate() {
                let rounded = _mm256_add_ps(_mm256_min_ps(_mm256_max_ps(sum, zero), top), half);
                let mut bytes = [0i32; 8];
                _mm256_storeu_si256(bytes.as_mut_ptr().cast(), _mm256_cvttps_epi32(rounded));
                for (lane, &b) in bytes.iter().enumerate() {
                    pixels[lane * 3 + c] = b as u8;
                }
            }
        }
        done += 8;
    }
    done
}

/// The three channels' sums of `cells` (three values a pixel, and one more read past the
/// last) weighted by `weights`, tap after tap.
#[inline(always)]
fn pixel_sum(cells: &[f32], weights: &[f32]) -> [f32; 3] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_add_ps, _mm_loadu_ps, _mm_mul_ps, _mm_set1_ps, _mm_setzero_ps, _mm_storeu_ps,
        };
        // SSE2 is part of x86-64: four lanes, the fourth ignored. The same multiply and add
        // per channel, in the same order, as the plain loop.
        // SAFETY: every x86-64 CPU has SSE2; each load reads four values of `cells`
        // (`k · 3 + 4 ≤ cells.len()`, as the slice is taken), the store four of `lanes`.
        unsafe {
            let mut sum = _mm_setzero_ps();
            for (k, &weight) in weights.iter().enumerate() {
                let four = &cells[k * 3..k * 3 + 4];
                let v = _mm_loadu_ps(four.as_ptr());
                sum = _mm_add_ps(sum, _mm_mul_ps(v, _mm_set1_ps(weight)));
            }
            let mut lanes = [0f32; 4];
            _mm_storeu_ps(lanes.as_mut_ptr(), sum);
            [lanes[0], lanes[1], lanes[2]]
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut sum = [0f32; 3];
        for (cell, &weight) in cells.chunks_exact(3).zip(weights) {
            for (s, &v) in sum.iter_mut().zip(cell) {
                *s += v * weight;
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use image::imageops::FilterType;
    use image::{Rgb, RgbImage};

    #[test]
    fn the_pixels_are_the_image_crates() {
        // A photograph-like pattern (no flat areas), down by the pyramid's 0.6 and to the
        // crops' 24 and 48 px, up (a small crop), and odd ratios both ways.
        let src = RgbImage::from_fn(203, 117, |x, y| {
            let v = |k: u32| ((x * 37 + y * 91 + k * 53) % 251) as u8 ^ ((x * y) % 7) as u8;
            Rgb([v(0), v(1), v(2)])
        });
        for (w, h) in [
            (122, 71),
            (24, 24),
            (48, 48),
            (203, 50),
            (17, 117),
            (300, 160),
            (1, 1),
        ] {
            let want = image::imageops::resize(&src, w, h, FilterType::Triangle);
            let got = super::triangle_resize(&src, w, h);
            assert_eq!(got.dimensions(), want.dimensions());
            let differing = got
                .as_raw()
                .iter()
                .zip(want.as_raw())
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(differing, 0, "{w}×{h}");
        }
        assert_eq!(
            super::triangle_resize(&RgbImage::new(0, 5), 3, 2).dimensions(),
            (3, 2)
        );
    }

    #[test]
    fn a_rectangle_read_in_place_gives_the_pixels_of_its_copy() {
        let src = RgbImage::from_fn(160, 90, |x, y| {
            Rgb([(x * 3 + y) as u8, (x ^ y) as u8, (x * y % 256) as u8])
        });
        for (x, y, w, h, side) in [
            (0, 0, 160, 90, 48),
            (7, 3, 40, 40, 24),
            (120, 50, 40, 40, 48),
            (33, 21, 19, 19, 24),
            (5, 5, 12, 12, 24),
            // A crop already at the net's size: its own pixels, as a copy would be.
            (10, 10, 24, 24, 24),
        ] {
            let copy = image::imageops::crop_imm(&src, x, y, w, h).to_image();
            let view = super::View {
                x: x as usize,
                y: y as usize,
                width: w,
                height: h,
                ..super::View::of(&src)
            };
            let resized = super::resize_view(view, side, side);
            assert_eq!(
                resized,
                super::triangle_resize(&copy, side, side),
                "{w}×{h} at ({x}, {y})"
            );
            if (w, h) == (side, side) {
                assert_eq!(resized, copy, "a same-size crop is its copy");
            }
        }
        // A rectangle reaching past its image is black, not a panic.
        let outside = super::View {
            x: 150,
            width: 20,
            ..super::View::of(&src)
        };
        assert_eq!(super::resize_view(outside, 4, 4), RgbImage::new(4, 4));
    }
}
