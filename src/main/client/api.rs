//! The v1 API as the client calls it: bearer key, JSON, the server's error sentence on failure.

use std::time::Duration;

use anyhow::anyhow;
use serde_json::Value;

use super::session::Login;

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub login: Login,
}

/// A refusal, with the server's stable code and sentence.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// The whole answer (`error.violations` of a resolve, say).
    pub body: Value,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, HTTP {})", self.message, self.code, self.status)
    }
}

impl std::error::Error for Refused {}

impl Api {
    pub fn new(login: Login) -> anyhow::Result<Self> {
        assetlib::fetch::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("assetlib-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http, login })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.login.server)
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.login.key)
    }

    /// Sends and reads a JSON answer (`Null` for an empty one); a refusal becomes `Refused`, a
    /// failure to reach the server a `network error` naming the URL.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request.send().await.map_err(network_error)?;
        let status = response.status();
        let text = response.text().await.map_err(network_error)?;
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                anyhow!("HTTP {status}: the server answered something other than JSON")
            })?
        };
        if !status.is_success() {
            return Err(Refused {
                status: status.as_u16(),
                code: body["error"]["code"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_owned(),
                message: body["error"]["message"]
                    .as_str()
                    .unwrap_or("no reason given")
                    .to_owned(),
                body,
            }
            .into());
        }
        Ok(body)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body)?);
        self.send(request).await
    }

    /// The asset once it has left Processing (long-polling `?wait=30`).
    pub async fn settled(&self, id: &str) -> anyhow::Result<Value> {
        loop {
            let asset = self
                .get(&format!("/v1/assets/{}?wait=30", encode(id)))
                .await?;
            if asset["status"] != "Processing" {
                return Ok(asset);
            }
        }
    }
}

/// A request that did not get an answer: said as a network failure, with the URL it was for and
/// the innermost cause (`Connection refused`, `dns error`, a timeout), never as a refusal.
pub fn network_error(e: reqwest::Error) -> anyhow::Error {
    let url = e
        .url()
        .map_or_else(|| "the server".to_owned(), ToString::to_string);
    let mut cause: &dyn std::error::Error = &e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        cause.to_string()
    };
    anyhow!("network error: could not reach {url} ({what})")
}

/// A path segment, percent-encoded.
pub fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
