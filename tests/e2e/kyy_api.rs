//! The kyy face: exact JSON of every call, every accepted image format, every image rule.

use image::ImageFormat;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{KYY, Origin, assert_keys, media, spawn_app};

/// File name, bytes, expected format, expected size.
type ImageCase = (&'static str, Vec<u8>, &'static str, (u32, u32));

fn assert_asset_id(id: &str) {
    let rest = id
        .strip_prefix("asset-")
        .unwrap_or_else(|| panic!("id {id}"));
    let (stamp, suffix) = rest.split_once('-').unwrap_or_else(|| panic!("id {id}"));
    assert_eq!(stamp.len(), 14, "{id}");
    assert!(stamp.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!(suffix.len(), 5, "{id}");
    assert!(
        suffix
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
        "{id}"
    );
}

fn assert_create_time(value: &Value) {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("createTime {value}"));
    assert_eq!(s.len(), 19, "{s}");
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("createTime {s}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_detail_list_delete_have_the_exact_documented_json() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("acme").await;
    let url = origin.put("portrait.png", media::png(640, 480), "image/png");

    // upload
    let body = serde_json::json!({"assetType": "Image", "url": url, "name": "My portrait photo"});
    let (status, up) = app.post(&key, &format!("{KYY}/upload"), &body).await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_keys(&up, &["code", "msg", "data"]);
    assert_eq!(up["code"], Value::from(0));
    assert!(up["code"].is_i64());
    assert!(up["msg"].is_null());
    assert_keys(&up["data"], &["assetId"]);
    let id = up["data"]["assetId"].as_str().expect("assetId").to_owned();
    assert_asset_id(&id);

    // details right away: Processing or already Active
    let (status, detail) = app.get(&key, &format!("{KYY}/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_keys(&detail, &["code", "msg", "data"]);
    assert_keys(
        &detail["data"],
        &[
            "name",
            "assetId",
            "status",
            "assetType",
            "url",
            "createTime",
        ],
    );
    let first = detail["data"]["status"].as_str().expect("status");
    assert!(first == "Processing" || first == "Active", "{first}");

    let settled = app.wait_settled(&key, &id).await;
    assert_eq!(settled["status"], "Active", "{settled}");
    let (_, detail) = app.get(&key, &format!("{KYY}/{id}")).await;
    assert_eq!(detail["code"], Value::from(0));
    assert!(detail["msg"].is_null());
    let data = &detail["data"];
    assert_eq!(data["name"], "My portrait photo");
    assert_eq!(data["assetId"], Value::from(id.clone()));
    assert_eq!(data["status"], "Active");
    assert_eq!(data["assetType"], "Image");
    assert_eq!(data["url"], Value::from(url.clone()));
    assert_create_time(&data["createTime"]);

    // list
    let (status, list) = app
        .get(&key, &format!("{KYY}/list?pageNum=1&pageSize=10"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_keys(&list, &["code", "msg", "data"]);
    assert_eq!(list["code"], Value::from(0));
    assert!(list["msg"].is_null());
    assert_keys(&list["data"], &["list", "total", "pageNum", "pageSize"]);
    assert_eq!(list["data"]["total"], Value::from(1));
    assert_eq!(list["data"]["pageNum"], Value::from(1));
    assert_eq!(list["data"]["pageSize"], Value::from(10));
    assert_eq!(list["data"]["list"][0], detail["data"]);

    // delete: the string "0" quirk
    let (status, del) = app.delete(&key, &format!("{KYY}/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        del,
        serde_json::json!({"code": "0", "msg": "success", "data": null})
    );
    assert!(del["code"].is_string());

    // gone everywhere
    let (status, gone) = app.get(&key, &format!("{KYY}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_keys(&gone, &["code", "msg", "data"]);
    assert_eq!(gone["code"], Value::from(-1));
    assert!(gone["msg"].is_string());
    assert!(gone["data"].is_null());
    let (_, again) = app.delete(&key, &format!("{KYY}/{id}")).await;
    assert_eq!(again["code"], Value::from(-1));
    let (_, list) = app.get(&key, &format!("{KYY}/list")).await;
    assert_eq!(list["data"]["total"], Value::from(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_image_format_goes_active() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("formats").await;
    let cases: Vec<ImageCase> = vec![
        (
            "a.jpg",
            media::image(ImageFormat::Jpeg, 640, 480),
            "jpeg",
            (640, 480),
        ),
        (
            "a.png",
            media::image(ImageFormat::Png, 640, 480),
            "png",
            (640, 480),
        ),
        (
            "a.webp",
            media::image(ImageFormat::WebP, 640, 480),
            "webp",
            (640, 480),
        ),
        (
            "a.bmp",
            media::image(ImageFormat::Bmp, 640, 480),
            "bmp",
            (640, 480),
        ),
        (
            "a.tiff",
            media::image(ImageFormat::Tiff, 640, 480),
            "tiff",
            (640, 480),
        ),
        (
            "a.gif",
            media::image(ImageFormat::Gif, 320, 320),
            "gif",
            (320, 320),
        ),
    ];
    for (name, bytes, format, (w, h)) in cases {
        // A misleading name and Content-Type: the bytes decide.
        let url = origin.put(&format!("{name}.bin"), bytes, "application/octet-stream");
        let id = app.upload_ok(&key, "Image", &url).await;
        let body = app.wait_settled(&key, &id).await;
        assert_eq!(body["status"], "Active", "{name}: {body}");
        assert_eq!(body["format"], format, "{name}: {body}");
        assert_eq!(body["width"], Value::from(w), "{name}: {body}");
        assert_eq!(body["height"], Value::from(h), "{name}: {body}");
        assert!(body["failure"].is_null(), "{name}: {body}");
        assert_eq!(
            body["moderation"]["faces"],
            serde_json::json!([]),
            "{name}: scanned"
        );
    }

    // HEIC is not one of the accepted formats and is not decoded here (so it could not be checked
    // for faces): refused at upload, nothing created (tests/e2e/review_workflow.rs covers every
    // face).
    let url = origin.put("a.heic.bin", media::heic(), "application/octet-stream");
    let (status, body) = app.kyy_upload(&key, "Image", &url).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], 1016, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_image_rule_fails_with_its_code() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("rules").await;
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "small.png",
            media::png(200, 200),
            "image-dimensions",
            "image is 200x200; each side must be 300–6000 px",
        ),
        (
            "narrow-side.png",
            media::png(299, 400),
            "image-dimensions",
            "image is 299x400; each side must be 300–6000 px",
        ),
        (
            "huge.png",
            media::flat_png(6100, 2500),
            "image-dimensions",
            "image is 6100x2500; each side must be 300–6000 px",
        ),
        (
            "wide.png",
            media::png(1500, 500),
            "image-ratio",
            "image is 1500x500 (width/height ratio 3.00); the ratio must be 0.4–2.5",
        ),
        (
            "tall.png",
            media::png(400, 1100),
            "image-ratio",
            "image is 400x1100 (width/height ratio 0.36); the ratio must be 0.4–2.5",
        ),
        (
            "icon.ico",
            media::ico(),
            "image-format",
            "ico is not an accepted image format; accepted: jpeg, png, webp, bmp, tiff, gif, heif",
        ),
        (
            "cut.jpg",
            media::truncated_jpeg(),
            "image-unreadable",
            "the jpeg file is truncated: it has no end marker",
        ),
    ];
    for (name, bytes, code, message) in cases {
        let url = origin.put(name, bytes, "image/png");
        let id = app.upload_ok(&key, "Image", &url).await;
        let body = app.wait_settled(&key, &id).await;
        assert_eq!(body["status"], "Failed", "{name}: {body}");
        assert_eq!(body["failure"]["code"], code, "{name}: {body}");
        assert_eq!(body["failure"]["message"], message, "{name}: {body}");
        // The kyy face shows Failed, with the reason in msg.
        let (_, kyy) = app.get(&key, &format!("{KYY}/{id}")).await;
        assert_eq!(kyy["code"], Value::from(0));
        assert_eq!(kyy["data"]["status"], "Failed");
        assert_eq!(kyy["msg"], message, "{name}");
    }
    assert_eq!(app.count_jobs().await, 0, "every job finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_filters_and_orders_newest_first() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("lister").await;
    let good = origin.put("good.png", media::png(400, 400), "image/png");
    let bad = origin.put("bad.png", media::png(100, 100), "image/png");
    let doc = origin.put("doc.pdf", media::pdf(), "application/pdf");
    let mut ids = Vec::new();
    for (i, (t, url)) in [
        ("Image", &good),
        ("Image", &bad),
        ("Document", &doc),
        ("Image", &good),
        ("Image", &good),
    ]
    .into_iter()
    .enumerate()
    {
        let body = serde_json::json!({"assetType": t, "url": url, "name": format!("item {i} {}", if i % 2 == 0 { "Even" } else { "odd" })});
        let (status, up) = app.post(&key, &format!("{KYY}/upload"), &body).await;
        assert_eq!(status, StatusCode::OK, "{up}");
        let id = up["data"]["assetId"].as_str().expect("id").to_owned();
        app.wait_settled(&key, &id).await;
        ids.push(id);
    }
    let page = |q: &str| {
        let q = q.to_owned();
        let app = &app;
        let key = &key;
        async move { app.get(key, &format!("{KYY}/list?{q}")).await }
    };
    let ids_of = |body: &Value| -> Vec<String> {
        body["data"]["list"]
            .as_array()
            .expect("list")
            .iter()
            .map(|a| a["assetId"].as_str().expect("id").to_owned())
            .collect()
    };
    let (_, p1) = page("pageNum=1&pageSize=2").await;
    assert_eq!(p1["data"]["total"], Value::from(5));
    assert_eq!(ids_of(&p1), vec![ids[4].clone(), ids[3].clone()]);
    let (_, p3) = page("pageNum=3&pageSize=2").await;
    assert_eq!(ids_of(&p3), vec![ids[0].clone()]);
    let (_, p4) = page("pageNum=4&pageSize=2").await;
    assert_eq!(ids_of(&p4), Vec::<String>::new());
    assert_eq!(p4["data"]["total"], Value::from(5));

    let (_, docs) = page("assetType=Document").await;
    assert_eq!(ids_of(&docs), vec![ids[2].clone()]);
    let (_, failed) = page("status=Failed").await;
    assert_eq!(ids_of(&failed), vec![ids[1].clone()]);
    let (_, named) = page("name=even").await;
    assert_eq!(
        ids_of(&named),
        vec![ids[4].clone(), ids[2].clone(), ids[0].clone()]
    );
    let (_, combined) = page("assetType=Image&status=Active&name=EVEN").await;
    assert_eq!(ids_of(&combined), vec![ids[4].clone(), ids[0].clone()]);

    for bad_query in [
        "pageSize=101",
        "pageSize=0",
        "pageNum=0",
        "pageNum=x",
        "assetType=image",
        "status=Done",
    ] {
        let (status, body) = page(bad_query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad_query}: {body}");
        assert_ne!(body["code"], Value::from(0), "{bad_query}");
        assert!(body["msg"].is_string(), "{bad_query}");
        assert!(body["data"].is_null(), "{bad_query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_filter_ignores_case_in_every_script_on_both_faces() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("names").await;
    let png = origin.put("n.png", media::png(400, 400), "image/png");
    for name in ["École Été", "Ωmega", "plain"] {
        let body = serde_json::json!({"assetType": "Image", "url": png, "name": name});
        let (status, up) = app.post(&key, &format!("{KYY}/upload"), &body).await;
        assert_eq!(status, StatusCode::OK, "{up}");
    }
    let encode =
        |q: &str| -> String { url::form_urlencoded::byte_serialize(q.as_bytes()).collect() };
    for (needle, found) in [
        ("école", "École Été"),
        ("ÉTÉ", "École Été"),
        ("ωmega", "Ωmega"),
        ("ΩMEGA", "Ωmega"),
    ] {
        let (status, kyy) = app
            .get(&key, &format!("{KYY}/list?name={}", encode(needle)))
            .await;
        assert_eq!(status, StatusCode::OK, "{kyy}");
        assert_eq!(kyy["data"]["total"], Value::from(1), "{needle}: {kyy}");
        assert_eq!(kyy["data"]["list"][0]["name"], found, "{needle}: {kyy}");
        let (status, v1) = app
            .get(&key, &format!("/v1/assets?name={}", encode(needle)))
            .await;
        assert_eq!(status, StatusCode::OK, "{v1}");
        let names: Vec<&str> = v1["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| a["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, [found], "{needle}: {v1}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_unknown_keys_get_401_in_the_kyy_envelope() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}{KYY}/list", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.expect("json");
    assert_keys(&body, &["code", "msg", "data"]);
    assert_eq!(body["code"], Value::from(1401));
    assert!(body["data"].is_null());

    let (status, body) = app.get("alk_not-a-real-key", &format!("{KYY}/list")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], Value::from(1401));

    // Revoked keys stop working.
    let key = app.create_key("short-lived").await;
    let (status, _) = app.get(&key, &format!("{KYY}/list")).await;
    assert_eq!(status, StatusCode::OK);
    let state = app.server.as_ref().expect("running").state();
    let id = state
        .keys
        .list()
        .await
        .expect("keys")
        .into_iter()
        .find(|k| k.tenant == "short-lived")
        .expect("key")
        .id;
    assert!(state.keys.revoke(&id).await.expect("revoke"));
    let (status, _) = app.get(&key, &format!("{KYY}/list")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_from_another_process_stops_working_within_the_cache_time() {
    let app = spawn_app().await;
    let key = app.create_key("elsewhere").await;
    let (status, _) = app.get(&key, &format!("{KYY}/list")).await;
    assert_eq!(status, StatusCode::OK);
    // `assetlib keys revoke` runs in another process: a key service of its own on the database.
    let state = app.server.as_ref().expect("running").state();
    let other = assetlib::service::KeyService::new(state.repo.clone());
    let id = other
        .list()
        .await
        .expect("keys")
        .into_iter()
        .find(|k| k.tenant == "elsewhere")
        .expect("key")
        .id;
    assert!(other.revoke(&id).await.expect("revoke"));
    tokio::time::sleep(assetlib::service::KEY_CACHE_TTL + std::time::Duration::from_millis(100))
        .await;
    let (status, body) = app.get(&key, &format!("{KYY}/list")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}
