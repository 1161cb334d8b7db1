//! Latency samples and the figures the bench reports.

use std::time::Duration;

use serde::Serialize;

/// One measured series: latencies of the requests that succeeded, and the errors.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub latencies: Vec<Duration>,
    pub errors: u64,
    /// First few error messages, to say what went wrong.
    pub error_examples: Vec<String>,
}

impl Samples {
    pub fn ok(&mut self, took: Duration) {
        self.latencies.push(took);
    }

    pub fn error(&mut self, message: String) {
        self.errors += 1;
        if self.error_examples.len() < 3 {
            self.error_examples.push(message);
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        for e in other.error_examples {
            if self.error_examples.len() < 3 {
                self.error_examples.push(e);
            }
        }
    }
}

/// A row of the results table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub target: String,
    pub count: usize,
    pub errors: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Completed operations per second over the measured wall time, when that means something.
    pub per_sec: Option<f64>,
    /// Anything else worth a column (peak RSS, bytes per second…).
    pub note: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_examples: Vec<String>,
}

impl Row {
    pub fn new(scenario: &str, target: &str, samples: &Samples, wall: Option<Duration>) -> Self {
        let mut sorted = samples.latencies.clone();
        sorted.sort();
        let pct = |p: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
            ms(sorted[rank.clamp(1, sorted.len()) - 1])
        };
        Self {
            scenario: scenario.to_owned(),
            target: target.to_owned(),
            count: sorted.len(),
            errors: samples.errors,
            p50_ms: pct(50.0),
            p90_ms: pct(90.0),
            p99_ms: pct(99.0),
            max_ms: sorted.last().copied().map(ms).unwrap_or(0.0),
            per_sec: wall
                .filter(|w| !w.is_zero())
                .map(|w| sorted.len() as f64 / w.as_secs_f64()),
            note: String::new(),
            error_examples: samples.error_examples.clone(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// The results as a markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | target | n | errors | p50 ms | p90 ms | p99 ms | max ms | per s | note |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let per_sec = r.per_sec.map(|v| format!("{v:.1}")).unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
            r.scenario,
            r.target,
            r.count,
            r.errors,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            per_sec,
            r.note
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut s = Samples::default();
        for i in 1..=100 {
            s.ok(Duration::from_millis(i));
        }
        s.error("boom".into());
        let row = Row::new("x", "y", &s, Some(Duration::from_secs(10)));
        assert_eq!(
            (row.p50_ms, row.p90_ms, row.p99_ms, row.max_ms),
            (50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(row.errors, 1);
        assert_eq!(row.per_sec, Some(10.0));
        assert!(markdown(&[row]).contains("| x | y | 100 | 1 | 50.0 |"));
    }
}
