//! `UpstreamApi` over HTTP: the upstream's base URL and key from the configuration.

use std::time::Duration;

use super::{UpstreamAnswer, UpstreamApi, UpstreamError};
use crate::config::UpstreamConfig;
use async_trait::async_trait;

/// Talks to the upstream generation endpoint with its own key (never the caller's).
pub struct HttpUpstream {
    config: UpstreamConfig,
    client: reqwest::Client,
}

impl HttpUpstream {
    pub fn new(config: UpstreamConfig) -> Result<Self, UpstreamError> {
        crate::fetch::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| UpstreamError(format!("building the upstream client: {e}")))?;
        Ok(Self { config, client })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.url.trim_end_matches('/'))
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<UpstreamAnswer, UpstreamError> {
        let unreachable = |e: reqwest::Error| UpstreamError(e.to_string());
        let response = request
            .bearer_auth(&self.config.key)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(unreachable)?;
        Ok(UpstreamAnswer {
            status,
            content_type,
            body,
        })
    }
}

#[async_trait]
impl UpstreamApi for HttpUpstream {
    async fn submit(&self, path: &str, body: Vec<u8>) -> Result<UpstreamAnswer, UpstreamError> {
        let request = self
            .client
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        self.call(request).await
    }

    async fn status(&self, path: &str, id: &str) -> Result<UpstreamAnswer, UpstreamError> {
        self.call(self.client.get(self.url(&format!("{path}/{id}"))))
            .await
    }
}
