//! The decision history: every approve, reject and reopen, for reviewer and admin keys.

use super::{ReviewService, require_reviewer};
use crate::domain::Caller;
use crate::repo::{HistoryPage, HistoryQuery};
use crate::service::ServiceError;

impl ReviewService {
    /// History entries matching the query, newest first.
    pub async fn history(
        &self,
        caller: &Caller,
        query: &HistoryQuery,
    ) -> Result<HistoryPage, ServiceError> {
        require_reviewer(caller)?;
        self.reviews
            .review_history(query)
            .await
            .map_err(|e| ServiceError::internal("reading the review history", e))
    }
}
