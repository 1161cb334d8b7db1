//! The loop's HTTP client: uploads through either face, and the checks on assets.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What came of one upload.
#[derive(Debug)]
pub(super) enum Upload {
    /// The server answered with the new asset's id: from now on the asset must exist.
    Acked(String),
    /// The server answered with an error status (e.g. 429 under load).
    Refused(u16),
    /// No answer: the server was killed first (or was not up yet).
    NoAnswer,
}

#[derive(Debug, Clone)]
pub(super) struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    pub(super) fn new(http: &reqwest::Client, base: &str, key: &str) -> Self {
        Self {
            http: http.clone(),
            base: base.to_owned(),
            key: key.to_owned(),
        }
    }

    /// Through the native face (`POST /v1/assets`) or the kyy face.
    pub(super) async fn upload(&self, v1: bool, asset_type: &str, url: &str) -> Upload {
        let (path, body) = if v1 {
            ("/v1/assets", json!({"assetType": asset_type, "url": url}))
        } else {
            (
                "/kyyReactApiServer/kyyVideo2/asset/upload",
                json!({"assetType": asset_type, "url": url, "name": "crash loop"}),
            )
        };
        let sent = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        let Ok(resp) = sent else {
            return Upload::NoAnswer;
        };
        let status = resp.status();
        let Ok(bytes) = resp.bytes().await else {
            return Upload::NoAnswer;
        };
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let id = if v1 {
            &body["assetId"]
        } else {
            &body["data"]["assetId"]
        };
        match id.as_str() {
            Some(id) if status.is_success() => Upload::Acked(id.to_owned()),
            _ => Upload::Refused(status.as_u16()),
        }
    }

    /// The asset's status and failure code; `None` when it is not there.
    pub(super) async fn state(&self, id: &str) -> Option<(String, Option<String>)> {
        let resp = self
            .http
            .get(format!("{}/v1/assets/{id}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let body: Value = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
        let status = body["status"].as_str()?.to_owned();
        let code = body["failure"]["code"].as_str().map(str::to_owned);
        Some((status, code))
    }

    /// The asset's status and failure code once it leaves `Processing`; `None` if it has not
    /// by `deadline`.
    pub(super) async fn settled(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Option<(String, Option<String>)> {
        loop {
            match self.state(id).await {
                Some(s) if s.0 != "Processing" => return Some(s),
                _ if Instant::now() >= deadline => return None,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}
