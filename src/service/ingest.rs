//! Ingest: an upload by URL becomes a stored blob and a `Processing` asset with its job.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Notify;
use url::Url;

use super::ServiceError;
use super::admission::Admission;
use crate::blob::{BlobStore, PutOutcome};
use crate::domain::codes;
use crate::domain::rules::{MediaLimits, describe_bytes, describe_cap};
use crate::domain::{Asset, AssetId, AssetName, AssetType, Caller};
use crate::fetch::{FetchError, Fetcher};
use crate::jobs::PROCESS_ASSET;
use crate::probe::sniff;
use crate::repo::{AssetRepo, Insert, NewAsset, NewJob};

/// Registers media: fetch, sniff, store, insert.
#[derive(Clone)]
pub struct IngestService {
    fetcher: Arc<dyn Fetcher>,
    blobs: Arc<dyn BlobStore>,
    assets: Arc<dyn AssetRepo>,
    /// Notified on every enqueue, so an idle worker of this node starts at once.
    wake: Arc<Notify>,
    limits: Arc<MediaLimits>,
    /// Attempts given to each processing job.
    max_attempts: u32,
    admission: Arc<Admission>,
}

/// An upload as a face receives it; every field is validated here.
#[derive(Debug, Clone, Default)]
pub struct UploadRequest {
    pub asset_type: Option<String>,
    pub url: Option<String>,
    pub name: Option<String>,
}

const TYPES_HINT: &str = "use exactly one of Image, Video, Audio, Document (case-sensitive)";

fn article(t: AssetType) -> &'static str {
    match t {
        AssetType::Image | AssetType::Audio => "an",
        AssetType::Video | AssetType::Document => "a",
    }
}

impl UploadRequest {
    /// Validates the fields: the type, the URL's syntax and the name. Nothing is fetched.
    pub fn parse(&self) -> Result<(AssetType, Url, Option<String>), ServiceError> {
        let asset_type = match self.asset_type.as_deref() {
            None | Some("") => {
                return Err(ServiceError::client(
                    &codes::INVALID_ASSET_TYPE,
                    format!("assetType is required; {TYPES_HINT}"),
                ));
            }
            Some(raw) => AssetType::parse(raw).ok_or_else(|| {
                ServiceError::client(
                    &codes::INVALID_ASSET_TYPE,
                    format!("assetType '{raw}' is not valid; {TYPES_HINT}"),
                )
            })?,
        };
        let raw_url = self.url.as_deref().map(str::trim).unwrap_or_default();
        if raw_url.is_empty() {
            return Err(ServiceError::client(
                &codes::INVALID_URL,
                "url is required: a public http(s) URL the server can fetch now",
            ));
        }
        let url = Url::parse(raw_url).map_err(|e| {
            ServiceError::client(
                &codes::INVALID_URL,
                format!("url '{raw_url}' is not a valid URL: {e}"),
            )
        })?;
        let name = match self.name.as_deref() {
            None => None,
            Some(raw) => {
                let name = AssetName::parse(raw)
                    .map_err(|m| ServiceError::client(&codes::INVALID_NAME, m))?;
                Some(name.into_string()).filter(|n| !n.is_empty())
            }
        };
        Ok((asset_type, url, name))
    }
}

fn fetch_error(e: FetchError, asset_type: AssetType) -> ServiceError {
    let code = match &e {
        FetchError::InvalidUrl(_) | FetchError::UnsupportedScheme(_) => &codes::INVALID_URL,
        FetchError::Blocked { .. } => &codes::URL_NOT_ALLOWED,
        FetchError::Unreachable(_) => &codes::SOURCE_UNREACHABLE,
        FetchError::Timeout(_) => &codes::SOURCE_TIMEOUT,
        FetchError::HttpStatus(_) => &codes::SOURCE_HTTP_ERROR,
        FetchError::TooManyRedirects(_) => &codes::TOO_MANY_REDIRECTS,
        FetchError::TooLarge { limit, declared } => {
            let what = asset_type.as_str().to_lowercase();
            let message = match declared {
                Some(n) => format!(
                    "the file at the URL is {} (per its Content-Length); {what} must be {}",
                    describe_bytes(*n),
                    describe_cap(*limit)
                ),
                None => format!(
                    "the file at the URL is larger than allowed; {what} must be {}",
                    describe_cap(*limit)
                ),
            };
            return ServiceError::client(&codes::TOO_LARGE, message);
        }
        FetchError::LocalIo(_) => return ServiceError::internal("storing a download", e),
    };
    ServiceError::client(code, e)
}

impl IngestService {
    pub fn new(
        fetcher: Arc<dyn Fetcher>,
        blobs: Arc<dyn BlobStore>,
        assets: Arc<dyn AssetRepo>,
        wake: Arc<Notify>,
        limits: Arc<MediaLimits>,
        max_attempts: u32,
        admission: Arc<Admission>,
    ) -> Self {
        Self {
            fetcher,
            blobs,
            assets,
            wake,
            limits,
            max_attempts,
            admission,
        }
    }

    /// Registers media by URL: fetch (SSRF-safe, capped) → sniff → store the blob → insert the
    /// asset (`Processing`) and its job in one transaction. Nothing is created on failure.
    pub async fn upload(&self, caller: &Caller, req: UploadRequest) -> Result<Asset, ServiceError> {
        let (asset_type, url, name) = req.parse()?;
        // Held until the upload answers, whichever way.
        let _slot = self.admission.admit(&caller.tenant).await?;
        let cap = self.limits.for_type(asset_type).max_bytes;
        let fetched = self
            .fetcher
            .fetch(&url, cap)
            .await
            .map_err(|e| fetch_error(e, asset_type))?;

        let sniffed = sniff(&fetched.head);
        if sniffed.family != Some(asset_type) {
            let family = sniffed
                .family
                .map(|f| format!(" ({} {f})", article(f)))
                .unwrap_or_default();
            return Err(ServiceError::client(
                &codes::TYPE_MISMATCH,
                format!(
                    "the content at the URL is {}{family}, not {} {asset_type}",
                    sniffed.description,
                    article(asset_type)
                ),
            ));
        }

        let put = self
            .blobs
            .put_file(
                &fetched.sha256,
                &fetched.path,
                crate::domain::mime_type(Some(&sniffed.format)),
            )
            .await
            .map_err(|e| ServiceError::internal("storing a blob", e))?;

        let job = NewJob {
            kind: PROCESS_ASSET.to_owned(),
            max_attempts: self.max_attempts,
        };
        for _ in 0..8 {
            let now = Utc::now();
            let new = NewAsset {
                id: AssetId::generate(now),
                tenant: caller.tenant.clone(),
                name: name.clone(),
                asset_type,
                url: url.to_string(),
                sha256: fetched.sha256.clone(),
                bytes: fetched.bytes,
                format: Some(sniffed.format.clone()),
                created_at: now,
            };
            match self.assets.insert_asset_with_job(&new, &job).await {
                Ok(Insert::Inserted(asset)) => {
                    self.wake.notify_one();
                    tracing::info!(
                        asset = %asset.id, tenant = %caller.tenant, bytes = asset.bytes,
                        format = %sniffed.format, dedup = put == PutOutcome::AlreadyPresent,
                        "asset registered"
                    );
                    return Ok(*asset);
                }
                Ok(Insert::IdTaken) => continue,
                Err(e) => return Err(ServiceError::internal("registering an asset", e)),
            }
        }
        Err(ServiceError::internal(
            "registering an asset",
            anyhow::anyhow!("could not find a free asset id"),
        ))
    }
}
