//! Use cases, one service each, owning only the ports it needs. No HTTP types here: both API
//! faces call these and map the results.
//!
//! | service | use case | ports |
//! |---|---|---|
//! | `IngestService` | upload by URL (also in batches: `batch`), admission under load | fetcher, blobs, assets, job queue, blob holds |
//! | `LibraryService` | get (also waiting, also many at once), list, delete | assets, tasks |
//! | `ProcessingService` | the `process-asset` job: probe, rules, face check | blobs, assets, face detector |
//! | `ReviewService` | review queue, approve, reject, previews | assets, blobs |
//! | `DeliveryService` | content bytes, signed URLs, `asset://` resolution | assets, blobs, signer |
//! | `GatewayService` | forward generation tasks of every family (`families`), record them | upstream, tasks, delivery |
//! | `GroupService` | groups: create, read, list, update, delete (with `cascade`) | groups |
//! | `KeyService` | API keys | keys |
//! | `SessionService` | console sessions: a key exchanged for a signed, expiring cookie | keys (through `KeyService`) |
//! | `QuotaService` | per-tenant quotas: admit an upload, show use, set at run time | quotas |
//! | `ResumableService` | resumable (tus) uploads: create, append, complete, end, sweep | uploads, blobs, ingest |
//! | `IdempotencyService` | Idempotency-Key: claim, replay, record, sweep | idempotency keys |
//! | `WebhookService` | webhook endpoints, the delivery log, redeliver; the dispatcher that signs, sends and retries | webhooks, webhook sender |
//! | `Fsck` | consistency check, repairs, orphan sweep | maintenance, assets, jobs, blob holds, blobs |

mod admission;
mod batch;
mod blob_guard;
mod content;
mod delete;
mod error;
mod families;
mod fsck;
mod gateway;
mod groups;
mod idempotency;
mod ingest;
mod keys;
mod library;
mod list;
mod moderate;
mod process;
mod quota;
mod received;
mod resolve;
mod resumable;
mod review;
mod session;
mod settled;
mod signer;
mod status;
mod wait;
mod webhooks;

pub use admission::{Admission, FetchSlot};
pub use batch::{BATCH_CONCURRENCY, BatchUpload, MAX_BATCH_URLS, MAX_STATUS_IDS};
pub use content::{ContentStream, DeliveryService};
pub use error::ServiceError;
pub use families::{RESULT_PATH, TASK_FAMILIES, TaskFamily, TaskShape};
pub use fsck::{Fsck, FsckOptions, FsckReport};
pub use gateway::{GatewayOutcome, GatewayService};
pub use groups::{GroupService, MAX_GROUP_PAGE};
pub use idempotency::{Begin, IdempotencyService, IdempotencySettings, fingerprint};
pub use ingest::{IngestPorts, IngestService, IngestSettings, Registered, UploadRequest};
pub use keys::{CreatedKey, KEY_CACHE_TTL, KeyService, require_admin};
pub use library::DELETED_RETENTION;
pub use library::LibraryService;
pub use list::ListParams;
pub use process::{ProcessingPorts, ProcessingService, ProcessingSettings};
pub use quota::{QUOTA_CACHE_TTL, QuotaService, TenantQuota};
pub use received::{DATA_URI_MAX_BYTES, DATA_URI_SOURCE, Incoming, ReceivedUpload};
pub use resolve::{ResolveViolation, Resolved};
pub use resumable::{Appended, DirectUpload, ResumableService, UPLOAD_TTL};
pub use review::ReviewService;
pub use session::{SESSION_TTL, Session, SessionService};
pub use settled::Settled;
pub use signer::ContentSigner;
pub use status::StatusError;
pub use wait::MAX_WAIT;
pub use webhooks::{WebhookService, WebhookSettings, payload as webhook_payload};
