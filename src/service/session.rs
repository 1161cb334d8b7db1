//! Console sessions: an API key exchanged for a signed, expiring cookie value, so the key
//! never sits in the browser. The value carries a random session id, the hash of the key's
//! secret (never the secret), its expiry and an HMAC over them with the node's signing secret
//! (shared by the nodes of a cluster); each request re-checks the key, so a revoked key ends
//! its sessions, and the session id against the sessions ended by signing out, which the
//! metadata database remembers (for every node) until they would have expired.
//!
//! Format: `v2.{id}.{key hash}.{expiry, Unix seconds}.{HMAC}`. The earlier `v1` values (no
//! id, so they could not be revoked) are refused: their holders sign in again.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{KeyService, ServiceError};
use crate::domain::{Caller, codes, same_secret};
use crate::repo::SessionRepo;

/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// A session just opened: the cookie's value and whose it is.
#[derive(Debug, Clone)]
pub struct Session {
    pub value: String,
    pub caller: Caller,
    pub expires: DateTime<Utc>,
}

#[derive(Clone)]
pub struct SessionService {
    keys: KeyService,
    revoked: Arc<dyn SessionRepo>,
    secret: Arc<Vec<u8>>,
}

/// The parts of a cookie value whose signature holds (expired or not).
struct Signed<'a> {
    id: &'a str,
    hash: &'a str,
    expires: i64,
}

fn expired() -> ServiceError {
    ServiceError::client(
        &codes::UNAUTHORIZED,
        "the console session is not valid or has expired; sign in again",
    )
}

impl SessionService {
    pub fn new(keys: KeyService, revoked: Arc<dyn SessionRepo>, secret: Vec<u8>) -> Self {
        Self {
            keys,
            revoked,
            secret: Arc::new(secret),
        }
    }

    fn mac(&self, id: &str, hash: &str, expires: i64) -> Result<String, ServiceError> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .map_err(|e| ServiceError::internal("signing a session", anyhow::anyhow!("{e}")))?;
        mac.update(format!("session|v2|{id}|{hash}|{expires}").as_bytes());
        Ok(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// Opens a session for the holder of an API key.
    pub async fn open(&self, secret: &str) -> Result<Session, ServiceError> {
        let hash = KeyService::secret_hash(secret.trim());
        let caller = self.keys.authenticate_hash(&hash).await?;
        let expires = Utc::now()
            + chrono::Duration::from_std(SESSION_TTL).unwrap_or(chrono::Duration::hours(12));
        let stamp = expires.timestamp();
        let id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let value = format!("v2.{id}.{hash}.{stamp}.{}", self.mac(&id, &hash, stamp)?);
        Ok(Session {
            value,
            caller,
            expires,
        })
    }

    /// The parts of a value this cluster signed, or `None`.
    fn verify<'a>(&self, value: &'a str) -> Result<Option<Signed<'a>>, ServiceError> {
        let mut parts = value.split('.');
        let (Some("v2"), Some(id), Some(hash), Some(stamp), Some(sig), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Ok(None);
        };
        let Ok(expires) = stamp.parse::<i64>() else {
            return Ok(None);
        };
        let expected = self.mac(id, hash, expires)?;
        Ok(same_secret(&expected, sig).then_some(Signed { id, hash, expires }))
    }

    /// The caller of a session cookie's value: signed by this cluster, not expired, not
    /// signed out, its key still active.
    pub async fn caller(&self, value: &str) -> Result<Caller, ServiceError> {
        let Some(session) = self.verify(value)? else {
            return Err(expired());
        };
        if session.expires <= Utc::now().timestamp() {
            return Err(expired());
        }
        let revoked = self
            .revoked
            .is_session_revoked(session.id)
            .await
            .map_err(|e| ServiceError::internal("reading revoked sessions", e))?;
        if revoked {
            return Err(expired());
        }
        self.keys.authenticate_hash(session.hash).await
    }

    /// Ends the session of a cookie's value on every node (sign-out). A value that is not
    /// ours, or already expired, needs nothing: it is refused anyway.
    pub async fn revoke(&self, value: &str) -> Result<(), ServiceError> {
        let Some(session) = self.verify(value)? else {
            return Ok(());
        };
        let Some(expires) = DateTime::<Utc>::from_timestamp(session.expires, 0) else {
            return Ok(());
        };
        if expires <= Utc::now() {
            return Ok(());
        }
        self.revoked
            .revoke_session(session.id, expires)
            .await
            .map_err(|e| ServiceError::internal("revoking a session", e))
    }

    /// Forgets revocations of sessions that have expired since (housekeeping); how many.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        self.revoked
            .sweep_revoked_sessions(now)
            .await
            .map_err(|e| ServiceError::internal("sweeping revoked sessions", e))
    }
}
