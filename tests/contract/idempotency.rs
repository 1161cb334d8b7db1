//! The Idempotency-Key contract: claim, answer, replay, take-over of lapsed claims, sweep.

use std::time::Duration;

use assetlib::repo::{KeyClaim, KeyRequest, StoredAnswer};
use chrono::{DateTime, TimeZone, Utc};

use crate::backends::backends;

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

#[tokio::test]
async fn idempotency_keys_contract() {
    for (backend, repo, _dir) in backends().await {
        let claim = |r: KeyRequest| {
            let repo = repo.clone();
            async move { repo.claim_idempotency_key(&r).await.expect("claim") }
        };
        // A free key is claimed; a second call sees the claim in progress, with its fingerprint.
        assert_eq!(
            claim(request("t1", "k", "f1", 0)).await,
            KeyClaim::Claimed,
            "{backend}"
        );
        assert_eq!(
            claim(request("t1", "k", "f1", 1)).await,
            KeyClaim::InProgress {
                fingerprint: "f1".into()
            },
            "{backend}"
        );
        // Keys are per tenant.
        assert_eq!(
            claim(request("t2", "k", "f9", 1)).await,
            KeyClaim::Claimed,
            "{backend}"
        );

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
            },
            "{backend}"
        );
        // A second answer does not replace the first; a release leaves an answered key alone.
        repo.record_idempotent_answer("t1", "k", &answer("later"))
            .await
            .expect("record");
        repo.release_idempotency_key("t1", "k")
            .await
            .expect("release");
        assert!(
            matches!(claim(request("t1", "k", "f1", 3)).await, KeyClaim::Answered { answer, .. } if answer == first),
            "{backend}"
        );

        // A released claim (a server fault) can be claimed again at once.
        repo.release_idempotency_key("t2", "k")
            .await
            .expect("release");
        assert_eq!(
            claim(request("t2", "k", "f2", 4)).await,
            KeyClaim::Claimed,
            "{backend}"
        );

        // A claim whose call never answered is taken over once its lock lapses.
        assert_eq!(
            claim(request("t3", "k", "f3", 0)).await,
            KeyClaim::Claimed,
            "{backend}"
        );
        assert!(matches!(
            claim(request("t3", "k", "f4", 59)).await,
            KeyClaim::InProgress { .. }
        ));
        assert_eq!(
            claim(request("t3", "k", "f4", 60)).await,
            KeyClaim::Claimed,
            "{backend}"
        );
        repo.record_idempotent_answer("t3", "k", &answer("t3"))
            .await
            .expect("record");
        assert!(matches!(
            claim(request("t3", "k", "f4", 61)).await,
            KeyClaim::Answered { fingerprint, .. } if fingerprint == "f4"
        ));

        // An answer expires with its key: the key is claimed afresh, then swept.
        assert_eq!(
            claim(request("t1", "k", "f5", 3600)).await,
            KeyClaim::Claimed,
            "{backend}: expired at created + ttl"
        );
        repo.record_idempotent_answer("t1", "k", &answer("new"))
            .await
            .expect("record");
        // t3's key was claimed again at 60 s, t2's at 4 s, t1's at 3600 s.
        assert_eq!(
            repo.sweep_idempotency_keys(at(3659)).await.expect("sweep"),
            1,
            "{backend}: t2's"
        );
        assert_eq!(
            repo.sweep_idempotency_keys(at(3660)).await.expect("sweep"),
            1,
            "{backend}: t3's"
        );
        assert!(matches!(
            claim(request("t1", "k", "f6", 3700)).await,
            KeyClaim::Answered { fingerprint, .. } if fingerprint == "f5"
        ));
        assert_eq!(
            repo.sweep_idempotency_keys(at(7200)).await.expect("sweep"),
            1,
            "{backend}"
        );
        assert_eq!(
            claim(request("t1", "k", "f7", 7200)).await,
            KeyClaim::Claimed,
            "{backend}: swept"
        );
    }
}
