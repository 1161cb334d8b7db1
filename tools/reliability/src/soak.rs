//! The soak: a steady mixed load (uploads of every kind through both faces, lists, details,
//! byte ranges, task resolution, deletes) for a bounded time, the server's RSS and open
//! descriptors sampled at a fixed interval. It fails if either grows (`sample::judge`; the
//! descriptors on stored blobs, which content answers keep open up to a cap, are judged against
//! that cap), if any answer is a 5xx or a request gets no answer, or if the server does not
//! stop cleanly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use assetlib_test_support::crash_loop::Media;
use assetlib_test_support::{Origin, Serve, run as run_command};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::mix;
use crate::sample::{self, Sample, Tolerance};

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// How long the load runs.
    #[arg(long, default_value_t = 1800)]
    duration_secs: u64,
    /// Seconds between samples of the server's RSS and descriptors.
    #[arg(long, default_value_t = 10)]
    interval_secs: u64,
    /// Samples in the first this many seconds are not judged (caches and pools fill).
    #[arg(long, default_value_t = 120)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 4.0)]
    uploads_per_sec: f64,
    /// Lists, details, byte ranges and task resolutions per second.
    #[arg(long, default_value_t = 20.0)]
    reads_per_sec: f64,
    #[arg(long, default_value_t = 2)]
    workers: u32,
    /// RSS may grow by this percentage of its early mean…
    #[arg(long, default_value_t = 10.0)]
    rss_tolerance_pct: f64,
    /// …or this many MiB, whichever is larger.
    #[arg(long, default_value_t = 16.0)]
    rss_tolerance_mib: f64,
    /// Open descriptors other than stored blobs may grow by this many.
    #[arg(long, default_value_t = 8.0)]
    fds_tolerance: f64,
}

/// What the load saw.
#[derive(Debug, Default)]
struct Tally {
    /// Answers by HTTP status.
    statuses: BTreeMap<u16, u64>,
    /// Requests with no answer.
    errors: u64,
    /// Ticks skipped because too many requests were already in flight.
    skipped: u64,
    uploads: u64,
    /// Recently acknowledged asset ids (at most `RECENT`).
    recent: Vec<String>,
}

const RECENT: usize = 200;
/// Requests in flight at most; past that a tick is skipped (and counted).
const IN_FLIGHT: usize = 64;

struct Load {
    http: reqwest::Client,
    base: String,
    key: String,
    tally: Mutex<Tally>,
    urls: Vec<(String, &'static str)>,
}

impl Load {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Option<Value> {
        match req.bearer_auth(&self.key).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.bytes().await.ok();
                *self.tally().statuses.entry(status).or_default() += 1;
                body.and_then(|b| serde_json::from_slice(&b).ok())
            }
            Err(_) => {
                self.tally().errors += 1;
                None
            }
        }
    }

    fn recent(&self, n: u64) -> Option<String> {
        let t = self.tally();
        (!t.recent.is_empty()).then(|| t.recent[(n as usize) % t.recent.len()].clone())
    }

    async fn upload(&self, n: u64) {
        let (url, asset_type) = &self.urls[(n as usize) % self.urls.len()];
        let url = format!("{url}?v={n}");
        let (path, id_at) = if n.is_multiple_of(2) {
            ("/v1/assets", "/assetId")
        } else {
            ("/kyyReactApiServer/kyyVideo2/asset/upload", "/data/assetId")
        };
        let body = json!({"assetType": asset_type, "url": url, "name": format!("soak {n}")});
        let req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(id) = self.send(req).await.and_then(|b| b.pointer(id_at).cloned()) {
            let mut t = self.tally();
            t.uploads += 1;
            if let Some(id) = id.as_str() {
                if t.recent.len() >= RECENT {
                    t.recent.remove(0);
                }
                t.recent.push(id.to_owned());
            }
        }
    }

    async fn read(&self, n: u64) {
        let base = &self.base;
        let req = match (n % 6, self.recent(n)) {
            (1, Some(id)) => self.http.get(format!("{base}/v1/assets/{id}")),
            (2, Some(id)) => self
                .http
                .get(format!("{base}/v1/assets/{id}/content"))
                .header("range", "bytes=0-1023"),
            (3, Some(id)) => self
                .http
                .post(format!("{base}/v1/resolve"))
                .json(&json!({"prompt": "soak", "referenceImages": [format!("asset://{id}")]})),
            (4, Some(id)) => self
                .http
                .get(format!("{base}/kyyReactApiServer/kyyVideo2/asset/{id}")),
            (5, Some(id)) if n % 30 == 5 => {
                self.tally().recent.retain(|r| *r != id);
                self.http.delete(format!("{base}/v1/assets/{id}"))
            }
            _ => self.http.get(format!(
                "{base}/kyyReactApiServer/kyyVideo2/asset/list?pageSize=20&pageNum={}",
                1 + n % 5
            )),
        };
        self.send(req).await;
    }

    async fn backlog(&self) -> Option<u64> {
        let req = self.http.get(format!(
            "{}/kyyReactApiServer/kyyVideo2/asset/list?status=Processing&pageSize=1",
            self.base
        ));
        self.send(req).await?.pointer("/data/total")?.as_u64()
    }
}

/// Ticks at `per_sec`, running `f(n)` without waiting for it, until `until`.
fn drive<F, Fut>(
    load: &Arc<Load>,
    per_sec: f64,
    until: Instant,
    f: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Arc<Load>, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let load = Arc::clone(load);
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    tokio::spawn(async move {
        if per_sec <= 0.0 {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n = 0u64;
        while Instant::now() < until {
            tick.tick().await;
            n += 1;
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                load.tally().skipped += 1;
                continue;
            };
            let fut = f(Arc::clone(&load), n);
            tokio::spawn(async move {
                fut.await;
                drop(permit);
            });
        }
    })
}

pub async fn run(bin: &Path, work: &Path, args: &SoakArgs) -> anyhow::Result<bool> {
    let media: Vec<Media> = mix::crash_loop_mix()?;
    let origin = Origin::try_start().await.context("starting the origin")?;
    let urls = media
        .iter()
        .map(|m| {
            (
                origin.put(&m.name, m.bytes.clone(), &m.content_type),
                m.asset_type,
            )
        })
        .collect();
    let data = work.join(format!("soak-{}", std::process::id()));
    let mut node = Serve::new(bin, &data)
        .args(["--workers", &args.workers.to_string()])
        .start()
        .context("starting the server")?;
    let data_arg = data.display().to_string();
    let (code, out) = run_command(
        bin,
        &[
            "keys",
            "create",
            "--tenant",
            "soak",
            "--data-dir",
            &data_arg,
        ],
    )?;
    let key = out.lines().last().unwrap_or_default().trim().to_owned();
    anyhow::ensure!(code == 0 && key.starts_with("alk_"), "keys create: {out}");
    let load = Arc::new(Load {
        http: mix::client()?,
        base: node.base.clone(),
        key,
        tally: Mutex::default(),
        urls,
    });

    let started = Instant::now();
    let until = started + Duration::from_secs(args.duration_secs);
    let uploads = drive(&load, args.uploads_per_sec, until, |l, n| async move {
        l.upload(n).await
    });
    let reads = drive(&load, args.reads_per_sec, until, |l, n| async move {
        l.read(n).await
    });
    let mut samples: Vec<Sample> = Vec::new();
    let mut table = String::from(
        "| t (s) | RSS (MiB) | fds | of them on blobs | threads | uploads ok | backlog | 5xx | no answer |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut alive = true;
    let mut tick = tokio::time::interval(Duration::from_secs(args.interval_secs.max(1)));
    loop {
        tick.tick().await;
        let at = started.elapsed();
        let Some(s) = sample::read(node.pid(), at, &data.join("blobs")) else {
            alive = false;
            break;
        };
        samples.push(s);
        let backlog = load
            .backlog()
            .await
            .map_or("?".to_owned(), |b| b.to_string());
        let line = {
            let t = load.tally();
            let fives: u64 = t.statuses.range(500..).map(|(_, n)| n).sum();
            format!(
                "| {} | {:.1} | {} | {} | {} | {} | {backlog} | {fives} | {} |",
                at.as_secs(),
                s.rss_kib as f64 / 1024.0,
                s.fds,
                s.blob_fds,
                s.threads,
                t.uploads,
                t.errors
            )
        };
        eprintln!("{line}");
        let _ = writeln!(table, "{line}");
        if Instant::now() >= until {
            break;
        }
    }
    let _ = tokio::join!(uploads, reads);
    // Let the requests in flight finish before stopping.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopped = node
        .terminate(Duration::from_secs(30))
        .is_ok_and(|s| s.success());

    let tol = Tolerance {
        warmup: Duration::from_secs(args.warmup_secs),
        rss_ratio: args.rss_tolerance_pct / 100.0,
        rss_mib: args.rss_tolerance_mib,
        fds: args.fds_tolerance,
    };
    let verdict = sample::judge(&samples, &tol);
    let t = load.tally();
    let fives: u64 = t.statuses.range(500..).map(|(_, n)| n).sum();
    println!("{table}");
    println!("| figure | value |\n|---|---|");
    println!(
        "| duration (s), sample interval (s), warm-up (s) | {}, {}, {} |",
        args.duration_secs, args.interval_secs, args.warmup_secs
    );
    println!(
        "| load: uploads/s, reads/s, workers | {}, {}, {} |",
        args.uploads_per_sec, args.reads_per_sec, args.workers
    );
    println!("| uploads acknowledged | {} |", t.uploads);
    println!("| answers by status | {:?} |", t.statuses);
    println!(
        "| 5xx answers, requests with no answer, ticks skipped | {fives}, {}, {} |",
        t.errors, t.skipped
    );
    let rss_max = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    println!("| RSS max (MiB) | {rss_max:.1} |");
    match &verdict {
        Some(v) => {
            println!(
                "| RSS mean, first → last third after warm-up (MiB) | {:.1} → {:.1} ({}) |",
                v.rss_first_mib,
                v.rss_last_mib,
                if v.rss_grew { "GREW" } else { "steady" }
            );
            println!(
                "| open fds but stored blobs, mean, first → last third | {:.1} → {:.1} ({}) |",
                v.fds_first,
                v.fds_last,
                if v.fds_grew { "GREW" } else { "steady" }
            );
            println!(
                "| stored blobs open at once, most (the server keeps up to {}) | {} ({}) |",
                sample::BLOB_FDS_MAX,
                v.blob_fds_max,
                if v.blob_fds_over {
                    "TOO MANY"
                } else {
                    "within"
                }
            );
        }
        None => println!("| verdict | too few samples after the warm-up to judge (need 6) |"),
    }
    println!("| server alive throughout, stopped cleanly on SIGTERM | {alive}, {stopped} |");
    Ok(verdict.is_some_and(|v| v.ok()) && fives == 0 && t.errors == 0 && alive && stopped)
}
