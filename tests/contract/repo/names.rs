//! The name filter folds case by Unicode's rules, on rows written now and on rows written
//! before the folded column existed (folded when the database is opened).

use std::sync::Arc;

use assetlib::domain::AssetType;
use assetlib::repo::{AssetFilter, Repo};

use super::{job, new_asset};
use crate::backends::{Location, per_backend};

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

async fn name_filter_folds_case_by_unicode_contract(repo: Arc<dyn Repo>) {
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
            "?name={needle}"
        );
    }
}

async fn names_written_before_folding_are_folded_at_open_contract(location: Location) {
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
            "?name={needle}"
        );
    }
    // Opening again finds nothing left to fold.
    drop(repo);
    let repo = location.open().await;
    assert_eq!(names_found(repo.as_ref(), "ωmega").await, ["Ωmega"]);
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        name_filter_folds_case_by_unicode_contract,
        names_written_before_folding_are_folded_at_open_contract,
    ]
});
