//! Real media files generated at test time with the `image` crate's encoders.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

/// A committed photograph of `tests/fixtures/photos` (docs/MODERATION.md says which hold faces).
pub fn photo(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/photos/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A gradient image encoded in `format`.
pub fn image(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode image");
    out.into_inner()
}

/// A flat image (compresses to almost nothing, so huge dimensions stay cheap).
pub fn flat_png(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_pixel(width, height, Rgb([200, 100, 50]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    image(ImageFormat::Png, width, height)
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    image(ImageFormat::Jpeg, width, height)
}

/// The committed HEIC fixture (400×320).
pub fn heic() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gradient-400x320.heic"
    ))
    .expect("heic fixture")
}

/// A Windows icon header: an image family format the server does not accept.
pub fn ico() -> Vec<u8> {
    let mut out = vec![0, 0, 1, 0, 1, 0];
    // one 0×0 (=256) 32-bit entry of 40 bytes at offset 22
    out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 32, 0, 40, 0, 0, 0, 22, 0, 0, 0]);
    out.extend_from_slice(&[0u8; 40]);
    out
}

/// A JPEG cut off before its frame header.
pub fn truncated_jpeg() -> Vec<u8> {
    let full = jpeg(640, 480);
    full[..20].to_vec()
}

/// A minimal ISO-BMFF (mp4) header: a video family file.
pub fn mp4_header() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&[0, 0, 0, 0x18]);
    out.extend_from_slice(b"ftypisom");
    out.extend_from_slice(&[0, 0, 2, 0]);
    out.extend_from_slice(b"isomiso2");
    out.extend_from_slice(&[0, 0, 0, 8]);
    out.extend_from_slice(b"free");
    out
}

pub fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
      2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n\
      trailer << /Root 1 0 R >>\n%%EOF\n"
        .to_vec()
}

pub const HTML: &[u8] =
    b"<!DOCTYPE html>\n<html><head><title>Not found</title></head><body>gone</body></html>\n";
