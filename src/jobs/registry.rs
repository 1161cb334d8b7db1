//! Job kinds and their handlers: the worker loop runs any job through the registry, which
//! hands it to the handler of its kind.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{JobError, JobHandler};
use crate::repo::Job;

/// Handlers by job kind; itself a handler that dispatches on `Job::kind`.
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl JobRegistry {
    /// Registers the handler of `kind` (a later one replaces an earlier one).
    pub fn with(mut self, kind: &'static str, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(kind, handler);
        self
    }

    fn handler(&self, job: &Job) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(job.kind.as_str())
    }
}

#[async_trait]
impl JobHandler for JobRegistry {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        match self.handler(job) {
            Some(handler) => handler.run(job).await,
            // A job of a kind this version does not know (written by a newer node, say).
            None => Err(JobError::Abort(format!(
                "no handler for job kind '{}' on this node",
                job.kind
            ))),
        }
    }

    async fn give_up(&self, job: &Job, reason: &str) {
        match self.handler(job) {
            Some(handler) => handler.give_up(job, reason).await,
            None => {
                tracing::warn!(job = job.id, kind = %job.kind, %reason, "job of an unknown kind dropped")
            }
        }
    }
}
