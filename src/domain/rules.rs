//! Media rules as data (defaults = the product brief §2) and the pure checks over them.

use super::AssetType;

const MIB: u64 = 1024 * 1024;

/// A rule an asset broke: a stable kebab-case code and a message naming the measured value
/// and the allowed range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
}

impl Violation {
    fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }
}

/// Limits for one asset type that every type has: a byte cap and the accepted formats.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeLimits {
    /// Largest accepted size in bytes (inclusive).
    pub max_bytes: u64,
    /// Accepted formats, as the sniffer names them.
    pub formats: Vec<String>,
}

/// Image-specific limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageLimits {
    pub min_side: u32,
    pub max_side: u32,
    pub min_ratio: f64,
    pub max_ratio: f64,
}

/// Every limit, per type. `Default` is the product brief's table.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaLimits {
    pub image: TypeLimits,
    pub video: TypeLimits,
    pub audio: TypeLimits,
    pub document: TypeLimits,
    pub image_rules: ImageLimits,
}

fn formats(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for MediaLimits {
    fn default() -> Self {
        Self {
            // "< 30 MB"
            image: TypeLimits {
                max_bytes: 30 * MIB - 1,
                formats: formats(&["jpeg", "png", "webp", "bmp", "tiff", "gif", "heif"]),
            },
            video: TypeLimits {
                max_bytes: 50 * MIB,
                formats: formats(&["mp4", "mov"]),
            },
            audio: TypeLimits {
                max_bytes: 15 * MIB,
                formats: formats(&["wav", "mp3"]),
            },
            document: TypeLimits {
                max_bytes: 50 * MIB,
                formats: formats(&["pdf", "docx", "xlsx", "pptx", "text"]),
            },
            image_rules: ImageLimits {
                min_side: 300,
                max_side: 6000,
                min_ratio: 0.4,
                max_ratio: 2.5,
            },
        }
    }
}

impl MediaLimits {
    pub fn for_type(&self, asset_type: AssetType) -> &TypeLimits {
        match asset_type {
            AssetType::Image => &self.image,
            AssetType::Video => &self.video,
            AssetType::Audio => &self.audio,
            AssetType::Document => &self.document,
        }
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
        AssetType::Image => "image-format",
        AssetType::Video => "video-format",
        AssetType::Audio => "audio-format",
        AssetType::Document => "document-format",
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
            "too-large",
            format!(
                "{} is {}; it must be {}",
                asset_type.as_str().to_lowercase(),
                describe_bytes(bytes),
                describe_cap(cap)
            ),
        )
    })
}

/// Every image rule over the measured dimensions.
pub fn check_image_dimensions(width: u32, height: u32, rules: &ImageLimits) -> Vec<Violation> {
    let mut out = Vec::new();
    let side_ok = |side: u32| (rules.min_side..=rules.max_side).contains(&side);
    if !side_ok(width) || !side_ok(height) {
        out.push(Violation::new(
            "image-dimensions",
            format!(
                "image is {width}x{height}; each side must be {}–{} px",
                rules.min_side, rules.max_side
            ),
        ));
    }
    if height > 0 {
        let ratio = f64::from(width) / f64::from(height);
        if ratio < rules.min_ratio || ratio > rules.max_ratio {
            out.push(Violation::new(
                "image-ratio",
                format!(
                    "image is {width}x{height} (width/height ratio {ratio:.2}); the ratio must be {}–{}",
                    rules.min_ratio, rules.max_ratio
                ),
            ));
        }
    }
    out
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
        assert_eq!(small[0].code, "image-dimensions");
        assert_eq!(
            small[0].message,
            "image is 200x200; each side must be 300–6000 px"
        );

        assert_eq!(
            check_image_dimensions(6001, 6000, &r)[0].code,
            "image-dimensions"
        );
        let wide = check_image_dimensions(1500, 500, &r);
        assert_eq!(wide.len(), 1);
        assert_eq!(wide[0].code, "image-ratio");
        assert!(wide[0].message.contains("3.00"), "{}", wide[0].message);
        assert_eq!(check_image_dimensions(300, 1000, &r)[0].code, "image-ratio");
    }

    #[test]
    fn formats_and_sizes() {
        let l = MediaLimits::default();
        assert!(check_format(AssetType::Image, "png", &l).is_none());
        let v = check_format(AssetType::Image, "avif", &l).expect("avif refused");
        assert_eq!(v.code, "image-format");
        assert!(
            v.message
                .starts_with("avif is not an accepted image format")
        );
        assert_eq!(
            check_format(AssetType::Audio, "flac", &l).map(|v| v.code),
            Some("audio-format")
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
