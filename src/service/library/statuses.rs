//! The statuses of many assets in one call, for the Manxue asset routes.

use super::LibraryService;
use crate::domain::codes;
use crate::domain::{Asset, Caller};
use crate::service::ServiceError;

/// The most ids one batch status call takes.
pub const MAX_STATUS_IDS: usize = 100;

impl LibraryService {
    /// Each id with its asset, or `None` when the caller's tenant has no such asset (missing,
    /// malformed and other tenants' ids alike). A failure to read fails the whole call.
    pub async fn statuses(
        &self,
        caller: &Caller,
        ids: Vec<String>,
    ) -> Result<Vec<(String, Option<Asset>)>, ServiceError> {
        if ids.is_empty() {
            return Err(ServiceError::invalid(
                "assetIds is empty; list at least one asset id",
            ));
        }
        if ids.len() > MAX_STATUS_IDS {
            return Err(ServiceError::invalid(format!(
                "{} asset ids in one call; at most {MAX_STATUS_IDS}: send them in several calls",
                ids.len()
            )));
        }
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let asset = match self.get(caller, &id).await {
                Ok(asset) => Some(asset),
                Err(e) if e.code() == &codes::NOT_FOUND => None,
                Err(e) => return Err(e),
            };
            found.push((id, asset));
        }
        Ok(found)
    }
}
