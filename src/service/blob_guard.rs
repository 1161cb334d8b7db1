//! Keeps an upload that reuses a stored blob and the removal of that blob as an orphan from
//! overlapping, on any backend pair, through holds recorded in the metadata database that
//! every node shares:
//!
//! - an **upload** records an upload hold on its content hash, then waits while a removal hold
//!   younger than [`REMOVAL_STALE`] exists; only then does it store the blob (or find it
//!   stored), and its insert swaps the hold for the asset row in one transaction;
//! - a **removal** (the housekeeping sweep, `fsck --repair`) records a removal hold, then deletes
//!   the blob only if neither a row nor an upload hold references it, and drops its hold once
//!   the delete has returned.
//!
//! Why no upload can be left holding a removed blob. Each side commits its own hold before it
//! reads the other's, and a read sees every commit that finished before the read began (a
//! statement's snapshot in PostgreSQL at read committed, a read transaction in SQLite's WAL).
//! Take an upload U and a removal R of the same hash:
//!
//! - R's hold committed after U's: R's read comes later still, so it sees U's hold or, once U
//!   inserted, U's row (the swap is one transaction and R reads rows and holds in one
//!   statement). R deletes nothing.
//! - R's hold committed before U's: U's first read comes after both, so it sees R's hold unless
//!   R already dropped it — which R does only once done: after its delete returned, or without
//!   deleting. U waits until the hold is gone, so U's put runs after any delete of R and
//!   stores the blob again if R removed it.
//!
//! An insert whose hold is gone (reaped as stale) inserts nothing and the upload starts over,
//! so every row was inserted by an upload whose hold lasted from before it looked at the blob
//! until the insert: the case analysis above covers it.
//!
//! Holds left by a node that died are reaped by the sweep: upload holds after [`UPLOAD_STALE`]
//! (an upload that outlives its hold just starts over), removal holds after [`REMOVAL_STALE`],
//! the age at which uploads stop waiting for one. That is the one timing assumption, the usual
//! one of leases: a removal starts its delete within [`REMOVAL_TIMEOUT`] of taking its hold and
//! gives it up after `REMOVAL_TIMEOUT` more; after a delete that failed or was given up it keeps
//! its hold until stale. So a delete lands before any upload stops waiting for its hold unless
//! the store applies it over a minute after it was given up, or the nodes' clocks disagree by
//! that much.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::ServiceError;
use crate::blob::BlobStore;
use crate::repo::{BlobHoldRepo, HoldKind};

/// A removal hold this old is abandoned (its node died): uploads no longer wait for it.
pub const REMOVAL_STALE: Duration = Duration::from_secs(120);
/// The longest a removal takes to start its delete after taking its hold, and the longest it
/// waits for the store's answer.
pub const REMOVAL_TIMEOUT: Duration = Duration::from_secs(20);
/// An upload hold this old is abandoned (its node died) and is reaped; the blob it held may
/// then be swept.
pub const UPLOAD_STALE: Duration = Duration::from_secs(3600);
/// How often an upload looks again while a removal of its blob is in progress.
const WAIT_STEP: Duration = Duration::from_millis(20);

/// The upload and removal sides of the protocol above.
#[derive(Clone)]
pub struct BlobGuard {
    holds: Arc<dyn BlobHoldRepo>,
}

/// An upload's hold on its blob. Dropped without being consumed by an insert (the upload failed
/// or was cancelled), it is released in the background; one left behind by a crash is reaped
/// once stale.
pub struct UploadHold {
    id: String,
    /// Set until an insert consumed the hold.
    holds: Option<Arc<dyn BlobHoldRepo>>,
}

impl UploadHold {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The insert released the hold with its row (or found it gone): nothing left to do.
    pub fn consumed(mut self) {
        self.holds = None;
    }
}

impl Drop for UploadHold {
    fn drop(&mut self) {
        let (Some(holds), Ok(runtime)) = (self.holds.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let id = std::mem::take(&mut self.id);
        runtime.spawn(async move {
            if let Err(e) = holds.release_hold(&id).await {
                tracing::warn!(error = %e, hold = %id, "could not release a blob hold");
            }
        });
    }
}

fn ago(age: Duration) -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX)
}

impl BlobGuard {
    pub fn new(holds: Arc<dyn BlobHoldRepo>) -> Self {
        Self { holds }
    }

    /// Holds the content hash for an upload, once no removal of it is in progress. The upload
    /// may then look for the blob, store it, and insert its row with the returned hold.
    pub async fn hold_for_upload(&self, sha256: &str) -> Result<UploadHold, ServiceError> {
        let id = self
            .holds
            .hold_blob(sha256, HoldKind::Upload, Utc::now())
            .await
            .map_err(|e| ServiceError::internal("holding a blob", e))?;
        // Released when dropped, on every early return below.
        let hold = UploadHold {
            id,
            holds: Some(Arc::clone(&self.holds)),
        };
        let started = Instant::now();
        loop {
            let removing = self
                .holds
                .blob_held(sha256, HoldKind::Removal, ago(REMOVAL_STALE))
                .await;
            match removing {
                Ok(false) => return Ok(hold),
                // Removal holds go stale, so this ends; the bound is a backstop.
                Ok(true) if started.elapsed() <= 2 * REMOVAL_STALE => {
                    tokio::time::sleep(WAIT_STEP).await;
                }
                Ok(true) => {
                    return Err(ServiceError::internal(
                        "holding a blob",
                        anyhow::anyhow!("a removal of blob {sha256} does not end"),
                    ));
                }
                Err(e) => return Err(ServiceError::internal("holding a blob", e)),
            }
        }
    }

    /// Drops a removal's hold. Best effort: a hold left behind is reaped once stale.
    async fn release(&self, hold: &str) {
        if let Err(e) = self.holds.release_hold(hold).await {
            tracing::warn!(error = %e, hold, "could not release a blob hold");
        }
    }

    /// Whether a row (deleted ones included) or an upload in progress references the blob.
    pub async fn in_use(&self, sha256: &str) -> Result<bool, ServiceError> {
        self.holds
            .blob_in_use(sha256)
            .await
            .map_err(|e| ServiceError::internal("checking a blob reference", e))
    }

    /// Deletes the blob if nothing references it, under a removal hold. `true` when removed.
    pub async fn remove_if_orphan(
        &self,
        blobs: &dyn BlobStore,
        sha256: &str,
    ) -> Result<bool, ServiceError> {
        let started = Instant::now();
        let hold = self
            .holds
            .hold_blob(sha256, HoldKind::Removal, Utc::now())
            .await
            .map_err(|e| ServiceError::internal("holding a blob for removal", e))?;
        let in_use = match self.in_use(sha256).await {
            Ok(in_use) => in_use,
            Err(e) => {
                self.release(&hold).await;
                return Err(e);
            }
        };
        // Too slow to start the delete within the hold's margin: leave it to the next sweep.
        if in_use || started.elapsed() >= REMOVAL_TIMEOUT {
            self.release(&hold).await;
            return Ok(false);
        }
        match tokio::time::timeout(REMOVAL_TIMEOUT, blobs.delete(sha256)).await {
            Ok(Ok(())) => {
                self.release(&hold).await;
                Ok(true)
            }
            // Whether a failed or unanswered delete still lands is unknown: the hold stays
            // until it is stale, and uploads of this content wait until then.
            Ok(Err(e)) => Err(ServiceError::internal("deleting an orphan blob", e)),
            Err(_) => Err(ServiceError::internal(
                "deleting an orphan blob",
                anyhow::anyhow!("the blob store did not answer within {REMOVAL_TIMEOUT:?}"),
            )),
        }
    }

    /// Reaps the holds of nodes that died; how many.
    pub async fn reap_stale(&self) -> Result<u64, ServiceError> {
        let reap = |kind, age| async move {
            self.holds
                .reap_holds(kind, ago(age))
                .await
                .map_err(|e| ServiceError::internal("reaping stale blob holds", e))
        };
        Ok(reap(HoldKind::Upload, UPLOAD_STALE).await?
            + reap(HoldKind::Removal, REMOVAL_STALE).await?)
    }
}
