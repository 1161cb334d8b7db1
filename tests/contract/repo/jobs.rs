//! The job queue: claims oldest first and fair across tenants, leases with heartbeats, retries
//! when due, stale leases taken over, hand-backs, repairs; the maintenance walk.

use std::sync::Arc;
use std::time::Duration;

use assetlib::domain::{AssetType, Status};
use assetlib::repo::{NewAsset, Repo};
use chrono::Utc;

use super::{active, job, new_asset};
use crate::backends::per_backend;

/// The steps of `job_queue`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum QueueStep {
    Claims,
    Retries,
    TakeOver,
    StartUp,
}

/// Two jobs through the queue, up to and including the step `until` (a case runs the steps
/// before its own as well).
async fn job_queue(repo: Arc<dyn Repo>, until: QueueStep) {
    let lease = Duration::from_secs(30);
    assert!(
        repo.claim_job("w1", lease).await.expect("claim").is_none(),
        "empty"
    );
    let a = new_asset("asset-20260101000001-aaaaa", "t1", 1, AssetType::Image, "a");
    let b = new_asset("asset-20260101000002-bbbbb", "t1", 2, AssetType::Image, "b");
    repo.insert_asset_with_job(&a, &job())
        .await
        .expect("insert");
    repo.insert_asset_with_job(&b, &job())
        .await
        .expect("insert");

    let j1 = repo
        .claim_job("w1", lease)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(j1.asset_id, a.id.as_str(), "oldest first");
    assert_eq!(j1.attempts, 1);
    assert_eq!(j1.max_attempts, 3);
    let j2 = repo
        .claim_job("w2", lease)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(j2.asset_id, b.id.as_str());
    assert!(
        repo.claim_job("w3", lease).await.expect("claim").is_none(),
        "both leased"
    );

    assert!(repo.heartbeat_job(j1.id, "w1", lease).await.expect("beat"));
    assert!(
        !repo.heartbeat_job(j1.id, "w2", lease).await.expect("beat"),
        "not w2's"
    );

    if until == QueueStep::Claims {
        return;
    }

    // Retry later: not claimable until due, then claimable with the error kept.
    let later = Utc::now() + chrono::Duration::seconds(60);
    repo.retry_job(j1.id, "w1", later, "blob store hiccup")
        .await
        .expect("retry");
    assert!(
        repo.claim_job("w3", lease).await.expect("claim").is_none(),
        "not yet due"
    );
    assert_eq!(
        repo.count_jobs().await.expect("count"),
        2,
        "the retried job is still queued"
    );
    repo.retry_job(
        j2.id,
        "w2",
        Utc::now() - chrono::Duration::seconds(1),
        "again",
    )
    .await
    .expect("retry");
    let j2b = repo
        .claim_job("w3", lease)
        .await
        .expect("claim")
        .expect("due job");
    assert_eq!(j2b.id, j2.id);
    assert_eq!(j2b.attempts, 2);
    assert_eq!(j2b.last_error.as_deref(), Some("again"));

    if until == QueueStep::Retries {
        return;
    }

    // An expired lease is taken over.
    repo.retry_job(j2b.id, "w3", Utc::now() - chrono::Duration::seconds(1), "x")
        .await
        .expect("retry");
    let short = repo
        .claim_job("w4", Duration::from_millis(1))
        .await
        .expect("claim")
        .expect("job");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let taken = repo
        .claim_job("w5", lease)
        .await
        .expect("claim")
        .expect("stale job");
    assert_eq!(taken.id, short.id, "stale lease requeued");
    assert_eq!(taken.attempts, 4);
    repo.complete_job(taken.id, "w4")
        .await
        .expect("complete by old owner is ignored");
    assert_eq!(repo.count_jobs().await.expect("count"), 2);
    repo.complete_job(taken.id, "w5").await.expect("complete");
    assert_eq!(repo.count_jobs().await.expect("count"), 1);

    if until == QueueStep::TakeOver {
        return;
    }

    // Start-up of the only node: leases are released at once.
    let c = new_asset("asset-20260101000003-ccccc", "t1", 3, AssetType::Image, "c");
    repo.insert_asset_with_job(&c, &job())
        .await
        .expect("insert");
    let jc = repo
        .claim_job("w6", lease)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(repo.release_all_leases().await.expect("release"), 1);
    let again = repo
        .claim_job("w7", lease)
        .await
        .expect("claim")
        .expect("released job");
    assert_eq!(again.id, jc.id);
}

async fn jobs_are_claimed_oldest_first_and_leased_to_one_worker(repo: Arc<dyn Repo>) {
    job_queue(repo, QueueStep::Claims).await;
}

async fn a_retried_job_is_claimed_when_due_with_its_error(repo: Arc<dyn Repo>) {
    job_queue(repo, QueueStep::Retries).await;
}

async fn an_expired_lease_is_taken_over_and_completed_by_its_new_owner_only(repo: Arc<dyn Repo>) {
    job_queue(repo, QueueStep::TakeOver).await;
}

async fn the_only_node_releases_every_lease_at_start_up(repo: Arc<dyn Repo>) {
    job_queue(repo, QueueStep::StartUp).await;
}

async fn lease_release_and_enqueue_contract(repo: Arc<dyn Repo>) {
    let a = new_asset("asset-20260101000001-aaaaa", "t", 1, AssetType::Image, "a");
    let b = new_asset("asset-20260101000002-bbbbb", "t", 2, AssetType::Image, "b");
    repo.insert_asset_with_job(&a, &job()).await.expect("a");
    repo.insert_asset_with_job(&b, &job()).await.expect("b");
    let lease = Duration::from_secs(60);
    let first = repo
        .claim_job("w1", lease)
        .await
        .expect("claim")
        .expect("job");
    let second = repo
        .claim_job("w2", lease)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!((first.attempts, second.attempts), (1, 1));
    assert!(repo.claim_job("w3", lease).await.expect("claim").is_none());

    // A stopping worker hands back its own job only, uncounted, claimable at once.
    assert_eq!(repo.release_leases("w1").await.expect("release"), 1);
    assert_eq!(repo.release_leases("w1").await.expect("again"), 0);
    let again = repo
        .claim_job("w3", lease)
        .await
        .expect("claim")
        .expect("released job");
    assert_eq!(again.id, first.id);
    assert_eq!(again.attempts, 1, "the interrupted attempt is not counted");
    assert!(
        repo.heartbeat_job(second.id, "w2", lease)
            .await
            .expect("beat"),
        "the other worker keeps its lease"
    );

    // Enqueue for an existing asset (a repair): due now, fresh attempts.
    repo.complete_job(again.id, "w3").await.expect("complete");
    assert_eq!(repo.count_jobs().await.expect("count"), 1);
    repo.enqueue_job(a.id.as_str(), &job())
        .await
        .expect("enqueue");
    assert_eq!(repo.count_jobs().await.expect("count"), 2);
    let queued = repo
        .claim_job("w4", lease)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(queued.asset_id, a.id.as_str());
    assert_eq!((queued.attempts, queued.max_attempts), (1, 3));
}

async fn maintenance_contract(repo: Arc<dyn Repo>) {
    let mut ids = Vec::new();
    for n in 1..=5u32 {
        let id = format!("asset-2026010100000{n}-aaaaa");
        let asset = new_asset(
            &id,
            if n % 2 == 0 { "t2" } else { "t1" },
            n,
            AssetType::Image,
            "x",
        );
        repo.insert_asset_with_job(&asset, &job())
            .await
            .expect("insert");
        ids.push(asset.id);
    }
    // Asset 1 settles (its job is done), asset 2 is deleted, asset 3 loses its job.
    repo.change_status(&ids[0], Status::Processing, &active())
        .await
        .expect("settle");
    let lease = Duration::from_secs(60);
    let j1 = repo
        .claim_job("w", lease)
        .await
        .expect("claim")
        .expect("job 1");
    repo.complete_job(j1.id, "w").await.expect("done 1");
    repo.delete_asset("t2", &ids[1], Utc::now())
        .await
        .expect("delete");
    let j2 = repo
        .claim_job("w", lease)
        .await
        .expect("claim")
        .expect("job 2");
    let j3 = repo
        .claim_job("w", lease)
        .await
        .expect("claim")
        .expect("job 3");
    assert_eq!(j3.asset_id, ids[2].as_str());
    repo.complete_job(j3.id, "w").await.expect("lost job");

    // The walk sees live assets of every tenant in seq order, page by page.
    let first = repo.scan_assets(0, 2).await.expect("scan");
    let rest = repo.scan_assets(first[1].seq, 10).await.expect("scan");
    let walked: Vec<_> = first.iter().chain(&rest).map(|a| a.id.clone()).collect();
    assert_eq!(
        walked,
        vec![
            ids[0].clone(),
            ids[2].clone(),
            ids[3].clone(),
            ids[4].clone()
        ]
    );
    assert_eq!(first[0].status, Status::Active);
    assert_eq!(first[0].sha256, format!("{:064x}", 1));
    assert!(
        repo.scan_assets(rest[1].seq, 10)
            .await
            .expect("scan")
            .is_empty()
    );

    // Only asset 3 is Processing without a job (asset 2's job still exists but it is
    // deleted; 4 and 5 have theirs).
    let stuck = repo.processing_without_job().await.expect("stuck");
    assert_eq!(
        stuck.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        vec![ids[2].clone()]
    );
    repo.enqueue_job(ids[2].as_str(), &job())
        .await
        .expect("requeue");
    assert!(
        repo.processing_without_job()
            .await
            .expect("stuck")
            .is_empty()
    );
    repo.complete_job(j2.id, "w").await.expect("done 2");
}

/// One tenant's burst does not hold back another tenant's job: claims follow the fair order.
async fn fair_claims_across_tenants_contract(repo: Arc<dyn Repo>) {
    let lease = Duration::from_secs(30);
    // Registered now, one after the other: the burst first, then the single upload.
    let at_now = |id: &str, tenant: &str| NewAsset {
        created_at: Utc::now(),
        ..new_asset(id, tenant, 0, AssetType::Image, "x")
    };
    for i in 0..40u32 {
        let asset = at_now(&format!("asset-20260101000{:03}-burst", i + 100), "bulk");
        repo.insert_asset_with_job(&asset, &job())
            .await
            .expect("insert");
    }
    let single = at_now("asset-20260101000999-alone", "small");
    repo.insert_asset_with_job(&single, &job())
        .await
        .expect("insert");

    let mut order = Vec::new();
    while let Some(job) = repo.claim_job("w", lease).await.expect("claim") {
        order.push(job.asset_id.clone());
        repo.complete_job(job.id, "w").await.expect("complete");
    }
    assert_eq!(order.len(), 41, "every job claimed once");
    let place = order
        .iter()
        .position(|id| id == single.id.as_str())
        .expect("claimed");
    assert!(
        place <= 2,
        "the other tenant's job was claimed {}th, behind the burst",
        place + 1
    );
    // The burst keeps its own order.
    let burst: Vec<&String> = order.iter().filter(|id| id.ends_with("burst")).collect();
    let mut sorted = burst.clone();
    sorted.sort();
    assert_eq!(burst, sorted);
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        jobs_are_claimed_oldest_first_and_leased_to_one_worker,
        a_retried_job_is_claimed_when_due_with_its_error,
        an_expired_lease_is_taken_over_and_completed_by_its_new_owner_only,
        the_only_node_releases_every_lease_at_start_up,
        lease_release_and_enqueue_contract,
        maintenance_contract,
        fair_claims_across_tenants_contract,
    ]
});
