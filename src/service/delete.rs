use chrono::Utc;

use super::{AssetService, ServiceError};
use crate::domain::{AssetId, Caller};

impl AssetService {
    /// Deletes an asset of the caller's tenant. The row is kept (soft delete) so the blob
    /// stays referenced; it disappears from every read.
    pub async fn delete(&self, caller: &Caller, raw_id: &str) -> Result<(), ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        let deleted = self
            .repo
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
