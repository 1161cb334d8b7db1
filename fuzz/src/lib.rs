//! What the fuzz targets share: each target mirrors the server's own path over untrusted
//! bytes, and asserts what must hold whatever the bytes are (a panic or an abort is a finding).

use std::io::Cursor;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use assetlib::domain::limits::MediaLimits;
use assetlib::domain::rules::{check, check_format};
use assetlib::domain::{AssetId, AssetType, Caller, MediaFacts, Role, Status};
use assetlib::probe::{ProbeError, probe, sniff};
use assetlib::repo::{Insert, NewAsset, NewJob, Repo, StatusChange};
use assetlib::service::{ContentSigner, DeliveryService, Resolved, ServiceError};
use axum::response::IntoResponse;
use chrono::Utc;

/// Bytes the processing job reads for sniffing (`service/processing/`).
const SNIFF_HEAD: usize = 64 * 1024;

/// The processing path of one stored file declared as `asset_type`: sniff the head; if the
/// family matches, probe the whole file and check the facts against the default rules.
pub fn probe_as(asset_type: AssetType, data: &[u8]) {
    let sniffed = sniff(&data[..data.len().min(SNIFF_HEAD)]);
    if sniffed.family != Some(asset_type) {
        return;
    }
    let limits = MediaLimits::default();
    let hints: &[&str] = match asset_type {
        // Only documents read the name: a `.json` name demands valid JSON.
        AssetType::Document => &["upload", "upload.json"],
        _ => &["upload"],
    };
    for hint in hints {
        let mut src = Cursor::new(data);
        match probe(
            asset_type,
            &sniffed.format,
            &mut src,
            data.len() as u64,
            hint,
        ) {
            Ok(probed) => {
                let _ = check_format(asset_type, &probed.format, &limits);
                let _ = check(asset_type, &probed.facts, &limits);
                let _ = serde_json::to_vec(&probed.facts);
            }
            Err(ProbeError::Invalid(v)) => assert!(!v.message.is_empty(), "a violation says why"),
            // A file in memory cannot fail to read: an I/O error here is a malformed file
            // misreported as a storage fault (which the job would retry).
            Err(ProbeError::Io(e)) => panic!("{}: I/O error over memory: {e}", sniffed.format),
        }
    }
}

/// The request bodies' world: one SQLite library with a few assets of each kind, and the
/// delivery service that resolves task bodies against it.
pub struct Bodies {
    runtime: tokio::runtime::Runtime,
    delivery: DeliveryService,
    caller: Caller,
    _dir: tempfile::TempDir,
}

/// Assets the seeds reference (`fuzz/seeds/body_*`): Active image, video and audio, a
/// Processing image, and another tenant's Active image.
pub const SEEDED: [(&str, &str, AssetType, Status); 5] = [
    (
        "fuzz",
        "asset-20260101000000-image",
        AssetType::Image,
        Status::Active,
    ),
    (
        "fuzz",
        "asset-20260101000000-video",
        AssetType::Video,
        Status::Active,
    ),
    (
        "fuzz",
        "asset-20260101000000-audio",
        AssetType::Audio,
        Status::Active,
    ),
    (
        "fuzz",
        "asset-20260101000000-waits",
        AssetType::Image,
        Status::Processing,
    ),
    (
        "other",
        "asset-20260101000000-other",
        AssetType::Image,
        Status::Active,
    ),
];

impl Bodies {
    /// The process-wide world (built on the first input).
    pub fn get() -> &'static Bodies {
        static WORLD: OnceLock<Bodies> = OnceLock::new();
        WORLD.get_or_init(|| Bodies::build().expect("building the fuzz library"))
    }

    fn build() -> Result<Bodies, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let db = format!("sqlite://{}", dir.path().join("meta.db").display());
        let blobs_url = format!("file://{}", dir.path().join("blobs").display());
        std::fs::create_dir_all(dir.path().join("blobs"))?;
        let repo: Arc<dyn Repo> = runtime.block_on(assetlib::repo::connect(&db))?;
        runtime.block_on(seed(repo.as_ref()))?;
        let blobs = assetlib::blob::open(&blobs_url)?;
        let signer = ContentSigner::new(
            b"fuzz".to_vec(),
            Duration::from_secs(600),
            "http://127.0.0.1:1",
        );
        let delivery = DeliveryService::new(repo, blobs, signer);
        let caller = Caller {
            key_id: "fuzz".to_owned(),
            tenant: "fuzz".to_owned(),
            role: Role::Tenant,
            key_name: None,
        };
        Ok(Bodies {
            runtime,
            delivery,
            caller,
            _dir: dir,
        })
    }

    /// A generation-task body, as both faces resolve it (`POST /v1/resolve`, and the kyy
    /// task submission before it is forwarded). Returns the error, if any, for the face to map.
    pub fn resolve(&self, body: &[u8]) -> Result<(), ServiceError> {
        let task: serde_json::Value = assetlib::http::request::parse_json(body)?;
        let resolved = self
            .runtime
            .block_on(self.delivery.resolve(&self.caller, task))?;
        match resolved {
            Resolved::Task { task, assets } => {
                let _ = serde_json::to_vec(&task);
                for id in assets {
                    assert!(
                        SEEDED.iter().any(|(t, s, _, st)| *t == "fuzz"
                            && *s == id.as_str()
                            && *st == Status::Active),
                        "resolved {id}, which is not an Active asset of the caller"
                    );
                }
            }
            Resolved::Invalid(problems) => {
                assert!(!problems.is_empty(), "an invalid task names its problems");
                let _ = serde_json::to_vec(&problems);
            }
        }
        Ok(())
    }
}

async fn seed(repo: &dyn Repo) -> Result<(), Box<dyn std::error::Error>> {
    for (tenant, id, asset_type, status) in SEEDED {
        let id = AssetId::parse(id).ok_or("a seeded id has the documented shape")?;
        let asset = NewAsset {
            id: id.clone(),
            tenant: tenant.to_owned(),
            name: Some(format!("seeded {asset_type}")),
            asset_type,
            url: "http://127.0.0.1:1/seed".to_owned(),
            sha256: "0".repeat(64),
            bytes: 1,
            format: None,
            group_id: None,
            created_at: Utc::now(),
        };
        let job = NewJob {
            kind: "process-asset".to_owned(),
            max_attempts: 1,
            request_id: None,
        };
        if let Insert::IdTaken = repo.insert_asset_with_job(&asset, &job).await? {
            continue;
        }
        if status != Status::Processing {
            let change = StatusChange {
                to: status,
                format: None,
                facts: Some(MediaFacts::default()),
                failure: None,
                moderation: None,
                at: Utc::now(),
            };
            repo.change_status(&id, Status::Processing, &change).await?;
        }
    }
    Ok(())
}

/// Maps a service error to the kyy face's answer, as its handlers do.
pub fn answer_kyy(e: ServiceError) {
    let response = assetlib::http::error::KyyError(e).into_response();
    assert!(
        response.status().as_u16() >= 400,
        "an error answers 4xx/5xx"
    );
}

/// Maps a service error to the native face's answer, as its handlers do.
pub fn answer_v1(e: ServiceError) {
    let response = assetlib::http::error::V1Error(e).into_response();
    assert!(
        response.status().as_u16() >= 400,
        "an error answers 4xx/5xx"
    );
}
