//! The process's own figures, read from `/proc/self` when scraped (Linux; elsewhere they are
//! left out): resident memory, open file descriptors, CPU time. No dependency beyond the
//! standard library (and libc's `sysconf` for the clock tick where it is linked).

/// One reading of the process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    pub resident_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub cpu_seconds: Option<f64>,
}

impl ProcessStats {
    /// Reads `/proc/self`: `status` (VmRSS), `fd` (one entry per descriptor), `stat` (utime
    /// and stime, in clock ticks).
    pub fn read() -> Self {
        Self {
            resident_bytes: std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| resident_bytes(&s)),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                // The listing's own descriptor is among the entries.
                .map(|d| (d.count() as u64).saturating_sub(1)),
            cpu_seconds: std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|s| cpu_ticks(&s))
                .map(|ticks| ticks as f64 / clock_ticks_per_second()),
        }
    }
}

/// `VmRSS:   123456 kB` of `/proc/self/status`, in bytes.
fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: u64 = words.next()?.parse().ok()?;
    let unit = words.next().unwrap_or("kB");
    Some(match unit {
        "kB" => value * 1024,
        "mB" | "MB" => value * 1024 * 1024,
        _ => value,
    })
}

/// utime + stime of `/proc/self/stat` (fields 14 and 15; the name in field 2 may hold spaces
/// and parentheses, so fields are counted after its last `)`).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (the state).
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: sysconf reads a constant of the system; it has no precondition.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if ticks > 0 {
            return ticks as f64;
        }
    }
    // USER_HZ on every Linux architecture but a few old ones.
    100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        let status = "Name:\tassetlib\nVmPeak:\t  20000 kB\nVmRSS:\t   12345 kB\nThreads:\t4\n";
        assert_eq!(resident_bytes(status), Some(12345 * 1024));
        assert_eq!(resident_bytes("Name: x\n"), None);
        let stat = "4242 (assetlib (worker) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 \
                    20 0 8 0 12345 1000000 300 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(300));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read() {
        let stats = ProcessStats::read();
        assert!(
            stats.resident_bytes.is_some_and(|b| b > 1024 * 1024),
            "{stats:?}"
        );
        assert!(stats.open_fds.is_some_and(|n| n >= 3), "{stats:?}");
        assert!(stats.cpu_seconds.is_some_and(|s| s >= 0.0), "{stats:?}");
    }
}
