//! The Volcengine-style face: every action called by the `volcengine` package from PyPI
//! (`tests/volc/client.py`), and in Rust the refusals of bad signatures — wrong secret, unknown
//! key, stale or future `X-Date`, missing headers, a body that is not the one hashed, another
//! region — a bearer key working too, and an asset created here seen by the v1 face.

use std::process::{Command, Stdio};

use assetlib::domain::Role;
use assetlib::http::volc::sign::{self, Signable};
use assetlib_test_support::opt_in;
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Origin, TestApp, media, spawn_app};

async fn access_key(app: &TestApp, tenant: &str) -> (String, String) {
    let created = app
        .server
        .as_ref()
        .expect("running")
        .state()
        .keys
        .create_access_key(tenant, Role::Tenant)
        .await
        .expect("an access key");
    (created.id, created.secret)
}

/// What a request is signed with, and what may be spoiled.
struct Signing<'a> {
    ak: &'a str,
    sk: &'a str,
    at: chrono::DateTime<Utc>,
    region: &'a str,
}

/// Sends `action` signed as the SDKs sign; `spoil` changes the headers after signing.
async fn send(
    app: &TestApp,
    signing: &Signing<'_>,
    action: &str,
    body: &Value,
    spoil: impl FnOnce(&mut Vec<(String, String)>, &mut Vec<u8>),
) -> (StatusCode, Value) {
    let host = app.base.trim_start_matches("http://").to_owned();
    let mut bytes = serde_json::to_vec(body).expect("json");
    let hash = sign::hex_sha256(&bytes);
    let x_date = signing.at.format("%Y%m%dT%H%M%SZ").to_string();
    let query = vec![
        ("Action".to_owned(), action.to_owned()),
        ("Version".to_owned(), "2024-01-01".to_owned()),
    ];
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("host".to_owned(), host),
        ("x-content-sha256".to_owned(), hash.clone()),
        ("x-date".to_owned(), x_date.clone()),
    ];
    let signature = sign::signature(
        signing.sk,
        &x_date,
        signing.region,
        "ark",
        &Signable {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            body_sha256: &hash,
        },
    );
    headers.push((
        "authorization".to_owned(),
        format!(
            "HMAC-SHA256 Credential={}/{}/{}/ark/request, SignedHeaders=content-type;host;x-content-sha256;x-date, Signature={signature}",
            signing.ak,
            &x_date[..8],
            signing.region
        ),
    ));
    spoil(&mut headers, &mut bytes);
    let mut request = app
        .client
        .post(format!("{}/?Action={action}&Version=2024-01-01", app.base))
        .body(bytes);
    for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
        request = request.header(name.as_str(), value.as_str());
    }
    app.send(request).await
}

fn error_code(answer: &Value) -> &str {
    answer["ResponseMetadata"]["Error"]["Code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_and_the_faces_share_their_assets() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let (ak, sk) = access_key(&app, "studio").await;
    let good = Signing {
        ak: &ak,
        sk: &sk,
        at: Utc::now(),
        region: "cn-beijing",
    };
    let body = json!({"Name": "Heroes"});
    let (status, created) = send(&app, &good, "CreateAssetGroup", &body, |_, _| {}).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let group = created["Result"]["Id"].as_str().expect("id").to_owned();
    assert_eq!(created["ResponseMetadata"]["Service"], "ark");

    // Refusals, each with its own code.
    let wrong_secret = Signing {
        sk: "not-the-secret",
        ..good
    };
    let (status, refused) = send(
        &app,
        &wrong_secret,
        "ListAssetGroups",
        &json!({}),
        |_, _| {},
    )
    .await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        "{refused}"
    );
    let unknown = Signing {
        ak: "AKLTnobody",
        ..good
    };
    let (status, refused) = send(&app, &unknown, "ListAssetGroups", &json!({}), |_, _| {}).await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::UNAUTHORIZED, "InvalidAccessKey"),
        "{refused}"
    );
    let stale = Signing {
        at: Utc::now() - Duration::minutes(16),
        ..good
    };
    let (_, refused) = send(&app, &stale, "ListAssetGroups", &json!({}), |_, _| {}).await;
    assert_eq!(error_code(&refused), "RequestExpired", "{refused}");
    let future = Signing {
        at: Utc::now() + Duration::minutes(5),
        ..good
    };
    let (_, refused) = send(&app, &future, "ListAssetGroups", &json!({}), |_, _| {}).await;
    assert_eq!(error_code(&refused), "InvalidTimestamp", "{refused}");
    let elsewhere = Signing {
        region: "cn-shanghai",
        ..good
    };
    let (_, refused) = send(&app, &elsewhere, "ListAssetGroups", &json!({}), |_, _| {}).await;
    assert_eq!(error_code(&refused), "InvalidCredential", "{refused}");
    let (status, refused) = send(&app, &good, "CreateAssetGroup", &body, |_, bytes| {
        *bytes = br#"{"Name":"Villains"}"#.to_vec();
    })
    .await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::BAD_REQUEST, "InvalidContentSha256"),
        "{refused}"
    );
    for missing in ["x-date", "x-content-sha256", "authorization"] {
        let (status, refused) = send(&app, &good, "ListAssetGroups", &json!({}), |headers, _| {
            headers.retain(|(n, _)| n != missing);
        })
        .await;
        assert!(status.is_client_error(), "{missing}: {refused}");
        assert!(
            ["MissingRequestInfo", "MissingAuthenticationToken"].contains(&error_code(&refused)),
            "{missing}: {refused}"
        );
    }
    let (_, refused) = send(&app, &good, "ListAssetGroups", &json!({}), |headers, _| {
        for (name, value) in headers.iter_mut() {
            if name == "x-date" {
                *value = (Utc::now() + Duration::seconds(2))
                    .format("%Y%m%dT%H%M%SZ")
                    .to_string();
            }
        }
    })
    .await;
    assert_eq!(
        error_code(&refused),
        "SignatureDoesNotMatch",
        "a changed signed header: {refused}"
    );
    let (status, refused) = send(&app, &good, "DescribeEverything", &json!({}), |_, _| {}).await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::NOT_FOUND, "InvalidActionOrVersion"),
        "{refused}"
    );

    // A bearer key works on this face too; one face's asset is the other's.
    let key = app.create_key("studio").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let (status, made) = app
        .send(
            app.client
                .post(format!(
                    "{}/?Action=CreateAsset&Version=2024-01-01",
                    app.base
                ))
                .bearer_auth(&key)
                .json(&json!({"GroupId": group, "URL": url, "AssetType": "Image", "Name": "one"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let id = made["Result"]["Id"].as_str().expect("id").to_owned();
    let detail = app.wait_settled(&key, &id).await;
    assert_eq!(detail["groupId"], json!(group), "{detail}");
    assert_eq!(detail["name"], "one");
    let (_, listed) = send(
        &app,
        &good,
        "ListAssets",
        &json!({"Filter": {"GroupIds": [group]}}),
        |_, _| {},
    )
    .await;
    assert_eq!(listed["Result"]["TotalCount"], 1, "{listed}");
    assert_eq!(listed["Result"]["Items"][0]["Status"], "Active", "{listed}");
    let other = app.create_key("elsewhere").await;
    let (status, _) = app.get(&other, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "never another tenant's");
}

#[test]
fn keys_create_volc_prints_an_access_key_pair() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().display().to_string();
    let (code, out) = crate::common::run(&[
        "keys",
        "create",
        "--tenant",
        "studio",
        "--volc",
        "--data-dir",
        &data,
    ]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let [.., id, secret] = lines.as_slice() else {
        panic!("two lines at the end: {out}");
    };
    assert!(id.starts_with("AccessKeyId: AKLT"), "{out}");
    assert!(secret.starts_with("SecretAccessKey: "), "{out}");
    assert!(secret.len() > "SecretAccessKey: ".len() + 30, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_volcengine_python_sdk_calls_every_action() {
    if !opt_in::python_module(
        "volcengine",
        "volcengine",
        "volc::the_volcengine_python_sdk_calls_every_action",
    ) {
        return;
    }
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let (ak, sk) = access_key(&app, "studio").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let script = format!("{}/tests/volc/client.py", env!("CARGO_MANIFEST_DIR"));
    let host = app.base.trim_start_matches("http://").to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .env("ASSETLIB_HOST", host)
            .env("ASSETLIB_AK", ak)
            .env("ASSETLIB_SK", sk)
            .env("ASSETLIB_IMAGE_URL", url)
            .env_remove("VOLC_ACCESSKEY")
            .env_remove("VOLC_SECRETKEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(summary["actions"].as_array().map(Vec::len), Some(10));
}

/// A signed request that creates, sent again as it is within its signature's window (a replay,
/// or an SDK's retry), is carried out once: every copy answers the first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_signed_create_makes_nothing_more() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let (ak, sk) = access_key(&app, "studio").await;
    let signing = Signing {
        ak: &ak,
        sk: &sk,
        at: Utc::now(),
        region: "cn-beijing",
    };
    let group_body = json!({"Name": "Replays"});
    let mut groups = Vec::new();
    for _ in 0..3 {
        let (status, created) =
            send(&app, &signing, "CreateAssetGroup", &group_body, |_, _| {}).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        groups.push(created["Result"]["Id"].as_str().expect("id").to_owned());
    }
    assert!(groups.iter().all(|g| *g == groups[0]), "{groups:?}");
    let url = origin.put("r.png", media::png(400, 400), "image/png");
    let body = json!({"GroupId": groups[0], "URL": url, "AssetType": "Image"});
    let mut assets = Vec::new();
    for _ in 0..4 {
        let (status, created) = send(&app, &signing, "CreateAsset", &body, |_, _| {}).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        assets.push(created["Result"]["Id"].as_str().expect("id").to_owned());
    }
    assert!(assets.iter().all(|a| *a == assets[0]), "{assets:?}");
    let key = app.create_key("studio").await;
    assert_eq!(app.all_asset_ids(&key).await, vec![assets[0].clone()]);
    // Signed a second later, the same body is a new request.
    let later = Signing {
        at: signing.at + Duration::seconds(1),
        ..signing
    };
    let (status, again) = send(&app, &later, "CreateAsset", &body, |_, _| {}).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_ne!(again["Result"]["Id"].as_str(), Some(assets[0].as_str()));
}

/// The same face at `/api/ark`, as some integrations call it, with a bearer key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_face_answers_at_api_ark_too() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;
    let call = |path: &str, action: &str, body: Value| {
        app.client
            .post(format!(
                "{}{path}?Action={action}&Version=2024-01-01",
                app.base
            ))
            .bearer_auth(&key)
            .json(&body)
    };
    let (status, created) = app
        .send(call("/api/ark", "CreateAssetGroup", json!({"Name": "Ark"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let group = created["Result"]["Id"].as_str().expect("id").to_owned();
    let (status, got) = app
        .send(call("/", "GetAssetGroup", json!({"Id": group})))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["Result"]["Name"], "Ark");
    let (status, listed) = app
        .send(call("/api/ark", "ListAssetGroups", json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["ResponseMetadata"]["Action"], "ListAssetGroups");
}
