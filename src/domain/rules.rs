//! Media rules as data (defaults = the product brief §2) and the pure checks over them.

use super::codes::{self, Code};
use super::limits::MIB;
pub use super::limits::{AudioLimits, ImageLimits, MediaLimits, TypeLimits, VideoLimits};
use super::{AssetType, MediaFacts};

/// A rule an asset broke: a stable kebab-case code and a message naming the measured value
/// and the allowed range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: &'static Code,
    pub message: String,
}

impl Violation {
    fn new(code: &'static Code, message: String) -> Self {
        Self { code, message }
    }
}

/// Human-readable size: "31.5 MB" (MiB, one decimal).
pub fn describe_bytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / MIB as f64)
}

/// Human-readable cap: "under 30 MB" for an exclusive power-of-MiB cap, else "at most N MB".
pub fn describe_cap(max_bytes: u64) -> String {
    if (max_bytes + 1).is_multiple_of(MIB) {
        format!("under {} MB", (max_bytes + 1) / MIB)
    } else if max_bytes.is_multiple_of(MIB) {
        format!("at most {} MB", max_bytes / MIB)
    } else {
        format!("at most {max_bytes} bytes")
    }
}

/// The format must be one the type accepts.
pub fn check_format(
    asset_type: AssetType,
    format: &str,
    limits: &MediaLimits,
) -> Option<Violation> {
    let accepted = &limits.for_type(asset_type).formats;
    if accepted.iter().any(|f| f == format) {
        return None;
    }
    let code = match asset_type {
        AssetType::Image => &codes::IMAGE_FORMAT,
        AssetType::Video => &codes::VIDEO_FORMAT,
        AssetType::Audio => &codes::AUDIO_FORMAT,
        AssetType::Document => &codes::DOCUMENT_FORMAT,
    };
    Some(Violation::new(
        code,
        format!(
            "{format} is not an accepted {} format; accepted: {}",
            asset_type.as_str().to_lowercase(),
            accepted.join(", ")
        ),
    ))
}

/// The size cap of the type.
pub fn check_size(asset_type: AssetType, bytes: u64, limits: &MediaLimits) -> Option<Violation> {
    let cap = limits.for_type(asset_type).max_bytes;
    (bytes > cap).then(|| {
        Violation::new(
            &codes::TOO_LARGE,
            format!(
                "{} is {}; it must be {}",
                asset_type.as_str().to_lowercase(),
                describe_bytes(bytes),
                describe_cap(cap)
            ),
        )
    })
}

/// Side and ratio rules shared by images and videos; codes are `{what}-dimensions` and
/// `{what}-ratio`.
fn check_frame(
    what: &str,
    codes: (&'static Code, &'static Code),
    width: u32,
    height: u32,
    sides: (u32, u32),
    ratios: (f64, f64),
) -> Vec<Violation> {
    let mut out = Vec::new();
    let side_ok = |side: u32| (sides.0..=sides.1).contains(&side);
    if !side_ok(width) || !side_ok(height) {
        out.push(Violation::new(
            codes.0,
            format!(
                "{what} is {width}x{height}; each side must be {}–{} px",
                sides.0, sides.1
            ),
        ));
    }
    if height > 0 {
        let ratio = f64::from(width) / f64::from(height);
        if ratio < ratios.0 || ratio > ratios.1 {
            out.push(Violation::new(
                codes.1,
                format!(
                    "{what} is {width}x{height} (width/height ratio {ratio:.2}); the ratio must be {}–{}",
                    ratios.0, ratios.1
                ),
            ));
        }
    }
    out
}

/// Every image rule over the measured dimensions.
pub fn check_image_dimensions(width: u32, height: u32, rules: &ImageLimits) -> Vec<Violation> {
    check_frame(
        "image",
        (&codes::IMAGE_DIMENSIONS, &codes::IMAGE_RATIO),
        width,
        height,
        (rules.min_side, rules.max_side),
        (rules.min_ratio, rules.max_ratio),
    )
}

fn seconds(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    if ms.is_multiple_of(1000) {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

fn fps_text(fps: f64) -> String {
    if (fps - fps.round()).abs() < 0.005 {
        format!("{fps:.0}")
    } else {
        format!("{fps:.2}")
    }
}

/// "1080p"-style label from the shorter side.
fn resolution_label(width: u32, height: u32) -> String {
    let short = width.min(height);
    match short {
        s if s >= 2160 => "4K".to_owned(),
        s if s >= 1440 => "1440p".to_owned(),
        s if s >= 1080 => "1080p".to_owned(),
        s if s >= 720 => "720p".to_owned(),
        s if s >= 480 => "480p".to_owned(),
        s => format!("{s}p"),
    }
}

fn check_duration(
    what: &str,
    code: &'static Code,
    ms: u64,
    min: u64,
    max: u64,
) -> Option<Violation> {
    (ms < min || ms > max).then(|| {
        Violation::new(
            code,
            format!(
                "{what} is {} s long; allowed {}–{} s",
                seconds(ms),
                seconds(min),
                seconds(max)
            ),
        )
    })
}

/// Every video rule over the probed facts.
pub fn check_video(
    width: u32,
    height: u32,
    duration_ms: u64,
    fps: f64,
    rules: &VideoLimits,
) -> Vec<Violation> {
    let mut out = Vec::new();
    out.extend(check_duration(
        "video",
        &codes::VIDEO_DURATION,
        duration_ms,
        rules.min_duration_ms,
        rules.max_duration_ms,
    ));
    if fps < rules.min_fps - 0.005 || fps > rules.max_fps + 0.005 {
        out.push(Violation::new(
            &codes::VIDEO_FPS,
            format!(
                "video is {} fps; allowed {}–{}",
                fps_text(fps),
                fps_text(rules.min_fps),
                fps_text(rules.max_fps)
            ),
        ));
    }
    let pixels = u64::from(width) * u64::from(height);
    let max_pixels = if rules.allow_1080p {
        rules.max_pixels_1080p
    } else {
        rules.max_pixels
    };
    if pixels < rules.min_pixels || pixels > max_pixels {
        let allowed = if rules.allow_1080p {
            "480p, 720p or 1080p"
        } else {
            "480p or 720p"
        };
        out.push(Violation::new(
            &codes::VIDEO_RESOLUTION,
            format!(
                "video is {width}x{height} ({}, {pixels} pixels); allowed: {allowed} ({}–{max_pixels} pixels)",
                resolution_label(width, height),
                rules.min_pixels
            ),
        ));
    }
    out.extend(check_frame(
        "video",
        (&codes::VIDEO_DIMENSIONS, &codes::VIDEO_RATIO),
        width,
        height,
        (rules.min_side, rules.max_side),
        (rules.min_ratio, rules.max_ratio),
    ));
    out
}

/// Every rule of `asset_type` over probed facts. Missing facts that a rule needs are a
/// violation of their own (the file did not say).
pub fn check(asset_type: AssetType, facts: &MediaFacts, limits: &MediaLimits) -> Vec<Violation> {
    match asset_type {
        AssetType::Image => match (facts.width, facts.height) {
            (Some(w), Some(h)) => check_image_dimensions(w, h, &limits.image_rules),
            _ => vec![Violation::new(
                &codes::IMAGE_UNREADABLE,
                "the image does not state its size".into(),
            )],
        },
        AssetType::Video => match (facts.width, facts.height, facts.duration_ms, facts.fps) {
            (Some(w), Some(h), Some(d), Some(fps)) => {
                check_video(w, h, d, fps, &limits.video_rules)
            }
            _ => vec![Violation::new(
                &codes::VIDEO_UNREADABLE,
                "the video does not state its size, duration and frame rate".into(),
            )],
        },
        AssetType::Audio => match facts.duration_ms {
            Some(d) => check_duration(
                "audio",
                &codes::AUDIO_DURATION,
                d,
                limits.audio_rules.min_duration_ms,
                limits.audio_rules.max_duration_ms,
            )
            .into_iter()
            .collect(),
            None => vec![Violation::new(
                &codes::AUDIO_UNREADABLE,
                "the audio does not state its duration".into(),
            )],
        },
        AssetType::Document => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_dimension_rules() {
        let r = MediaLimits::default().image_rules;
        assert!(check_image_dimensions(300, 300, &r).is_empty());
        assert!(check_image_dimensions(6000, 6000, &r).is_empty());
        assert!(check_image_dimensions(1000, 400, &r).is_empty()); // exactly 2.5
        assert!(check_image_dimensions(400, 1000, &r).is_empty()); // exactly 0.4

        let small = check_image_dimensions(200, 200, &r);
        assert_eq!(small.len(), 1);
        assert_eq!(small[0].code, &codes::IMAGE_DIMENSIONS);
        assert_eq!(
            small[0].message,
            "image is 200x200; each side must be 300–6000 px"
        );

        assert_eq!(
            check_image_dimensions(6001, 6000, &r)[0].code,
            &codes::IMAGE_DIMENSIONS
        );
        let wide = check_image_dimensions(1500, 500, &r);
        assert_eq!(wide.len(), 1);
        assert_eq!(wide[0].code, &codes::IMAGE_RATIO);
        assert!(wide[0].message.contains("3.00"), "{}", wide[0].message);
        assert_eq!(
            check_image_dimensions(300, 1000, &r)[0].code,
            &codes::IMAGE_RATIO
        );
    }

    #[test]
    fn video_rules() {
        let r = MediaLimits::default().video_rules;
        assert!(check_video(1280, 720, 5_000, 30.0, &r).is_empty());
        assert!(check_video(854, 480, 2_000, 24.0, &r).is_empty());
        assert!(check_video(640, 640, 15_000, 60.0, &r).is_empty());
        assert!(check_video(1280, 720, 5_000, 29.97, &r).is_empty());
        let found = |v: Vec<Violation>| v.into_iter().map(|v| v.code).collect::<Vec<_>>();
        assert_eq!(
            found(check_video(1280, 720, 1_500, 30.0, &r)),
            vec![&codes::VIDEO_DURATION]
        );
        assert_eq!(
            found(check_video(1280, 720, 16_000, 30.0, &r)),
            vec![&codes::VIDEO_DURATION]
        );
        let slow = check_video(1280, 720, 5_000, 15.0, &r);
        assert_eq!(slow[0].code, &codes::VIDEO_FPS);
        assert_eq!(slow[0].message, "video is 15 fps; allowed 24–60");
        assert_eq!(
            found(check_video(1280, 720, 5_000, 120.0, &r)),
            vec![&codes::VIDEO_FPS]
        );
        let hd = check_video(1920, 1080, 5_000, 30.0, &r);
        assert_eq!(found(hd.clone()), vec![&codes::VIDEO_RESOLUTION]);
        assert!(
            hd[0]
                .message
                .starts_with("video is 1920x1080 (1080p, 2073600 pixels); allowed: 480p or 720p"),
            "{}",
            hd[0].message
        );
        let mut with_1080p = r.clone();
        with_1080p.allow_1080p = true;
        assert!(check_video(1920, 1080, 5_000, 30.0, &with_1080p).is_empty());
        assert_eq!(
            found(check_video(400, 300, 5_000, 30.0, &r)),
            vec![&codes::VIDEO_RESOLUTION]
        );
        assert_eq!(
            found(check_video(1440, 480, 5_000, 30.0, &r)),
            vec![&codes::VIDEO_RATIO]
        );
        assert_eq!(
            found(check_video(3200, 280, 5_000, 30.0, &r)),
            vec![&codes::VIDEO_DIMENSIONS, &codes::VIDEO_RATIO]
        );
        assert_eq!(
            check_video(1280, 720, 1_500, 30.0, &r)[0].message,
            "video is 1.5 s long; allowed 2–15 s"
        );
    }

    #[test]
    fn audio_and_document_rules() {
        let l = MediaLimits::default();
        let facts = |ms| MediaFacts {
            duration_ms: Some(ms),
            ..MediaFacts::default()
        };
        assert!(check(AssetType::Audio, &facts(2_000), &l).is_empty());
        assert!(check(AssetType::Audio, &facts(15_000), &l).is_empty());
        let short = check(AssetType::Audio, &facts(1_000), &l);
        assert_eq!(short[0].code, &codes::AUDIO_DURATION);
        assert_eq!(short[0].message, "audio is 1 s long; allowed 2–15 s");
        assert_eq!(
            check(AssetType::Audio, &facts(20_000), &l)[0].code,
            &codes::AUDIO_DURATION
        );
        assert_eq!(
            check(AssetType::Audio, &MediaFacts::default(), &l)[0].code,
            &codes::AUDIO_UNREADABLE
        );
        assert!(check(AssetType::Document, &MediaFacts::default(), &l).is_empty());
    }

    #[test]
    fn formats_and_sizes() {
        let l = MediaLimits::default();
        assert!(check_format(AssetType::Image, "png", &l).is_none());
        let v = check_format(AssetType::Image, "avif", &l).expect("avif refused");
        assert_eq!(v.code, &codes::IMAGE_FORMAT);
        assert!(
            v.message
                .starts_with("avif is not an accepted image format")
        );
        assert_eq!(
            check_format(AssetType::Audio, "flac", &l).map(|v| v.code),
            Some(&codes::AUDIO_FORMAT)
        );

        assert!(check_size(AssetType::Image, 30 * MIB - 1, &l).is_none());
        let big = check_size(AssetType::Image, 30 * MIB, &l).expect("30 MB refused");
        assert_eq!(big.message, "image is 30.0 MB; it must be under 30 MB");
        assert!(check_size(AssetType::Video, 50 * MIB, &l).is_none());
        assert_eq!(
            check_size(AssetType::Video, 50 * MIB + 1, &l).map(|v| v.message),
            Some("video is 50.0 MB; it must be at most 50 MB".to_owned())
        );
    }
}
