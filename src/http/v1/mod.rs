//! The native face: JSON, proper HTTP statuses, `{"error": {"code", "message"}}` errors.

mod assets;
pub mod direct;
mod dto;
mod groups;
mod keys;
mod paging;
mod quota;
mod resolve;
mod reviews;
pub mod tus;
mod webhooks;

/// The request bodies, public for the fuzz targets (`fuzz/`).
pub use dto::CreateBody;
pub use reviews::RejectBody;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};

use crate::http::error::Face;
use crate::http::idempotency;
use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    // The routes that take files read bodies up to the largest file, framed.
    let upload_limit =
        usize::try_from(crate::http::upload_body::body_limit(state)).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/assets",
            // Creating honours `Idempotency-Key`; listing does not need it.
            post(assets::create)
                .layer(DefaultBodyLimit::max(upload_limit))
                .layer(from_fn_with_state(
                    (state.clone(), Face::V1),
                    idempotency::guard,
                ))
                .get(assets::list),
        )
        .route(
            "/assets/{asset_id}",
            // PUT: the body is a file, named by the path (a creating call).
            put(assets::put_file)
                .layer(DefaultBodyLimit::max(upload_limit))
                .layer(from_fn_with_state(
                    (state.clone(), Face::V1),
                    idempotency::guard,
                ))
                .get(assets::detail)
                .patch(assets::update)
                .delete(assets::delete),
        )
        .route("/assets/{asset_id}/restore", post(assets::restore))
        .route("/assets/{asset_id}/preview", get(reviews::preview))
        .route(
            "/assets/{asset_id}/content",
            get(crate::http::content::owner_content),
        )
        .route(tus::ROUTE, post(tus::create).options(tus::options))
        .route(
            &format!("{}/{{upload_id}}", tus::ROUTE),
            axum::routing::head(tus::head)
                .patch(tus::patch)
                .delete(tus::delete)
                .options(tus::options),
        )
        .route("/uploads", post(direct::create))
        .route("/uploads/{upload_id}/complete", post(direct::complete))
        .route(
            "/groups",
            // Creating honours `Idempotency-Key` like every creating call.
            post(groups::create)
                .layer(from_fn_with_state(
                    (state.clone(), Face::V1),
                    idempotency::guard,
                ))
                .get(groups::list),
        )
        .route(
            "/groups/{group_id}",
            get(groups::detail)
                .patch(groups::update)
                .delete(groups::delete),
        )
        .route(
            "/webhooks",
            post(webhooks::create)
                .layer(from_fn_with_state(
                    (state.clone(), Face::V1),
                    idempotency::guard,
                ))
                .get(webhooks::list),
        )
        .route(
            "/webhooks/{webhook_id}",
            get(webhooks::detail).delete(webhooks::delete),
        )
        .route(
            "/webhooks/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{key_id}", axum::routing::delete(keys::revoke))
        .route("/usage", get(quota::usage))
        .route(
            "/tenants/{tenant}/quota",
            get(quota::get_quota)
                .put(quota::put_quota)
                .delete(quota::delete_quota),
        )
        .route("/resolve", post(resolve::resolve))
        .route("/reviews", get(reviews::queue))
        .route("/reviews/{asset_id}/approve", post(reviews::approve))
        .route("/reviews/{asset_id}/reject", post(reviews::reject))
}
