//! Decoding an image or a video for the checks, and the face check under the tenant's policy.
//! Images are always decoded whole (an image that does not decode fails, whatever the policy)
//! and videos always have their first frame decoded (the decoded size is the true size); the
//! faces are looked for, and a preview made, only when the policy is not `allow`. Every decode
//! reserves its pixels in the process's decode budget first.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::ProcessingService;
use crate::domain::codes;
use crate::domain::rules::Violation;
use crate::domain::{Asset, AssetType, FacePolicy, ModerationRecord};
use crate::moderation::{
    DETECT_SIDE, DecodeError, FaceDetector, Scan, decode, plan, scan_decoded, scan_video,
};

const SCAN_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Frames a video's check holds at once: up to five grey frames and the colour poster (three
/// bytes a pixel): about eight bytes a pixel.
const VIDEO_BYTES_PER_PIXEL: u64 = 8;
/// Videos are reserved for at least this size (their container may understate it).
const VIDEO_MIN_PIXELS: u64 = 1920 * 1080;

/// The name a video's checked frame `n` (1 and up) is stored under in the blob store's previews;
/// frame 0 is the asset's own preview.
pub(in crate::service) fn frame_preview_name(sha256: &str, n: usize) -> String {
    format!("{sha256}.frame{n}")
}

/// The name a held video's checked frame `n` (0 and up) is stored under at full size, in the
/// blob store's previews.
pub(in crate::service) fn full_frame_name(sha256: &str, n: usize) -> String {
    format!("{sha256}.full{n}")
}

/// What the checks found under the tenant's policy.
pub(super) enum Moderated {
    /// No face, or no check: `Active` (with what was found, when a check ran).
    Pass(Option<ModerationRecord>),
    /// A face (or media that could not be scanned): `PendingReview`.
    Hold(ModerationRecord),
    /// A face under the `reject` policy, or unscannable media under an `unscannable = reject`.
    Reject(Violation, ModerationRecord),
    /// An image in a format decoded here whose bytes do not decode: `Failed`, whatever the
    /// policy.
    Unreadable(Violation),
}

/// The outcome, and the size the decoder found (when it decoded anything).
pub(super) struct Inspection {
    pub moderated: Moderated,
    pub decoded_size: Option<(u32, u32)>,
}

/// Why a scan did not happen.
enum ScanFailure {
    /// Not decodable here (a format or codec not decoded, a decoder that gave up or timed out).
    Unscannable(String),
    /// A decodable format whose bytes are not a whole image.
    Unreadable(String),
}

impl ProcessingService {
    /// Decodes the asset at `path` and applies the face policy. `size` is the probed size,
    /// used for the record when nothing could be decoded.
    pub(super) async fn inspect(
        &self,
        asset: &Asset,
        path: &Path,
        format: &str,
        size: (u32, u32),
    ) -> Inspection {
        let policy = self.moderation.policy_for(&asset.tenant);
        let detector = (policy != FacePolicy::Allow).then(|| Arc::clone(&self.detector));
        let is_video = asset.asset_type == AssetType::Video;
        let what = if is_video { "video" } else { "image" };
        let scanned = if is_video {
            self.scan_video(path, asset.bytes, size, detector.clone())
                .await
        } else {
            self.scan_image(path, detector.clone()).await
        };
        let mut record = ModerationRecord {
            detector: self.detector.name().to_owned(),
            width: size.0,
            height: size.1,
            ..ModerationRecord::default()
        };
        let scan = match scanned {
            Ok(scan) => scan,
            Err(ScanFailure::Unreadable(why)) => {
                tracing::info!(asset = %asset.id, %why, "image does not decode");
                return Inspection {
                    moderated: Moderated::Unreadable(Violation {
                        code: &codes::IMAGE_UNREADABLE,
                        message: format!("the {format} image does not decode: {why}"),
                    }),
                    decoded_size: None,
                };
            }
            Err(ScanFailure::Unscannable(reason)) => {
                if detector.is_none() {
                    return Inspection {
                        moderated: Moderated::Pass(None),
                        decoded_size: None,
                    };
                }
                record.note = Some(format!(
                    "the {format} {what} could not be scanned for faces: {reason}"
                ));
                tracing::info!(asset = %asset.id, %reason, "{what} not scannable");
                let moderated = match self.moderation.unscannable {
                    FacePolicy::Allow => Moderated::Pass(Some(record)),
                    FacePolicy::Hold => Moderated::Hold(record),
                    FacePolicy::Reject => Moderated::Reject(
                        Violation {
                            code: if is_video {
                                &codes::VIDEO_UNSCANNABLE
                            } else {
                                &codes::IMAGE_UNSCANNABLE
                            },
                            message: format!(
                                "the {format} {what} could not be checked for faces, and unchecked media are not accepted"
                            ),
                        },
                        record,
                    ),
                };
                return Inspection {
                    moderated,
                    decoded_size: None,
                };
            }
        };
        let decoded_size = Some((scan.width, scan.height));
        if detector.is_none() {
            return Inspection {
                moderated: Moderated::Pass(None),
                decoded_size,
            };
        }
        if let Some(jpeg) = scan.preview
            && let Err(e) = self
                .blobs
                .put_preview(&asset.sha256, Bytes::from(jpeg))
                .await
        {
            tracing::warn!(asset = %asset.id, error = %e, "could not store the preview");
        }
        // A video's other checked frames, for reviewers (`?frame=N` of the preview route).
        for (index, jpeg) in scan.frame_previews.into_iter().enumerate() {
            let key = frame_preview_name(&asset.sha256, index + 1);
            if let Err(e) = self.blobs.put_preview(&key, Bytes::from(jpeg)).await {
                tracing::warn!(asset = %asset.id, error = %e, "could not store a frame preview");
            }
        }
        let full_frames = scan.full_frames;
        record.frames = scan.frames;
        record.frame_millis = scan.frame_millis;
        record.faces = scan.faces;
        record.width = scan.width;
        record.height = scan.height;
        let count = record.faces.len();
        let moderated = match (count, policy) {
            (0, _) | (_, FacePolicy::Allow) => Moderated::Pass(Some(record)),
            (_, FacePolicy::Hold) => Moderated::Hold(record),
            (n, FacePolicy::Reject) => Moderated::Reject(
                Violation {
                    code: &codes::FACE_DETECTED,
                    message: format!(
                        "the {what} shows {n} face{}; media with faces are not accepted here",
                        if n == 1 { "" } else { "s" }
                    ),
                },
                record,
            ),
        };
        // A held video's checked frames at full size, for reviewers (`/frames/{n}`).
        if matches!(moderated, Moderated::Hold(_)) {
            for (index, jpeg) in full_frames.into_iter().enumerate() {
                let key = full_frame_name(&asset.sha256, index);
                if let Err(e) = self.blobs.put_preview(&key, Bytes::from(jpeg)).await {
                    tracing::warn!(asset = %asset.id, error = %e, "could not store a full frame");
                }
            }
        }
        Inspection {
            moderated,
            decoded_size,
        }
    }

    /// Reads the header, reserves the decoded size in the budget, then decodes and scans.
    async fn scan_image(
        &self,
        path: &Path,
        detector: Option<Arc<dyn FaceDetector>>,
    ) -> Result<Scan, ScanFailure> {
        let owned: PathBuf = path.to_path_buf();
        let side = detector.as_ref().map_or(DETECT_SIDE, |d| d.working_side());
        let planned = tokio::task::spawn_blocking(move || plan(&owned, side))
            .await
            .map_err(|e| ScanFailure::Unscannable(format!("the decoder failed: {e}")))?
            .map_err(decode_failure)?;
        let reservation = self.budget.reserve(planned.bytes).await;
        let owned: PathBuf = path.to_path_buf();
        let task = tokio::task::spawn_blocking(move || {
            let _held = reservation;
            let decoded = decode(&owned, &planned)?;
            scan_decoded(decoded, detector.as_deref())
        });
        match tokio::time::timeout(SCAN_TIME_LIMIT, task).await {
            Ok(Ok(result)) => result.map_err(decode_failure),
            Ok(Err(join)) => Err(ScanFailure::Unscannable(format!(
                "the decoder failed: {join}"
            ))),
            Err(_) => Err(ScanFailure::Unscannable(format!(
                "decoding took longer than {} s",
                SCAN_TIME_LIMIT.as_secs()
            ))),
        }
    }

    /// Reserves the frames' size in the budget, then decodes and scans them.
    async fn scan_video(
        &self,
        path: &Path,
        len: u64,
        size: (u32, u32),
        detector: Option<Arc<dyn FaceDetector>>,
    ) -> Result<Scan, ScanFailure> {
        let pixels = (u64::from(size.0) * u64::from(size.1)).max(VIDEO_MIN_PIXELS);
        let reservation = self.budget.reserve(pixels * VIDEO_BYTES_PER_PIXEL).await;
        let owned: PathBuf = path.to_path_buf();
        let task = tokio::task::spawn_blocking(move || {
            let _held = reservation;
            scan_video(&owned, len, detector.as_deref())
        });
        match tokio::time::timeout(SCAN_TIME_LIMIT, task).await {
            Ok(Ok(result)) => result.map_err(ScanFailure::Unscannable),
            Ok(Err(join)) => Err(ScanFailure::Unscannable(format!(
                "the decoder failed: {join}"
            ))),
            Err(_) => Err(ScanFailure::Unscannable(format!(
                "decoding took longer than {} s",
                SCAN_TIME_LIMIT.as_secs()
            ))),
        }
    }
}

fn decode_failure(e: DecodeError) -> ScanFailure {
    match e {
        DecodeError::Unsupported(why) => ScanFailure::Unscannable(why),
        DecodeError::Unreadable(why) => ScanFailure::Unreadable(why),
    }
}
