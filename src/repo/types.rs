use chrono::{DateTime, Utc};

use crate::domain::{
    Asset, AssetId, AssetType, Failure, MediaFacts, ModerationRecord, OverQuota, Quota, Role,
    Status,
};

/// An asset to insert (always `Processing`).
#[derive(Debug, Clone)]
pub struct NewAsset {
    pub id: AssetId,
    pub tenant: String,
    pub name: Option<String>,
    pub asset_type: AssetType,
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
    pub format: Option<String>,
    /// The group it is filed in (checked to be the tenant's).
    pub group_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Outcome of an insert: expected outcomes are values, not errors.
#[derive(Debug)]
pub enum Insert {
    Inserted(Box<Asset>),
    IdTaken,
    /// The upload's hold on its blob was gone: the blob may have been removed meanwhile.
    HoldLost,
    /// The resumable or direct upload the asset was to finish has become an asset already
    /// (another request completed it first): nothing inserted; that asset's id, if the upload
    /// is still there.
    UploadFinished(Option<String>),
    /// The asset would pass its tenant's quota: nothing inserted.
    OverQuota(OverQuota),
}

/// A tenant's quota as an insert checks it inside its own transaction, with the start of the
/// per-minute window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaCheck {
    pub quota: Quota,
    pub since: DateTime<Utc>,
}

/// What the insert of an uploaded asset does in its transaction besides the row and its job.
#[derive(Debug, Clone, Copy)]
pub struct Filed<'a> {
    /// The upload's hold on its blob, released (`HoldLost` when it is gone).
    pub hold: &'a str,
    /// The resumable or direct upload the asset finishes (`UploadFinished` when another
    /// request finished it).
    pub finishes: Option<&'a str>,
    /// The tenant's quota, checked with the tenant's other inserts kept out until the end
    /// (`OverQuota`); `None` for a tenant with no limits.
    pub quota: Option<QuotaCheck>,
}

/// Who holds a content hash (`BlobHoldRepo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldKind {
    /// An upload, from before it looks for its blob until its row is inserted.
    Upload,
    /// The removal of an orphan, from before it checks the rows until the blob is deleted.
    Removal,
}

impl HoldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldKind::Upload => "upload",
            HoldKind::Removal => "removal",
        }
    }
}

/// A job to enqueue with its asset.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub max_attempts: u32,
    /// The request that created it (`x-request-id`), carried into the job's logs.
    pub request_id: Option<String>,
}

/// A leased job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub asset_id: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    /// The request that created it, if known.
    pub request_id: Option<String>,
}

/// An asset's identity and content reference, as a consistency check walks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    pub seq: i64,
    pub id: AssetId,
    pub sha256: String,
    pub status: Status,
    pub updated_at: DateTime<Utc>,
}

/// List filters shared by both API faces.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub asset_type: Option<AssetType>,
    /// Any of these statuses; empty means any status.
    pub statuses: Vec<Status>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Exactly this content (lowercase hex sha256).
    pub sha256: Option<String>,
    /// Deleted assets (still restorable) instead of live ones.
    pub deleted: bool,
    /// Only the assets filed in this group.
    pub group_id: Option<String>,
    /// Only the assets filed in any of these groups (none: no such condition).
    pub group_ids: Vec<String>,
    /// The order of an offset-paged list (keyset pages are always newest first).
    pub order: AssetOrder,
}

/// What an offset-paged list is sorted by; ties (and the default) by insertion order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Inserted,
    CreateTime,
    UpdateTime,
    GroupId,
}

/// The sort key and direction (descending by default: newest first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssetOrder {
    pub key: SortKey,
    pub ascending: bool,
}

#[derive(Debug, Clone)]
pub struct OffsetPage {
    pub items: Vec<Asset>,
    pub total: u64,
}

/// The order of a keyset-paged list; ties by insertion order, in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListSort {
    /// Last inserted first.
    #[default]
    Newest,
    /// First inserted first.
    Oldest,
    /// By folded name, A to Z (unnamed first), ties oldest first.
    Name,
    /// Largest first, ties newest first.
    Size,
}

/// Where a sorted keyset page continues: the last item's sort value and its `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortCursor {
    Newest {
        seq: i64,
    },
    Oldest {
        seq: i64,
    },
    /// The folded name (`fold_name`; empty when unnamed).
    Name {
        name: String,
        seq: i64,
    },
    Size {
        bytes: i64,
        seq: i64,
    },
}

impl SortCursor {
    /// The order this cursor continues.
    pub fn sort(&self) -> ListSort {
        match self {
            Self::Newest { .. } => ListSort::Newest,
            Self::Oldest { .. } => ListSort::Oldest,
            Self::Name { .. } => ListSort::Name,
            Self::Size { .. } => ListSort::Size,
        }
    }

    /// The cursor after `asset` in `sort`.
    pub fn after(sort: ListSort, asset: &Asset) -> Self {
        let seq = asset.seq;
        match sort {
            ListSort::Newest => Self::Newest { seq },
            ListSort::Oldest => Self::Oldest { seq },
            ListSort::Name => Self::Name {
                name: asset
                    .name
                    .as_deref()
                    .map(crate::domain::fold_name)
                    .unwrap_or_default(),
                seq,
            },
            ListSort::Size => Self::Size {
                bytes: i64::try_from(asset.bytes).unwrap_or(i64::MAX),
                seq,
            },
        }
    }
}

/// A page of a sorted keyset list.
#[derive(Debug, Clone)]
pub struct SortedPage {
    pub items: Vec<Asset>,
    /// Where the next page starts, when more items may follow.
    pub next: Option<SortCursor>,
}

#[derive(Debug, Clone)]
pub struct KeysetPage {
    pub items: Vec<Asset>,
    /// The keyset value to continue from, when more items may follow.
    pub next_before: Option<i64>,
}

/// A page of at most `limit` items from a read that fetched `limit + 1`: the extra item only
/// says that more follow, and the page's last key (`key`) is where the next page starts.
pub fn keyset_split<T>(
    mut items: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<i64>) {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more { items.last().map(key) } else { None };
    (items, next)
}

/// A status change with what the worker learned.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub to: Status,
    pub format: Option<String>,
    pub facts: Option<MediaFacts>,
    pub failure: Option<Failure>,
    /// Replaces the stored moderation record when set.
    pub moderation: Option<ModerationRecord>,
    pub at: DateTime<Utc>,
}

/// A key to store: only the hash of the secret.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: String,
    pub key_hash: String,
    pub tenant: String,
    pub role: Role,
    /// Who the key belongs to (optional; shown in the review history).
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A stored key (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub tenant: String,
    pub role: Role,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A call's claim on an Idempotency-Key.
#[derive(Debug, Clone)]
pub struct KeyRequest {
    pub tenant: String,
    pub key: String,
    /// What identifies the request (method, path, body): a retry must match it.
    pub fingerprint: String,
    pub at: DateTime<Utc>,
    /// How long the claim stands while the call runs; after that another call may take it.
    pub lock: std::time::Duration,
    /// How long the answer is kept.
    pub ttl: std::time::Duration,
}

/// What an Idempotency-Key held when a call claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The caller runs the call and records its answer (or releases the key).
    Claimed,
    /// Another call holds the key and has not answered yet.
    InProgress { fingerprint: String },
    /// The key's first answer.
    Answered {
        fingerprint: String,
        answer: StoredAnswer,
    },
}

/// An answer kept for an Idempotency-Key: status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// A resumable upload being created.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub id: String,
    pub tenant: String,
    pub asset_type: AssetType,
    pub name: Option<String>,
    pub length: u64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A resumable upload: how much has arrived, the object keys of its parts in order, and the
/// asset it became once complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub id: String,
    pub tenant: String,
    pub asset_type: AssetType,
    pub name: Option<String>,
    pub length: u64,
    pub offset: u64,
    pub parts: Vec<String>,
    pub asset_id: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A page of groups and how many there are in all.
#[derive(Debug, Clone)]
pub struct GroupPage {
    pub items: Vec<crate::domain::Group>,
    pub total: u64,
}

/// What an update of a group changes: each field when set (`description: Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

/// How a group's deletion went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupDeletion {
    /// Deleted, with this many live assets (`cascade`).
    Deleted { assets: u64 },
    /// Refused: live assets are in it.
    NotEmpty { assets: u64 },
    /// The tenant has no such group.
    Missing,
}

/// Which tenants a query covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    One(String),
    /// Every tenant but these.
    AllBut(Vec<String>),
}

/// The outcome of one attempt of a webhook delivery.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    /// `Pending` to try again at `next_attempt_at`.
    pub state: crate::domain::DeliveryState,
    pub next_attempt_at: DateTime<Utc>,
    pub response_status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}
