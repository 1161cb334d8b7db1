//! Use cases, one service each, owning only the ports it needs. No HTTP types here: both API
//! faces call these and map the results.
//!
//! | service | use case | ports |
//! |---|---|---|
//! | `IngestService` | upload by URL, admission under load | fetcher, blobs, assets, job queue |
//! | `LibraryService` | get (also waiting), list, delete | assets, tasks |
//! | `ProcessingService` | the `process-asset` job: probe, rules, face check | blobs, assets, face detector |
//! | `ReviewService` | review queue, approve, reject, previews | assets, blobs |
//! | `DeliveryService` | content bytes, signed URLs, `asset://` resolution | assets, blobs, signer |
//! | `GatewayService` | forward generation tasks, record them | upstream, tasks, delivery |
//! | `KeyService` | API keys | keys |
//! | `Fsck` | consistency check, repairs, orphan sweep | maintenance, assets, jobs, blobs |

mod admission;
mod content;
mod delete;
mod error;
mod fsck;
mod gateway;
mod ingest;
mod keys;
mod library;
mod list;
mod moderate;
mod process;
mod resolve;
mod review;
mod settled;
mod signer;
mod status;
mod wait;

pub use admission::{Admission, FetchSlot};
pub use content::{ContentStream, DeliveryService};
pub use error::ServiceError;
pub use fsck::{Fsck, FsckOptions, FsckReport};
pub use gateway::{GatewayOutcome, GatewayService};
pub use ingest::{IngestService, UploadRequest};
pub use keys::{CreatedKey, KEY_CACHE_TTL, KeyService};
pub use library::LibraryService;
pub use list::ListParams;
pub use process::{ProcessingPorts, ProcessingService, ProcessingSettings};
pub use resolve::{Reference, ResolveViolation, Resolved, classify_reference};
pub use review::ReviewService;
pub use settled::Settled;
pub use signer::ContentSigner;
pub use status::StatusError;
pub use wait::MAX_WAIT;
