//! Face moderation: a `FaceDetector` port and the shipped offline detector.

mod budget;
mod decode;
mod scan;
mod seeta;
pub mod video;

pub use budget::{DecodeBudget, Reservation};
pub use decode::{DecodeError, DecodePlan, decode, plan};
pub use scan::{DETECT_SIDE, Scan, scan_decoded, scan_image, scan_video};
pub use seeta::SeetaDetector;

pub use crate::domain::{Decision, FaceBox, FacePolicy, ModerationRecord};

/// Finds faces in a grayscale image.
pub trait FaceDetector: Send + Sync {
    /// Every face found (empty when there is none).
    fn detect(&self, image: &image::GrayImage) -> Vec<FaceBox>;
    /// A short name for records and docs.
    fn name(&self) -> &'static str;
}
