//! Metadata ports (assets, the job queue, API keys, tasks) and their SQL adapter.
//!
//! The traits are narrow and dyn-safe; `Repo` combines them so one `Arc<dyn Repo>` serves
//! every use case. The backend is chosen once, from the database URL's scheme.

mod error;
mod review;
mod sql;
mod types;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Asset, AssetId, Delivery, Group, Quota, Status, Usage, Webhook};

pub use error::RepoError;
pub use review::{
    HistoryEntry, HistoryPage, HistoryQuery, HistoryRecord, QueueCursor, QueuedAsset, ReviewPage,
    ReviewQuery, ReviewRepo,
};
pub use sql::{Dialect, SqlRepo, postgres, sqlite};
pub use types::{
    ApiKeyRecord, AssetFilter, AssetOrder, AssetRef, DeliveryAttempt, Filed, GroupDeletion,
    GroupPage, GroupUpdate, HoldKind, Insert, Job, KeyClaim, KeyRequest, KeysetPage, ListSort,
    NewApiKey, NewAsset, NewJob, NewUpload, OffsetPage, QuotaCheck, SortCursor, SortKey,
    SortedPage, StatusChange, StoredAnswer, TenantScope, UploadRecord, keyset_split,
};

pub type RepoResult<T> = Result<T, RepoError>;

/// Assets: create (with its processing job, atomically), read, list, change status, delete.
#[async_trait]
pub trait AssetRepo: Send + Sync {
    /// Inserts the asset row and its job in one transaction. `IdTaken` when the id exists.
    async fn insert_asset_with_job(&self, asset: &NewAsset, job: &NewJob) -> RepoResult<Insert>;
    /// The same, releasing the upload's `hold` on its blob (`BlobHoldRepo`) in the same
    /// transaction. `HoldLost`, with nothing inserted, when the hold is gone.
    async fn insert_held_asset_with_job(
        &self,
        asset: &NewAsset,
        job: &NewJob,
        hold: &str,
    ) -> RepoResult<Insert>;
    /// The same, and (`filed`) recording the asset as what the resumable or direct upload it
    /// finishes became, and checking the tenant's quota with the tenant's other inserts kept
    /// out until the end, all in the one transaction: `UploadFinished` when another request
    /// finished that upload, `OverQuota` when the asset would pass the quota — nothing inserted
    /// either way. So one upload becomes one asset, and concurrent uploads never pass a quota,
    /// on any number of nodes.
    async fn insert_filed_asset(
        &self,
        asset: &NewAsset,
        job: &NewJob,
        filed: &Filed<'_>,
    ) -> RepoResult<Insert>;
    /// A live (not deleted) asset of this tenant.
    async fn get_asset(&self, tenant: &str, id: &AssetId) -> RepoResult<Option<Asset>>;
    /// A live asset of any tenant (for workers).
    async fn get_asset_any_tenant(&self, id: &AssetId) -> RepoResult<Option<Asset>>;
    /// Newest first, page by offset, with the total count.
    async fn list_assets_offset(
        &self,
        tenant: &str,
        filter: &AssetFilter,
        offset: u64,
        limit: u32,
    ) -> RepoResult<OffsetPage>;
    /// Newest first, page by keyset: assets with `seq < before` (all when `None`).
    async fn list_assets_keyset(
        &self,
        tenant: &str,
        filter: &AssetFilter,
        before: Option<i64>,
        limit: u32,
    ) -> RepoResult<KeysetPage>;
    /// In `sort`'s order, page by keyset: the assets after `after` (from the first when
    /// `None`; a cursor of another order is treated as `None`).
    async fn list_assets_sorted(
        &self,
        tenant: &str,
        filter: &AssetFilter,
        sort: ListSort,
        after: Option<&SortCursor>,
        limit: u32,
    ) -> RepoResult<SortedPage>;
    /// Compare-and-set: moves the asset from `from` to `change.to`. `false` when the asset
    /// is no longer in `from` (or gone). It does not judge the transition: use cases call
    /// `service::status::change_status`, which checks the domain's rule first.
    async fn change_status(
        &self,
        id: &AssetId,
        from: Status,
        change: &StatusChange,
    ) -> RepoResult<bool>;
    /// The review backlog of every tenant: how many assets wait for review, and since when the
    /// one held longest waits (its held time).
    async fn review_backlog(&self) -> RepoResult<(u64, Option<DateTime<Utc>>)>;
    /// Renames a live asset of this tenant (`None`: no name). `false` when there is none.
    async fn rename_asset(
        &self,
        tenant: &str,
        id: &AssetId,
        name: Option<&str>,
        at: DateTime<Utc>,
    ) -> RepoResult<bool>;
    /// Files a live asset of this tenant in a group (`None`: in none). `false` when there is
    /// no such asset. The caller has checked that the group is the tenant's.
    async fn set_asset_group(
        &self,
        tenant: &str,
        id: &AssetId,
        group_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> RepoResult<bool>;
    /// Brings back an asset of this tenant deleted at or after `deleted_since`, out of its
    /// group if that group is gone meanwhile. `false` when there is none (live, missing, or
    /// deleted before).
    async fn restore_asset(
        &self,
        tenant: &str,
        id: &AssetId,
        deleted_since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> RepoResult<bool>;
    /// Removes the rows of assets deleted before `deleted_before`, at most `limit`; how many.
    /// Their blobs become orphans unless another row references them.
    async fn purge_deleted(&self, deleted_before: DateTime<Utc>, limit: u32) -> RepoResult<u64>;
    /// Records that a generation task of this tenant referenced these live assets `at`.
    async fn mark_assets_used(
        &self,
        tenant: &str,
        ids: &[AssetId],
        at: DateTime<Utc>,
    ) -> RepoResult<()>;
    /// Live assets of the tenants in `scope` past an expiry cut-off: last used (or, never
    /// used, created) before `unused_before`, or created before `created_before`; at most
    /// `limit`, as `(tenant, id)`.
    async fn expired_assets(
        &self,
        scope: &TenantScope,
        unused_before: Option<DateTime<Utc>>,
        created_before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> RepoResult<Vec<(String, AssetId)>>;
    /// Soft-deletes a live asset of this tenant. `false` when there is none.
    async fn delete_asset(&self, tenant: &str, id: &AssetId, at: DateTime<Utc>)
    -> RepoResult<bool>;
}

/// Holds on content hashes, which keep an upload that reuses a stored blob and the removal of
/// that blob as an orphan from overlapping (`service::blob_guard` has the protocol and why it
/// is safe). Each call commits before it returns.
#[async_trait]
pub trait BlobHoldRepo: Send + Sync {
    /// Records a hold of `kind` on the content hash, taken `at`; returns its id.
    async fn hold_blob(
        &self,
        sha256: &str,
        kind: HoldKind,
        at: DateTime<Utc>,
    ) -> RepoResult<String>;
    /// Removes a hold; `false` when it was already gone.
    async fn release_hold(&self, id: &str) -> RepoResult<bool>;
    /// Whether the content hash has a hold of `kind` taken at or after `since`.
    async fn blob_held(
        &self,
        sha256: &str,
        kind: HoldKind,
        since: DateTime<Utc>,
    ) -> RepoResult<bool>;
    /// Whether an asset row (deleted ones included) or an upload's hold references the content
    /// hash, read in one snapshot (an insert swaps the hold for the row atomically).
    async fn blob_in_use(&self, sha256: &str) -> RepoResult<bool>;
    /// Removes the holds of `kind` taken before `before` (left by a node that died); how many.
    async fn reap_holds(&self, kind: HoldKind, before: DateTime<Utc>) -> RepoResult<u64>;
}

/// The durable job queue that lives beside the assets.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Takes the next due job (or one whose lease expired) and leases it to `worker`.
    async fn claim_job(&self, worker: &str, lease: Duration) -> RepoResult<Option<Job>>;
    /// Extends the lease; `false` when the job is no longer leased to `worker`.
    async fn heartbeat_job(&self, job_id: i64, worker: &str, lease: Duration) -> RepoResult<bool>;
    /// Removes a finished job.
    async fn complete_job(&self, job_id: i64, worker: &str) -> RepoResult<()>;
    /// Puts the job back in the queue, due at `run_at`, remembering why it failed.
    async fn retry_job(
        &self,
        job_id: i64,
        worker: &str,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> RepoResult<()>;
    /// Makes every leased job claimable at once (start-up of the only node on a database).
    async fn release_all_leases(&self) -> RepoResult<u64>;
    /// Gives back the jobs leased to `worker` (a node stopping before it could finish them):
    /// they become claimable at once and the interrupted attempt is not counted.
    async fn release_leases(&self, worker: &str) -> RepoResult<u64>;
    /// Enqueues a job for an existing asset, due now.
    async fn enqueue_job(&self, asset_id: &str, job: &NewJob) -> RepoResult<()>;
    /// Jobs waiting or running.
    async fn count_jobs(&self) -> RepoResult<u64>;
    /// When the oldest job waiting or running was queued.
    async fn oldest_job(&self) -> RepoResult<Option<DateTime<Utc>>>;
}

/// What a consistency check (`assetlib fsck`) walks: every live asset's content reference,
/// and the assets that are Processing with no job to finish them.
#[async_trait]
pub trait MaintenanceRepo: Send + Sync {
    /// Live assets with `seq > after`, in `seq` order, at most `limit`.
    async fn scan_assets(&self, after: i64, limit: u32) -> RepoResult<Vec<AssetRef>>;
    /// Live assets in Processing that have no job, oldest first.
    async fn processing_without_job(&self) -> RepoResult<Vec<AssetRef>>;
}

/// Generation tasks forwarded upstream, and the assets they reference.
#[async_trait]
pub trait TaskRepo: Send + Sync {
    /// Records a task of `tenant` (or updates its status when that tenant has it) with the
    /// assets it references. `false`, recording nothing, when another tenant has a task of
    /// this id.
    async fn record_task(
        &self,
        id: &str,
        tenant: &str,
        status: &str,
        finished: bool,
        asset_ids: &[String],
    ) -> RepoResult<bool>;
    /// Whether `tenant` has recorded a task of this id.
    async fn has_task(&self, tenant: &str, id: &str) -> RepoResult<bool>;
    /// Updates the status of a task of this tenant; `false` when there is none.
    async fn update_task(
        &self,
        tenant: &str,
        id: &str,
        status: &str,
        finished: bool,
    ) -> RepoResult<bool>;
    /// An unfinished task that references the asset, if any.
    async fn unfinished_task_using(&self, asset_id: &str) -> RepoResult<Option<String>>;
}

/// API keys, stored as hashes.
#[async_trait]
pub trait KeyRepo: Send + Sync {
    async fn insert_key(&self, key: &NewApiKey) -> RepoResult<()>;
    /// A key that is not revoked, by the sha256 of its secret.
    async fn find_active_key(&self, key_hash: &str) -> RepoResult<Option<ApiKeyRecord>>;
    async fn list_keys(&self) -> RepoResult<Vec<ApiKeyRecord>>;
    /// `false` when no such unrevoked key exists.
    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> RepoResult<bool>;
    async fn count_active_admin_keys(&self) -> RepoResult<u64>;
    /// Stores an access key pair (its secret kept to check signatures).
    async fn insert_access_key(&self, key: &NewApiKey, secret: &str) -> RepoResult<()>;
    /// An access key that is not revoked, by its id (the AccessKeyId), with its secret.
    async fn find_access_key(&self, id: &str) -> RepoResult<Option<(ApiKeyRecord, String)>>;
}

/// Console sessions ended before their expiry (signed out), remembered until then so that
/// every node refuses them.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Records session `id` as revoked until `expires_at` (again is not an error).
    async fn revoke_session(&self, id: &str, expires_at: DateTime<Utc>) -> RepoResult<()>;
    /// Whether session `id` was revoked.
    async fn is_session_revoked(&self, id: &str) -> RepoResult<bool>;
    /// Forgets the revocations of sessions expired by `now`; how many.
    async fn sweep_revoked_sessions(&self, now: DateTime<Utc>) -> RepoResult<u64>;
}

/// Idempotency-Key records: the first answer to a creating call, per tenant and key
/// (`service::idempotency` has the protocol). Each call commits before it returns.
#[async_trait]
pub trait IdempotencyRepo: Send + Sync {
    /// Claims the key for a call, or reads what it holds: `Claimed` when it was free, had
    /// expired, or was claimed by a call that did not answer within its lock.
    async fn claim_idempotency_key(&self, request: &KeyRequest) -> RepoResult<KeyClaim>;
    /// Records the answer of the call that claimed the key.
    async fn record_idempotent_answer(
        &self,
        tenant: &str,
        key: &str,
        answer: &StoredAnswer,
    ) -> RepoResult<()>;
    /// Renews the claim on the key of the call still running with `fingerprint`: it stands
    /// until `locked_until`. `false` when the key holds an answer or another claim.
    async fn renew_idempotency_claim(
        &self,
        tenant: &str,
        key: &str,
        fingerprint: &str,
        locked_until: DateTime<Utc>,
    ) -> RepoResult<bool>;
    /// Frees a claimed key whose call did not give an answer worth keeping (a server fault):
    /// the next call with it runs afresh. A key that holds an answer is left alone.
    async fn release_idempotency_key(&self, tenant: &str, key: &str) -> RepoResult<()>;
    /// Removes the keys expired at `now`; how many.
    async fn sweep_idempotency_keys(&self, now: DateTime<Utc>) -> RepoResult<u64>;
}

/// Resumable uploads (tus): the row of each upload, advanced part by part with a
/// compare-and-set on its offset, so two nodes (or two retries) never both append.
#[async_trait]
pub trait UploadRepo: Send + Sync {
    async fn create_upload(&self, upload: &NewUpload) -> RepoResult<()>;
    /// Creates the upload unless the tenant has `max_open` open uploads already or its bytes
    /// with every reservation would pass `quota`; checked with the tenant's other inserts kept
    /// out until the end (`Err(OverQuota)`: nothing created).
    async fn create_upload_checked(
        &self,
        upload: &NewUpload,
        quota: Option<QuotaCheck>,
        max_open: u64,
    ) -> RepoResult<Result<(), crate::domain::OverQuota>>;
    /// An upload of this tenant.
    async fn get_upload(&self, tenant: &str, id: &str) -> RepoResult<Option<UploadRecord>>;
    /// An upload of any tenant (a signed upload URL names no tenant).
    async fn get_upload_any_tenant(&self, id: &str) -> RepoResult<Option<UploadRecord>>;
    /// Appends a part stored under `part` (`from` bytes were there, `to` are now) and pushes
    /// the expiry to `expires_at`. `false`, changing nothing, when the offset is no longer
    /// `from` or the upload is gone.
    async fn append_upload_part(
        &self,
        id: &str,
        from: u64,
        to: u64,
        part: &str,
        expires_at: DateTime<Utc>,
    ) -> RepoResult<bool>;
    /// Records the asset a complete upload became (once: `false` when it already has one).
    async fn finish_upload(&self, id: &str, asset_id: &str) -> RepoResult<bool>;
    /// Removes the upload's row; `false` when there is none.
    async fn delete_upload(&self, id: &str) -> RepoResult<bool>;
    /// Ids of uploads expired at `now`, at most `limit`.
    async fn expired_uploads(&self, now: DateTime<Utc>, limit: u32) -> RepoResult<Vec<String>>;
}

/// Groups: a tenant's named folders of assets.
#[async_trait]
pub trait GroupRepo: Send + Sync {
    /// `false` when the id is taken.
    async fn insert_group(&self, group: &Group) -> RepoResult<bool>;
    /// A group of this tenant, with its count of live assets.
    async fn get_group(&self, tenant: &str, id: &str) -> RepoResult<Option<Group>>;
    /// Newest first, page by offset, with the total; `name_contains` folds case by Unicode.
    async fn list_groups(
        &self,
        tenant: &str,
        name_contains: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> RepoResult<GroupPage>;
    /// Changes what `update` names; `false` when the tenant has no such group.
    async fn update_group(
        &self,
        tenant: &str,
        id: &str,
        update: &GroupUpdate,
        at: DateTime<Utc>,
    ) -> RepoResult<bool>;
    /// Deletes the group in one transaction: refused (`NotEmpty`) while live assets are in it,
    /// unless `cascade`, which soft-deletes them with it.
    async fn delete_group(
        &self,
        tenant: &str,
        id: &str,
        cascade: bool,
        at: DateTime<Utc>,
    ) -> RepoResult<GroupDeletion>;
}

/// Quotas an admin set at run time, and what a tenant uses.
#[async_trait]
pub trait QuotaRepo: Send + Sync {
    async fn get_quota(&self, tenant: &str) -> RepoResult<Option<Quota>>;
    /// Sets the tenant's quota (replacing one set before).
    async fn put_quota(&self, tenant: &str, quota: &Quota, at: DateTime<Utc>) -> RepoResult<()>;
    /// `false` when the tenant had none.
    async fn delete_quota(&self, tenant: &str) -> RepoResult<bool>;
    /// Live assets and their bytes, and assets created at or after `since`.
    async fn tenant_usage(&self, tenant: &str, since: DateTime<Utc>) -> RepoResult<Usage>;
}

/// Webhook endpoints and their deliveries. The deliveries themselves are written by the
/// database, in the transaction of the change they report (the migrations' triggers).
#[async_trait]
pub trait WebhookRepo: Send + Sync {
    async fn insert_webhook(&self, webhook: &Webhook) -> RepoResult<()>;
    /// The tenant's endpoints, oldest first.
    async fn list_webhooks(&self, tenant: &str) -> RepoResult<Vec<Webhook>>;
    async fn get_webhook(&self, tenant: &str, id: &str) -> RepoResult<Option<Webhook>>;
    /// An endpoint of any tenant (the dispatcher).
    async fn get_webhook_any_tenant(&self, id: &str) -> RepoResult<Option<Webhook>>;
    /// Removes the endpoint and its deliveries; `false` when the tenant has no such endpoint.
    async fn delete_webhook(&self, tenant: &str, id: &str) -> RepoResult<bool>;
    /// Leases up to `limit` pending deliveries due at `now` (or whose lease expired) to
    /// `worker`, counting the attempt; at most two of one endpoint.
    async fn claim_deliveries(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> RepoResult<Vec<Delivery>> {
        self.claim_deliveries_except(worker, now, lease, limit, &[])
            .await
    }
    /// `claim_deliveries`, leaving out the endpoints in `busy` (those the dispatcher is
    /// sending to already).
    async fn claim_deliveries_except(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        busy: &[&str],
    ) -> RepoResult<Vec<Delivery>>;
    /// Records an attempt of a delivery leased to `worker` and ends the lease; `false` when
    /// the lease was lost (another node took it).
    async fn record_attempt(
        &self,
        id: i64,
        worker: &str,
        attempt: &DeliveryAttempt,
    ) -> RepoResult<bool>;
    /// An endpoint's deliveries, newest first; with `before` (a delivery id), those older than
    /// that delivery (none when the endpoint has no such delivery).
    async fn list_deliveries(
        &self,
        tenant: &str,
        webhook_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> RepoResult<Vec<Delivery>>;
    /// Removes the deliveries that ended (delivered or failed) before `before`; how many.
    async fn purge_deliveries(&self, before: DateTime<Utc>) -> RepoResult<u64>;
    /// A new delivery (with a new id) of the same event as the delivery `delivery_id` (the id
    /// the API shows), due `now`; `None` when the endpoint has no such delivery.
    async fn redeliver(
        &self,
        tenant: &str,
        webhook_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> RepoResult<Option<Delivery>>;
}

/// Everything the service layer needs from the metadata store.
#[async_trait]
pub trait Repo:
    AssetRepo
    + JobQueue
    + KeyRepo
    + SessionRepo
    + TaskRepo
    + MaintenanceRepo
    + BlobHoldRepo
    + IdempotencyRepo
    + UploadRepo
    + GroupRepo
    + QuotaRepo
    + WebhookRepo
    + ReviewRepo
{
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> RepoResult<()>;
    /// Whether this backend is the embedded single-node database.
    fn is_embedded(&self) -> bool;
    /// Connections of this node's pools, and how many are idle.
    fn pool_use(&self) -> (u32, u32) {
        (0, 0)
    }
    /// Wakes `wake` when any node enqueues a job (backends shared by several nodes). The
    /// default does nothing: the embedded database has a single node, which wakes itself.
    fn forward_wakeups(&self, wake: std::sync::Arc<tokio::sync::Notify>) {
        let _ = wake;
    }
}

/// Opens the repository named by `url` (`sqlite://…` or `postgres://…`) and runs its migrations.
pub async fn connect(url: &str) -> RepoResult<Arc<dyn Repo>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let repo = sqlite::SqliteRepo::open(std::path::Path::new(path)).await?;
        return Ok(Arc::new(repo));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let repo = postgres::PgRepo::connect(url).await?;
        return Ok(Arc::new(repo));
    }
    Err(RepoError::Unsupported(format!(
        "unknown database URL scheme in '{}'; expected sqlite://PATH or postgres://…",
        crate::config::redact_url(url)
    )))
}
