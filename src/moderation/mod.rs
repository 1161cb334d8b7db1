//! Face moderation: a `FaceDetector` port and the shipped offline detector (MTCNN).

mod budget;
mod decode;
mod jpeg;
mod mtcnn;
mod resample;
mod scan;
mod shrink;
mod spare;
mod tiny;
pub mod video;

pub use budget::{DecodeBudget, Reservation};
pub use decode::{DecodeError, DecodePlan, Decoded, decode, plan};
pub use mtcnn::{Mtcnn, WindowCounts};
pub use scan::{DETECT_SIDE, Scan, scan_decoded, scan_image, scan_video};
pub use tiny::{Cascade, TinyFace};

pub use crate::domain::{Decision, FaceBox, FacePolicy, ModerationRecord};

/// Finds faces in a colour image.
pub trait FaceDetector: Send + Sync {
    /// Every face found (empty when there is none), in the image's pixels; `Err` (why) when
    /// the detector could not look — the image is then unscannable, never passed as faceless.
    fn detect(&self, image: &image::RgbImage) -> Result<Vec<FaceBox>, String>;
    /// A short name for records and docs.
    fn name(&self) -> &'static str;
    /// The longest side, in pixels, of the working image the detector is given (decoded,
    /// block-averaged and resized down to it; smaller images as they are). The preview is made
    /// from the same image.
    fn working_side(&self) -> u32 {
        DETECT_SIDE
    }
}
