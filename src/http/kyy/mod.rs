//! The Seedance 2.0 "kyy" asset API, byte for byte: envelope `{code, msg, data}`; the Manxue
//! batch asset routes; the task gateway's routes, one pair per task family.

mod assets;
pub(crate) mod dto;
pub(crate) mod manxue;
mod tasks;
mod upload;

pub use upload::UPLOAD_ROUTE;

/// The upload body, public for the fuzz targets (`fuzz/`).
pub use dto::UploadBody;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::http::auth::KyyCaller;
use crate::http::error::Face;
use crate::http::idempotency;
use crate::http::routes::At;
use crate::service::{RESULT_PATH, TASK_FAMILIES};
use crate::state::AppState;

/// The face's routes; the upload route reads bodies up to `upload_body::body_limit`, every other
/// route keeps the router's small limit.
pub fn router(state: &AppState) -> Router<AppState> {
    let upload_limit =
        usize::try_from(crate::http::upload_body::body_limit(state)).unwrap_or(usize::MAX);
    // The calls that create honour `Idempotency-Key`.
    let once = || from_fn_with_state((state.clone(), Face::Kyy), idempotency::guard);
    let mut router = Router::new()
        .at(
            crate::http::error::KYY_PREFIX,
            UPLOAD_ROUTE,
            post(upload::upload)
                .layer(DefaultBodyLimit::max(upload_limit))
                .layer(once()),
        )
        .at(
            crate::http::error::KYY_PREFIX,
            "/kyyVideo2/asset/list",
            get(assets::list),
        )
        .at(
            crate::http::error::KYY_PREFIX,
            "/kyyVideo2/asset/{asset_id}",
            get(assets::detail).delete(assets::delete),
        )
        .at(
            crate::http::error::KYY_PREFIX,
            "/asset/sd2Manxue/assetUpload",
            post(manxue::upload).layer(once()),
        )
        .at(
            crate::http::error::KYY_PREFIX,
            "/asset/sd2Manxue/assetStatus",
            post(manxue::status),
        )
        .at(
            crate::http::error::KYY_PREFIX,
            &format!("{RESULT_PATH}/{{id}}"),
            get(|s: State<AppState>, c: KyyCaller, id: Path<String>| {
                tasks::status(RESULT_PATH, s, c, id)
            }),
        );
    for family in &TASK_FAMILIES {
        router = router
            .at(
                crate::http::error::KYY_PREFIX,
                family.path,
                post(move |s: State<AppState>, c: KyyCaller, body: Bytes| {
                    tasks::submit(family, s, c, body)
                })
                .layer(once()),
            )
            .at(
                crate::http::error::KYY_PREFIX,
                &format!("{}/{{id}}", family.path),
                get(move |s: State<AppState>, c: KyyCaller, id: Path<String>| {
                    tasks::status(family.upstream_path, s, c, id)
                }),
            );
    }
    router
}
