//! The fetcher refuses every non-public address by default: literal spellings, names whose
//! DNS answer is private, and redirects from an allowed origin to a private one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use assetlib::fetch::StaticLookup;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{KYY, Origin, blob_files, media, spawn_app_with};

fn lookup() -> Arc<StaticLookup> {
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    let mut names = HashMap::new();
    names.insert("localhost".to_owned(), vec![ip("127.0.0.1"), ip("::1")]);
    names.insert("assets.example.com".to_owned(), vec![ip("10.20.30.40")]);
    names.insert(
        "mixed.example.com".to_owned(),
        vec![ip("93.184.216.34"), ip("192.168.1.10")],
    );
    names.insert(
        "metadata.example.com".to_owned(),
        vec![ip("169.254.169.254")],
    );
    names.insert("v6.example.com".to_owned(), vec![ip("fd00::1")]);
    Arc::new(StaticLookup(names))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_by_default() {
    let app = spawn_app_with(|c| c.fetch.allow_private_networks = false, lookup()).await;
    let key = app.create_key("ssrf").await;
    let urls = [
        "http://127.0.0.1/a.png",
        "http://127.0.0.1:8080/a.png",
        "http://localhost/a.png",
        "http://0.0.0.0/a.png",
        "http://10.0.0.1/a.png",
        "http://10.255.255.254/a.png",
        "http://172.16.0.1/a.png",
        "http://172.31.255.1/a.png",
        "http://192.168.0.1/a.png",
        "http://100.64.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.png",
        "http://[fc00::1]/a.png",
        "http://[fd12:3456::1]/a.png",
        "http://[fe80::1]/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://[::ffff:7f00:1]/a.png",
        "http://2130706433/a.png",
        "http://0177.0.0.1/a.png",
        "http://0x7f000001/a.png",
        "http://127.1/a.png",
        "https://assets.example.com/a.png",
        "http://mixed.example.com/a.png",
        "http://metadata.example.com/latest/meta-data/",
        "http://v6.example.com/a.png",
    ];
    for url in urls {
        let (status, body) = app.kyy_upload(&key, "Image", url).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["code"], Value::from(1003), "{url}: {body}");
        let msg = body["msg"].as_str().expect("msg");
        assert!(msg.contains("not a public address"), "{url}: {msg}");
        // The refusal names the flags an operator would set to allow it.
        assert!(
            msg.contains("--allow-network CIDR") && msg.contains("--allow-private-networks"),
            "{url}: {msg}"
        );
        let (status, v1) = app
            .post(
                &key,
                "/v1/assets",
                &serde_json::json!({"assetType": "Image", "url": url}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(v1["error"]["code"], "url-not-allowed", "{url}: {v1}");
    }
    let (_, list) = app.get(&key, &format!("{KYY}/list")).await;
    assert_eq!(list["data"]["total"], Value::from(0));
    assert!(blob_files(app.dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_private_addresses_are_refused() {
    // Only the origin's own address is allowed; every redirect target is re-checked.
    let app = spawn_app_with(
        |c| {
            c.fetch.allow_private_networks = false;
            c.fetch.allow_networks = vec!["127.0.0.1/32".parse().expect("cidr")];
        },
        lookup(),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("redirects").await;
    let ok = origin.put("ok.png", media::png(400, 400), "image/png");
    origin.put("hop-target.png", media::png(400, 400), "image/png");

    // Controls: the allowed origin works, directly and through five redirects.
    let id = app.upload_ok(&key, "Image", &ok).await;
    assert_eq!(app.wait_settled(&key, &id).await["status"], "Active");
    let id = app
        .upload_ok(&key, "Image", &format!("{}/hops/5", origin.base))
        .await;
    assert_eq!(app.wait_settled(&key, &id).await["status"], "Active");
    let (status, body) = app
        .kyy_upload(&key, "Image", &format!("{}/hops/6", origin.base))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], Value::from(1010), "{body}");

    let port = origin.base.rsplit(':').next().expect("port").to_owned();
    let targets = [
        "http://10.0.0.1/a.png".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://192.168.1.1/a.png".to_owned(),
        format!("http://[::1]:{port}/files/ok.png"),
        format!("http://localhost:{port}/files/ok.png"),
        "http://assets.example.com/a.png".to_owned(),
        "http://metadata.example.com/".to_owned(),
    ];
    for target in targets {
        let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let url = format!("{}/redirect?to={encoded}", origin.base);
        let (status, body) = app.kyy_upload(&key, "Image", &url).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{target}: {body}");
        assert_eq!(body["code"], Value::from(1003), "{target}: {body}");
    }
    let encoded: String =
        url::form_urlencoded::byte_serialize(b"ftp://example.com/a.png").collect();
    let (status, body) = app
        .kyy_upload(
            &key,
            "Image",
            &format!("{}/redirect?to={encoded}", origin.base),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], Value::from(1008), "{body}");

    let (_, list) = app.get(&key, &format!("{KYY}/list")).await;
    assert_eq!(
        list["data"]["total"],
        Value::from(2),
        "only the two controls exist"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_other_schemes_are_invalid_urls() {
    let app = spawn_app_with(
        |c| {
            c.fetch.allow_private_networks = false;
            c.fetch.allow_networks = vec!["127.0.0.1/32".parse().expect("cidr")];
        },
        lookup(),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("schemes").await;
    for target in [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "ftp://example.com/a.png",
        "gopher://127.0.0.1:70/_x",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let url = format!("{}/redirect?to={encoded}", origin.base);
        let (status, body) = app.kyy_upload(&key, "Image", &url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{target}: {body}");
        assert_eq!(body["code"], Value::from(1008), "{target}: {body}");
        let msg = body["msg"].as_str().expect("msg");
        assert!(msg.contains("redirected to"), "{target}: {msg}");
        let (status, v1) = app
            .post(
                &key,
                "/v1/assets",
                &serde_json::json!({"assetType": "Image", "url": url}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{target}: {v1}");
        assert_eq!(v1["error"]["code"], "invalid-url", "{target}: {v1}");
    }
    // A redirect without a Location stays the source's own error.
    let (status, body) = app
        .kyy_upload(&key, "Image", &format!("{}/status/302", origin.base))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], Value::from(1002), "{body}");

    let (_, list) = app.get(&key, &format!("{KYY}/list")).await;
    assert_eq!(list["data"]["total"], Value::from(0));
}
