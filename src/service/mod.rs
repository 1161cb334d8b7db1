//! Use cases. No HTTP types here: both API faces call these and map the results.

mod assets;
mod delete;
mod error;
mod keys;
mod list;
mod moderate;
mod process;
mod review;
mod sweep;
mod upload;

pub use assets::{AssetPorts, AssetService, AssetSettings};
pub use error::{ErrorKind, ServiceError};
pub use keys::{CreatedKey, KeyService};
pub use list::ListParams;
pub use upload::UploadRequest;
