//! Scenario 5: asset content served to 8 connections — a real photo of about 600 KB and a
//! video of about 48 MB, whole and in byte ranges — through `GET /v1/assets/{id}/content` and
//! a signed `/content` URL, next to nginx (`sendfile on`) serving the very same stored files
//! (`nginx.rs`), and next to an earlier server build with `--baseline-bin`. Targets alternate
//! round by round; MB/s and requests/s are medians over the rounds, CPU per request comes from
//! `/proc` (the server process, or nginx's master and workers).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::args::BenchArgs;
use crate::nginx::{self, Nginx};
use crate::seed::spread;
use crate::server::{Binary, Node};
use crate::stats::{Row, Samples};
use crate::{cpu, media};

/// The largest byte range a range request asks for (a player's chunk of a video).
const RANGE_BYTES: u64 = 1024 * 1024;

/// A stored file and how each target names it.
struct Served {
    label: String,
    len: u64,
}

/// A server the scenario drives, and the paths of the files on it.
struct Target {
    name: String,
    base: String,
    /// The bearer key the URLs need, if any.
    key: Option<String>,
    pid: u32,
    /// A path per file, in the order of the `Served` files.
    paths: Vec<String>,
}

pub async fn scenario(
    args: &BenchArgs,
    server: &Binary,
    work: &Path,
    summary: &mut Vec<String>,
) -> anyhow::Result<Vec<Row>> {
    let photo = media::content_photo(work)?;
    let video = if args.smoke {
        media::small_video_mp4(work)?
    } else {
        media::content_video(work)?
    };
    let sources = [
        (photo.as_path(), "image/jpeg", "photo"),
        (video.as_path(), "video/mp4", "video"),
    ];
    let mut files = Vec::new();
    for (path, _, what) in &sources {
        let len = std::fs::metadata(path)?.len();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        files.push(Served {
            label: format!("{what} {:.1} MB", len as f64 / 1e6),
            len,
        });
        summary.push(format!(
            "content: {what} {} ({len} bytes)",
            name.unwrap_or_default()
        ));
    }
    // Kept running (and their data dirs kept) until the scenario ends.
    let mut nodes = Vec::new();
    let mut targets = Vec::new();
    let (node, dir, ours) = assetlib(server, &args.server_args, &sources, "assetlib").await?;
    let peer = start_nginx(&dir.path().join("blobs"), summary);
    if let Some(peer) = &peer {
        targets.push(Target {
            name: "nginx (sendfile)".into(),
            base: peer.base.clone(),
            key: None,
            pid: peer.pid(),
            paths: ours.blob_paths.clone(),
        });
    }
    targets.extend(ours.targets(&node, "assetlib"));
    nodes.push((node, dir));
    if let Some(baseline) = &args.baseline_bin {
        let binary = Binary::locate(Some(baseline))?;
        eprintln!("baseline server: {binary}");
        let (node, dir, theirs) =
            assetlib(&binary, &args.server_args, &sources, "baseline").await?;
        targets.extend(theirs.targets(&node, "assetlib baseline"));
        nodes.push((node, dir));
    }
    assetlib::fetch::install_crypto_provider();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(300))
        .build()?;
    let (length, rounds, connections) = if args.smoke {
        (Duration::from_millis(500), 1, 2)
    } else {
        (
            Duration::from_secs(args.content_secs),
            args.content_rounds.max(1),
            args.content_connections,
        )
    };
    let mut rows = Vec::new();
    for (f, file) in files.iter().enumerate() {
        for ranged in [false, true] {
            let ask = if ranged {
                format!(
                    "{:.2} MiB ranges",
                    RANGE_BYTES.min(file.len / 2) as f64 / 1048576.0
                )
            } else {
                "whole".to_owned()
            };
            let mut runs: Vec<Vec<Run>> = targets.iter().map(|_| Vec::new()).collect();
            for round in 0..rounds {
                // Each round starts with a different target, so none always runs first.
                for k in 0..targets.len() {
                    let t = (k + round) % targets.len();
                    let target = &targets[t];
                    let load = Load {
                        url: format!("{}{}", target.base, target.paths[f]),
                        key: target.key.clone(),
                        len: file.len,
                        ranged,
                    };
                    runs[t]
                        .push(run(&client, Arc::new(load), target.pid, connections, length).await);
                }
            }
            let scenario = format!("content {}, {ask}, {connections} connections", file.label);
            let reference = targets
                .iter()
                .position(|t| t.name.starts_with("nginx"))
                .map(|i| median(runs[i].iter().map(|r| r.mb_per_sec()).collect()));
            for (target, runs) in targets.iter().zip(runs) {
                let row = report(&scenario, &target.name, runs, reference);
                if let (Some(reference), Some(ratio)) = (reference, row.1) {
                    summary.push(format!(
                        "content: {}, {ask}: {} at {ratio:.2}× nginx's MB/s ({reference:.0} MB/s)",
                        file.label, target.name
                    ));
                }
                rows.push(row.0);
            }
        }
    }
    drop(peer);
    drop(nodes);
    Ok(rows)
}

/// nginx serving the blob directory, if it is installed and starts; else `None`, said on the
/// terminal and in the summary.
fn start_nginx(blobs: &Path, summary: &mut Vec<String>) -> Option<Nginx> {
    let skip = |why: String| {
        let note = format!("content: measured without the nginx peer: {why}");
        eprintln!("{note}");
        note
    };
    let Some(binary) = nginx::locate() else {
        summary.push(skip(
            "no nginx found on the PATH or in /usr/sbin (Debian: apt-get install nginx)".into(),
        ));
        return None;
    };
    match Nginx::start(&binary, blobs) {
        Ok(peer) => Some(peer),
        Err(e) => {
            summary.push(skip(format!("{} did not start: {e:#}", binary.display())));
            None
        }
    }
}

/// What the assetlib server under test holds after the uploads.
struct Stored {
    ids: Vec<String>,
    signed: Vec<String>,
    /// Where each blob is below the blob directory (`/sha256/ab/cd/<hex>`).
    blob_paths: Vec<String>,
}

impl Stored {
    /// The owner's route and the signed URL, as two targets.
    fn targets(&self, node: &Node, name: &str) -> Vec<Target> {
        let owner = Target {
            name: format!("{name} /v1/assets/{{id}}/content"),
            base: node.base.clone(),
            key: Some(node.key.clone()),
            pid: node.pid(),
            paths: self
                .ids
                .iter()
                .map(|id| format!("/v1/assets/{id}/content"))
                .collect(),
        };
        let signed = Target {
            name: format!("{name} signed /content URL"),
            base: String::new(),
            key: None,
            pid: node.pid(),
            paths: self.signed.clone(),
        };
        vec![owner, signed]
    }
}

/// A server of `binary` on a data dir of its own, the files uploaded (faces allowed, so that
/// every file becomes Active whatever it shows) and signed URLs made for them.
async fn assetlib(
    binary: &Binary,
    server_args: &[String],
    sources: &[(&Path, &str, &str)],
    what: &str,
) -> anyhow::Result<(Node, tempfile::TempDir, Stored)> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("assetlib-bench-content-{what}-"))
        .tempdir()?;
    let mut extra = server_args.to_vec();
    if !extra.iter().any(|a| a.starts_with("--faces")) {
        extra.push("--faces=allow".into());
    }
    let node = Node::start(binary, Some(dir.path()), &extra)?;
    let importer = node.importer()?;
    let mut stored = Stored {
        ids: Vec::new(),
        signed: Vec::new(),
        blob_paths: Vec::new(),
    };
    for (path, content_type, what) in sources {
        let bytes = axum::body::Bytes::from(std::fs::read(path)?);
        let name = format!("bench-{what}");
        let (id, _) = importer
            .put_file_as(bytes, &name, content_type)
            .await
            .map_err(|e| anyhow::anyhow!("uploading {}: {e}", path.display()))?;
        let details = importer
            .client()
            .get(format!("{}/v1/assets/{id}", node.base))
            .bearer_auth(&node.key)
            .send()
            .await?
            .bytes()
            .await?;
        let details: Value = serde_json::from_slice(&details)?;
        let Some(sha) = details["sha256"].as_str() else {
            bail!("no sha256 in the details of {id}: {details}");
        };
        if details["status"] != "Active" {
            bail!("{id} is not Active: {details}");
        }
        stored.blob_paths.push(format!(
            "/{}",
            assetlib::blob::object_key(sha).trim_start_matches('/')
        ));
        stored.ids.push(id);
    }
    let refs: Vec<String> = stored
        .ids
        .iter()
        .map(|id| format!("asset://{id}"))
        .collect();
    let resolved = importer
        .client()
        .post(format!("{}/v1/resolve", node.base))
        .bearer_auth(&node.key)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "refs": refs }).to_string())
        .send()
        .await?
        .bytes()
        .await?;
    let resolved: Value =
        serde_json::from_slice(&resolved).context("resolving the content URLs")?;
    for i in 0..stored.ids.len() {
        let Some(url) = resolved["refs"][i].as_str() else {
            bail!("no signed URL resolved: {resolved}");
        };
        stored.signed.push(url.to_owned());
    }
    Ok((node, dir, stored))
}

/// The requests of one run.
struct Load {
    url: String,
    key: Option<String>,
    len: u64,
    ranged: bool,
}

impl Load {
    /// The byte range of request `n` (end exclusive), when ranged: up to `RANGE_BYTES` (half
    /// the file at most) at a spread of offsets.
    fn range(&self, n: u64) -> Option<(u64, u64)> {
        if !self.ranged {
            return None;
        }
        let size = RANGE_BYTES.min(self.len / 2).max(1);
        let start = spread(n, self.len - size + 1);
        Some((start, start + size))
    }
}

/// One run against one target.
struct Run {
    samples: Samples,
    bytes: u64,
    wall: Duration,
    cpu_secs: f64,
}

impl Run {
    fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.wall.as_secs_f64().max(1e-9)
    }

    fn per_sec(&self) -> f64 {
        self.samples.latencies.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// `connections` clients sending `load`'s requests for `length`, each body read to its end and
/// its length checked.
async fn run(
    client: &reqwest::Client,
    load: Arc<Load>,
    pid: u32,
    connections: usize,
    length: Duration,
) -> Run {
    let cpu_before = cpu::seconds(pid);
    let start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|worker| {
            let client = client.clone();
            let load = Arc::clone(&load);
            tokio::spawn(async move {
                let mut samples = Samples::default();
                let mut bytes = 0u64;
                let mut n = worker as u64;
                while start.elapsed() < length {
                    let range = load.range(n);
                    n += connections as u64;
                    let sent = Instant::now();
                    match fetch(&client, &load, range).await {
                        Ok(got) => {
                            bytes += got;
                            samples.ok(sent.elapsed());
                        }
                        Err(e) => samples.error(e),
                    }
                }
                (samples, bytes)
            })
        })
        .collect();
    let mut all = Samples::default();
    let mut bytes = 0;
    for task in tasks {
        if let Ok((samples, got)) = task.await {
            all.merge(samples);
            bytes += got;
        }
    }
    let wall = start.elapsed();
    Run {
        samples: all,
        bytes,
        wall,
        cpu_secs: cpu::seconds(pid) - cpu_before,
    }
}

/// One GET, its body read chunk by chunk (not kept); the body's length.
async fn fetch(
    client: &reqwest::Client,
    load: &Load,
    range: Option<(u64, u64)>,
) -> Result<u64, String> {
    let mut request = client.get(&load.url);
    if let Some(key) = &load.key {
        request = request.bearer_auth(key);
    }
    let (want_status, want_len) = match range {
        Some((start, end)) => {
            request = request.header("range", format!("bytes={start}-{}", end - 1));
            (206, end - start)
        }
        None => (200, load.len),
    };
    let mut resp = request.send().await.map_err(|e| e.to_string())?;
    if resp.status().as_u16() != want_status {
        return Err(format!("{}: {}", load.url, resp.status()));
    }
    let mut got = 0u64;
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        got += chunk.len() as u64;
    }
    if got != want_len {
        return Err(format!("{}: {got} bytes, not {want_len}", load.url));
    }
    Ok(got)
}

/// A row of one target's runs; also its MB/s as a ratio of `reference`'s.
fn report(
    scenario: &str,
    target: &str,
    runs: Vec<Run>,
    reference: Option<f64>,
) -> (Row, Option<f64>) {
    let mb = median(runs.iter().map(Run::mb_per_sec).collect());
    let per_sec = median(runs.iter().map(Run::per_sec).collect());
    let cpu: f64 = runs.iter().map(|r| r.cpu_secs).sum();
    let wall: Duration = runs.iter().map(|r| r.wall).sum();
    let mut samples = Samples::default();
    for run in runs {
        samples.merge(run.samples);
    }
    let requests = samples.latencies.len().max(1) as f64;
    let ratio = reference.filter(|r| *r > 0.0).map(|r| mb / r);
    let mut note = format!(
        "{mb:.0} MB/s; CPU {:.2} ms/request ({:.0} % of a core)",
        cpu * 1000.0 / requests,
        cpu * 100.0 / wall.as_secs_f64().max(1e-9)
    );
    if let Some(ratio) = ratio {
        note.push_str(&format!("; {ratio:.2}× nginx"));
    }
    let mut row = Row::new(scenario, target, &samples, Some(wall)).with_note(note);
    row.per_sec = Some(per_sec);
    (row, ratio)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}
