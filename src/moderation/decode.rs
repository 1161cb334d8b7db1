//! Decoding an image for the checks, within a known memory cost: the header first (what the
//! decode will take), then the pixels, always at 8 bits per channel — 16-bit PNGs are reduced
//! while they are decoded, so a 6000×6000 16-bit RGBA image takes 144 MB, not 288 MB. A JPEG is
//! decoded straight to the face check's working size by scaling in the DCT (1/2, 1/4 or 1/8),
//! by libjpeg-turbo (`jpeg.rs`) or, for any file it complains of, `jpeg-decoder`: every
//! entropy-coded byte is still read, so a cut or corrupt file still fails. A PNG at least twice
//! the working size (and not interlaced) is block-averaged row by row as it is decoded, so
//! only the small image is held; every row is still decoded and checked.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::shrink::{BoxShrink, block_factor};
use image::DynamicImage;

/// What a decoder may allocate beyond what its plan reserved (small buffers, tables).
const DECODER_MARGIN: u64 = 16 * 1024 * 1024;

/// Why an image could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A format this server does not decode (e.g. HEIF), or an image the face detector could
    /// not run on: the `unscannable` policy applies.
    Unsupported(String),
    /// A format it decodes, but these bytes are not a whole image (cut, corrupt): the asset
    /// fails `image-unreadable` whatever the face policy.
    Unreadable(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Unsupported(why) | DecodeError::Unreadable(why) => f.write_str(why),
        }
    }
}

/// What decoding an image will take, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodePlan {
    pub width: u32,
    pub height: u32,
    /// Bytes of decoded pixels held at once.
    pub bytes: u64,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Decoded row by row and block-averaged by `shrink` as the rows come (1: whole, as an
    /// interlaced PNG must be).
    Png {
        shrink: u32,
    },
    /// Decoded scaled by 1/`scale` in the DCT.
    Jpeg {
        scale: u32,
    },
    Other,
}

/// A decoded image: its pixels (a JPEG's at a reduced scale, a large PNG's block-averaged)
/// and the image's full size.
pub struct Decoded {
    pub pixels: DynamicImage,
    pub width: u32,
    pub height: u32,
}

/// The smallest of the sizes a JPEG can be decoded at (1, 1/2, 1/4, 1/8) that is still at least
/// `side` px on its longer side (or the full size when that is smaller).
fn jpeg_scale(width: u32, height: u32, side: u32) -> u32 {
    let long = width.max(height);
    [8, 4, 2]
        .into_iter()
        .find(|&s| long.div_ceil(s) >= side)
        .unwrap_or(1)
}

/// The file's first 8 bytes (fewer when it is shorter): read once to tell PNG and JPEG apart.
fn head(path: &Path) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(8);
    File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    Ok(head)
}

fn png_reader(path: &Path) -> Result<png::Reader<BufReader<File>>, DecodeError> {
    let file = File::open(path).map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    // Palette and low bit depths expanded, 16-bit reduced: 8 bits per channel out.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder
        .read_info()
        .map_err(|e| DecodeError::Unreadable(format!("the PNG header is not valid: {e}")))
}

/// Reads the header: the size, and the bytes the decoded pixels will take. A JPEG is planned
/// scaled in the DCT to no less than `side` px on its longer side (the working size it is
/// decoded for).
pub fn plan(path: &Path, side: u32) -> Result<DecodePlan, DecodeError> {
    let head = head(path)?;
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        let reader = png_reader(path)?;
        let (width, height, interlaced) = {
            let info = reader.info();
            (info.width, info.height, info.interlaced)
        };
        let too_large = || DecodeError::Unreadable("the PNG is too large to decode".to_owned());
        // A PNG at least twice the working size is averaged down as its rows are decoded
        // (what the working image would do to the whole of it): only the small image and a
        // row are held. Interlaced rows come in seven passes, so such a PNG is decoded whole.
        let shrink = if interlaced {
            1
        } else {
            block_factor(width, height, side)
        };
        let bytes = if shrink >= 2 {
            let row = reader.output_line_size(width).ok_or_else(too_large)? as u64;
            let small = u64::from(width / shrink) * u64::from(height / shrink) * 3;
            small.saturating_add(row.saturating_mul(2))
        } else {
            reader.output_buffer_size().ok_or_else(too_large)? as u64
        };
        return Ok(DecodePlan {
            width,
            height,
            bytes,
            kind: Kind::Png { shrink },
        });
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return plan_jpeg(path, side);
    }
    let reader = image::ImageReader::open(path)
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    if reader.format().is_none() {
        return Err(DecodeError::Unsupported(
            "its format is not decoded here".to_owned(),
        ));
    }
    let jpeg = reader.format() == Some(image::ImageFormat::Jpeg);
    let decoder = reader.into_decoder().map_err(classify)?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    let pixels = image::ImageDecoder::total_bytes(&decoder);
    let bytes = if jpeg {
        // A progressive JPEG keeps every coefficient (two bytes a sample) until its last scan;
        // a baseline one decodes straight into the pixels.
        if is_progressive_jpeg(path) {
            pixels.saturating_mul(3)
        } else {
            pixels
        }
    } else {
        // What some decoders keep beside the pixels (TIFF strips, GIF frames).
        pixels.saturating_mul(2)
    };
    Ok(DecodePlan {
        width,
        height,
        bytes,
        kind: Kind::Other,
    })
}

fn jpeg_error(e: jpeg_decoder::Error) -> DecodeError {
    match e {
        jpeg_decoder::Error::Unsupported(what) => {
            DecodeError::Unsupported(format!("this JPEG is not decoded here: {what:?}"))
        }
        other => DecodeError::Unreadable(format!("the JPEG is not whole: {other}")),
    }
}

fn plan_jpeg(path: &Path, side: u32) -> Result<DecodePlan, DecodeError> {
    let file = File::open(path).map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    let mut decoder = jpeg_decoder::Decoder::new(BufReader::new(file));
    decoder.read_info().map_err(jpeg_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| DecodeError::Unreadable("the JPEG header is not valid".to_owned()))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let scale = jpeg_scale(width, height, side);
    let samples = u64::from(info.pixel_format.pixel_bytes() as u32);
    let scaled = u64::from(width.div_ceil(scale)) * u64::from(height.div_ceil(scale)) * samples;
    // The file (read whole), the scaled component planes and the interleaved output; a
    // progressive JPEG also keeps every coefficient of the full image (two bytes a sample)
    // until its last scan.
    let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut bytes = scaled.saturating_mul(2).saturating_add(file_len);
    if is_progressive_jpeg(path) {
        let full = u64::from(width) * u64::from(height) * samples;
        bytes = bytes.saturating_add(full.saturating_mul(2));
    }
    Ok(DecodePlan {
        width,
        height,
        bytes,
        kind: Kind::Jpeg { scale },
    })
}

/// A JPEG at 1/`scale`: by libjpeg-turbo on this thread (`jpeg.rs`) when it decodes the file
/// without a complaint, else by `jpeg-decoder`, whose verdict (pixels, unreadable or
/// unsupported) stands.
fn decode_jpeg(path: &Path, plan: &DecodePlan, scale: u32) -> Result<DynamicImage, DecodeError> {
    let bytes = std::fs::read(path).map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    match super::jpeg::decode_scaled(&bytes, scale, plan.bytes.saturating_add(DECODER_MARGIN)) {
        Ok(px) => {
            let wrong =
                || DecodeError::Unreadable("the decoded JPEG has the wrong size".to_owned());
            Ok(if px.channels == 1 {
                DynamicImage::ImageLuma8(
                    image::GrayImage::from_raw(px.width, px.height, px.data).ok_or_else(wrong)?,
                )
            } else {
                DynamicImage::ImageRgb8(
                    image::RgbImage::from_raw(px.width, px.height, px.data).ok_or_else(wrong)?,
                )
            })
        }
        Err(declined) => {
            tracing::debug!(reason = %declined.0, "libjpeg declined a JPEG; decoding it again");
            decode_jpeg_judged(&bytes, plan, scale)
        }
    }
}

/// The file's bytes decoded by `jpeg-decoder`: what judges a file libjpeg declined.
fn decode_jpeg_judged(
    bytes: &[u8],
    plan: &DecodePlan,
    scale: u32,
) -> Result<DynamicImage, DecodeError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(
        usize::try_from(plan.bytes.saturating_add(DECODER_MARGIN)).unwrap_or(usize::MAX),
    );
    decoder.read_info().map_err(jpeg_error)?;
    let want = |v: u32| u16::try_from(v.div_ceil(scale)).unwrap_or(u16::MAX);
    let (w, h) = decoder
        .scale(want(plan.width), want(plan.height))
        .map_err(jpeg_error)?;
    let pixels = decoder.decode().map_err(jpeg_error)?;
    let (w, h) = (u32::from(w), u32::from(h));
    let info = decoder
        .info()
        .ok_or_else(|| DecodeError::Unreadable("the JPEG header is not valid".to_owned()))?;
    let cut = || DecodeError::Unreadable("the JPEG data is shorter than its size".to_owned());
    use jpeg_decoder::PixelFormat as F;
    Ok(match info.pixel_format {
        F::L8 => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, pixels).ok_or_else(cut)?)
        }
        F::L16 => {
            // Big-endian 16-bit grey: the high byte is the 8-bit value.
            let high = pixels.chunks_exact(2).map(|p| p[0]).collect();
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, high).ok_or_else(cut)?)
        }
        F::RGB24 => {
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, pixels).ok_or_else(cut)?)
        }
        F::CMYK32 => {
            // Adobe's CMYK JPEGs store inverted values: each channel times K.
            let rgb = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    [0, 1, 2].map(|c| ((u16::from(p[c]) * k) / 255) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, rgb).ok_or_else(cut)?)
        }
    })
}

/// Whether the JPEG's frame header (before its first scan) is a progressive one (SOF2).
fn is_progressive_jpeg(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    if File::open(path)
        .and_then(|f| f.take(256 * 1024).read_to_end(&mut head))
        .is_err()
    {
        return false;
    }
    let mut at = 2; // after SOI
    while let (Some(&0xFF), Some(&marker)) = (head.get(at), head.get(at + 1)) {
        match marker {
            0xC2 => return true,
            0xDA => return false, // the first scan: the frame header came before it
            0xFF => at += 1,      // fill byte
            _ => {
                let len = head
                    .get(at + 2..at + 4)
                    .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
                if len < 2 {
                    return false;
                }
                at += 2 + len;
            }
        }
    }
    false
}

fn classify(e: image::ImageError) -> DecodeError {
    match e {
        image::ImageError::Unsupported(e) => DecodeError::Unsupported(e.to_string()),
        // A decoder that needs more than it was given: not the image's fault.
        image::ImageError::Limits(e) => DecodeError::Unsupported(e.to_string()),
        other => DecodeError::Unreadable(other.to_string()),
    }
}

/// Decodes the image at 8 bits per channel (other formats as their decoder gives them; a JPEG
/// at its planned scale), refusing to allocate more than the plan said.
pub fn decode(path: &Path, plan: &DecodePlan) -> Result<Decoded, DecodeError> {
    let pixels = match plan.kind {
        Kind::Png { shrink } if shrink >= 2 => decode_png_shrunk(path, shrink)?,
        Kind::Png { .. } => decode_png(path, plan)?,
        Kind::Jpeg { scale } => decode_jpeg(path, plan, scale)?,
        Kind::Other => decode_other(path, plan)?,
    };
    Ok(Decoded {
        pixels,
        width: plan.width,
        height: plan.height,
    })
}

fn decode_other(path: &Path, plan: &DecodePlan) -> Result<DynamicImage, DecodeError> {
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(plan.bytes.saturating_add(DECODER_MARGIN));
    reader.limits(limits);
    reader.decode().map_err(classify)
}

/// A non-interlaced PNG decoded row by row, each row added into its block average as it
/// comes (`shrink::BoxShrink`): the pixels the working image would have been made of, without
/// the whole image ever being held.
fn decode_png_shrunk(path: &Path, shrink: u32) -> Result<DynamicImage, DecodeError> {
    let mut reader = png_reader(path)?;
    let (width, height) = {
        let info = reader.info();
        (info.width, info.height)
    };
    let channels = match reader.output_color_type().0 {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(DecodeError::Unreadable(
                "the PNG palette could not be expanded".to_owned(),
            ));
        }
    };
    let mut small = BoxShrink::new(width, height, channels, shrink);
    let mut rows = 0u32;
    while let Some(row) = reader
        .next_row()
        .map_err(|e| DecodeError::Unreadable(format!("the PNG data is not whole: {e}")))?
    {
        small.push(row.data());
        rows += 1;
    }
    if rows < height {
        return Err(DecodeError::Unreadable(
            "the PNG data is shorter than its size".to_owned(),
        ));
    }
    Ok(DynamicImage::ImageRgb8(small.finish()))
}

fn decode_png(path: &Path, plan: &DecodePlan) -> Result<DynamicImage, DecodeError> {
    let mut reader = png_reader(path)?;
    let size = usize::try_from(plan.bytes)
        .map_err(|_| DecodeError::Unreadable("the PNG is too large to decode".to_owned()))?;
    let mut buf = vec![0u8; size];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| DecodeError::Unreadable(format!("the PNG data is not whole: {e}")))?;
    buf.truncate(frame.buffer_size());
    let (w, h) = (frame.width, frame.height);
    let cut = || DecodeError::Unreadable("the PNG data is shorter than its size".to_owned());
    let image = match frame.color_type {
        png::ColorType::Grayscale => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, buf).ok_or_else(cut)?)
        }
        png::ColorType::GrayscaleAlpha => {
            DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_raw(w, h, buf).ok_or_else(cut)?)
        }
        png::ColorType::Rgb => {
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, buf).ok_or_else(cut)?)
        }
        png::ColorType::Rgba => {
            DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, buf).ok_or_else(cut)?)
        }
        png::ColorType::Indexed => {
            return Err(DecodeError::Unreadable(
                "the PNG palette could not be expanded".to_owned(),
            ));
        }
    };
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpegs_decode_at_the_smallest_scale_that_keeps_the_working_size() {
        assert_eq!(jpeg_scale(1920, 1080, 640), 2);
        assert_eq!(jpeg_scale(4000, 3000, 640), 4);
        assert_eq!(jpeg_scale(6000, 4000, 640), 8);
        assert_eq!(jpeg_scale(800, 600, 640), 1);
        assert_eq!(jpeg_scale(1280, 720, 640), 2);
    }

    fn jpeg(dir: &Path, w: u32, h: u32) -> std::path::PathBuf {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
        });
        let path = dir.join(format!("{w}x{h}.jpg"));
        img.save(&path).expect("save");
        path
    }

    #[test]
    fn a_scaled_jpeg_keeps_its_full_size_and_a_cut_one_fails() {
        let dir = tempfile::tempdir().expect("dir");
        let path = jpeg(dir.path(), 1920, 1080);
        // Decoded straight to no less than the working size asked for.
        for (side, scaled) in [(640, (960, 540)), (480, (480, 270))] {
            let planned = plan(&path, side).expect("plan");
            assert_eq!((planned.width, planned.height), (1920, 1080));
            let decoded = decode(&path, &planned).expect("decode");
            assert_eq!((decoded.width, decoded.height), (1920, 1080));
            assert_eq!((decoded.pixels.width(), decoded.pixels.height()), scaled);
        }
        // Cut anywhere in the entropy-coded data: the file is not whole.
        let bytes = std::fs::read(&path).expect("read");
        for keep in [0.3, 0.6, 0.95] {
            let cut = dir.path().join("cut.jpg");
            std::fs::write(&cut, &bytes[..(bytes.len() as f64 * keep) as usize]).expect("write");
            let result = plan(&cut, super::super::DETECT_SIDE).and_then(|p| decode(&cut, &p));
            assert!(
                matches!(result, Err(DecodeError::Unreadable(_))),
                "kept {keep}: {:?}",
                result.map(|d| d.width)
            );
        }
    }

    /// A `w`×`h` PNG of `color` at `depth` bits (a palette of 256 colours for `Indexed`), a
    /// pattern with no flat areas; `cut` drops that many bytes from its end.
    fn png_file(
        dir: &Path,
        (color, depth): (png::ColorType, png::BitDepth),
        (w, h): (u32, u32),
        cut: usize,
    ) -> std::path::PathBuf {
        let samples = match color {
            png::ColorType::Grayscale | png::ColorType::Indexed => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
        };
        let bytes = if depth == png::BitDepth::Sixteen {
            2
        } else {
            1
        };
        let mut data = Vec::with_capacity((w * h) as usize * samples * bytes);
        for y in 0..h {
            for x in 0..w {
                for c in 0..samples {
                    let v = ((x * 7 + y * 13 + c as u32 * 61) ^ (x * y)) as u8;
                    data.push(v);
                    if bytes == 2 {
                        data.push(v.wrapping_mul(31));
                    }
                }
            }
        }
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, w, h);
            encoder.set_color(color);
            encoder.set_depth(depth);
            if color == png::ColorType::Indexed {
                encoder.set_palette(
                    (0..=255u8)
                        .flat_map(|v| [v, v / 2, 255 - v])
                        .collect::<Vec<_>>(),
                );
            }
            let mut writer = encoder.write_header().expect("header");
            writer.write_image_data(&data).expect("data");
        }
        out.truncate(out.len() - cut);
        let path = dir.join(format!("{color:?}-{}-{w}x{h}-{cut}.png", bytes * 8));
        std::fs::write(&path, &out).expect("write");
        path
    }

    #[test]
    fn a_large_png_is_averaged_as_its_rows_come_to_the_pixels_of_a_whole_decode() {
        use png::{BitDepth, ColorType};
        let dir = tempfile::tempdir().expect("dir");
        for kind in [
            (ColorType::Rgb, BitDepth::Eight),
            (ColorType::Rgba, BitDepth::Eight),
            (ColorType::Grayscale, BitDepth::Eight),
            (ColorType::GrayscaleAlpha, BitDepth::Eight),
            (ColorType::Rgb, BitDepth::Sixteen),
            (ColorType::Indexed, BitDepth::Eight),
        ] {
            // 1303×701 for a working side of 480: blocks of 2, a column and a row left over.
            let path = png_file(dir.path(), kind, (1303, 701), 0);
            let planned = plan(&path, 480).expect("plan");
            assert_eq!(planned.kind, Kind::Png { shrink: 2 }, "{kind:?}");
            assert_eq!((planned.width, planned.height), (1303, 701));
            let decoded = decode(&path, &planned).expect("decode");
            assert_eq!((decoded.width, decoded.height), (1303, 701));
            // The whole image (a working side it is not twice of), then the same averaging.
            let whole_plan = plan(&path, 1000).expect("plan");
            assert_eq!(whole_plan.kind, Kind::Png { shrink: 1 });
            assert!(
                planned.bytes < whole_plan.bytes,
                "{kind:?}: {} bytes",
                planned.bytes
            );
            let whole = decode(&path, &whole_plan).expect("decode").pixels;
            let channels = usize::from(whole.color().channel_count());
            let want =
                super::super::shrink::box_shrink_raw(whole.as_bytes(), 1303, 701, channels, 2);
            assert_eq!(decoded.pixels.as_rgb8(), Some(&want), "{kind:?}");
        }
    }

    #[test]
    fn a_cut_large_png_fails_as_a_whole_one_does() {
        let dir = tempfile::tempdir().expect("dir");
        let kind = (png::ColorType::Rgb, png::BitDepth::Eight);
        for cut in [12, 2000, 200_000] {
            let path = png_file(dir.path(), kind, (1303, 701), cut);
            for side in [480, 1000] {
                let result = plan(&path, side).and_then(|p| decode(&path, &p));
                assert!(
                    matches!(result, Err(DecodeError::Unreadable(_))),
                    "cut by {cut}, side {side}: {:?}",
                    result.map(|d| d.width)
                );
            }
        }
    }
}
