//! Per-tenant quotas and the rule that refuses an upload over one.

use serde::{Deserialize, Serialize};

use super::rules::describe_bytes;

/// A tenant's limits; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Live (not deleted) assets.
    pub max_assets: Option<u64>,
    /// Bytes of the live assets, each counted in full (shared content included).
    pub max_bytes: Option<u64>,
    /// Assets created in the last 60 seconds.
    pub uploads_per_minute: Option<u32>,
}

impl Quota {
    /// Each limit of `over` where it sets one, else this one's.
    pub fn overlaid(self, over: Quota) -> Quota {
        Quota {
            max_assets: over.max_assets.or(self.max_assets),
            max_bytes: over.max_bytes.or(self.max_bytes),
            uploads_per_minute: over.uploads_per_minute.or(self.uploads_per_minute),
        }
    }

    pub fn is_unlimited(&self) -> bool {
        *self == Quota::default()
    }
}

/// The configuration file's quotas: `[quotas]` for every tenant, `[quotas.tenants.NAME]` laid
/// over it for one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaConfig {
    pub default: Quota,
    pub tenants: std::collections::BTreeMap<String, Quota>,
}

impl QuotaConfig {
    /// The configured quota of `tenant`.
    pub fn for_tenant(&self, tenant: &str) -> Quota {
        match self.tenants.get(tenant) {
            Some(own) => self.default.overlaid(*own),
            None => self.default,
        }
    }
}

/// What a tenant uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub assets: u64,
    pub bytes: u64,
    /// Assets created in the last 60 seconds.
    pub uploads_last_minute: u64,
    /// Bytes announced by the tenant's resumable and direct uploads not yet complete: they
    /// count against `maxBytes` as if stored.
    pub reserved_bytes: u64,
    /// Those uploads.
    pub open_uploads: u64,
}

/// Why an upload is over quota: a sentence naming the limit and the use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverQuota {
    pub message: String,
    /// Over the per-minute rate: the same upload may succeed within a minute.
    pub rate: bool,
}

/// Whether one more asset of `adding` bytes (unknown before the bytes arrive: `0`) fits.
pub fn check_quota(
    tenant: &str,
    quota: &Quota,
    usage: &Usage,
    adding: u64,
) -> Result<(), OverQuota> {
    if let Some(max) = quota.max_assets
        && usage.assets >= max
    {
        return Err(OverQuota {
            message: format!(
                "tenant {tenant} has {} of its {max} assets (quota maxAssets); delete some, or ask an admin to raise the quota",
                usage.assets
            ),
            rate: false,
        });
    }
    if let Some(max) = quota.max_bytes
        && usage
            .bytes
            .saturating_add(usage.reserved_bytes)
            .saturating_add(adding)
            > max
    {
        let file = if adding > 0 {
            format!(" and this file is {}", describe_bytes(adding))
        } else {
            String::new()
        };
        let reserved = if usage.reserved_bytes > 0 {
            format!(
                " with {} more reserved by {} open uploads",
                describe_bytes(usage.reserved_bytes),
                usage.open_uploads
            )
        } else {
            String::new()
        };
        return Err(OverQuota {
            message: format!(
                "tenant {tenant} stores {}{reserved} of its {} (quota maxBytes){file}; delete some assets or end open uploads, or ask an admin to raise the quota",
                describe_bytes(usage.bytes),
                describe_bytes(max)
            ),
            rate: false,
        });
    }
    if let Some(max) = quota.uploads_per_minute
        && usage.uploads_last_minute >= u64::from(max)
    {
        return Err(OverQuota {
            message: format!(
                "tenant {tenant} created {} assets in the last minute, its limit is {max} (quota uploadsPerMinute); retry after a minute",
                usage.uploads_last_minute
            ),
            rate: true,
        });
    }
    Ok(())
}

/// Whether the tenant may open one more resumable or direct upload of `length` bytes: fewer
/// than `max_open` open, and the bytes within the quota with every reservation.
pub fn check_new_upload(
    tenant: &str,
    quota: &Quota,
    usage: &Usage,
    length: u64,
    max_open: u64,
) -> Result<(), OverQuota> {
    if usage.open_uploads >= max_open {
        return Err(OverQuota {
            message: format!(
                "tenant {tenant} has {} open uploads, its limit is {max_open} (--max-open-uploads); complete or end some (DELETE), or wait for them to expire",
                usage.open_uploads
            ),
            rate: false,
        });
    }
    check_quota(tenant, quota, usage, length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_refuses_with_its_numbers() {
        let quota = Quota {
            max_assets: Some(2),
            max_bytes: Some(1000),
            uploads_per_minute: Some(5),
        };
        let fine = Usage {
            assets: 1,
            bytes: 500,
            uploads_last_minute: 4,
            ..Usage::default()
        };
        assert_eq!(check_quota("t", &quota, &fine, 500), Ok(()));
        let full = check_quota("t", &quota, &Usage { assets: 2, ..fine }, 0).expect_err("assets");
        assert!(
            full.message.contains("2 of its 2 assets"),
            "{}",
            full.message
        );
        assert!(!full.rate);
        let bytes = check_quota("t", &quota, &fine, 501).expect_err("bytes");
        assert!(bytes.message.contains("maxBytes"), "{}", bytes.message);
        let rate = check_quota(
            "t",
            &quota,
            &Usage {
                uploads_last_minute: 5,
                ..fine
            },
            0,
        )
        .expect_err("rate");
        assert!(
            rate.rate && rate.message.contains("limit is 5"),
            "{}",
            rate.message
        );
        assert_eq!(
            check_quota(
                "t",
                &Quota::default(),
                &Usage {
                    assets: u64::MAX,
                    ..fine
                },
                9
            ),
            Ok(())
        );
    }

    #[test]
    fn reserved_bytes_and_open_uploads_count() {
        let quota = Quota {
            max_bytes: Some(1000),
            ..Quota::default()
        };
        let usage = Usage {
            bytes: 300,
            reserved_bytes: 600,
            open_uploads: 2,
            ..Usage::default()
        };
        assert_eq!(check_new_upload("t", &quota, &usage, 100, 3), Ok(()));
        let over = check_new_upload("t", &quota, &usage, 101, 3).expect_err("bytes");
        assert!(
            over.message.contains("reserved by 2 open uploads"),
            "{}",
            over.message
        );
        let open = check_new_upload("t", &Quota::default(), &usage, 1, 2).expect_err("open");
        assert!(open.message.contains("2 open uploads"), "{}", open.message);
    }

    #[test]
    fn a_tenant_quota_lays_over_the_default() {
        let default = Quota {
            max_assets: Some(10),
            max_bytes: Some(1),
            uploads_per_minute: None,
        };
        let tenant = Quota {
            max_assets: Some(3),
            ..Quota::default()
        };
        assert_eq!(
            default.overlaid(tenant),
            Quota {
                max_assets: Some(3),
                max_bytes: Some(1),
                uploads_per_minute: None
            }
        );
    }
}
