//! Rename and restore: `PATCH /v1/assets/{id}` renames; a deleted asset is listed with
//! `?deleted=true` and brought back by `POST /v1/assets/{id}/restore` as it was, until its
//! retention ends; then housekeeping purges it and the orphan sweep removes its blob (a blob
//! another asset shares stays).

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Origin, blob_files, media, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_renamed_restored_and_purged_after_their_retention() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let shared = app.upload_ok(&key, "Image", &url).await;
    let id = app.upload_ok(&key, "Image", &url).await;
    app.wait_settled(&key, &id).await;
    app.wait_settled(&key, &shared).await;

    let rename = |body: serde_json::Value| {
        let (app, key, id) = (&app, key.clone(), id.clone());
        async move {
            app.send(
                app.client
                    .patch(format!("{}/v1/assets/{id}", app.base))
                    .bearer_auth(&key)
                    .json(&body),
            )
            .await
        }
    };
    let (status, renamed) = rename(json!({"name": "Poster v2"})).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Poster v2");
    assert_eq!(renamed["status"], "Active");
    let (status, refused) = rename(json!({"name": "x".repeat(65)})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid-name");
    let (status, _) = rename(json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Delete, listed as deleted, restored as it was.
    let (status, _) = app.delete(&key, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&key, &format!("/v1/assets/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, deleted) = app.get(&key, "/v1/assets?deleted=true").await;
    assert_eq!(deleted["items"][0]["assetId"], json!(id), "{deleted}");
    let other = app.create_key("elsewhere").await;
    let (status, _) = app
        .post(&other, &format!("/v1/assets/{id}/restore"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's");
    let (status, restored) = app
        .post(&key, &format!("/v1/assets/{id}/restore"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["name"], "Poster v2");
    assert_eq!(restored["status"], "Active");
    let (status, _) = app
        .post(&key, &format!("/v1/assets/{id}/restore"), &json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a live asset is not restored"
    );

    // Past the retention: purged; the blob stays while another asset uses it.
    let (status, _) = app.delete(&key, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let state = app.server.as_ref().expect("running").state();
    let later = chrono::Utc::now() + chrono::Duration::days(8);
    assert_eq!(state.library.purge_deleted(later).await.expect("purge"), 1);
    let (status, _) = app
        .post(&key, &format!("/v1/assets/{id}/restore"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "purged");
    let sweep = || async {
        state
            .fsck
            .sweep_orphans(std::time::Duration::ZERO)
            .await
            .expect("sweep")
    };
    assert_eq!(sweep().await, 0, "the other asset still uses the blob");
    assert_eq!(blob_files(app.dir.path()).len(), 1);
    // The last asset with these bytes goes too: then so does the blob.
    let (status, _) = app.delete(&key, &format!("/v1/assets/{shared}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(state.library.purge_deleted(later).await.expect("purge"), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(sweep().await, 1);
    assert!(blob_files(app.dir.path()).is_empty());
}
