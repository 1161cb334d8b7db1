//! The task gateway: a generation task is resolved (every `asset://` checked and signed), then
//! forwarded to the configured upstream with the upstream's key; the task id and the assets it
//! references are recorded so they cannot be deleted while it runs.

use std::time::Duration;

use serde_json::Value;

use super::{AssetService, ContentSigner, ErrorKind, ResolveViolation, Resolved, ServiceError};
use crate::config::Upstream;
use crate::domain::Caller;

/// Statuses after which a task no longer needs its assets.
const TERMINAL: [&str; 7] = [
    "completed",
    "succeeded",
    "success",
    "failed",
    "cancelled",
    "canceled",
    "expired",
];

/// The upstream's answer, passed through as is.
#[derive(Debug)]
pub struct UpstreamAnswer {
    pub status: u16,
    pub body: Value,
}

/// What a gateway call produced.
#[derive(Debug)]
pub enum GatewayOutcome {
    Forwarded(UpstreamAnswer),
    Invalid(Vec<ResolveViolation>),
}

/// Talks to the upstream generation endpoint.
#[derive(Clone)]
pub struct Gateway {
    upstream: Upstream,
    client: reqwest::Client,
}

fn upstream_error(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::client(
        ErrorKind::UpstreamError,
        format!("the generation service could not be reached: {e}"),
    )
}

impl Gateway {
    pub fn new(upstream: Upstream) -> Result<Self, ServiceError> {
        crate::fetch::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| ServiceError::internal("building the upstream client", e))?;
        Ok(Self { upstream, client })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.upstream.url.trim_end_matches('/'))
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<UpstreamAnswer, ServiceError> {
        let response = request
            .bearer_auth(&self.upstream.key)
            .send()
            .await
            .map_err(upstream_error)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(upstream_error)?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(UpstreamAnswer { status, body })
    }
}

fn is_terminal(body: &Value) -> Option<(String, bool)> {
    let status = body.get("status")?.as_str()?.to_owned();
    let finished = TERMINAL.contains(&status.to_ascii_lowercase().as_str());
    Some((status, finished))
}

impl AssetService {
    /// Resolves and forwards a task; records the task and its assets when the upstream names it.
    pub async fn submit_task(
        &self,
        caller: &Caller,
        gateway: &Gateway,
        signer: &ContentSigner,
        task: Value,
    ) -> Result<GatewayOutcome, ServiceError> {
        let (rewritten, referenced) = match self.resolve(caller, task, signer).await? {
            Resolved::Task { task, assets } => (task, assets),
            Resolved::Invalid(v) => return Ok(GatewayOutcome::Invalid(v)),
        };
        let body = serde_json::to_vec(&rewritten)
            .map_err(|e| ServiceError::internal("encoding a task", e))?;
        let request = gateway
            .client
            .post(gateway.url("/v1/kyyvideo2/videos"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let answer = gateway.call(request).await?;
        if let Some(id) = answer.body.get("id").and_then(Value::as_str) {
            let referenced_ids: Vec<String> = referenced.iter().map(ToString::to_string).collect();
            let (status, finished) =
                is_terminal(&answer.body).unwrap_or(("submitted".to_owned(), false));
            self.repo
                .record_task(id, &caller.tenant, &status, finished, &referenced_ids)
                .await
                .map_err(|e| ServiceError::internal("recording a task", e))?;
            tracing::info!(task = id, tenant = %caller.tenant, assets = referenced.len(), "task forwarded");
        }
        Ok(GatewayOutcome::Forwarded(answer))
    }

    /// Passes a task's status through, recording terminal states.
    pub async fn task_status(
        &self,
        caller: &Caller,
        gateway: &Gateway,
        path: &str,
        id: &str,
    ) -> Result<UpstreamAnswer, ServiceError> {
        let answer = gateway
            .call(gateway.client.get(gateway.url(&format!("{path}/{id}"))))
            .await?;
        if let Some((status, finished)) = is_terminal(&answer.body) {
            self.repo
                .update_task(&caller.tenant, id, &status, finished)
                .await
                .map_err(|e| ServiceError::internal("recording a task status", e))?;
        }
        Ok(answer)
    }
}
