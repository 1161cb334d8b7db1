//! What every upload shares once its bytes are in a local file, fetched or received: sniff →
//! (with `dedupe`: a live twin answered instead) → the tenant's quota of bytes → store the blob
//! → insert the asset (`Processing`) and its job, the blob held against the orphan sweep from
//! the put to the insert (`blob_guard`).

use chrono::Utc;

use super::received::Origin;
use super::{IngestService, Registered};
use crate::blob::PutOutcome;
use crate::domain::codes;
use crate::domain::{Asset, AssetId, AssetType, Caller, OverQuota, Status};
use crate::fetch::FetchedFile;
use crate::jobs::PROCESS_ASSET;
use crate::probe::{heif_brand, sniff};
use crate::repo::{AssetFilter, Filed, Insert, NewAsset, NewJob, QuotaCheck};
use crate::service::ServiceError;

/// Times an upload takes a new hold on its blob after losing one (`blob_guard`).
const HOLD_ATTEMPTS: u32 = 3;

/// What the insert of an upload's row needs.
struct Registration<'a> {
    caller: &'a Caller,
    asset_type: AssetType,
    url: &'a str,
    filing: &'a Filing,
    sha256: &'a str,
    bytes: u64,
    format: &'a str,
    hold: &'a str,
    quota: Option<QuotaCheck>,
}

/// Where a new asset is filed: its name and its group, both checked; and the resumable or
/// direct upload it finishes, if it is one, with the bytes that upload reserved.
#[derive(Debug, Clone, Default)]
pub(super) struct Filing {
    pub name: Option<String>,
    pub group_id: Option<String>,
    pub finishes: Option<(String, u64)>,
}

/// What the insert of an upload's row did.
enum Inserted {
    New(Box<Asset>),
    /// The blob's hold was gone: store it again.
    HoldLost,
    /// The upload it finishes is an asset already (another request completed it).
    UploadFinished(Option<String>),
    /// The tenant's quota would be passed.
    OverQuota(OverQuota),
}

/// The refusal of a completion that another request got to first.
pub(super) fn completed_by_another(asset: Option<&str>) -> ServiceError {
    let which = asset.map(|a| format!(" (asset {a})")).unwrap_or_default();
    ServiceError::client(
        &codes::CONFLICT,
        format!("this upload is complete: another request completed it{which}"),
    )
}

fn article(t: AssetType) -> &'static str {
    match t {
        AssetType::Image | AssetType::Audio => "an",
        AssetType::Video | AssetType::Document => "a",
    }
}

impl IngestService {
    /// What every upload shares once its bytes are in a local file, fetched or received:
    /// sniff → store the blob → insert the asset (`Processing`) and its job.
    pub(super) async fn register(
        &self,
        caller: &Caller,
        asset_type: AssetType,
        filing: Filing,
        origin: Origin,
        file: FetchedFile,
        dedupe: bool,
    ) -> Result<Registered, ServiceError> {
        let sniffed = sniff(&file.head);
        if asset_type == AssetType::Image
            && let Some(brand) = heif_brand(&file.head)
        {
            // Not decoded here, so never checked for faces: refused rather than held blind.
            return Err(ServiceError::client(
                &codes::IMAGE_FORMAT,
                format!(
                    "{} is a HEIC/HEIF image (ISO-BMFF brand '{brand}'), which is not accepted; \
                     send it as JPEG, PNG, WebP, BMP, TIFF or GIF",
                    origin.described
                ),
            ));
        }
        if sniffed.family != Some(asset_type) {
            let family = sniffed
                .family
                .map(|f| format!(" ({} {f})", article(f)))
                .unwrap_or_default();
            return Err(ServiceError::client(
                &codes::TYPE_MISMATCH,
                format!(
                    "{} is {}{family}, not {} {asset_type}",
                    origin.described,
                    sniffed.description,
                    article(asset_type)
                ),
            ));
        }

        if (dedupe || self.dedupes(&caller.tenant))
            && let Some(asset) = self.live_twin(caller, asset_type, &file.sha256).await?
        {
            tracing::info!(asset = %asset.id, tenant = %caller.tenant, "upload deduplicated");
            return Ok(Registered {
                asset,
                deduplicated: true,
            });
        }

        // The file's size is known now: it must fit the tenant's quota of bytes (less what the
        // upload it finishes reserved: that becomes this file). Checked again with the insert.
        let reserved = filing.finishes.as_ref().map_or(0, |(_, length)| *length);
        self.quotas
            .admit_bytes(&caller.tenant, file.bytes.saturating_sub(reserved))
            .await?;
        let quota = self.quotas.check(&caller.tenant).await?;

        // The blob is held from before the put looks for it until the row is inserted, so the
        // orphan sweep cannot remove it in between (`blob_guard`). A hold reaped as stale
        // meanwhile (a very slow put) means starting over.
        for _ in 0..HOLD_ATTEMPTS {
            let hold = self.guard.hold_for_upload(&file.sha256).await?;
            let storing = std::time::Instant::now();
            let put = self
                .blobs
                .put_file(
                    &file.sha256,
                    &file.path,
                    crate::domain::mime_type(Some(&sniffed.format)),
                )
                .await
                .map_err(|e| ServiceError::internal("storing a blob", e))?;
            crate::metrics::METRICS.stage("store", storing.elapsed());
            let new = Registration {
                caller,
                asset_type,
                url: &origin.url,
                filing: &filing,
                sha256: &file.sha256,
                bytes: file.bytes,
                format: &sniffed.format,
                hold: hold.id(),
                quota,
            };
            // On an error the hold is released when dropped; an insert consumes it.
            match self.insert(new).await? {
                Inserted::New(asset) => {
                    hold.consumed();
                    tracing::info!(
                        asset = %asset.id, tenant = %caller.tenant, bytes = asset.bytes,
                        format = %sniffed.format, dedup = put == PutOutcome::AlreadyPresent,
                        "asset registered"
                    );
                    return Ok(Registered {
                        asset: *asset,
                        deduplicated: false,
                    });
                }
                Inserted::HoldLost => {
                    hold.consumed();
                    tracing::warn!(sha256 = %file.sha256, "blob hold lost; storing again");
                }
                // Nothing inserted: the hold is released when dropped.
                Inserted::UploadFinished(asset) => {
                    return Err(completed_by_another(asset.as_deref()));
                }
                Inserted::OverQuota(over) => return Err(crate::service::quota::refusal(over)),
            }
        }
        Err(ServiceError::internal(
            "registering an asset",
            anyhow::anyhow!("the blob hold was lost {HOLD_ATTEMPTS} times"),
        ))
    }

    /// Whether every upload of `tenant` is deduplicated (the configuration's tenants).
    fn dedupes(&self, tenant: &str) -> bool {
        self.dedupe_tenants.iter().any(|t| t == "*" || t == tenant)
    }

    /// The newest live asset of the caller's tenant with these bytes and this type that has not
    /// failed (Processing, PendingReview or Active). Never another tenant's.
    async fn live_twin(
        &self,
        caller: &Caller,
        asset_type: AssetType,
        sha256: &str,
    ) -> Result<Option<Asset>, ServiceError> {
        let filter = AssetFilter {
            asset_type: Some(asset_type),
            statuses: vec![Status::Processing, Status::PendingReview, Status::Active],
            name_contains: None,
            sha256: Some(sha256.to_owned()),
            ..AssetFilter::default()
        };
        let page = self
            .assets
            .list_assets_keyset(&caller.tenant, &filter, None, 1)
            .await
            .map_err(|e| ServiceError::internal("looking for the same content", e))?;
        Ok(page.items.into_iter().next())
    }

    /// Inserts the `Processing` row and its job, releasing the upload's hold (and finishing
    /// the resumable or direct upload it completes, in the same transaction).
    async fn insert(&self, new: Registration<'_>) -> Result<Inserted, ServiceError> {
        let job = NewJob {
            kind: PROCESS_ASSET.to_owned(),
            max_attempts: self.max_attempts,
            request_id: crate::request_id::current(),
        };
        for _ in 0..8 {
            let now = Utc::now();
            let asset = NewAsset {
                id: AssetId::generate(now),
                tenant: new.caller.tenant.clone(),
                name: new.filing.name.clone(),
                asset_type: new.asset_type,
                url: new.url.to_owned(),
                sha256: new.sha256.to_owned(),
                bytes: new.bytes,
                format: Some(new.format.to_owned()),
                group_id: new.filing.group_id.clone(),
                created_at: now,
            };
            let filed = Filed {
                hold: new.hold,
                finishes: new.filing.finishes.as_ref().map(|(id, _)| id.as_str()),
                quota: new.quota,
            };
            let inserted = self.assets.insert_filed_asset(&asset, &job, &filed).await;
            match inserted {
                Ok(Insert::Inserted(asset)) => {
                    self.wake.notify_one();
                    return Ok(Inserted::New(asset));
                }
                Ok(Insert::IdTaken) => continue,
                Ok(Insert::HoldLost) => return Ok(Inserted::HoldLost),
                Ok(Insert::UploadFinished(asset)) => return Ok(Inserted::UploadFinished(asset)),
                Ok(Insert::OverQuota(over)) => return Ok(Inserted::OverQuota(over)),
                Err(e) => return Err(ServiceError::internal("registering an asset", e)),
            }
        }
        Err(ServiceError::internal(
            "registering an asset",
            anyhow::anyhow!("could not find a free asset id"),
        ))
    }
}
