//! Media limits as data: one table per type. `Default` is the product brief's table; a TOML
//! file can override any value (see `config`).

use serde::{Deserialize, Serialize};

use super::AssetType;

pub(crate) const MIB: u64 = 1024 * 1024;

/// Limits for one asset type that every type has: a byte cap and the accepted formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeLimits {
    /// Largest accepted size in bytes (inclusive).
    pub max_bytes: u64,
    /// Accepted formats, as the sniffer names them.
    pub formats: Vec<String>,
}

/// Image-specific limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageLimits {
    pub min_side: u32,
    pub max_side: u32,
    pub min_ratio: f64,
    pub max_ratio: f64,
}

/// Video-specific limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoLimits {
    pub min_duration_ms: u64,
    pub max_duration_ms: u64,
    pub min_fps: f64,
    pub max_fps: f64,
    /// Pixel count (width × height) range of 480p and 720p.
    pub min_pixels: u64,
    pub max_pixels: u64,
    /// Admit 1080p (up to `max_pixels_1080p`).
    pub allow_1080p: bool,
    pub max_pixels_1080p: u64,
    pub min_side: u32,
    pub max_side: u32,
    pub min_ratio: f64,
    pub max_ratio: f64,
}

/// Audio-specific limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioLimits {
    pub min_duration_ms: u64,
    pub max_duration_ms: u64,
}

/// Every limit, per type. `Default` is the product brief's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaLimits {
    pub image: TypeLimits,
    pub video: TypeLimits,
    pub audio: TypeLimits,
    pub document: TypeLimits,
    pub image_rules: ImageLimits,
    pub video_rules: VideoLimits,
    pub audio_rules: AudioLimits,
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
                formats: formats(&["pdf", "docx", "xlsx", "pptx", "text", "json"]),
            },
            image_rules: ImageLimits {
                min_side: 300,
                max_side: 6000,
                min_ratio: 0.4,
                max_ratio: 2.5,
            },
            video_rules: VideoLimits {
                min_duration_ms: 2_000,
                max_duration_ms: 15_000,
                min_fps: 24.0,
                max_fps: 60.0,
                min_pixels: 409_600,
                max_pixels: 927_408,
                allow_1080p: false,
                max_pixels_1080p: 2_086_876,
                min_side: 300,
                max_side: 6000,
                min_ratio: 0.4,
                max_ratio: 2.5,
            },
            audio_rules: AudioLimits {
                min_duration_ms: 2_000,
                max_duration_ms: 15_000,
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
