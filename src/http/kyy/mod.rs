//! The Seedance 2.0 "kyy" asset API, byte for byte: envelope `{code, msg, data}`; the Manxue
//! batch asset routes; the Seedance 2 asset routes; the task gateway's routes, one pair per
//! task family.

mod assets;
pub(crate) mod dto;
pub(crate) mod manxue;
pub(crate) mod seedance2;
mod tasks;
mod upload;

pub use upload::UPLOAD_ROUTE;

/// The upload body, public for the fuzz targets (`fuzz/`).
pub use dto::UploadBody;

use axum::body::Bytes;
use axum::extract::{Path, State};

use self::dto::{AssetDetail, DeleteEnvelope, Envelope, ListData, UploadData};
use self::manxue::{BatchEnvelope, StatusBody, StatusData};
use crate::http::auth::KyyCaller;
use crate::http::error::{Face, KYY_PREFIX};
use crate::http::routes::{Route, Routes, Schema};
use crate::service::{RESULT_PATH, TASK_FAMILIES};
use crate::state::AppState;

/// The face's routes, under its prefix. The upload route reads bodies up to the largest file;
/// every other route keeps the router's small limit. The calls that create honour
/// `Idempotency-Key`.
pub fn routes() -> Routes {
    let passed = "The upstream's answer, passed through";
    let mut routes = Routes::new(KYY_PREFIX, Face::Kyy, "kyy")
        .route(
            Route::post(
                UPLOAD_ROUTE,
                upload::upload,
                "Upload by URL (JSON, url may be a data: URI) or a file (multipart)",
            )
            .file_body()
            .once()
            .json_body::<UploadBody>()
            .multipart(&["file", "assetType", "name", "groupId"])
            .query(&["dedupe"])
            .answers::<Envelope<UploadData>>(200, "The new asset's id"),
        )
        .route(
            Route::get(
                "/kyyVideo2/asset/list",
                assets::list,
                "List assets, by page",
            )
            .query(&["pageNum", "pageSize", "assetType", "status", "name"])
            .answers::<Envelope<ListData>>(200, "A page"),
        )
        .route(
            Route::get(
                "/kyyVideo2/asset/{asset_id}",
                assets::detail,
                "An asset's details",
            )
            .query(&["wait"])
            .answers::<Envelope<AssetDetail>>(
                200,
                "The asset (msg: the failure sentence when Failed)",
            ),
        )
        .route(
            Route::delete(
                "/kyyVideo2/asset/{asset_id}",
                assets::delete,
                "Delete an asset",
            )
            .query(&["force"])
            .answers::<DeleteEnvelope>(
                200,
                "Deleted: {\"code\":\"0\",\"msg\":\"success\",\"data\":null} (a string code)",
            ),
        )
        .route(
            Route::post(
                "/asset/sd2Manxue/assetUpload",
                manxue::upload,
                "Upload many URLs at once (partial success)",
            )
            .once()
            .json_body::<manxue::UploadBody>()
            .answers::<BatchEnvelope<manxue::UploadData>>(200, "Submitted items and failed ones"),
        )
        .route(
            Route::post(
                "/asset/sd2Manxue/assetStatus",
                manxue::status,
                "Statuses of many assets",
            )
            .json_body::<StatusBody>()
            .answers::<BatchEnvelope<StatusData>>(200, "Statuses and unknown ids"),
        )
        .route(
            Route::post(
                "/asset/seedance2/assetUpload",
                seedance2::upload,
                "Upload by URL (Seedance 2 asset API)",
            )
            .once()
            .json_body::<seedance2::UploadBody>()
            .query(&["dedupe"])
            .answers::<seedance2::Seedance2Answer>(
                200,
                "The new asset: the envelope's data, and the same fields at the top level",
            ),
        )
        .route(
            Route::post(
                "/asset/seedance2/assetDetail",
                seedance2::detail,
                "An asset's status (Seedance 2 asset API); the id may carry assetId://",
            )
            .json_body::<seedance2::DetailBody>()
            .query(&["wait"])
            .answers::<seedance2::Seedance2Answer>(
                200,
                "The asset: the envelope's data, and the same fields at the top level",
            ),
        )
        .route(
            Route::get(
                format!("{RESULT_PATH}/{{id}}"),
                |s: State<AppState>, c: KyyCaller, id: Path<String>| {
                    tasks::status(RESULT_PATH, s, c, id)
                },
                "A generation task's status (the upstream's answer)",
            )
            .answers_json(200, passed, Schema::any_object()),
        );
    for family in &TASK_FAMILIES {
        routes = routes
            .route(
                Route::post(
                    family.path,
                    move |s: State<AppState>, c: KyyCaller, body: Bytes| {
                        tasks::submit(family, s, c, body)
                    },
                    format!(
                        "Submit a {} task: asset:// resolved, forwarded upstream",
                        family.name
                    ),
                )
                .once()
                .task_body()
                .body(Schema::any_object())
                .answers_json(200, passed, Schema::any_object()),
            )
            .route(
                Route::get(
                    format!("{}/{{id}}", family.path),
                    move |s: State<AppState>, c: KyyCaller, id: Path<String>| {
                        tasks::status(family.upstream_path, s, c, id)
                    },
                    format!("A {} task's status", family.name),
                )
                .answers_json(200, passed, Schema::any_object()),
            );
    }
    routes
}
