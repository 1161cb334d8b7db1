//! The face check of an image or a video: decode once (the image, or the video's sampled
//! frames), make the reviewer's preview, detect faces, and apply the tenant's policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::ProcessingService;
use crate::domain::codes;
use crate::domain::rules::Violation;
use crate::domain::{Asset, AssetType, FacePolicy, ModerationRecord};
use crate::moderation::{FaceDetector, scan_image, scan_video};

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

impl ProcessingService {
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
                scan_image(&owned, detector.as_ref())
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
                    "the {format} {what} could not be scanned for faces: {reason}"
                ));
                tracing::info!(asset = %asset.id, %reason, "{what} not scannable");
                return match self.moderation.unscannable {
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
                    code: &codes::FACE_DETECTED,
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
