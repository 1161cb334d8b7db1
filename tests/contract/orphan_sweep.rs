//! An upload that finds its blob already stored and the orphan sweep must not overlap: the
//! blob such an upload reuses is never removed under it, whichever side runs first. Each
//! interleaving is forced by a blob store that runs the other side at the worst moment, on
//! every pair of metadata and blob backends; the asset must end Active with its blob present.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assetlib::blob::{BlobError, BlobInfo, BlobStore, LocalBlob, PutOutcome};
use assetlib::config::{AdmissionConfig, ModerationConfig};
use assetlib::domain::limits::MediaLimits;
use assetlib::domain::{AssetId, AssetType, Caller, FaceBox, Role, Status};
use assetlib::fetch::{FetchError, FetchedFile, Fetcher, HEAD_BYTES, hex};
use assetlib::jobs::JobHandler;
use assetlib::moderation::{DecodeBudget, FaceDetector};
use assetlib::repo::{HoldKind, Insert, NewAsset, NewJob, Repo};
use assetlib::service::{
    Admission, Fsck, IngestPorts, IngestService, IngestSettings, ProcessingPorts,
    ProcessingService, ProcessingSettings, QuotaService, Settled, UploadFields,
};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use image::{ImageFormat, Rgb, RgbImage};
use sha2::Digest;
use tokio::sync::Notify;
use url::Url;

use crate::backends::per_backend;

/// A blob store that runs a hook once right after a put (the upload holds its blob and has not
/// inserted its row yet) and once right before a delete (the sweep has found the blob
/// unreferenced and not removed it yet).
struct Interleaved {
    inner: Arc<dyn BlobStore>,
    after_put: Mutex<Option<BoxFuture<'static, ()>>>,
    before_delete: Mutex<Option<BoxFuture<'static, ()>>>,
    /// Puts fail while set.
    fail_puts: AtomicBool,
}

impl Interleaved {
    fn new(inner: Arc<dyn BlobStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            after_put: Mutex::new(None),
            before_delete: Mutex::new(None),
            fail_puts: AtomicBool::new(false),
        })
    }

    fn take(hook: &Mutex<Option<BoxFuture<'static, ()>>>) -> Option<BoxFuture<'static, ()>> {
        hook.lock().expect("hook").take()
    }
}

#[async_trait]
impl BlobStore for Interleaved {
    async fn put_file(
        &self,
        sha256: &str,
        file: &Path,
        content_type: &str,
    ) -> Result<PutOutcome, BlobError> {
        if self.fail_puts.load(Ordering::SeqCst) {
            return Err(BlobError::Io(std::io::Error::other("the store is down")));
        }
        let outcome = self.inner.put_file(sha256, file, content_type).await?;
        if let Some(hook) = Self::take(&self.after_put) {
            hook.await;
        }
        Ok(outcome)
    }
    async fn read_range(
        &self,
        sha256: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, BlobError> {
        self.inner.read_range(sha256, range).await
    }
    async fn exists(&self, sha256: &str) -> Result<bool, BlobError> {
        self.inner.exists(sha256).await
    }
    async fn delete(&self, sha256: &str) -> Result<(), BlobError> {
        if let Some(hook) = Self::take(&self.before_delete) {
            hook.await;
        }
        self.inner.delete(sha256).await
    }
    async fn local_file(&self, sha256: &str, tmp_dir: &Path) -> Result<LocalBlob, BlobError> {
        self.inner.local_file(sha256, tmp_dir).await
    }
    async fn stream(
        &self,
        sha256: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        self.inner.stream(sha256, range).await
    }
    async fn put_upload_part(
        &self,
        upload: &str,
        part: &str,
        file: &Path,
    ) -> Result<(), BlobError> {
        self.inner.put_upload_part(upload, part, file).await
    }
    async fn upload_part_stream(
        &self,
        upload: &str,
        part: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        self.inner.upload_part_stream(upload, part).await
    }
    async fn presigned_put_url(
        &self,
        upload: &str,
        part: &str,
        ttl: Duration,
    ) -> Result<Option<String>, BlobError> {
        self.inner.presigned_put_url(upload, part, ttl).await
    }
    async fn delete_upload_parts(&self, upload: &str) -> Result<(), BlobError> {
        self.inner.delete_upload_parts(upload).await
    }
    async fn put_preview(&self, sha256: &str, jpeg: Bytes) -> Result<(), BlobError> {
        self.inner.put_preview(sha256, jpeg).await
    }
    async fn read_preview(&self, sha256: &str) -> Result<Option<Bytes>, BlobError> {
        self.inner.read_preview(sha256).await
    }
    async fn list(&self) -> Result<Vec<BlobInfo>, BlobError> {
        self.inner.list().await
    }
    async fn ping(&self) -> Result<(), BlobError> {
        self.inner.ping().await
    }
    fn signs_urls(&self) -> bool {
        self.inner.signs_urls()
    }
    async fn presigned_url(
        &self,
        sha256: &str,
        content_type: &str,
        ttl: Duration,
    ) -> Result<Option<String>, BlobError> {
        self.inner.presigned_url(sha256, content_type, ttl).await
    }
}

/// Serves the same bytes for every URL.
struct FixedSource {
    bytes: Vec<u8>,
    tmp: PathBuf,
}

#[async_trait]
impl Fetcher for FixedSource {
    async fn fetch(&self, _url: &Url, _max_bytes: u64) -> Result<FetchedFile, FetchError> {
        let temp = tempfile::NamedTempFile::new_in(&self.tmp)
            .map_err(|e| FetchError::LocalIo(e.into()))?;
        std::fs::write(temp.path(), &self.bytes).map_err(|e| FetchError::LocalIo(e.into()))?;
        Ok(FetchedFile {
            path: temp.into_temp_path(),
            sha256: hex(&sha2::Sha256::digest(&self.bytes)),
            bytes: self.bytes.len() as u64,
            head: self.bytes[..self.bytes.len().min(HEAD_BYTES)].to_vec(),
        })
    }
}

struct NoFaces;

impl FaceDetector for NoFaces {
    fn detect(&self, _image: &image::RgbImage) -> Result<Vec<FaceBox>, String> {
        Ok(Vec::new())
    }
    fn name(&self) -> &'static str {
        "none"
    }
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// The services of one node over one backend pair, the blob store interleaved.
struct Node {
    repo: Arc<dyn Repo>,
    blobs: Arc<dyn BlobStore>,
    store: Arc<Interleaved>,
    ingest: IngestService,
    processing: ProcessingService,
    tmp: tempfile::TempDir,
}

impl Node {
    fn new(repo: Arc<dyn Repo>, blobs: Arc<dyn BlobStore>, content: &[u8]) -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let store = Interleaved::new(Arc::clone(&blobs));
        let limits = Arc::new(MediaLimits::default());
        let ingest = IngestService::new(
            IngestPorts {
                fetcher: Arc::new(FixedSource {
                    bytes: content.to_vec(),
                    tmp: tmp.path().to_owned(),
                }),
                blobs: store.clone(),
                assets: repo.clone(),
                holds: repo.clone(),
                groups: repo.clone(),
                quotas: QuotaService::new(repo.clone(), Default::default()),
                wake: Arc::new(Notify::new()),
                admission: Arc::new(Admission::new(AdmissionConfig::default(), repo.clone())),
            },
            IngestSettings {
                limits: Arc::clone(&limits),
                max_attempts: 3,
                tmp_dir: tmp.path().to_owned(),
                dedupe_tenants: Vec::new(),
            },
        );
        let processing = ProcessingService::new(
            ProcessingPorts {
                blobs: store.clone(),
                assets: repo.clone(),
                detector: Arc::new(NoFaces),
                budget: DecodeBudget::new(256 * 1024 * 1024),
                settled: Settled::default(),
            },
            ProcessingSettings {
                limits,
                moderation: ModerationConfig::default(),
                tmp_dir: tmp.path().to_owned(),
            },
        );
        Self {
            repo,
            blobs,
            store,
            ingest,
            processing,
            tmp,
        }
    }

    /// Stores `content` as a blob no row references: an orphan, once older than the grace.
    async fn orphan(&self, content: &[u8]) -> String {
        let sha = hex(&sha2::Sha256::digest(content));
        let file = self.tmp.path().join("orphan");
        std::fs::write(&file, content).expect("write");
        self.blobs
            .put_file(&sha, &file, "image/png")
            .await
            .expect("put");
        // Old enough for a sweep with no grace: some stores date objects to the second.
        for _ in 0..30 {
            let listed = self.blobs.list().await.expect("list");
            let dated = listed.iter().find(|b| b.sha256 == sha).expect("listed");
            if dated.last_modified <= Utc::now() {
                return sha;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the store dates {sha} in the future");
    }

    async fn upload(&self) -> AssetId {
        upload(&self.ingest).await
    }

    /// Runs every queued job as a worker would; returns the asset's final status and failure.
    async fn settle(&self, id: &AssetId) -> (Status, Option<String>) {
        while let Some(job) = self
            .repo
            .claim_job("w", Duration::from_secs(60))
            .await
            .expect("claim")
        {
            if let Err(e) = self.processing.run(&job).await {
                self.processing.give_up(&job, &format!("{e:?}")).await;
            }
            self.repo.complete_job(job.id, "w").await.expect("complete");
        }
        let asset = self
            .repo
            .get_asset_any_tenant(id)
            .await
            .expect("get")
            .expect("asset");
        (asset.status, asset.failure.map(|f| f.message))
    }
}

async fn upload(ingest: &IngestService) -> AssetId {
    let caller = Caller {
        key_id: "k".to_owned(),
        tenant: "t".to_owned(),
        role: Role::Tenant,
        key_name: None,
    };
    let upload = UploadFields {
        asset_type: Some("Image".to_owned()),
        ..UploadFields::default()
    }
    .by_url(Some("https://example.com/a.png"))
    .expect("a valid upload");
    ingest.file(&caller, upload).await.expect("upload").asset.id
}

async fn a_sweep_between_an_uploads_put_and_its_row_keeps_the_blob(
    repo: Arc<dyn Repo>,
    blobs: Arc<dyn BlobStore>,
) {
    let content = png(400, 400);
    let node = Node::new(repo.clone(), blobs.clone(), &content);
    let sha = node.orphan(&content).await;

    // The upload finds the orphan stored; the sweep runs before its row is inserted.
    let removed = Arc::new(AtomicU64::new(u64::MAX));
    let sweep = Fsck::new(repo.clone(), blobs.clone());
    let seen = Arc::clone(&removed);
    *node.store.after_put.lock().expect("hook") = Some(Box::pin(async move {
        let n = sweep.sweep_orphans(Duration::ZERO).await.expect("sweep");
        seen.store(n, Ordering::SeqCst);
    }));
    let id = node.upload().await;

    assert_eq!(removed.load(Ordering::SeqCst), 0, "the sweep kept it");
    assert!(blobs.exists(&sha).await.expect("exists"));
    assert_eq!(node.settle(&id).await, (Status::Active, None));
    assert!(blobs.exists(&sha).await.expect("exists"));
    assert_no_holds_left(repo.as_ref()).await;
}

async fn an_upload_between_a_sweeps_check_and_its_delete_keeps_the_blob(
    repo: Arc<dyn Repo>,
    blobs: Arc<dyn BlobStore>,
) {
    let content = png(401, 400);
    let node = Arc::new(Node::new(repo.clone(), blobs.clone(), &content));
    let sha = node.orphan(&content).await;

    // The sweep has found the orphan unreferenced; an upload of the same bytes starts and
    // is given time to finish before the delete goes ahead.
    let uploaded = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&uploaded);
    let uploader = node.ingest.clone();
    *node.store.before_delete.lock().expect("hook") = Some(Box::pin(async move {
        let task = tokio::spawn(async move { upload(&uploader).await });
        *slot.lock().expect("slot") = Some(task);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }));
    let sweep = Fsck::new(repo.clone(), node.store.clone());
    let removed = sweep.sweep_orphans(Duration::ZERO).await.expect("sweep");
    assert_eq!(removed, 1, "the sweep removed the orphan");

    let task = uploaded
        .lock()
        .expect("slot")
        .take()
        .expect("upload started");
    let id = task.await.expect("upload task");
    assert!(blobs.exists(&sha).await.expect("exists"));
    assert_eq!(node.settle(&id).await, (Status::Active, None));
    assert_no_holds_left(repo.as_ref()).await;
}

/// Every hold was consumed by its insert or released by its removal.
async fn assert_no_holds_left(repo: &dyn Repo) {
    let later = Utc::now() + chrono::Duration::minutes(1);
    for kind in [HoldKind::Upload, HoldKind::Removal] {
        let left = repo.reap_holds(kind, later).await.expect("reap");
        assert_eq!(left, 0, "{kind:?} holds left");
    }
}

async fn a_failed_upload_releases_its_hold(repo: Arc<dyn Repo>, blobs: Arc<dyn BlobStore>) {
    let content = png(402, 400);
    let node = Node::new(repo.clone(), blobs, &content);
    node.store.fail_puts.store(true, Ordering::SeqCst);
    let caller = Caller {
        key_id: "k".to_owned(),
        tenant: "t".to_owned(),
        role: Role::Tenant,
        key_name: None,
    };
    let upload = UploadFields {
        asset_type: Some("Image".to_owned()),
        ..UploadFields::default()
    }
    .by_url(Some("https://example.com/a.png"))
    .expect("a valid upload");
    let failed = node.ingest.file(&caller, upload).await;
    assert!(failed.is_err());
    // Released in the background once the upload let go of it.
    let sha = hex(&sha2::Sha256::digest(&content));
    let mut held = true;
    for _ in 0..50 {
        held = repo.blob_in_use(&sha).await.expect("in use");
        if !held {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!held, "the failed upload's hold is gone");
}

/// The steps of `blob_holds`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HoldStep {
    Kinds,
    Insert,
    Reap,
}

/// Holds on blobs taken, swapped for rows and reaped, up to and including the step `until`
/// (a case runs the steps before its own as well).
async fn blob_holds(repo: Arc<dyn Repo>, until: HoldStep) {
    let sha = "a".repeat(64);
    let now = Utc::now();
    let minute = chrono::Duration::minutes(1);
    assert!(!repo.blob_in_use(&sha).await.expect("in use"));

    // An upload's hold references the blob; a removal's does not.
    let removal = repo
        .hold_blob(&sha, HoldKind::Removal, now)
        .await
        .expect("hold");
    assert!(!repo.blob_in_use(&sha).await.expect("in use"));
    assert!(
        repo.blob_held(&sha, HoldKind::Removal, now - minute)
            .await
            .expect("held")
    );
    assert!(
        !repo
            .blob_held(&sha, HoldKind::Removal, now + minute)
            .await
            .expect("held"),
        "only holds taken since"
    );
    assert!(
        !repo
            .blob_held(&sha, HoldKind::Upload, now - minute)
            .await
            .expect("held")
    );
    assert!(repo.release_hold(&removal).await.expect("release"));
    assert!(!repo.release_hold(&removal).await.expect("release"));

    let upload = repo
        .hold_blob(&sha, HoldKind::Upload, now)
        .await
        .expect("hold");
    assert!(repo.blob_in_use(&sha).await.expect("in use"));

    if until == HoldStep::Kinds {
        return;
    }

    // The insert swaps the hold for the row; a hold that is gone inserts nothing.
    let asset = |n: u32| NewAsset {
        id: AssetId::parse(&format!("asset-2026010100000{n}-hhhhh")).expect("id"),
        tenant: "t".into(),
        name: None,
        asset_type: AssetType::Image,
        url: "https://example.com/a.png".into(),
        sha256: sha.clone(),
        bytes: 1,
        format: Some("png".into()),
        group_id: None,
        created_at: now,
    };
    let job = NewJob {
        kind: "process-asset".into(),
        max_attempts: 1,
        request_id: None,
    };
    let first = repo
        .insert_held_asset_with_job(&asset(1), &job, &upload)
        .await
        .expect("insert");
    assert!(matches!(first, Insert::Inserted(_)));
    assert!(
        !repo.release_hold(&upload).await.expect("release"),
        "consumed"
    );
    let again = repo
        .insert_held_asset_with_job(&asset(2), &job, &upload)
        .await
        .expect("insert");
    assert!(matches!(again, Insert::HoldLost));
    assert_eq!(repo.count_jobs().await.expect("jobs"), 1);
    assert!(repo.blob_in_use(&sha).await.expect("in use"), "the row");

    if until == HoldStep::Insert {
        return;
    }

    // Reaping removes only the holds of that kind taken before the cut.
    let other = "b".repeat(64);
    repo.hold_blob(&other, HoldKind::Upload, now - minute * 120)
        .await
        .expect("hold");
    repo.hold_blob(&other, HoldKind::Upload, now)
        .await
        .expect("hold");
    repo.hold_blob(&other, HoldKind::Removal, now - minute * 120)
        .await
        .expect("hold");
    assert_eq!(
        repo.reap_holds(HoldKind::Upload, now - minute)
            .await
            .expect("reap"),
        1
    );
    assert_eq!(
        repo.reap_holds(HoldKind::Removal, now - minute)
            .await
            .expect("reap"),
        1
    );
    assert!(repo.blob_in_use(&other).await.expect("in use"));
}

async fn an_uploads_hold_references_its_blob_and_a_removals_does_not(repo: Arc<dyn Repo>) {
    blob_holds(repo, HoldStep::Kinds).await;
}

async fn an_insert_swaps_its_hold_for_the_row_once(repo: Arc<dyn Repo>) {
    blob_holds(repo, HoldStep::Insert).await;
}

async fn reaping_removes_only_the_holds_of_its_kind_taken_before_the_cut(repo: Arc<dyn Repo>) {
    blob_holds(repo, HoldStep::Reap).await;
}

per_backend!(
    sqlite_local: crate::backends::sqlite_local,
    postgres_local: crate::backends::postgres_local,
    sqlite_s3: crate::backends::sqlite_s3,
    postgres_s3: crate::backends::postgres_s3 => {
    #[tokio::test]
    [
        a_sweep_between_an_uploads_put_and_its_row_keeps_the_blob,
        an_upload_between_a_sweeps_check_and_its_delete_keeps_the_blob,
        a_failed_upload_releases_its_hold,
    ]
});

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test]
    [
        an_uploads_hold_references_its_blob_and_a_removals_does_not,
        an_insert_swaps_its_hold_for_the_row_once,
        reaping_removes_only_the_holds_of_its_kind_taken_before_the_cut,
    ]
});
