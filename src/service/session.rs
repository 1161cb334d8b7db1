//! Console sessions: an API key exchanged for a signed, expiring cookie value, so the key
//! never sits in the browser. The value carries the hash of the key's secret (never the
//! secret), its expiry and an HMAC over both with the node's signing secret (shared by the
//! nodes of a cluster); each request re-checks the key, so a revoked key ends its sessions.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{KeyService, ServiceError};
use crate::domain::{Caller, codes, same_secret};

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
    secret: Arc<Vec<u8>>,
}

fn expired() -> ServiceError {
    ServiceError::client(
        &codes::UNAUTHORIZED,
        "the console session is not valid or has expired; sign in again",
    )
}

impl SessionService {
    pub fn new(keys: KeyService, secret: Vec<u8>) -> Self {
        Self {
            keys,
            secret: Arc::new(secret),
        }
    }

    fn mac(&self, hash: &str, expires: i64) -> Result<String, ServiceError> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .map_err(|e| ServiceError::internal("signing a session", anyhow::anyhow!("{e}")))?;
        mac.update(format!("session|{hash}|{expires}").as_bytes());
        Ok(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// Opens a session for the holder of an API key.
    pub async fn open(&self, secret: &str) -> Result<Session, ServiceError> {
        let hash = KeyService::secret_hash(secret.trim());
        let caller = self.keys.authenticate_hash(&hash).await?;
        let expires = Utc::now()
            + chrono::Duration::from_std(SESSION_TTL).unwrap_or(chrono::Duration::hours(12));
        let stamp = expires.timestamp();
        let value = format!("v1.{hash}.{stamp}.{}", self.mac(&hash, stamp)?);
        Ok(Session {
            value,
            caller,
            expires,
        })
    }

    /// The caller of a session cookie's value: signed by this cluster, not expired, its key
    /// still active.
    pub async fn caller(&self, value: &str) -> Result<Caller, ServiceError> {
        let mut parts = value.split('.');
        let (Some("v1"), Some(hash), Some(stamp), Some(sig), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(expired());
        };
        let stamp: i64 = stamp.parse().map_err(|_| expired())?;
        let expected = self.mac(hash, stamp)?;
        if !same_secret(&expected, sig) || stamp <= Utc::now().timestamp() {
            return Err(expired());
        }
        self.keys.authenticate_hash(hash).await
    }
}
