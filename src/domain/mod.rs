//! Pure domain types and rules: no I/O, no HTTP, no SQL.

mod asset;
mod asset_id;
mod caller;
pub mod codes;
mod facts;
pub mod limits;
mod mime;
mod moderation;
pub mod rules;
pub mod task_refs;
pub mod task_rules;

pub use asset::{Asset, AssetName, AssetType, Failure, Status, Transition, fold_name};
pub use asset_id::AssetId;
pub use caller::{Caller, Role};
pub use codes::Code;
pub use facts::MediaFacts;
pub use mime::mime_type;
pub use moderation::{
    Decision, FaceBox, FaceDetectorKind, FacePolicy, ModerationRecord, ReviewAction,
};
pub use task_rules::{TaskProfile, TaskRules};
