//! Quotas: each tenant's limits (the configuration file's, or an admin's set at run time) and
//! what it uses; an upload over a limit is refused at once with `quota-exceeded`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::ServiceError;
use super::keys::require_admin;
use crate::domain::{Caller, OverQuota, Quota, QuotaConfig, Usage, check_quota, codes};
use crate::repo::{QuotaCheck, QuotaRepo};

/// How long a node trusts the run-time quota it read (another node's change shows after it).
pub const QUOTA_CACHE_TTL: Duration = Duration::from_secs(5);

/// The window of `uploadsPerMinute`.
const RATE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// How long a client over the per-minute rate is told to wait.
const RATE_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A tenant's quota and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantQuota {
    pub quota: Quota,
    /// Set by an admin at run time (else the configuration file's).
    pub runtime: bool,
}

/// Run-time quotas read lately, by tenant (`None`: none set), with when they were read.
type QuotaCache = Mutex<HashMap<String, (Instant, Option<Quota>)>>;

/// The refusal of an upload over a quota: `quota-exceeded`, with `Retry-After` when only the
/// per-minute rate is over.
pub fn refusal(over: OverQuota) -> ServiceError {
    if over.rate {
        ServiceError::busy(&codes::QUOTA_EXCEEDED, over.message, RATE_RETRY_AFTER)
    } else {
        ServiceError::client(&codes::QUOTA_EXCEEDED, over.message)
    }
}

#[derive(Clone)]
pub struct QuotaService {
    repo: Arc<dyn QuotaRepo>,
    config: Arc<QuotaConfig>,
    cache: Arc<QuotaCache>,
}

fn check_tenant(tenant: &str) -> Result<(), ServiceError> {
    if tenant.is_empty() || tenant.len() > 128 || tenant.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "the tenant must be 1 to 128 characters with no control characters",
        ));
    }
    Ok(())
}

impl QuotaService {
    pub fn new(repo: Arc<dyn QuotaRepo>, config: QuotaConfig) -> Self {
        Self {
            repo,
            config: Arc::new(config),
            cache: Arc::default(),
        }
    }

    /// The tenant's quota: the one an admin set, else the configuration file's.
    pub async fn quota_of(&self, tenant: &str) -> Result<TenantQuota, ServiceError> {
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(tenant).copied())
            .filter(|(at, _)| at.elapsed() < QUOTA_CACHE_TTL);
        let runtime = match cached {
            Some((_, runtime)) => runtime,
            None => {
                let runtime = self
                    .repo
                    .get_quota(tenant)
                    .await
                    .map_err(|e| ServiceError::internal("reading a quota", e))?;
                if let Ok(mut cache) = self.cache.lock() {
                    cache.insert(tenant.to_owned(), (Instant::now(), runtime));
                }
                runtime
            }
        };
        Ok(match runtime {
            Some(quota) => TenantQuota {
                quota,
                runtime: true,
            },
            None => TenantQuota {
                quota: self.config.for_tenant(tenant),
                runtime: false,
            },
        })
    }

    async fn usage_of(&self, tenant: &str) -> Result<Usage, ServiceError> {
        self.repo
            .tenant_usage(tenant, Utc::now() - RATE_WINDOW)
            .await
            .map_err(|e| ServiceError::internal("reading a tenant's use", e))
    }

    /// Refuses one more asset of `adding` bytes (`0` while unknown) over the tenant's quota:
    /// `quota-exceeded`, with `Retry-After` when only the per-minute rate is over. A tenant
    /// with no limits costs no query of its use.
    pub async fn admit(&self, tenant: &str, adding: u64) -> Result<(), ServiceError> {
        let TenantQuota { quota, .. } = self.quota_of(tenant).await?;
        if quota.is_unlimited() {
            return Ok(());
        }
        let usage = self.usage_of(tenant).await?;
        check_quota(tenant, &quota, &usage, adding).map_err(refusal)
    }

    /// The tenant's quota as an insert checks it in its own transaction (`None`: no limits,
    /// nothing to check).
    pub async fn check(&self, tenant: &str) -> Result<Option<QuotaCheck>, ServiceError> {
        let TenantQuota { quota, .. } = self.quota_of(tenant).await?;
        Ok((!quota.is_unlimited()).then(|| QuotaCheck {
            quota,
            since: Utc::now() - RATE_WINDOW,
        }))
    }

    /// Refuses a file of `bytes` that would pass the tenant's bytes limit (the other limits were
    /// checked when the upload began): no query when the tenant has no bytes limit.
    pub async fn admit_bytes(&self, tenant: &str, bytes: u64) -> Result<(), ServiceError> {
        if self.quota_of(tenant).await?.quota.max_bytes.is_none() {
            return Ok(());
        }
        self.admit(tenant, bytes).await
    }

    /// The caller's quota and use (`GET /v1/usage`).
    pub async fn usage(&self, caller: &Caller) -> Result<(TenantQuota, Usage), ServiceError> {
        let quota = self.quota_of(&caller.tenant).await?;
        Ok((quota, self.usage_of(&caller.tenant).await?))
    }

    /// Any tenant's quota and use (admin).
    pub async fn tenant(
        &self,
        caller: &Caller,
        tenant: &str,
    ) -> Result<(TenantQuota, Usage), ServiceError> {
        require_admin(caller, "other tenants' quotas")?;
        check_tenant(tenant)?;
        let quota = self.quota_of(tenant).await?;
        Ok((quota, self.usage_of(tenant).await?))
    }

    /// Sets a tenant's quota at run time (admin); it replaces the configuration file's.
    pub async fn set(
        &self,
        caller: &Caller,
        tenant: &str,
        quota: Quota,
    ) -> Result<(TenantQuota, Usage), ServiceError> {
        require_admin(caller, "other tenants' quotas")?;
        check_tenant(tenant)?;
        self.repo
            .put_quota(tenant, &quota, Utc::now())
            .await
            .map_err(|e| ServiceError::internal("setting a quota", e))?;
        self.forget(tenant);
        tracing::info!(tenant, ?quota, by = %caller.key_id, "quota set");
        self.tenant(caller, tenant).await
    }

    /// Removes a tenant's run-time quota (admin): the configuration file's applies again.
    pub async fn clear(
        &self,
        caller: &Caller,
        tenant: &str,
    ) -> Result<(TenantQuota, Usage), ServiceError> {
        require_admin(caller, "other tenants' quotas")?;
        check_tenant(tenant)?;
        self.repo
            .delete_quota(tenant)
            .await
            .map_err(|e| ServiceError::internal("removing a quota", e))?;
        self.forget(tenant);
        tracing::info!(tenant, by = %caller.key_id, "quota removed");
        self.tenant(caller, tenant).await
    }

    fn forget(&self, tenant: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(tenant);
        }
    }
}
