//! The task gateway: a generation task is resolved (every `asset://` checked and signed), then
//! forwarded to the upstream generation service at its family's path (`families`); the task id
//! and the assets it references are recorded so they cannot be deleted while it runs.

mod families;

pub use families::{MAX_TASK_BODY_BYTES, RESULT_PATH, TASK_FAMILIES, TaskFamily, TaskShape};

use std::sync::Arc;

use serde_json::Value;

use super::{DeliveryService, ResolveViolation, ResolvedBytes, ServiceError};
use crate::domain::Caller;
use crate::domain::codes;
use crate::repo::TaskRepo;
use crate::upstream::{UpstreamAnswer, UpstreamApi, UpstreamError};
use families::task_status;

/// Statuses after which a task no longer needs its assets.
const TERMINAL: [&str; 8] = [
    "completed",
    "succeeded",
    "success",
    "failed",
    "failure",
    "cancelled",
    "canceled",
    "expired",
];

/// What a gateway call produced.
#[derive(Debug)]
pub enum GatewayOutcome {
    Forwarded(UpstreamAnswer),
    Invalid(Vec<ResolveViolation>),
}

/// Forwards tasks to the upstream and keeps track of the assets they use.
#[derive(Clone)]
pub struct GatewayService {
    upstream: Arc<dyn UpstreamApi>,
    tasks: Arc<dyn TaskRepo>,
    /// Resolves the task's references before it is forwarded.
    delivery: DeliveryService,
}

fn upstream_error(e: UpstreamError) -> ServiceError {
    ServiceError::upstream(format!("the generation service could not be reached: {e}"))
}

fn is_terminal(body: &Value) -> Option<(String, bool)> {
    let status = task_status(body)?;
    let finished = TERMINAL.contains(&status.to_ascii_lowercase().as_str());
    Some((status, finished))
}

impl GatewayService {
    pub fn new(
        upstream: Arc<dyn UpstreamApi>,
        tasks: Arc<dyn TaskRepo>,
        delivery: DeliveryService,
    ) -> Self {
        Self {
            upstream,
            tasks,
            delivery,
        }
    }

    /// Resolves a task of `family` and forwards it to the family's upstream path: the caller's
    /// bytes with only the `asset://` strings replaced. Records the task and its assets when
    /// the upstream's answer names it where the family says; the answer itself is returned as
    /// it came.
    pub async fn submit_task(
        &self,
        caller: &Caller,
        family: &TaskFamily,
        task: &[u8],
    ) -> Result<GatewayOutcome, ServiceError> {
        let resolved = self
            .delivery
            .resolve_bytes(caller, task, family.reference_arrays)
            .await?;
        let (body, referenced) = match resolved {
            ResolvedBytes::Task { body, assets } => (body, assets),
            ResolvedBytes::Invalid(v) => return Ok(GatewayOutcome::Invalid(v)),
        };
        let answer = self
            .upstream
            .submit(family.upstream_path, body)
            .await
            .map_err(upstream_error)?;
        let read = answer.parsed().unwrap_or(Value::Null);
        if let Some(id) = family.task_id(&read) {
            let id = id.as_str();
            let referenced_ids: Vec<String> = referenced.iter().map(ToString::to_string).collect();
            let (status, finished) = is_terminal(&read).unwrap_or(("submitted".to_owned(), false));
            let recorded = self
                .tasks
                .record_task(id, &caller.tenant, &status, finished, &referenced_ids)
                .await
                .map_err(|e| ServiceError::internal("recording a task", e))?;
            if recorded {
                tracing::info!(task = id, family = family.name, tenant = %caller.tenant, assets = referenced.len(), "task forwarded");
            } else {
                // The caller cannot read or take over the other tenant's task by this id.
                tracing::warn!(task = id, tenant = %caller.tenant, "the upstream named a task id another tenant has; not recorded");
            }
        }
        Ok(GatewayOutcome::Forwarded(answer))
    }

    /// Passes a task's status through (read at `{path}/{id}` upstream), recording terminal
    /// states. Only tasks the caller's tenant submitted through this server are read: any
    /// other id answers `not-found`, exactly like one nobody submitted, and is not forwarded.
    pub async fn task_status(
        &self,
        caller: &Caller,
        path: &str,
        id: &str,
    ) -> Result<UpstreamAnswer, ServiceError> {
        let owned = self
            .tasks
            .has_task(&caller.tenant, id)
            .await
            .map_err(|e| ServiceError::internal("reading a task", e))?;
        if !owned {
            return Err(ServiceError::client(&codes::NOT_FOUND, "task not found"));
        }
        let answer = self
            .upstream
            .status(path, id)
            .await
            .map_err(upstream_error)?;
        if let Some((status, finished)) = answer.parsed().as_ref().and_then(is_terminal) {
            self.tasks
                .update_task(&caller.tenant, id, &status, finished)
                .await
                .map_err(|e| ServiceError::internal("recording a task status", e))?;
        }
        Ok(answer)
    }
}
