//! An asset's life after processing: held for review and decided, renamed, deleted and
//! restored within the window, purged, expired when unused or old.

use std::sync::Arc;

use assetlib::domain::{AssetId, AssetType, FaceBox, ModerationRecord, Status};
use assetlib::repo::{AssetFilter, Repo, ReviewQuery, StatusChange};
use chrono::{DateTime, TimeZone, Utc};

use super::{job, new_asset};
use crate::backends::per_backend;

async fn review_queue_contract(repo: Arc<dyn Repo>) {
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
    // Held in this order (each a second later): the queue's order is the held time's.
    for (n, id) in [ids[2], ids[0], ids[1]].into_iter().enumerate() {
        let id = AssetId::parse(id).expect("id");
        let at = Utc
            .with_ymd_and_hms(2026, 1, 1, 1, 0, n as u32)
            .single()
            .expect("time");
        assert!(
            repo.change_status(
                &id,
                Status::Processing,
                &StatusChange { at, ..hold.clone() }
            )
            .await
            .expect("hold")
        );
    }
    // Every tenant's held assets, oldest first, in keyset pages.
    let query = |after, limit| ReviewQuery {
        tenant: None,
        asset_type: None,
        held_before: None,
        newest_first: false,
        after,
        limit,
    };
    let first = repo.review_queue(&query(None, 2)).await.expect("queue");
    let got: Vec<&str> = first.items.iter().map(|q| q.asset.id.as_str()).collect();
    assert_eq!(got, vec![ids[2], ids[0]]);
    assert_eq!(first.total, 3);
    assert_eq!(first.items[0].asset.moderation.as_ref(), Some(&record));
    let rest = repo
        .review_queue(&query(first.next, 2))
        .await
        .expect("queue");
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].asset.id.as_str(), ids[1]);
    assert_eq!(rest.next, None);
    assert_eq!(rest.total, 3, "the total counts every page");

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
            .expect("again")
    );
    let kept = repo
        .get_asset("t1", &first_id)
        .await
        .expect("get")
        .expect("asset");
    assert_eq!(
        kept.moderation,
        Some(record),
        "record kept when not replaced"
    );
    assert_eq!(
        repo.review_queue(&query(None, 10))
            .await
            .expect("queue")
            .items
            .len(),
        2
    );
}

fn day2(s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, s)
        .single()
        .expect("time")
}

/// Two assets of t1 named "Old Name".
async fn two_named(repo: &Arc<dyn Repo>) -> (AssetId, AssetId) {
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
    (id, other)
}

/// Deletes `id` at 10, listed as deleted; restores it within the window, counted again.
async fn delete_and_restore(repo: &Arc<dyn Repo>, id: &AssetId) {
    let at = day2;
    assert!(repo.delete_asset("t1", id, at(10)).await.expect("delete"));
    let deleted = AssetFilter {
        deleted: true,
        ..AssetFilter::default()
    };
    let page = repo
        .list_assets_keyset("t1", &deleted, None, 10)
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        repo.list_assets_offset("t1", &AssetFilter::default(), 0, 10)
            .await
            .expect("list")
            .total,
        1
    );
    assert!(
        !repo
            .restore_asset("t1", id, at(11), at(20))
            .await
            .expect("restore"),
        "deleted before the window"
    );
    assert!(
        !repo
            .restore_asset("t2", id, at(0), at(20))
            .await
            .expect("restore")
    );
    assert!(
        repo.restore_asset("t1", id, at(5), at(20))
            .await
            .expect("restore")
    );
    assert!(
        !repo
            .restore_asset("t1", id, at(5), at(20))
            .await
            .expect("restore"),
        "live"
    );
    assert_eq!(
        repo.list_assets_offset("t1", &AssetFilter::default(), 0, 10)
            .await
            .expect("list")
            .total,
        2
    );
}

/// Found by the new name; not another tenant's.
async fn a_renamed_asset_is_found_by_its_new_name_and_a_name_can_be_cleared(repo: Arc<dyn Repo>) {
    let at = day2;
    let (id, _) = two_named(&repo).await;
    assert!(
        repo.rename_asset("t1", &id, Some("Brand New"), at(1))
            .await
            .expect("rename")
    );
    assert!(
        !repo
            .rename_asset("t2", &id, Some("x"), at(1))
            .await
            .expect("rename")
    );
    let named = AssetFilter {
        name_contains: Some("brand".into()),
        ..AssetFilter::default()
    };
    let found = repo
        .list_assets_offset("t1", &named, 0, 10)
        .await
        .expect("list");
    assert_eq!(found.total, 1);
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
}

async fn a_deleted_asset_is_restored_only_within_the_window(repo: Arc<dyn Repo>) {
    let (id, _) = two_named(&repo).await;
    delete_and_restore(&repo, &id).await;
}

/// Only rows deleted before the cut-off go; a restored one stays.
async fn a_purge_removes_only_the_rows_deleted_before_its_cut_off(repo: Arc<dyn Repo>) {
    let at = day2;
    let (id, other) = two_named(&repo).await;
    delete_and_restore(&repo, &id).await;
    let deleted = AssetFilter {
        deleted: true,
        ..AssetFilter::default()
    };
    assert!(
        repo.delete_asset("t1", &other, at(30))
            .await
            .expect("delete")
    );
    assert_eq!(repo.purge_deleted(at(30), 10).await.expect("purge"), 0);
    assert_eq!(repo.purge_deleted(at(31), 10).await.expect("purge"), 1);
    assert!(
        repo.list_assets_keyset("t1", &deleted, None, 10)
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert!(repo.get_asset("t1", &id).await.expect("get").is_some());
}

async fn expiry_contract(repo: Arc<dyn Repo>) {
    use assetlib::repo::TenantScope;
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
    assert_eq!(used.last_used_at, Some(at(20)));
    let other = repo
        .get_asset("e1", &ids[1])
        .await
        .expect("get")
        .expect("there");
    assert_eq!(other.last_used_at, None, "not another tenant's");

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
    assert_eq!(found(unused), [ids[1].as_str(), ids[2].as_str()]);
    // Created before 2: exp01 only, used or not.
    let old = repo
        .expired_assets(&e1, None, Some(at(2)), 10)
        .await
        .expect("expired");
    assert_eq!(found(old), [ids[0].as_str()]);
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
    assert_eq!(found(rest), [ids[3].as_str()]);
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
    assert_eq!(found(unused), [ids[1].as_str()], "in use");
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
    assert_eq!(found(unused), [ids[2].as_str()]);
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        review_queue_contract,
        a_renamed_asset_is_found_by_its_new_name_and_a_name_can_be_cleared,
        a_deleted_asset_is_restored_only_within_the_window,
        a_purge_removes_only_the_rows_deleted_before_its_cut_off,
        expiry_contract,
    ]
});
