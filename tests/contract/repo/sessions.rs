//! Console sessions ended by signing out: remembered until they expire, then swept.

use std::sync::Arc;

use assetlib::repo::Repo;
use chrono::{Duration, Utc};

use crate::backends::per_backend;

async fn revoked_sessions_are_remembered_until_they_expire(repo: Arc<dyn Repo>) {
    let now = Utc::now();
    assert!(!repo.is_session_revoked("s-1").await.expect("read"));
    repo.revoke_session("s-1", now + Duration::hours(12))
        .await
        .expect("revoke");
    repo.revoke_session("s-1", now + Duration::hours(12))
        .await
        .expect("revoking again is not an error");
    repo.revoke_session("s-2", now + Duration::minutes(5))
        .await
        .expect("revoke");
    assert!(repo.is_session_revoked("s-1").await.expect("read"));
    assert!(repo.is_session_revoked("s-2").await.expect("read"));
    assert!(!repo.is_session_revoked("s-3").await.expect("read"));

    // Nothing has expired yet.
    assert_eq!(repo.sweep_revoked_sessions(now).await.expect("sweep"), 0);
    // Past the second one's expiry: it is forgotten (its cookie is refused as expired anyway).
    let later = now + Duration::minutes(6);
    assert_eq!(repo.sweep_revoked_sessions(later).await.expect("sweep"), 1);
    assert!(!repo.is_session_revoked("s-2").await.expect("read"));
    assert!(repo.is_session_revoked("s-1").await.expect("read"));
    let end = now + Duration::hours(13);
    assert_eq!(repo.sweep_revoked_sessions(end).await.expect("sweep"), 1);
    assert!(!repo.is_session_revoked("s-1").await.expect("read"));
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [revoked_sessions_are_remembered_until_they_expire]
});
