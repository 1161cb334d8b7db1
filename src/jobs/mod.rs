//! The durable job queue's workers: claim with a lease, heartbeat while working, retry
//! with exponential backoff, give up with the last reason.

mod registry;
mod worker;

use std::time::Duration;

use async_trait::async_trait;

use crate::repo::Job;

pub use registry::JobRegistry;
pub use worker::{WorkerPool, spawn_workers};

/// Probe, check and moderate a newly registered asset (`service::ProcessingService`).
pub const PROCESS_ASSET: &str = "process-asset";

/// How a job attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Transient (storage or database hiccup): try again later.
    Retry(String),
    /// Permanent: give up now.
    Abort(String),
}

/// Runs jobs of the kinds it knows.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, job: &Job) -> Result<(), JobError>;
    /// Called once when the job will not be tried again.
    async fn give_up(&self, job: &Job, reason: &str);
}

/// Delay before attempt `attempt + 1`: `base · 2^(attempt−1)`, at most five minutes.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(Duration::from_secs(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_secs(1);
        assert_eq!(backoff(base, 1), Duration::from_secs(1));
        assert_eq!(backoff(base, 2), Duration::from_secs(2));
        assert_eq!(backoff(base, 4), Duration::from_secs(8));
        assert_eq!(backoff(base, 30), Duration::from_secs(300));
    }
}
