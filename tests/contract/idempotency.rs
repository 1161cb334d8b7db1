//! The Idempotency-Key contract: claim, answer, replay, take-over of lapsed claims, sweep.

use std::time::Duration;

use assetlib::repo::{KeyClaim, KeyRequest, StoredAnswer};
use chrono::{DateTime, TimeZone, Utc};

use std::sync::Arc;

use assetlib::repo::Repo;

use crate::backends::per_backend;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0)
        .single()
        .expect("time")
}

fn request(tenant: &str, key: &str, fingerprint: &str, seconds: i64) -> KeyRequest {
    KeyRequest {
        tenant: tenant.to_owned(),
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        at: at(seconds),
        lock: Duration::from_secs(60),
        ttl: Duration::from_secs(3600),
    }
}

fn answer(body: &str) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        content_type: Some("application/json".to_owned()),
        body: body.as_bytes().to_vec(),
    }
}

/// The steps of `idempotency_keys`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyStep {
    Claim,
    Answer,
    Release,
    Lapse,
    Expiry,
}

/// Keys of three tenants claimed, answered, released and swept, up to and including the step
/// `until` (a case runs the steps before its own as well).
async fn idempotency_keys(repo: Arc<dyn Repo>, until: KeyStep) {
    let claim = |r: KeyRequest| {
        let repo = repo.clone();
        async move { repo.claim_idempotency_key(&r).await.expect("claim") }
    };
    // A free key is claimed; a second call sees the claim in progress, with its fingerprint.
    assert_eq!(claim(request("t1", "k", "f1", 0)).await, KeyClaim::Claimed);
    assert_eq!(
        claim(request("t1", "k", "f1", 1)).await,
        KeyClaim::InProgress {
            fingerprint: "f1".into()
        }
    );
    // Keys are per tenant.
    assert_eq!(claim(request("t2", "k", "f9", 1)).await, KeyClaim::Claimed);

    if until == KeyStep::Claim {
        return;
    }

    // The answer is kept, bytes and all, and replayed.
    let first = StoredAnswer {
        status: 422,
        content_type: Some("application/json".to_owned()),
        body: vec![0, 159, 146, 150, b'{', b'}'],
    };
    repo.record_idempotent_answer("t1", "k", &first)
        .await
        .expect("record");
    assert_eq!(
        claim(request("t1", "k", "other", 2)).await,
        KeyClaim::Answered {
            fingerprint: "f1".into(),
            answer: first.clone()
        }
    );
    // A second answer does not replace the first; a release leaves an answered key alone.
    repo.record_idempotent_answer("t1", "k", &answer("later"))
        .await
        .expect("record");
    repo.release_idempotency_key("t1", "k")
        .await
        .expect("release");
    assert!(
        matches!(claim(request("t1", "k", "f1", 3)).await, KeyClaim::Answered { answer, .. } if answer == first)
    );

    if until == KeyStep::Answer {
        return;
    }

    // A released claim (a server fault) can be claimed again at once.
    repo.release_idempotency_key("t2", "k")
        .await
        .expect("release");
    assert_eq!(claim(request("t2", "k", "f2", 4)).await, KeyClaim::Claimed);

    if until == KeyStep::Release {
        return;
    }

    // A claim whose call never answered is taken over once its lock lapses.
    assert_eq!(claim(request("t3", "k", "f3", 0)).await, KeyClaim::Claimed);
    assert!(matches!(
        claim(request("t3", "k", "f4", 59)).await,
        KeyClaim::InProgress { .. }
    ));
    assert_eq!(claim(request("t3", "k", "f4", 60)).await, KeyClaim::Claimed);
    repo.record_idempotent_answer("t3", "k", &answer("t3"))
        .await
        .expect("record");
    assert!(matches!(
        claim(request("t3", "k", "f4", 61)).await,
        KeyClaim::Answered { fingerprint, .. } if fingerprint == "f4"
    ));

    if until == KeyStep::Lapse {
        return;
    }

    // An answer expires with its key: the key is claimed afresh, then swept.
    assert_eq!(
        claim(request("t1", "k", "f5", 3600)).await,
        KeyClaim::Claimed,
        "expired at created + ttl"
    );
    repo.record_idempotent_answer("t1", "k", &answer("new"))
        .await
        .expect("record");
    // t3's key was claimed again at 60 s, t2's at 4 s, t1's at 3600 s.
    assert_eq!(
        repo.sweep_idempotency_keys(at(3659)).await.expect("sweep"),
        1,
        "t2's"
    );
    assert_eq!(
        repo.sweep_idempotency_keys(at(3660)).await.expect("sweep"),
        1,
        "t3's"
    );
    assert!(matches!(
        claim(request("t1", "k", "f6", 3700)).await,
        KeyClaim::Answered { fingerprint, .. } if fingerprint == "f5"
    ));
    assert_eq!(
        repo.sweep_idempotency_keys(at(7200)).await.expect("sweep"),
        1
    );
    assert_eq!(
        claim(request("t1", "k", "f7", 7200)).await,
        KeyClaim::Claimed,
        "swept"
    );
}

async fn a_free_key_is_claimed_once_per_tenant(repo: Arc<dyn Repo>) {
    idempotency_keys(repo, KeyStep::Claim).await;
}

async fn an_answer_is_kept_replayed_and_never_replaced(repo: Arc<dyn Repo>) {
    idempotency_keys(repo, KeyStep::Answer).await;
}

async fn a_released_claim_is_claimed_again_at_once(repo: Arc<dyn Repo>) {
    idempotency_keys(repo, KeyStep::Release).await;
}

async fn a_claim_never_answered_is_taken_over_once_its_lock_lapses(repo: Arc<dyn Repo>) {
    idempotency_keys(repo, KeyStep::Lapse).await;
}

async fn an_answer_expires_with_its_key_and_is_swept(repo: Arc<dyn Repo>) {
    idempotency_keys(repo, KeyStep::Expiry).await;
}

/// A claim renewed by its running call is not taken over when its first lock lapses; a claim
/// that holds an answer, or another request's, is not renewed.
async fn a_renewed_claim_is_not_taken_over(repo: Arc<dyn Repo>) {
    let first = request("t1", "long", "print-a", 0);
    assert!(matches!(
        repo.claim_idempotency_key(&first).await.expect("claim"),
        KeyClaim::Claimed
    ));
    // Renewed at 50 s until 110 s: a retry at 70 s (past the first lock, 60 s) waits.
    assert!(
        repo.renew_idempotency_claim("t1", "long", "print-a", at(110))
            .await
            .expect("renew")
    );
    assert!(matches!(
        repo.claim_idempotency_key(&request("t1", "long", "print-a", 70))
            .await
            .expect("claim"),
        KeyClaim::InProgress { .. }
    ));
    // Another request's fingerprint renews nothing.
    assert!(
        !repo
            .renew_idempotency_claim("t1", "long", "print-b", at(500))
            .await
            .expect("renew")
    );
    // Past the renewed lock, a retry takes it over.
    assert!(matches!(
        repo.claim_idempotency_key(&request("t1", "long", "print-a", 111))
            .await
            .expect("claim"),
        KeyClaim::Claimed
    ));
    repo.record_idempotent_answer("t1", "long", &answer("{}"))
        .await
        .expect("record");
    assert!(
        !repo
            .renew_idempotency_claim("t1", "long", "print-a", at(900))
            .await
            .expect("renew")
    );
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        a_free_key_is_claimed_once_per_tenant,
        an_answer_is_kept_replayed_and_never_replaced,
        a_released_claim_is_claimed_again_at_once,
        a_claim_never_answered_is_taken_over_once_its_lock_lapses,
        an_answer_expires_with_its_key_and_is_swept,
        a_renewed_claim_is_not_taken_over,
    ]
});
