//! The dispatcher: claims due deliveries, signs them, sends them through `WebhookSender` and
//! records each attempt (retried with backoff, then given up).
//!
//! Sends do not wait for each other. Each endpoint with claimed deliveries gets a task of its
//! own that sends them one after another (one send in flight per endpoint on this node), at
//! most `concurrency` such tasks at once; the loop keeps claiming while they run, for the
//! endpoints it is not sending to already and as many as there are free places. An endpoint
//! that never answers holds one place until its send times out, and delays only its own
//! deliveries. Leases keep nodes apart: a delivery is claimed by one node at a time, and an
//! attempt is recorded only by the lease holder.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::WebhookService;
use crate::domain::{Delivery, DeliveryState, retry_delay, rfc3339_millis, sign};
use crate::repo::DeliveryAttempt;
use crate::service::ServiceError;

/// How often an idle dispatcher looks for due deliveries (they are written by the database,
/// on any node).
const POLL: Duration = Duration::from_millis(500);

/// The JSON a receiver gets: `{"id", "type", "timestamp", "data"}`.
fn payload(delivery: &Delivery) -> Value {
    let data = if delivery.event_type.starts_with("task.") {
        json!({"taskId": delivery.subject_id, "status": delivery.status})
    } else {
        let failure = delivery.failure_code.as_ref().map(|code| {
            json!({"code": code, "message": delivery.failure_message.clone().unwrap_or_default()})
        });
        json!({"assetId": delivery.subject_id, "status": delivery.status, "failure": failure})
    };
    json!({
        "id": delivery.event_id,
        "type": delivery.event_type,
        "timestamp": rfc3339_millis(delivery.occurred_at),
        "data": data,
    })
}

/// The endpoints this node is sending to.
type Busy = Arc<Mutex<HashSet<String>>>;

/// Marks an endpoint busy for as long as its task lives (also when it is aborted).
struct BusyGuard {
    busy: Busy,
    endpoint: String,
}

impl BusyGuard {
    fn take(busy: &Busy, endpoint: String) -> Self {
        busy.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(endpoint.clone());
        Self {
            busy: Arc::clone(busy),
            endpoint,
        }
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.endpoint);
    }
}

impl WebhookService {
    /// Runs the dispatcher until `stop` turns true (or its sender is gone); then lets the sends
    /// under way finish. Whoever awaits it may cut them after a grace (dropping this future
    /// aborts them): a cut delivery is sent again once its lease ends.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut sends = JoinSet::new();
        let busy = Busy::default();
        loop {
            while let Some(done) = sends.try_join_next() {
                log_panic(done);
            }
            let rest = match self.claim_round(&mut sends, &busy).await {
                Ok(0) => POLL,
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook dispatch failed");
                    POLL * 4
                }
            };
            tokio::select! {
                () = tokio::time::sleep(rest) => {}
                // A place freed: claim again at once.
                Some(done) = sends.join_next(), if !sends.is_empty() => log_panic(done),
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
        }
        while let Some(done) = sends.join_next().await {
            log_panic(done);
        }
    }

    /// Claims due deliveries for the free places, leaving out the endpoints being sent to, and
    /// starts a task per endpoint; how many deliveries it claimed.
    async fn claim_round(
        &self,
        sends: &mut JoinSet<()>,
        busy: &Busy,
    ) -> Result<usize, ServiceError> {
        let free = self.settings.concurrency.saturating_sub(sends.len());
        if free == 0 {
            return Ok(0);
        }
        let skip: Vec<String> = busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
        // At most `free` rows, so at most `free` endpoints (each gets one place).
        let due = self
            .repo
            .claim_deliveries_except(
                &self.settings.worker,
                Utc::now(),
                self.settings.lease,
                u32::try_from(free).unwrap_or(u32::MAX),
                &skip,
            )
            .await
            .map_err(|e| ServiceError::internal("claiming webhook deliveries", e))?;
        let n = due.len();
        let mut by_endpoint: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
        for delivery in due {
            by_endpoint
                .entry(delivery.webhook_id.clone())
                .or_default()
                .push(delivery);
        }
        for (endpoint, deliveries) in by_endpoint {
            let guard = BusyGuard::take(busy, endpoint);
            let service = self.clone();
            sends.spawn(async move {
                let _guard = guard;
                for delivery in deliveries {
                    if let Err(e) = service.send(&delivery).await {
                        tracing::warn!(
                            delivery = %delivery.delivery_id, error = %e,
                            "webhook delivery not recorded"
                        );
                    }
                }
            });
        }
        Ok(n)
    }

    /// Sends one claimed delivery and records the attempt.
    async fn send(&self, delivery: &Delivery) -> Result<(), ServiceError> {
        let webhook = self
            .repo
            .get_webhook_any_tenant(&delivery.webhook_id)
            .await
            .map_err(|e| ServiceError::internal("reading a webhook", e))?;
        let now = Utc::now();
        let (status, latency, error) = match webhook {
            // Removed meanwhile: its deliveries went with it; nothing to send.
            None => return Ok(()),
            Some(webhook) => {
                let body = serde_json::to_vec(&payload(delivery))
                    .map_err(|e| ServiceError::internal("writing a webhook payload", e))?;
                let timestamp = now.timestamp();
                let signature = sign(&webhook.secret, &delivery.event_id, timestamp, &body)
                    .map_err(|e| ServiceError::internal("signing a webhook", anyhow::anyhow!(e)))?;
                let headers = [
                    ("webhook-id", delivery.event_id.clone()),
                    ("webhook-timestamp", timestamp.to_string()),
                    ("webhook-signature", signature),
                ];
                match self.sender.post(&webhook.url, &headers, body).await {
                    Ok(answer) if (200..300).contains(&answer.status) => {
                        (Some(answer.status), answer.latency, None)
                    }
                    Ok(answer) => (
                        Some(answer.status),
                        answer.latency,
                        Some(format!("the endpoint answered HTTP {}", answer.status)),
                    ),
                    Err(failed) => (None, failed.latency, Some(failed.error)),
                }
            }
        };
        let at = Utc::now();
        let (state, next_attempt_at) = match error {
            None => (DeliveryState::Delivered, at),
            Some(_) => {
                let next = at + retry_delay(self.settings.retry_base, delivery.attempts);
                let give_up = delivery.create_time + self.settings.give_up_after;
                let state = if next > give_up {
                    DeliveryState::Failed
                } else {
                    DeliveryState::Pending
                };
                (state, next)
            }
        };
        let attempt = DeliveryAttempt {
            state,
            next_attempt_at,
            response_status: status,
            latency_ms: Some(latency.as_millis() as u64),
            error,
            at,
        };
        crate::metrics::METRICS.webhook(match attempt.state {
            DeliveryState::Delivered => "delivered",
            DeliveryState::Pending => "retry",
            DeliveryState::Failed => "failed",
        });
        if attempt.state == DeliveryState::Failed {
            tracing::warn!(
                delivery = %delivery.delivery_id, webhook = %delivery.webhook_id,
                attempts = delivery.attempts, "webhook delivery given up"
            );
        }
        self.repo
            .record_attempt(delivery.id, &self.settings.worker, &attempt)
            .await
            .map_err(|e| ServiceError::internal("recording a webhook attempt", e))?;
        Ok(())
    }
}

/// A send task that panicked is logged (its delivery is sent again once its lease ends).
fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!(error = %e, "a webhook send panicked");
    }
}
