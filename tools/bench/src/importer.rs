//! What the bench drives: the assetlib server it started (`server.rs`), or a peer already
//! running (pict-rs, Directus); one import, from the request until the file is usable.

use std::time::{Duration, Instant};

use serde_json::Value;

const KYY: &str = "/kyyReactApiServer/kyyVideo2/asset";

/// Which product imports the file.
#[derive(Debug, Clone)]
pub enum Kind {
    Assetlib { base: String, key: String },
    PictRs { base: String },
    Directus { base: String, token: String },
}

/// Times of one import, from the start of the import request.
#[derive(Debug, Clone, Copy)]
pub struct Imported {
    /// The import request was answered.
    pub answered: Duration,
    /// The file is usable (assetlib: `Active` seen on the details endpoint, asked with
    /// `?wait=60` so it answers the moment processing ends, not at the next poll; the peers answer
    /// only once the file is stored, so this equals `answered`).
    pub usable: Duration,
}

#[derive(Clone)]
pub struct Importer {
    pub kind: Kind,
    client: reqwest::Client,
}

impl Importer {
    pub fn new(kind: Kind) -> anyhow::Result<Self> {
        assetlib::fetch::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(64)
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Self { kind, client })
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Assetlib { .. } => "assetlib",
            Kind::PictRs { .. } => "pict-rs",
            Kind::Directus { .. } => "directus",
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `bytes` as a file (`PUT /v1/assets/{name}`, assetlib only) and waits until the
    /// asset is usable.
    pub async fn put_file(
        &self,
        bytes: axum::body::Bytes,
        name: &str,
        content_type: &str,
    ) -> Result<Imported, String> {
        self.put_file_as(bytes, name, content_type)
            .await
            .map(|(_, imported)| imported)
    }

    /// `put_file`, also answering the new asset's id.
    pub async fn put_file_as(
        &self,
        bytes: axum::body::Bytes,
        name: &str,
        content_type: &str,
    ) -> Result<(String, Imported), String> {
        let Kind::Assetlib { base, key } = &self.kind else {
            return Err(format!("{} takes no direct upload here", self.name()));
        };
        let start = Instant::now();
        let resp = self
            .client
            .put(format!("{base}/v1/assets/{name}"))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .map_err(|e| format!("upload: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("upload: {e}"))?;
        let answered = start.elapsed();
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let Some(id) = json["assetId"].as_str() else {
            return Err(format!("upload answered {status}: {json}"));
        };
        let imported = self.wait_usable(base, key, id, start, answered).await?;
        Ok((id.to_owned(), imported))
    }

    /// Waits on the details route until the asset has settled.
    async fn wait_usable(
        &self,
        base: &str,
        key: &str,
        id: &str,
        start: Instant,
        answered: Duration,
    ) -> Result<Imported, String> {
        loop {
            let resp = self
                .client
                .get(format!("{base}/v1/assets/{id}?wait=60"))
                .bearer_auth(key)
                .send()
                .await
                .map_err(|e| format!("details: {e}"))?;
            let bytes = resp.bytes().await.map_err(|e| format!("details: {e}"))?;
            let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            match json["status"].as_str() {
                // Settled: a photo with a face is held for review once checked.
                Some("Active" | "PendingReview") => {
                    return Ok(Imported {
                        answered,
                        usable: start.elapsed(),
                    });
                }
                Some("Processing") => {}
                _ => return Err(format!("{id} ended {json}")),
            }
        }
    }

    /// Imports `url` as `asset_type` ("Image", "Video") and waits until it is usable.
    pub async fn import(&self, url: &str, asset_type: &str) -> Result<Imported, String> {
        let start = Instant::now();
        match &self.kind {
            Kind::Assetlib { base, key } => {
                let body = serde_json::json!({"assetType": asset_type, "url": url});
                let resp = self
                    .client
                    .post(format!("{base}{KYY}/upload"))
                    .bearer_auth(key)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .map_err(|e| format!("upload: {e}"))?;
                let status = resp.status();
                let bytes = resp.bytes().await.map_err(|e| format!("upload: {e}"))?;
                let answered = start.elapsed();
                let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let Some(id) = json["data"]["assetId"].as_str() else {
                    return Err(format!("upload answered {status}: {json}"));
                };
                self.wait_usable(base, key, id, start, answered).await
            }
            Kind::PictRs { base } => {
                let resp = self
                    .client
                    .get(format!(
                        "{base}/image/download?url={}",
                        url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
                    ))
                    .send()
                    .await
                    .map_err(|e| format!("pict-rs: {e}"))?;
                let status = resp.status();
                let _ = resp.bytes().await;
                if status != reqwest::StatusCode::CREATED {
                    return Err(format!("pict-rs answered {status}"));
                }
                let took = start.elapsed();
                Ok(Imported {
                    answered: took,
                    usable: took,
                })
            }
            Kind::Directus { base, token } => {
                let resp = self
                    .client
                    .post(format!("{base}/files/import"))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(serde_json::json!({"url": url}).to_string())
                    .send()
                    .await
                    .map_err(|e| format!("directus: {e}"))?;
                let status = resp.status();
                let _ = resp.bytes().await;
                if !status.is_success() {
                    return Err(format!("directus answered {status}"));
                }
                let took = start.elapsed();
                Ok(Imported {
                    answered: took,
                    usable: took,
                })
            }
        }
    }
}
