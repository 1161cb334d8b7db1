//! Pure domain types and rules: no I/O, no HTTP, no SQL.

mod asset;
mod asset_id;
mod caller;
pub mod codes;
mod expiry;
mod facts;
mod group;
pub mod limits;
mod mime;
mod moderation;
mod quota;
pub mod rules;
pub mod task_refs;
pub mod task_rules;
mod text;
mod webhook;

pub use asset::{Asset, AssetName, AssetType, Failure, Status, Transition, fold_name};
pub use asset_id::AssetId;
pub use caller::{Caller, Role};
pub use codes::Code;
pub use expiry::{ExpiryConfig, ExpiryPolicy};
pub use facts::MediaFacts;
pub use group::{
    GROUP_DESCRIPTION_MAX_CHARS, GROUP_NAME_MAX_CHARS, Group, GroupId, parse_group_description,
    parse_group_name,
};
pub use mime::mime_type;
pub use moderation::{
    Decision, FaceBox, FaceDetectorKind, FacePolicy, HistoryDecision, ModerationRecord, Reopened,
    ReviewAction,
};
pub use quota::{OverQuota, Quota, QuotaConfig, Usage, check_new_upload, check_quota};
pub use task_rules::{TaskProfile, TaskRules};
pub use text::{parse_duration, rfc3339_millis, same_secret};
pub use webhook::{
    Delivery, DeliveryId, DeliveryState, EVENT_TYPES, MAX_WEBHOOKS_PER_TENANT, Webhook, WebhookId,
    generate_secret, parse_events, retry_delay, sign,
};
