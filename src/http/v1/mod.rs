//! The native face: JSON, proper HTTP statuses, `{"error": {"code", "message"}}` errors.

mod assets;
pub mod direct;
pub(crate) mod dto;
mod groups;
pub(crate) mod keys;
mod paging;
pub(crate) mod quota;
mod resolve;
pub(crate) mod review_decisions;
pub(crate) mod review_history;
pub(crate) mod reviews;
pub mod tus;
pub(crate) mod webhooks;

/// The request bodies, public for the fuzz targets (`fuzz/`).
pub use dto::CreateBody;
pub use reviews::RejectBody;

use self::direct::{CompleteBody, CreateDirectBody, DirectBody};
use self::dto::{
    AssetBody, GroupBody, GroupCreateBody, GroupDeletedBody, GroupListBody, GroupUpdateBody,
    ListBody, UpdateBody,
};
use self::keys::{CreateKeyBody, KeyBody, KeyListBody};
use self::quota::{QuotaBody, UsageBody};
use self::review_decisions::{DecisionsAnswer, DecisionsBody, ReopenBody};
use self::review_history::HistoryList;
use self::reviews::ReviewList;
use self::webhooks::{DeliveryBody, DeliveryListBody, WebhookBody, WebhookListBody};
use crate::http::content;
use crate::http::error::Face;
use crate::http::routes::{Route, Routes, Schema};

/// The face's routes, under `/v1`. The calls that create honour `Idempotency-Key` (not the
/// webhook's: its answer holds the secret, which is never stored); the routes that take files
/// read bodies up to the largest file, framed.
pub fn routes() -> Routes {
    let tus = "tus 1.0 (creation, termination): headers carry the protocol";
    let tus_one = format!("{}/{{upload_id}}", tus::ROUTE);
    Routes::new("/v1", Face::V1, "v1")
        // Assets.
        .route(
            Route::post(
                "/assets",
                assets::create,
                "Create an asset from a URL (JSON; assetType optional) or a file (multipart)",
            )
            .file_body()
            .once()
            .json_body::<CreateBody>()
            .multipart(&["file", "assetType", "name", "groupId"])
            .query(&["dedupe"])
            .answers::<AssetBody>(201, "The new asset")
            .answers::<AssetBody>(
                200,
                "With dedupe: the live asset of the same bytes (deduplicatedFrom)",
            ),
        )
        .route(
            Route::get(
                "/assets",
                assets::list,
                "List assets, newest first or by sort (keyset pages)",
            )
            .query(&[
                "limit",
                "cursor",
                "sort",
                "assetType",
                "status",
                "name",
                "sha256",
                "groupId",
                "deleted",
            ])
            .answers::<ListBody>(200, "A page"),
        )
        .route(
            Route::put(
                "/assets/{asset_id}",
                assets::put_file,
                "Upload a file as the body; the path names it",
            )
            .file_body()
            .once()
            .raw_body(
                "application/octet-stream",
                "The file (Content-Length required)",
            )
            .query(&["assetType", "groupId", "dedupe"])
            .answers::<AssetBody>(201, "The new asset"),
        )
        .route(
            Route::get("/assets/{asset_id}", assets::detail, "An asset")
                .query(&["wait"])
                .answers::<AssetBody>(200, "The asset"),
        )
        .route(
            Route::patch(
                "/assets/{asset_id}",
                assets::update,
                "Rename an asset and/or file it in a group",
            )
            .json_body::<UpdateBody>()
            .answers::<AssetBody>(200, "The asset"),
        )
        .route(
            Route::delete(
                "/assets/{asset_id}",
                assets::delete,
                "Delete an asset (restorable for the retention)",
            )
            .query(&["force"])
            .answers_empty(204, "Deleted"),
        )
        .route(
            Route::post(
                "/assets/{asset_id}/restore",
                assets::restore,
                "Restore a deleted asset",
            )
            .answers::<AssetBody>(200, "The asset, back"),
        )
        .route(
            Route::get(
                "/assets/{asset_id}/preview",
                reviews::preview,
                "A small JPEG preview (ETag: the content's sha256)",
            )
            .bytes(200, "image/jpeg")
            .answers_empty(304, "Not modified"),
        )
        .route(
            Route::get(
                "/assets/{asset_id}/frames/{n}",
                reviews::full_frame,
                "A held video's checked frame at full size (JPEG; owner, reviewer or admin)",
            )
            .bytes(200, "image/jpeg")
            .answers_empty(304, "Not modified"),
        )
        .route(
            Route::get(
                "/assets/{asset_id}/content",
                content::owner_content,
                "The asset's bytes (one Range)",
            )
            .bytes(200, "The bytes")
            .bytes(206, "The range"),
        )
        // Uploads that bypass the JSON API: tus, and direct uploads (the bytes go to a signed
        // URL outside `/v1`).
        .route(
            Route::post(tus::ROUTE, tus::create, "Create a resumable upload")
                .answers_empty(201, tus),
        )
        .route(Route::options(tus::ROUTE, tus::options, "tus capabilities").answers_empty(204, tus))
        .route(
            Route::head(&tus_one, tus::head, "A resumable upload's offset").answers_empty(200, tus),
        )
        .route(
            Route::patch(&tus_one, tus::patch, "Append bytes to a resumable upload")
                .raw_body("application/offset+octet-stream", "The next bytes")
                .answers_empty(204, tus),
        )
        .route(
            Route::delete(&tus_one, tus::delete, "End a resumable upload").answers_empty(204, tus),
        )
        .route(Route::options(&tus_one, tus::options, "tus capabilities").answers_empty(204, tus))
        .route(
            Route::post(
                "/uploads",
                direct::create,
                "Start a direct upload: a URL to PUT the bytes to",
            )
            .json_body::<CreateDirectBody>()
            .answers::<DirectBody>(201, "Where to PUT the bytes"),
        )
        .route(
            Route::post(
                "/uploads/{upload_id}/complete",
                direct::complete,
                "Complete a direct upload",
            )
            .json_body::<CompleteBody>()
            .answers::<AssetBody>(201, "The new asset"),
        )
        // Groups, webhooks, keys, quotas.
        .route(
            Route::post("/groups", groups::create, "Create a group")
                .once()
                .json_body::<GroupCreateBody>()
                .answers::<GroupBody>(201, "The group"),
        )
        .route(
            Route::get("/groups", groups::list, "List groups")
                .query(&["name", "limit", "cursor"])
                .answers::<GroupListBody>(200, "A page"),
        )
        .route(
            Route::get("/groups/{group_id}", groups::detail, "A group")
                .answers::<GroupBody>(200, "The group"),
        )
        .route(
            Route::patch(
                "/groups/{group_id}",
                groups::update,
                "Rename or re-describe a group",
            )
            .json_body::<GroupUpdateBody>()
            .answers::<GroupBody>(200, "The group"),
        )
        .route(
            Route::delete(
                "/groups/{group_id}",
                groups::delete,
                "Delete a group (cascade: with its assets)",
            )
            .query(&["cascade"])
            .answers::<GroupDeletedBody>(200, "Deleted"),
        )
        .route(
            Route::post(
                "/webhooks",
                webhooks::create,
                "Register a webhook endpoint (its secret shown once)",
            )
            .json_body::<webhooks::CreateBody>()
            .answers::<WebhookBody>(201, "The endpoint and its secret"),
        )
        .route(
            Route::get("/webhooks", webhooks::list, "The tenant's endpoints")
                .answers::<WebhookListBody>(200, "The endpoints"),
        )
        .route(
            Route::get("/webhooks/{webhook_id}", webhooks::detail, "An endpoint")
                .answers::<WebhookBody>(200, "The endpoint"),
        )
        .route(
            Route::delete(
                "/webhooks/{webhook_id}",
                webhooks::delete,
                "Remove an endpoint and its log",
            )
            .answers_empty(204, "Removed"),
        )
        .route(
            Route::get(
                "/webhooks/{webhook_id}/deliveries",
                webhooks::deliveries,
                "An endpoint's delivery log",
            )
            .query(&["limit", "cursor"])
            .answers::<DeliveryListBody>(200, "Newest first"),
        )
        .route(
            Route::post(
                "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
                webhooks::redeliver,
                "Send an event again",
            )
            .answers::<DeliveryBody>(202, "The new delivery"),
        )
        .route(
            Route::get("/keys", keys::list, "API keys (admin)")
                .tag("admin")
                .answers::<KeyListBody>(200, "The keys, never their secrets"),
        )
        .route(
            Route::post(
                "/keys",
                keys::create,
                "Create a key (admin; the secret shown once)",
            )
            .tag("admin")
            .json_body::<CreateKeyBody>()
            .answers::<KeyBody>(201, "The key and its secret"),
        )
        .route(
            Route::delete("/keys/{key_id}", keys::revoke, "Revoke a key (admin)")
                .tag("admin")
                .answers_empty(204, "Revoked"),
        )
        .route(
            Route::get("/usage", quota::usage, "The tenant's use against its quota")
                .answers::<UsageBody>(200, "Use and limits"),
        )
        .route(
            Route::get(
                "/tenants/{tenant}/quota",
                quota::get_quota,
                "A tenant's quota and use (admin)",
            )
            .tag("admin")
            .answers::<UsageBody>(200, "Use and limits"),
        )
        .route(
            Route::put(
                "/tenants/{tenant}/quota",
                quota::put_quota,
                "Set a tenant's quota at run time (admin)",
            )
            .tag("admin")
            .json_body::<QuotaBody>()
            .answers::<UsageBody>(200, "Use and limits"),
        )
        .route(
            Route::delete(
                "/tenants/{tenant}/quota",
                quota::delete_quota,
                "Remove a tenant's run-time quota (admin)",
            )
            .tag("admin")
            .answers::<UsageBody>(200, "Use and the configuration's limits"),
        )
        // Resolution and review.
        .route(
            Route::post(
                "/resolve",
                resolve::resolve,
                "Resolve a generation task's asset:// references",
            )
            .body(Schema::any_object())
            .answers_json(
                200,
                "The task with signed URLs (refused with invalid-references and every violation)",
                Schema::any_object(),
            ),
        )
        .route(
            Route::get(
                "/reviews",
                reviews::queue,
                "Held assets, oldest first (reviewer or admin)",
            )
            .tag("review")
            .query(&[
                "limit",
                "cursor",
                "tenant",
                "type",
                "assetType",
                "olderThan",
                "order",
            ])
            .answers::<ReviewList>(200, "A page, with the total count"),
        )
        .route(
            Route::post(
                "/reviews/decisions",
                review_decisions::decide_many,
                "Approve or reject up to 100 held assets, each atomically",
            )
            .tag("review")
            .json_body::<DecisionsBody>()
            .answers::<DecisionsAnswer>(200, "A result per decision, in order"),
        )
        .route(
            Route::get(
                "/reviews/history",
                review_history::history,
                "Every approve, reject and reopen, newest first (JSON, or CSV with Accept: text/csv)",
            )
            .tag("review")
            .query(&[
                "limit", "cursor", "reviewer", "tenant", "decision", "since", "assetId",
            ])
            .answers::<HistoryList>(200, "A page (CSV with Accept: text/csv)"),
        )
        .route(
            Route::post(
                "/reviews/{asset_id}/reopen",
                review_decisions::reopen,
                "Put a decided asset back in the queue (undo)",
            )
            .tag("review")
            .json_body::<ReopenBody>()
            .answers::<AssetBody>(200, "The asset, PendingReview"),
        )
        .route(
            Route::post(
                "/reviews/{asset_id}/approve",
                reviews::approve,
                "Approve a held asset",
            )
            .tag("review")
            .answers::<AssetBody>(200, "The asset, Active"),
        )
        .route(
            Route::post(
                "/reviews/{asset_id}/reject",
                reviews::reject,
                "Reject a held asset with a reason",
            )
            .tag("review")
            .json_body::<RejectBody>()
            .answers::<AssetBody>(200, "The asset, Failed"),
        )
}
