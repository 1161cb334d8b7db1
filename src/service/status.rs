//! The one way the use cases change an asset's status: the domain's transition rule first,
//! then the store's compare-and-set.

use crate::domain::{AssetId, Status, Transition};
use crate::repo::{AssetRepo, HistoryEntry, RepoError, ReviewRepo, StatusChange};

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// A use case asked for a change the life cycle forbids: a bug, never the caller's fault.
    #[error("asset {id} cannot go from {from} to {to} ({transition:?})")]
    Forbidden {
        id: AssetId,
        from: Status,
        to: Status,
        transition: Transition,
    },
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Moves the asset from `from` to `change.to` if the domain allows it for `transition`.
/// `Ok(false)` when the asset is no longer in `from` (someone else moved it, or it is gone).
pub async fn change_status(
    assets: &dyn AssetRepo,
    id: &AssetId,
    from: Status,
    change: &StatusChange,
    transition: Transition,
) -> Result<bool, StatusError> {
    if !from.may_become(change.to, transition) {
        return Err(StatusError::Forbidden {
            id: id.clone(),
            from,
            to: change.to,
            transition,
        });
    }
    Ok(assets.change_status(id, from, change).await?)
}

/// The same for a reviewer's decision or a reopen: the history entry is written in the
/// transaction of the change, and only when the asset moved.
pub async fn record_review(
    reviews: &dyn ReviewRepo,
    id: &AssetId,
    from: Status,
    change: &StatusChange,
    transition: Transition,
    entry: &HistoryEntry,
) -> Result<bool, StatusError> {
    if !from.may_become(change.to, transition) {
        return Err(StatusError::Forbidden {
            id: id.clone(),
            from,
            to: change.to,
            transition,
        });
    }
    Ok(reviews.record_review(id, from, change, entry).await?)
}
