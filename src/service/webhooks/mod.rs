//! Webhooks: a tenant's endpoints (register, list, remove), each delivery's log and a manual
//! redeliver; and the dispatcher (`dispatch.rs`) that sends due deliveries — signed in the
//! Standard Webhooks style, retried with exponential backoff for a day, then marked failed. The
//! events come from the database itself (`WebhookRepo`), written with the change they report.

mod dispatch;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ServiceError;
use crate::domain::{
    Caller, Delivery, DeliveryId, MAX_WEBHOOKS_PER_TENANT, Webhook, WebhookId, codes,
    generate_secret, parse_events,
};
use crate::fetch::{FetchError, WebhookSender};
use crate::repo::WebhookRepo;

/// How long the log keeps a delivery that ended (delivered or failed), in days.
pub const DELIVERY_LOG_DAYS: i64 = 30;

/// How the dispatcher sends.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The first retry's delay, doubled for each next (at most 2 hours).
    pub retry_base: Duration,
    /// How long after its event a delivery is retried before it is marked failed.
    pub give_up_after: Duration,
    /// This node's name on the leases it takes.
    pub worker: String,
    /// How long a claimed delivery is this node's (far beyond a send's timeout: an endpoint's
    /// two deliveries of a round are sent one after the other within it).
    pub lease: Duration,
    /// Endpoints sent to at once, each by a task of its own with one send in flight (an
    /// endpoint that never answers holds one of these, and nothing else, until its timeout).
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(30),
            give_up_after: Duration::from_secs(24 * 3600),
            worker: "node".to_owned(),
            lease: Duration::from_secs(60),
            concurrency: 32,
        }
    }
}

#[derive(Clone)]
pub struct WebhookService {
    repo: Arc<dyn WebhookRepo>,
    sender: Arc<dyn WebhookSender>,
    settings: Arc<WebhookSettings>,
}

fn webhook_not_found(raw: &str) -> ServiceError {
    ServiceError::client(
        &codes::NOT_FOUND,
        format!("there is no webhook {raw} (GET /v1/webhooks lists yours)"),
    )
}

impl WebhookService {
    pub fn new(
        repo: Arc<dyn WebhookRepo>,
        sender: Arc<dyn WebhookSender>,
        settings: WebhookSettings,
    ) -> Self {
        Self {
            repo,
            sender,
            settings: Arc::new(settings),
        }
    }

    /// Registers an endpoint; the answer is the only time its secret is shown.
    pub async fn create(
        &self,
        caller: &Caller,
        url: Option<&str>,
        events: Option<&[String]>,
    ) -> Result<Webhook, ServiceError> {
        let url = url.map(str::trim).unwrap_or_default();
        if url.is_empty() {
            return Err(ServiceError::client(
                &codes::INVALID_URL,
                "url is required: the http(s) URL deliveries are POSTed to",
            ));
        }
        self.sender.check(url).map_err(|e| match e {
            FetchError::Blocked { .. } => ServiceError::client(&codes::URL_NOT_ALLOWED, e),
            other => ServiceError::client(&codes::INVALID_URL, other),
        })?;
        let events = parse_events(events).map_err(ServiceError::invalid)?;
        let existing = self
            .repo
            .list_webhooks(&caller.tenant)
            .await
            .map_err(|e| ServiceError::internal("listing webhooks", e))?;
        if existing.len() >= MAX_WEBHOOKS_PER_TENANT {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                format!(
                    "tenant {} already has {} webhooks, the most allowed; remove one first",
                    caller.tenant,
                    existing.len()
                ),
            ));
        }
        let now = Utc::now();
        let webhook = Webhook {
            id: WebhookId::generate(now),
            tenant: caller.tenant.clone(),
            url: url.to_owned(),
            secret: generate_secret(),
            events,
            create_time: now,
        };
        self.repo
            .insert_webhook(&webhook)
            .await
            .map_err(|e| ServiceError::internal("registering a webhook", e))?;
        tracing::info!(webhook = %webhook.id, tenant = %caller.tenant, "webhook registered");
        Ok(webhook)
    }

    pub async fn list(&self, caller: &Caller) -> Result<Vec<Webhook>, ServiceError> {
        self.repo
            .list_webhooks(&caller.tenant)
            .await
            .map_err(|e| ServiceError::internal("listing webhooks", e))
    }

    pub async fn get(&self, caller: &Caller, raw_id: &str) -> Result<Webhook, ServiceError> {
        self.repo
            .get_webhook(&caller.tenant, raw_id)
            .await
            .map_err(|e| ServiceError::internal("reading a webhook", e))?
            .ok_or_else(|| webhook_not_found(raw_id))
    }

    /// Removes an endpoint and its deliveries (pending ones are not sent).
    pub async fn delete(&self, caller: &Caller, raw_id: &str) -> Result<(), ServiceError> {
        let deleted = self
            .repo
            .delete_webhook(&caller.tenant, raw_id)
            .await
            .map_err(|e| ServiceError::internal("removing a webhook", e))?;
        if !deleted {
            return Err(webhook_not_found(raw_id));
        }
        tracing::info!(webhook = raw_id, tenant = %caller.tenant, "webhook removed");
        Ok(())
    }

    /// An endpoint's deliveries, newest first; the cursor (the last delivery id shown)
    /// continues after the last one shown.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        raw_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Delivery>, Option<DeliveryId>), ServiceError> {
        self.get(caller, raw_id).await?;
        let before = match cursor {
            None => None,
            Some(raw) => Some(DeliveryId::parse(raw).ok_or_else(|| {
                ServiceError::invalid(format!(
                    "cursor '{raw}' is not valid; pass nextCursor from a previous page"
                ))
            })?),
        };
        let mut items = self
            .repo
            .list_deliveries(
                &caller.tenant,
                raw_id,
                before.as_ref().map(DeliveryId::as_str),
                limit + 1,
            )
            .await
            .map_err(|e| ServiceError::internal("listing deliveries", e))?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next = more
            .then(|| items.last().map(|d| d.delivery_id.clone()))
            .flatten();
        Ok((items, next))
    }

    /// Sends an event again, as a new delivery due now (same event id: receivers that
    /// de-duplicate see a repeat).
    pub async fn redeliver(
        &self,
        caller: &Caller,
        raw_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery, ServiceError> {
        self.get(caller, raw_id).await?;
        let not_found = || {
            ServiceError::client(
                &codes::NOT_FOUND,
                format!("webhook {raw_id} has no delivery {delivery_id}"),
            )
        };
        let id = DeliveryId::parse(delivery_id).ok_or_else(not_found)?;
        self.repo
            .redeliver(&caller.tenant, raw_id, id.as_str(), Utc::now())
            .await
            .map_err(|e| ServiceError::internal("redelivering", e))?
            .ok_or_else(not_found)
    }

    /// Removes the log of deliveries that ended more than `DELIVERY_LOG_DAYS` before `now`.
    pub async fn purge_log(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        self.repo
            .purge_deliveries(now - chrono::Duration::days(DELIVERY_LOG_DAYS))
            .await
            .map_err(|e| ServiceError::internal("purging the webhook delivery log", e))
    }
}
