//! Asset bytes and the URLs generation tasks read them from: for the owner, through this
//! server's signed URLs, or through the blob store's presigned URLs.

mod resolve;
mod signer;

pub use resolve::{ResolveViolation, Resolved, ResolvedBytes};
pub use signer::ContentSigner;

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use futures_util::stream::BoxStream;

use super::ServiceError;
use crate::blob::{BlobError, BlobStore};
use crate::domain::{Asset, AssetId, TaskRules, mime_type};
use crate::repo::AssetRepo;

/// Serves asset bytes and resolves `asset://` references to URLs.
#[derive(Clone)]
pub struct DeliveryService {
    pub(super) assets: Arc<dyn AssetRepo>,
    blobs: Arc<dyn BlobStore>,
    signer: ContentSigner,
    /// The shape rules of tasks, per model.
    pub(super) task_rules: Arc<TaskRules>,
}

/// A body stream of asset bytes.
pub type ContentStream = BoxStream<'static, Result<Bytes, BlobError>>;

impl DeliveryService {
    pub fn new(
        assets: Arc<dyn AssetRepo>,
        blobs: Arc<dyn BlobStore>,
        signer: ContentSigner,
    ) -> Self {
        Self {
            assets,
            blobs,
            signer,
            task_rules: Arc::new(TaskRules::default()),
        }
    }

    /// The same service with these per-model task rules (the defaults otherwise).
    pub fn with_task_rules(mut self, rules: TaskRules) -> Self {
        self.task_rules = Arc::new(rules);
        self
    }

    /// The URL a generation task reads an Active asset from: the blob store's presigned URL
    /// when configured, else a signed /content URL of this server.
    pub async fn content_url(&self, asset: &Asset) -> Result<String, ServiceError> {
        if self.signer.presigns() {
            let presigned = self
                .blobs
                .presigned_url(
                    &asset.sha256,
                    mime_type(asset.format.as_deref()),
                    self.signer.ttl(),
                )
                .await
                .map_err(|e| ServiceError::internal("presigning a content URL", e))?;
            if let Some(url) = presigned {
                return Ok(url);
            }
        }
        Ok(self.signer.url(&asset.id, Utc::now()))
    }

    /// The asset behind a signed URL: the signature (`exp`, `sig`) is checked first.
    pub async fn signed_asset(
        &self,
        raw_id: &str,
        expires: &str,
        sig: &str,
    ) -> Result<Asset, ServiceError> {
        self.signer.verify(raw_id, expires, sig, Utc::now())?;
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        self.assets
            .get_asset_any_tenant(&id)
            .await
            .map_err(|e| ServiceError::internal("reading an asset", e))?
            .ok_or_else(ServiceError::not_found)
    }

    /// Opens the asset's bytes, or one range of them.
    pub async fn open_content(
        &self,
        asset: &Asset,
        range: Option<Range<u64>>,
    ) -> Result<ContentStream, ServiceError> {
        self.blobs
            .content_stream(&asset.sha256, range)
            .await
            .map_err(|e| ServiceError::internal("opening an asset's bytes", e))
    }
}
