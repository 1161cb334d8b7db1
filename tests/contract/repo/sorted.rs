//! The v1 list's orders (newest, oldest, name, size): keyset pages walk every asset of the
//! tenant once, in order, with ties broken by insertion order.

use std::sync::Arc;

use assetlib::domain::{AssetType, fold_name};
use assetlib::repo::{AssetFilter, ListSort, NewAsset, Repo, SortCursor};

use super::{job, new_asset};
use crate::backends::per_backend;

/// (name, bytes): equal names and sizes, case that differs, an accent, an unnamed asset.
const ROWS: [(Option<&str>, u64); 9] = [
    (Some("beta"), 300),
    (Some("Alpha"), 100),
    (None, 300),
    (Some("zeta"), 50),
    (Some("alpha"), 300),
    (Some("Éclair"), 7),
    (Some("beta"), 100),
    (Some("éclair"), 300),
    (Some("Zed"), 0),
];

async fn insert_rows(repo: &Arc<dyn Repo>) -> Vec<NewAsset> {
    let mut all = Vec::new();
    for (i, (name, bytes)) in ROWS.iter().enumerate() {
        let n = u32::try_from(i).expect("small") + 1;
        let mut x = new_asset(
            &format!("asset-20260101{n:06}-srtaa"),
            "t1",
            n,
            AssetType::Image,
            "x",
        );
        x.name = name.map(str::to_owned);
        x.bytes = *bytes;
        repo.insert_asset_with_job(&x, &job())
            .await
            .expect("insert");
        all.push(x);
    }
    // Another tenant's asset never shows.
    let other = new_asset(
        "asset-20260101000099-srtbb",
        "t2",
        59,
        AssetType::Image,
        "a",
    );
    repo.insert_asset_with_job(&other, &job())
        .await
        .expect("insert");
    all
}

/// Every page of `sort`, `limit` at a time, as names with their insertion index.
async fn walk(repo: &Arc<dyn Repo>, sort: ListSort, limit: u32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<SortCursor> = None;
    loop {
        let page = repo
            .list_assets_sorted("t1", &AssetFilter::default(), sort, after.as_ref(), limit)
            .await
            .expect("list");
        assert!(page.items.len() <= limit as usize);
        seen.extend(page.items.iter().map(|a| a.id.to_string()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(seen.len() <= ROWS.len(), "pages repeat: {seen:?}");
    }
    seen
}

async fn every_order_pages_through_all_assets_once(repo: Arc<dyn Repo>) {
    let rows = insert_rows(&repo).await;
    let ids = |order: Vec<usize>| -> Vec<String> {
        order.into_iter().map(|i| rows[i].id.to_string()).collect()
    };
    let by = |key: &dyn Fn(usize) -> (String, i64)| {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|i| key(*i));
        order
    };
    let newest: Vec<usize> = (0..rows.len()).rev().collect();
    let oldest: Vec<usize> = (0..rows.len()).collect();
    // Name: folded, by code point, unnamed first, ties oldest first.
    let name = by(&|i| {
        let n = rows[i].name.as_deref().map(fold_name).unwrap_or_default();
        (n, i64::try_from(i).expect("small"))
    });
    // Size: largest first, ties newest first.
    let size = by(&|i| {
        (
            String::new(),
            -(i64::try_from(rows[i].bytes).expect("small") * 100
                + i64::try_from(i).expect("small")),
        )
    });
    for limit in [1, 2, 4, 100] {
        assert_eq!(
            walk(&repo, ListSort::Newest, limit).await,
            ids(newest.clone())
        );
        assert_eq!(
            walk(&repo, ListSort::Oldest, limit).await,
            ids(oldest.clone())
        );
        assert_eq!(
            walk(&repo, ListSort::Name, limit).await,
            ids(name.clone()),
            "{limit}"
        );
        assert_eq!(
            walk(&repo, ListSort::Size, limit).await,
            ids(size.clone()),
            "{limit}"
        );
    }
    // The name order, spelled out: unnamed, "alpha" ×2 (oldest first), "beta" ×2, "zed",
    // "zeta", then the accented ones (é sorts after z by code point).
    assert_eq!(name, vec![2, 1, 4, 0, 6, 8, 3, 5, 7]);
}

async fn a_sorted_page_keeps_the_filters(repo: Arc<dyn Repo>) {
    insert_rows(&repo).await;
    let filter = AssetFilter {
        name_contains: Some("ALPHA".into()),
        ..AssetFilter::default()
    };
    let page = repo
        .list_assets_sorted("t1", &filter, ListSort::Size, None, 10)
        .await
        .expect("list");
    let sizes: Vec<u64> = page.items.iter().map(|a| a.bytes).collect();
    assert_eq!(sizes, vec![300, 100]);
    assert_eq!(page.next, None);
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        every_order_pages_through_all_assets_once,
        a_sorted_page_keeps_the_filters,
    ]
});
