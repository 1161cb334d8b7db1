use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

use super::ServiceError;
use crate::domain::codes;
use crate::domain::{Caller, Role};
use crate::fetch::hex;
use crate::repo::{ApiKeyRecord, KeyRepo, NewApiKey};

const SECRET_PREFIX: &str = "alk_";

/// A freshly created key; `secret` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub id: String,
    pub secret: String,
    pub tenant: String,
    pub role: Role,
    pub name: Option<String>,
}

/// How long a key found active is trusted without asking the database again. A key revoked
/// from another process (`assetlib keys revoke`, another node) stops working within this time;
/// one revoked through this service stops at once.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// Keys remembered at most (the cache starts over when full).
const KEY_CACHE_MAX: usize = 10_000;

/// Keys recently found active, by the hash of their secret.
type KeyCache = Mutex<HashMap<String, (Instant, ApiKeyRecord)>>;

/// API keys: create, authenticate, list, revoke.
#[derive(Clone)]
pub struct KeyService {
    keys: Arc<dyn KeyRepo>,
    cache: Arc<KeyCache>,
}

fn random_chars(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Refuses a caller whose key is not an admin's, saying what takes one.
pub fn require_admin(caller: &Caller, what: &str) -> Result<(), ServiceError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Tenant | Role::Reviewer => Err(ServiceError::client(
            &codes::FORBIDDEN,
            format!("{what} take an admin key"),
        )),
    }
}

const MANAGING_KEYS: &str = "listing, creating and revoking keys";

/// Tenant names: 1–64 of `A–Z a–z 0–9 . _ -`.
pub fn validate_tenant(tenant: &str) -> Result<(), String> {
    let ok_len = (1..=64).contains(&tenant.len());
    let ok_chars = tenant
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(format!(
            "tenant '{tenant}' is not valid; use 1–64 letters, digits, '.', '_' or '-'"
        ))
    }
}

impl KeyService {
    pub fn new(keys: Arc<dyn KeyRepo>) -> Self {
        Self {
            keys,
            cache: Arc::default(),
        }
    }

    fn cached(&self, hash: &str) -> Option<ApiKeyRecord> {
        let cache = self.cache.lock().ok()?;
        let (at, record) = cache.get(hash)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| record.clone())
    }

    fn remember(&self, hash: String, record: &ApiKeyRecord) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= KEY_CACHE_MAX {
                cache.clear();
            }
            cache.insert(hash, (Instant::now(), record.clone()));
        }
    }

    pub async fn create(&self, tenant: &str, role: Role) -> Result<CreatedKey, ServiceError> {
        self.create_named(tenant, role, None).await
    }

    /// A new key with a name saying whose it is (at most 64 characters, no control characters).
    pub async fn create_named(
        &self,
        tenant: &str,
        role: Role,
        name: Option<&str>,
    ) -> Result<CreatedKey, ServiceError> {
        validate_tenant(tenant).map_err(ServiceError::invalid)?;
        let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => None,
            Some(n) if n.chars().count() > 64 || n.chars().any(char::is_control) => {
                return Err(ServiceError::invalid(
                    "a key's name is at most 64 characters, without control characters",
                ));
            }
            Some(n) => Some(n.to_owned()),
        };
        let secret = format!("{SECRET_PREFIX}{}", random_chars(40));
        let id = format!("key_{}", random_chars(12).to_lowercase());
        self.keys
            .insert_key(&NewApiKey {
                id: id.clone(),
                key_hash: hash_secret(&secret),
                tenant: tenant.to_owned(),
                role,
                name: name.clone(),
                created_at: Utc::now(),
            })
            .await
            .map_err(|e| ServiceError::internal("creating a key", e))?;
        Ok(CreatedKey {
            id,
            secret,
            tenant: tenant.to_owned(),
            role,
            name,
        })
    }

    /// Creates an access key pair for the Volcengine-style face: `AKLT…` and its secret.
    pub async fn create_access_key(
        &self,
        tenant: &str,
        role: Role,
    ) -> Result<CreatedKey, ServiceError> {
        validate_tenant(tenant).map_err(ServiceError::invalid)?;
        let id = format!("AKLT{}", random_chars(28));
        let secret = random_chars(40);
        self.keys
            .insert_access_key(
                &NewApiKey {
                    id: id.clone(),
                    // Never a bearer key: the hash is of random bytes no one is given.
                    key_hash: hash_secret(&format!("access-key:{}", random_chars(64))),
                    tenant: tenant.to_owned(),
                    role,
                    name: None,
                    created_at: Utc::now(),
                },
                &secret,
            )
            .await
            .map_err(|e| ServiceError::internal("creating an access key", e))?;
        Ok(CreatedKey {
            id,
            secret,
            tenant: tenant.to_owned(),
            role,
            name: None,
        })
    }

    /// The caller of an active access key, and its secret (to check a signature with).
    pub async fn access_key(&self, id: &str) -> Result<Option<(Caller, String)>, ServiceError> {
        let found = self
            .keys
            .find_access_key(id)
            .await
            .map_err(|e| ServiceError::internal("checking an access key", e))?;
        Ok(found.map(|(record, secret)| {
            (
                Caller {
                    key_id: record.id,
                    tenant: record.tenant,
                    role: record.role,
                    key_name: record.name,
                },
                secret,
            )
        }))
    }

    /// The caller behind a presented secret.
    pub async fn authenticate(&self, secret: &str) -> Result<Caller, ServiceError> {
        self.authenticate_hash(&hash_secret(secret)).await
    }

    /// The sha256 (hex) of a key's secret, as sessions carry it.
    pub fn secret_hash(secret: &str) -> String {
        hash_secret(secret)
    }

    /// The caller behind the hash of a secret (a console session).
    pub async fn authenticate_hash(&self, hash: &str) -> Result<Caller, ServiceError> {
        let hash = hash.to_owned();
        let record = match self.cached(&hash) {
            Some(record) => record,
            None => {
                let record = self
                    .keys
                    .find_active_key(&hash)
                    .await
                    .map_err(|e| ServiceError::internal("checking a key", e))?
                    .ok_or_else(|| {
                        ServiceError::client(
                            &codes::UNAUTHORIZED,
                            "the API key is not valid or was revoked",
                        )
                    })?;
                self.remember(hash, &record);
                record
            }
        };
        Ok(Caller {
            key_id: record.id,
            tenant: record.tenant,
            role: record.role,
            key_name: record.name,
        })
    }

    /// The keys, for an admin's call (the CLI of the server's own host calls `list`).
    pub async fn list_for(&self, caller: &Caller) -> Result<Vec<ApiKeyRecord>, ServiceError> {
        require_admin(caller, MANAGING_KEYS)?;
        self.list().await
    }

    /// A new key, for an admin's call.
    pub async fn create_for(
        &self,
        caller: &Caller,
        tenant: &str,
        role: Role,
        name: Option<&str>,
    ) -> Result<CreatedKey, ServiceError> {
        require_admin(caller, MANAGING_KEYS)?;
        let created = self.create_named(tenant, role, name).await?;
        tracing::info!(key = %created.id, tenant = %created.tenant, %role, by = %caller.key_id, "key created");
        Ok(created)
    }

    /// Revokes a key, for an admin's call; `not-found` when there is no such active key.
    pub async fn revoke_for(&self, caller: &Caller, id: &str) -> Result<(), ServiceError> {
        require_admin(caller, MANAGING_KEYS)?;
        if !self.revoke(id).await? {
            return Err(ServiceError::client(
                &codes::NOT_FOUND,
                format!("there is no active key {id}"),
            ));
        }
        tracing::info!(key = %id, by = %caller.key_id, "key revoked");
        Ok(())
    }

    pub async fn list(&self) -> Result<Vec<ApiKeyRecord>, ServiceError> {
        self.keys
            .list_keys()
            .await
            .map_err(|e| ServiceError::internal("listing keys", e))
    }

    /// `Ok(false)` when no such active key exists.
    pub async fn revoke(&self, id: &str) -> Result<bool, ServiceError> {
        let revoked = self
            .keys
            .revoke_key(id, Utc::now())
            .await
            .map_err(|e| ServiceError::internal("revoking a key", e))?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (_, record)| record.id != id);
        }
        Ok(revoked)
    }

    /// Creates an admin key when the database has no active one.
    pub async fn bootstrap_admin(&self) -> Result<Option<CreatedKey>, ServiceError> {
        let admins = self
            .keys
            .count_active_admin_keys()
            .await
            .map_err(|e| ServiceError::internal("counting admin keys", e))?;
        if admins > 0 {
            return Ok(None);
        }
        self.create("admin", Role::Admin).await.map(Some)
    }
}
