//! The Seedance 2.0 "kyy" asset API, byte for byte: envelope `{code, msg, data}`; the Manxue
//! batch asset routes; the task gateway's routes, one pair per task family.

mod assets;
mod dto;
mod manxue;
mod tasks;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};

use crate::http::auth::KyyCaller;
use crate::service::{RESULT_PATH, TASK_FAMILIES};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    let mut router = Router::new()
        .route("/kyyVideo2/asset/upload", post(assets::upload))
        .route("/kyyVideo2/asset/list", get(assets::list))
        .route(
            "/kyyVideo2/asset/{asset_id}",
            get(assets::detail).delete(assets::delete),
        )
        .route("/asset/sd2Manxue/assetUpload", post(manxue::upload))
        .route("/asset/sd2Manxue/assetStatus", post(manxue::status))
        .route(
            &format!("{RESULT_PATH}/{{id}}"),
            get(|s: State<AppState>, c: KyyCaller, id: Path<String>| {
                tasks::status(RESULT_PATH, s, c, id)
            }),
        );
    for family in &TASK_FAMILIES {
        router = router
            .route(
                family.path,
                post(move |s: State<AppState>, c: KyyCaller, body: Bytes| {
                    tasks::submit(family, s, c, body)
                }),
            )
            .route(
                &format!("{}/{{id}}", family.path),
                get(move |s: State<AppState>, c: KyyCaller, id: Path<String>| {
                    tasks::status(family.upstream_path, s, c, id)
                }),
            );
    }
    router
}
