//! One process-wide budget for decoded pixels: every decode reserves what its header says it
//! will take before it starts, and waits while the budget is spent, so the memory held by
//! decodes never exceeds the budget whatever arrives (16 workers or 16 huge images at once).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Reservations are counted in KiB (a semaphore holds at most `u32::MAX` permits).
const UNIT: u64 = 1024;

/// The decode budget of this process.
#[derive(Clone)]
pub struct DecodeBudget {
    permits: Arc<Semaphore>,
    units: u32,
}

/// Bytes of the budget held by one decode; given back when dropped.
pub struct Reservation {
    _permit: Option<OwnedSemaphorePermit>,
    /// Bytes granted (the whole budget for a decode larger than it).
    pub bytes: u64,
}

impl DecodeBudget {
    pub fn new(bytes: u64) -> Self {
        let units = u32::try_from((bytes / UNIT).max(1)).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }

    /// The whole budget in bytes.
    pub fn total(&self) -> u64 {
        u64::from(self.units) * UNIT
    }

    /// Waits until `bytes` of the budget are free and holds them. A decode larger than the
    /// whole budget waits for all of it and then runs alone.
    pub async fn reserve(&self, bytes: u64) -> Reservation {
        let wanted = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.units);
        // The semaphore is never closed; if it were, the decode would go ahead unbounded.
        let permit = Arc::clone(&self.permits)
            .acquire_many_owned(wanted)
            .await
            .ok();
        Reservation {
            _permit: permit,
            bytes: u64::from(wanted) * UNIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_wait_for_the_budget() {
        let budget = DecodeBudget::new(10 * 1024 * 1024);
        let first = budget.reserve(6 * 1024 * 1024).await;
        assert_eq!(first.bytes, 6 * 1024 * 1024);
        // 6 + 6 > 10: the second waits until the first is given back.
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            budget.reserve(6 * 1024 * 1024),
        )
        .await;
        assert!(waiting.is_err(), "the budget was exceeded");
        drop(first);
        let second = budget.reserve(6 * 1024 * 1024).await;
        // Larger than the whole budget: all of it.
        drop(second);
        assert_eq!(budget.reserve(u64::MAX).await.bytes, budget.total());
    }
}
