//! What a request handler or a worker needs: the configuration, the use-case services and the
//! ports readiness checks ping. Built by one function from the configuration and the adapters
//! opened at start-up; the HTTP layer depends on this module, never on `server`.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::sync::Notify;

use crate::blob::{self, BlobStore};
use crate::config::Config;
use crate::domain::FaceDetectorKind;
use crate::fetch::{HttpFetcher, HttpWebhookSender, NameLookup};
use crate::jobs::{JobRegistry, PROCESS_ASSET};
use crate::moderation::{DecodeBudget, FaceDetector, Mtcnn};
use crate::repo::Repo;
use crate::service::{
    Admission, ContentSigner, DeliveryService, Fsck, GatewayService, GroupService,
    IdempotencyService, IdempotencySettings, IngestPorts, IngestService, IngestSettings,
    KeyService, LibraryService, ProcessingPorts, ProcessingService, ProcessingSettings,
    QuotaService, ResumableService, ReviewService, SessionService, Settled, StorageCheck,
    WebhookService, WebhookSettings,
};
use crate::upstream::HttpUpstream;

/// Everything a request handler or worker needs.
pub struct App {
    pub config: Config,
    /// The metadata store (readiness checks; the workers' job queue).
    pub repo: Arc<dyn Repo>,
    /// The blob store (readiness checks).
    pub blobs: Arc<dyn BlobStore>,
    pub ingest: IngestService,
    pub library: LibraryService,
    pub processing: ProcessingService,
    pub review: ReviewService,
    pub delivery: DeliveryService,
    /// The task gateway, when an upstream is configured.
    pub gateway: Option<GatewayService>,
    pub keys: KeyService,
    /// Console sessions.
    pub sessions: SessionService,
    /// Groups of assets.
    pub groups: GroupService,
    /// Per-tenant quotas.
    pub quotas: QuotaService,
    /// Webhook endpoints, deliveries and their dispatcher.
    pub webhooks: WebhookService,
    /// Resumable (tus) uploads.
    pub resumable: ResumableService,
    /// Idempotency-Keys of creating calls (`http::idempotency`).
    pub idempotency: IdempotencyService,
    pub fsck: Fsck,
    /// Whether the temp directory and the blob store can take a write (readiness).
    pub storage: StorageCheck,
    /// The job kinds this node runs.
    pub jobs: JobRegistry,
    /// Notified on every enqueue of this node and, on shared databases, of every node.
    pub wake: Arc<Notify>,
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

impl AppState {
    /// Opens the blob store, the fetcher, the face detector and the upstream named by
    /// `config`, and builds every service over them and `repo`. `addr` is where this node
    /// listens (the default base of signed content URLs).
    pub fn build(
        config: Config,
        repo: Arc<dyn Repo>,
        lookup: Arc<dyn NameLookup>,
        addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let options = blob::StoreOptions {
            retry: config.blob_retry,
            content_cache_bytes: config.content_cache_bytes,
        };
        let blobs =
            blob::open_with(&config.blob_url, &options).context("opening the blob store")?;
        if config.presign_content && !blobs.signs_urls() {
            bail!("--presign-content needs a blob store that signs URLs (--blob-url s3://…)");
        }
        let tmp_dir = config.tmp_dir();
        let sender = Arc::new(HttpWebhookSender::new(&config.fetch, Arc::clone(&lookup))?);
        let fetcher = Arc::new(HttpFetcher::new(&config.fetch, lookup, tmp_dir.clone())?);
        let detector: Arc<dyn FaceDetector> = match config.moderation.detector {
            FaceDetectorKind::Mtcnn => {
                Arc::new(Mtcnn::embedded().context("loading the face model")?)
            }
        };
        let wake = Arc::new(Notify::new());
        let settled = Settled::default();
        let limits = Arc::new(config.limits.clone());

        let quotas = QuotaService::new(repo.clone(), config.quotas.clone());
        let admission = Arc::new(Admission::new(config.admission.clone(), repo.clone()));
        let ingest = IngestService::new(
            IngestPorts {
                fetcher,
                blobs: Arc::clone(&blobs),
                assets: repo.clone(),
                holds: repo.clone(),
                groups: repo.clone(),
                quotas: quotas.clone(),
                wake: Arc::clone(&wake),
                admission,
            },
            IngestSettings {
                limits: Arc::clone(&limits),
                max_attempts: config.jobs.max_attempts,
                tmp_dir: tmp_dir.clone(),
                dedupe_tenants: config.dedupe_tenants.clone(),
            },
        );
        // One signer (its secret read once) for content URLs and this node's upload URLs.
        let secret = signing_secret(&config)?;
        let signer = signer(&config, addr, secret.clone())?;
        let resumable = ResumableService::new(
            repo.clone(),
            Arc::clone(&blobs),
            ingest.clone(),
            quotas.clone(),
            tmp_dir.clone(),
        )
        .with_signer(signer.clone())
        .with_max_open_uploads(config.max_open_uploads);
        let library =
            LibraryService::new(repo.clone(), repo.clone(), repo.clone(), settled.clone())
                .with_retention(config.deleted_retention)
                .with_expiry(config.expiry.clone());
        let processing = ProcessingService::new(
            ProcessingPorts {
                blobs: Arc::clone(&blobs),
                assets: repo.clone(),
                detector,
                budget: DecodeBudget::new(config.decode_budget_bytes),
                settled,
            },
            ProcessingSettings {
                limits,
                moderation: config.moderation.clone(),
                tmp_dir,
            },
        );
        let review = ReviewService::new(repo.clone(), repo.clone(), Arc::clone(&blobs));
        let delivery = DeliveryService::new(repo.clone(), Arc::clone(&blobs), signer)
            .with_task_rules(config.tasks.clone());
        let gateway = match config.upstream.clone() {
            Some(upstream) => Some(GatewayService::new(
                Arc::new(HttpUpstream::new(upstream)?),
                repo.clone(),
                delivery.clone(),
            )),
            None => None,
        };
        let keys = KeyService::new(repo.clone());
        let sessions = SessionService::new(keys.clone(), repo.clone(), secret);
        let groups = GroupService::new(repo.clone());
        let webhooks = WebhookService::new(
            repo.clone(),
            sender,
            WebhookSettings {
                retry_base: config.webhook_retry_base,
                worker: format!(
                    "webhooks-{}-{}-{}",
                    std::process::id(),
                    addr.port(),
                    rand::random::<u32>()
                ),
                ..WebhookSettings::default()
            },
        );
        let idempotency = IdempotencyService::new(
            repo.clone(),
            IdempotencySettings {
                ttl: config.idempotency_ttl,
                lock: config.idempotency_lock,
                ..IdempotencySettings::default()
            },
        );
        let fsck = Fsck::new(repo.clone(), Arc::clone(&blobs));
        let storage = StorageCheck::new(config.tmp_dir(), Arc::clone(&blobs));
        let jobs = JobRegistry::default().with(PROCESS_ASSET, Arc::new(processing.clone()));
        Ok(Self(Arc::new(App {
            config,
            repo,
            blobs,
            ingest,
            library,
            processing,
            review,
            delivery,
            gateway,
            keys,
            sessions,
            groups,
            quotas,
            webhooks,
            idempotency,
            resumable,
            fsck,
            storage,
            jobs,
            wake,
        })))
    }
}

/// The secret that signs content URLs and console sessions: the shared one, or this data
/// directory's own.
fn signing_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    Ok(match &config.signing_secret {
        Some(shared) => shared.as_bytes().to_vec(),
        None => ContentSigner::load_or_create_secret(&config.signing_key_path())
            .context("reading the URL signing secret")?,
    })
}

/// Signs content URLs with the signing secret.
fn signer(config: &Config, addr: SocketAddr, secret: Vec<u8>) -> anyhow::Result<ContentSigner> {
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    Ok(ContentSigner::new(secret, config.content_url_ttl, base).presigning(config.presign_content))
}
