//! Scenario 1: upload-request-start → usable (assetlib: `Active` seen on the details endpoint),
//! sequentially, eight importers at once, and open-loop at a fixed rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::origin::Origin;
use super::stats::{Row, Samples};
use super::target::Importer;

/// Distinct variant numbers for every import of a run.
static NEXT: AtomicU64 = AtomicU64::new(1);

fn next_url(origin: &Origin, file: &str) -> String {
    origin.url(file, NEXT.fetch_add(1, Ordering::Relaxed))
}

pub struct Plan {
    pub sequential: usize,
    pub concurrency: usize,
    pub concurrent_for: Duration,
    /// Open-loop rate and length; `None` skips it (peers that cannot keep up).
    pub open_loop: Option<(f64, Duration)>,
}

pub async fn run(imp: &Importer, origin: &Origin, file: &str, plan: &Plan) -> Vec<Row> {
    let name = imp.name();
    let mut rows = Vec::new();

    let mut seq = Samples::default();
    for _ in 0..plan.sequential {
        match imp.import(&next_url(origin, file), "Image").await {
            Ok(t) => seq.ok(t.usable),
            Err(e) => seq.error(e),
        }
    }
    rows.push(Row::new("time-to-active sequential", name, &seq, None));

    let (conc, wall) = concurrent(imp, origin, file, plan.concurrency, plan.concurrent_for).await;
    rows.push(Row::new(
        &format!("time-to-active {}-way", plan.concurrency),
        name,
        &conc,
        Some(wall),
    ));

    if let Some((rate, length)) = plan.open_loop {
        let (open, wall) = open_loop(imp, origin, file, rate, length).await;
        rows.push(
            Row::new(
                &format!("time-to-active open-loop {rate}/s"),
                name,
                &open,
                Some(wall),
            )
            .with_note(format!("{} s offered", length.as_secs())),
        );
    }
    rows
}

/// `workers` importers back to back until `length` has passed.
pub async fn concurrent(
    imp: &Importer,
    origin: &Origin,
    file: &str,
    workers: usize,
    length: Duration,
) -> (Samples, Duration) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let imp = imp.clone();
        let origin = *origin;
        let file = file.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            while start.elapsed() < length {
                match imp.import(&next_url(&origin, &file), "Image").await {
                    Ok(t) => samples.ok(t.usable),
                    Err(e) => samples.error(e),
                }
            }
            samples
        }));
    }
    let mut all = Samples::default();
    for task in tasks {
        if let Ok(samples) = task.await {
            all.merge(samples);
        }
    }
    (all, start.elapsed())
}

/// How long an open-loop import may take before it counts as an error.
const OPEN_LOOP_DEADLINE: Duration = Duration::from_secs(30);

/// Imports started at a fixed rate whatever the answers do (no coordinated omission).
async fn open_loop(
    imp: &Importer,
    origin: &Origin,
    file: &str,
    rate: f64,
    length: Duration,
) -> (Samples, Duration) {
    let total = (rate * length.as_secs_f64()).round() as u64;
    let every = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let results = Arc::new(std::sync::Mutex::new(Samples::default()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..total {
        let due = start + every.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let imp = imp.clone();
        let url = next_url(origin, file);
        let results = Arc::clone(&results);
        tasks.push(tokio::spawn(async move {
            // Past the deadline an import counts as an error, so an overload ends the run
            // instead of draining for minutes.
            let outcome = tokio::time::timeout(OPEN_LOOP_DEADLINE, imp.import(&url, "Image"))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "not Active within {} s",
                        OPEN_LOOP_DEADLINE.as_secs()
                    ))
                });
            if let Ok(mut r) = results.lock() {
                match outcome {
                    Ok(t) => r.ok(t.usable),
                    Err(e) => r.error(e),
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let wall = start.elapsed();
    let samples = results.lock().map(|r| r.clone()).unwrap_or_default();
    (samples, wall)
}
