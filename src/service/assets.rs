use std::sync::Arc;

use tokio::sync::Notify;

use super::ServiceError;
use crate::blob::BlobStore;
use crate::config::ModerationConfig;
use crate::domain::rules::MediaLimits;
use crate::domain::{Asset, AssetId, Caller};
use crate::fetch::Fetcher;
use crate::moderation::FaceDetector;
use crate::repo::Repo;

/// The asset use cases, over the ports.
#[derive(Clone)]
pub struct AssetService {
    pub(super) repo: Arc<dyn Repo>,
    pub(super) blobs: Arc<dyn BlobStore>,
    pub(super) fetcher: Arc<dyn Fetcher>,
    pub(super) limits: Arc<MediaLimits>,
    pub(super) max_attempts: u32,
    pub(super) detector: Arc<dyn FaceDetector>,
    pub(super) moderation: Arc<ModerationConfig>,
    /// Where remote blobs are copied for probing.
    pub(super) tmp_dir: std::path::PathBuf,
    /// Wakes an idle worker as soon as a job is enqueued.
    pub(super) wake: Arc<Notify>,
    /// Announces every asset this node moves out of Processing (details `?wait=` listens).
    pub(super) settled: tokio::sync::broadcast::Sender<AssetId>,
}

/// The ports the asset use cases run on.
pub struct AssetPorts {
    pub repo: Arc<dyn Repo>,
    pub blobs: Arc<dyn BlobStore>,
    pub fetcher: Arc<dyn Fetcher>,
    pub detector: Arc<dyn FaceDetector>,
    /// Notified on every enqueue, so an idle worker starts at once.
    pub wake: Arc<Notify>,
}

/// The settings the asset use cases follow.
pub struct AssetSettings {
    pub limits: MediaLimits,
    pub moderation: ModerationConfig,
    pub max_attempts: u32,
    pub tmp_dir: std::path::PathBuf,
}

/// Settled-asset announcements kept for slow listeners (a lagging listener re-reads).
const SETTLED_BACKLOG: usize = 1024;

impl AssetService {
    pub fn new(ports: AssetPorts, settings: AssetSettings) -> Self {
        Self {
            repo: ports.repo,
            blobs: ports.blobs,
            fetcher: ports.fetcher,
            detector: ports.detector,
            wake: ports.wake,
            limits: Arc::new(settings.limits),
            moderation: Arc::new(settings.moderation),
            max_attempts: settings.max_attempts,
            tmp_dir: settings.tmp_dir,
            settled: tokio::sync::broadcast::channel(SETTLED_BACKLOG).0,
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
