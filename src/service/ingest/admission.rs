//! Admission of uploads under load: a cap on the uploads one tenant has being fetched at once
//! (on this node), and a cap on the depth of the processing queue (all nodes). Past either,
//! an upload is refused at once with 429 and `Retry-After`, so the work already accepted stays
//! fast and one tenant cannot take every fetch slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::AdmissionConfig;
use crate::domain::codes;
use crate::repo::JobQueue;
use crate::service::ServiceError;

/// How long a read of the queue depth is trusted before it is read again.
const DEPTH_FRESH_FOR: Duration = Duration::from_millis(250);
/// What a client refused for its tenant's fetches is told to wait.
const RETRY_FETCHES_AFTER: Duration = Duration::from_secs(1);
/// What a client refused for the queue's depth is told to wait.
const RETRY_QUEUE_AFTER: Duration = Duration::from_secs(5);

/// The admission state of this node.
pub struct Admission {
    config: AdmissionConfig,
    queue: Arc<dyn JobQueue>,
    fetching: Arc<Mutex<HashMap<String, usize>>>,
    /// The last queue depth read, and when.
    depth: Mutex<Option<(Instant, u64)>>,
}

/// One of a tenant's fetch slots, given back when dropped (the upload answered or was cut).
pub struct FetchSlot {
    tenant: String,
    fetching: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for FetchSlot {
    fn drop(&mut self) {
        let mut fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = fetching.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                fetching.remove(&self.tenant);
            }
        }
    }
}

impl Admission {
    pub fn new(config: AdmissionConfig, queue: Arc<dyn JobQueue>) -> Self {
        Self {
            config,
            queue,
            fetching: Arc::default(),
            depth: Mutex::new(None),
        }
    }

    /// Admits one more upload of `tenant`, or refuses it: the queue is too deep, or the tenant
    /// already has its share of fetches in flight.
    pub async fn admit(&self, tenant: &str) -> Result<FetchSlot, ServiceError> {
        let depth = self.queue_depth().await?;
        if depth >= self.config.max_queued_jobs {
            tracing::warn!(depth, "upload refused: the processing queue is full");
            return Err(ServiceError::busy(
                &codes::QUEUE_FULL,
                format!(
                    "{depth} uploads are waiting for processing, the most this server queues; \
                     retry in a few seconds"
                ),
                RETRY_QUEUE_AFTER,
            ));
        }
        let mut fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        let n = fetching.entry(tenant.to_owned()).or_insert(0);
        if *n >= self.config.max_fetches_per_tenant {
            let max = self.config.max_fetches_per_tenant;
            return Err(ServiceError::busy(
                &codes::TOO_MANY_UPLOADS,
                format!(
                    "this tenant already has {max} uploads being fetched, the most at once; \
                     retry when one has answered"
                ),
                RETRY_FETCHES_AFTER,
            ));
        }
        *n += 1;
        Ok(FetchSlot {
            tenant: tenant.to_owned(),
            fetching: Arc::clone(&self.fetching),
        })
    }

    /// Jobs waiting or running, read at most every `DEPTH_FRESH_FOR`.
    async fn queue_depth(&self) -> Result<u64, ServiceError> {
        let cached = *self.depth.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, depth)) = cached
            && at.elapsed() < DEPTH_FRESH_FOR
        {
            return Ok(depth);
        }
        let depth = self
            .queue
            .count_jobs()
            .await
            .map_err(|e| ServiceError::internal("reading the queue depth", e))?;
        *self.depth.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), depth));
        Ok(depth)
    }
}
