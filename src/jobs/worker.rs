use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::{JobError, JobHandler, backoff};
use crate::config::JobConfig;
use crate::repo::{Job, JobQueue};

/// Running workers; stop them with `shutdown`.
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    workers: Vec<(String, JoinHandle<()>)>,
    queue: Arc<dyn JobQueue>,
    grace: Duration,
}

impl WorkerPool {
    /// Stops claiming, lets running jobs finish within the shutdown grace period, then
    /// interrupts the rest and gives their jobs back to the queue, so another node takes them
    /// at once instead of after the lease expires. Returns how many jobs were given back.
    pub async fn shutdown(self) -> u64 {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + self.grace;
        let mut released = 0;
        for (id, mut handle) in self.workers {
            if tokio::time::timeout_at(deadline, &mut handle).await.is_ok() {
                continue;
            }
            handle.abort();
            let _ = handle.await;
            match self.queue.release_leases(&id).await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(worker = %id, jobs = n, "unfinished job handed back to the queue");
                    }
                    released += n;
                }
                Err(e) => {
                    tracing::warn!(worker = %id, error = %e, "could not hand a job back; its lease will expire");
                }
            }
        }
        released
    }
}

struct Worker {
    id: String,
    queue: Arc<dyn JobQueue>,
    handler: Arc<dyn JobHandler>,
    config: JobConfig,
    wake: Arc<Notify>,
    stop: watch::Receiver<bool>,
}

/// Starts `config.workers` workers named `{node}-{n}`.
pub fn spawn_workers(
    node: &str,
    queue: Arc<dyn JobQueue>,
    handler: Arc<dyn JobHandler>,
    config: &JobConfig,
    wake: Arc<Notify>,
) -> WorkerPool {
    let (stop, stop_rx) = watch::channel(false);
    let workers = (0..config.workers)
        .map(|n| {
            let id = format!("{node}-{n}");
            let worker = Worker {
                id: id.clone(),
                queue: Arc::clone(&queue),
                handler: Arc::clone(&handler),
                config: config.clone(),
                wake: Arc::clone(&wake),
                stop: stop_rx.clone(),
            };
            (id, tokio::spawn(worker.run()))
        })
        .collect();
    WorkerPool {
        stop,
        workers,
        queue,
        grace: config.shutdown_grace,
    }
}

impl Worker {
    /// Stopped explicitly, or the pool was dropped.
    fn stopping(&self) -> bool {
        *self.stop.borrow() || self.stop.has_changed().is_err()
    }

    async fn run(mut self) {
        while !self.stopping() {
            match self.queue.claim_job(&self.id, self.config.lease).await {
                Ok(Some(job)) => {
                    // Every line the job logs carries the request that created it.
                    let span = tracing::info_span!(
                        "job",
                        job = job.id,
                        kind = %job.kind,
                        asset = %job.asset_id,
                        request_id = job.request_id.as_deref().unwrap_or("")
                    );
                    tracing::Instrument::instrument(self.execute(job), span).await;
                }
                Ok(None) => self.idle().await,
                Err(e) => {
                    tracing::warn!(worker = %self.id, error = %e, "claiming a job failed");
                    self.idle().await;
                }
            }
        }
    }

    async fn idle(&mut self) {
        tokio::select! {
            () = self.wake.notified() => {}
            () = tokio::time::sleep(self.config.poll_interval) => {}
            _ = self.stop.changed() => {}
        }
    }

    async fn execute(&self, job: Job) {
        if job.attempts > job.max_attempts {
            let reason = job
                .last_error
                .clone()
                .unwrap_or_else(|| "processing was interrupted too many times".to_owned());
            self.finish_failed(&job, &reason).await;
            return;
        }
        let outcome = {
            let run = self.handler.run(&job);
            tokio::pin!(run);
            let beat = self.heartbeat(job.id);
            tokio::pin!(beat);
            tokio::select! {
                outcome = &mut run => outcome,
                () = &mut beat => run.await,
            }
        };
        match outcome {
            Ok(()) => {
                tracing::info!(worker = %self.id, job = job.id, asset = %job.asset_id,
                    attempt = job.attempts, "job finished");
                self.complete(&job).await;
            }
            Err(JobError::Abort(reason)) => self.finish_failed(&job, &reason).await,
            Err(JobError::Retry(reason)) if job.attempts >= job.max_attempts => {
                self.finish_failed(&job, &reason).await;
            }
            Err(JobError::Retry(reason)) => {
                crate::metrics::METRICS.jobs_retried.inc();
                let delay = backoff(self.config.backoff_base, job.attempts);
                let run_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                tracing::warn!(worker = %self.id, job = job.id, asset = %job.asset_id,
                    attempt = job.attempts, retry_in = ?delay, reason = %reason, "job will be retried");
                if let Err(e) = self
                    .queue
                    .retry_job(job.id, &self.id, run_at, &reason)
                    .await
                {
                    tracing::error!(job = job.id, error = %e, "could not reschedule the job; its lease will expire");
                }
            }
        }
    }

    /// Renews the lease until dropped; returns only if the lease was lost.
    async fn heartbeat(&self, job_id: i64) {
        let every = (self.config.lease / 3).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            match self
                .queue
                .heartbeat_job(job_id, &self.id, self.config.lease)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(worker = %self.id, job = job_id, "lease lost; another worker may run this job");
                    return;
                }
                Err(e) => {
                    tracing::warn!(worker = %self.id, job = job_id, error = %e, "heartbeat failed")
                }
            }
        }
    }

    async fn finish_failed(&self, job: &Job, reason: &str) {
        tracing::warn!(worker = %self.id, job = job.id, asset = %job.asset_id, reason = %reason, "giving up on job");
        crate::metrics::METRICS.jobs_given_up.inc();
        self.handler.give_up(job, reason).await;
        self.complete(job).await;
    }

    async fn complete(&self, job: &Job) {
        if let Err(e) = self.queue.complete_job(job.id, &self.id).await {
            tracing::error!(job = job.id, error = %e, "could not remove a finished job; it will run again");
        }
    }
}
