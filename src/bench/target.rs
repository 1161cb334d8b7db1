//! What the bench drives: an assetlib server it starts itself (a child process of this very
//! binary, so its memory is measured alone), or a peer already running (pict-rs, Directus).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

const KYY: &str = "/kyyReactApiServer/kyyVideo2/asset";

/// An assetlib server on a temp data dir, killed when dropped.
pub struct Node {
    child: Child,
    pub base: String,
    /// The admin key printed on first start.
    pub key: String,
    _dir: Option<tempfile::TempDir>,
}

impl Node {
    /// `assetlib serve` on a fresh temp data dir (or `data_dir`), loopback sources allowed.
    pub fn start(data_dir: Option<&std::path::Path>, extra: &[&str]) -> anyhow::Result<Self> {
        let (dir, path) = match data_dir {
            Some(p) => (None, p.to_path_buf()),
            None => {
                let d = tempfile::Builder::new()
                    .prefix("assetlib-bench-")
                    .tempdir()?;
                let p = d.path().to_path_buf();
                (Some(d), p)
            }
        };
        let exe = std::env::current_exe().context("locating the assetlib binary")?;
        let mut child = Command::new(exe)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--allow-private-networks",
                "--data-dir",
            ])
            .arg(&path)
            .args(extra)
            .env(
                "ASSETLIB_LOG",
                std::env::var("ASSETLIB_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the server")?;
        let mut key = String::new();
        let mut base = None;
        if let Some(stdout) = child.stdout.take() {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if line.starts_with("alk_") {
                    line.trim().clone_into(&mut key);
                }
                if let Some(addr) = line.strip_prefix("assetlib listening on ") {
                    base = Some(addr.trim().to_owned());
                    break;
                }
            }
            std::thread::spawn(move || for _ in lines {});
        }
        let Some(base) = base else {
            let _ = child.kill();
            bail!("the server exited before printing its address");
        };
        Ok(Self {
            child,
            base,
            key,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory of the server process so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        peak_rss_mib(self.pid())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Which product imports the file.
#[derive(Debug, Clone)]
pub enum Kind {
    Assetlib { base: String, key: String },
    PictRs { base: String },
    Directus { base: String, token: String },
}

/// Times of one import, from the start of the import request.
#[derive(Debug, Clone, Copy)]
pub struct Imported {
    /// The import request was answered.
    pub answered: Duration,
    /// The file is usable (assetlib: `Active` seen on the details endpoint, asked with
    /// `?wait=60` so it answers the moment processing ends, not at the next poll; the peers answer
    /// only once the file is stored, so this equals `answered`).
    pub usable: Duration,
}

#[derive(Clone)]
pub struct Importer {
    pub kind: Kind,
    client: reqwest::Client,
}

impl Importer {
    pub fn new(kind: Kind) -> anyhow::Result<Self> {
        assetlib::fetch::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(64)
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Self { kind, client })
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Assetlib { .. } => "assetlib",
            Kind::PictRs { .. } => "pict-rs",
            Kind::Directus { .. } => "directus",
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Imports `url` as `asset_type` ("Image", "Video") and waits until it is usable.
    pub async fn import(&self, url: &str, asset_type: &str) -> Result<Imported, String> {
        let start = Instant::now();
        match &self.kind {
            Kind::Assetlib { base, key } => {
                let body = serde_json::json!({"assetType": asset_type, "url": url});
                let resp = self
                    .client
                    .post(format!("{base}{KYY}/upload"))
                    .bearer_auth(key)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .map_err(|e| format!("upload: {e}"))?;
                let status = resp.status();
                let bytes = resp.bytes().await.map_err(|e| format!("upload: {e}"))?;
                let answered = start.elapsed();
                let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let Some(id) = json["data"]["assetId"].as_str() else {
                    return Err(format!("upload answered {status}: {json}"));
                };
                loop {
                    let resp = self
                        .client
                        .get(format!("{base}/v1/assets/{id}?wait=60"))
                        .bearer_auth(key)
                        .send()
                        .await
                        .map_err(|e| format!("details: {e}"))?;
                    let bytes = resp.bytes().await.map_err(|e| format!("details: {e}"))?;
                    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    match json["status"].as_str() {
                        Some("Active") => {
                            return Ok(Imported {
                                answered,
                                usable: start.elapsed(),
                            });
                        }
                        Some("Processing") => {}
                        _ => return Err(format!("{id} ended {json}")),
                    }
                }
            }
            Kind::PictRs { base } => {
                let resp = self
                    .client
                    .get(format!(
                        "{base}/image/download?url={}",
                        url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
                    ))
                    .send()
                    .await
                    .map_err(|e| format!("pict-rs: {e}"))?;
                let status = resp.status();
                let _ = resp.bytes().await;
                if status != reqwest::StatusCode::CREATED {
                    return Err(format!("pict-rs answered {status}"));
                }
                let took = start.elapsed();
                Ok(Imported {
                    answered: took,
                    usable: took,
                })
            }
            Kind::Directus { base, token } => {
                let resp = self
                    .client
                    .post(format!("{base}/files/import"))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(serde_json::json!({"url": url}).to_string())
                    .send()
                    .await
                    .map_err(|e| format!("directus: {e}"))?;
                let status = resp.status();
                let _ = resp.bytes().await;
                if !status.is_success() {
                    return Err(format!("directus answered {status}"));
                }
                let took = start.elapsed();
                Ok(Imported {
                    answered: took,
                    usable: took,
                })
            }
        }
    }
}
