//! The face check of an image: decode once, make the reviewer's preview, detect faces, and
//! apply the tenant's policy.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::AssetService;
use crate::domain::rules::Violation;
use crate::domain::{Asset, AssetType, FacePolicy, ModerationRecord};
use crate::moderation::FaceDetector;

/// Longest side of a preview.
const PREVIEW_SIDE: u32 = 512;
/// Decoding a 6000×6000 image takes ~110 MB; more than this is refused as unscannable.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
const SCAN_TIME_LIMIT: Duration = Duration::from_secs(30);

/// The outcome of the face check under the tenant's policy.
pub(super) enum Moderated {
    /// No check, or no face: `Active` (with what was found, when a check ran).
    Pass(Option<ModerationRecord>),
    /// A face (or an image that could not be scanned): `PendingReview`.
    Hold(ModerationRecord),
    /// A face under the `reject` policy.
    Reject(Violation, ModerationRecord),
}

struct Scan {
    faces: Vec<crate::domain::FaceBox>,
    width: u32,
    height: u32,
    preview: Option<Vec<u8>>,
}

/// A JPEG at most `PREVIEW_SIDE` px on its longer side.
fn preview_jpeg(image: &image::DynamicImage) -> Option<Vec<u8>> {
    let small = image.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE).to_rgb8();
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .ok()
        .map(|()| out.into_inner())
}

/// Decodes the image once; detects faces on its grayscale and encodes a small JPEG preview.
fn scan(path: &Path, detector: &dyn FaceDetector) -> Result<Scan, String> {
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| e.to_string())?;
    let (width, height) = (decoded.width(), decoded.height());
    let faces = detector.detect(&decoded.to_luma8());
    let preview = preview_jpeg(&decoded);
    Ok(Scan {
        faces,
        width,
        height,
        preview,
    })
}

/// How many frames of a video are checked: the first and up to four keyframes.
const VIDEO_FRAMES: usize = 5;

/// Decodes the first frame and evenly spaced keyframes; detects faces on each; the first frame
/// becomes the poster preview.
fn scan_video(path: &Path, len: u64, detector: &dyn FaceDetector) -> Result<Scan, String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let frames = crate::moderation::video::frames(&mut file, len, VIDEO_FRAMES)?;
    let (width, height) = frames
        .gray
        .first()
        .map(|f| f.dimensions())
        .unwrap_or((0, 0));
    let mut faces = Vec::new();
    for frame in &frames.gray {
        faces.extend(detector.detect(frame));
    }
    let preview = frames
        .poster
        .and_then(|rgb| preview_jpeg(&image::DynamicImage::ImageRgb8(rgb)));
    Ok(Scan {
        faces,
        width,
        height,
        preview,
    })
}

impl AssetService {
    /// `size` is the probed size, used for the record when the image cannot be decoded.
    pub(super) async fn moderate(
        &self,
        asset: &Asset,
        path: &Path,
        format: &str,
        size: (u32, u32),
    ) -> Moderated {
        let policy = self.moderation.policy_for(&asset.tenant);
        if policy == FacePolicy::Allow {
            return Moderated::Pass(None);
        }
        let detector: Arc<dyn FaceDetector> = Arc::clone(&self.detector);
        let owned: PathBuf = path.to_path_buf();
        let (is_video, len) = (asset.asset_type == AssetType::Video, asset.bytes);
        let task = tokio::task::spawn_blocking(move || {
            if is_video {
                scan_video(&owned, len, detector.as_ref())
            } else {
                scan(&owned, detector.as_ref())
            }
        });
        let scanned = match tokio::time::timeout(SCAN_TIME_LIMIT, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(format!("the decoder failed: {join}")),
            Err(_) => Err(format!(
                "decoding took longer than {} s",
                SCAN_TIME_LIMIT.as_secs()
            )),
        };
        let what = if asset.asset_type == AssetType::Video {
            "video"
        } else {
            "image"
        };
        let mut record = ModerationRecord {
            detector: self.detector.name().to_owned(),
            width: size.0,
            height: size.1,
            ..ModerationRecord::default()
        };
        let scan = match scanned {
            Ok(scan) => scan,
            Err(reason) => {
                record.note = Some(format!(
                    "the {format} image could not be scanned for faces: {reason}"
                ));
                tracing::info!(asset = %asset.id, %reason, "image not scannable");
                return match self.moderation.unscannable {
                    FacePolicy::Allow => Moderated::Pass(Some(record)),
                    FacePolicy::Hold => Moderated::Hold(record),
                    FacePolicy::Reject => Moderated::Reject(
                        Violation {
                            code: if is_video {
                                "video-unscannable"
                            } else {
                                "image-unscannable"
                            },
                            message: format!(
                                "the {format} {what} could not be checked for faces, and unchecked media are not accepted"
                            ),
                        },
                        record,
                    ),
                };
            }
        };
        if let Some(jpeg) = scan.preview
            && let Err(e) = self
                .blobs
                .put_preview(&asset.sha256, Bytes::from(jpeg))
                .await
        {
            tracing::warn!(asset = %asset.id, error = %e, "could not store the preview");
        }
        record.faces = scan.faces;
        record.width = scan.width;
        record.height = scan.height;
        let count = record.faces.len();
        match (count, policy) {
            (0, _) | (_, FacePolicy::Allow) => Moderated::Pass(Some(record)),
            (_, FacePolicy::Hold) => Moderated::Hold(record),
            (n, FacePolicy::Reject) => Moderated::Reject(
                Violation {
                    code: "face-detected",
                    message: format!(
                        "the {what} shows {n} face{}; media with faces are not accepted here",
                        if n == 1 { "" } else { "s" }
                    ),
                },
                record,
            ),
        }
    }
}
