//! `assetlib bench <scenario>`: starts its own server (this binary, on a temp data dir) and a
//! local origin, runs a scenario, prints a markdown table and the same rows as JSON. With
//! `--peer`, the same imports run against a peer product already running on this machine, so
//! every ratio comes from one run. See docs/PERFORMANCE.md.

mod face;
mod ingest;
mod media;
mod origin;
mod reads;
mod stats;
mod target;
mod time_to_active;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;

use origin::{File, Origin};
use stats::{Row, markdown};
use target::{Importer, Kind, Node};

pub use reads::serve_bare;

/// Names the n-th request of a load run.
type PathFn = Arc<dyn Fn(u64) -> String + Send + Sync>;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Which scenario to run.
    #[arg(value_parser = ["time-to-active", "ingest-bandwidth", "reads", "face-check", "all"])]
    scenario: String,
    /// Run the import scenarios against this peer too (start it first; docs/PERFORMANCE.md).
    #[arg(long, value_parser = ["pictrs", "directus"])]
    peer: Option<String>,
    /// The peer's base URL (default: pict-rs http://127.0.0.1:18080, Directus http://127.0.0.1:18055).
    #[arg(long)]
    peer_url: Option<String>,
    /// Directus static token.
    #[arg(long, default_value = "bench-admin-static-token")]
    peer_token: String,
    /// Tiny counts and short runs: checks every scenario works (CI), measures nothing.
    #[arg(long)]
    smoke: bool,
    /// Open-loop rate (uploads per second) of time-to-active.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Open-loop length in seconds.
    #[arg(long, default_value_t = 60)]
    open_loop_secs: u64,
    /// Assets in the library for the reads scenario.
    #[arg(long, default_value_t = 1_000_000)]
    assets: u64,
    /// Concurrent connections of the reads scenario.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Where generated media are cached (default: $TMPDIR/assetlib-bench).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// A flag for the server under test, e.g. `--server-arg=--faces=allow` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Also write the JSON results to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("assetlib-bench"));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let scenarios: Vec<&str> = match args.scenario.as_str() {
        "all" => vec!["time-to-active", "ingest-bandwidth", "reads", "face-check"],
        one => vec![one],
    };
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    for scenario in scenarios {
        eprintln!("== {scenario}");
        let started = std::time::Instant::now();
        let mut got = match scenario {
            "time-to-active" => time_to_active(&args, &work, &mut summary).await?,
            "ingest-bandwidth" => ingest(&args, &work, &mut summary).await?,
            "reads" => reads(&args, &mut summary).await?,
            _ => face::run(&media::photo_jpeg(&work)?, if args.smoke { 2 } else { 21 })?,
        };
        summary.push(format!(
            "{scenario}: finished in {:.0} s",
            started.elapsed().as_secs_f64()
        ));
        eprint!("{}", markdown(&got));
        rows.append(&mut got);
    }
    println!("{}", markdown(&rows));
    for line in &summary {
        println!("- {line}");
    }
    let json = serde_json::json!({
        "machine": machine(),
        "smoke": args.smoke,
        "rows": rows,
        "summary": summary,
    });
    let text = serde_json::to_string_pretty(&json)?;
    println!("\n```json\n{text}\n```");
    if let Some(path) = &args.json {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn server_args(args: &BenchArgs) -> Vec<&str> {
    args.server_args.iter().map(String::as_str).collect()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

fn peer(args: &BenchArgs) -> anyhow::Result<Option<Importer>> {
    let kind = match args.peer.as_deref() {
        Some("pictrs") => Kind::PictRs {
            base: args
                .peer_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:18080".into()),
        },
        Some("directus") => Kind::Directus {
            base: args
                .peer_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:18055".into()),
            token: args.peer_token.clone(),
        },
        _ => return Ok(None),
    };
    Ok(Some(Importer::new(kind)?))
}

async fn serve_files(files: &[(&str, PathBuf, &'static str)]) -> anyhow::Result<Origin> {
    let mut map = HashMap::new();
    for (name, path, content_type) in files {
        let bytes = Bytes::from(std::fs::read(path)?);
        map.insert(
            (*name).to_owned(),
            File {
                bytes,
                content_type,
            },
        );
    }
    Origin::start(map).await
}

fn note_rss(mut rows: Vec<Row>, node: &Node) -> Vec<Row> {
    if let (Some(last), Some(rss)) = (rows.last_mut(), node.peak_rss_mib()) {
        let sep = if last.note.is_empty() { "" } else { "; " };
        last.note = format!("{}{sep}server peak RSS {rss:.0} MiB", last.note);
    }
    rows
}

async fn time_to_active(
    args: &BenchArgs,
    work: &std::path::Path,
    summary: &mut Vec<String>,
) -> anyhow::Result<Vec<Row>> {
    let photo = media::photo_jpeg(work)?;
    let origin = serve_files(&[("photo.jpg", photo, "image/jpeg")]).await?;
    let plan = if args.smoke {
        time_to_active::Plan {
            sequential: 3,
            concurrency: 8,
            concurrent_for: Duration::from_secs(2),
            open_loop: Some((10.0, Duration::from_secs(2))),
        }
    } else {
        time_to_active::Plan {
            sequential: 100,
            concurrency: 8,
            concurrent_for: Duration::from_secs(30),
            open_loop: Some((args.rate, Duration::from_secs(args.open_loop_secs))),
        }
    };
    let node = Node::start(None, &server_args(args))?;
    let ours = Importer::new(Kind::Assetlib {
        base: node.base.clone(),
        key: node.key.clone(),
    })?;
    let mut rows = note_rss(
        time_to_active::run(&ours, &origin, "photo.jpg", &plan).await,
        &node,
    );
    drop(node);
    if let Some(peer) = peer(args)? {
        let peer_plan = time_to_active::Plan {
            open_loop: None,
            ..plan
        };
        let theirs = time_to_active::run(&peer, &origin, "photo.jpg", &peer_plan).await;
        let find =
            |rows: &[Row], scenario: &str| rows.iter().find(|r| r.scenario == scenario).cloned();
        if let (Some(a), Some(b)) = (
            find(&rows, "time-to-active sequential"),
            find(&theirs, "time-to-active sequential"),
        ) && a.p50_ms > 0.0
        {
            summary.push(format!(
                "sequential p50: assetlib {:.1} ms, {} {:.1} ms ({:.1}× as fast)",
                a.p50_ms,
                peer.name(),
                b.p50_ms,
                b.p50_ms / a.p50_ms
            ));
        }
        if let (Some(a), Some(b)) = (
            find(&rows, "time-to-active 8-way"),
            find(&theirs, "time-to-active 8-way"),
        ) && let (Some(x), Some(y)) = (a.per_sec, b.per_sec)
            && y > 0.0
        {
            summary.push(format!(
                "8-way throughput: assetlib {x:.1}/s, {} {y:.1}/s ({:.2}×)",
                peer.name(),
                x / y
            ));
        }
        rows.extend(theirs);
    }
    Ok(rows)
}

async fn ingest(
    args: &BenchArgs,
    work: &std::path::Path,
    summary: &mut Vec<String>,
) -> anyhow::Result<Vec<Row>> {
    let video = if args.smoke {
        media::video_mp4_sized(work, 3, "2M")?
    } else {
        media::video_mp4(work)?
    };
    let size_mb = std::fs::metadata(&video)?.len() as f64 / 1e6;
    let photo = media::photo_jpeg(work)?;
    let origin = serve_files(&[
        ("video.mp4", video, "video/mp4"),
        ("photo.jpg", photo, "image/jpeg"),
    ])
    .await?;
    let node = Node::start(None, &server_args(args))?;
    let ours = Importer::new(Kind::Assetlib {
        base: node.base.clone(),
        key: node.key.clone(),
    })?;
    // Memory after small imports, to compare with after the large ones.
    for v in 0..3 {
        let _ = ours
            .import(&origin.url("photo.jpg", 9_000_000 + v), "Image")
            .await;
    }
    let rss_small = node.peak_rss_mib().unwrap_or(0.0);
    let scratch = tempfile::Builder::new()
        .prefix("assetlib-bench-copy-")
        .tempdir_in(work)?;
    let mut rows = Vec::new();
    for n in [1, 8] {
        rows.push(ingest::copies(ours.client(), &origin, "video.mp4", n, scratch.path()).await);
        rows.extend(ingest::imports(&ours, &origin, "video.mp4", n).await);
    }
    let rss_large = node.peak_rss_mib().unwrap_or(0.0);
    summary.push(format!(
        "ingest: video {size_mb:.1} MB; server peak RSS {rss_small:.0} MiB after three 1 MB \
         imports, {rss_large:.0} MiB after the video imports"
    ));
    let rows = note_rss(rows, &node);
    drop(node);
    let mut rows = rows;
    if let Some(peer) = peer(args)? {
        for n in [1, 8] {
            rows.extend(ingest::imports(&peer, &origin, "video.mp4", n).await);
        }
    }
    Ok(rows)
}

async fn reads(args: &BenchArgs, summary: &mut Vec<String>) -> anyhow::Result<Vec<Row>> {
    let count = if args.smoke { 2_000 } else { args.assets };
    let (length, concurrency) = if args.smoke {
        (Duration::from_secs(1), 4)
    } else {
        (Duration::from_secs(10), args.connections)
    };
    let dir = tempfile::Builder::new()
        .prefix("assetlib-bench-reads-")
        .tempdir()?;
    let seeded = reads::seed(dir.path(), count).await?;
    summary.push(format!(
        "reads: {count} assets seeded in {:.1} s",
        seeded.as_secs_f64()
    ));
    let node = Node::start(Some(dir.path()), &server_args(args))?;
    let bare = reads::Bare::start()?;
    let client = Importer::new(Kind::Assetlib {
        base: node.base.clone(),
        key: node.key.clone(),
    })?
    .client()
    .clone();
    let details: PathFn =
        Arc::new(move |n| format!("/v1/assets/{}", reads::seeded_id(reads::spread(n, count))));
    let first: PathFn = Arc::new(|_| "/v1/assets?limit=20".to_owned());
    // Keyset cursor near the oldest assets: the deepest page of the library.
    let deep: PathFn = Arc::new(|_| "/v1/assets?limit=20&cursor=1021".to_owned());
    let kyy_first: PathFn =
        Arc::new(|_| "/kyyReactApiServer/kyyVideo2/asset/list?pageNum=1&pageSize=20".to_owned());
    let mut rows = Vec::new();
    let runs: [(&str, &str, &str, &PathFn); 5] = [
        ("details (bare axum handler)", "bare", &bare.base, &details),
        ("details", "assetlib", &node.base, &details),
        ("v1 list, first page", "assetlib", &node.base, &first),
        ("v1 list, deepest page", "assetlib", &node.base, &deep),
        (
            "kyy list, page 1 (with total)",
            "assetlib",
            &node.base,
            &kyy_first,
        ),
    ];
    for (label, target, base, path) in runs {
        let (samples, wall) = reads::load(
            &client,
            base,
            &node.key,
            Arc::clone(path),
            concurrency,
            length,
        )
        .await;
        rows.push(reads::rows_for(label, target, &samples, wall));
    }
    if let (Some(bare), Some(ours)) = (rows[0].per_sec, rows[1].per_sec)
        && bare > 0.0
    {
        summary.push(format!(
            "reads: details at {:.2}× the bare handler's requests/s",
            ours / bare
        ));
    }
    if rows[2].p50_ms > 0.0 {
        summary.push(format!(
            "reads: deepest list page p50 at {:.2}× the first page's",
            rows[3].p50_ms / rows[2].p50_ms
        ));
    }
    Ok(note_rss(rows, &node))
}
