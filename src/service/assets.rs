use std::sync::Arc;

use tokio::sync::Notify;

use super::ServiceError;
use crate::blob::BlobStore;
use crate::domain::rules::MediaLimits;
use crate::domain::{Asset, AssetId, Caller};
use crate::fetch::Fetcher;
use crate::repo::Repo;

/// The asset use cases, over the ports.
#[derive(Clone)]
pub struct AssetService {
    pub(super) repo: Arc<dyn Repo>,
    pub(super) blobs: Arc<dyn BlobStore>,
    pub(super) fetcher: Arc<dyn Fetcher>,
    pub(super) limits: Arc<MediaLimits>,
    pub(super) max_attempts: u32,
    pub(super) detector: Arc<dyn crate::moderation::FaceDetector>,
    pub(super) moderation: Arc<crate::config::ModerationConfig>,
    /// Where remote blobs are copied for probing.
    pub(super) tmp_dir: std::path::PathBuf,
    /// Wakes an idle worker as soon as a job is enqueued.
    pub(super) wake: Arc<Notify>,
}

impl AssetService {
    pub fn new(
        repo: Arc<dyn Repo>,
        blobs: Arc<dyn BlobStore>,
        fetcher: Arc<dyn Fetcher>,
        limits: MediaLimits,
        max_attempts: u32,
        tmp_dir: std::path::PathBuf,
        wake: Arc<Notify>,
        detector: Arc<dyn crate::moderation::FaceDetector>,
        moderation: crate::config::ModerationConfig,
    ) -> Self {
        Self {
            repo,
            blobs,
            fetcher,
            limits: Arc::new(limits),
            max_attempts,
            tmp_dir,
            wake,
            detector,
            moderation: Arc::new(moderation),
        }
    }

    /// One asset of the caller's tenant. Ids of other tenants and malformed ids answer
    /// exactly like missing ones.
    pub async fn get(&self, caller: &Caller, raw_id: &str) -> Result<Asset, ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        self.repo
            .get_asset(&caller.tenant, &id)
            .await
            .map_err(|e| ServiceError::internal("reading an asset", e))?
            .ok_or_else(ServiceError::not_found)
    }
}
