//! The crash loop (docs/RELIABILITY.md): rounds of mixed uploads through both faces, each
//! round ended by a SIGKILL at a random moment and followed by a restart on the same data
//! directory. After every restart each upload acknowledged so far must still be there; after
//! the last round every acknowledged asset must reach the outcome its file deserves, the
//! server must stop cleanly and `assetlib fsck` must find nothing wrong.
//!
//! Used by the 10-round e2e test and by `assetlib-reliability crash-loop` (100 rounds).

mod client;
mod report;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::origin::Origin;
use crate::serve::{Serve, run};
use client::Api;
pub use report::Report;

/// One kind of file uploaded during the loop, with the outcome it must reach.
#[derive(Debug, Clone)]
pub struct Media {
    pub name: String,
    pub bytes: Bytes,
    pub content_type: String,
    /// `Image`, `Video`, `Audio` or `Document`.
    pub asset_type: &'static str,
    /// `Active` or `Failed`: the terminal status this file must reach.
    pub expect: &'static str,
    /// Each upload fetches a distinct variant (new content, a new blob); otherwise the same
    /// bytes every time (the "already stored" path).
    pub variants: bool,
}

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `assetlib` binary.
    pub bin: PathBuf,
    /// The data directory every round shares (created if missing; should start empty).
    pub data_dir: PathBuf,
    pub rounds: u32,
    /// Uploads started in each round, at random moments within `window`.
    pub uploads_per_round: u32,
    /// Uploads start within this window; the SIGKILL lands at a random moment of 1.2 × it.
    pub window: Duration,
    /// `--workers` of every start.
    pub workers: u32,
    /// Seed of the random choices (printed in the report, so a failing run can be replayed).
    pub seed: u64,
    /// How long the last start may take to settle every acknowledged asset.
    pub settle_timeout: Duration,
    /// The server's attempts per job (`JOB_MAX_ATTEMPTS`): a job interrupted by that many kills
    /// is given up (`processing-failed`), the guard against a file that kills the process.
    pub max_attempts: u32,
}

impl Options {
    pub fn new(bin: impl Into<PathBuf>, data_dir: impl Into<PathBuf>, rounds: u32) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Self {
            bin: bin.into(),
            data_dir: data_dir.into(),
            rounds,
            uploads_per_round: 12,
            window: Duration::from_millis(1000),
            workers: 2,
            seed,
            settle_timeout: Duration::from_secs(120),
            max_attempts: 5,
        }
    }
}

/// An acknowledged upload: the server answered with its id.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    media: usize,
    round: u32,
    /// Restarts after which it was found still Processing.
    interrupted: u32,
}

/// Runs the loop on the current tokio runtime (it starts an origin on it). `http` is the
/// client of the uploads (with a TLS provider installed and no proxy, as the caller builds it).
/// `Err` only when the loop itself cannot run (the binary does not start, the origin cannot
/// bind); a broken promise is recorded in the report (`Report::ok`).
pub async fn run_loop(
    options: &Options,
    media: &[Media],
    http: &reqwest::Client,
) -> std::io::Result<Report> {
    let started = Instant::now();
    let origin = Origin::try_start().await?;
    let urls: Vec<String> = media
        .iter()
        .map(|m| origin.put(&m.name, m.bytes.clone(), &m.content_type))
        .collect();
    std::fs::create_dir_all(&options.data_dir)?;
    let mut rng = Rng(options.seed | 1);
    let mut report = Report::new(options);
    let mut acked: Vec<Acked> = Vec::new();
    let mut key = None;
    let mut variant = 0u64;
    let workers = options.workers.to_string();

    for round in 1..=options.rounds {
        let t0 = Instant::now();
        let mut node = Serve::new(&options.bin, &options.data_dir)
            .args(["--workers", workers.as_str()])
            .start()?;
        report.starts.push(t0.elapsed());
        let key = match &key {
            Some(k) => k,
            None => key.insert(tenant_key(options)?),
        };
        let api = Api::new(http, &node.base, key);
        // Durability: everything acknowledged before the last SIGKILL is still there.
        for a in &mut acked {
            match api.state(&a.id).await {
                None => report.lost.push(format!("{} (round {})", a.id, a.round)),
                Some((status, _)) if status == "Processing" => {
                    report.resumed += 1;
                    a.interrupted += 1;
                }
                Some(_) => {}
            }
        }
        let mut uploads = Vec::new();
        for i in 0..options.uploads_per_round {
            let which = rng.below(media.len() as u64) as usize;
            let url = if media[which].variants {
                variant += 1;
                format!("{}?v={variant}", urls[which])
            } else {
                urls[which].clone()
            };
            let delay = rng.duration(options.window);
            let api = api.clone();
            let asset_type = media[which].asset_type;
            let v1 = i % 2 == 1;
            uploads.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                (which, api.upload(v1, asset_type, &url).await)
            }));
        }
        tokio::time::sleep(rng.duration(options.window.mul_f64(1.2))).await;
        node.kill();
        for task in uploads {
            let Ok((which, outcome)) = task.await else {
                continue;
            };
            match outcome {
                client::Upload::Acked(id) => acked.push(Acked {
                    id,
                    media: which,
                    round,
                    interrupted: 0,
                }),
                client::Upload::Refused(status) => report.refused.push(status),
                client::Upload::NoAnswer => report.unanswered += 1,
            }
        }
        if round % 10 == 0 {
            eprintln!(
                "crash loop: round {round}/{}, {} acknowledged, {} lost so far",
                options.rounds,
                acked.len(),
                report.lost.len()
            );
        }
    }

    // The last start: orphans of interrupted uploads are swept at once, everything settles.
    let t0 = Instant::now();
    let mut node = Serve::new(&options.bin, &options.data_dir)
        .args(["--workers", workers.as_str(), "--orphan-grace-secs", "0"])
        .start()?;
    report.starts.push(t0.elapsed());
    let key = match &key {
        Some(k) => k.clone(),
        None => tenant_key(options)?,
    };
    let api = Api::new(http, &node.base, &key);
    let deadline = Instant::now() + options.settle_timeout;
    for a in &acked {
        let want = media[a.media].expect;
        match api.settled(&a.id, deadline).await {
            Some((status, _)) if status == want => report.count(&status),
            // Interrupted as often as the server tries a job: given up, as documented. The
            // give-up happens at the claim right after the last restart, which may come before
            // this loop's check of that restart saw the asset Processing: one less is enough.
            Some((status, Some(code)))
                if code == "processing-failed" && a.interrupted + 1 >= options.max_attempts =>
            {
                report.count(&format!("{status} ({code})"));
                report.given_up += 1;
            }
            Some((status, code)) => {
                report.count(&status);
                report.wrong.push(format!(
                    "{} ({}, round {}, found Processing after {} restarts): {status} {}, expected {want}",
                    a.id,
                    media[a.media].name,
                    a.round,
                    a.interrupted,
                    code.unwrap_or_default()
                ));
            }
            None => report.not_terminal.push(a.id.clone()),
        }
    }
    report.acknowledged = acked.len();
    report.settle = t0.elapsed();
    report.clean_stop = node
        .terminate(Duration::from_secs(30))
        .is_ok_and(|s| s.success());
    report.tmp_leftovers = std::fs::read_dir(options.data_dir.join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    let data = options.data_dir.display().to_string();
    let (code, out) = run(
        &options.bin,
        &["fsck", "--json", "--grace-secs", "0", "--data-dir", &data],
    )?;
    report.fsck_exit = code;
    report.fsck = serde_json::from_str(&out).unwrap_or(serde_json::Value::String(out));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// A tenant key made with `assetlib keys create` on the data directory.
fn tenant_key(options: &Options) -> std::io::Result<String> {
    let data = options.data_dir.display().to_string();
    let (code, out) = run(
        &options.bin,
        &[
            "keys",
            "create",
            "--tenant",
            "crash-loop",
            "--data-dir",
            &data,
        ],
    )?;
    match out.lines().last().map(str::trim) {
        Some(key) if code == 0 && key.starts_with("alk_") => Ok(key.to_owned()),
        _ => Err(std::io::Error::other(format!(
            "keys create exited {code}: {out}"
        ))),
    }
}

/// xorshift64*: reproducible from the seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn duration(&mut self, max: Duration) -> Duration {
        let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(self.below(ms.saturating_add(1)))
    }
}

impl Media {
    pub fn new(
        name: &str,
        bytes: impl Into<Bytes>,
        content_type: &str,
        asset_type: &'static str,
        expect: &'static str,
    ) -> Self {
        Self {
            name: name.to_owned(),
            bytes: bytes.into(),
            content_type: content_type.to_owned(),
            asset_type,
            expect,
            variants: false,
        }
    }

    /// Each upload fetches new content (JPEG and MP4 only, see the origin's variants).
    pub fn with_variants(mut self) -> Self {
        self.variants = true;
        self
    }
}

/// The part of the mix that needs no image encoder: a 3 s WAV, a text note (both Active), and
/// a `.json` that is not JSON (Failed). Callers add images (and video) of their own.
pub fn audio_and_documents() -> Vec<Media> {
    vec![
        Media::new(
            "tone.wav",
            crate::media::square_wav(3, 8000),
            "audio/wav",
            "Audio",
            "Active",
        ),
        Media::new(
            "notes.txt",
            "Shot list.\nScene 1: a windowsill at dawn.\n".repeat(20),
            "text/plain",
            "Document",
            "Active",
        ),
        Media::new(
            "broken.json",
            r#"{"prompt": "a cat", "tags": ["x""#,
            "application/json",
            "Document",
            "Failed",
        ),
    ]
}
