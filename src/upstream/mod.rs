//! The generation service behind the task gateway, as a port: the gateway use case talks to
//! `dyn UpstreamApi`, so it runs against a fake in tests and against `HttpUpstream` here.

mod http;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

pub use http::HttpUpstream;

/// The upstream's answer as it came: status, content type and body bytes, passed through
/// unchanged. The gateway only reads it (`json`) for the task id and status.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl UpstreamAnswer {
    /// An answer with a JSON body (`application/json`), as fakes write one.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            content_type: Some("application/json".to_owned()),
            body: Bytes::from(body.to_string()),
        }
    }

    /// The body read as JSON, if it is JSON the reader accepts (an answer nested deeper than
    /// serde_json's limit reads as none: its bytes still pass through).
    pub fn parsed(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The upstream could not be reached or its answer could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(pub String);

#[async_trait]
pub trait UpstreamApi: Send + Sync {
    /// Submits a task (a JSON body, sent as is) to `path` below the upstream's base URL.
    async fn submit(&self, path: &str, body: Vec<u8>) -> Result<UpstreamAnswer, UpstreamError>;
    /// Reads `{path}/{id}` (a task's status).
    async fn status(&self, path: &str, id: &str) -> Result<UpstreamAnswer, UpstreamError>;
}
