//! The open-file limit: raised from its soft to its hard value at start-up (a common soft
//! limit of 1024 is far below what a server holding client and source connections needs), and
//! the connection cap kept to half of it, so the rest stays for sources, temp files, blobs and
//! the database.

/// Raises the soft open-file limit to the hard one; returns the limit now in force (`None`
/// where it cannot be read).
pub(super) fn raise_open_file_limit() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct passed, which lives across the call.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: setrlimit only reads the struct passed.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                tracing::info!(
                    from = limit.rlim_cur,
                    to = limit.rlim_max,
                    "raised the open-file limit"
                );
                limit.rlim_cur = limit.rlim_max;
            } else {
                tracing::warn!(
                    soft = limit.rlim_cur,
                    hard = limit.rlim_max,
                    error = %std::io::Error::last_os_error(),
                    "could not raise the open-file limit"
                );
            }
        }
        Some(limit.rlim_cur)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// The connection cap in force: the configured one, or half the open-file limit if lower.
pub(super) fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    let Some(open_files) = open_files else {
        return configured;
    };
    let half = usize::try_from(open_files / 2).unwrap_or(usize::MAX).max(1);
    if half < configured {
        tracing::warn!(
            configured,
            cap = half,
            open_files,
            "the open-file limit is low: accepting at most {half} connections (raise `ulimit -n`)"
        );
        return half;
    }
    configured
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_at_most_half_the_open_file_limit() {
        assert_eq!(connection_cap(4096, Some(1024)), 512);
        assert_eq!(connection_cap(4096, Some(1_048_576)), 4096);
        assert_eq!(connection_cap(100, None), 100);
        assert_eq!(connection_cap(100, Some(1)), 1);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let now = raise_open_file_limit().expect("readable on Linux");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(now, limit.rlim_cur);
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }
}
