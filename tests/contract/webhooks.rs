//! The webhook contract: the database writes a delivery for each subscribed endpoint in the
//! transaction of the change it reports (status changes, deletes, finished tasks), never for
//! another tenant's; deliveries are leased, recorded, listed and sent again.

use std::sync::Arc;
use std::time::Duration;

use assetlib::domain::{
    AssetId, AssetType, Delivery, DeliveryId, DeliveryState, Failure, Status, Webhook, WebhookId,
};
use assetlib::repo::{DeliveryAttempt, NewAsset, NewJob, Repo, StatusChange};
use chrono::{DateTime, Utc};

use crate::backends::per_backend;

fn webhook(id: &str, tenant: &str, events: &[&str]) -> Webhook {
    Webhook {
        id: WebhookId::parse(id).expect("id"),
        tenant: tenant.to_owned(),
        url: "https://example.com/hook".to_owned(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        create_time: Utc::now(),
    }
}

fn asset(id: &str, tenant: &str) -> NewAsset {
    NewAsset {
        id: AssetId::parse(id).expect("id"),
        tenant: tenant.to_owned(),
        name: None,
        asset_type: AssetType::Image,
        url: "https://example.com/a.png".to_owned(),
        sha256: "0".repeat(64),
        bytes: 1,
        format: Some("png".to_owned()),
        group_id: None,
        created_at: Utc::now(),
    }
}

fn change(to: Status) -> StatusChange {
    StatusChange {
        to,
        format: None,
        facts: None,
        failure: (to == Status::Failed).then(|| Failure {
            code: "image-dimensions".to_owned(),
            message: "too small".to_owned(),
        }),
        moderation: None,
        at: Utc::now(),
    }
}

fn job() -> NewJob {
    NewJob {
        kind: "process-asset".to_owned(),
        max_attempts: 3,
        request_id: None,
    }
}

/// Two endpoints of w1 (every event; deletes only) and one of w2.
async fn endpoints(repo: &Arc<dyn Repo>) -> (Webhook, Webhook) {
    let all = webhook(
        "wh-20260101000000-aaaaa",
        "w1",
        &assetlib::domain::EVENT_TYPES,
    );
    let deletes = webhook("wh-20260101000000-bbbbb", "w1", &["asset.deleted"]);
    let elsewhere = webhook(
        "wh-20260101000000-ccccc",
        "w2",
        &assetlib::domain::EVENT_TYPES,
    );
    for w in [&all, &deletes, &elsewhere] {
        repo.insert_webhook(w).await.expect("insert");
    }
    assert_eq!(repo.list_webhooks("w1").await.expect("list").len(), 2);
    assert_eq!(
        repo.get_webhook("w2", all.id.as_str()).await.expect("get"),
        None
    );
    assert_eq!(
        repo.get_webhook_any_tenant(all.id.as_str())
            .await
            .expect("get")
            .map(|w| w.events.len()),
        Some(5)
    );

    (all, deletes)
}

/// What `claimed` leaves: w1's endpoints, the deliveries node-a holds and the failed asset's.
struct Claimed {
    all: Webhook,
    claimed: Vec<Delivery>,
    failed: Delivery,
    later: DateTime<Utc>,
    lease: Duration,
}

/// Asset changes and a finished task, then every delivery due claimed by node-a.
async fn claimed(repo: &Arc<dyn Repo>) -> Claimed {
    let job = job();
    let (all, deletes) = endpoints(repo).await;
    // Settled, held, failed, deleted, a task finished: each recorded with its change.
    let a = asset("asset-20260101000000-wha01", "w1");
    let b = asset("asset-20260101000000-wha02", "w1");
    for x in [&a, &b] {
        repo.insert_asset_with_job(x, &job).await.expect("insert");
    }
    assert!(
        repo.change_status(&a.id, Status::Processing, &change(Status::Active))
            .await
            .expect("change")
    );
    assert!(
        repo.change_status(&b.id, Status::Processing, &change(Status::PendingReview))
            .await
            .expect("change")
    );
    assert!(
        repo.change_status(&b.id, Status::PendingReview, &change(Status::Failed))
            .await
            .expect("change")
    );
    assert!(
        repo.delete_asset("w1", &a.id, Utc::now())
            .await
            .expect("delete")
    );
    repo.record_task("task-1", "w1", "running", false, &[a.id.to_string()])
        .await
        .expect("task");
    repo.record_task("task-1", "w1", "succeeded", true, &[a.id.to_string()])
        .await
        .expect("task");
    // Another tenant's asset: nothing for w1's endpoints.
    let c = asset("asset-20260101000000-wha03", "w3");
    repo.insert_asset_with_job(&c, &job).await.expect("insert");
    repo.change_status(&c.id, Status::Processing, &change(Status::Active))
        .await
        .expect("change");

    let later = Utc::now() + chrono::Duration::seconds(1);
    let lease = Duration::from_secs(60);
    // At most two of one endpoint a round: rounds until nothing is due.
    let mut claimed = Vec::new();
    loop {
        let round = repo
            .claim_deliveries("node-a", later, lease, 100)
            .await
            .expect("claim");
        if round.is_empty() {
            break;
        }
        for webhook in [&all, &deletes] {
            let of = round
                .iter()
                .filter(|d| d.webhook_id == webhook.id.as_str())
                .count();
            assert!(of <= 2, "{of} of one endpoint in a round");
        }
        claimed.extend(round);
    }
    let mut kinds: Vec<(String, String)> = claimed
        .iter()
        .map(|d| (d.webhook_id.clone(), d.event_type.clone()))
        .collect();
    kinds.sort();
    let want = |w: &Webhook, e: &str| (w.id.to_string(), e.to_owned());
    let mut expected = vec![
        want(&all, "asset.active"),
        want(&all, "asset.held"),
        want(&all, "asset.failed"),
        want(&all, "asset.deleted"),
        want(&all, "task.finished"),
        want(&deletes, "asset.deleted"),
    ];
    expected.sort();
    assert_eq!(kinds, expected);
    assert!(claimed.iter().all(|d| d.attempts == 1 && d.tenant == "w1"));
    let failed = claimed
        .iter()
        .find(|d| d.event_type == "asset.failed")
        .expect("failed event");
    assert_eq!(failed.subject_id, b.id.as_str());
    assert_eq!(failed.failure_code.as_deref(), Some("image-dimensions"));
    let deleted: Vec<_> = claimed
        .iter()
        .filter(|d| d.event_type == "asset.deleted")
        .collect();
    assert_eq!(
        deleted[0].event_id, deleted[1].event_id,
        "one event, two endpoints"
    );
    let task = claimed
        .iter()
        .find(|d| d.event_type == "task.finished")
        .expect("task event");
    assert_eq!(
        (task.subject_id.as_str(), task.status.as_deref()),
        ("task-1", Some("succeeded"))
    );

    let failed = failed.clone();
    Claimed {
        all,
        claimed,
        failed,
        later,
        lease,
    }
}

/// `claimed`, then an attempt of each: the failed asset's to be retried, the rest delivered.
async fn attempted(repo: &Arc<dyn Repo>) -> Claimed {
    let state = claimed(repo).await;
    let Claimed {
        claimed,
        failed,
        later,
        lease,
        ..
    } = &state;
    let (later, lease) = (*later, *lease);
    // Leased: not claimed again until the lease ends.
    assert!(
        repo.claim_deliveries("node-b", later, lease, 100)
            .await
            .expect("claim")
            .is_empty()
    );
    let retry = DeliveryAttempt {
        state: DeliveryState::Pending,
        next_attempt_at: later + chrono::Duration::seconds(30),
        response_status: Some(500),
        latency_ms: Some(12),
        error: Some("the endpoint answered HTTP 500".to_owned()),
        at: later,
    };
    assert!(
        !repo
            .record_attempt(failed.id, "node-b", &retry)
            .await
            .expect("record"),
        "not node-b's lease"
    );
    assert!(
        repo.record_attempt(failed.id, "node-a", &retry)
            .await
            .expect("record")
    );
    let done = DeliveryAttempt {
        state: DeliveryState::Delivered,
        next_attempt_at: later,
        response_status: Some(204),
        latency_ms: Some(3),
        error: None,
        at: later,
    };
    for d in claimed.iter().filter(|d| d.id != failed.id) {
        assert!(
            repo.record_attempt(d.id, "node-a", &done)
                .await
                .expect("record")
        );
    }
    // Due again after its delay, with the attempt counted.
    assert!(
        repo.claim_deliveries("node-b", later, lease, 100)
            .await
            .expect("claim")
            .is_empty()
    );
    let again = repo
        .claim_deliveries("node-b", later + chrono::Duration::seconds(31), lease, 100)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id, again[0].attempts, again[0].response_status),
        (failed.id, 2, Some(500))
    );

    state
}

/// `attempted`, then one delivered event sent again.
async fn redelivered(repo: &Arc<dyn Repo>) -> Claimed {
    let state = attempted(repo).await;
    let Claimed {
        all, failed, later, ..
    } = &state;
    let later = *later;
    // The log, newest first; a redelivery is a new delivery of the same event.
    let log = repo
        .list_deliveries("w1", all.id.as_str(), None, 10)
        .await
        .expect("list");
    assert_eq!(log.len(), 5);
    assert!(log.windows(2).all(|w| w[0].id > w[1].id));
    let shown = log.iter().find(|d| d.id != failed.id).expect("one");
    assert_eq!(shown.state, DeliveryState::Delivered);
    assert_eq!(shown.response_status, Some(204));
    assert!(shown.finish_time.is_some());
    assert!(
        repo.list_deliveries("w2", all.id.as_str(), None, 10)
            .await
            .expect("list")
            .is_empty(),
        "not another tenant's log"
    );
    let resent = repo
        .redeliver("w1", all.id.as_str(), shown.delivery_id.as_str(), later)
        .await
        .expect("redeliver")
        .expect("found");
    assert_eq!(resent.event_id, shown.event_id);
    assert_eq!((resent.state, resent.attempts), (DeliveryState::Pending, 0));
    assert!(
        repo.redeliver("w2", all.id.as_str(), shown.delivery_id.as_str(), later)
            .await
            .expect("redeliver")
            .is_none()
    );

    state
}

/// `redelivered`, then the ended deliveries purged.
async fn purged(repo: &Arc<dyn Repo>) -> Claimed {
    let state = redelivered(repo).await;
    let Claimed { all, later, .. } = &state;
    let later = *later;
    // The log of ended deliveries is purged after a while; pending ones stay.
    let purged = repo
        .purge_deliveries(later + chrono::Duration::seconds(1))
        .await
        .expect("purge");
    assert_eq!(purged, 5, "the 5 that ended");
    assert_eq!(
        repo.list_deliveries("w1", all.id.as_str(), None, 10)
            .await
            .expect("list")
            .len(),
        2,
        "the retried one and the redelivery are pending"
    );

    state
}

/// Every delivery has an opaque id of its own (written by the database for the triggers'
/// deliveries, by the repo for a redelivery); the log pages by it; the row number finds nothing.
async fn deliveries_have_opaque_ids_and_the_log_pages_by_them(repo: Arc<dyn Repo>) {
    let state = redelivered(&repo).await;
    let all = state.all.id.as_str();
    let log = repo
        .list_deliveries("w1", all, None, 10)
        .await
        .expect("list");
    assert_eq!(log.len(), 6);
    let mut ids: Vec<&str> = log.iter().map(|d| d.delivery_id.as_str()).collect();
    assert!(
        ids.iter().all(|id| DeliveryId::parse(id).is_some()),
        "{ids:?}"
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "each its own id");
    let after = repo
        .list_deliveries("w1", all, Some(log[1].delivery_id.as_str()), 10)
        .await
        .expect("list");
    assert_eq!(after, log[2..].to_vec());
    for cursor in ["dlv-20260101000000-0123456789abcdef", "1"] {
        assert!(
            repo.list_deliveries("w1", all, Some(cursor), 10)
                .await
                .expect("list")
                .is_empty(),
            "{cursor}: no such delivery, nothing after it"
        );
    }
    let number = log[1].id.to_string();
    assert!(
        repo.redeliver("w1", all, &number, state.later)
            .await
            .expect("redeliver")
            .is_none(),
        "the row number is not an id"
    );
}

/// The endpoints the dispatcher is sending to are left out of its next claim.
async fn endpoints_being_sent_to_are_left_out_of_a_claim(repo: Arc<dyn Repo>) {
    let (all, deletes) = endpoints(&repo).await;
    let a = asset("asset-20260101000000-whb01", "w1");
    repo.insert_asset_with_job(&a, &job())
        .await
        .expect("insert");
    repo.delete_asset("w1", &a.id, Utc::now())
        .await
        .expect("delete");
    let later = Utc::now() + chrono::Duration::seconds(1);
    let lease = Duration::from_secs(60);
    let first = repo
        .claim_deliveries_except("node-a", later, lease, 10, &[all.id.as_str()])
        .await
        .expect("claim");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].webhook_id, deletes.id.as_str());
    let second = repo
        .claim_deliveries_except("node-a", later, lease, 10, &[deletes.id.as_str(), "wh-x"])
        .await
        .expect("claim");
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].webhook_id, all.id.as_str());
}

async fn endpoints_are_listed_and_read_per_tenant(repo: Arc<dyn Repo>) {
    endpoints(&repo).await;
}

/// Settled, held, failed, deleted, a task finished: each recorded with its change, for each
/// endpoint of the tenant subscribed to it, and leased at most two of one endpoint a round.
async fn each_change_is_delivered_to_each_subscribed_endpoint_of_its_tenant(repo: Arc<dyn Repo>) {
    claimed(&repo).await;
}

/// Not claimed again until the lease ends; an attempt recorded by the lease holder only;
/// due again after its delay, with the attempt counted.
async fn a_delivery_is_leased_and_due_again_after_its_retry_delay(repo: Arc<dyn Repo>) {
    attempted(&repo).await;
}

async fn the_log_is_newest_first_and_a_redelivery_is_a_new_delivery(repo: Arc<dyn Repo>) {
    redelivered(&repo).await;
}

async fn ended_deliveries_are_purged_and_pending_ones_stay(repo: Arc<dyn Repo>) {
    purged(&repo).await;
}

async fn removing_an_endpoint_removes_its_deliveries(repo: Arc<dyn Repo>) {
    let state = purged(&repo).await;
    let all = &state.all;
    // Removing the endpoint removes its deliveries.
    assert!(
        repo.delete_webhook("w1", all.id.as_str())
            .await
            .expect("delete")
    );
    assert!(
        !repo
            .delete_webhook("w1", all.id.as_str())
            .await
            .expect("delete")
    );
    assert!(
        repo.list_deliveries("w1", all.id.as_str(), None, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        endpoints_are_listed_and_read_per_tenant,
        each_change_is_delivered_to_each_subscribed_endpoint_of_its_tenant,
        a_delivery_is_leased_and_due_again_after_its_retry_delay,
        the_log_is_newest_first_and_a_redelivery_is_a_new_delivery,
        ended_deliveries_are_purged_and_pending_ones_stay,
        removing_an_endpoint_removes_its_deliveries,
        deliveries_have_opaque_ids_and_the_log_pages_by_them,
        endpoints_being_sent_to_are_left_out_of_a_claim,
    ]
});
