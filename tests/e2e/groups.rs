//! Groups: `POST/GET/PATCH/DELETE /v1/groups`; an asset filed in a group at upload (JSON,
//! multipart, PUT) or later (`PATCH /v1/assets/{id}`), listed by `?groupId=`; a group with
//! assets is deleted only with `?cascade=true`. The kyy face does not change.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{KYY, Origin, TestApp, media, spawn_app};

async fn patch(app: &TestApp, key: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    app.send(
        app.client
            .patch(format!("{}{path}", app.base))
            .bearer_auth(key)
            .json(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_hold_assets_and_refuse_deletion_while_not_empty() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let other = app.create_key("elsewhere").await;

    // Create: 201 with the id; the name is required and bounded.
    let (status, group) = app
        .post(
            &key,
            "/v1/groups",
            &json!({"name": "Heroes", "description": "Main cast"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["groupId"].as_str().expect("groupId").to_owned();
    assert!(gid.starts_with("group-"), "{gid}");
    assert_eq!(group["assetCount"], 0);
    assert_eq!(group["description"], "Main cast");
    for bad in [json!({}), json!({"name": "x".repeat(65)})] {
        let (status, refused) = app.post(&key, "/v1/groups", &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert_eq!(refused["error"]["code"], "invalid-name");
    }
    let (status, refused) = app
        .post(
            &key,
            "/v1/groups",
            &json!({"name": "ok", "description": "d".repeat(301)}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid-request");
    let (status, _) = app
        .post(&key, "/v1/groups", &json!({"name": "Extras"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Another tenant sees none of it.
    let (status, refused) = app.get(&other, &format!("/v1/groups/{gid}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    assert_eq!(refused["error"]["code"], "group-not-found");
    let (_, theirs) = app.get(&other, "/v1/groups").await;
    assert_eq!(theirs["total"], 0, "{theirs}");

    // Upload into the group: JSON by URL, multipart, PUT.
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let (status, by_url) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": url, "name": "one", "groupId": gid}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_url}");
    assert_eq!(by_url["groupId"], json!(gid));
    let form = reqwest::multipart::Form::new()
        .text("assetType", "Image")
        .text("groupId", gid.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(media::png(300, 300)).file_name("b.png"),
        );
    let (status, multipart) = app
        .send(
            app.client
                .post(format!("{}/v1/assets", app.base))
                .bearer_auth(&key)
                .multipart(form),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{multipart}");
    assert_eq!(multipart["groupId"], json!(gid));
    let (status, put) = app
        .send(
            app.client
                .put(format!("{}/v1/assets/c.png?groupId={gid}", app.base))
                .bearer_auth(&key)
                .header("content-type", "image/png")
                .body(media::png(320, 320)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{put}");
    assert_eq!(put["groupId"], json!(gid));

    // A group that is not the tenant's refuses the upload and creates nothing.
    let (status, refused) = app
        .post(
            &other,
            "/v1/assets",
            &json!({"assetType": "Image", "url": url, "groupId": gid}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    assert_eq!(refused["error"]["code"], "group-not-found");
    assert!(app.all_asset_ids(&other).await.is_empty());

    // A plain upload, filed later; listed by group; counted.
    let loose = app.upload_ok(&key, "Image", &url).await;
    let (status, filed) = patch(
        &app,
        &key,
        &format!("/v1/assets/{loose}"),
        &json!({"groupId": gid}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    assert_eq!(filed["groupId"], json!(gid));
    let (_, listed) = app.get(&key, &format!("/v1/assets?groupId={gid}")).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(4),
        "{listed}"
    );
    let (_, group) = app.get(&key, &format!("/v1/groups/{gid}")).await;
    assert_eq!(group["assetCount"], 4, "{group}");
    let (status, refused) = patch(
        &app,
        &other,
        &format!("/v1/assets/{loose}"),
        &json!({"groupId": null}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");

    // The kyy face shows the asset as before: no group field.
    let (status, detail) = app.get(&key, &format!("{KYY}/{loose}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert!(detail["data"].get("groupId").is_none(), "{detail}");

    // List: newest first, filtered by name, paged.
    let (_, all) = app.get(&key, "/v1/groups?limit=1").await;
    assert_eq!(all["total"], 2, "{all}");
    assert_eq!(all["items"][0]["name"], "Extras");
    let next = all["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, second) = app
        .get(&key, &format!("/v1/groups?limit=1&cursor={next}"))
        .await;
    assert_eq!(second["items"][0]["groupId"], json!(gid), "{second}");
    assert_eq!(second["nextCursor"], Value::Null);
    let (_, found) = app.get(&key, "/v1/groups?name=hero").await;
    assert_eq!(found["total"], 1, "{found}");

    // Update: rename, clear the description.
    let (status, updated) = patch(
        &app,
        &key,
        &format!("/v1/groups/{gid}"),
        &json!({"name": "Heroes 2", "description": null}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Heroes 2");
    assert_eq!(updated["description"], Value::Null);
    let (status, _) = patch(&app, &key, &format!("/v1/groups/{gid}"), &json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Delete: refused while assets are in it, then with cascade (the assets restorable).
    let (status, refused) = app.delete(&key, &format!("/v1/groups/{gid}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "group-not-empty");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("4 assets") && m.contains("cascade=true")),
        "{refused}"
    );
    let (status, deleted) = app
        .delete(&key, &format!("/v1/groups/{gid}?cascade=true"))
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["deletedAssets"], 4, "{deleted}");
    assert_eq!(
        app.get(&key, &format!("/v1/assets/{loose}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, restored) = app
        .post(&key, &format!("/v1/assets/{loose}/restore"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["groupId"], Value::Null, "its group is gone");
    assert_eq!(
        app.get(&key, &format!("/v1/groups/{gid}")).await.0,
        StatusCode::NOT_FOUND
    );
}
