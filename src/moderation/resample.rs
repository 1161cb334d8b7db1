//! The triangle-filter resize of the image crate (`imageops::resize` with
//! `FilterType::Triangle`) for RGB images: the same taps and weights, summed in the same order
//! (down the columns first, then along the rows, rounded once), so the same pixels — without
//! its per-pixel generic accessors, its four-channel intermediate and its call to `roundf`
//! per channel, which made the face check's pyramid levels and crops cost as much as a net.

use image::RgbImage;

/// The source cells one output cell reads, and their weights (summing to 1).
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

/// The image crate's triangle kernel: 1 at the centre, 0 from one cell away.
fn triangle(x: f32) -> f32 {
    if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 }
}

/// Taps of each of `new_len` cells resampled from `len` (the image crate's arithmetic, in
/// `f32`, so that the weights are bit for bit its weights).
fn taps(len: u32, new_len: u32) -> Vec<Taps> {
    let ratio = len as f32 / new_len as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let support = sratio;
    (0..new_len)
        .map(|out| {
            let centre = (out as f32 + 0.5) * ratio;
            let left = ((centre - support).floor() as i64).clamp(0, i64::from(len) - 1);
            let right = ((centre + support).ceil() as i64).clamp(left + 1, i64::from(len));
            let centre = centre - 0.5;
            let mut weights: Vec<f32> = (left..right)
                .map(|i| triangle((i as f32 - centre) / sratio))
                .collect();
            let sum: f32 = weights.iter().fold(0.0, |s, &w| s + w);
            for w in &mut weights {
                *w /= sum;
            }
            Taps {
                start: left as usize,
                weights,
            }
        })
        .collect()
}

/// `src` resized to `width`×`height` with the triangle filter (a copy when the size is the
/// same; black when `src` is empty).
pub fn triangle_resize(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w, h) = src.dimensions();
    if w == 0 || h == 0 || width == 0 || height == 0 {
        return RgbImage::new(width, height);
    }
    if (width, height) == (w, h) {
        return src.clone();
    }
    let stride = w as usize * 3;
    let raw = src.as_raw();
    // Down the columns: `height` rows of `w` pixels, unrounded.
    let mut columns = vec![0f32; height as usize * stride];
    for (out, tap) in columns.chunks_exact_mut(stride).zip(taps(h, height)) {
        for (i, &weight) in tap.weights.iter().enumerate() {
            let row = &raw[(tap.start + i) * stride..(tap.start + i + 1) * stride];
            for (o, &v) in out.iter_mut().zip(row) {
                *o += f32::from(v) * weight;
            }
        }
    }
    // Along the rows, rounded to the nearest value.
    let across = taps(w, width);
    let mut out = vec![0u8; height as usize * width as usize * 3];
    for (out_row, row) in out
        .chunks_exact_mut(width as usize * 3)
        .zip(columns.chunks_exact(stride))
    {
        for (pixel, tap) in out_row.chunks_exact_mut(3).zip(&across) {
            let mut sum = [0f32; 3];
            let cells = &row[tap.start * 3..(tap.start + tap.weights.len()) * 3];
            for (cell, &weight) in cells.chunks_exact(3).zip(&tap.weights) {
                for (s, &v) in sum.iter_mut().zip(cell) {
                    *s += v * weight;
                }
            }
            for (p, s) in pixel.iter_mut().zip(sum) {
                *p = (s.clamp(0.0, 255.0) + 0.5) as u8;
            }
        }
    }
    RgbImage::from_raw(width, height, out).unwrap_or_else(|| RgbImage::new(width, height))
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
}
