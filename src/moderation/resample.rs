//! The triangle-filter resize of the image crate (`imageops::resize` with
//! `FilterType::Triangle`) for RGB images: the same taps and weights, summed in the same order
//! (down the columns first, then along the rows, rounded once), so the same pixels — without
//! its per-pixel generic accessors, its four-channel intermediate and its call to `roundf`
//! per channel, which made the face check's pyramid levels and crops cost as much as a net.
//!
//! The pass down the columns runs eight values at a time where the CPU has AVX2; the pass
//! along the rows sums a pixel's three channels together in one SSE2 register, every pixel
//! reading as many taps as the widest (zero weights, which change no sum). A rectangle of an
//! image is read in place (`resize_view`: MTCNN's crops). Unit tests compare the pixels with
//! the image crate's.

use image::RgbImage;

/// The source cells each output cell reads and their weights (summing to 1), flat: cell `i`
/// reads `count[i]` cells from `start[i]`, weighted by `weights[at[i]..]`.
struct Taps {
    start: Vec<usize>,
    count: Vec<usize>,
    at: Vec<usize>,
    weights: Vec<f32>,
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
        at: Vec::with_capacity(cells),
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
        taps.at.push(from);
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
    for (i, cell) in weights.chunks_exact_mut(width.max(1)).enumerate() {
        let (start, count) = (taps.start[i], taps.count[i]);
        let first = start.min(len.saturating_sub(width));
        let own = &taps.weights[taps.at[i]..taps.at[i] + count];
        cell[start - first..start - first + count].copy_from_slice(own);
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
    for (i, out) in columns.chunks_exact_mut(stride).enumerate() {
        let (start, count, at) = (down.start[i], down.count[i], down.at[i]);
        for (k, &weight) in down.weights[at..at + count].iter().enumerate() {
            let Some(row) = src.row(start + k) else {
                return RgbImage::new(width, height);
            };
            accumulate(out, row, weight);
        }
    }
    // Along the rows, rounded to the nearest value.
    let (taps_each, starts, weights) = widened(&taps(w, width), w as usize);
    let mut out = vec![0u8; height as usize * width as usize * 3];
    for (y, out_row) in out.chunks_exact_mut(width as usize * 3).enumerate() {
        let row = &columns[y * stride..(y + 1) * stride + 1];
        across(row, &starts, &weights, taps_each, out_row);
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
        ] {
            let copy = image::imageops::crop_imm(&src, x, y, w, h).to_image();
            let view = super::View {
                x: x as usize,
                y: y as usize,
                width: w,
                height: h,
                ..super::View::of(&src)
            };
            assert_eq!(
                super::resize_view(view, side, side),
                super::triangle_resize(&copy, side, side),
                "{w}×{h} at ({x}, {y})"
            );
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
