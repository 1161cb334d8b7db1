//! Use cases, one service each, owning only the ports it needs. No HTTP types here: both API
//! faces call these and map the results.
//!
//! | service | use case | ports |
//! |---|---|---|
//! | `IngestService` (`ingest/`) | file an upload, whatever its source (URL, `data:` URI, a file sent, a finished resumable or direct upload; also in batches), admission under load | fetcher, blobs, assets, job queue, blob holds |
//! | `LibraryService` (`library/`) | get (also waiting, also many at once), list, delete, rename, restore, expire | assets, tasks, groups |
//! | `ProcessingService` (`processing/`) | the `process-asset` job: probe, rules, face check | blobs, assets, face detector |
//! | `ReviewService` | review queue, decisions (bulk too), reopen, history, previews, evidence | assets, reviews, blobs |
//! | `DeliveryService` (`delivery/`) | content bytes, signed URLs, `asset://` resolution | assets, blobs, signer |
//! | `GatewayService` (`gateway/`) | forward generation tasks of every family (`families`), record them | upstream, tasks, delivery |
//! | `GroupService` | groups: create, read, list, update, delete (with `cascade`) | groups |
//! | `KeyService` | API keys | keys |
//! | `SessionService` | console sessions: a key exchanged for a signed, expiring cookie; sign-out revokes it on every node | keys (through `KeyService`), revoked sessions |
//! | `QuotaService` | per-tenant quotas: admit an upload, show use, set at run time | quotas |
//! | `ResumableService` (`ingest/`) | resumable (tus) and direct uploads: create, append, complete, end, sweep | uploads, blobs, ingest, quotas |
//! | `IdempotencyService` | Idempotency-Key: claim, replay, record, sweep | idempotency keys |
//! | `WebhookService` | webhook endpoints, the delivery log, redeliver; the dispatcher that signs, sends and retries | webhooks, webhook sender |
//! | `acting_for` (`tenancy.rs`) | whose library a call acts on: its own, or another named with `?tenant=` (admin; reviewer on reads) | — |
//! | `StorageCheck` | readiness: can the temp directory and the blob store take a write (a small probe, kept 2 s) | blobs |
//! | `Fsck` | consistency check, repairs, orphan sweep | maintenance, assets, jobs, blob holds, blobs |

mod blob_guard;
mod delivery;
mod error;
mod fields;
mod fsck;
mod gateway;
mod groups;
mod idempotency;
mod ingest;
mod keys;
mod library;
mod processing;
mod quota;
mod review;
mod session;
mod settled;
mod status;
mod storage;
mod tenancy;
mod webhooks;

pub use delivery::{ContentSigner, ContentStream, DeliveryService, ResolveViolation, Resolved};
pub use error::ServiceError;
pub use fsck::{Fsck, FsckOptions, FsckReport};
pub use gateway::{
    GatewayOutcome, GatewayService, RESULT_PATH, TASK_FAMILIES, TaskFamily, TaskShape,
};
pub use groups::{GroupService, MAX_GROUP_PAGE};
pub use idempotency::{Begin, ClaimKept, IdempotencyService, IdempotencySettings, fingerprint};
pub use ingest::{
    Admission, Announced, Appended, BATCH_CONCURRENCY, BatchUpload, DATA_URI_MAX_BYTES,
    DATA_URI_SOURCE, DirectUpload, FetchSlot, Incoming, IngestPorts, IngestService, IngestSettings,
    MAX_BATCH_URLS, Registered, ResumableService, Source, StoredUpload, UPLOAD_TTL, Upload,
    UploadFields, Via,
};
pub use keys::{CreatedKey, KEY_CACHE_TTL, KeyService, require_admin, validate_tenant};
pub use library::{DELETED_RETENTION, LibraryService, ListParams, MAX_STATUS_IDS, MAX_WAIT};
pub use processing::{ProcessingPorts, ProcessingService, ProcessingSettings};
pub use quota::{QUOTA_CACHE_TTL, QuotaService, TenantQuota};
pub use review::{
    BulkDecision, BulkOutcome, BulkResult, MAX_BULK_DECISIONS, REOPEN_WINDOW, ReviewService,
    in_review,
};
pub use session::{SESSION_TTL, Session, SessionService};
pub use settled::Settled;
pub use status::StatusError;
pub use storage::{STORAGE_CHECK_TTL, StorageCheck, StorageStatus, Writable};
pub use tenancy::{acting_for, tenant_param};
pub use webhooks::{WebhookService, WebhookSettings};
