//! The review port: a queue of thousands (true total, filters, keyset pages through every item
//! in held-time order), decisions written with their history entry in one transaction (one
//! winner when two race), reopening, and the history's filters and pages.

use std::sync::Arc;

use assetlib::domain::{AssetId, AssetType, FaceBox, HistoryDecision, ModerationRecord, Status};
use assetlib::repo::{HistoryEntry, HistoryQuery, Repo, ReviewQuery, StatusChange};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::{job, new_asset};
use crate::backends::per_backend;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
        .single()
        .expect("time")
}

fn record() -> ModerationRecord {
    ModerationRecord {
        detector: "test".into(),
        faces: vec![FaceBox {
            x: 10,
            y: 20,
            width: 30,
            height: 40,
            score: 0.97,
            frame: None,
        }],
        width: 640,
        height: 480,
        ..ModerationRecord::default()
    }
}

fn to(status: Status, at: DateTime<Utc>) -> StatusChange {
    StatusChange {
        to: status,
        format: None,
        facts: None,
        failure: None,
        moderation: Some(record()),
        at,
    }
}

fn query(limit: u32) -> ReviewQuery {
    ReviewQuery {
        tenant: None,
        asset_type: None,
        held_before: None,
        newest_first: false,
        after: None,
        limit,
    }
}

/// `n` assets held one second apart from `base()`: tenant `t2` every third, Video every fifth.
async fn hold_many(repo: &Arc<dyn Repo>, n: usize) -> Vec<AssetId> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("asset-20260301000000-q{i:04}");
        let tenant = if i % 3 == 2 { "t2" } else { "t1" };
        let kind = if i % 5 == 4 {
            AssetType::Video
        } else {
            AssetType::Image
        };
        repo.insert_asset_with_job(&new_asset(&id, tenant, 0, kind, "x"), &job())
            .await
            .expect("insert");
        let id = AssetId::parse(&id).expect("id");
        let at = base() + TimeDelta::seconds(i as i64);
        assert!(
            repo.change_status(&id, Status::Processing, &to(Status::PendingReview, at))
                .await
                .expect("hold")
        );
        ids.push(id);
    }
    ids
}

async fn a_queue_of_thousands_contract(repo: Arc<dyn Repo>) {
    let n = 1_050;
    let ids = hold_many(&repo, n).await;
    // Every page of 100 until the end: each held asset once, oldest first.
    let mut seen = Vec::new();
    let mut q = query(100);
    loop {
        let page = repo.review_queue(&q).await.expect("page");
        assert_eq!(page.total, n as u64, "the true count on every page");
        assert_eq!(page.oldest_held_at, Some(base()));
        seen.extend(page.items.iter().map(|i| i.asset.id.clone()));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every held asset, in held order");

    // Filters: tenant, type, held before a time; and the other order.
    let t2 = repo
        .review_queue(&ReviewQuery {
            tenant: Some("t2".into()),
            ..query(100)
        })
        .await
        .expect("t2");
    assert_eq!(t2.total, (n / 3) as u64);
    assert!(t2.items.iter().all(|i| i.asset.tenant == "t2"));
    let videos = repo
        .review_queue(&ReviewQuery {
            asset_type: Some(AssetType::Video),
            ..query(100)
        })
        .await
        .expect("videos");
    assert_eq!(videos.total, (n / 5) as u64);
    assert!(
        videos
            .items
            .iter()
            .all(|i| i.asset.asset_type == AssetType::Video)
    );
    let old = repo
        .review_queue(&ReviewQuery {
            held_before: Some(base() + TimeDelta::seconds(99)),
            ..query(10)
        })
        .await
        .expect("old");
    assert_eq!(old.total, 100, "held at or before the cut-off");
    assert_eq!(old.items[0].held_at, base());
    let newest = repo
        .review_queue(&ReviewQuery {
            newest_first: true,
            ..query(2)
        })
        .await
        .expect("newest");
    assert_eq!(newest.items[0].asset.id, ids[n - 1]);
    let next = repo
        .review_queue(&ReviewQuery {
            newest_first: true,
            after: newest.next,
            ..query(1)
        })
        .await
        .expect("newest, next");
    assert_eq!(next.items[0].asset.id, ids[n - 3]);
}

fn entry(id: &AssetId, decision: HistoryDecision, key: &str, at: DateTime<Utc>) -> HistoryEntry {
    HistoryEntry {
        asset_id: id.clone(),
        tenant: "t1".into(),
        decision,
        reason: (decision == HistoryDecision::Reject).then(|| "a real face, \"clearly\"".into()),
        reviewer_key: key.into(),
        reviewer_name: Some(format!("{key} name")),
        reviewer_tenant: "moderators".into(),
        faces: record().faces,
        image_width: 640,
        image_height: 480,
        at,
    }
}

async fn decisions_carry_their_history_contract(repo: Arc<dyn Repo>) {
    let ids = hold_many(&repo, 2).await;
    let (a, b) = (&ids[0], &ids[1]);
    let at = base() + TimeDelta::minutes(5);
    let approve = entry(a, HistoryDecision::Approve, "key_r1", at);
    assert!(
        repo.record_review(a, Status::PendingReview, &to(Status::Active, at), &approve)
            .await
            .expect("approve")
    );
    // Not held any more: nothing changes, nothing recorded.
    assert!(
        !repo
            .record_review(a, Status::PendingReview, &to(Status::Failed, at), &approve)
            .await
            .expect("again")
    );
    let all = repo
        .review_history(&HistoryQuery {
            limit: 10,
            ..HistoryQuery::default()
        })
        .await
        .expect("history");
    assert_eq!(all.items.len(), 1);
    assert_eq!(
        all.items[0].entry, approve,
        "stored as given, faces included"
    );

    // Reopened: back in the queue, its held time now.
    let later = at + TimeDelta::minutes(1);
    let reopen = entry(a, HistoryDecision::Reopen, "key_admin", later);
    assert!(
        repo.record_review(
            a,
            Status::Active,
            &to(Status::PendingReview, later),
            &reopen
        )
        .await
        .expect("reopen")
    );
    let queue = repo.review_queue(&query(10)).await.expect("queue");
    let order: Vec<&AssetId> = queue.items.iter().map(|i| &i.asset.id).collect();
    assert_eq!(
        order,
        vec![b, a],
        "a reopened asset waits from its reopening"
    );
    assert_eq!(queue.items[1].held_at, later);
    let reject = entry(b, HistoryDecision::Reject, "key_r2", later);
    assert!(
        repo.record_review(
            b,
            Status::PendingReview,
            &to(Status::Failed, later),
            &reject
        )
        .await
        .expect("reject")
    );

    // Filters and pages, newest first.
    let read = |q: HistoryQuery| {
        let repo = Arc::clone(&repo);
        async move {
            repo.review_history(&HistoryQuery { limit: 10, ..q })
                .await
                .expect("history")
                .items
                .into_iter()
                .map(|r| r.entry.decision)
                .collect::<Vec<_>>()
        }
    };
    use HistoryDecision::{Approve, Reject, Reopen};
    assert_eq!(
        read(HistoryQuery::default()).await,
        vec![Reject, Reopen, Approve]
    );
    let by = |who: &str| HistoryQuery {
        reviewer: Some(who.into()),
        ..HistoryQuery::default()
    };
    assert_eq!(read(by("key_r1")).await, vec![Approve], "by key id");
    assert_eq!(read(by("key_r2 name")).await, vec![Reject], "by key name");
    let kind = HistoryQuery {
        decision: Some(Reopen),
        ..HistoryQuery::default()
    };
    assert_eq!(read(kind).await, vec![Reopen]);
    let since = HistoryQuery {
        since: Some(later),
        ..HistoryQuery::default()
    };
    assert_eq!(read(since).await, vec![Reject, Reopen]);
    let of_a = HistoryQuery {
        asset_id: Some(a.to_string()),
        tenant: Some("t1".into()),
        ..HistoryQuery::default()
    };
    assert_eq!(read(of_a).await, vec![Reopen, Approve]);
    let first = repo
        .review_history(&HistoryQuery {
            limit: 2,
            ..HistoryQuery::default()
        })
        .await
        .expect("page");
    assert_eq!(first.items.len(), 2);
    let rest = repo
        .review_history(&HistoryQuery {
            limit: 2,
            before: first.next_before,
            ..HistoryQuery::default()
        })
        .await
        .expect("rest");
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].entry.decision, Approve);
    assert_eq!(rest.next_before, None);
}

/// Two reviewers decide the same held asset at the same moment: one change, one entry.
async fn racing_decisions_have_one_winner_contract(repo: Arc<dyn Repo>) {
    let ids = hold_many(&repo, 1).await;
    let id = &ids[0];
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let decide = |key: &'static str, status: Status| {
        let (repo, barrier, id) = (Arc::clone(&repo), Arc::clone(&barrier), id.clone());
        tokio::spawn(async move {
            let decision = if status == Status::Active {
                HistoryDecision::Approve
            } else {
                HistoryDecision::Reject
            };
            let at = base() + TimeDelta::minutes(1);
            let entry = entry(&id, decision, key, at);
            barrier.wait().await;
            repo.record_review(&id, Status::PendingReview, &to(status, at), &entry)
                .await
                .expect("decide")
        })
    };
    let (one, two) = tokio::join!(
        decide("key_r1", Status::Active),
        decide("key_r2", Status::Failed)
    );
    let won = [one.expect("task"), two.expect("task")];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    let history = repo
        .review_history(&HistoryQuery {
            limit: 10,
            ..HistoryQuery::default()
        })
        .await
        .expect("history");
    assert_eq!(history.items.len(), 1, "only the winner is recorded");
    let asset = repo
        .get_asset_any_tenant(id)
        .await
        .expect("get")
        .expect("asset");
    let expected = if won[0] {
        Status::Active
    } else {
        Status::Failed
    };
    assert_eq!(asset.status, expected);
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        a_queue_of_thousands_contract,
        decisions_carry_their_history_contract,
        racing_decisions_have_one_winner_contract,
    ]
});
