//! Batch uploads, for the Manxue asset routes: many URLs in one call, each filed through the
//! ordinary upload use case (`IngestService::file`). A batch is bounded in size, and its uploads
//! are fetched a few at a time.

use futures_util::StreamExt;
use futures_util::stream;

use super::{IngestService, UploadFields};
use crate::domain::{Asset, AssetType, Caller};
use crate::service::ServiceError;

/// The most URLs one batch upload takes.
pub const MAX_BATCH_URLS: usize = 50;
/// How many of a batch's URLs are fetched at once. Each holds one of the tenant's fetch slots
/// (`--max-fetches-per-tenant`) while it runs, like any upload.
pub const BATCH_CONCURRENCY: usize = 4;

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
                let fields = UploadFields {
                    asset_type: Some(asset_type.as_str().to_owned()),
                    ..UploadFields::default()
                };
                let outcome = match fields.by_url(Some(&url)) {
                    Ok(upload) => self.file(caller, upload).await.map(|r| r.asset),
                    Err(refused) => Err(refused),
                };
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
