//! Groups: inserted once and read per tenant, listed and found by name, updated, assets filed
//! in them and counted, deleted only with their assets.

use std::sync::Arc;

use assetlib::domain::{AssetType, Group, GroupId};
use assetlib::repo::{AssetFilter, GroupDeletion, GroupUpdate, NewAsset, Repo};
use chrono::{DateTime, TimeZone, Utc};

use super::{job, new_asset};
use crate::backends::per_backend;

fn at(s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 28, 6, 9, s)
        .single()
        .expect("time")
}

fn group(id: &str, tenant: &str, group_name: &str, s: u32) -> Group {
    Group {
        id: GroupId::parse(id).expect("group id"),
        tenant: tenant.to_owned(),
        name: group_name.to_owned(),
        description: Some("first".to_owned()),
        asset_count: 0,
        create_time: at(s),
        update_time: at(s),
    }
}

/// "Heroes École" and, a second later, "Villains", both of t1.
fn two() -> (Group, Group) {
    (
        group("group-20260528060901-aaaaa", "t1", "Heroes École", 1),
        group("group-20260528060902-bbbbb", "t1", "Villains", 2),
    )
}

async fn insert_two(repo: &Arc<dyn Repo>) -> (Group, Group) {
    let (g1, g2) = two();
    for g in [&g1, &g2] {
        assert!(repo.insert_group(g).await.expect("insert"));
    }
    (g1, g2)
}

/// An asset filed in `g1` at insert and one inserted loose.
async fn filed_and_loose(repo: &Arc<dyn Repo>, g1: &Group) -> (NewAsset, NewAsset) {
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
    (filed, loose)
}

async fn a_group_is_inserted_once_and_read_by_its_tenant_only(repo: Arc<dyn Repo>) {
    let (g1, g2) = two();
    assert!(repo.insert_group(&g1).await.expect("insert"));
    assert!(!repo.insert_group(&g1).await.expect("insert"), "id taken");
    assert!(repo.insert_group(&g2).await.expect("insert"));
    assert_eq!(
        repo.get_group("t1", g1.id.as_str()).await.expect("get"),
        Some(g1.clone())
    );
    assert_eq!(
        repo.get_group("t2", g1.id.as_str()).await.expect("get"),
        None,
        "not another tenant's"
    );
}

async fn groups_are_listed_newest_first_and_found_by_name_whatever_its_case(repo: Arc<dyn Repo>) {
    let (g1, g2) = insert_two(&repo).await;
    let page = repo.list_groups("t1", None, 0, 10).await.expect("list");
    assert_eq!(page.total, 2);
    let ids: Vec<_> = page.items.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, [g2.id.as_str(), g1.id.as_str()]);
    let page = repo.list_groups("t1", None, 1, 10).await.expect("list");
    assert_eq!(page.items.len(), 1);
    let found = repo
        .list_groups("t1", Some("ÉCOLE"), 0, 10)
        .await
        .expect("list");
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].id, g1.id);
    assert_eq!(
        repo.list_groups("t2", None, 0, 10)
            .await
            .expect("list")
            .total,
        0
    );
}

/// Name and description each when set; a description can be cleared.
async fn an_update_sets_the_name_and_clears_the_description(repo: Arc<dyn Repo>) {
    let (g1, _) = insert_two(&repo).await;
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
            .expect("update")
    );
    let stored = repo
        .get_group("t1", g1.id.as_str())
        .await
        .expect("get")
        .expect("there");
    assert_eq!(
        (stored.name.as_str(), stored.description, stored.update_time),
        ("Heroes", None, at(5))
    );
}

/// At insert and later; counted; listed by group.
async fn assets_filed_in_a_group_are_counted_and_listed_by_group(repo: Arc<dyn Repo>) {
    let (g1, g2) = insert_two(&repo).await;
    let (_filed, loose) = filed_and_loose(&repo, &g1).await;
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
        "the total counts the groups' assets only"
    );
    let listed = repo
        .list_assets_offset("t1", &in_g1, 0, 10)
        .await
        .expect("list");
    assert_eq!(listed.total, 1);
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
        "not another tenant's asset"
    );
    let keyset = repo
        .list_assets_keyset("t1", &in_g1, None, 10)
        .await
        .expect("list");
    assert_eq!(keyset.items.len(), 2);
    let counted = repo
        .get_group("t1", g1.id.as_str())
        .await
        .expect("get")
        .expect("there");
    assert_eq!(counted.asset_count, 2);
}

/// Refused while assets are in it; a cascade deletes them, restorable, out of the group that
/// is gone.
async fn a_group_with_assets_is_deleted_only_with_them(repo: Arc<dyn Repo>) {
    let (g1, g2) = insert_two(&repo).await;
    let (filed, loose) = filed_and_loose(&repo, &g1).await;
    assert!(
        repo.set_asset_group("t1", &loose.id, Some(g1.id.as_str()), at(12))
            .await
            .expect("file")
    );
    assert_eq!(
        repo.delete_group("t1", g1.id.as_str(), false, at(20))
            .await
            .expect("delete"),
        GroupDeletion::NotEmpty { assets: 2 }
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
        GroupDeletion::Deleted { assets: 1 }
    );
    assert_eq!(
        repo.delete_group("t1", g1.id.as_str(), true, at(22))
            .await
            .expect("delete"),
        GroupDeletion::Missing
    );
    assert!(
        repo.get_asset("t1", &filed.id)
            .await
            .expect("get")
            .is_none(),
        "deleted with its group"
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
    assert_eq!(restored.group_id, None, "its group is gone");
    assert_eq!(
        repo.delete_group("t1", g2.id.as_str(), false, at(31))
            .await
            .expect("delete"),
        GroupDeletion::Deleted { assets: 0 }
    );
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        a_group_is_inserted_once_and_read_by_its_tenant_only,
        groups_are_listed_newest_first_and_found_by_name_whatever_its_case,
        an_update_sets_the_name_and_clears_the_description,
        assets_filed_in_a_group_are_counted_and_listed_by_group,
        a_group_with_assets_is_deleted_only_with_them,
    ]
});
