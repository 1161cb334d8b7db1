//! The native face: JSON, proper HTTP statuses, `{"error": {"code", "message"}}` errors.

mod assets;
pub mod direct;
pub(crate) mod dto;
mod groups;
pub(crate) mod keys;
mod paging;
pub(crate) mod quota;
mod resolve;
pub(crate) mod reviews;
pub mod tus;
pub(crate) mod webhooks;

/// The request bodies, public for the fuzz targets (`fuzz/`).
pub use dto::CreateBody;
pub use reviews::RejectBody;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};

use crate::http::error::Face;
use crate::http::idempotency;
use crate::http::routes::At;
use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    // The routes that take files read bodies up to the largest file, framed.
    let upload_limit =
        usize::try_from(crate::http::upload_body::body_limit(state)).unwrap_or(usize::MAX);
    Router::new()
        .at(
            "/v1",
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
        .at(
            "/v1",
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
        .at("/v1", "/assets/{asset_id}/restore", post(assets::restore))
        .at("/v1", "/assets/{asset_id}/preview", get(reviews::preview))
        .at(
            "/v1",
            "/assets/{asset_id}/content",
            get(crate::http::content::owner_content),
        )
        .at("/v1", tus::ROUTE, post(tus::create).options(tus::options))
        .at(
            "/v1",
            &format!("{}/{{upload_id}}", tus::ROUTE),
            axum::routing::head(tus::head)
                .patch(tus::patch)
                .delete(tus::delete)
                .options(tus::options),
        )
        .at("/v1", "/uploads", post(direct::create))
        .at(
            "/v1",
            "/uploads/{upload_id}/complete",
            post(direct::complete),
        )
        .at(
            "/v1",
            "/groups",
            // Creating honours `Idempotency-Key` like every creating call.
            post(groups::create)
                .layer(from_fn_with_state(
                    (state.clone(), Face::V1),
                    idempotency::guard,
                ))
                .get(groups::list),
        )
        .at(
            "/v1",
            "/groups/{group_id}",
            get(groups::detail)
                .patch(groups::update)
                .delete(groups::delete),
        )
        .at(
            "/v1",
            "/webhooks",
            // No Idempotency-Key: the answer holds the secret, which is never stored.
            post(webhooks::create).get(webhooks::list),
        )
        .at(
            "/v1",
            "/webhooks/{webhook_id}",
            get(webhooks::detail).delete(webhooks::delete),
        )
        .at(
            "/v1",
            "/webhooks/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .at(
            "/v1",
            "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            post(webhooks::redeliver),
        )
        .at("/v1", "/keys", get(keys::list).post(keys::create))
        .at("/v1", "/keys/{key_id}", axum::routing::delete(keys::revoke))
        .at("/v1", "/usage", get(quota::usage))
        .at(
            "/v1",
            "/tenants/{tenant}/quota",
            get(quota::get_quota)
                .put(quota::put_quota)
                .delete(quota::delete_quota),
        )
        .at("/v1", "/resolve", post(resolve::resolve))
        .at("/v1", "/reviews", get(reviews::queue))
        .at("/v1", "/reviews/{asset_id}/approve", post(reviews::approve))
        .at("/v1", "/reviews/{asset_id}/reject", post(reviews::reject))
}
