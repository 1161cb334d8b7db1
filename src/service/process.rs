//! The processing job: probe the stored bytes, check every rule, settle the status.

use async_trait::async_trait;
use chrono::Utc;

use super::AssetService;
use crate::domain::rules::{Violation, check_format, check_image_dimensions, check_size};
use crate::domain::{Asset, AssetId, AssetType, Failure, MediaFacts, Status};
use crate::jobs::{JobError, JobHandler};
use crate::probe::image::{ImageProbeError, read_header};
use crate::probe::sniff;
use crate::repo::{Job, StatusChange};

/// Bytes read first for probing; more only when a header runs past them.
const PROBE_HEAD: u64 = 256 * 1024;

/// What processing decided.
enum Verdict {
    Active { format: String, facts: MediaFacts },
    Failed(Violation),
}

impl AssetService {
    async fn examine(&self, asset: &Asset) -> Result<Verdict, JobError> {
        let read = |range: std::ops::Range<u64>| async move {
            self.blobs
                .read_range(&asset.sha256, range)
                .await
                .map_err(|e| {
                    if e.is_retryable() {
                        JobError::Retry(format!("reading the stored file: {e}"))
                    } else {
                        JobError::Abort(format!("the stored file is missing: {e}"))
                    }
                })
        };
        let head = read(0..PROBE_HEAD).await?;
        let sniffed = sniff(&head);
        if sniffed.family != Some(asset.asset_type) {
            return Ok(Verdict::Failed(Violation {
                code: "type-mismatch",
                message: format!(
                    "the content is {}, not {}",
                    sniffed.description, asset.asset_type
                ),
            }));
        }
        if let Some(v) = check_format(asset.asset_type, &sniffed.format, &self.limits) {
            return Ok(Verdict::Failed(v));
        }
        if let Some(v) = check_size(asset.asset_type, asset.bytes, &self.limits) {
            return Ok(Verdict::Failed(v));
        }
        let mut facts = MediaFacts::default();
        if asset.asset_type == AssetType::Image {
            let header = match read_header(&head) {
                Err(ImageProbeError::NeedMoreData) if asset.bytes > PROBE_HEAD => {
                    let all = read(0..asset.bytes).await?;
                    read_header(&all)
                }
                other => other,
            };
            let header = match header {
                Ok(h) => h,
                Err(_) => {
                    return Ok(Verdict::Failed(Violation {
                        code: "image-unreadable",
                        message: format!(
                            "the {} header could not be read; the file is truncated or corrupt",
                            sniffed.format
                        ),
                    }));
                }
            };
            facts.width = Some(header.width);
            facts.height = Some(header.height);
            let mut violations =
                check_image_dimensions(header.width, header.height, &self.limits.image_rules);
            if !violations.is_empty() {
                let first = violations.remove(0);
                let message = std::iter::once(first.message)
                    .chain(violations.into_iter().map(|v| v.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Ok(Verdict::Failed(Violation {
                    code: first.code,
                    message,
                }));
            }
        }
        Ok(Verdict::Active {
            format: sniffed.format,
            facts,
        })
    }

    async fn settle(&self, asset: &Asset, verdict: Verdict) -> Result<(), JobError> {
        let change = match verdict {
            Verdict::Active { format, facts } => StatusChange {
                to: Status::Active,
                format: Some(format),
                facts: Some(facts),
                failure: None,
                at: Utc::now(),
            },
            Verdict::Failed(v) => StatusChange {
                to: Status::Failed,
                format: None,
                facts: None,
                failure: Some(Failure {
                    code: v.code.to_owned(),
                    message: v.message,
                }),
                at: Utc::now(),
            },
        };
        let moved = self
            .repo
            .change_status(&asset.id, Status::Processing, &change)
            .await
            .map_err(|e| JobError::Retry(format!("saving the result: {e}")))?;
        if moved {
            tracing::info!(asset = %asset.id, status = %change.to,
                code = change.failure.as_ref().map(|f| f.code.as_str()), "asset processed");
        }
        Ok(())
    }

    async fn load(&self, job: &Job) -> Result<Option<Asset>, JobError> {
        let Some(id) = AssetId::parse(&job.asset_id) else {
            return Err(JobError::Abort(format!(
                "job names a malformed asset id {}",
                job.asset_id
            )));
        };
        let asset = self
            .repo
            .get_asset_any_tenant(&id)
            .await
            .map_err(|e| JobError::Retry(format!("loading the asset: {e}")))?;
        // Deleted, or already settled by an earlier attempt: nothing to do.
        Ok(asset.filter(|a| a.status == Status::Processing))
    }
}

#[async_trait]
impl JobHandler for AssetService {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let Some(asset) = self.load(job).await? else {
            return Ok(());
        };
        let verdict = self.examine(&asset).await?;
        self.settle(&asset, verdict).await
    }

    async fn give_up(&self, job: &Job, reason: &str) {
        let Ok(Some(asset)) = self.load(job).await else {
            return;
        };
        let verdict = Verdict::Failed(Violation {
            code: "processing-failed",
            message: format!("processing failed (attempt {}): {reason}", job.attempts),
        });
        if let Err(JobError::Retry(e) | JobError::Abort(e)) = self.settle(&asset, verdict).await {
            tracing::error!(asset = %asset.id, error = %e, "could not mark the asset failed");
        }
    }
}
