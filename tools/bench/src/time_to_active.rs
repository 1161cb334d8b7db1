//! Scenario 1: upload-request-start → usable (assetlib: `Active` seen on the details endpoint),
//! sequentially, eight importers at once, and open-loop at a fixed rate.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assetlib_test_support::Origin;

use crate::args::BenchArgs;
use crate::importer::Importer;
use crate::media;
use crate::server::{Binary, Node};
use crate::stats::{Row, Samples};

/// Distinct variant numbers for every import of a run.
static NEXT: AtomicU64 = AtomicU64::new(1);

/// The next import's URL: the photos in turn, each time a distinct variant.
fn next_url(origin: &Origin, files: &[String]) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let file = files
        .get(n as usize % files.len().max(1))
        .map_or("photo-0.jpg", String::as_str);
    origin.url(file, n)
}

pub struct Plan {
    pub sequential: usize,
    pub concurrency: usize,
    pub concurrent_for: Duration,
    /// Open-loop rate and length; `None` skips it (peers that cannot keep up).
    pub open_loop: Option<(f64, Duration)>,
}

pub async fn scenario(
    args: &BenchArgs,
    server: &Binary,
    work: &Path,
    summary: &mut Vec<String>,
) -> anyhow::Result<Vec<Row>> {
    // The photo set (real photographs, people and no people) in turn; the synthetic image
    // only when the set is the fallback one.
    let photos = media::photo_set(work, args.photos.as_deref())?;
    let names: Vec<String> = (0..photos.len())
        .map(|i| format!("photo-{i}.jpg"))
        .collect();
    let served: Vec<(&str, &Path, &str)> = names
        .iter()
        .zip(&photos)
        .map(|(name, p)| (name.as_str(), p.path.as_path(), "image/jpeg"))
        .collect();
    let origin = media::serve(&served).await?;
    let files = &names[..];
    let plan = if args.smoke {
        Plan {
            sequential: 3,
            concurrency: 8,
            concurrent_for: Duration::from_secs(2),
            open_loop: Some((10.0, Duration::from_secs(2))),
        }
    } else {
        Plan {
            sequential: 100,
            concurrency: 8,
            concurrent_for: Duration::from_secs(30),
            open_loop: Some((args.rate, Duration::from_secs(args.open_loop_secs))),
        }
    };
    let node = Node::start(server, None, &args.server_args)?;
    let mut rows =
        node.note_rss(run(&node.importer()?, &origin, files, &plan, Some(node.pid())).await);
    drop(node);
    if let Some(peer) = args.peer()? {
        let peer_plan = Plan {
            open_loop: None,
            ..plan
        };
        let theirs = run(&peer, &origin, files, &peer_plan, None).await;
        compare(&rows, &theirs, peer.name(), summary);
        rows.extend(theirs);
    }
    Ok(rows)
}

/// Summary lines: our sequential p50 and 8-way throughput against the peer's.
fn compare(ours: &[Row], theirs: &[Row], peer: &str, summary: &mut Vec<String>) {
    let find = |rows: &[Row], scenario: &str| rows.iter().find(|r| r.scenario == scenario).cloned();
    if let (Some(a), Some(b)) = (
        find(ours, "time-to-active sequential"),
        find(theirs, "time-to-active sequential"),
    ) && a.p50_ms > 0.0
    {
        summary.push(format!(
            "sequential p50: assetlib {:.1} ms, {peer} {:.1} ms ({:.1}× as fast)",
            a.p50_ms,
            b.p50_ms,
            b.p50_ms / a.p50_ms
        ));
    }
    if let (Some(a), Some(b)) = (
        find(ours, "time-to-active 8-way"),
        find(theirs, "time-to-active 8-way"),
    ) && let (Some(x), Some(y)) = (a.per_sec, b.per_sec)
        && y > 0.0
    {
        summary.push(format!(
            "8-way throughput: assetlib {x:.1}/s, {peer} {y:.1}/s ({:.2}×)",
            x / y
        ));
    }
}

/// Adds to `row`'s note the CPU time `server` (with every process below it) used since
/// `before` (its CPU seconds then), per import of the row.
fn with_cpu(row: Row, server: Option<u32>, before: f64) -> Row {
    let Some(pid) = server else {
        return row;
    };
    let per_import = (crate::cpu::seconds(pid) - before) / row.count.max(1) as f64;
    let note = format!(
        "{}{}server CPU {:.1} ms per import",
        row.note,
        if row.note.is_empty() { "" } else { "; " },
        per_import * 1000.0
    );
    row.with_note(note)
}

/// The three phases against `imp`; with `server` (its process id), each row notes the server's
/// CPU time per import.
pub async fn run(
    imp: &Importer,
    origin: &Origin,
    files: &[String],
    plan: &Plan,
    server: Option<u32>,
) -> Vec<Row> {
    let name = imp.name();
    let mut rows = Vec::new();
    let cpu = || server.map_or(0.0, crate::cpu::seconds);

    let before = cpu();
    let mut seq = Samples::default();
    for _ in 0..plan.sequential {
        match imp.import(&next_url(origin, files), "Image").await {
            Ok(t) => seq.ok(t.usable),
            Err(e) => seq.error(e),
        }
    }
    rows.push(with_cpu(
        Row::new("time-to-active sequential", name, &seq, None),
        server,
        before,
    ));

    let before = cpu();
    let (conc, wall) = concurrent(imp, origin, files, plan.concurrency, plan.concurrent_for).await;
    rows.push(with_cpu(
        Row::new(
            &format!("time-to-active {}-way", plan.concurrency),
            name,
            &conc,
            Some(wall),
        ),
        server,
        before,
    ));

    if let Some((rate, length)) = plan.open_loop {
        let before = cpu();
        let (open, wall) = open_loop(imp, origin, files, rate, length).await;
        rows.push(with_cpu(
            Row::new(
                &format!("time-to-active open-loop {rate}/s"),
                name,
                &open,
                Some(wall),
            )
            .with_note(format!("{} s offered", length.as_secs())),
            server,
            before,
        ));
    }
    rows
}

/// `workers` importers back to back until `length` has passed.
pub async fn concurrent(
    imp: &Importer,
    origin: &Origin,
    files: &[String],
    workers: usize,
    length: Duration,
) -> (Samples, Duration) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let imp = imp.clone();
        let origin = origin.clone();
        let files = files.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            while start.elapsed() < length {
                match imp.import(&next_url(&origin, &files), "Image").await {
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
    files: &[String],
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
        let url = next_url(origin, files);
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
