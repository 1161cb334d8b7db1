//! The open-file limit: raised from its soft to its hard value at start-up (a common soft
//! limit of 1024 is far below what a server holding client and source connections needs), and
//! the connection cap kept to half of it, so the rest stays for sources, temp files, blobs and
//! the database. Each connection may open a blob besides its socket, so the accept loop also
//! counts the descriptors in use, plus one per open connection, and refuses connections (503)
//! while fewer than a reserve (`reserve`: 10 % of the limit, at least 128, at most half) would
//! be left.

use std::time::Duration;

use tokio::time::Instant;

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

/// Descriptors kept free of client connections: 10 % of the limit, at least 128, at most half.
pub(super) fn reserve(open_files: u64) -> u64 {
    (open_files / 10).max(128).min(open_files / 2)
}

/// How long a count of the open descriptors is trusted while few are open.
const RECOUNT_EVERY: Duration = Duration::from_millis(100);

/// The accept loop's view of the descriptors in use.
pub(super) struct Descriptors {
    /// Connections are refused once this many descriptors are open (`None`: never).
    ceiling: Option<u64>,
    /// The last count and when it was made.
    counted: Option<(Instant, u64)>,
}

impl Descriptors {
    pub(super) fn new(open_files: Option<u64>) -> Self {
        Self {
            ceiling: open_files.map(|limit| limit - reserve(limit)),
            counted: None,
        }
    }

    #[cfg(test)]
    pub(super) fn unlimited() -> Self {
        Self::new(None)
    }

    /// Whether a connection just accepted as descriptor `fd`, with `live` connections open,
    /// leaves too few. Each open connection may still open one file (the blob it streams, the
    /// spool of its upload), so it counts once more. Descriptors are counted (`/proc/self/fd`)
    /// on every accept once half the ceiling may be in use, otherwise at most every
    /// `RECOUNT_EVERY`; descriptor numbers are the lowest free ones, so `fd + 1` are open at
    /// least.
    pub(super) fn short(&mut self, fd: Option<u64>, live: u64) -> bool {
        let Some(ceiling) = self.ceiling else {
            return false;
        };
        let at_least = fd.map_or(0, |fd| fd + 1) + live;
        if at_least >= ceiling {
            return true;
        }
        let now = Instant::now();
        let fresh = match self.counted {
            Some((at, open)) => open + live < ceiling / 2 && now.duration_since(at) < RECOUNT_EVERY,
            None => false,
        };
        if fresh && at_least < ceiling / 2 {
            return false;
        }
        let Some(open) = open_descriptors() else {
            self.ceiling = None;
            return false;
        };
        self.counted = Some((now, open));
        open + live >= ceiling
    }
}

/// Descriptors open in this process (`None` where `/proc` cannot tell).
fn open_descriptors() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    // Less the one reading the directory.
    Some((entries.count() as u64).saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_a_tenth_at_least_128_at_most_half() {
        assert_eq!(reserve(1_048_576), 104_857);
        assert_eq!(reserve(1024), 128);
        assert_eq!(reserve(256), 128);
        assert_eq!(reserve(100), 50);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn connections_are_refused_near_the_limit() {
        let open = open_descriptors().expect("/proc/self/fd");
        let ceiling = |n| Descriptors {
            ceiling: Some(n),
            counted: None,
        };
        assert!(!ceiling(open + 1000).short(Some(3), 0));
        // Standard input, output and error are open at least.
        assert!(ceiling(3).short(None, 0), "{open} open");
        // Each live connection may open one file more.
        assert!(ceiling(open + 1000).short(Some(3), 1000));
        assert!(
            Descriptors::new(Some(10_000)).short(Some(9_999), 0),
            "the descriptor's number alone tells"
        );
        assert!(!Descriptors::new(None).short(Some(1 << 40), 1 << 40));
    }

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
