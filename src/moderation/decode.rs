//! Decoding an image for the checks, within a known memory cost: the header first (what the
//! decode will take), then the pixels, always at 8 bits per channel — 16-bit PNGs are reduced
//! while they are decoded, so a 6000×6000 16-bit RGBA image takes 144 MB, not 288 MB.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use image::DynamicImage;

/// What a decoder may allocate beyond what its plan reserved (small buffers, tables).
const DECODER_MARGIN: u64 = 16 * 1024 * 1024;

/// Why an image could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A format this server does not decode (e.g. HEIF): the `unscannable` policy applies.
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
    png: bool,
}

fn is_png(path: &Path) -> Result<bool, DecodeError> {
    use std::io::Read;
    let mut magic = [0u8; 8];
    let mut file = File::open(path).map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    let n = file
        .read(&mut magic)
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    Ok(n == 8 && magic == *b"\x89PNG\r\n\x1a\n")
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

/// Reads the header: the size, and the bytes the decoded pixels will take.
pub fn plan(path: &Path) -> Result<DecodePlan, DecodeError> {
    if is_png(path)? {
        let reader = png_reader(path)?;
        let (width, height) = {
            let info = reader.info();
            (info.width, info.height)
        };
        let bytes = reader
            .output_buffer_size()
            .map(|n| n as u64)
            .ok_or_else(|| DecodeError::Unreadable("the PNG is too large to decode".to_owned()))?;
        return Ok(DecodePlan {
            width,
            height,
            bytes,
            png: true,
        });
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
        png: false,
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

/// Decodes the whole image at 8 bits per channel (other formats as their decoder gives them),
/// refusing to allocate more than the plan said.
pub fn decode(path: &Path, plan: &DecodePlan) -> Result<DynamicImage, DecodeError> {
    if plan.png {
        return decode_png(path, plan);
    }
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(plan.bytes.saturating_add(DECODER_MARGIN));
    reader.limits(limits);
    reader.decode().map_err(classify)
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
