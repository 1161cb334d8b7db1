//! Pure domain types and rules: no I/O, no HTTP, no SQL.

mod asset;
mod asset_id;
mod caller;
mod facts;
pub mod limits;
mod review;
pub mod rules;

pub use asset::{Asset, AssetName, AssetType, Failure, Status};
pub use asset_id::AssetId;
pub use caller::{Caller, Role};
pub use facts::MediaFacts;
pub use review::{Decision, FaceBox, FacePolicy, ModerationRecord};
