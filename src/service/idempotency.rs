//! Idempotency-Key: a creating call sent again with the same key (per tenant) gets the first
//! answer again — status and body — instead of creating a second time.
//!
//! The protocol: before the call runs, its key is claimed in the metadata database with the
//! request's fingerprint (method, path, body). A retry with the same fingerprint gets the
//! recorded answer, or waits for the first call while it is still running (then answers
//! `idempotency-in-progress`); a retry with another fingerprint is refused with
//! `idempotency-key-reused`. A call that ends in a server fault or a refusal under load frees
//! its key, so the retry runs afresh. A claim held by a node that died lapses after `lock`;
//! answers are kept for `ttl` and then swept. The database is shared by every node, so all of
//! this holds across nodes.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::ServiceError;
use crate::domain::codes;
use crate::repo::{IdempotencyRepo, KeyClaim, KeyRequest, StoredAnswer};

/// How long keys live and wait.
#[derive(Debug, Clone)]
pub struct IdempotencySettings {
    /// How long an answer is kept (24 h by default).
    pub ttl: Duration,
    /// How long a claim stands while its call runs; a claim older than this is taken over.
    pub lock: Duration,
    /// How long a retry waits for a first call still running before answering
    /// `idempotency-in-progress`.
    pub wait: Duration,
}

impl Default for IdempotencySettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(24 * 3600),
            lock: Duration::from_secs(crate::config::defaults::IDEMPOTENCY_LOCK_SECS),
            wait: Duration::from_secs(10),
        }
    }
}

/// What a call with an Idempotency-Key does.
#[derive(Debug)]
pub enum Begin {
    /// Run the call, then `finish` with its answer.
    Run,
    /// Answer this again (the first answer to the same request).
    Replay(StoredAnswer),
}

/// Renews a claim while it lives (`IdempotencyService::keep_claimed`); dropped, it stops.
#[derive(Debug)]
pub struct ClaimKept(tokio::task::AbortHandle);

impl Drop for ClaimKept {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Claims, replays and records Idempotency-Keys.
#[derive(Clone)]
pub struct IdempotencyService {
    repo: Arc<dyn IdempotencyRepo>,
    settings: IdempotencySettings,
}

/// Pause between looks at a key whose first call is still running.
const POLL: Duration = Duration::from_millis(100);

/// The longest key taken (the header's value).
pub const MAX_KEY_LEN: usize = 255;

impl IdempotencyService {
    pub fn new(repo: Arc<dyn IdempotencyRepo>, settings: IdempotencySettings) -> Self {
        Self { repo, settings }
    }

    /// Checks the key's form: 1–255 visible ASCII characters.
    pub fn check_key(key: &str) -> Result<(), ServiceError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ServiceError::client(
                &codes::IDEMPOTENCY_KEY_INVALID,
                format!(
                    "the Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID is a good choice)"
                ),
            ));
        }
        Ok(())
    }

    /// Claims `key` of `tenant` for a request with this `fingerprint`, or gives the first
    /// answer to the same request.
    pub async fn begin(
        &self,
        tenant: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Begin, ServiceError> {
        let deadline = tokio::time::Instant::now() + self.settings.wait;
        loop {
            let request = KeyRequest {
                tenant: tenant.to_owned(),
                key: key.to_owned(),
                fingerprint: fingerprint.to_owned(),
                at: Utc::now(),
                lock: self.settings.lock,
                ttl: self.settings.ttl,
            };
            let claim = self
                .repo
                .claim_idempotency_key(&request)
                .await
                .map_err(|e| ServiceError::internal("claiming an Idempotency-Key", e))?;
            match claim {
                KeyClaim::Claimed => return Ok(Begin::Run),
                KeyClaim::Answered {
                    fingerprint: first,
                    answer,
                } if first == fingerprint => return Ok(Begin::Replay(answer)),
                KeyClaim::Answered {
                    fingerprint: first, ..
                }
                | KeyClaim::InProgress { fingerprint: first }
                    if first != fingerprint =>
                {
                    return Err(ServiceError::client(
                        &codes::IDEMPOTENCY_KEY_REUSED,
                        "this Idempotency-Key was first sent with another request (method, path or body); send a new key for a new request",
                    ));
                }
                _ => {}
            }
            if tokio::time::Instant::now() + POLL > deadline {
                return Err(ServiceError::client(
                    &codes::IDEMPOTENCY_IN_PROGRESS,
                    format!(
                        "the first request with this Idempotency-Key is still running after {} s; retry once it has answered",
                        self.settings.wait.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Keeps the claim on `key` standing while its call runs, however long: renewed every third
    /// of the lock until the returned guard is dropped (when the call has answered). Only a
    /// node that dies lets a claim lapse, after one lock.
    pub fn keep_claimed(&self, tenant: &str, key: &str, fingerprint: &str) -> ClaimKept {
        let repo = Arc::clone(&self.repo);
        let lock = self.settings.lock;
        let (tenant, key, fingerprint) =
            (tenant.to_owned(), key.to_owned(), fingerprint.to_owned());
        let renewing = tokio::spawn(async move {
            let every = (lock / 3).max(Duration::from_millis(100));
            loop {
                tokio::time::sleep(every).await;
                let until = Utc::now() + chrono::Duration::from_std(lock).unwrap_or_default();
                match repo
                    .renew_idempotency_claim(&tenant, &key, &fingerprint, until)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not renew an Idempotency-Key's claim")
                    }
                }
            }
        });
        ClaimKept(renewing.abort_handle())
    }

    /// Records the answer of a call that claimed `key`, or (`None`: a server fault or a refusal
    /// under load) frees the key for the retry.
    pub async fn finish(
        &self,
        tenant: &str,
        key: &str,
        answer: Option<StoredAnswer>,
    ) -> Result<(), ServiceError> {
        let done = match answer {
            Some(answer) => {
                self.repo
                    .record_idempotent_answer(tenant, key, &answer)
                    .await
            }
            None => self.repo.release_idempotency_key(tenant, key).await,
        };
        done.map_err(|e| ServiceError::internal("recording an Idempotency-Key's answer", e))
    }

    /// Removes expired keys; how many.
    pub async fn sweep(&self) -> Result<u64, ServiceError> {
        self.repo
            .sweep_idempotency_keys(Utc::now())
            .await
            .map_err(|e| ServiceError::internal("sweeping Idempotency-Keys", e))
    }
}

/// What identifies a request for its key: method, path and query, content type and body
/// (`None` for a streamed upload: its length stands for it).
pub fn fingerprint(
    method: &str,
    path_and_query: &str,
    content_type: &str,
    body: Result<&[u8], u64>,
) -> String {
    let mut hash = Sha256::new();
    for part in [method, path_and_query, content_type] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    match body {
        Ok(bytes) => {
            hash.update([0]);
            hash.update(bytes);
        }
        Err(length) => {
            hash.update([1]);
            hash.update(length.to_be_bytes());
        }
    }
    crate::fetch::hex(&hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyService::check_key("0f8fad5b-d9cb-469f-a165-70867728950e").is_ok());
        assert!(IdempotencyService::check_key(&"k".repeat(MAX_KEY_LEN)).is_ok());
        for bad in [
            "",
            "two words",
            "tab\there",
            "ключ",
            &"k".repeat(MAX_KEY_LEN + 1),
        ] {
            assert!(IdempotencyService::check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let f = |m, p, c, b| fingerprint(m, p, c, b);
        let base = f(
            "POST",
            "/v1/assets",
            "application/json",
            Ok(b"{}".as_slice()),
        );
        assert_eq!(
            base,
            f(
                "POST",
                "/v1/assets",
                "application/json",
                Ok(b"{}".as_slice())
            )
        );
        assert_ne!(
            base,
            f(
                "POST",
                "/v1/assets",
                "application/json",
                Ok(b"{ }".as_slice())
            )
        );
        assert_ne!(
            base,
            f(
                "POST",
                "/v1/assetsapplication/json",
                "",
                Ok(b"{}".as_slice())
            )
        );
        assert_ne!(base, f("POST", "/v1/assets", "application/json", Err(2)));
    }
}
