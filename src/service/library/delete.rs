//! Deleting an asset (soft: the row stays, restorable, for the retention period; then it is
//! purged and its blob removed by the orphan sweep unless another row references it), restoring
//! one, and renaming one or filing it in a group.

use chrono::{DateTime, Utc};

use super::LibraryService;
use crate::domain::codes;
use crate::domain::{Asset, AssetId, Caller, ExpiryPolicy};
use crate::repo::TenantScope;
use crate::service::ServiceError;

impl LibraryService {
    /// Deletes an asset of the caller's tenant. The row is kept (soft delete) so the blob
    /// stays referenced; it disappears from every read.
    /// An asset referenced by an unfinished generation task is kept (409 `asset-in-use`)
    /// unless `force` is set.
    pub async fn delete(
        &self,
        caller: &Caller,
        raw_id: &str,
        force: bool,
    ) -> Result<(), ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        if !force {
            // Only the owner may learn that a task uses the asset.
            let owned = self
                .assets
                .get_asset(&caller.tenant, &id)
                .await
                .map_err(|e| ServiceError::internal("reading an asset", e))?;
            if owned.is_some() {
                let task = self
                    .tasks
                    .unfinished_task_using(id.as_str())
                    .await
                    .map_err(|e| ServiceError::internal("checking tasks", e))?;
                if let Some(task) = task {
                    return Err(ServiceError::client(
                        &codes::ASSET_IN_USE,
                        format!(
                            "asset {id} is used by generation task {task}, which has not finished; retry with force=true to delete it anyway"
                        ),
                    ));
                }
            }
        }
        let deleted = self
            .assets
            .delete_asset(&caller.tenant, &id, Utc::now())
            .await
            .map_err(|e| ServiceError::internal("deleting an asset", e))?;
        if deleted {
            tracing::info!(asset = %id, tenant = %caller.tenant, "asset deleted");
            Ok(())
        } else {
            Err(ServiceError::not_found())
        }
    }
}

impl LibraryService {
    /// Renames a live asset of the caller's tenant and/or files it in a group: each field
    /// when set (`Some(None)` or an empty string: no name, no group). The group must be the
    /// tenant's (`group-not-found`).
    pub async fn update(
        &self,
        caller: &Caller,
        raw_id: &str,
        name: Option<Option<&str>>,
        group: Option<Option<&str>>,
    ) -> Result<Asset, ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        if name.is_none() && group.is_none() {
            return Err(ServiceError::invalid(
                "send the fields to change: {\"name\": \"…\", \"groupId\": \"…\"} (null or \"\" removes either)",
            ));
        }
        let name = name
            .map(|n| crate::service::fields::parse_name(n))
            .transpose()?;
        let group = match group.map(|g| g.map(str::trim).filter(|g| !g.is_empty())) {
            Some(Some(raw)) => Some(Some(
                crate::service::groups::owned_group(self.groups.as_ref(), &caller.tenant, raw)
                    .await?,
            )),
            other => other.map(|_| None),
        };
        let now = Utc::now();
        if let Some(name) = name {
            let renamed = self
                .assets
                .rename_asset(&caller.tenant, &id, name.as_deref(), now)
                .await
                .map_err(|e| ServiceError::internal("renaming an asset", e))?;
            if !renamed {
                return Err(ServiceError::not_found());
            }
        }
        if let Some(group) = group {
            let filed = self
                .assets
                .set_asset_group(&caller.tenant, &id, group.as_deref(), now)
                .await
                .map_err(|e| ServiceError::internal("filing an asset in a group", e))?;
            if !filed {
                return Err(ServiceError::not_found());
            }
        }
        self.get(caller, raw_id).await
    }

    /// Brings back an asset of the caller's tenant deleted within the retention period, as it
    /// was. `not-found` when it is live, missing, or was deleted before.
    pub async fn restore(&self, caller: &Caller, raw_id: &str) -> Result<Asset, ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        let now = Utc::now();
        let restored = self
            .assets
            .restore_asset(&caller.tenant, &id, now - self.retention_chrono(), now)
            .await
            .map_err(|e| ServiceError::internal("restoring an asset", e))?;
        if !restored {
            return Err(ServiceError::client(
                &codes::NOT_FOUND,
                format!(
                    "no deleted asset {raw_id} to restore (deleted assets can be restored for {} days)",
                    self.retention.as_secs() / 86_400
                ),
            ));
        }
        self.get(caller, raw_id).await
    }

    /// Purges the rows of assets deleted longer ago than the retention period, as of `now`;
    /// how many. Their blobs are then orphans (unless shared) for the orphan sweep.
    pub async fn purge_deleted(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        let mut purged = 0;
        loop {
            let n = self
                .assets
                .purge_deleted(now - self.retention_chrono(), 500)
                .await
                .map_err(|e| ServiceError::internal("purging deleted assets", e))?;
            purged += n;
            if n < 500 {
                return Ok(purged);
            }
        }
    }

    /// Deletes (softly, restorable like any delete) the live assets whose tenant's expiry
    /// policy has expired them as of `now`; how many.
    pub async fn expire(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        let own: Vec<String> = self.expiry.tenants.keys().cloned().collect();
        let mut scopes: Vec<(TenantScope, ExpiryPolicy)> = own
            .iter()
            .map(|t| (TenantScope::One(t.clone()), self.expiry.for_tenant(t)))
            .collect();
        scopes.push((TenantScope::AllBut(own), self.expiry.default));
        let mut expired = 0;
        for (scope, policy) in scopes {
            if policy.is_never() {
                continue;
            }
            let (unused_before, created_before) = policy.cutoffs(now);
            loop {
                let batch = self
                    .assets
                    .expired_assets(&scope, unused_before, created_before, 500)
                    .await
                    .map_err(|e| ServiceError::internal("finding expired assets", e))?;
                for (tenant, id) in &batch {
                    let deleted = self
                        .assets
                        .delete_asset(tenant, id, now)
                        .await
                        .map_err(|e| ServiceError::internal("deleting an expired asset", e))?;
                    if deleted {
                        tracing::info!(asset = %id, %tenant, "asset expired");
                        expired += 1;
                    }
                }
                if batch.len() < 500 {
                    break;
                }
            }
        }
        Ok(expired)
    }

    fn retention_chrono(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::days(7))
    }
}
