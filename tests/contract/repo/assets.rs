//! Assets: insert, tenant scoping, status changes by compare-and-set, offset and keyset pages
//! with their totals and filters, soft delete.

use std::sync::Arc;

use assetlib::domain::{AssetType, Failure, Status};
use assetlib::repo::{AssetFilter, Insert, NewAsset, Repo, StatusChange};
use chrono::Utc;

use super::{active, job, new_asset};
use crate::backends::per_backend;

/// "Alpha one" (t1, image), "beta" (t1, document), "gamma" (t2, image), "alpha two" (t1,
/// image), created a second apart in that order.
fn four() -> [NewAsset; 4] {
    [
        new_asset(
            "asset-20260101000001-aaaaa",
            "t1",
            1,
            AssetType::Image,
            "Alpha one",
        ),
        new_asset(
            "asset-20260101000002-bbbbb",
            "t1",
            2,
            AssetType::Document,
            "beta",
        ),
        new_asset(
            "asset-20260101000003-ccccc",
            "t2",
            3,
            AssetType::Image,
            "gamma",
        ),
        new_asset(
            "asset-20260101000004-ddddd",
            "t1",
            4,
            AssetType::Image,
            "alpha two",
        ),
    ]
}

async fn insert_four(repo: &Arc<dyn Repo>) -> [NewAsset; 4] {
    let assets = four();
    for x in &assets {
        repo.insert_asset_with_job(x, &job()).await.expect("insert");
    }
    assets
}

fn failed() -> StatusChange {
    StatusChange {
        to: Status::Failed,
        format: None,
        facts: None,
        failure: Some(Failure {
            code: "image-ratio".into(),
            message: "too wide".into(),
        }),
        moderation: None,
        at: Utc::now(),
    }
}

/// The first asset settles Active, the second Failed.
async fn settle_first_fail_second(repo: &Arc<dyn Repo>, assets: &[NewAsset; 4]) {
    assert!(
        repo.change_status(&assets[0].id, Status::Processing, &active())
            .await
            .expect("cas")
    );
    assert!(
        repo.change_status(&assets[1].id, Status::Processing, &failed())
            .await
            .expect("cas")
    );
}

async fn an_asset_is_inserted_once_with_its_job(repo: Arc<dyn Repo>) {
    let [a, ..] = four();
    let inserted = repo
        .insert_asset_with_job(&a, &job())
        .await
        .expect("insert");
    let Insert::Inserted(stored) = inserted else {
        panic!("not inserted")
    };
    assert_eq!(stored.status, Status::Processing);
    assert_eq!(stored.bytes, 1234);
    assert_eq!(stored.create_time, a.created_at);
    assert!(matches!(
        repo.insert_asset_with_job(&a, &job()).await.expect("dup"),
        Insert::IdTaken
    ));
    assert_eq!(
        repo.count_jobs().await.expect("jobs"),
        1,
        "a taken id adds no job"
    );
}

async fn reads_are_scoped_to_the_tenant(repo: Arc<dyn Repo>) {
    let [a, _, c, _] = insert_four(&repo).await;
    assert!(repo.get_asset("t2", &a.id).await.expect("get").is_none());
    assert!(repo.get_asset("t1", &a.id).await.expect("get").is_some());
    assert!(
        repo.get_asset_any_tenant(&c.id)
            .await
            .expect("get")
            .is_some()
    );
}

async fn status_changes_compare_and_set(repo: Arc<dyn Repo>) {
    let [a, b, ..] = insert_four(&repo).await;
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
        "CAS"
    );
    let a_now = repo.get_asset("t1", &a.id).await.expect("get").expect("a");
    assert_eq!(a_now.status, Status::Active);
    assert_eq!(a_now.facts.width, Some(640));
    assert!(
        repo.change_status(&b.id, Status::Processing, &failed())
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
        "format kept when not given"
    );
}

async fn offset_pages_are_newest_first_with_totals_and_filters(repo: Arc<dyn Repo>) {
    let assets = insert_four(&repo).await;
    settle_first_fail_second(&repo, &assets).await;
    let [_, b, _, d] = assets;
    let all = AssetFilter::default();
    let page = repo
        .list_assets_offset("t1", &all, 0, 2)
        .await
        .expect("list");
    assert_eq!(page.total, 3);
    let ids: Vec<_> = page.items.iter().map(|x| x.id.clone()).collect();
    assert_eq!(ids, vec![d.id.clone(), b.id.clone()]);
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
}

async fn keyset_pages_follow_one_another_to_the_oldest(repo: Arc<dyn Repo>) {
    let [a, ..] = insert_four(&repo).await;
    let all = AssetFilter::default();
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
    assert_eq!(second.next_before, None);
}

async fn a_deleted_asset_is_gone_from_reads_and_its_blob_still_referenced(repo: Arc<dyn Repo>) {
    let assets = insert_four(&repo).await;
    settle_first_fail_second(&repo, &assets).await;
    let [a, ..] = assets;
    assert!(
        repo.delete_asset("t2", &a.id, Utc::now())
            .await
            .expect("delete")
            .eq(&false),
        "other tenant"
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
    assert!(repo.blob_in_use(&a.sha256).await.expect("ref"));
    assert!(!repo.blob_in_use(&"f".repeat(64)).await.expect("ref"));
    assert!(
        !repo
            .change_status(&a.id, Status::Active, &failed())
            .await
            .expect("cas"),
        "deleted stays"
    );
}

/// A read by id (on SQLite a one-row read on the calling thread, on PostgreSQL the pool's) is
/// the whole row as a listing reads it, and sees each committed change at once: nothing is
/// cached between reads.
async fn a_read_by_id_is_the_listed_row_and_sees_each_change_at_once(repo: Arc<dyn Repo>) {
    let assets = insert_four(&repo).await;
    let [a, b, ..] = &assets;
    let before = repo.get_asset("t1", &a.id).await.expect("get");
    assert_eq!(before.map(|x| x.status), Some(Status::Processing));
    settle_first_fail_second(&repo, &assets).await;
    let listed = repo
        .list_assets_offset("t1", &AssetFilter::default(), 0, 10)
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 3);
    for item in &listed.items {
        let read = repo.get_asset("t1", &item.id).await.expect("get");
        assert_eq!(read.as_ref(), Some(item), "{} read by id", item.id);
        let any = repo.get_asset_any_tenant(&item.id).await.expect("get");
        assert_eq!(
            any.as_ref(),
            Some(item),
            "{} read by id, any tenant",
            item.id
        );
    }
    let active = repo.get_asset("t1", &a.id).await.expect("get");
    assert_eq!(active.as_ref().and_then(|x| x.facts.width), Some(640));
    let failed = repo.get_asset("t1", &b.id).await.expect("get");
    assert_eq!(
        failed.and_then(|x| x.failure).map(|f| f.code),
        Some("image-ratio".to_owned())
    );
    assert!(
        repo.delete_asset("t1", &a.id, Utc::now())
            .await
            .expect("delete")
    );
    assert!(repo.get_asset("t1", &a.id).await.expect("get").is_none());
    assert!(
        repo.get_asset_any_tenant(&a.id)
            .await
            .expect("get")
            .is_none()
    );
}

async fn list_totals_follow_inserts_status_changes_and_deletes_contract(repo: Arc<dyn Repo>) {
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
    assert_eq!(total("t", AssetFilter::default()).await, 4);
    assert_eq!(total("u", AssetFilter::default()).await, 1);
    assert_eq!(total("t", videos.clone()).await, 1);
    assert_eq!(total("t", by_status(Status::Processing)).await, 4);

    repo.change_status(&ids[0], Status::Processing, &active())
        .await
        .expect("settle");
    assert_eq!(total("t", by_status(Status::Processing)).await, 3);
    assert_eq!(total("t", by_status(Status::Active)).await, 1);
    assert_eq!(total("t", AssetFilter::default()).await, 4);

    repo.delete_asset("t", &ids[0], Utc::now())
        .await
        .expect("delete");
    repo.delete_asset("t", &ids[3], Utc::now())
        .await
        .expect("delete");
    assert_eq!(total("t", AssetFilter::default()).await, 2);
    assert_eq!(total("t", by_status(Status::Active)).await, 0);
    assert_eq!(total("t", videos).await, 0);
    // A name filter counts the rows themselves, with the same answer.
    let named = AssetFilter {
        name_contains: Some("X".into()),
        ..AssetFilter::default()
    };
    assert_eq!(total("t", named).await, 2);
    assert_eq!(total("nobody", AssetFilter::default()).await, 0);
}

async fn sha256_filter_contract(repo: Arc<dyn Repo>) {
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
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id.as_str(), "asset-20260101000000-sha02");
    let keyset = repo
        .list_assets_keyset("t1", &by_sha(1), None, 10)
        .await
        .expect("list");
    assert_eq!(keyset.items.len(), 1);
    // Never another tenant's.
    let theirs = repo
        .list_assets_keyset("t1", &by_sha(3), None, 10)
        .await
        .expect("list");
    assert!(theirs.items.is_empty());
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        an_asset_is_inserted_once_with_its_job,
        reads_are_scoped_to_the_tenant,
        status_changes_compare_and_set,
        offset_pages_are_newest_first_with_totals_and_filters,
        keyset_pages_follow_one_another_to_the_oldest,
        a_deleted_asset_is_gone_from_reads_and_its_blob_still_referenced,
        a_read_by_id_is_the_listed_row_and_sees_each_change_at_once,
        list_totals_follow_inserts_status_changes_and_deletes_contract,
        sha256_filter_contract,
    ]
});
