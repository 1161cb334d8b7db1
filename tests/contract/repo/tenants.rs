//! What belongs to a tenant besides its assets: API keys, gateway tasks, quotas and usage,
//! resumable uploads.

use std::sync::Arc;

use assetlib::domain::{AssetId, AssetType, Role};
use assetlib::repo::{NewApiKey, Repo};
use chrono::{TimeZone, Utc};

use super::{job, new_asset};
use crate::backends::per_backend;

async fn keys_contract(repo: Arc<dyn Repo>) {
    assert_eq!(repo.count_active_admin_keys().await.expect("count"), 0);
    for (id, role) in [("key_a", Role::Admin), ("key_t", Role::Tenant)] {
        repo.insert_key(&NewApiKey {
            id: id.into(),
            key_hash: format!("hash-{id}"),
            tenant: "acme".into(),
            role,
            name: Some(format!("{id} owner")),
            created_at: Utc::now(),
        })
        .await
        .expect("insert key");
    }
    assert_eq!(repo.count_active_admin_keys().await.expect("count"), 1);
    let found = repo
        .find_active_key("hash-key_t")
        .await
        .expect("find")
        .expect("key");
    assert_eq!(
        (found.id.as_str(), found.role, found.tenant.as_str()),
        ("key_t", Role::Tenant, "acme")
    );
    assert_eq!(
        found.name.as_deref(),
        Some("key_t owner"),
        "a key keeps its name"
    );
    assert!(repo.find_active_key("nope").await.expect("find").is_none());
    assert!(repo.revoke_key("key_a", Utc::now()).await.expect("revoke"));
    assert!(
        !repo.revoke_key("key_a", Utc::now()).await.expect("revoke"),
        "once"
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

async fn tasks_contract(repo: Arc<dyn Repo>) {
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
        Some("task-1")
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
            .expect("other tenant")
    );
    assert!(repo.has_task("t1", "task-1").await.expect("has"));
    assert!(!repo.has_task("t2", "task-1").await.expect("has"));
    assert!(!repo.has_task("t1", "task-9").await.expect("has"));
    assert_eq!(repo.unfinished_task_using(&c).await.expect("query"), None);
    assert!(
        !repo
            .update_task("t2", "task-1", "completed", true)
            .await
            .expect("update"),
        "other tenant"
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
        "task-1 finished"
    );
    assert!(
        repo.update_task("t1", "task-2", "failed", true)
            .await
            .expect("update")
    );
    assert_eq!(repo.unfinished_task_using(&a).await.expect("query"), None);
}

async fn quotas_contract(repo: Arc<dyn Repo>) {
    use assetlib::domain::{Quota, Usage};
    assert_eq!(repo.get_quota("q1").await.expect("get"), None);
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
        "replaced whole, the largest limit kept as the largest stored"
    );
    assert_eq!(repo.get_quota("q2").await.expect("get"), None);
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
            ..Usage::default()
        }
    );
    assert_eq!(
        repo.tenant_usage("q9", since).await.expect("usage"),
        Usage::default()
    );
}

/// The steps of `uploads`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UploadStep {
    Create,
    Parts,
    Finish,
    Expiry,
}

/// A resumable upload created, appended to, finished and expired, up to and including the step
/// `until` (a case runs the steps before its own as well).
async fn uploads(repo: Arc<dyn Repo>, until: UploadStep) {
    use assetlib::repo::NewUpload;
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
    assert_eq!((got.offset, got.length, got.parts.len()), (0, 100, 0));
    assert_eq!(got.asset_type, AssetType::Video);
    assert_eq!(got.name.as_deref(), Some("clip.mp4"));
    assert!(repo.get_upload("t2", "upl-1").await.expect("get").is_none());

    if until == UploadStep::Create {
        return;
    }

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
        "a stale offset"
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
    assert_eq!(got.parts, vec!["p0", "p1"]);
    assert_eq!(got.expires_at, at(300));

    if until == UploadStep::Parts {
        return;
    }

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
    assert_eq!(got.asset_id.as_deref(), Some("asset-20260101000000-aaaaa"));

    if until == UploadStep::Finish {
        return;
    }

    // Expiry and removal.
    let second = NewUpload {
        id: "upl-2".to_owned(),
        expires_at: at(50),
        ..upload.clone()
    };
    repo.create_upload(&second).await.expect("create");
    assert_eq!(
        repo.expired_uploads(at(100), 10).await.expect("expired"),
        vec!["upl-2"]
    );
    assert!(repo.delete_upload("upl-2").await.expect("delete"));
    assert!(!repo.delete_upload("upl-2").await.expect("delete"));
    assert_eq!(
        repo.expired_uploads(at(300), 10).await.expect("expired"),
        vec!["upl-1"]
    );
}

async fn an_upload_is_created_and_read_by_its_tenant_only(repo: Arc<dyn Repo>) {
    uploads(repo, UploadStep::Create).await;
}

async fn parts_advance_by_compare_and_set_on_the_offset(repo: Arc<dyn Repo>) {
    uploads(repo, UploadStep::Parts).await;
}

async fn an_upload_is_finished_once_and_then_takes_no_part(repo: Arc<dyn Repo>) {
    uploads(repo, UploadStep::Finish).await;
}

async fn expired_uploads_are_listed_and_removed(repo: Arc<dyn Repo>) {
    uploads(repo, UploadStep::Expiry).await;
}

/// Two inserts that finish the same upload, started together: one asset is inserted and the
/// upload records it; the other inserts nothing and is told which asset the upload became
/// (its blob hold left for its owner to release); a later one is told the same.
async fn an_upload_finished_by_racing_inserts_becomes_one_asset(repo: Arc<dyn Repo>) {
    use assetlib::repo::{Filed, HoldKind, Insert, NewUpload};
    let at = Utc.timestamp_opt(1_800_000_000, 0).single().expect("time");
    let upload = NewUpload {
        id: "upl-race".to_owned(),
        tenant: "t1".to_owned(),
        asset_type: AssetType::Image,
        name: None,
        length: 10,
        created_at: at,
        expires_at: at + chrono::Duration::days(1),
    };
    repo.create_upload(&upload).await.expect("create");
    let sha = format!("{:064x}", 7);
    let mut holds = Vec::new();
    for _ in 0..3 {
        holds.push(
            repo.hold_blob(&sha, HoldKind::Upload, Utc::now())
                .await
                .expect("hold"),
        );
    }
    let ids = [
        "asset-20260101000001-aaaaa",
        "asset-20260101000002-bbbbb",
        "asset-20260101000003-ccccc",
    ];
    let asset = |i: usize| new_asset(ids[i], "t1", 7, AssetType::Image, "race");
    let (a, b) = (asset(0), asset(1));
    let job = job();
    let filed = |hold: usize| Filed {
        hold: &holds[hold],
        finishes: Some("upl-race"),
        quota: None,
    };
    let (filed_a, filed_b) = (filed(0), filed(1));
    let (first, second) = tokio::join!(
        repo.insert_filed_asset(&a, &job, &filed_a),
        repo.insert_filed_asset(&b, &job, &filed_b),
    );
    let outcomes = [first.expect("insert"), second.expect("insert")];
    let won: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Insert::Inserted(asset) => Some(asset.id.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    let winner = won[0].clone();
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Insert::UploadFinished(Some(id)) if *id == winner)),
        "{outcomes:?}"
    );
    let stored = repo
        .get_upload("t1", "upl-race")
        .await
        .expect("get")
        .expect("there");
    assert_eq!(stored.asset_id.as_deref(), Some(winner.as_str()));
    let loser = ids
        .iter()
        .take(2)
        .find(|id| **id != winner)
        .expect("a loser");
    let loser = AssetId::parse(loser).expect("id");
    assert!(repo.get_asset("t1", &loser).await.expect("get").is_none());
    // The winner's hold went with its row; the loser's is still there for it to release.
    for (i, hold) in holds.iter().take(2).enumerate() {
        let released = repo.release_hold(hold).await.expect("release");
        assert_eq!(released, ids[i] != winner, "hold {i}");
    }

    let late = repo
        .insert_filed_asset(&asset(2), &job, &filed(2))
        .await
        .expect("insert");
    assert!(
        matches!(&late, Insert::UploadFinished(Some(id)) if *id == winner),
        "{late:?}"
    );
}

/// Inserts checked against the tenant's quota, started together: exactly as many as it allows
/// are inserted, the others are told why (`OverQuota`) and insert nothing.
async fn racing_inserts_never_pass_the_quota(repo: Arc<dyn Repo>) {
    use assetlib::domain::Quota;
    use assetlib::repo::{Filed, HoldKind, Insert, QuotaCheck};
    let check = QuotaCheck {
        quota: Quota {
            max_assets: Some(3),
            ..Quota::default()
        },
        since: Utc::now() - chrono::Duration::minutes(1),
    };
    let sha = format!("{:064x}", 9);
    let mut holds = Vec::new();
    let mut assets = Vec::new();
    for i in 0..8 {
        holds.push(
            repo.hold_blob(&sha, HoldKind::Upload, Utc::now())
                .await
                .expect("hold"),
        );
        // Of every type: the trigger-kept counts of one type would keep them apart anyway.
        let types = [
            AssetType::Image,
            AssetType::Video,
            AssetType::Audio,
            AssetType::Document,
        ];
        let id = format!("asset-20260101000000-qr{i:03}");
        assets.push(new_asset(&id, "quota-racer", 9, types[i % 4], "q"));
    }
    let job = job();
    let inserts = assets.iter().zip(&holds).map(|(asset, hold)| {
        let repo = Arc::clone(&repo);
        let job = &job;
        async move {
            let filed = Filed {
                hold,
                finishes: None,
                quota: Some(check),
            };
            repo.insert_filed_asset(asset, job, &filed).await
        }
    });
    let outcomes = futures_util::future::join_all(inserts).await;
    let inserted = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Insert::Inserted(_))))
        .count();
    assert_eq!(inserted, 3, "{outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            Ok(Insert::Inserted(_)) => {}
            Ok(Insert::OverQuota(over)) => {
                assert!(
                    over.message.contains("3 of its 3 assets"),
                    "{}",
                    over.message
                )
            }
            other => panic!("{other:?}"),
        }
    }
    let usage = repo
        .tenant_usage("quota-racer", check.since)
        .await
        .expect("usage");
    assert_eq!(usage.assets, 3);
}

/// Uploads created against the open-uploads cap and the bytes quota, with what is reserved.
async fn uploads_are_created_within_the_open_cap_and_the_reserved_bytes(repo: Arc<dyn Repo>) {
    use assetlib::domain::Quota;
    use assetlib::repo::{NewUpload, QuotaCheck};
    let now = Utc::now();
    let upload = |id: &str, length: u64| NewUpload {
        id: id.to_owned(),
        tenant: "reserver".to_owned(),
        asset_type: AssetType::Image,
        name: None,
        length,
        created_at: now,
        expires_at: now + chrono::Duration::days(1),
    };
    let check = Some(QuotaCheck {
        quota: Quota {
            max_bytes: Some(1000),
            ..Quota::default()
        },
        since: now - chrono::Duration::minutes(1),
    });
    let created =
        |r: assetlib::repo::RepoResult<Result<(), assetlib::domain::OverQuota>>| r.expect("create");
    assert_eq!(
        created(
            repo.create_upload_checked(&upload("u1", 600), check, 2)
                .await
        ),
        Ok(())
    );
    let over = created(
        repo.create_upload_checked(&upload("u2", 600), check, 2)
            .await,
    )
    .expect_err("bytes");
    assert!(over.message.contains("reserved"), "{}", over.message);
    assert_eq!(
        created(
            repo.create_upload_checked(&upload("u3", 400), check, 2)
                .await
        ),
        Ok(())
    );
    let usage = repo.tenant_usage("reserver", now).await.expect("usage");
    assert_eq!((usage.reserved_bytes, usage.open_uploads), (1000, 2));
    let full =
        created(repo.create_upload_checked(&upload("u4", 1), None, 2).await).expect_err("open");
    assert!(full.message.contains("2 open uploads"), "{}", full.message);
    // A finished upload reserves nothing and is not open.
    let asset = "asset-20260101000000-res01";
    assert!(repo.finish_upload("u1", asset).await.expect("finish"));
    let usage = repo.tenant_usage("reserver", now).await.expect("usage");
    assert_eq!((usage.reserved_bytes, usage.open_uploads), (400, 1));
    assert!(
        repo.get_upload("reserver", "u2")
            .await
            .expect("get")
            .is_none()
    );
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        keys_contract,
        tasks_contract,
        quotas_contract,
        an_upload_is_created_and_read_by_its_tenant_only,
        parts_advance_by_compare_and_set_on_the_offset,
        an_upload_is_finished_once_and_then_takes_no_part,
        expired_uploads_are_listed_and_removed,
        an_upload_finished_by_racing_inserts_becomes_one_asset,
        racing_inserts_never_pass_the_quota,
        uploads_are_created_within_the_open_cap_and_the_reserved_bytes,
    ]
});
