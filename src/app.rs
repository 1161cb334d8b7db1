//! Wiring: builds the adapters named by the configuration into one `AppState`, starts the
//! HTTP server, the workers and housekeeping, and stops them again.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::blob::{self, BlobStore};
use crate::config::Config;
use crate::fetch::{HttpFetcher, NameLookup, SystemLookup};
use crate::jobs::{WorkerPool, spawn_workers};
use crate::repo::{self, Repo};
use crate::service::{
    AssetPorts, AssetService, AssetSettings, ContentSigner, CreatedKey, Gateway, KeyService,
};

/// How often housekeeping (orphan blob sweep) runs.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Everything a request handler or worker needs.
pub struct App {
    pub config: Config,
    pub repo: Arc<dyn Repo>,
    pub blobs: Arc<dyn BlobStore>,
    pub assets: AssetService,
    pub keys: KeyService,
    /// Signs and checks content URLs.
    pub signer: ContentSigner,
    /// The task gateway, when an upstream is configured.
    pub gateway: Option<Gateway>,
}

/// Cheap-to-clone handle on the `App`.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// A running server: HTTP, workers and housekeeping.
pub struct Server {
    addr: SocketAddr,
    state: AppState,
    /// The admin key created on first start (its secret is shown once).
    pub bootstrap_key: Option<CreatedKey>,
    stop: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    housekeeping: JoinHandle<()>,
    workers: WorkerPool,
    _lock: Option<File>,
}

impl Server {
    /// Starts with the system DNS resolver.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        Self::start_with_lookup(config, Arc::new(SystemLookup)).await
    }

    /// Starts with a given name resolver for the fetcher (tests pin names with it).
    pub async fn start_with_lookup(
        config: Config,
        lookup: Arc<dyn NameLookup>,
    ) -> anyhow::Result<Self> {
        let tmp_dir = config.tmp_dir();
        std::fs::create_dir_all(&tmp_dir)
            .with_context(|| format!("creating {}", tmp_dir.display()))?;

        let repo = repo::connect(&config.database_url)
            .await
            .context("opening the metadata database")?;
        if !config.serve_http && repo.is_embedded() {
            bail!(
                "a worker-only node needs a database shared with the API nodes (--database-url postgres://…); \
                 the embedded database already has its workers in `assetlib serve`"
            );
        }
        let lock = if repo.is_embedded() {
            let lock = lock_data_dir(&config)?;
            clean_dir(&tmp_dir);
            let released = repo.release_all_leases().await?;
            if released > 0 {
                tracing::info!(
                    jobs = released,
                    "resuming jobs interrupted by the last stop"
                );
            }
            Some(lock)
        } else {
            None
        };
        let blobs = blob::open(&config.blob_url).context("opening the blob store")?;
        if config.presign_content && !blobs.signs_urls() {
            bail!("--presign-content needs a blob store that signs URLs (--blob-url s3://…)");
        }
        let fetcher = Arc::new(HttpFetcher::new(&config.fetch, lookup, tmp_dir.clone())?);
        let wake = Arc::new(Notify::new());
        let detector: Arc<dyn crate::moderation::FaceDetector> = Arc::new(
            crate::moderation::SeetaDetector::embedded().context("loading the face model")?,
        );
        let assets = AssetService::new(
            AssetPorts {
                repo: Arc::clone(&repo),
                blobs: Arc::clone(&blobs),
                fetcher,
                detector,
                wake: Arc::clone(&wake),
            },
            AssetSettings {
                limits: config.limits.clone(),
                moderation: config.moderation.clone(),
                max_attempts: config.jobs.max_attempts,
                tmp_dir,
            },
        );
        let keys = KeyService::new(Arc::clone(&repo));
        let bootstrap_key = if config.bootstrap_admin_key {
            let created = keys.bootstrap_admin().await?;
            if let Some(key) = &created {
                save_admin_key(&config, key)?;
            }
            created
        } else {
            None
        };

        // A worker-only node serves no HTTP.
        let listener = if config.serve_http {
            Some(
                tokio::net::TcpListener::bind(config.listen)
                    .await
                    .with_context(|| format!("listening on {}", config.listen))?,
            )
        } else {
            None
        };
        let addr = match &listener {
            Some(l) => l.local_addr()?,
            None => config.listen,
        };
        let secret = match &config.signing_secret {
            Some(shared) => shared.as_bytes().to_vec(),
            None => ContentSigner::load_or_create_secret(&config.signing_key_path())
                .context("reading the URL signing secret")?,
        };
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let signer = ContentSigner::new(secret, config.content_url_ttl, base)
            .presigning(config.presign_content);
        let gateway = config.upstream.clone().map(Gateway::new).transpose()?;
        let state = AppState(Arc::new(App {
            config,
            repo: Arc::clone(&repo),
            blobs,
            assets: assets.clone(),
            keys,
            signer,
            gateway,
        }));

        let (stop, stop_rx) = watch::channel(false);
        let mut http_stop = stop_rx.clone();
        let router = crate::http::router(state.clone());
        let http = tokio::spawn(async move {
            let stopped = async move {
                let _ = http_stop.wait_for(|stopped| *stopped).await;
            };
            match listener {
                Some(listener) => {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(stopped)
                        .await
                }
                None => {
                    stopped.await;
                    Ok(())
                }
            }
        });
        repo.forward_wakeups(Arc::clone(&wake));
        let node = format!(
            "node-{}-{}-{}",
            std::process::id(),
            addr.port(),
            rand::random::<u32>()
        );
        let workers = spawn_workers(
            &node,
            Arc::clone(&repo) as Arc<dyn crate::repo::JobQueue>,
            Arc::new(assets.clone()),
            &state.config.jobs,
            wake,
        );
        let housekeeping = tokio::spawn(housekeeping(assets, state.config.orphan_grace, stop_rx));
        if state.config.serve_http {
            tracing::info!(%addr, "assetlib listening");
        } else {
            tracing::info!(
                workers = state.config.jobs.workers,
                "assetlib worker running"
            );
        }
        Ok(Self {
            addr,
            state,
            bootstrap_key,
            stop,
            http,
            housekeeping,
            workers,
            _lock: lock,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting requests, lets in-flight requests and jobs finish, then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        match self.http.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
            Ok(Ok(())) => {}
        }
        self.workers.shutdown().await;
        let _ = self.housekeeping.await;
    }
}

async fn housekeeping(assets: AssetService, grace: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        match assets.sweep_orphan_blobs(grace).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "orphan blobs removed"),
            Err(e) => tracing::warn!(error = %e, "orphan blob sweep failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// One embedded server per data directory: a second one would share the SQLite file and
/// take over the first one's jobs.
fn lock_data_dir(config: &Config) -> anyhow::Result<File> {
    let path = config.data_dir.join("assetlib.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    if file.try_lock().is_err() {
        bail!(
            "another assetlib server is already using {}; stop it first or choose another --data-dir",
            config.data_dir.display()
        );
    }
    Ok(file)
}

/// Removes leftovers of interrupted downloads.
fn clean_dir(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn save_admin_key(config: &Config, key: &CreatedKey) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = config.admin_key_path();
    let mut file = File::options()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("saving the admin key to {}", path.display()))?;
    writeln!(file, "{}", key.secret)?;
    Ok(())
}
