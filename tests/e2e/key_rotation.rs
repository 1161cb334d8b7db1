//! Key rotation without downtime (docs/OPERATIONS.md, Rotating an API key), with the CLI on the
//! data directory of a running server: create a second key, both work, revoke the first, it is
//! refused (401) from then on while the second carries on.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::common::{client, run, serve};

/// The ids `assetlib keys list` shows.
fn key_ids(data: &str) -> Vec<String> {
    let (code, out) = run(&["keys", "list", "--data-dir", data]);
    assert_eq!(code, 0, "{out}");
    out.lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// `assetlib keys create`: (id, secret) — the secret alone on stdout, the id the one new in
/// `keys list`.
fn create_key(data: &str, tenant: &str) -> (String, String) {
    let before = key_ids(data);
    let (code, out) = run(&["keys", "create", "--tenant", tenant, "--data-dir", data]);
    assert_eq!(code, 0, "{out}");
    let secret = out.lines().last().expect("the secret").trim().to_owned();
    let id = key_ids(data)
        .into_iter()
        .find(|id| !before.contains(id))
        .unwrap_or_else(|| panic!("no new key in the list after creating one"));
    (id, secret)
}

async fn status(http: &reqwest::Client, base: &str, key: &str) -> StatusCode {
    http.get(format!("{base}/v1/assets"))
        .bearer_auth(key)
        .send()
        .await
        .expect("list")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_rotated_while_the_server_runs() {
    let dir = tempfile::tempdir().expect("data dir");
    let data = dir.path().display().to_string();
    let node = serve(dir.path(), &[], "warn");
    let http = client();
    let (old_id, old) = create_key(&data, "studio");
    assert_eq!(status(&http, &node.base, &old).await, StatusCode::OK);

    // 1. A new key for the same tenant: both work, on the same assets.
    let (new_id, new) = create_key(&data, "studio");
    assert_ne!(old_id, new_id);
    let resp = http
        .put(format!(
            "{}/v1/assets/notes.txt?assetType=Document",
            node.base
        ))
        .bearer_auth(&old)
        .header("Content-Type", "text/plain")
        .body("rotated keys share the tenant's assets\n")
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let id = resp.json::<serde_json::Value>().await.expect("JSON")["assetId"]
        .as_str()
        .expect("id")
        .to_owned();
    let seen = http
        .get(format!("{}/v1/assets/{id}", node.base))
        .bearer_auth(&new)
        .send()
        .await
        .expect("detail");
    assert_eq!(seen.status(), StatusCode::OK, "the new key sees the asset");

    // 2. The clients switch; 3. the old key is revoked.
    let (code, out) = run(&["keys", "revoke", &old_id, "--data-dir", &data]);
    assert_eq!(code, 0, "{out}");
    let (_, listed) = run(&["keys", "list", "--data-dir", &data]);
    let old_line = listed
        .lines()
        .find(|l| l.starts_with(&old_id))
        .expect("the old key listed");
    assert!(!old_line.trim_end().ends_with('-'), "revoked: {old_line}");

    // Every node drops a revoked key from its cache within KEY_CACHE_TTL.
    let deadline = Instant::now() + assetlib::service::KEY_CACHE_TTL + Duration::from_secs(10);
    loop {
        assert_eq!(status(&http, &node.base, &new).await, StatusCode::OK);
        if status(&http, &node.base, &old).await == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked key still works");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status(&http, &node.base, &new).await, StatusCode::OK);
}
