//! Batches, for the Manxue asset routes: many uploads in one call, each through the ordinary
//! upload use case (`IngestService::upload`), and the statuses of many assets. A batch is
//! bounded in size, and its uploads are fetched a few at a time.

use futures_util::StreamExt;
use futures_util::stream;

use super::{IngestService, LibraryService, ServiceError, UploadRequest};
use crate::domain::codes;
use crate::domain::{Asset, AssetType, Caller};

/// The most URLs one batch upload takes.
pub const MAX_BATCH_URLS: usize = 50;
/// How many of a batch's URLs are fetched at once. Each holds one of the tenant's fetch slots
/// (`--max-fetches-per-tenant`) while it runs, like any upload.
pub const BATCH_CONCURRENCY: usize = 4;
/// The most ids one batch status call takes.
pub const MAX_STATUS_IDS: usize = 100;

/// One URL of a batch and what became of it: an asset, or the refusal an upload of that URL
/// alone would have answered.
#[derive(Debug)]
pub struct BatchUpload {
    pub asset_type: AssetType,
    pub url: String,
    pub outcome: Result<Asset, ServiceError>,
}

impl IngestService {
    /// Uploads every `(type, url)`, at most `BATCH_CONCURRENCY` at once, and answers each
    /// outcome in the order given. Refused as a whole only when empty or over
    /// `MAX_BATCH_URLS`; one URL's refusal does not stop the others.
    pub async fn upload_batch(
        &self,
        caller: &Caller,
        urls: Vec<(AssetType, String)>,
    ) -> Result<Vec<BatchUpload>, ServiceError> {
        if urls.is_empty() {
            return Err(ServiceError::invalid(
                "imageUrls, videoUrls and audioUrls are all empty; list at least one URL",
            ));
        }
        if urls.len() > MAX_BATCH_URLS {
            return Err(ServiceError::invalid(format!(
                "{} URLs in one call; at most {MAX_BATCH_URLS}: send them in several calls",
                urls.len()
            )));
        }
        let outcomes = stream::iter(urls)
            .map(|(asset_type, url)| async move {
                let request = UploadRequest {
                    asset_type: Some(asset_type.as_str().to_owned()),
                    url: Some(url.clone()),
                    name: None,
                    group_id: None,
                    dedupe: false,
                };
                let outcome = self.upload(caller, request).await.map(|r| r.asset);
                BatchUpload {
                    asset_type,
                    url,
                    outcome,
                }
            })
            .buffered(BATCH_CONCURRENCY)
            .collect()
            .await;
        Ok(outcomes)
    }
}

impl LibraryService {
    /// Each id with its asset, or `None` when the caller's tenant has no such asset (missing,
    /// malformed and other tenants' ids alike). A failure to read fails the whole call.
    pub async fn statuses(
        &self,
        caller: &Caller,
        ids: Vec<String>,
    ) -> Result<Vec<(String, Option<Asset>)>, ServiceError> {
        if ids.is_empty() {
            return Err(ServiceError::invalid(
                "assetIds is empty; list at least one asset id",
            ));
        }
        if ids.len() > MAX_STATUS_IDS {
            return Err(ServiceError::invalid(format!(
                "{} asset ids in one call; at most {MAX_STATUS_IDS}: send them in several calls",
                ids.len()
            )));
        }
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let asset = match self.get(caller, &id).await {
                Ok(asset) => Some(asset),
                Err(e) if e.code() == &codes::NOT_FOUND => None,
                Err(e) => return Err(e),
            };
            found.push((id, asset));
        }
        Ok(found)
    }
}
