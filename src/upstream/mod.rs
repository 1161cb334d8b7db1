//! The generation service behind the task gateway, as a port: the gateway use case talks to
//! `dyn UpstreamApi`, so it runs against a fake in tests and against `HttpUpstream` here.

mod http;

use async_trait::async_trait;
use serde_json::Value;

pub use http::HttpUpstream;

/// The upstream's answer, passed through as is.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamAnswer {
    pub status: u16,
    pub body: Value,
}

/// The upstream could not be reached or its answer could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(pub String);

#[async_trait]
pub trait UpstreamApi: Send + Sync {
    /// Submits a task (a JSON body) to `path` below the upstream's base URL.
    async fn submit(&self, path: &str, body: Vec<u8>) -> Result<UpstreamAnswer, UpstreamError>;
    /// Reads `{path}/{id}` (a task's status).
    async fn status(&self, path: &str, id: &str) -> Result<UpstreamAnswer, UpstreamError>;
}
