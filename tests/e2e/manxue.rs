//! The SD2 Manxue batch asset routes: many URLs in one upload with partial success, and the
//! statuses of many ids; a string `"0"` code on both.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{KYY, Origin, media, spawn_app};

const UPLOAD: &str = "/kyyReactApiServer/asset/sd2Manxue/assetUpload";
const STATUS: &str = "/kyyReactApiServer/asset/sd2Manxue/assetStatus";

fn is_asset_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == "asset-20260330142158-q75m8".len() && s.starts_with("asset-"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_maps_every_url_to_its_asset_or_its_refusal() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let first = origin.put("a.png", media::png(400, 400), "image/png");
    let second = origin.put("b.jpg", media::jpeg(500, 400), "image/jpeg");
    let missing = first.replace("a.png", "missing.png");
    let png_as_video = origin.put("d.png", media::png(400, 400), "image/png");
    let not_a_url = "not a url".to_owned();

    let body = json!({
        "imageUrls": [first, missing, second],
        "videoUrls": [png_as_video],
        "audioUrls": [not_a_url],
    });
    let (status, answer) = app.post(&key, UPLOAD, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["code"], json!("0"), "a string code");
    assert_eq!(answer["msg"], Value::Null);

    let items = answer["data"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{answer}");
    for (item, url) in items.iter().zip([&first, &second]) {
        let keys: Vec<&str> = item
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 4, "{item}");
        assert_eq!(item["assetType"], "Image");
        assert_eq!(item["originalUrl"], *url);
        assert_eq!(item["status"], "submitted");
        assert!(is_asset_id(&item["assetId"]), "{item}");
        let id = item["assetId"].as_str().expect("id");
        let settled = app.wait_settled(&key, id).await;
        assert_eq!(settled["status"], "Active", "{settled}");
    }

    // Each refusal is the sentence an upload of that URL alone answers, mapped back by URL.
    let failed = answer["data"]["failedItems"]
        .as_array()
        .expect("failedItems");
    let expected = [
        ("Image", &missing),
        ("Video", &png_as_video),
        ("Audio", &not_a_url),
    ];
    assert_eq!(failed.len(), expected.len(), "{answer}");
    for (item, (asset_type, url)) in failed.iter().zip(expected) {
        assert_eq!(item.as_object().expect("object").len(), 2, "{item}");
        assert_eq!(item["originalUrl"], *url);
        let (status, alone) = app.kyy_upload(&key, asset_type, url).await;
        assert_ne!(status, StatusCode::OK);
        assert_eq!(item["errorMessage"], alone["msg"], "{url}");
    }
    // Nothing but the two good URLs was created.
    assert_eq!(app.all_asset_ids(&key).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_cannot_be_taken_is_refused_in_the_kyy_envelope() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;
    let too_many: Vec<String> = (0..51)
        .map(|i| format!("https://example.com/{i}.png"))
        .collect();
    for body in [
        json!({}),
        json!({"imageUrls": [], "videoUrls": [], "audioUrls": []}),
        json!({"imageUrls": "https://example.com/a.png"}),
        json!({"imageUrls": [1]}),
        json!({"imageUrls": too_many}),
    ] {
        let (status, answer) = app.post(&key, UPLOAD, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["code"], json!(1000), "{answer}");
        assert_eq!(answer["data"], Value::Null);
        assert!(answer["msg"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (_, over) = app
        .post(&key, UPLOAD, &json!({"imageUrls": too_many}))
        .await;
    assert!(
        over["msg"].as_str().expect("msg").contains("at most 50"),
        "{over}"
    );
    let (status, bad) = app
        .send(
            app.client
                .post(format!("{}{UPLOAD}", app.base))
                .bearer_auth(&key)
                .body("{not json"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["code"], json!(1000));
    for body in [json!({}), json!({"assetIds": []}), json!({"assetIds": "x"})] {
        let (status, answer) = app.post(&key, STATUS, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["code"], json!(1000));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_of_own_foreign_and_missing_ids() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let other = app.create_key("other").await;
    let good = app
        .upload_ok(
            &key,
            "Image",
            &origin.put("a.png", media::png(400, 400), "image/png"),
        )
        .await;
    // 100 px a side: accepted, then Failed (image-dimensions).
    let small = app
        .upload_ok(
            &key,
            "Image",
            &origin.put("s.png", media::png(100, 100), "image/png"),
        )
        .await;
    let foreign = app
        .upload_ok(
            &other,
            "Image",
            &origin.put("f.png", media::png(400, 400), "image/png"),
        )
        .await;
    for (k, id) in [(&key, &good), (&key, &small), (&other, &foreign)] {
        app.wait_settled(k, id).await;
    }
    let absent = "asset-20260101000000-zzzzz";
    let ids = json!([good, foreign, small, absent, "nope"]);
    let (status, answer) = app.post(&key, STATUS, &json!({ "assetIds": ids })).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"code": "0", "msg": null, "data": {
            "items": [{"assetId": good, "status": "Active"}, {"assetId": small, "status": "Failed"}],
            "failedItems": [
                {"assetId": foreign, "errorMessage": "asset not found"},
                {"assetId": absent, "errorMessage": "asset not found"},
                {"assetId": "nope", "errorMessage": "asset not found"},
            ],
        }})
    );
    // The owner of the foreign id sees it.
    let (_, theirs) = app
        .post(&other, STATUS, &json!({"assetIds": [foreign]}))
        .await;
    assert_eq!(theirs["data"]["items"][0]["status"], "Active");
    // The same status the details route shows.
    let (_, detail) = app.get(&key, &format!("{KYY}/{small}")).await;
    assert_eq!(detail["data"]["status"], "Failed");
}
