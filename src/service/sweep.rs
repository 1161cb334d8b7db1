//! Housekeeping: blobs whose upload never became an asset (a crash between storing the blob
//! and inserting the row) are removed once they are older than a grace period.

use std::time::Duration;

use chrono::Utc;

use super::{AssetService, ServiceError};

impl AssetService {
    /// Removes unreferenced blobs older than `grace`; returns how many were removed.
    pub async fn sweep_orphan_blobs(&self, grace: Duration) -> Result<u64, ServiceError> {
        let cutoff =
            Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        let blobs = self
            .blobs
            .list()
            .await
            .map_err(|e| ServiceError::internal("listing blobs", e))?;
        let mut removed = 0;
        for blob in blobs.into_iter().filter(|b| b.last_modified <= cutoff) {
            let referenced = self
                .repo
                .blob_referenced(&blob.sha256)
                .await
                .map_err(|e| ServiceError::internal("checking a blob reference", e))?;
            if !referenced {
                self.blobs
                    .delete(&blob.sha256)
                    .await
                    .map_err(|e| ServiceError::internal("deleting an orphan blob", e))?;
                tracing::info!(sha256 = %blob.sha256, bytes = blob.bytes, "orphan blob removed");
                removed += 1;
            }
        }
        Ok(removed)
    }
}
