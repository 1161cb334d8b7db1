//! The soak's samples of the server process (`/proc/PID`) and the growth verdict over them.

use std::time::Duration;

/// One reading of the server process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Since the load started.
    pub at: Duration,
    /// Resident memory (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Open file descriptors (entries of `/proc/PID/fd`).
    pub fds: u64,
    /// Threads (`Threads` of `/proc/PID/status`).
    pub threads: u64,
}

/// Reads the process's figures; `None` when it is gone (or off Linux).
pub fn read(pid: u32, at: Duration) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(Sample {
        at,
        rss_kib: field("VmRSS:")?,
        fds,
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
    /// Open descriptors may grow by this many (connections of the load come and go).
    pub fds: f64,
}

/// The judgement of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub samples: usize,
    pub rss_first_mib: f64,
    pub rss_last_mib: f64,
    pub fds_first: f64,
    pub fds_last: f64,
    pub rss_grew: bool,
    pub fds_grew: bool,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        !self.rss_grew && !self.fds_grew
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
    let fds_first = mean(first.iter().map(|s| s.fds as f64));
    let fds_last = mean(last.iter().map(|s| s.fds as f64));
    let rss_allowed = (rss_first * tol.rss_ratio).max(tol.rss_mib);
    Some(Verdict {
        samples: steady.len(),
        rss_first_mib: rss_first,
        rss_last_mib: rss_last,
        fds_first,
        fds_last,
        rss_grew: rss_last - rss_first > rss_allowed,
        fds_grew: fds_last - fds_first > tol.fds,
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
        (0..60)
            .map(|i| Sample {
                at: Duration::from_secs(i * 10),
                rss_kib: (rss_mib(i) * 1024.0) as u64,
                fds: fds(i),
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
    fn too_short_a_run_is_not_judged() {
        let samples: Vec<Sample> = run(|_| 80.0, |_| 20).into_iter().take(10).collect();
        assert_eq!(judge(&samples, &TOL), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = read(std::process::id(), Duration::ZERO).expect("/proc is readable");
        assert!(me.rss_kib > 0 && me.fds >= 3 && me.threads >= 1, "{me:?}");
    }
}
