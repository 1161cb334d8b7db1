//! Consistency check of metadata against blobs (`assetlib fsck`), on any backend pair:
//! blobs no row references (older than a grace period), rows whose blob is gone, and assets
//! stuck in Processing with no job. With `repair`, fixes what is safe to fix: orphan blobs
//! are removed, stuck assets are queued again, and assets whose content is gone are marked
//! Failed with `content-missing` so clients know to upload them again.
//!
//! Housekeeping runs the orphan part alone (`sweep_orphans`) every few minutes; both remove an
//! orphan through the same protocol (`blob_guard`): under a removal hold, and only when
//! neither a row nor an upload in progress references it, so an upload that found the blob
//! stored never loses it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ServiceError;
use super::blob_guard::BlobGuard;
use super::status::change_status;
use crate::blob::{BlobInfo, BlobStore};
use crate::domain::codes;
use crate::domain::{AssetId, Failure, Status, Transition};
use crate::jobs::PROCESS_ASSET;
use crate::repo::{AssetRepo, JobQueue, MaintenanceRepo, NewJob, Repo, StatusChange};

/// Assets read per round trip while walking the library.
const SCAN_PAGE: u32 = 1000;

/// What to check and whether to repair.
#[derive(Debug, Clone)]
pub struct FsckOptions {
    /// Unreferenced blobs younger than this may belong to an upload in progress.
    pub grace: Duration,
    pub repair: bool,
    /// Attempts given to a job queued again for a stuck asset.
    pub max_attempts: u32,
}

/// A blob no asset row references.
#[derive(Debug, Clone, Serialize)]
pub struct OrphanBlob {
    pub sha256: String,
    pub bytes: u64,
    pub last_modified: DateTime<Utc>,
}

/// An asset row (or a job-less Processing asset) that needs attention.
#[derive(Debug, Clone, Serialize)]
pub struct AssetProblem {
    #[serde(skip)]
    id: AssetId,
    pub asset_id: String,
    pub sha256: String,
    pub status: &'static str,
}

/// What fsck found and, with `repair`, what it fixed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FsckReport {
    pub assets_checked: u64,
    pub blobs_checked: u64,
    /// Unreferenced blobs older than the grace period.
    pub orphan_blobs: Vec<OrphanBlob>,
    /// Unreferenced blobs within the grace period (uploads may still be inserting their
    /// rows); left alone.
    pub recent_unreferenced_blobs: u64,
    /// Live assets (not Failed) whose blob is missing.
    pub missing_blobs: Vec<AssetProblem>,
    /// Live Processing assets with no job to finish them.
    pub stuck_processing: Vec<AssetProblem>,
    pub repaired: Repairs,
}

/// Counts of the fixes made.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Repairs {
    pub orphan_blobs_removed: u64,
    pub assets_marked_failed: u64,
    pub jobs_queued: u64,
}

impl FsckReport {
    /// How many problems were found.
    pub fn problems(&self) -> usize {
        self.orphan_blobs.len() + self.missing_blobs.len() + self.stuck_processing.len()
    }

    /// How many fixes were made.
    pub fn repairs(&self) -> u64 {
        self.repaired.orphan_blobs_removed
            + self.repaired.assets_marked_failed
            + self.repaired.jobs_queued
    }

    pub fn is_clean(&self) -> bool {
        self.problems() == 0
    }
}

/// Blob listing entry with whether a live asset references it.
struct Listed {
    info: BlobInfo,
    referenced: bool,
}

/// Checks (and repairs) one metadata store against one blob store.
#[derive(Clone)]
pub struct Fsck {
    maintenance: Arc<dyn MaintenanceRepo>,
    /// Status changes of lost assets.
    assets: Arc<dyn AssetRepo>,
    /// Jobs for assets stuck in Processing.
    jobs: Arc<dyn JobQueue>,
    /// Removes orphans without racing uploads that reuse them.
    guard: BlobGuard,
    blobs: Arc<dyn BlobStore>,
}

impl Fsck {
    /// Over the three metadata ports it walks and repairs, all of one store.
    pub fn new(repo: Arc<dyn Repo>, blobs: Arc<dyn BlobStore>) -> Self {
        Self {
            maintenance: repo.clone(),
            assets: repo.clone(),
            jobs: repo.clone(),
            guard: BlobGuard::new(repo),
            blobs,
        }
    }

    /// Removes unreferenced blobs older than `grace` (the leftovers of a crash between
    /// storing a blob and inserting its row); returns how many were removed. First reaps the
    /// blob holds of nodes that died.
    pub async fn sweep_orphans(&self, grace: Duration) -> Result<u64, ServiceError> {
        self.guard.reap_stale().await?;
        let cutoff = cutoff(grace);
        let blobs = self
            .blobs
            .list()
            .await
            .map_err(|e| ServiceError::internal("listing blobs", e))?;
        let mut removed = 0;
        for blob in blobs.into_iter().filter(|b| b.last_modified <= cutoff) {
            if self.remove_if_orphan(&blob.sha256, blob.bytes).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether any row (deleted ones included) or an upload in progress references the blob.
    async fn referenced(&self, sha256: &str) -> Result<bool, ServiceError> {
        self.guard.in_use(sha256).await
    }

    /// Deletes the blob unless a row or an upload in progress references it (`blob_guard`).
    /// `true` when it was removed.
    async fn remove_if_orphan(&self, sha256: &str, bytes: u64) -> Result<bool, ServiceError> {
        let removed = self
            .guard
            .remove_if_orphan(self.blobs.as_ref(), sha256)
            .await?;
        if removed {
            tracing::info!(%sha256, bytes, "orphan blob removed");
        }
        Ok(removed)
    }

    pub async fn run(&self, options: &FsckOptions) -> Result<FsckReport, ServiceError> {
        let mut report = FsckReport::default();
        // The listing comes first: a blob stored after it is double-checked before it is
        // called missing, and an orphan is re-checked against the rows before removal.
        let mut listed: HashMap<String, Listed> = self
            .blobs
            .list()
            .await
            .map_err(|e| ServiceError::internal("listing blobs", e))?
            .into_iter()
            .map(|info| {
                let key = info.sha256.clone();
                (
                    key,
                    Listed {
                        info,
                        referenced: false,
                    },
                )
            })
            .collect();
        report.blobs_checked = listed.len() as u64;

        self.check_rows(&mut listed, &mut report).await?;
        self.check_orphans(listed, options, &mut report).await?;
        self.check_stuck(&mut report).await?;
        if options.repair {
            self.guard.reap_stale().await?;
            self.repair(options, &mut report).await?;
        }
        Ok(report)
    }

    /// Walks every live asset: marks its blob referenced, or records it missing.
    async fn check_rows(
        &self,
        listed: &mut HashMap<String, Listed>,
        report: &mut FsckReport,
    ) -> Result<(), ServiceError> {
        let mut after = 0;
        loop {
            let page = self
                .maintenance
                .scan_assets(after, SCAN_PAGE)
                .await
                .map_err(|e| ServiceError::internal("reading assets", e))?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for asset in page {
                report.assets_checked += 1;
                if let Some(entry) = listed.get_mut(&asset.sha256) {
                    entry.referenced = true;
                    continue;
                }
                // Failed assets are never served; their content may be gone.
                if asset.status == Status::Failed {
                    continue;
                }
                let present = self
                    .blobs
                    .exists(&asset.sha256)
                    .await
                    .map_err(|e| ServiceError::internal("checking a blob", e))?;
                if !present {
                    report.missing_blobs.push(AssetProblem {
                        asset_id: asset.id.to_string(),
                        id: asset.id,
                        sha256: asset.sha256,
                        status: asset.status.as_str(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Blobs no live asset references: orphans when no row at all (deleted ones included)
    /// references them and they are older than the grace period.
    async fn check_orphans(
        &self,
        listed: HashMap<String, Listed>,
        options: &FsckOptions,
        report: &mut FsckReport,
    ) -> Result<(), ServiceError> {
        let cutoff = cutoff(options.grace);
        let mut orphans: Vec<OrphanBlob> = Vec::new();
        for entry in listed.into_values().filter(|e| !e.referenced) {
            if self.referenced(&entry.info.sha256).await? {
                continue;
            }
            if entry.info.last_modified > cutoff {
                report.recent_unreferenced_blobs += 1;
                continue;
            }
            orphans.push(OrphanBlob {
                sha256: entry.info.sha256,
                bytes: entry.info.bytes,
                last_modified: entry.info.last_modified,
            });
        }
        orphans.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        report.orphan_blobs = orphans;
        Ok(())
    }

    async fn check_stuck(&self, report: &mut FsckReport) -> Result<(), ServiceError> {
        let stuck = self
            .maintenance
            .processing_without_job()
            .await
            .map_err(|e| ServiceError::internal("finding assets without a job", e))?;
        report.stuck_processing = stuck
            .into_iter()
            // An asset whose content is gone is failed, not queued again.
            .filter(|a| !report.missing_blobs.iter().any(|m| m.id == a.id))
            .map(|a| AssetProblem {
                asset_id: a.id.to_string(),
                id: a.id,
                sha256: a.sha256,
                status: a.status.as_str(),
            })
            .collect();
        Ok(())
    }

    async fn repair(
        &self,
        options: &FsckOptions,
        report: &mut FsckReport,
    ) -> Result<(), ServiceError> {
        for orphan in &report.orphan_blobs {
            if self.remove_if_orphan(&orphan.sha256, orphan.bytes).await? {
                report.repaired.orphan_blobs_removed += 1;
            }
        }
        for missing in &report.missing_blobs {
            let Some(from) = Status::parse(missing.status) else {
                continue;
            };
            let change = StatusChange {
                to: Status::Failed,
                format: None,
                facts: None,
                failure: Some(Failure {
                    code: codes::CONTENT_MISSING.name.to_owned(),
                    message: "the stored content of this asset is missing from the blob store; \
                              upload it again"
                        .to_owned(),
                }),
                moderation: None,
                at: Utc::now(),
            };
            // The one transition that breaks the life cycle: even an Active asset fails.
            let changed = change_status(
                self.assets.as_ref(),
                &missing.id,
                from,
                &change,
                Transition::ContentLost,
            )
            .await
            .map_err(|e| ServiceError::internal("marking an asset failed", e))?;
            if changed {
                tracing::warn!(asset = %missing.asset_id, sha256 = %missing.sha256, "content missing; asset marked failed");
                report.repaired.assets_marked_failed += 1;
            }
        }
        let job = NewJob {
            kind: PROCESS_ASSET.to_owned(),
            max_attempts: options.max_attempts,
            request_id: None,
        };
        for stuck in &report.stuck_processing {
            self.jobs
                .enqueue_job(&stuck.asset_id, &job)
                .await
                .map_err(|e| ServiceError::internal("queueing a job", e))?;
            tracing::info!(asset = %stuck.asset_id, "asset without a job queued again");
            report.repaired.jobs_queued += 1;
        }
        Ok(())
    }
}

fn cutoff(grace: Duration) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX)
}
