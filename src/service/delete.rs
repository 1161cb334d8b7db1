//! Deleting an asset (soft: the row stays so its blob stays referenced).

use chrono::Utc;

use super::{LibraryService, ServiceError};
use crate::domain::codes;
use crate::domain::{AssetId, Caller};

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
