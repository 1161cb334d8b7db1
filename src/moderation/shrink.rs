//! Block averaging by an integer factor, row by row: each output pixel the mean of a
//! `factor`×`factor` block of the input. One pass over the pixels, several times cheaper than
//! a filtered resize, and free of the aliasing that would hide faces from the detector. Rows
//! are taken as they come, so a decoder that yields rows (PNG) never holds the whole image.

use image::RgbImage;

/// The factor an image of `width`×`height` is block-averaged by on its way to a working image
/// of at most `side` px on its longer side (what is left is a filtered resize's): 1 when it is
/// less than twice that.
pub(super) fn block_factor(width: u32, height: u32, side: u32) -> u32 {
    (width.max(height) / side.max(1)).max(1)
}

/// Averages rows of 8-bit pixels of `channels` channels (1 and 2: grey, replicated; the
/// fourth, alpha, ignored) into an image `factor` times smaller on each side. Pixels past the
/// last whole block (the right and bottom remainders) are left out.
pub(super) struct BoxShrink {
    channels: usize,
    factor: u32,
    /// Whole blocks down (those across are `sums.len() / 3`).
    down: u32,
    /// Input rows taken so far.
    rows: u32,
    /// Sums of the current row of blocks, three a block.
    sums: Vec<u32>,
    out: RgbImage,
}

impl BoxShrink {
    /// For an image of `width`×`height` pixels of `channels` channels; `factor` ≥ 1. The
    /// result is at least 1×1 (black where no whole block fits).
    pub(super) fn new(width: u32, height: u32, channels: usize, factor: u32) -> Self {
        let factor = factor.max(1);
        let (across, down) = (width / factor, height / factor);
        Self {
            channels: channels.clamp(1, 4),
            factor,
            down,
            rows: 0,
            sums: vec![0; across as usize * 3],
            out: RgbImage::new(across.max(1), down.max(1)),
        }
    }

    /// Takes the next input row (`width · channels` values; a shorter row adds only its whole
    /// blocks).
    pub(super) fn push(&mut self, row: &[u8]) {
        let (oy, dy) = (self.rows / self.factor, self.rows % self.factor);
        self.rows += 1;
        if oy >= self.down {
            return;
        }
        let (channels, factor) = (self.channels, self.factor as usize);
        for (ox, sum) in self.sums.chunks_exact_mut(3).enumerate() {
            let start = ox * factor * channels;
            let Some(block) = row.get(start..start + factor * channels) else {
                break;
            };
            for px in block.chunks_exact(channels) {
                let (r, g, b) = if channels >= 3 {
                    (px[0], px[1], px[2])
                } else {
                    (px[0], px[0], px[0])
                };
                sum[0] += u32::from(r);
                sum[1] += u32::from(g);
                sum[2] += u32::from(b);
            }
        }
        if dy + 1 == self.factor {
            let area = self.factor * self.factor;
            for (ox, sum) in self.sums.chunks_exact_mut(3).enumerate() {
                let pixel = image::Rgb([
                    (sum[0] / area) as u8,
                    (sum[1] / area) as u8,
                    (sum[2] / area) as u8,
                ]);
                self.out.put_pixel(ox as u32, oy, pixel);
                sum.fill(0);
            }
        }
    }

    /// The averaged image (rows of blocks never completed stay black).
    pub(super) fn finish(self) -> RgbImage {
        self.out
    }
}

/// [`BoxShrink`] over a whole image of raw 8-bit pixels (`width · channels` values a row).
pub(super) fn box_shrink_raw(
    raw: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    factor: u32,
) -> RgbImage {
    let mut shrink = BoxShrink::new(width, height, channels, factor);
    let row_len = (width as usize * channels.clamp(1, 4)).max(1);
    for row in raw.chunks(row_len).take(height as usize) {
        shrink.push(row);
    }
    shrink.finish()
}
