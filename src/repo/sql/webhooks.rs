use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Row, Type};

use super::rows::{from_millis, millis};
use super::{Dialect, SqlRepo};
use crate::domain::{Delivery, DeliveryId, DeliveryState, Webhook, WebhookId};
use crate::repo::{DeliveryAttempt, RepoError, RepoResult, WebhookRepo};

const WEBHOOK_COLUMNS: &str = "id, tenant, url, secret, events, created_at";

const DELIVERY_COLUMNS: &str = "id, webhook_id, tenant, event_id, event_type, subject_id, status, \
     failure_code, failure_message, occurred_at, state, attempts, next_attempt_at, \
     response_status, latency_ms, last_error, created_at, finished_at, public_id";

/// The stored form of the subscribed events: each between commas.
fn events_column(events: &[String]) -> String {
    format!(",{},", events.join(","))
}

fn webhook_from_row<'r, R>(row: &'r R) -> RepoResult<Webhook>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = row.try_get(0)?;
    let events: String = row.try_get(4)?;
    Ok(Webhook {
        id: WebhookId::parse(&id).ok_or_else(|| RepoError::Corrupt(format!("webhook id {id}")))?,
        tenant: row.try_get(1)?,
        url: row.try_get(2)?,
        secret: row.try_get(3)?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        create_time: from_millis(row.try_get(5)?)?,
    })
}

fn delivery_from_row<'r, R>(row: &'r R) -> RepoResult<Delivery>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: i64 = row.try_get(0)?;
    let state: String = row.try_get(10)?;
    let attempts: i64 = row.try_get(11)?;
    let response_status: Option<i64> = row.try_get(13)?;
    let latency: Option<i64> = row.try_get(14)?;
    let finished: Option<i64> = row.try_get(17)?;
    let public_id: Option<String> = row.try_get(18)?;
    let delivery_id = public_id
        .as_deref()
        .and_then(DeliveryId::parse)
        .ok_or_else(|| RepoError::Corrupt(format!("delivery {id}: id {public_id:?}")))?;
    Ok(Delivery {
        id,
        delivery_id,
        webhook_id: row.try_get(1)?,
        tenant: row.try_get(2)?,
        event_id: row.try_get(3)?,
        event_type: row.try_get(4)?,
        subject_id: row.try_get(5)?,
        status: row.try_get(6)?,
        failure_code: row.try_get(7)?,
        failure_message: row.try_get(8)?,
        occurred_at: from_millis(row.try_get(9)?)?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| RepoError::Corrupt(format!("delivery {id}: state {state}")))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: from_millis(row.try_get(12)?)?,
        response_status: response_status.and_then(|s| u16::try_from(s).ok()),
        latency_ms: latency.and_then(|l| u64::try_from(l).ok()),
        last_error: row.try_get(15)?,
        create_time: from_millis(row.try_get(16)?)?,
        finish_time: finished.map(from_millis).transpose()?,
    })
}

#[async_trait]
impl<DB> WebhookRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<i64>: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn insert_webhook(&self, webhook: &Webhook) -> RepoResult<()> {
        sqlx::query(
            "INSERT INTO webhooks (id, tenant, url, secret, events, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(webhook.id.as_str())
        .bind(webhook.tenant.as_str())
        .bind(webhook.url.as_str())
        .bind(webhook.secret.as_str())
        .bind(events_column(&webhook.events))
        .bind(millis(webhook.create_time))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn list_webhooks(&self, tenant: &str) -> RepoResult<Vec<Webhook>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant = $1 ORDER BY created_at, id"
        )))
        .bind(tenant)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn get_webhook(&self, tenant: &str, id: &str) -> RepoResult<Option<Webhook>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND tenant = $2"
        )))
        .bind(id)
        .bind(tenant)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn get_webhook_any_tenant(&self, id: &str) -> RepoResult<Option<Webhook>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn delete_webhook(&self, tenant: &str, id: &str) -> RepoResult<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&done) == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_deliveries_except(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        busy: &[&str],
    ) -> RepoResult<Vec<Delivery>> {
        let now_ms = millis(now);
        let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        // The endpoints this node is sending to already are left for a later round.
        let skip = if busy.is_empty() {
            String::new()
        } else {
            let places: Vec<String> = (0..busy.len()).map(|i| format!("${}", i + 5)).collect();
            format!("AND webhook_id NOT IN ({}) ", places.join(", "))
        };
        // At most two deliveries of one endpoint a round, so an endpoint that never answers
        // cannot hold up the others'. The outer conditions are checked again on each row when
        // it is updated, so two nodes never both lease one (the later sees the lease).
        let sql = format!(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1 \
             WHERE state = 'pending' AND (lease_until IS NULL OR lease_until < $3) \
             AND id IN (SELECT id FROM (SELECT id, next_attempt_at, ROW_NUMBER() OVER \
               (PARTITION BY webhook_id ORDER BY next_attempt_at, id) AS place \
               FROM webhook_deliveries \
               WHERE state = 'pending' AND next_attempt_at <= $3 \
               AND (lease_until IS NULL OR lease_until < $3) {skip}) due \
               WHERE place <= 2 ORDER BY next_attempt_at LIMIT $4) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(until)
            .bind(now_ms)
            .bind(i64::from(limit));
        for endpoint in busy {
            query = query.bind(*endpoint);
        }
        let rows = query.fetch_all(&self.write).await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn record_attempt(
        &self,
        id: i64,
        worker: &str,
        attempt: &DeliveryAttempt,
    ) -> RepoResult<bool> {
        let finished = (attempt.state != DeliveryState::Pending).then(|| millis(attempt.at));
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, \
             response_status = $3, latency_ms = $4, last_error = $5, finished_at = $6, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $7 AND lease_owner = $8",
        )
        .bind(attempt.state.as_str())
        .bind(millis(attempt.next_attempt_at))
        .bind(attempt.response_status.map(i64::from))
        .bind(
            attempt
                .latency_ms
                .map(|l| i64::try_from(l).unwrap_or(i64::MAX)),
        )
        .bind(attempt.error.clone())
        .bind(finished)
        .bind(id)
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn list_deliveries(
        &self,
        tenant: &str,
        webhook_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> RepoResult<Vec<Delivery>> {
        // After a cursor: the deliveries older than the one it names (none when it names none
        // of this endpoint's).
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE webhook_id = $1 AND tenant = $2 \
             AND ($3 = '' OR id < (SELECT c.id FROM webhook_deliveries c \
                  WHERE c.webhook_id = $1 AND c.public_id = $3)) \
             ORDER BY id DESC LIMIT $4"
        )))
        .bind(webhook_id)
        .bind(tenant)
        .bind(before.unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> RepoResult<u64> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1",
        )
        .bind(millis(before))
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done))
    }

    async fn redeliver(
        &self,
        tenant: &str,
        webhook_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> RepoResult<Option<Delivery>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, \
             subject_id, status, failure_code, failure_message, occurred_at, next_attempt_at, \
             created_at, public_id) \
             SELECT webhook_id, tenant, event_id, event_type, subject_id, status, failure_code, \
             failure_message, occurred_at, $1, $2, $6 FROM webhook_deliveries \
             WHERE public_id = $3 AND webhook_id = $4 AND tenant = $5 \
             RETURNING {DELIVERY_COLUMNS}"
        )))
        .bind(millis(now))
        .bind(millis(now))
        .bind(delivery_id)
        .bind(webhook_id)
        .bind(tenant)
        .bind(DeliveryId::generate(now).as_str().to_owned())
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }
}
