//! Start-up and shutdown of a node: open the metadata store, claim the data directory when the
//! store is embedded, raise the open-file limit, bind, build the state, then run HTTP (our own
//! accept loop: `listen.rs`, `connection.rs`), workers and housekeeping until stopped.

mod bare_errors;
mod connection;
mod fd_limit;
mod listen;
mod places;
mod public_url;
#[cfg(target_os = "linux")]
mod send;

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::fetch::{NameLookup, SystemLookup};
use crate::http::limits::{RequestLimits, with_limits};
use crate::jobs::{WorkerPool, spawn_workers};
use crate::repo::{self, JobQueue, Repo};
use crate::service::CreatedKey;
use crate::state::AppState;

/// How often housekeeping (orphan blob sweep) runs.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// A running node: HTTP, workers and housekeeping.
pub struct Server {
    addr: SocketAddr,
    state: AppState,
    /// The admin key created on first start (its secret is shown once).
    pub bootstrap_key: Option<CreatedKey>,
    stop: watch::Sender<bool>,
    http: JoinHandle<()>,
    housekeeping: JoinHandle<()>,
    /// Sends due webhook deliveries.
    webhooks: JoinHandle<()>,
    /// `GET /metrics` on `--metrics-listen`.
    metrics: Option<JoinHandle<()>>,
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
        let repo = open_metadata(&config).await?;
        let lock = claim_embedded_node(&config, repo.as_ref()).await?;
        let open_files = fd_limit::raise_open_file_limit();
        let listener = bind(&config).await?;
        let addr = match &listener {
            Some(l) => l.local_addr()?,
            None => config.listen,
        };
        if let Some(problem) = public_url::unreachable_content_urls(&config, addr) {
            tracing::warn!("{problem}");
        }
        let state = AppState::build(config, repo, lookup, addr)?;
        let bootstrap_key = bootstrap_admin_key(&state).await?;

        let (stop, stop_rx) = watch::channel(false);
        let http = spawn_http(listener, state.clone(), open_files, stop_rx.clone());
        let workers = start_workers(&state, addr);
        let housekeeping = tokio::spawn(housekeeping(state.clone(), stop_rx.clone()));
        let metrics = match state.config.metrics_listen {
            Some(at) => Some(spawn_metrics(at, state.clone(), stop_rx.clone()).await?),
            None => None,
        };
        let webhooks = {
            let dispatcher = state.webhooks.clone();
            tokio::spawn(async move { dispatcher.run(stop_rx).await })
        };
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
            webhooks,
            metrics,
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

    /// Stops accepting requests and claiming jobs; in-flight requests and running jobs get the
    /// shutdown grace at the same time. Then requests still running are answered 503 and cut,
    /// and unfinished jobs are handed back: it returns about a second after the grace.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + self.state.config.jobs.shutdown_grace;
        let http = async {
            if let Err(e) = self.http.await {
                tracing::warn!(error = %e, "HTTP server task failed");
            }
        };
        tokio::join!(http, self.workers.shutdown());
        // An orphan sweep (or webhook sends) in progress gets the same grace; it resumes at
        // the next start (a cut delivery is sent again when its lease expires).
        if let Some(metrics) = self.metrics {
            metrics.abort();
        }
        for mut task in [self.housekeeping, self.webhooks] {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

/// Opens (and migrates) the metadata store; a worker-only node needs a shared one.
async fn open_metadata(config: &Config) -> anyhow::Result<Arc<dyn Repo>> {
    let tmp_dir = config.tmp_dir();
    std::fs::create_dir_all(&tmp_dir).with_context(|| format!("creating {}", tmp_dir.display()))?;
    let repo = repo::connect(&config.database_url)
        .await
        .context("opening the metadata database")?;
    if !config.serve_http && repo.is_embedded() {
        bail!(
            "a worker-only node needs a database shared with the API nodes (--database-url postgres://…); \
             the embedded database already has its workers in `assetlib serve`"
        );
    }
    Ok(repo)
}

/// On the embedded store this node is the only one: it locks the data directory, clears
/// interrupted downloads and takes back every job the last run left leased.
async fn claim_embedded_node(config: &Config, repo: &dyn Repo) -> anyhow::Result<Option<File>> {
    if !repo.is_embedded() {
        return Ok(None);
    }
    let lock = lock_data_dir(config)?;
    clean_dir(&config.tmp_dir());
    let released = repo.release_all_leases().await?;
    if released > 0 {
        tracing::info!(
            jobs = released,
            "resuming jobs interrupted by the last stop"
        );
    }
    Ok(Some(lock))
}

/// A worker-only node serves no HTTP.
async fn bind(config: &Config) -> anyhow::Result<Option<TcpListener>> {
    if !config.serve_http {
        return Ok(None);
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    Ok(Some(listener))
}

/// Creates, prints later and saves an admin key when the store has none (first start).
async fn bootstrap_admin_key(state: &AppState) -> anyhow::Result<Option<CreatedKey>> {
    if !state.config.bootstrap_admin_key {
        return Ok(None);
    }
    let created = state.keys.bootstrap_admin().await?;
    if let Some(key) = &created {
        save_admin_key(&state.config, key)?;
    }
    Ok(created)
}

/// Serves the API on `listener` until stopped (a worker-only node has none and only waits).
fn spawn_http(
    listener: Option<TcpListener>,
    state: AppState,
    open_files: Option<u64>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let Some(listener) = listener else {
        return tokio::spawn(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        });
    };
    let http = &state.config.http;
    let limits = listen::Limits {
        timeouts: connection::Timeouts {
            header_read: http.header_read_timeout,
            keep_alive: http.keep_alive_timeout,
            write: http.write_timeout,
        },
        max_connections: fd_limit::connection_cap(http.max_connections, open_files),
        max_per_address: http.max_connections_per_address,
        open_files,
        grace: state.config.jobs.shutdown_grace,
    };
    let (cut, cut_rx) = watch::channel(false);
    let request_limits = RequestLimits {
        body_read_timeout: http.body_read_timeout,
        cut: cut_rx,
    };
    let router = with_limits(crate::http::router(state), request_limits);
    tokio::spawn(listen::serve(listener, router, limits, stop, cut))
}

/// Starts this node's workers, woken by enqueues of this node and (shared stores) of others.
fn start_workers(state: &AppState, addr: SocketAddr) -> WorkerPool {
    state.repo.forward_wakeups(Arc::clone(&state.wake));
    let node = format!(
        "node-{}-{}-{}",
        std::process::id(),
        addr.port(),
        rand::random::<u32>()
    );
    spawn_workers(
        &node,
        Arc::clone(&state.repo) as Arc<dyn JobQueue>,
        Arc::new(state.jobs.clone()),
        &state.config.jobs,
        Arc::clone(&state.wake),
    )
}

async fn housekeeping(state: AppState, mut stop: watch::Receiver<bool>) {
    let (fsck, idempotency, resumable) = (&state.fsck, &state.idempotency, &state.resumable);
    let (library, webhooks, sessions) = (&state.library, &state.webhooks, &state.sessions);
    let grace = state.config.orphan_grace;
    loop {
        match fsck.sweep_orphans(grace).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "orphan blobs removed"),
            Err(e) => tracing::warn!(error = %e, "orphan blob sweep failed"),
        }
        match idempotency.sweep().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired Idempotency-Keys removed"),
            Err(e) => tracing::warn!(error = %e, "Idempotency-Key sweep failed"),
        }
        match library.purge_deleted(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "deleted assets past their retention purged"),
            Err(e) => tracing::warn!(error = %e, "purge of deleted assets failed"),
        }
        match library.expire(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired assets deleted"),
            Err(e) => tracing::warn!(error = %e, "expiry of assets failed"),
        }
        match webhooks.purge_log(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "old webhook deliveries removed"),
            Err(e) => tracing::warn!(error = %e, "purge of the webhook log failed"),
        }
        match resumable.sweep(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired uploads removed"),
            Err(e) => tracing::warn!(error = %e, "upload sweep failed"),
        }
        match sessions.sweep(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "revocations of expired sessions removed"),
            Err(e) => tracing::warn!(error = %e, "revoked session sweep failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// Serves `GET /metrics` without a key on the operator's address, until stopped.
async fn spawn_metrics(
    at: SocketAddr,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(at)
        .await
        .with_context(|| format!("binding --metrics-listen {at}"))?;
    tracing::info!(address = %listener.local_addr()?, "metrics served");
    let router = crate::http::metrics_router(state);
    Ok(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::warn!(error = %e, "the metrics listener failed");
        }
    }))
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
