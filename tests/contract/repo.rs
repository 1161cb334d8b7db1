//! The metadata contract: assets, the job queue and keys.

use std::time::Duration;

use assetlib::domain::{
    AssetId, AssetType, FaceBox, Failure, MediaFacts, ModerationRecord, Role, Status,
};
use assetlib::repo::{AssetFilter, Insert, NewApiKey, NewAsset, NewJob, StatusChange};
use chrono::{TimeZone, Utc};

use crate::backends::backends;

fn new_asset(id: &str, tenant: &str, seconds: u32, t: AssetType, name: &str) -> NewAsset {
    NewAsset {
        id: AssetId::parse(id).expect("id"),
        tenant: tenant.to_owned(),
        name: Some(name.to_owned()),
        asset_type: t,
        url: format!("https://example.com/{id}"),
        sha256: format!("{:064x}", seconds),
        bytes: 1234,
        format: Some("png".to_owned()),
        group_id: None,
        created_at: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, seconds)
            .single()
            .expect("time"),
    }
}

fn job() -> NewJob {
    NewJob {
        kind: "process-asset".to_owned(),
        max_attempts: 3,
        request_id: None,
    }
}

fn active() -> StatusChange {
    StatusChange {
        to: Status::Active,
        format: Some("png".into()),
        facts: Some(MediaFacts {
            width: Some(640),
            height: Some(480),
            ..MediaFacts::default()
        }),
        failure: None,
        moderation: None,
        at: Utc::now(),
    }
}

#[tokio::test]
async fn assets_contract() {
    for (name, repo, _dir) in backends().await {
        let a = new_asset(
            "asset-20260101000001-aaaaa",
            "t1",
            1,
            AssetType::Image,
            "Alpha one",
        );
        let inserted = repo
            .insert_asset_with_job(&a, &job())
            .await
            .expect("insert");
        let Insert::Inserted(stored) = inserted else {
            panic!("{name}: not inserted")
        };
        assert_eq!(stored.status, Status::Processing, "{name}");
        assert_eq!(stored.bytes, 1234);
        assert_eq!(stored.create_time, a.created_at);
        assert!(
            matches!(
                repo.insert_asset_with_job(&a, &job()).await.expect("dup"),
                Insert::IdTaken
            ),
            "{name}"
        );
        assert_eq!(
            repo.count_jobs().await.expect("jobs"),
            1,
            "{name}: a taken id adds no job"
        );

        let b = new_asset(
            "asset-20260101000002-bbbbb",
            "t1",
            2,
            AssetType::Document,
            "beta",
        );
        let c = new_asset(
            "asset-20260101000003-ccccc",
            "t2",
            3,
            AssetType::Image,
            "gamma",
        );
        let d = new_asset(
            "asset-20260101000004-ddddd",
            "t1",
            4,
            AssetType::Image,
            "alpha two",
        );
        for x in [&b, &c, &d] {
            repo.insert_asset_with_job(x, &job()).await.expect("insert");
        }

        // Tenant scoping.
        assert!(
            repo.get_asset("t2", &a.id).await.expect("get").is_none(),
            "{name}"
        );
        assert!(
            repo.get_asset("t1", &a.id).await.expect("get").is_some(),
            "{name}"
        );
        assert!(
            repo.get_asset_any_tenant(&c.id)
                .await
                .expect("get")
                .is_some(),
            "{name}"
        );

        // Compare-and-set transitions.
        assert!(
            repo.change_status(&a.id, Status::Processing, &active())
                .await
                .expect("cas")
        );
        assert!(
            !repo
                .change_status(&a.id, Status::Processing, &active())
                .await
                .expect("cas"),
            "{name}: CAS"
        );
        let a_now = repo.get_asset("t1", &a.id).await.expect("get").expect("a");
        assert_eq!(a_now.status, Status::Active);
        assert_eq!(a_now.facts.width, Some(640));
        let failed = StatusChange {
            to: Status::Failed,
            format: None,
            facts: None,
            failure: Some(Failure {
                code: "image-ratio".into(),
                message: "too wide".into(),
            }),
            moderation: None,
            at: Utc::now(),
        };
        assert!(
            repo.change_status(&b.id, Status::Processing, &failed)
                .await
                .expect("cas")
        );
        let b_now = repo.get_asset("t1", &b.id).await.expect("get").expect("b");
        assert_eq!(
            b_now.failure,
            Some(Failure {
                code: "image-ratio".into(),
                message: "too wide".into()
            })
        );
        assert_eq!(
            b_now.format.as_deref(),
            Some("png"),
            "{name}: format kept when not given"
        );

        // Offset pages, newest first, with totals and filters.
        let all = AssetFilter::default();
        let page = repo
            .list_assets_offset("t1", &all, 0, 2)
            .await
            .expect("list");
        assert_eq!(page.total, 3, "{name}");
        let ids: Vec<_> = page.items.iter().map(|x| x.id.clone()).collect();
        assert_eq!(ids, vec![d.id.clone(), b.id.clone()], "{name}");
        let page = repo
            .list_assets_offset("t1", &all, 2, 2)
            .await
            .expect("list");
        assert_eq!(page.items.len(), 1);
        let images = AssetFilter {
            asset_type: Some(AssetType::Image),
            ..AssetFilter::default()
        };
        assert_eq!(
            repo.list_assets_offset("t1", &images, 0, 10)
                .await
                .expect("list")
                .total,
            2
        );
        let named = AssetFilter {
            name_contains: Some("ALPHA".into()),
            ..AssetFilter::default()
        };
        assert_eq!(
            repo.list_assets_offset("t1", &named, 0, 10)
                .await
                .expect("list")
                .total,
            2
        );
        let statuses = AssetFilter {
            statuses: vec![Status::Active, Status::Failed],
            ..AssetFilter::default()
        };
        assert_eq!(
            repo.list_assets_offset("t1", &statuses, 0, 10)
                .await
                .expect("list")
                .total,
            2
        );

        // Keyset pages.
        let first = repo
            .list_assets_keyset("t1", &all, None, 2)
            .await
            .expect("keyset");
        assert_eq!(first.items.len(), 2);
        let next = first.next_before.expect("more");
        let second = repo
            .list_assets_keyset("t1", &all, Some(next), 2)
            .await
            .expect("keyset");
        assert_eq!(
            second
                .items
                .iter()
                .map(|x| x.id.clone())
                .collect::<Vec<_>>(),
            vec![a.id.clone()]
        );
        assert_eq!(second.next_before, None, "{name}");

        // Soft delete: gone from reads, blob still referenced.
        assert!(
            repo.delete_asset("t2", &a.id, Utc::now())
                .await
                .expect("delete")
                .eq(&false),
            "{name}: other tenant"
        );
        assert!(
            repo.delete_asset("t1", &a.id, Utc::now())
                .await
                .expect("delete")
        );
        assert!(
            !repo
                .delete_asset("t1", &a.id, Utc::now())
                .await
                .expect("delete")
        );
        assert!(repo.get_asset("t1", &a.id).await.expect("get").is_none());
        assert!(repo.blob_in_use(&a.sha256).await.expect("ref"), "{name}");
        assert!(!repo.blob_in_use(&"f".repeat(64)).await.expect("ref"));
        assert!(
            !repo
                .change_status(&a.id, Status::Active, &failed)
                .await
                .expect("cas"),
            "{name}: deleted stays"
        );
    }
}

#[tokio::test]
async fn review_queue_contract() {
    for (name, repo, _dir) in backends().await {
        let ids = [
            "asset-20260101000001-aaaaa",
            "asset-20260101000002-bbbbb",
            "asset-20260101000003-ccccc",
        ];
        for (i, id) in ids.iter().enumerate() {
            let tenant = if i == 1 { "t2" } else { "t1" };
            let a = new_asset(id, tenant, i as u32, AssetType::Image, "x");
            repo.insert_asset_with_job(&a, &job())
                .await
                .expect("insert");
        }
        let record = ModerationRecord {
            detector: "test".into(),
            faces: vec![FaceBox {
                x: 1,
                y: 2,
                width: 30,
                height: 40,
                score: 5.5,
                frame: None,
            }],
            width: 640,
            height: 480,
            ..ModerationRecord::default()
        };
        let hold = StatusChange {
            to: Status::PendingReview,
            format: None,
            facts: None,
            failure: None,
            moderation: Some(record.clone()),
            at: Utc::now(),
        };
        for id in [ids[2], ids[0], ids[1]] {
            let id = AssetId::parse(id).expect("id");
            assert!(
                repo.change_status(&id, Status::Processing, &hold)
                    .await
                    .expect("hold"),
                "{name}"
            );
        }
        // Every tenant's held assets, oldest first, in keyset pages.
        let first = repo.list_pending_reviews(None, 2).await.expect("queue");
        let got: Vec<&str> = first.items.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(got, vec![ids[0], ids[1]], "{name}");
        assert_eq!(first.items[0].moderation.as_ref(), Some(&record));
        let rest = repo
            .list_pending_reviews(first.next_before, 2)
            .await
            .expect("queue");
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.next_before, None);

        // A decision moves it out of the queue once.
        let approve = StatusChange {
            to: Status::Active,
            moderation: None,
            ..hold.clone()
        };
        let first_id = AssetId::parse(ids[0]).expect("id");
        assert!(
            repo.change_status(&first_id, Status::PendingReview, &approve)
                .await
                .expect("approve")
        );
        assert!(
            !repo
                .change_status(&first_id, Status::PendingReview, &approve)
                .await
                .expect("again"),
            "{name}"
        );
        let kept = repo
            .get_asset("t1", &first_id)
            .await
            .expect("get")
            .expect("asset");
        assert_eq!(
            kept.moderation,
            Some(record),
            "{name}: record kept when not replaced"
        );
        assert_eq!(
            repo.list_pending_reviews(None, 10)
                .await
                .expect("queue")
                .items
                .len(),
            2
        );
    }
}

#[tokio::test]
async fn job_queue_contract() {
    for (name, repo, _dir) in backends().await {
        let lease = Duration::from_secs(30);
        assert!(
            repo.claim_job("w1", lease).await.expect("claim").is_none(),
            "{name}: empty"
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
        assert_eq!(j1.asset_id, a.id.as_str(), "{name}: oldest first");
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
            "{name}: both leased"
        );

        assert!(repo.heartbeat_job(j1.id, "w1", lease).await.expect("beat"));
        assert!(
            !repo.heartbeat_job(j1.id, "w2", lease).await.expect("beat"),
            "{name}: not w2's"
        );

        // Retry later: not claimable until due, then claimable with the error kept.
        let later = Utc::now() + chrono::Duration::seconds(60);
        repo.retry_job(j1.id, "w1", later, "blob store hiccup")
            .await
            .expect("retry");
        assert!(
            repo.claim_job("w3", lease).await.expect("claim").is_none(),
            "{name}: not yet due"
        );
        assert_eq!(
            repo.count_jobs().await.expect("count"),
            2,
            "{name}: the retried job is still queued"
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
        assert_eq!(taken.id, short.id, "{name}: stale lease requeued");
        assert_eq!(taken.attempts, 4);
        repo.complete_job(taken.id, "w4")
            .await
            .expect("complete by old owner is ignored");
        assert_eq!(repo.count_jobs().await.expect("count"), 2, "{name}");
        repo.complete_job(taken.id, "w5").await.expect("complete");
        assert_eq!(repo.count_jobs().await.expect("count"), 1);

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
        assert_eq!(
            repo.release_all_leases().await.expect("release"),
            1,
            "{name}"
        );
        let again = repo
            .claim_job("w7", lease)
            .await
            .expect("claim")
            .expect("released job");
        assert_eq!(again.id, jc.id);
    }
}

#[tokio::test]
async fn keys_contract() {
    for (name, repo, _dir) in backends().await {
        assert_eq!(repo.count_active_admin_keys().await.expect("count"), 0);
        for (id, role) in [("key_a", Role::Admin), ("key_t", Role::Tenant)] {
            repo.insert_key(&NewApiKey {
                id: id.into(),
                key_hash: format!("hash-{id}"),
                tenant: "acme".into(),
                role,
                created_at: Utc::now(),
            })
            .await
            .expect("insert key");
        }
        assert_eq!(
            repo.count_active_admin_keys().await.expect("count"),
            1,
            "{name}"
        );
        let found = repo
            .find_active_key("hash-key_t")
            .await
            .expect("find")
            .expect("key");
        assert_eq!(
            (found.id.as_str(), found.role, found.tenant.as_str()),
            ("key_t", Role::Tenant, "acme")
        );
        assert!(repo.find_active_key("nope").await.expect("find").is_none());
        assert!(repo.revoke_key("key_a", Utc::now()).await.expect("revoke"));
        assert!(
            !repo.revoke_key("key_a", Utc::now()).await.expect("revoke"),
            "{name}: once"
        );
        assert!(
            repo.find_active_key("hash-key_a")
                .await
                .expect("find")
                .is_none()
        );
        assert_eq!(repo.count_active_admin_keys().await.expect("count"), 0);
        let listed = repo.list_keys().await.expect("list");
        assert_eq!(listed.len(), 2);
        assert!(
            listed
                .iter()
                .any(|k| k.id == "key_a" && k.revoked_at.is_some())
        );
    }
}

#[tokio::test]
async fn tasks_contract() {
    for (name, repo, _dir) in backends().await {
        let a = "asset-20260101000001-aaaaa".to_owned();
        let b = "asset-20260101000002-bbbbb".to_owned();
        assert_eq!(repo.unfinished_task_using(&a).await.expect("query"), None);
        repo.record_task("task-1", "t1", "queued", false, &[a.clone(), b.clone()])
            .await
            .expect("record");
        repo.record_task("task-2", "t1", "queued", false, std::slice::from_ref(&a))
            .await
            .expect("record");
        assert_eq!(
            repo.unfinished_task_using(&a)
                .await
                .expect("query")
                .as_deref(),
            Some("task-1"),
            "{name}"
        );
        // Recording again updates, without duplicating links.
        assert!(
            repo.record_task(
                "task-1",
                "t1",
                "processing",
                false,
                std::slice::from_ref(&a),
            )
            .await
            .expect("again")
        );
        // Another tenant's task of the same id is neither taken over nor linked.
        let c = "asset-20260101000003-ccccc".to_owned();
        assert!(
            !repo
                .record_task("task-1", "t2", "completed", true, std::slice::from_ref(&c))
                .await
                .expect("other tenant"),
            "{name}"
        );
        assert!(repo.has_task("t1", "task-1").await.expect("has"), "{name}");
        assert!(!repo.has_task("t2", "task-1").await.expect("has"), "{name}");
        assert!(!repo.has_task("t1", "task-9").await.expect("has"), "{name}");
        assert_eq!(repo.unfinished_task_using(&c).await.expect("query"), None);
        assert!(
            !repo
                .update_task("t2", "task-1", "completed", true)
                .await
                .expect("update"),
            "{name}: other tenant"
        );
        assert!(
            repo.update_task("t1", "task-1", "completed", true)
                .await
                .expect("update")
        );
        assert_eq!(
            repo.unfinished_task_using(&a)
                .await
                .expect("query")
                .as_deref(),
            Some("task-2")
        );
        assert_eq!(
            repo.unfinished_task_using(&b).await.expect("query"),
            None,
            "{name}: task-1 finished"
        );
        assert!(
            repo.update_task("t1", "task-2", "failed", true)
                .await
                .expect("update")
        );
        assert_eq!(repo.unfinished_task_using(&a).await.expect("query"), None);
    }
}

#[tokio::test]
async fn lease_release_and_enqueue_contract() {
    for (name, repo, _dir) in backends().await {
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
        assert_eq!((first.attempts, second.attempts), (1, 1), "{name}");
        assert!(repo.claim_job("w3", lease).await.expect("claim").is_none());

        // A stopping worker hands back its own job only, uncounted, claimable at once.
        assert_eq!(
            repo.release_leases("w1").await.expect("release"),
            1,
            "{name}"
        );
        assert_eq!(repo.release_leases("w1").await.expect("again"), 0, "{name}");
        let again = repo
            .claim_job("w3", lease)
            .await
            .expect("claim")
            .expect("released job");
        assert_eq!(again.id, first.id, "{name}");
        assert_eq!(
            again.attempts, 1,
            "{name}: the interrupted attempt is not counted"
        );
        assert!(
            repo.heartbeat_job(second.id, "w2", lease)
                .await
                .expect("beat"),
            "{name}: the other worker keeps its lease"
        );

        // Enqueue for an existing asset (a repair): due now, fresh attempts.
        repo.complete_job(again.id, "w3").await.expect("complete");
        assert_eq!(repo.count_jobs().await.expect("count"), 1, "{name}");
        repo.enqueue_job(a.id.as_str(), &job())
            .await
            .expect("enqueue");
        assert_eq!(repo.count_jobs().await.expect("count"), 2, "{name}");
        let queued = repo
            .claim_job("w4", lease)
            .await
            .expect("claim")
            .expect("job");
        assert_eq!(queued.asset_id, a.id.as_str(), "{name}");
        assert_eq!((queued.attempts, queued.max_attempts), (1, 3), "{name}");
    }
}

#[tokio::test]
async fn maintenance_contract() {
    for (name, repo, _dir) in backends().await {
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
            ],
            "{name}"
        );
        assert_eq!(first[0].status, Status::Active, "{name}");
        assert_eq!(first[0].sha256, format!("{:064x}", 1), "{name}");
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
            vec![ids[2].clone()],
            "{name}"
        );
        repo.enqueue_job(ids[2].as_str(), &job())
            .await
            .expect("requeue");
        assert!(
            repo.processing_without_job()
                .await
                .expect("stuck")
                .is_empty(),
            "{name}"
        );
        repo.complete_job(j2.id, "w").await.expect("done 2");
    }
}

#[tokio::test]
async fn list_totals_follow_inserts_status_changes_and_deletes_contract() {
    for (name, repo, _dir) in backends().await {
        let total = |tenant: &'static str, filter: AssetFilter| {
            let repo = repo.clone();
            async move {
                repo.list_assets_offset(tenant, &filter, 0, 1)
                    .await
                    .expect("list")
                    .total
            }
        };
        let by_status = |s: Status| AssetFilter {
            statuses: vec![s],
            ..AssetFilter::default()
        };
        let videos = AssetFilter {
            asset_type: Some(AssetType::Video),
            ..AssetFilter::default()
        };
        let mut ids = Vec::new();
        for n in 1..=4u32 {
            let t = if n == 4 {
                AssetType::Video
            } else {
                AssetType::Image
            };
            let a = new_asset(&format!("asset-2026010100000{n}-ccccc"), "t", n, t, "x");
            repo.insert_asset_with_job(&a, &job())
                .await
                .expect("insert");
            ids.push(a.id);
        }
        let other = new_asset("asset-20260101000009-ddddd", "u", 9, AssetType::Image, "y");
        repo.insert_asset_with_job(&other, &job())
            .await
            .expect("insert");
        assert_eq!(total("t", AssetFilter::default()).await, 4, "{name}");
        assert_eq!(total("u", AssetFilter::default()).await, 1, "{name}");
        assert_eq!(total("t", videos.clone()).await, 1, "{name}");
        assert_eq!(total("t", by_status(Status::Processing)).await, 4, "{name}");

        repo.change_status(&ids[0], Status::Processing, &active())
            .await
            .expect("settle");
        assert_eq!(total("t", by_status(Status::Processing)).await, 3, "{name}");
        assert_eq!(total("t", by_status(Status::Active)).await, 1, "{name}");
        assert_eq!(total("t", AssetFilter::default()).await, 4, "{name}");

        repo.delete_asset("t", &ids[0], Utc::now())
            .await
            .expect("delete");
        repo.delete_asset("t", &ids[3], Utc::now())
            .await
            .expect("delete");
        assert_eq!(total("t", AssetFilter::default()).await, 2, "{name}");
        assert_eq!(total("t", by_status(Status::Active)).await, 0, "{name}");
        assert_eq!(total("t", videos).await, 0, "{name}");
        // A name filter counts the rows themselves, with the same answer.
        let named = AssetFilter {
            name_contains: Some("X".into()),
            ..AssetFilter::default()
        };
        assert_eq!(total("t", named).await, 2, "{name}");
        assert_eq!(total("nobody", AssetFilter::default()).await, 0, "{name}");
    }
}

/// One tenant's burst does not hold back another tenant's job: claims follow the fair order.
#[tokio::test]
async fn fair_claims_across_tenants_contract() {
    for (name, repo, _dir) in backends().await {
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
        assert_eq!(order.len(), 41, "{name}: every job claimed once");
        let place = order
            .iter()
            .position(|id| id == single.id.as_str())
            .expect("claimed");
        assert!(
            place <= 2,
            "{name}: the other tenant's job was claimed {}th, behind the burst",
            place + 1
        );
        // The burst keeps its own order.
        let burst: Vec<&String> = order.iter().filter(|id| id.ends_with("burst")).collect();
        let mut sorted = burst.clone();
        sorted.sort();
        assert_eq!(burst, sorted, "{name}");
    }
}

/// Names `?name=` must find whatever the case of either side, by Unicode's rules, not ASCII's.
const FOLDED_NAMES: [&str; 5] = [
    "École Été",
    "Ωmega",
    "ΟΔΟΣ ΑΘΗΝΑΣ",
    "Straße",
    "e\u{301}clair", // "éclair" with a combining accent (NFD)
];

/// (needle, the names it finds, by index into `FOLDED_NAMES`)
const NAME_SEARCHES: [(&str, &[usize]); 13] = [
    ("école", &[0]),
    ("ÉCOLE ÉTÉ", &[0]),
    ("été", &[0]),
    ("ωmega", &[1]),
    ("ΩMEGA", &[1]),
    ("οδος", &[2]),   // final sigma
    ("οδοσ α", &[2]), // medial sigma where the name has a final one
    ("αθηνας", &[2]),
    ("STRASSE", &[3]),
    ("straße", &[3]),
    ("Éclair", &[4]),  // precomposed needle, decomposed name
    ("ecole", &[]),    // accents are not stripped
    ("e", &[0, 1, 3]), // not in "éclair" once composed
];

async fn names_found(repo: &dyn assetlib::repo::Repo, needle: &str) -> Vec<String> {
    let filter = AssetFilter {
        name_contains: Some(needle.to_owned()),
        ..AssetFilter::default()
    };
    let page = repo
        .list_assets_offset("names", &filter, 0, 50)
        .await
        .expect("list");
    let keyset = repo
        .list_assets_keyset("names", &filter, None, 50)
        .await
        .expect("keyset");
    assert_eq!(page.total as usize, page.items.len(), "{needle}");
    assert_eq!(page.items, keyset.items, "{needle}");
    let mut names: Vec<String> = page.items.into_iter().filter_map(|a| a.name).collect();
    names.sort();
    names
}

fn expected_names(found: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = found.iter().map(|i| FOLDED_NAMES[*i].to_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn name_filter_folds_case_by_unicode_contract() {
    for (backend, repo, _dir) in backends().await {
        for (n, name) in FOLDED_NAMES.iter().enumerate() {
            let n = u32::try_from(n).expect("small") + 1;
            let id = format!("asset-2026010100000{n}-fffff");
            repo.insert_asset_with_job(&new_asset(&id, "names", n, AssetType::Image, name), &job())
                .await
                .expect("insert");
        }
        for (needle, found) in NAME_SEARCHES {
            assert_eq!(
                names_found(repo.as_ref(), needle).await,
                expected_names(found),
                "{backend}: ?name={needle}"
            );
        }
    }
}

#[tokio::test]
async fn names_written_before_folding_are_folded_at_open_contract() {
    for (backend, location) in crate::backends::locations().await {
        let repo = location.open().await;
        for (n, name) in FOLDED_NAMES.iter().enumerate() {
            let n = u32::try_from(n).expect("small") + 1;
            let id = format!("asset-2026010100000{n}-ggggg");
            repo.insert_asset_with_job(&new_asset(&id, "names", n, AssetType::Image, name), &job())
                .await
                .expect("insert");
        }
        drop(repo);
        // As a server from before the folded column left them.
        location
            .execute("UPDATE assets SET name_folded = NULL")
            .await;
        let repo = location.open().await;
        for (needle, found) in NAME_SEARCHES {
            assert_eq!(
                names_found(repo.as_ref(), needle).await,
                expected_names(found),
                "{backend}: ?name={needle}"
            );
        }
        // Opening again finds nothing left to fold.
        drop(repo);
        let repo = location.open().await;
        assert_eq!(names_found(repo.as_ref(), "ωmega").await, ["Ωmega"]);
    }
}

#[tokio::test]
async fn sha256_filter_contract() {
    for (name, repo, _dir) in backends().await {
        for (n, tenant) in [(1, "t1"), (2, "t1"), (3, "t2")] {
            let id = format!("asset-20260101000000-sha{n:02}");
            repo.insert_asset_with_job(&new_asset(&id, tenant, n, AssetType::Image, "x"), &job())
                .await
                .expect("insert");
        }
        let by_sha = |n: u32| AssetFilter {
            sha256: Some(format!("{n:064x}")),
            ..AssetFilter::default()
        };
        let page = repo
            .list_assets_offset("t1", &by_sha(2), 0, 10)
            .await
            .expect("list");
        assert_eq!(page.total, 1, "{name}");
        assert_eq!(page.items[0].id.as_str(), "asset-20260101000000-sha02");
        let keyset = repo
            .list_assets_keyset("t1", &by_sha(1), None, 10)
            .await
            .expect("list");
        assert_eq!(keyset.items.len(), 1, "{name}");
        // Never another tenant's.
        let theirs = repo
            .list_assets_keyset("t1", &by_sha(3), None, 10)
            .await
            .expect("list");
        assert!(theirs.items.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn uploads_contract() {
    use assetlib::repo::NewUpload;
    for (name, repo, _dir) in backends().await {
        let at = |s: i64| {
            Utc.timestamp_opt(1_800_000_000 + s, 0)
                .single()
                .expect("time")
        };
        let upload = NewUpload {
            id: "upl-1".to_owned(),
            tenant: "t1".to_owned(),
            asset_type: AssetType::Video,
            name: Some("clip.mp4".to_owned()),
            length: 100,
            created_at: at(0),
            expires_at: at(100),
        };
        repo.create_upload(&upload).await.expect("create");
        let got = repo
            .get_upload("t1", "upl-1")
            .await
            .expect("get")
            .expect("there");
        assert_eq!(
            (got.offset, got.length, got.parts.len()),
            (0, 100, 0),
            "{name}"
        );
        assert_eq!(got.asset_type, AssetType::Video);
        assert_eq!(got.name.as_deref(), Some("clip.mp4"));
        assert!(
            repo.get_upload("t2", "upl-1").await.expect("get").is_none(),
            "{name}"
        );

        // Parts advance by compare-and-set on the offset, in order.
        assert!(
            repo.append_upload_part("upl-1", 0, 40, "p0", at(200))
                .await
                .expect("append")
        );
        assert!(
            !repo
                .append_upload_part("upl-1", 0, 30, "px", at(200))
                .await
                .expect("append"),
            "{name}: a stale offset"
        );
        assert!(
            repo.append_upload_part("upl-1", 40, 100, "p1", at(300))
                .await
                .expect("append")
        );
        let got = repo
            .get_upload("t1", "upl-1")
            .await
            .expect("get")
            .expect("there");
        assert_eq!(got.offset, 100);
        assert_eq!(got.parts, vec!["p0", "p1"], "{name}");
        assert_eq!(got.expires_at, at(300));

        // Finished once; then no part is appended any more.
        assert!(
            repo.finish_upload("upl-1", "asset-20260101000000-aaaaa")
                .await
                .expect("finish")
        );
        assert!(
            !repo
                .finish_upload("upl-1", "asset-20260101000000-bbbbb")
                .await
                .expect("finish")
        );
        assert!(
            !repo
                .append_upload_part("upl-1", 100, 100, "p2", at(300))
                .await
                .expect("append")
        );
        let got = repo
            .get_upload("t1", "upl-1")
            .await
            .expect("get")
            .expect("there");
        assert_eq!(
            got.asset_id.as_deref(),
            Some("asset-20260101000000-aaaaa"),
            "{name}"
        );

        // Expiry and removal.
        let second = NewUpload {
            id: "upl-2".to_owned(),
            expires_at: at(50),
            ..upload.clone()
        };
        repo.create_upload(&second).await.expect("create");
        assert_eq!(
            repo.expired_uploads(at(100), 10).await.expect("expired"),
            vec!["upl-2"],
            "{name}"
        );
        assert!(repo.delete_upload("upl-2").await.expect("delete"));
        assert!(!repo.delete_upload("upl-2").await.expect("delete"));
        assert_eq!(
            repo.expired_uploads(at(300), 10).await.expect("expired"),
            vec!["upl-1"]
        );
    }
}

#[tokio::test]
async fn rename_restore_and_purge_contract() {
    for (name, repo, _dir) in backends().await {
        let at = |s: u32| {
            Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, s)
                .single()
                .expect("time")
        };
        let id = AssetId::parse("asset-20260101000000-rr001").expect("id");
        let other = AssetId::parse("asset-20260101000000-rr002").expect("id");
        for (i, n) in [(&id, 1), (&other, 2)] {
            repo.insert_asset_with_job(
                &new_asset(i.as_str(), "t1", n, AssetType::Image, "Old Name"),
                &job(),
            )
            .await
            .expect("insert");
        }
        // Rename, found by the new name; not another tenant's.
        assert!(
            repo.rename_asset("t1", &id, Some("Brand New"), at(1))
                .await
                .expect("rename")
        );
        assert!(
            !repo
                .rename_asset("t2", &id, Some("x"), at(1))
                .await
                .expect("rename"),
            "{name}"
        );
        let named = AssetFilter {
            name_contains: Some("brand".into()),
            ..AssetFilter::default()
        };
        let found = repo
            .list_assets_offset("t1", &named, 0, 10)
            .await
            .expect("list");
        assert_eq!(found.total, 1, "{name}");
        assert!(
            repo.rename_asset("t1", &id, None, at(1))
                .await
                .expect("rename")
        );
        let asset = repo
            .get_asset("t1", &id)
            .await
            .expect("get")
            .expect("there");
        assert_eq!(asset.name, None);

        // Delete, listed as deleted, restored within the window, counted again.
        assert!(repo.delete_asset("t1", &id, at(10)).await.expect("delete"));
        let deleted = AssetFilter {
            deleted: true,
            ..AssetFilter::default()
        };
        let page = repo
            .list_assets_keyset("t1", &deleted, None, 10)
            .await
            .expect("list");
        assert_eq!(page.items.len(), 1, "{name}");
        assert_eq!(
            repo.list_assets_offset("t1", &AssetFilter::default(), 0, 10)
                .await
                .expect("list")
                .total,
            1
        );
        assert!(
            !repo
                .restore_asset("t1", &id, at(11), at(20))
                .await
                .expect("restore"),
            "{name}: deleted before the window"
        );
        assert!(
            !repo
                .restore_asset("t2", &id, at(0), at(20))
                .await
                .expect("restore")
        );
        assert!(
            repo.restore_asset("t1", &id, at(5), at(20))
                .await
                .expect("restore")
        );
        assert!(
            !repo
                .restore_asset("t1", &id, at(5), at(20))
                .await
                .expect("restore"),
            "{name}: live"
        );
        assert_eq!(
            repo.list_assets_offset("t1", &AssetFilter::default(), 0, 10)
                .await
                .expect("list")
                .total,
            2,
            "{name}"
        );

        // Purge: only rows deleted before the cut-off go.
        assert!(
            repo.delete_asset("t1", &other, at(30))
                .await
                .expect("delete")
        );
        assert_eq!(
            repo.purge_deleted(at(30), 10).await.expect("purge"),
            0,
            "{name}"
        );
        assert_eq!(
            repo.purge_deleted(at(31), 10).await.expect("purge"),
            1,
            "{name}"
        );
        assert!(
            repo.list_assets_keyset("t1", &deleted, None, 10)
                .await
                .expect("list")
                .items
                .is_empty()
        );
        assert!(repo.get_asset("t1", &id).await.expect("get").is_some());
    }
}

#[tokio::test]
async fn groups_contract() {
    use assetlib::domain::{Group, GroupId};
    use assetlib::repo::{GroupDeletion, GroupUpdate};
    for (name, repo, _dir) in backends().await {
        let at = |s: u32| {
            Utc.with_ymd_and_hms(2026, 5, 28, 6, 9, s)
                .single()
                .expect("time")
        };
        let group = |id: &str, tenant: &str, group_name: &str, s: u32| Group {
            id: GroupId::parse(id).expect("group id"),
            tenant: tenant.to_owned(),
            name: group_name.to_owned(),
            description: Some("first".to_owned()),
            asset_count: 0,
            create_time: at(s),
            update_time: at(s),
        };
        let g1 = group("group-20260528060901-aaaaa", "t1", "Heroes École", 1);
        let g2 = group("group-20260528060902-bbbbb", "t1", "Villains", 2);
        assert!(repo.insert_group(&g1).await.expect("insert"), "{name}");
        assert!(
            !repo.insert_group(&g1).await.expect("insert"),
            "{name}: id taken"
        );
        assert!(repo.insert_group(&g2).await.expect("insert"), "{name}");
        assert_eq!(
            repo.get_group("t1", g1.id.as_str()).await.expect("get"),
            Some(g1.clone()),
            "{name}"
        );
        assert_eq!(
            repo.get_group("t2", g1.id.as_str()).await.expect("get"),
            None,
            "{name}: not another tenant's"
        );

        // Newest first, with the total; the name filter folds case.
        let page = repo.list_groups("t1", None, 0, 10).await.expect("list");
        assert_eq!(page.total, 2, "{name}");
        let ids: Vec<_> = page.items.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, [g2.id.as_str(), g1.id.as_str()], "{name}");
        let page = repo.list_groups("t1", None, 1, 10).await.expect("list");
        assert_eq!(page.items.len(), 1, "{name}");
        let found = repo
            .list_groups("t1", Some("ÉCOLE"), 0, 10)
            .await
            .expect("list");
        assert_eq!(found.total, 1, "{name}");
        assert_eq!(found.items[0].id, g1.id, "{name}");
        assert_eq!(
            repo.list_groups("t2", None, 0, 10)
                .await
                .expect("list")
                .total,
            0
        );

        // Update: name and description each when set; a description can be cleared.
        let rename = GroupUpdate {
            name: Some("Heroes".to_owned()),
            description: Some(None),
        };
        assert!(
            repo.update_group("t1", g1.id.as_str(), &rename, at(5))
                .await
                .expect("update")
        );
        assert!(
            !repo
                .update_group("t2", g1.id.as_str(), &rename, at(5))
                .await
                .expect("update"),
            "{name}"
        );
        let stored = repo
            .get_group("t1", g1.id.as_str())
            .await
            .expect("get")
            .expect("there");
        assert_eq!(
            (stored.name.as_str(), stored.description, stored.update_time),
            ("Heroes", None, at(5)),
            "{name}"
        );

        // Assets filed in a group: at insert and later; counted; listed by group.
        let mut filed = new_asset(
            "asset-20260528060910-grp01",
            "t1",
            10,
            AssetType::Image,
            "a",
        );
        filed.group_id = Some(g1.id.to_string());
        repo.insert_asset_with_job(&filed, &job())
            .await
            .expect("insert");
        let loose = new_asset(
            "asset-20260528060911-grp02",
            "t1",
            11,
            AssetType::Image,
            "b",
        );
        repo.insert_asset_with_job(&loose, &job())
            .await
            .expect("insert");
        let in_g1 = AssetFilter {
            group_id: Some(g1.id.to_string()),
            ..AssetFilter::default()
        };
        let in_any = AssetFilter {
            group_ids: vec![g1.id.to_string(), g2.id.to_string()],
            ..AssetFilter::default()
        };
        let listed = repo
            .list_assets_offset("t1", &in_any, 0, 10)
            .await
            .expect("list");
        assert_eq!(
            (listed.total, listed.items.len()),
            (1, 1),
            "{name}: the total counts the groups' assets only"
        );
        let listed = repo
            .list_assets_offset("t1", &in_g1, 0, 10)
            .await
            .expect("list");
        assert_eq!(listed.total, 1, "{name}");
        assert_eq!(listed.items[0].group_id.as_deref(), Some(g1.id.as_str()));
        assert!(
            repo.set_asset_group("t1", &loose.id, Some(g1.id.as_str()), at(12))
                .await
                .expect("file")
        );
        assert!(
            !repo
                .set_asset_group("t2", &loose.id, None, at(12))
                .await
                .expect("file"),
            "{name}: not another tenant's asset"
        );
        let keyset = repo
            .list_assets_keyset("t1", &in_g1, None, 10)
            .await
            .expect("list");
        assert_eq!(keyset.items.len(), 2, "{name}");
        let counted = repo
            .get_group("t1", g1.id.as_str())
            .await
            .expect("get")
            .expect("there");
        assert_eq!(counted.asset_count, 2, "{name}");

        // Deleting: refused while assets are in it; cascade deletes them, restorable, out of
        // the group that is gone.
        assert_eq!(
            repo.delete_group("t1", g1.id.as_str(), false, at(20))
                .await
                .expect("delete"),
            GroupDeletion::NotEmpty { assets: 2 },
            "{name}"
        );
        assert!(
            repo.set_asset_group("t1", &loose.id, None, at(21))
                .await
                .expect("unfile")
        );
        assert_eq!(
            repo.delete_group("t1", g1.id.as_str(), true, at(22))
                .await
                .expect("delete"),
            GroupDeletion::Deleted { assets: 1 },
            "{name}"
        );
        assert_eq!(
            repo.delete_group("t1", g1.id.as_str(), true, at(22))
                .await
                .expect("delete"),
            GroupDeletion::Missing,
            "{name}"
        );
        assert!(
            repo.get_asset("t1", &filed.id)
                .await
                .expect("get")
                .is_none(),
            "{name}: deleted with its group"
        );
        assert!(
            repo.get_asset("t1", &loose.id)
                .await
                .expect("get")
                .is_some()
        );
        assert!(
            repo.restore_asset("t1", &filed.id, at(0), at(30))
                .await
                .expect("restore")
        );
        let restored = repo
            .get_asset("t1", &filed.id)
            .await
            .expect("get")
            .expect("restored");
        assert_eq!(restored.group_id, None, "{name}: its group is gone");
        assert_eq!(
            repo.delete_group("t1", g2.id.as_str(), false, at(31))
                .await
                .expect("delete"),
            GroupDeletion::Deleted { assets: 0 },
            "{name}"
        );
    }
}

#[tokio::test]
async fn quotas_contract() {
    use assetlib::domain::{Quota, Usage};
    for (name, repo, _dir) in backends().await {
        assert_eq!(repo.get_quota("q1").await.expect("get"), None, "{name}");
        let quota = Quota {
            max_assets: Some(5),
            max_bytes: None,
            uploads_per_minute: Some(60),
        };
        repo.put_quota("q1", &quota, Utc::now()).await.expect("put");
        assert_eq!(repo.get_quota("q1").await.expect("get"), Some(quota));
        let changed = Quota {
            max_bytes: Some(u64::MAX),
            ..Quota::default()
        };
        repo.put_quota("q1", &changed, Utc::now())
            .await
            .expect("put");
        assert_eq!(
            repo.get_quota("q1").await.expect("get"),
            Some(Quota {
                max_bytes: Some(i64::MAX as u64),
                ..Quota::default()
            }),
            "{name}: replaced whole, the largest limit kept as the largest stored"
        );
        assert_eq!(repo.get_quota("q2").await.expect("get"), None, "{name}");
        assert!(repo.delete_quota("q1").await.expect("delete"));
        assert!(!repo.delete_quota("q1").await.expect("delete"));

        // Use: live assets and their bytes; created since a time, deleted ones included.
        let since = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 2)
            .single()
            .expect("t");
        for (i, s) in [(1, 1), (2, 2), (3, 3)] {
            let asset = new_asset(
                &format!("asset-20260101000000-quo0{i}"),
                "q1",
                s,
                AssetType::Image,
                "q",
            );
            repo.insert_asset_with_job(&asset, &job())
                .await
                .expect("insert");
        }
        let gone = AssetId::parse("asset-20260101000000-quo03").expect("id");
        assert!(
            repo.delete_asset("q1", &gone, Utc::now())
                .await
                .expect("delete")
        );
        assert_eq!(
            repo.tenant_usage("q1", since).await.expect("usage"),
            Usage {
                assets: 2,
                bytes: 2 * 1234,
                uploads_last_minute: 2,
            },
            "{name}"
        );
        assert_eq!(
            repo.tenant_usage("q9", since).await.expect("usage"),
            Usage::default(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn expiry_contract() {
    use assetlib::repo::TenantScope;
    for (name, repo, _dir) in backends().await {
        let at = |s: u32| {
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, s)
                .single()
                .expect("time")
        };
        let ids: Vec<AssetId> = (1..=4)
            .map(|i| AssetId::parse(&format!("asset-20260101000000-exp0{i}")).expect("id"))
            .collect();
        for (i, (id, tenant)) in ids.iter().zip(["e1", "e1", "e1", "e2"]).enumerate() {
            let asset = new_asset(id.as_str(), tenant, i as u32 + 1, AssetType::Image, "e");
            repo.insert_asset_with_job(&asset, &job())
                .await
                .expect("insert");
        }
        // exp01 (created at 1) used at 20; another tenant cannot mark it.
        repo.mark_assets_used("e1", &ids[..1], at(20))
            .await
            .expect("mark");
        repo.mark_assets_used("e2", &ids[1..2], at(30))
            .await
            .expect("mark");
        let used = repo
            .get_asset("e1", &ids[0])
            .await
            .expect("get")
            .expect("there");
        assert_eq!(used.last_used_at, Some(at(20)), "{name}");
        let other = repo
            .get_asset("e1", &ids[1])
            .await
            .expect("get")
            .expect("there");
        assert_eq!(other.last_used_at, None, "{name}: not another tenant's");

        let found = |v: Vec<(String, AssetId)>| -> Vec<String> {
            v.into_iter()
                .map(|(_, id)| id.as_str().to_owned())
                .collect()
        };
        let e1 = TenantScope::One("e1".into());
        // Unused since before 10: exp02 (created 2) and exp03 (created 3), not exp01 (used 20).
        let unused = repo
            .expired_assets(&e1, Some(at(10)), None, 10)
            .await
            .expect("expired");
        assert_eq!(found(unused), [ids[1].as_str(), ids[2].as_str()], "{name}");
        // Created before 2: exp01 only, used or not.
        let old = repo
            .expired_assets(&e1, None, Some(at(2)), 10)
            .await
            .expect("expired");
        assert_eq!(found(old), [ids[0].as_str()], "{name}");
        // Every tenant but e1: exp04; nothing without a cut-off.
        let rest = repo
            .expired_assets(
                &TenantScope::AllBut(vec!["e1".into()]),
                Some(at(59)),
                None,
                10,
            )
            .await
            .expect("expired");
        assert_eq!(found(rest), [ids[3].as_str()], "{name}");
        assert!(
            repo.expired_assets(&e1, None, None, 10)
                .await
                .expect("expired")
                .is_empty()
        );
        // An asset an unfinished task still reads is kept; once the task finishes it goes.
        repo.record_task("task-exp", "e1", "running", false, &[ids[2].to_string()])
            .await
            .expect("task");
        let unused = repo
            .expired_assets(&e1, Some(at(10)), None, 10)
            .await
            .expect("expired");
        assert_eq!(found(unused), [ids[1].as_str()], "{name}: in use");
        repo.record_task("task-exp", "e1", "succeeded", true, &[ids[2].to_string()])
            .await
            .expect("task");

        // Deleted assets are not expired again.
        assert!(
            repo.delete_asset("e1", &ids[1], at(40))
                .await
                .expect("delete")
        );
        let unused = repo
            .expired_assets(&e1, Some(at(10)), None, 10)
            .await
            .expect("expired");
        assert_eq!(found(unused), [ids[2].as_str()], "{name}");
    }
}
