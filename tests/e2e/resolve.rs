//! Content, signed URLs and `asset://` resolution through the real server.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::common::{Origin, TestApp, media, spawn_app};

pub(crate) async fn active(
    app: &TestApp,
    origin: &Origin,
    key: &str,
    t: &str,
    name: &str,
    bytes: Vec<u8>,
) -> String {
    let url = origin.put(name, bytes, "application/octet-stream");
    let id = app.upload_ok(key, t, &url).await;
    let body = app.wait_settled(key, &id).await;
    assert_eq!(body["status"], "Active", "{name}: {body}");
    id
}

fn sha(bytes: &[u8]) -> String {
    assetlib::fetch::hex(&sha2::Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_ranges_and_signed_urls() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("owner").await;
    let other = app.create_key("other").await;
    let bytes = media::png(640, 480);
    let id = active(&app, &origin, &key, "Image", "p.png", bytes.clone()).await;
    let len = bytes.len();

    let get = |url: String, key: Option<String>, range: Option<&'static str>| {
        let mut req = app.client.get(url);
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(range) = range {
            req = req.header("Range", range);
        }
        req.send()
    };
    let content = format!("{}/v1/assets/{id}/content", app.base);
    let resp = get(content.clone(), Some(key.clone()), None)
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.headers()["content-length"], len.to_string().as_str());
    assert_eq!(resp.headers()["accept-ranges"], "bytes");
    assert_eq!(
        resp.headers()["etag"],
        format!("\"{}\"", sha(&bytes)).as_str()
    );
    assert_eq!(resp.bytes().await.expect("body").as_ref(), &bytes[..]);
    let resp = get(content.clone(), Some(other.clone()), None)
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "another tenant");

    for (range, want, from, to) in [
        ("bytes=0-99", StatusCode::PARTIAL_CONTENT, 0, 100),
        ("bytes=100-199", StatusCode::PARTIAL_CONTENT, 100, 200),
        ("bytes=-50", StatusCode::PARTIAL_CONTENT, len - 50, len),
        ("bytes=1000-", StatusCode::PARTIAL_CONTENT, 1000, len),
        ("bytes=x-y", StatusCode::OK, 0, len),
    ] {
        let resp = get(content.clone(), Some(key.clone()), Some(range))
            .await
            .expect("sent");
        assert_eq!(resp.status(), want, "{range}");
        if want == StatusCode::PARTIAL_CONTENT {
            let cr = format!("bytes {from}-{}/{len}", to - 1);
            assert_eq!(resp.headers()["content-range"], cr.as_str(), "{range}");
        }
        assert_eq!(
            resp.bytes().await.expect("body").as_ref(),
            &bytes[from..to],
            "{range}"
        );
    }
    let resp = get(content.clone(), Some(key.clone()), Some("bytes=999999-"))
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        resp.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
    let refusal: Value = resp.json().await.expect("a JSON refusal");
    assert_eq!(
        refusal["error"]["code"], "range-not-satisfiable",
        "{refusal}"
    );

    // A signed URL from resolve: no key needed; tampering or expiry answers 403.
    let (status, resolved) = app
        .post(
            &key,
            "/v1/resolve",
            &json!({"first_image": format!("asset://{id}")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    let signed = resolved["first_image"].as_str().expect("url").to_owned();
    assert!(
        signed.starts_with(&format!("{}/content/{id}?exp=", app.base)),
        "{signed}"
    );
    let resp = get(signed.clone(), None, None).await.expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(sha(&resp.bytes().await.expect("body")), sha(&bytes));
    let resp = get(signed.clone(), None, Some("bytes=10-19"))
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.bytes().await.expect("body").as_ref(), &bytes[10..20]);

    let (prefix, sig) = signed.split_once("&sig=").expect("sig");
    let flipped: String = sig.chars().rev().collect();
    let exp: i64 = prefix
        .rsplit_once("exp=")
        .expect("exp")
        .1
        .parse()
        .expect("exp number");
    let other_id = "asset-20200101000000-zzzzz";
    for (what, url) in [
        ("tampered signature", format!("{prefix}&sig={flipped}")),
        (
            "tampered expiry",
            signed.replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600)),
        ),
        ("tampered id", signed.replace(&id, other_id)),
        (
            "expired",
            format!("{}/content/{id}?exp=1000&sig={sig}", app.base),
        ),
        ("no signature", format!("{}/content/{id}", app.base)),
    ] {
        let resp = get(url, None, None).await.expect("sent");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_checks_every_reference_and_names_every_problem() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("maker").await;
    let other = app.create_key("stranger").await;
    let image = active(&app, &origin, &key, "Image", "a.png", media::png(400, 400)).await;
    let image2 = active(&app, &origin, &key, "Image", "b.png", media::png(500, 400)).await;
    let doc = active(&app, &origin, &key, "Document", "d.pdf", media::pdf()).await;
    let foreign = active(
        &app,
        &origin,
        &other,
        "Image",
        "f.png",
        media::png(450, 400),
    )
    .await;
    let failed_url = origin.put("small.png", media::png(50, 50), "image/png");
    let failed = app.upload_ok(&key, "Image", &failed_url).await;
    app.wait_settled(&key, &failed).await;

    // Success: references rewritten, URLs and other fields untouched.
    let task = json!({
        "model": "seedance-2.0", "prompt": "a cat", "duration": 5, "extra": {"keep": [1, 2]},
        "referenceImages": [format!("asset://{image}"), "https://cdn.example.com/x.png", format!("asset://{image2}")],
    });
    let (status, out) = app.post(&key, "/v1/resolve", &task).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    for field in ["model", "prompt", "duration", "extra"] {
        assert_eq!(out[field], task[field], "{field}");
    }
    let refs = out["referenceImages"].as_array().expect("array");
    assert!(
        refs[0]
            .as_str()
            .expect("url")
            .contains(&format!("/content/{image}?exp="))
    );
    assert_eq!(refs[1], "https://cdn.example.com/x.png");
    assert!(
        refs[2]
            .as_str()
            .expect("url")
            .contains(&format!("/content/{image2}?exp="))
    );

    let check = |task: Value, expected: Vec<(&'static str, &'static str)>| {
        let app = &app;
        let key = key.clone();
        async move {
            let (status, out) = app.post(&key, "/v1/resolve", &task).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{task} → {out}");
            assert_eq!(out["error"]["code"], "invalid-references");
            let got: Vec<(String, String)> = out["error"]["violations"]
                .as_array()
                .expect("violations")
                .iter()
                .map(|v| {
                    (
                        v["field"].as_str().expect("field").to_owned(),
                        v["code"].as_str().expect("code").to_owned(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = expected
                .iter()
                .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
                .collect();
            assert_eq!(got, want, "{task}");
        }
    };
    let a = |id: &str| format!("asset://{id}");
    // Each rule alone.
    check(
        json!({"referenceImages": [a(&image), "asset:/x"]}),
        vec![("referenceImages[1]", "reference-malformed")],
    )
    .await;
    check(
        json!({"referenceImages": ["asset://"]}),
        vec![("referenceImages[0]", "reference-malformed")],
    )
    .await;
    check(
        json!({"referenceImages": ["ftp://x.example/a.png"]}),
        vec![("referenceImages[0]", "reference-malformed")],
    )
    .await;
    check(
        json!({"referenceImages": ["asset://asset-123"]}),
        vec![("referenceImages[0]", "reference-malformed")],
    )
    .await;
    check(
        json!({"first_image": a("asset-20200101000000-zzzzz")}),
        vec![("first_image", "asset-not-found")],
    )
    .await;
    check(
        json!({"first_image": a(&foreign)}),
        vec![("first_image", "asset-not-found")],
    )
    .await;
    check(
        json!({"first_image": a(&failed)}),
        vec![("first_image", "asset-not-active")],
    )
    .await;
    check(
        json!({"referenceVideos": [a(&image)]}),
        vec![("referenceVideos[0]", "asset-type-mismatch")],
    )
    .await;
    check(
        json!({"referenceImages": [a(&doc)]}),
        vec![("referenceImages[0]", "asset-type-mismatch")],
    )
    .await;
    check(
        json!({"referenceAudios": [a(&doc)]}),
        vec![("referenceAudios[0]", "asset-type-mismatch")],
    )
    .await;
    check(
        json!({"referenceImages": vec![a(&image); 10]}),
        vec![("referenceImages", "too-many-references")],
    )
    .await;
    check(
        json!({"referenceVideos": vec!["https://x.example/v.mp4"; 4]}),
        vec![("referenceVideos", "too-many-references")],
    )
    .await;
    check(
        json!({"referenceAudios": vec!["https://x.example/a.mp3"; 4]}),
        vec![("referenceAudios", "too-many-references")],
    )
    .await;
    check(
        json!({"last_image": a(&image)}),
        vec![("last_image", "last-without-first")],
    )
    .await;
    check(
        json!({"referenceImages": "asset://x"}),
        vec![("referenceImages", "field-type")],
    )
    .await;
    // Several at once: all of them, in field order.
    check(
        json!({
            "last_image": a(&doc),
            "referenceImages": [a(&failed), "asset:/bad", a(&image)],
            "referenceVideos": [a(&image)],
        }),
        vec![
            ("last_image", "last-without-first"),
            ("last_image", "asset-type-mismatch"),
            ("referenceImages[0]", "asset-not-active"),
            ("referenceImages[1]", "reference-malformed"),
            ("referenceVideos[0]", "asset-type-mismatch"),
        ],
    )
    .await;
    // first + last together are fine, also with references (frames-with-references is a
    // per-model rule, off by default), and assetId:// is an alias of asset://.
    for task in [
        json!({"first_image": a(&image), "last_image": a(&image2)}),
        json!({"first_image": a(&image), "referenceImages": [format!("assetId://{image2}")]}),
    ] {
        let (status, out) = app.post(&key, "/v1/resolve", &task).await;
        assert_eq!(status, StatusCode::OK, "{task} → {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_urls_expire() {
    let app = crate::common::spawn_app_with(
        |c| c.content_url_ttl = std::time::Duration::from_secs(1),
        std::sync::Arc::new(assetlib::fetch::SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("brief").await;
    let id = active(&app, &origin, &key, "Image", "a.png", media::png(400, 400)).await;
    let (_, out) = app
        .post(
            &key,
            "/v1/resolve",
            &json!({"first_image": format!("asset://{id}")}),
        )
        .await;
    let url = out["first_image"].as_str().expect("url").to_owned();
    assert_eq!(
        app.client.get(&url).send().await.expect("sent").status(),
        StatusCode::OK
    );
    // Expiry has one-second resolution: wait past it.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let resp = app.client.get(&url).send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("expired"),
        "{body}"
    );
}
