//! A tus upload started and sent in parts, for the tests that leave one half sent.

use reqwest::StatusCode;

/// Starts a tus upload of a `length`-byte document; its location (a path on the node).
pub async fn start(http: &reqwest::Client, base: &str, key: &str, length: usize) -> String {
    let created = http
        .post(format!("{base}/v1/uploads/tus"))
        .bearer_auth(key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", "assetType RG9jdW1lbnQ=")
        .send()
        .await
        .expect("tus create");
    assert_eq!(created.status(), StatusCode::CREATED);
    created.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// Sends `bytes` at `offset` of the upload at `location` to the node at `base`.
pub async fn send(
    http: &reqwest::Client,
    base: &str,
    location: &str,
    key: &str,
    offset: usize,
    bytes: &[u8],
) -> reqwest::Response {
    http.patch(format!("{base}{location}"))
        .bearer_auth(key)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .expect("patch")
}
