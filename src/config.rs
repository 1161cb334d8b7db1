//! Configuration: defaults → `ASSETLIB_*` environment variables → command-line flags
//! (clap reads both). Secrets are redacted in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;

pub mod defaults;
mod file;
mod summary;

pub use file::{ConfigError, FileConfig, file_from_toml, limits_from_toml};
pub use summary::AdminKeyState;

use crate::domain::rules::MediaLimits;
use crate::domain::{ExpiryConfig, FaceDetectorKind, FacePolicy, QuotaConfig, TaskRules};

/// Flags of `assetlib serve`; each also reads an `ASSETLIB_*` environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML file with media limits, moderation and task rules (see docs/CONFIGURATION.md); flags still win over it.
    #[arg(long, env = "ASSETLIB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Face policy for images: hold (for review), reject, or allow.
    #[arg(long, env = "ASSETLIB_FACES")]
    pub faces: Option<FacePolicy>,
    /// Face detector: mtcnn (a CNN cascade; the only one since SeetaFace was removed).
    #[arg(long, env = "ASSETLIB_FACE_DETECTOR")]
    pub face_detector: Option<FaceDetectorKind>,
    /// Admit 1080p videos (pixel count up to `limits.video_rules.max_pixels_1080p`).
    #[arg(long, env = "ASSETLIB_ALLOW_1080P")]
    pub allow_1080p: bool,
    /// Address to listen on.
    #[arg(long, env = "ASSETLIB_LISTEN", default_value_t = defaults::LISTEN)]
    pub listen: SocketAddr,
    /// The region the Volcengine-style face signs for (the credential scope's).
    #[arg(long, env = "ASSETLIB_VOLC_REGION", default_value = defaults::VOLC_REGION)]
    pub volc_region: String,
    /// The service the Volcengine-style face signs for.
    #[arg(long, env = "ASSETLIB_VOLC_SERVICE", default_value = defaults::VOLC_SERVICE)]
    pub volc_service: String,
    /// A second address serving only GET /metrics, without a key (default: metrics only on
    /// the API's address, for admin keys).
    #[arg(long, env = "ASSETLIB_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Let the fetcher reach loopback and private addresses (for local testing only).
    #[arg(long, env = "ASSETLIB_ALLOW_PRIVATE_NETWORKS")]
    pub allow_private_networks: bool,
    /// Networks (CIDR) the fetcher may reach even though they are not public; repeatable.
    #[arg(
        long = "allow-network",
        env = "ASSETLIB_ALLOW_NETWORKS",
        value_delimiter = ','
    )]
    pub allow_networks: Vec<IpNet>,
    /// Processing workers on this node (0 = this node only accepts uploads).
    #[arg(long, env = "ASSETLIB_WORKERS", default_value_t = defaults::WORKERS)]
    pub workers: usize,
    /// Seconds to wait for a source server to accept a connection.
    #[arg(long, env = "ASSETLIB_FETCH_CONNECT_TIMEOUT", default_value_t = defaults::FETCH_CONNECT_TIMEOUT_SECS)]
    pub fetch_connect_timeout_secs: u64,
    /// Seconds a whole source download may take.
    #[arg(long, env = "ASSETLIB_FETCH_TIMEOUT", default_value_t = defaults::FETCH_TIMEOUT_SECS)]
    pub fetch_timeout_secs: u64,
    /// Seconds a worker holds a job before another node may take it over (renewed while working).
    #[arg(long, env = "ASSETLIB_JOB_LEASE", default_value_t = defaults::JOB_LEASE_SECS)]
    pub job_lease_secs: u64,
    /// Seconds a stopping node (SIGTERM) lets in-flight requests and running jobs finish; then
    /// requests still running are answered 503 and jobs are handed back to the queue.
    #[arg(long, env = "ASSETLIB_SHUTDOWN_GRACE", default_value_t = defaults::SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: u64,
    /// Base URL that signed content URLs start with (default: http://LISTEN).
    #[arg(long, env = "ASSETLIB_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Generation endpoint the task gateway forwards to (e.g. https://host/kyyReactApiServer).
    #[arg(long, env = "ASSETLIB_UPSTREAM_URL")]
    pub upstream_url: Option<String>,
    /// API key sent to the upstream generation endpoint.
    #[arg(long, env = "ASSETLIB_UPSTREAM_KEY", hide_env_values = true)]
    pub upstream_key: Option<String>,
    /// Secret that signs content URLs; give every node the same one (default: a random secret
    /// kept in DATA_DIR/url-signing.key). Prefer the environment variable to the flag.
    #[arg(long, env = "ASSETLIB_SIGNING_SECRET", hide_env_values = true)]
    pub signing_secret: Option<String>,
    /// Seconds a signed content URL stays valid.
    #[arg(long, env = "ASSETLIB_CONTENT_URL_TTL", default_value_t = defaults::CONTENT_URL_TTL_SECS)]
    pub content_url_ttl_secs: u64,
    /// Hand out presigned URLs of the S3-compatible blob store instead of this server's
    /// signed /content URLs, so generation tasks read assets straight from the store.
    #[arg(long, env = "ASSETLIB_PRESIGN_CONTENT")]
    pub presign_content: bool,
    /// Seconds a failing S3 request is retried (with backoff) before the failure is answered
    /// (an upload then answers 503 `unavailable`, which clients retry).
    #[arg(long, env = "ASSETLIB_BLOB_RETRY_SECS", default_value_t = defaults::BLOB_RETRY_SECS)]
    pub blob_retry_secs: u64,
    /// Uploads of one tenant this node fetches at once; more answer 429 `too-many-uploads`.
    #[arg(long, env = "ASSETLIB_MAX_FETCHES_PER_TENANT", default_value_t = defaults::MAX_FETCHES_PER_TENANT)]
    pub max_fetches_per_tenant: usize,
    /// Assets waiting for processing (all nodes) past which uploads answer 429 `queue-full`.
    #[arg(long, env = "ASSETLIB_MAX_QUEUED_JOBS", default_value_t = defaults::MAX_QUEUED_JOBS)]
    pub max_queued_jobs: u64,
    /// Resumable and direct uploads one tenant may have open (created, not yet complete);
    /// more answer 429 `quota-exceeded`.
    #[arg(long, env = "ASSETLIB_MAX_OPEN_UPLOADS", default_value_t = defaults::MAX_OPEN_UPLOADS)]
    pub max_open_uploads: u64,
    /// MiB of decoded pixels the face check and the media checks may hold at once (all workers).
    #[arg(long, env = "ASSETLIB_DECODE_BUDGET_MIB", default_value_t = defaults::DECODE_BUDGET_MIB)]
    pub decode_budget_mib: u64,
    /// MiB of a local blob store's bytes kept in memory for content answers where its files
    /// cannot be mapped and sent with sendfile (not Linux, or a file system without mmap; 0: none).
    #[arg(long, env = "ASSETLIB_CONTENT_CACHE_MIB", default_value_t = defaults::CONTENT_CACHE_MIB)]
    pub content_cache_mib: u64,
    /// Seconds an unreferenced blob is kept before the sweeper removes it.
    #[arg(long, env = "ASSETLIB_ORPHAN_GRACE", default_value_t = defaults::ORPHAN_GRACE_SECS)]
    pub orphan_grace_secs: u64,
    /// Days a deleted asset can be restored (`POST /v1/assets/{id}/restore`) before its row
    /// is purged and its blob, unless shared, swept.
    #[arg(long, env = "ASSETLIB_DELETED_RETENTION_DAYS", default_value_t = defaults::DELETED_RETENTION_DAYS)]
    pub deleted_retention_days: u64,
    /// Hours the first answer to a call with an `Idempotency-Key` is kept (and replayed).
    #[arg(long, env = "ASSETLIB_IDEMPOTENCY_TTL_HOURS", default_value_t = defaults::IDEMPOTENCY_TTL_HOURS)]
    pub idempotency_ttl_hours: u64,
    /// Seconds a claimed `Idempotency-Key` stands without a renewal from its call (the call
    /// renews it while it runs; only a node that died lets it lapse).
    #[arg(long, env = "ASSETLIB_IDEMPOTENCY_LOCK_SECS", default_value_t = defaults::IDEMPOTENCY_LOCK_SECS)]
    pub idempotency_lock_secs: u64,
    /// HTTP status of the kyy face's business errors: `rest` (4xx, the code's own) or `ok`
    /// (200 with the code and message in the envelope; 401 and 5xx keep their status).
    #[arg(long, env = "ASSETLIB_KYY_ERROR_STATUS", value_enum, default_value_t = KyyErrorStatus::Rest)]
    pub kyy_error_status: KyyErrorStatus,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// How the kyy face answers a business error (`--kyy-error-status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KyyErrorStatus {
    /// The code's own HTTP status (400, 404, 413, 422, 429…).
    #[default]
    Rest,
    /// HTTP 200, the code and message in the envelope; 401 and server faults keep theirs.
    Ok,
}

/// Limits on client connections.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Seconds a client has to send a request's head (line and headers), counted from the
    /// connection's opening or from the first byte after an idle keep-alive pause.
    #[arg(long, env = "ASSETLIB_HEADER_READ_TIMEOUT", default_value_t = defaults::HEADER_READ_TIMEOUT_SECS)]
    pub header_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may sit idle between requests before it is closed.
    #[arg(long, env = "ASSETLIB_KEEP_ALIVE_TIMEOUT", default_value_t = defaults::KEEP_ALIVE_TIMEOUT_SECS)]
    pub keep_alive_timeout_secs: u64,
    /// Seconds a request body may take to arrive in full (answered 408 otherwise).
    #[arg(long, env = "ASSETLIB_BODY_READ_TIMEOUT", default_value_t = defaults::BODY_READ_TIMEOUT_SECS)]
    pub body_read_timeout_secs: u64,
    /// Open client connections at most; newer ones are answered 503 and closed. Lowered to
    /// half the open-file limit when that is smaller.
    #[arg(long, env = "ASSETLIB_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds an answer may go without the client accepting a byte of it; then the connection
    /// is closed.
    #[arg(long, env = "ASSETLIB_WRITE_TIMEOUT", default_value_t = defaults::WRITE_TIMEOUT_SECS)]
    pub write_timeout_secs: u64,
    /// Open connections from one client address (an IPv6 /64) at most; newer ones are answered
    /// 503 and closed. 0 = no such cap (e.g. behind a reverse proxy, where every connection
    /// comes from the proxy).
    #[arg(long, env = "ASSETLIB_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = defaults::MAX_CONNECTIONS_PER_ADDRESS)]
    pub max_connections_per_address: usize,
    /// Answers streaming through one signed content URL at once; more are answered 503.
    #[arg(long, env = "ASSETLIB_MAX_STREAMS_PER_CONTENT_URL", default_value_t = defaults::MAX_STREAMS_PER_CONTENT_URL)]
    pub max_streams_per_content_url: usize,
    /// Reverse proxies (CIDR, comma-separated) whose X-Forwarded-For / X-Real-IP name the
    /// client; from any other peer those headers are ignored. Default: none.
    #[arg(
        long = "trusted-proxies",
        env = "ASSETLIB_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpNet>,
}

/// Where metadata and blobs live; shared by `serve` and `keys`.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory for the embedded database, blobs, temp files and the admin key.
    #[arg(long, env = "ASSETLIB_DATA_DIR", default_value = defaults::DATA_DIR)]
    pub data_dir: PathBuf,
    /// Metadata database URL (default: sqlite://DATA_DIR/assetlib.db).
    #[arg(long, env = "ASSETLIB_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Blob store URL (default: file://DATA_DIR/blobs).
    #[arg(long, env = "ASSETLIB_BLOB_URL")]
    pub blob_url: Option<String>,
}

/// Fetcher settings.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub allow_private_networks: bool,
    pub allow_networks: Vec<IpNet>,
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    pub max_redirects: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            allow_networks: Vec::new(),
            connect_timeout: Duration::from_secs(defaults::FETCH_CONNECT_TIMEOUT_SECS),
            total_timeout: Duration::from_secs(defaults::FETCH_TIMEOUT_SECS),
            max_redirects: defaults::MAX_REDIRECTS,
        }
    }
}

/// Face moderation settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationConfig {
    /// What happens to an image with a face: hold (review), reject, or allow (no check).
    pub faces: FacePolicy,
    /// Per-tenant overrides of `faces`.
    pub tenants: std::collections::BTreeMap<String, FacePolicy>,
    /// What happens to media that cannot be scanned (e.g. a video in a codec not decoded here):
    /// hold it for review, or let it pass (`allow`). `reject` fails it.
    pub unscannable: FacePolicy,
    /// Which detector runs the face check.
    pub detector: FaceDetectorKind,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        Self {
            faces: FacePolicy::Hold,
            tenants: std::collections::BTreeMap::new(),
            unscannable: FacePolicy::Hold,
            detector: FaceDetectorKind::default(),
        }
    }
}

impl ModerationConfig {
    /// The face policy of a tenant.
    pub fn policy_for(&self, tenant: &str) -> FacePolicy {
        self.tenants.get(tenant).copied().unwrap_or(self.faces)
    }
}

/// The generation endpoint behind the task gateway. The key is redacted in `Debug`.
#[derive(Clone)]
pub struct UpstreamConfig {
    pub url: String,
    pub key: String,
}

impl fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("url", &self.url)
            .field("key", &"***")
            .finish()
    }
}

/// When uploads are refused under load (429).
#[derive(Debug, Clone)]
pub struct AdmissionConfig {
    /// Uploads of one tenant being fetched at once on this node.
    pub max_fetches_per_tenant: usize,
    /// Jobs waiting or running, all nodes together.
    pub max_queued_jobs: u64,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self {
            max_fetches_per_tenant: defaults::MAX_FETCHES_PER_TENANT,
            max_queued_jobs: defaults::MAX_QUEUED_JOBS,
        }
    }
}

/// Limits on client connections (`HttpArgs`).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time to receive a request's head, from the connection's opening or from the first byte
    /// after a keep-alive pause.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may sit idle between requests.
    pub keep_alive_timeout: Duration,
    /// Time for a whole request body to arrive.
    pub body_read_timeout: Duration,
    /// Open client connections at most (before the open-file limit lowers it).
    pub max_connections: usize,
    /// Time an answer may go without the client accepting any of its bytes.
    pub write_timeout: Duration,
    /// Open connections from one client address (IPv6: one /64) at most; 0 = no cap.
    pub max_connections_per_address: usize,
    /// Answers streaming at once through one signed content URL.
    pub max_streams_per_content_url: usize,
    /// Peers whose forwarding headers name the client (`http::client_addr`).
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(defaults::HEADER_READ_TIMEOUT_SECS),
            keep_alive_timeout: Duration::from_secs(defaults::KEEP_ALIVE_TIMEOUT_SECS),
            body_read_timeout: Duration::from_secs(defaults::BODY_READ_TIMEOUT_SECS),
            max_connections: defaults::MAX_CONNECTIONS,
            write_timeout: Duration::from_secs(defaults::WRITE_TIMEOUT_SECS),
            max_connections_per_address: defaults::MAX_CONNECTIONS_PER_ADDRESS,
            max_streams_per_content_url: defaults::MAX_STREAMS_PER_CONTENT_URL,
            trusted_proxies: Vec::new(),
        }
    }
}

impl HttpConfig {
    fn from_args(args: &HttpArgs) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs.max(1)),
            keep_alive_timeout: Duration::from_secs(args.keep_alive_timeout_secs.max(1)),
            body_read_timeout: Duration::from_secs(args.body_read_timeout_secs.max(1)),
            max_connections: args.max_connections.max(1),
            write_timeout: Duration::from_secs(args.write_timeout_secs.max(1)),
            max_connections_per_address: args.max_connections_per_address,
            max_streams_per_content_url: args.max_streams_per_content_url.max(1),
            trusted_proxies: args.trusted_proxies.clone(),
        }
    }
}

/// Job queue settings.
#[derive(Debug, Clone)]
pub struct JobConfig {
    pub workers: usize,
    pub lease: Duration,
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt.
    pub backoff_base: Duration,
    /// How long an idle worker sleeps before polling again when nobody wakes it.
    pub poll_interval: Duration,
    /// How long shutdown waits for running jobs (and in-flight requests) before releasing their
    /// leases (and answering them 503).
    pub shutdown_grace: Duration,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            workers: defaults::WORKERS,
            lease: Duration::from_secs(defaults::JOB_LEASE_SECS),
            max_attempts: defaults::JOB_MAX_ATTEMPTS,
            backoff_base: Duration::from_secs(defaults::JOB_BACKOFF_BASE_SECS),
            poll_interval: Duration::from_secs(defaults::JOB_POLL_INTERVAL_SECS),
            shutdown_grace: Duration::from_secs(defaults::SHUTDOWN_GRACE_SECS),
        }
    }
}

/// The credential scope the Volcengine-style face accepts signatures for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolcConfig {
    pub region: String,
    pub service: String,
}

impl Default for VolcConfig {
    fn default() -> Self {
        Self {
            region: defaults::VOLC_REGION.to_owned(),
            service: defaults::VOLC_SERVICE.to_owned(),
        }
    }
}

/// The whole server configuration.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub blob_url: String,
    /// How long a failing request to an S3 blob store is retried.
    pub blob_retry: Duration,
    pub fetch: FetchConfig,
    pub http: HttpConfig,
    pub jobs: JobConfig,
    pub admission: AdmissionConfig,
    /// Bytes of decoded pixels held at once, process-wide.
    pub decode_budget_bytes: u64,
    /// Bytes of a local blob store's chunks kept in memory for content answers.
    pub content_cache_bytes: u64,
    pub orphan_grace: Duration,
    /// How long an Idempotency-Key's first answer is kept.
    pub idempotency_ttl: Duration,
    /// How long a claimed Idempotency-Key stands without word from its call: the call renews
    /// it while it runs, so only a node that died lets it lapse.
    pub idempotency_lock: Duration,
    /// How long a deleted asset can be restored.
    pub deleted_retention: Duration,
    /// Tenants whose every upload is deduplicated by content (`*`: all; config file `[dedupe]`).
    pub dedupe_tenants: Vec<String>,
    /// Per-tenant quotas of the configuration file (`[quotas]`); an admin's run-time quota of
    /// a tenant replaces its row.
    pub quotas: QuotaConfig,
    /// Resumable and direct uploads one tenant may have open at once.
    pub max_open_uploads: u64,
    /// Per-tenant expiry policies (`[expiry]`): housekeeping deletes what they expire.
    pub expiry: ExpiryConfig,
    /// The first retry of a failed webhook delivery; each next waits twice as long (≤ 2 h).
    pub webhook_retry_base: Duration,
    pub limits: MediaLimits,
    pub moderation: ModerationConfig,
    /// Shape rules of generation tasks, per model (`[tasks]` of the configuration file).
    pub tasks: TaskRules,
    /// Base URL of signed content URLs; `None` = `http://{listen}` as bound.
    pub public_url: Option<String>,
    /// Where `GET /metrics` is served without a key, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The credential scope of the Volcengine-style face.
    pub volc: VolcConfig,
    pub content_url_ttl: Duration,
    /// Resolve to the blob store's presigned URLs (S3) instead of /content URLs.
    pub presign_content: bool,
    /// Content URL signing secret shared by nodes; `None` = the data dir's own key file.
    pub signing_secret: Option<String>,
    /// The task gateway's upstream (base URL, key); `None` turns the gateway off.
    pub upstream: Option<UpstreamConfig>,
    /// Print and save an admin key when the database has none.
    pub bootstrap_admin_key: bool,
    /// Serve the HTTP API (`false` for `assetlib worker`).
    pub serve_http: bool,
    /// HTTP status of the kyy face's business errors.
    pub kyy_error_status: KyyErrorStatus,
}

impl Config {
    /// Defaults for a data directory; every other setting at its default.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            listen: defaults::LISTEN,
            database_url: default_database_url(&data_dir),
            blob_url: default_blob_url(&data_dir),
            data_dir,
            fetch: FetchConfig::default(),
            http: HttpConfig::default(),
            jobs: JobConfig::default(),
            admission: AdmissionConfig::default(),
            decode_budget_bytes: defaults::DECODE_BUDGET_MIB * 1024 * 1024,
            content_cache_bytes: defaults::CONTENT_CACHE_MIB * 1024 * 1024,
            orphan_grace: Duration::from_secs(defaults::ORPHAN_GRACE_SECS),
            blob_retry: Duration::from_secs(defaults::BLOB_RETRY_SECS),
            idempotency_ttl: Duration::from_secs(defaults::IDEMPOTENCY_TTL_HOURS * 3600),
            idempotency_lock: Duration::from_secs(defaults::IDEMPOTENCY_LOCK_SECS),
            dedupe_tenants: Vec::new(),
            quotas: QuotaConfig::default(),
            max_open_uploads: defaults::MAX_OPEN_UPLOADS,
            expiry: ExpiryConfig::default(),
            webhook_retry_base: Duration::from_secs(defaults::WEBHOOK_RETRY_BASE_SECS),
            deleted_retention: Duration::from_secs(defaults::DELETED_RETENTION_DAYS * 86_400),
            limits: MediaLimits::default(),
            moderation: ModerationConfig::default(),
            tasks: TaskRules::default(),
            public_url: None,
            metrics_listen: None,
            volc: VolcConfig::default(),
            content_url_ttl: Duration::from_secs(defaults::CONTENT_URL_TTL_SECS),
            presign_content: false,
            signing_secret: None,
            upstream: None,
            bootstrap_admin_key: true,
            serve_http: true,
            kyy_error_status: KyyErrorStatus::Rest,
        }
    }

    /// Defaults, then the TOML file (if any), then environment and flags.
    pub fn from_serve_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        let mut config = Self::for_data_dir(&args.storage.data_dir);
        if let Some(path) = &args.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
            let file = file_from_toml(&text)
                .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
            config.limits = file.limits;
            config.moderation = file.moderation;
            config.tasks = file.tasks;
            config.dedupe_tenants = file.dedupe_tenants;
            config.quotas = file.quotas;
            config.expiry = file.expiry;
        }
        if let Some(faces) = args.faces {
            config.moderation.faces = faces;
        }
        if let Some(detector) = args.face_detector {
            config.moderation.detector = detector;
        }
        if args.allow_1080p {
            config.limits.video_rules.allow_1080p = true;
        }
        config.listen = args.listen;
        config.database_url = args.storage.database_url();
        config.blob_url = args.storage.blob_url();
        config.fetch.allow_private_networks = args.allow_private_networks;
        config.fetch.allow_networks = args.allow_networks.clone();
        config.fetch.connect_timeout = Duration::from_secs(args.fetch_connect_timeout_secs);
        config.fetch.total_timeout = Duration::from_secs(args.fetch_timeout_secs);
        config.http = HttpConfig::from_args(&args.http);
        config.jobs.workers = args.workers;
        config.jobs.lease = Duration::from_secs(args.job_lease_secs.max(1));
        config.jobs.shutdown_grace = Duration::from_secs(args.shutdown_grace_secs);
        config.orphan_grace = Duration::from_secs(args.orphan_grace_secs);
        config.max_open_uploads = args.max_open_uploads.max(1);
        config.idempotency_lock = Duration::from_secs(args.idempotency_lock_secs.max(1));
        config.deleted_retention =
            Duration::from_secs(args.deleted_retention_days.saturating_mul(86_400));
        config.idempotency_ttl =
            Duration::from_secs(args.idempotency_ttl_hours.max(1).saturating_mul(3600));
        config.decode_budget_bytes = args.decode_budget_mib.max(1).saturating_mul(1024 * 1024);
        config.content_cache_bytes = args.content_cache_mib.saturating_mul(1024 * 1024);
        config.admission = AdmissionConfig {
            max_fetches_per_tenant: args.max_fetches_per_tenant.max(1),
            max_queued_jobs: args.max_queued_jobs.max(1),
        };
        config.public_url = args.public_url.clone();
        config.metrics_listen = args.metrics_listen;
        config.volc = VolcConfig {
            region: args.volc_region.clone(),
            service: args.volc_service.clone(),
        };
        config.content_url_ttl = Duration::from_secs(args.content_url_ttl_secs.max(1));
        config.presign_content = args.presign_content;
        config.blob_retry = Duration::from_secs(args.blob_retry_secs);
        config.signing_secret = args.signing_secret.clone().filter(|s| !s.is_empty());
        config.kyy_error_status = args.kyy_error_status;
        config.upstream = args.upstream_url.clone().map(|url| UpstreamConfig {
            url,
            key: args.upstream_key.clone().unwrap_or_default(),
        });
        Ok(config)
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }

    /// The secret that signs content URLs (created on first start; share it between nodes).
    pub fn signing_key_path(&self) -> PathBuf {
        self.data_dir.join("url-signing.key")
    }

    pub fn admin_key_path(&self) -> PathBuf {
        self.data_dir.join("admin.key")
    }
}

impl StorageArgs {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| default_database_url(&self.data_dir))
    }

    pub fn blob_url(&self) -> String {
        self.blob_url
            .clone()
            .unwrap_or_else(|| default_blob_url(&self.data_dir))
    }
}

fn default_database_url(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}", data_dir.join("assetlib.db").display())
}

fn default_blob_url(data_dir: &std::path::Path) -> String {
    format!("file://{}", data_dir.join("blobs").display())
}

/// `scheme://user:secret@host/db` → `scheme://***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("blob_url", &redact_url(&self.blob_url))
            .field("blob_retry", &self.blob_retry)
            .field("fetch", &self.fetch)
            .field("http", &self.http)
            .field("jobs", &self.jobs)
            .field("admission", &self.admission)
            .field("decode_budget_bytes", &self.decode_budget_bytes)
            .field("content_cache_bytes", &self.content_cache_bytes)
            .field("orphan_grace", &self.orphan_grace)
            .field("idempotency_ttl", &self.idempotency_ttl)
            .field("dedupe_tenants", &self.dedupe_tenants)
            .field("quotas", &self.quotas)
            .field("expiry", &self.expiry)
            .field("webhook_retry_base", &self.webhook_retry_base)
            .field("deleted_retention", &self.deleted_retention)
            .field("max_open_uploads", &self.max_open_uploads)
            .field("limits", &self.limits)
            .field("moderation", &self.moderation)
            .field("tasks", &self.tasks)
            .field("public_url", &self.public_url)
            .field("metrics_listen", &self.metrics_listen)
            .field("volc", &self.volc)
            .field("content_url_ttl", &self.content_url_ttl)
            .field("presign_content", &self.presign_content)
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "***"),
            )
            .field("upstream", &self.upstream)
            .field("bootstrap_admin_key", &self.bootstrap_admin_key)
            .field("serve_http", &self.serve_http)
            .field("kyy_error_status", &self.kyy_error_status)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/assets"),
            "postgres://***@db:5432/assets"
        );
        assert_eq!(
            redact_url("sqlite://./data/assetlib.db"),
            "sqlite://./data/assetlib.db"
        );
        let mut config = Config::for_data_dir("/tmp/x");
        config.database_url = "postgres://app:hunter2@db/assets".into();
        config.signing_secret = Some("s3cret-signing".into());
        config.upstream = Some(UpstreamConfig {
            url: "https://upstream".into(),
            key: "upstream-k3y".into(),
        });
        let shown = format!("{config:?}");
        for secret in ["hunter2", "s3cret-signing", "upstream-k3y"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // Every setting is shown (secrets as ***).
        for field in [
            "moderation",
            "public_url",
            "content_url_ttl",
            "presign_content",
            "bootstrap_admin_key",
            "serve_http",
        ] {
            assert!(shown.contains(field), "{field} missing from {shown}");
        }
    }

    /// Every flag of `serve`, with its environment variable and default, has its row in
    /// docs/CONFIGURATION.md's table.
    #[test]
    fn readme_configuration_table_has_every_flag() {
        use clap::Args as _;
        let readme = include_str!("../docs/CONFIGURATION.md");
        let serve = ServeArgs::augment_args(clap::Command::new("serve"));
        let mut missing = Vec::new();
        for arg in serve.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            // Its row starts with the flag, or names it second (`--a X`, `--b Y`).
            let row = readme.lines().find(|l| {
                l.starts_with(&format!("| `--{long}"))
                    || (l.starts_with("| `--") && l.contains(&format!(", `--{long}")))
            });
            let Some(row) = row else {
                missing.push(format!("--{long}: no row"));
                continue;
            };
            if let Some(env) = arg.get_env() {
                let env = env.to_string_lossy();
                if !row.contains(&format!("`{env}")) {
                    missing.push(format!("--{long}: {env} not in its row"));
                }
            }
            if let [default] = arg.get_default_values() {
                let default = default.to_string_lossy();
                if !row.contains(&format!("`{default}`")) {
                    missing.push(format!("--{long}: default {default} not in its row"));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:#?}");
    }

    #[test]
    fn defaults_live_in_the_data_dir() {
        let config = Config::for_data_dir("./data");
        assert_eq!(config.database_url, "sqlite://./data/assetlib.db");
        assert_eq!(config.blob_url, "file://./data/blobs");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(!config.fetch.allow_private_networks);
    }
}
