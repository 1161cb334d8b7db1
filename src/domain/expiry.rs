//! Expiry: a per-tenant policy under which housekeeping deletes assets that no task has used
//! for a while, or that are simply old.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

/// `None` keys set no limit; both `None` (the default) means assets never expire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiryPolicy {
    /// Days after its last use by a generation task (or its upload, if never used).
    pub unused_days: Option<u32>,
    /// Days after its upload, used or not.
    pub max_age_days: Option<u32>,
}

impl ExpiryPolicy {
    pub fn is_never(&self) -> bool {
        self.unused_days.is_none() && self.max_age_days.is_none()
    }

    /// Each key of `over` where it sets one, else this one's.
    pub fn overlaid(self, over: ExpiryPolicy) -> ExpiryPolicy {
        ExpiryPolicy {
            unused_days: over.unused_days.or(self.unused_days),
            max_age_days: over.max_age_days.or(self.max_age_days),
        }
    }

    /// When an asset created at `created` and last used at `last_used` expires (`None`: never).
    pub fn expires_at(
        &self,
        created: DateTime<Utc>,
        last_used: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let days = |d: u32| TimeDelta::days(i64::from(d));
        let unused = self
            .unused_days
            .map(|d| last_used.map_or(created, |u| u.max(created)) + days(d));
        let aged = self.max_age_days.map(|d| created + days(d));
        match (unused, aged) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The cut-offs at `now`: assets last used (or, never used, created) before the first, or
    /// created before the second, have expired.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let days = |d: u32| TimeDelta::days(i64::from(d));
        (
            self.unused_days.map(|d| now - days(d)),
            self.max_age_days.map(|d| now - days(d)),
        )
    }
}

/// The configuration file's `[expiry]` (every tenant) and `[expiry.tenants.NAME]` (laid over it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiryConfig {
    pub default: ExpiryPolicy,
    pub tenants: std::collections::BTreeMap<String, ExpiryPolicy>,
}

impl ExpiryConfig {
    pub fn for_tenant(&self, tenant: &str) -> ExpiryPolicy {
        match self.tenants.get(tenant) {
            Some(own) => self.default.overlaid(*own),
            None => self.default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0)
            .single()
            .expect("date")
    }

    #[test]
    fn the_earlier_of_unused_and_age_wins() {
        let never = ExpiryPolicy::default();
        assert_eq!(never.expires_at(day(1), None), None);
        let unused = ExpiryPolicy {
            unused_days: Some(7),
            max_age_days: None,
        };
        assert_eq!(unused.expires_at(day(1), None), Some(day(8)));
        assert_eq!(unused.expires_at(day(1), Some(day(5))), Some(day(12)));
        let both = ExpiryPolicy {
            unused_days: Some(7),
            max_age_days: Some(10),
        };
        assert_eq!(both.expires_at(day(1), Some(day(5))), Some(day(11)));
        assert_eq!(both.expires_at(day(1), None), Some(day(8)));
        assert_eq!(both.cutoffs(day(20)), (Some(day(13)), Some(day(10))));
    }

    #[test]
    fn a_tenant_policy_lays_over_the_default() {
        let config = ExpiryConfig {
            default: ExpiryPolicy {
                unused_days: Some(30),
                max_age_days: Some(365),
            },
            tenants: [(
                "trial".to_owned(),
                ExpiryPolicy {
                    unused_days: Some(1),
                    max_age_days: None,
                },
            )]
            .into(),
        };
        assert_eq!(config.for_tenant("trial").unused_days, Some(1));
        assert_eq!(config.for_tenant("trial").max_age_days, Some(365));
        assert_eq!(config.for_tenant("other").unused_days, Some(30));
    }
}
