//! The soak's samples of the server process (`/proc/PID`) and the growth verdict over them.

use std::path::Path;
use std::time::Duration;

/// The most stored blobs a server keeps open at once: content answers keep the most recently
/// sent files mapped and open, a sixteenth of the open-file limit and at most this many. Up to
/// it, more open blobs are the cache filling, not a leak.
pub const BLOB_FDS_MAX: u64 = assetlib::blob::CONTENT_FILES_KEPT_OPEN_MAX as u64;

/// One reading of the server process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Since the load started.
    pub at: Duration,
    /// Resident memory (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Open file descriptors (entries of `/proc/PID/fd`).
    pub fds: u64,
    /// Of those, the ones open on stored blobs (files under the blob directory).
    pub blob_fds: u64,
    /// Threads (`Threads` of `/proc/PID/status`).
    pub threads: u64,
}

/// Reads the process's figures, counting the descriptors open on files under `blobs` apart;
/// `None` when it is gone (or off Linux).
pub fn read(pid: u32, at: Duration, blobs: &Path) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let blobs = std::fs::canonicalize(blobs).unwrap_or_else(|_| blobs.to_path_buf());
    let (mut fds, mut blob_fds) = (0, 0);
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        fds += 1;
        // A descriptor closed between the listing and the link's read is no blob.
        if std::fs::read_link(entry.path()).is_ok_and(|target| target.starts_with(&blobs)) {
            blob_fds += 1;
        }
    }
    Some(Sample {
        at,
        rss_kib: field("VmRSS:")?,
        fds,
        blob_fds,
        threads: field("Threads:")?,
    })
}

/// What counts as growth: the mean of the last third of the samples after warm-up against the
/// mean of the first third, beyond a tolerance.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub warmup: Duration,
    /// RSS may grow by this share of the first third's mean…
    pub rss_ratio: f64,
    /// …or by this many MiB, whichever is larger (allocator noise on a small process).
    pub rss_mib: f64,
    /// Open descriptors other than stored blobs may grow by this many (connections of the load
    /// come and go); those on stored blobs, up to [`BLOB_FDS_MAX`].
    pub fds: f64,
}

/// The judgement of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub samples: usize,
    pub rss_first_mib: f64,
    pub rss_last_mib: f64,
    /// Descriptors other than those on stored blobs.
    pub fds_first: f64,
    pub fds_last: f64,
    /// The most descriptors on stored blobs seen at once (the warm-up included).
    pub blob_fds_max: u64,
    pub rss_grew: bool,
    pub fds_grew: bool,
    /// More stored blobs open at once than the server keeps ([`BLOB_FDS_MAX`]).
    pub blob_fds_over: bool,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        !self.rss_grew && !self.fds_grew && !self.blob_fds_over
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / f64::from(n) }
}

/// `None` when fewer than 6 samples follow the warm-up: too short to tell.
pub fn judge(samples: &[Sample], tol: &Tolerance) -> Option<Verdict> {
    let steady: Vec<&Sample> = samples.iter().filter(|s| s.at >= tol.warmup).collect();
    if steady.len() < 6 {
        return None;
    }
    let third = steady.len() / 3;
    let (first, last) = (&steady[..third], &steady[steady.len() - third..]);
    let mib = |s: &&Sample| s.rss_kib as f64 / 1024.0;
    let rss_first = mean(first.iter().map(mib));
    let rss_last = mean(last.iter().map(mib));
    let others = |s: &&Sample| s.fds.saturating_sub(s.blob_fds) as f64;
    let fds_first = mean(first.iter().map(others));
    let fds_last = mean(last.iter().map(others));
    let blob_fds_max = samples.iter().map(|s| s.blob_fds).max().unwrap_or(0);
    let rss_allowed = (rss_first * tol.rss_ratio).max(tol.rss_mib);
    Some(Verdict {
        samples: steady.len(),
        rss_first_mib: rss_first,
        rss_last_mib: rss_last,
        fds_first,
        fds_last,
        blob_fds_max,
        rss_grew: rss_last - rss_first > rss_allowed,
        fds_grew: fds_last - fds_first > tol.fds,
        blob_fds_over: blob_fds_max > BLOB_FDS_MAX,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Tolerance = Tolerance {
        warmup: Duration::from_secs(60),
        rss_ratio: 0.10,
        rss_mib: 8.0,
        fds: 8.0,
    };

    fn run(rss_mib: impl Fn(u64) -> f64, fds: impl Fn(u64) -> u64) -> Vec<Sample> {
        run_with_blobs(rss_mib, fds, |_| 0)
    }

    /// `fds` other descriptors and `blobs` on stored blobs at each sample.
    fn run_with_blobs(
        rss_mib: impl Fn(u64) -> f64,
        fds: impl Fn(u64) -> u64,
        blobs: impl Fn(u64) -> u64,
    ) -> Vec<Sample> {
        (0..60)
            .map(|i| Sample {
                at: Duration::from_secs(i * 10),
                rss_kib: (rss_mib(i) * 1024.0) as u64,
                fds: fds(i) + blobs(i),
                blob_fds: blobs(i),
                threads: 10,
            })
            .collect()
    }

    #[test]
    fn a_flat_noisy_run_passes() {
        let samples = run(|i| 80.0 + (i % 7) as f64, |i| 20 + i % 5);
        let v = judge(&samples, &TOL).expect("enough samples");
        assert!(v.ok(), "{v:?}");
        assert_eq!(v.samples, 54);
    }

    #[test]
    fn warm_up_growth_is_not_counted() {
        // Caches fill during the first minute, then stay.
        let samples = run(
            |i| if i < 6 { 20.0 + 10.0 * i as f64 } else { 80.0 },
            |_| 20,
        );
        assert!(judge(&samples, &TOL).expect("enough").ok());
    }

    #[test]
    fn a_steady_leak_fails() {
        // 0.5 MiB per sample: 27 MiB between the thirds' means.
        let samples = run(|i| 80.0 + 0.5 * i as f64, |_| 20);
        let v = judge(&samples, &TOL).expect("enough");
        assert!(v.rss_grew && !v.fds_grew, "{v:?}");
    }

    #[test]
    fn leaking_descriptors_fail() {
        let samples = run(|_| 80.0, |i| 20 + i / 2);
        let v = judge(&samples, &TOL).expect("enough");
        assert!(v.fds_grew && !v.rss_grew, "{v:?}");
    }

    #[test]
    fn stored_blobs_kept_open_up_to_the_servers_cap_are_not_a_leak() {
        // Content answers keep the most recently sent files open: 5 more every sample, up to
        // the cap, as a soak reading new uploads sees them.
        let samples = run_with_blobs(|_| 80.0, |i| 20 + i % 5, |i| (5 * i).min(BLOB_FDS_MAX));
        let v = judge(&samples, &TOL).expect("enough");
        assert!(v.ok(), "{v:?}");
        assert_eq!(v.blob_fds_max, BLOB_FDS_MAX);
    }

    #[test]
    fn more_stored_blobs_open_than_the_cap_fail() {
        let samples = run_with_blobs(|_| 80.0, |_| 20, |i| 5 * i);
        let v = judge(&samples, &TOL).expect("enough");
        assert!(v.blob_fds_over && !v.fds_grew, "{v:?}");
        assert!(!v.ok());
    }

    #[test]
    fn too_short_a_run_is_not_judged() {
        let samples: Vec<Sample> = run(|_| 80.0, |_| 20).into_iter().take(10).collect();
        assert_eq!(judge(&samples, &TOL), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let dir = std::env::temp_dir().join(format!("soak-sample-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let before = read(std::process::id(), Duration::ZERO, &dir).expect("/proc is readable");
        assert!(
            before.rss_kib > 0 && before.fds >= 3 && before.threads >= 1,
            "{before:?}"
        );
        let open = std::fs::File::create(dir.join("blob")).expect("file");
        let after = read(std::process::id(), Duration::ZERO, &dir).expect("/proc is readable");
        assert_eq!(after.blob_fds, before.blob_fds + 1, "{before:?} {after:?}");
        drop(open);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
