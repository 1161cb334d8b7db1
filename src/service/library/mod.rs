//! A tenant's library: read one asset (now, or once it settles), list, update, delete.

mod delete;
mod list;
mod sort;
mod statuses;
mod wait;

pub use list::ListParams;
pub use statuses::MAX_STATUS_IDS;
pub use wait::MAX_WAIT;

use std::sync::Arc;

use super::{ServiceError, Settled};
use crate::domain::{Asset, AssetId, Caller, ExpiryConfig};
use crate::repo::{AssetRepo, GroupRepo, TaskRepo};

/// How long a deleted asset can be restored, by default.
pub const DELETED_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Reads, renames, deletes and restores the caller's assets.
#[derive(Clone)]
pub struct LibraryService {
    pub(super) assets: Arc<dyn AssetRepo>,
    /// A delete checks that no unfinished task still uses the asset.
    pub(super) tasks: Arc<dyn TaskRepo>,
    /// An update that files an asset in a group checks the group is the tenant's.
    pub(super) groups: Arc<dyn GroupRepo>,
    /// Wakes details requests that wait for processing to end.
    pub(super) settled: Settled,
    /// How long a deleted asset can be restored before its row is purged.
    pub(super) retention: std::time::Duration,
    /// Per-tenant expiry policies.
    pub(super) expiry: Arc<ExpiryConfig>,
}

impl LibraryService {
    pub fn new(
        assets: Arc<dyn AssetRepo>,
        tasks: Arc<dyn TaskRepo>,
        groups: Arc<dyn GroupRepo>,
        settled: Settled,
    ) -> Self {
        Self {
            assets,
            tasks,
            groups,
            settled,
            retention: DELETED_RETENTION,
            expiry: Arc::default(),
        }
    }

    /// Keeps deleted assets restorable for `retention`.
    pub fn with_retention(mut self, retention: std::time::Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Expires assets under these per-tenant policies.
    pub fn with_expiry(mut self, expiry: ExpiryConfig) -> Self {
        self.expiry = Arc::new(expiry);
        self
    }

    /// When a live asset expires under its tenant's policy (`None`: never).
    pub fn expires_at(&self, asset: &Asset) -> Option<chrono::DateTime<chrono::Utc>> {
        self.expiry
            .for_tenant(&asset.tenant)
            .expires_at(asset.create_time, asset.last_used_at)
    }

    /// One asset of the caller's tenant. Ids of other tenants and malformed ids answer
    /// exactly like missing ones.
    pub async fn get(&self, caller: &Caller, raw_id: &str) -> Result<Asset, ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        self.assets
            .get_asset(&caller.tenant, &id)
            .await
            .map_err(|e| ServiceError::internal("reading an asset", e))?
            .ok_or_else(ServiceError::not_found)
    }
}
