//! The processing job: probe the stored bytes, check every rule, settle the status.

mod moderate;

pub(super) use moderate::{frame_preview_name, full_frame_name};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;

use super::Settled;
use super::status::{StatusError, change_status};
use crate::blob::{BlobError, BlobStore};
use crate::config::ModerationConfig;
use crate::domain::codes::{self, Code};
use crate::domain::rules::{MediaLimits, Violation, check, check_format, check_size};
use crate::domain::{
    Asset, AssetId, AssetType, Failure, MediaFacts, ModerationRecord, Status, Transition,
};
use crate::jobs::{JobError, JobHandler};
use crate::moderation::{DecodeBudget, FaceDetector};
use crate::probe::{ProbeError, probe, sniff};
use crate::repo::{AssetRepo, Job, StatusChange};
use moderate::Moderated;

/// Bytes read first for sniffing.
const SNIFF_HEAD: u64 = 64 * 1024;
/// A probe that runs longer than this is abandoned and the asset fails.
const PROBE_TIME_LIMIT: Duration = Duration::from_secs(10);

/// The `process-asset` job: examines stored bytes and settles the asset's status.
#[derive(Clone)]
pub struct ProcessingService {
    pub(super) blobs: Arc<dyn BlobStore>,
    pub(super) assets: Arc<dyn AssetRepo>,
    pub(super) detector: Arc<dyn FaceDetector>,
    /// What decodes may hold at once, process-wide.
    pub(super) budget: DecodeBudget,
    pub(super) limits: Arc<MediaLimits>,
    pub(super) moderation: Arc<ModerationConfig>,
    /// Where remote blobs are copied for probing.
    pub(super) tmp_dir: PathBuf,
    pub(super) settled: Settled,
}

/// The ports processing runs on.
pub struct ProcessingPorts {
    pub blobs: Arc<dyn BlobStore>,
    pub assets: Arc<dyn AssetRepo>,
    pub detector: Arc<dyn FaceDetector>,
    pub budget: DecodeBudget,
    pub settled: Settled,
}

/// The settings processing follows.
pub struct ProcessingSettings {
    pub limits: Arc<MediaLimits>,
    pub moderation: ModerationConfig,
    pub tmp_dir: PathBuf,
}

/// What processing decided.
enum Verdict {
    /// Passed every check: `Active`, or `PendingReview` when held for a reviewer.
    Passed {
        to: Status,
        format: String,
        facts: MediaFacts,
        moderation: Option<ModerationRecord>,
    },
    Failed(Violation, Option<ModerationRecord>),
}

fn failed(code: &'static Code, message: String) -> Verdict {
    Verdict::Failed(Violation { code, message }, None)
}

/// Joins all violations into one failure: the first one's code, every message.
fn first_of(mut violations: Vec<Violation>) -> Option<Violation> {
    if violations.is_empty() {
        return None;
    }
    let first = violations.remove(0);
    let message = std::iter::once(first.message)
        .chain(violations.into_iter().map(|v| v.message))
        .collect::<Vec<_>>()
        .join("; ");
    Some(Violation {
        code: first.code,
        message,
    })
}

/// The last path segment of the source URL (the file name of an `upload://{name}`): a hint for
/// JSON strictness, never for the type.
fn name_hint(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| match u.scheme() {
            "upload" => u.host_str().map(str::to_owned),
            _ => u
                .path_segments()
                .and_then(|mut s| s.next_back().map(str::to_owned)),
        })
        .unwrap_or_default()
}

fn blob_error(e: BlobError) -> JobError {
    if e.is_retryable() {
        JobError::Retry(format!("reading the stored file: {e}"))
    } else {
        JobError::Abort(format!("the stored file is missing: {e}"))
    }
}

impl ProcessingService {
    pub fn new(ports: ProcessingPorts, settings: ProcessingSettings) -> Self {
        Self {
            blobs: ports.blobs,
            assets: ports.assets,
            detector: ports.detector,
            budget: ports.budget,
            settled: ports.settled,
            limits: settings.limits,
            moderation: Arc::new(settings.moderation),
            tmp_dir: settings.tmp_dir,
        }
    }

    async fn examine(&self, asset: &Asset) -> Result<Verdict, JobError> {
        let head = self
            .blobs
            .read_range(&asset.sha256, 0..SNIFF_HEAD)
            .await
            .map_err(blob_error)?;
        let sniffed = sniff(&head);
        if sniffed.family != Some(asset.asset_type) {
            return Ok(failed(
                &codes::TYPE_MISMATCH,
                format!(
                    "the content is {}, not {}",
                    sniffed.description, asset.asset_type
                ),
            ));
        }
        // A zip is refined by probing (docx/xlsx/pptx); every other format is final here.
        let refinable = asset.asset_type == AssetType::Document && sniffed.format == "zip";
        if !refinable && let Some(v) = check_format(asset.asset_type, &sniffed.format, &self.limits)
        {
            return Ok(Verdict::Failed(v, None));
        }
        if let Some(v) = check_size(asset.asset_type, asset.bytes, &self.limits) {
            return Ok(Verdict::Failed(v, None));
        }

        let local = self
            .blobs
            .local_file(&asset.sha256, &self.tmp_dir)
            .await
            .map_err(blob_error)?;
        let path = local.path().to_path_buf();
        let (asset_type, format, len, hint) = (
            asset.asset_type,
            sniffed.format.clone(),
            asset.bytes,
            name_hint(&asset.url),
        );
        let task = tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::open(&path)?;
            probe(asset_type, &format, &mut file, len, &hint)
        });
        let probing = std::time::Instant::now();
        let probed = tokio::time::timeout(PROBE_TIME_LIMIT, task).await;
        crate::metrics::METRICS.stage("probe", probing.elapsed());
        let probed = match probed {
            Err(_) => {
                return Ok(failed(
                    &codes::PROBE_TIMEOUT,
                    format!(
                        "reading the {} headers took longer than {} s; the file is malformed",
                        sniffed.format,
                        PROBE_TIME_LIMIT.as_secs()
                    ),
                ));
            }
            Ok(Err(join)) => {
                tracing::error!(asset = %asset.id, error = %join, "probe crashed");
                return Ok(failed(
                    &codes::FILE_UNREADABLE,
                    format!(
                        "the {} file could not be read; it is malformed",
                        sniffed.format
                    ),
                ));
            }
            Ok(Ok(Err(ProbeError::Io(e)))) => {
                return Err(JobError::Retry(format!("reading the stored file: {e}")));
            }
            Ok(Ok(Err(ProbeError::Invalid(v)))) => return Ok(Verdict::Failed(v, None)),
            Ok(Ok(Ok(probed))) => probed,
        };
        if let Some(v) = check_format(asset.asset_type, &probed.format, &self.limits) {
            return Ok(Verdict::Failed(v, None));
        }
        if let Some(v) = first_of(check(asset.asset_type, &probed.facts, &self.limits)) {
            return Ok(Verdict::Failed(v, None));
        }
        let mut facts = probed.facts;
        let decodable = matches!(asset.asset_type, AssetType::Image | AssetType::Video);
        let (to, moderation) = if decodable {
            let size = (facts.width.unwrap_or(0), facts.height.unwrap_or(0));
            let checking = std::time::Instant::now();
            let inspection = self
                .inspect(asset, local.path(), &probed.format, size)
                .await;
            crate::metrics::METRICS.stage("face_check", checking.elapsed());
            // What the decoder found is the size, whatever the headers claimed.
            if let Some((width, height)) = inspection.decoded_size
                && (Some(width), Some(height)) != (facts.width, facts.height)
            {
                tracing::warn!(asset = %asset.id, claimed = ?size, decoded = ?(width, height),
                    "the headers misstate the size");
                facts.width = Some(width);
                facts.height = Some(height);
                if let Some(v) = first_of(check(asset.asset_type, &facts, &self.limits)) {
                    return Ok(Verdict::Failed(v, None));
                }
            }
            match inspection.moderated {
                Moderated::Pass(record) => (Status::Active, record),
                Moderated::Hold(record) => (Status::PendingReview, Some(record)),
                Moderated::Reject(v, record) => return Ok(Verdict::Failed(v, Some(record))),
                Moderated::Unreadable(v) => return Ok(Verdict::Failed(v, None)),
            }
        } else {
            (Status::Active, None)
        };
        drop(local);
        Ok(Verdict::Passed {
            to,
            format: probed.format,
            facts,
            moderation,
        })
    }

    async fn settle(&self, asset: &Asset, verdict: Verdict) -> Result<(), JobError> {
        let change = match verdict {
            Verdict::Passed {
                to,
                format,
                facts,
                moderation,
            } => StatusChange {
                to,
                format: Some(format),
                facts: Some(facts),
                failure: None,
                moderation,
                at: Utc::now(),
            },
            Verdict::Failed(v, moderation) => StatusChange {
                to: Status::Failed,
                format: None,
                facts: None,
                failure: Some(Failure {
                    code: v.code.name.to_owned(),
                    message: v.message,
                }),
                moderation,
                at: Utc::now(),
            },
        };
        let moved = change_status(
            self.assets.as_ref(),
            &asset.id,
            Status::Processing,
            &change,
            Transition::Lifecycle,
        )
        .await
        .map_err(|e| match e {
            StatusError::Repo(e) => JobError::Retry(format!("saving the result: {e}")),
            forbidden @ StatusError::Forbidden { .. } => JobError::Abort(forbidden.to_string()),
        })?;
        if moved {
            self.settled.announce(&asset.id);
            let metrics = &crate::metrics::METRICS;
            if change.to == Status::PendingReview {
                metrics.face_holds.inc();
            }
            metrics.settled(
                asset.asset_type.as_str(),
                change.to.as_str(),
                (Utc::now() - asset.create_time)
                    .to_std()
                    .unwrap_or_default(),
            );
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
            .assets
            .get_asset_any_tenant(&id)
            .await
            .map_err(|e| JobError::Retry(format!("loading the asset: {e}")))?;
        // Deleted, or already settled by an earlier attempt: nothing to do.
        Ok(asset.filter(|a| a.status == Status::Processing))
    }
}

#[async_trait]
impl JobHandler for ProcessingService {
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
        let verdict = Verdict::Failed(
            Violation {
                code: &codes::PROCESSING_FAILED,
                message: format!("processing failed (attempt {}): {reason}", job.attempts),
            },
            None,
        );
        if let Err(JobError::Retry(e) | JobError::Abort(e)) = self.settle(&asset, verdict).await {
            tracing::error!(asset = %asset.id, error = %e, "could not mark the asset failed");
        }
    }
}
