//! Details that wait: `GET /v1/assets/{id}?wait=S` answers as soon as the asset leaves
//! Processing (or after S seconds), so clients need not poll; the kyy face's details wait the
//! same way until the status it shows changes (its Processing includes a review).

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::LibraryService;
use crate::domain::{Asset, Caller, Status};
use crate::service::ServiceError;

/// The longest a details request may wait.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// How often a waiting request re-reads the asset anyway: another node may have settled it.
const RECHECK: Duration = Duration::from_millis(250);

impl LibraryService {
    /// The asset, once its status is none of `pending` or `wait` has passed (whichever is
    /// first).
    pub async fn get_when_settled(
        &self,
        caller: &Caller,
        raw_id: &str,
        wait: Duration,
        pending: &[Status],
    ) -> Result<Asset, ServiceError> {
        if wait.is_zero() {
            return self.get(caller, raw_id).await;
        }
        // Listen before the first read, so a change in between is not missed.
        let mut settled = self.settled.subscribe();
        let asset = self.get(caller, raw_id).await?;
        if !pending.contains(&asset.status) {
            return Ok(asset);
        }
        let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
        loop {
            tokio::select! {
                message = settled.recv() => match message {
                    Ok(id) if id != asset.id => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return self.get(caller, raw_id).await,
                },
                _ = recheck.tick() => {}
                () = tokio::time::sleep_until(deadline) => return self.get(caller, raw_id).await,
            }
            let now = self.get(caller, raw_id).await?;
            if !pending.contains(&now.status) {
                return Ok(now);
            }
        }
    }
}
