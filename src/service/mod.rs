//! Use cases. No HTTP types here: both API faces call these and map the results.

mod assets;
mod content;
mod delete;
mod error;
mod fsck;
mod gateway;
mod keys;
mod list;
mod moderate;
mod process;
mod resolve;
mod review;
mod sweep;
mod upload;
mod wait;

pub use assets::{AssetPorts, AssetService, AssetSettings};
pub use content::{Content, ContentSigner, mime_type};
pub use error::{ErrorKind, ServiceError};
pub use fsck::{CONTENT_MISSING, Fsck, FsckOptions, FsckReport};
pub use gateway::{Gateway, GatewayOutcome, UpstreamAnswer};
pub use keys::{CreatedKey, KEY_CACHE_TTL, KeyService};
pub use list::ListParams;
pub use resolve::{ResolveViolation, Resolved};
pub use upload::UploadRequest;
pub use wait::MAX_WAIT;
