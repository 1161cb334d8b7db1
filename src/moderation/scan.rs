//! The face check's decoding: an image decoded once (faces + preview), or a video's first
//! frame and evenly spaced keyframes.

use std::path::Path;

use super::FaceDetector;
use super::decode::{DecodeError, Decoded, decode, plan};
use super::shrink::{block_factor, box_shrink_raw};
use crate::domain::FaceBox;

/// Longest side of a preview: at most this…
const PREVIEW_SIDE: u32 = 512;
/// …and at least this (when the image is that large).
const PREVIEW_MIN_SIDE: u32 = 384;
/// Working size of the face check unless the detector asks for another
/// (`FaceDetector::working_side`): the detector looks at images at most this large, and the
/// preview is made from the same image.
pub const DETECT_SIDE: u32 = 480;

/// What a face check found in an image or a video's sampled frames.
pub struct Scan {
    pub faces: Vec<FaceBox>,
    /// Size of the image (or of the video's frames).
    pub width: u32,
    pub height: u32,
    /// A JPEG of 384–512 px on its longer side (smaller images keep their size), for reviewers.
    pub preview: Option<Vec<u8>>,
    /// Of a video: a JPEG of each checked frame after the first (the first is `preview`).
    pub frame_previews: Vec<Vec<u8>>,
    /// Of a video: how many frames were checked.
    pub frames: Option<u32>,
    /// Of a video: a JPEG of each checked frame at the video's own size, in order (the first
    /// frame first), so that a reviewer can zoom in on what was checked.
    pub full_frames: Vec<Vec<u8>>,
    /// Of a video: when each checked frame is, in milliseconds from its start (empty when
    /// unknown).
    pub frame_millis: Vec<u64>,
}

/// A JPEG of a frame at its own size.
fn full_jpeg(frame: &image::RgbImage) -> Option<Vec<u8>> {
    encode_jpeg(frame, 90)
}

/// `image` as a baseline JPEG of `quality` (`None` for an image too large for JPEG).
fn encode_jpeg(image: &image::RgbImage, quality: u8) -> Option<Vec<u8>> {
    let (w, h) = (
        u16::try_from(image.width()).ok()?,
        u16::try_from(image.height()).ok()?,
    );
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(image.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .ok()?;
    Some(out)
}

/// A JPEG of `PREVIEW_MIN_SIDE`–`PREVIEW_SIDE` px on its longer side (smaller images keep theirs).
fn preview_jpeg(image: &image::DynamicImage) -> Option<Vec<u8>> {
    // Block averaging first (a fraction of a filtered resize's cost), by as much as keeps the
    // preview at least `PREVIEW_MIN_SIDE`; a filtered resize only for what remains.
    let side = image.width().max(image.height());
    let factor = side / PREVIEW_MIN_SIDE;
    let shrunk = if factor >= 2 {
        let rgb = match image {
            image::DynamicImage::ImageRgb8(rgb) => box_shrink(rgb, factor),
            other => box_shrink(&other.to_rgb8(), factor),
        };
        image::DynamicImage::ImageRgb8(rgb)
    } else {
        image.clone()
    };
    let small = if shrunk.width().max(shrunk.height()) > PREVIEW_SIDE {
        shrunk.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE).to_rgb8()
    } else {
        shrunk.to_rgb8()
    };
    encode_jpeg(&small, 80)
}

/// Decodes the image at `path` and scans it (`decode::plan` + `decode::decode` + `scan_decoded`),
/// without a decode budget: for tools and benchmarks.
pub fn scan_image(path: &Path, detector: &dyn FaceDetector) -> Result<Scan, DecodeError> {
    let plan = plan(path, detector.working_side())?;
    let decoded = decode(path, &plan)?;
    scan_decoded(decoded, Some(detector))
}

/// Scans a decoded image: one fast downscale to the detector's working size (at most
/// `FaceDetector::working_side` px on its longer side) serves both the face check (boxes are mapped back to the full image) and
/// the preview. Without a detector only the size is taken (no check, no preview). A detector
/// that cannot run makes the image unscannable (`DecodeError::Unsupported`).
pub fn scan_decoded(
    decoded: Decoded,
    detector: Option<&dyn FaceDetector>,
) -> Result<Scan, DecodeError> {
    let (width, height) = (decoded.width, decoded.height);
    let Some(detector) = detector else {
        return Ok(Scan {
            faces: Vec::new(),
            width,
            height,
            preview: None,
            frame_previews: Vec::new(),
            frames: None,
            full_frames: Vec::new(),
            frame_millis: Vec::new(),
        });
    };
    let work = working_image(decoded.pixels, detector.working_side());
    let faces = detect_scaled(detector, &work, width).map_err(DecodeError::Unsupported)?;
    let preview = preview_jpeg(&image::DynamicImage::ImageRgb8(work));
    Ok(Scan {
        faces,
        width,
        height,
        preview,
        frame_previews: Vec::new(),
        frames: None,
        full_frames: Vec::new(),
        frame_millis: Vec::new(),
    })
}

/// The image at most `side` px on its longer side, in RGB: block averaging by an integer
/// factor (the decoded pixels are dropped as soon as the small image exists), then a filtered
/// resize for what remains.
fn working_image(pixels: image::DynamicImage, side: u32) -> image::RgbImage {
    let side = side.max(1);
    let factor = block_factor(pixels.width(), pixels.height(), side);
    let shrunk = if factor >= 2 {
        box_shrink_any(pixels, factor)
    } else {
        pixels.into_rgb8()
    };
    if shrunk.width().max(shrunk.height()) > side {
        let s = f64::from(side) / f64::from(shrunk.width().max(shrunk.height()));
        let fit = |v: u32| ((f64::from(v) * s).round() as u32).max(1);
        super::resample::triangle_resize(&shrunk, fit(shrunk.width()), fit(shrunk.height()))
    } else {
        shrunk
    }
}

/// Faces in `work`, mapped to an image `full_width` px wide; `Err` when the detector could
/// not look.
fn detect_scaled(
    detector: &dyn FaceDetector,
    work: &image::RgbImage,
    full_width: u32,
) -> Result<Vec<FaceBox>, String> {
    let scale = f64::from(full_width) / f64::from(work.width().max(1));
    let faces = detector
        .detect(work)
        .map_err(|why| format!("the face detector failed: {why}"))?;
    Ok(faces
        .into_iter()
        .map(|f| {
            let up = |v: u32| (f64::from(v) * scale).round() as u32;
            FaceBox {
                x: up(f.x),
                y: up(f.y),
                width: up(f.width),
                height: up(f.height),
                score: f.score,
                frame: None,
            }
        })
        .collect())
}

/// `box_shrink` from any decoded layout: 8-bit grey, grey+alpha, RGB and RGBA are read in
/// place (alpha ignored); other layouts are converted to RGB first.
fn box_shrink_any(decoded: image::DynamicImage, factor: u32) -> image::RgbImage {
    use image::DynamicImage as D;
    let (w, h) = (decoded.width(), decoded.height());
    match &decoded {
        D::ImageRgb8(rgb) => box_shrink_raw(rgb.as_raw(), w, h, 3, factor),
        D::ImageRgba8(rgba) => box_shrink_raw(rgba.as_raw(), w, h, 4, factor),
        D::ImageLuma8(l) => box_shrink_raw(l.as_raw(), w, h, 1, factor),
        D::ImageLumaA8(la) => box_shrink_raw(la.as_raw(), w, h, 2, factor),
        _ => box_shrink(&decoded.to_rgb8(), factor),
    }
}

/// Shrinks by an integer `factor`, each output pixel the mean of a `factor`×`factor` block
/// (`shrink::BoxShrink`).
fn box_shrink(src: &image::RgbImage, factor: u32) -> image::RgbImage {
    box_shrink_raw(src.as_raw(), src.width(), src.height(), 3, factor)
}

/// How many frames of a video are checked: the first and up to four keyframes.
const VIDEO_FRAMES: usize = 5;

/// Decodes the first frame and evenly spaced keyframes; detects faces on each; the first frame
/// becomes the poster preview. Without a detector only the first frame is decoded, for its
/// size (no check, no preview).
pub fn scan_video(
    path: &Path,
    len: u64,
    detector: Option<&dyn FaceDetector>,
) -> Result<Scan, String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let count = if detector.is_some() { VIDEO_FRAMES } else { 1 };
    let frames = crate::moderation::video::frames(&mut file, len, count)?;
    let (width, height) = frames.rgb.first().map(|f| f.dimensions()).unwrap_or((0, 0));
    let Some(detector) = detector else {
        return Ok(Scan {
            faces: Vec::new(),
            width,
            height,
            preview: None,
            frame_previews: Vec::new(),
            frames: None,
            full_frames: Vec::new(),
            frame_millis: Vec::new(),
        });
    };
    let mut faces = Vec::new();
    let mut preview = None;
    let mut frame_previews = Vec::new();
    let checked = frames.rgb.len();
    for (index, frame) in frames.rgb.iter().enumerate() {
        let work = working_image(
            image::DynamicImage::ImageRgb8(frame.clone()),
            detector.working_side(),
        );
        let number = u32::try_from(index).unwrap_or(u32::MAX);
        faces.extend(
            detect_scaled(detector, &work, width)?
                .into_iter()
                .map(|face| FaceBox {
                    frame: Some(number),
                    ..face
                }),
        );
        let jpeg = preview_jpeg(&image::DynamicImage::ImageRgb8(work));
        if index == 0 {
            preview = jpeg;
        } else if let Some(jpeg) = jpeg {
            frame_previews.push(jpeg);
        }
    }
    // Only a video with faces can be held for review: the others need no full-size frames.
    // All or none, so that frame `n` is always the `n`th checked frame.
    let full_frames = if faces.is_empty() {
        Vec::new()
    } else {
        frames
            .rgb
            .iter()
            .map(full_jpeg)
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default()
    };
    let frame_millis = frames.millis;
    Ok(Scan {
        faces,
        width,
        height,
        preview,
        frame_previews,
        frames: u32::try_from(checked).ok(),
        full_frames,
        frame_millis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A detector whose model cannot run.
    struct Broken;

    impl FaceDetector for Broken {
        fn detect(&self, _image: &image::RgbImage) -> Result<Vec<FaceBox>, String> {
            Err("the net did not run".to_owned())
        }
        fn name(&self) -> &'static str {
            "broken"
        }
    }

    #[test]
    fn a_detector_that_cannot_run_makes_the_image_unscannable_not_faceless() {
        let pixels = image::DynamicImage::ImageRgb8(image::RgbImage::new(64, 48));
        let decoded = Decoded {
            pixels,
            width: 64,
            height: 48,
        };
        match scan_decoded(decoded, Some(&Broken)) {
            Err(DecodeError::Unsupported(why)) => {
                assert!(why.contains("face detector failed"), "{why}");
            }
            Err(other) => panic!("unreadable is for bad bytes, not a failed detector: {other}"),
            Ok(scan) => panic!("passed with {} faces", scan.faces.len()),
        }
    }

    #[test]
    fn box_shrink_averages_blocks() {
        let src =
            image::RgbImage::from_fn(5, 4, |x, y| image::Rgb([(x * 10) as u8, (y * 10) as u8, 7]));
        let out = box_shrink(&src, 2);
        assert_eq!(out.dimensions(), (2, 2));
        assert_eq!(out.get_pixel(0, 0).0, [5, 5, 7]);
        assert_eq!(out.get_pixel(1, 1).0, [25, 25, 7]);
        // Other layouts average the same way.
        let rgba = image::RgbaImage::from_fn(4, 4, |x, _| image::Rgba([(x * 10) as u8, 0, 0, 9]));
        let out = box_shrink_any(image::DynamicImage::ImageRgba8(rgba), 2);
        assert_eq!(out.get_pixel(1, 1).0, [25, 0, 0]);
        let grey = image::GrayImage::from_fn(4, 4, |x, _| image::Luma([(x * 10) as u8]));
        let out = box_shrink_any(image::DynamicImage::ImageLuma8(grey), 2);
        assert_eq!(out.get_pixel(0, 0).0, [5, 5, 5]);
    }
}
