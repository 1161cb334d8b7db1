//! The review workflow through the real server: a queue of thousands (true total, filters,
//! ages, pages to the end), bulk decisions with a result per item, one winner when two
//! reviewers decide at once, reopen (undo) with its rules, and the decision history (JSON and
//! CSV). Held assets are made through the metadata store with no workers running, so a queue of
//! thousands does not need thousands of face checks (tests/e2e/moderation.rs holds real photos).

use std::sync::Arc;

use assetlib::domain::{AssetId, AssetType, ModerationRecord, Role, Status};
use assetlib::repo::{NewAsset, NewJob, StatusChange};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::common::{TestApp, spawn_app_with};

mod queue;
mod undo;

pub(crate) async fn app_without_workers() -> TestApp {
    spawn_app_with(
        |c| c.jobs.workers = 0,
        Arc::new(assetlib::fetch::SystemLookup),
    )
    .await
}

pub(crate) async fn key_of(
    app: &TestApp,
    tenant: &str,
    role: Role,
    name: &str,
) -> (String, String) {
    let created = app
        .server
        .as_ref()
        .expect("running")
        .state()
        .keys
        .create_named(tenant, role, Some(name))
        .await
        .expect("key");
    (created.secret, created.id)
}

pub(crate) fn faces() -> ModerationRecord {
    serde_json::from_value(json!({
        "detector": "mtcnn",
        "faces": [{"x": 10, "y": 20, "width": 64, "height": 80, "score": 0.98}],
        "width": 640,
        "height": 480,
    }))
    .expect("record")
}

/// An asset of `tenant` held for review at `at` (its face check done), as the worker leaves it.
pub(crate) async fn held(
    app: &TestApp,
    n: usize,
    tenant: &str,
    kind: AssetType,
    at: DateTime<Utc>,
) -> String {
    let repo = &app.server.as_ref().expect("running").state().repo;
    let id = format!("asset-20260301000000-h{n:04}");
    let asset = NewAsset {
        id: AssetId::parse(&id).expect("id"),
        tenant: tenant.to_owned(),
        name: Some(format!("held {n}")),
        asset_type: kind,
        url: format!("https://example.com/{n}.png"),
        sha256: format!("{n:064x}"),
        bytes: 1000,
        format: Some("png".into()),
        group_id: None,
        created_at: at,
    };
    let job = NewJob {
        kind: "process-asset".into(),
        max_attempts: 3,
        request_id: None,
    };
    repo.insert_asset_with_job(&asset, &job)
        .await
        .expect("insert");
    let hold = StatusChange {
        to: Status::PendingReview,
        format: None,
        facts: None,
        failure: None,
        moderation: Some(faces()),
        at,
    };
    assert!(
        repo.change_status(&asset.id, Status::Processing, &hold)
            .await
            .expect("hold")
    );
    id
}
