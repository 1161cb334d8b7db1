//! Idle cores lent to a lone face check: while fewer checks run than the machine has cores,
//! a check splits its largest steps in two and runs the halves on two threads, so one upload on
//! a quiet server settles sooner. Under load (as many checks as cores) nothing is split, so the
//! work per upload — and the throughput — stay what they are on one thread.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Checks running now, in this process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The cores this process may use (looked up once).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// A running check, counted while it lives.
pub struct Check {
    /// Whether a core was idle when the check started (its steps may be split).
    spare: bool,
}

impl Check {
    /// Counts a check in; it may split its steps when fewer checks than cores were running.
    pub fn start() -> Self {
        let before = RUNNING.fetch_add(1, Ordering::Relaxed);
        Self {
            spare: before + 1 < cores(),
        }
    }

    /// A check that never splits (for comparisons and tests).
    pub fn alone() -> Self {
        RUNNING.fetch_add(1, Ordering::Relaxed);
        Self { spare: false }
    }

    /// A check that always splits (for tests).
    #[cfg(test)]
    pub fn split() -> Self {
        RUNNING.fetch_add(1, Ordering::Relaxed);
        Self { spare: true }
    }

    /// Whether this check may split its steps.
    pub fn spare(&self) -> bool {
        self.spare
    }

    /// Runs `a` and `b`: on two threads when a core is spare, else one after the other.
    /// A panic in either is passed on.
    pub fn pair<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        if !self.spare {
            let first = a();
            return (first, b());
        }
        std::thread::scope(|scope| {
            let other = scope.spawn(a);
            let second = b();
            match other.join() {
                Ok(first) => (first, second),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl Drop for Check {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::Check;

    #[test]
    fn pairs_give_both_answers_in_order() {
        for check in [Check::start(), Check::alone()] {
            let (a, b) = check.pair(|| 1 + 1, || "two");
            assert_eq!((a, b), (2, "two"));
        }
    }

    #[test]
    fn a_check_alone_never_splits() {
        assert!(!Check::alone().spare());
    }
}
