//! Resumable uploads (the tus 1.0 core protocol, with creation, termination and expiration):
//! a client announces a file's length, then sends its bytes in as many `PATCH`es as its link
//! allows, each continuing at the offset the server reports.
//!
//! Each `PATCH`'s bytes become one part in the blob store (`uploads/{id}/{offset}-{nonce}`),
//! and the upload's row advances by a compare-and-set on its offset, in the metadata database:
//! so a node restart, or another node, continues where the last part ended, and two `PATCH`es
//! at the same offset never both count. A `PATCH` cut by the network keeps what arrived. Once
//! the last byte is in, the parts are read back in order through the same spool as any upload
//! (hashed, the type's cap enforced) and registered; the parts are then removed. Uploads left
//! unfinished expire `ttl` after their last byte and are swept with their parts.
//!
//! Direct uploads use the same rows: the client gets a URL that writes the file as one part
//! (`direct`) — a presigned `PUT` into the bucket on S3, so the bytes bypass the API nodes, or a
//! signed URL of this node on a local store — and then asks to `complete`, which checks the size
//! (and the sha256, when given) before registering the file.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::register::completed_by_another;
use super::request::{Announced, Upload, Via};
use super::{IngestService, Registered};
use crate::blob::BlobStore;
use crate::domain::Caller;
use crate::domain::codes;
use crate::repo::{NewUpload, UploadRecord, UploadRepo};
use crate::service::delivery::ContentSigner;
use crate::service::{QuotaService, ServiceError};

/// Uploads swept per housekeeping round.
const SWEEP_BATCH: u32 = 100;

/// How long an unfinished upload is kept after its last byte, by default.
pub const UPLOAD_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone)]
pub struct ResumableService {
    uploads: Arc<dyn UploadRepo>,
    blobs: Arc<dyn BlobStore>,
    /// Files a complete upload.
    ingest: IngestService,
    /// Refuses an upload over the tenant's quota when it is created.
    quotas: QuotaService,
    tmp_dir: std::path::PathBuf,
    ttl: Duration,
    /// Uploads one tenant may have open at once.
    max_open: u64,
    /// Signs this node's upload URLs (stores that cannot presign).
    signer: Option<ContentSigner>,
}

/// The part name of a direct upload's single part.
const DIRECT_PART: &str = "direct";

/// Where a direct upload's bytes go: `PUT` them to `url` before `expires_at`.
pub struct DirectUpload {
    pub upload: UploadRecord,
    pub url: String,
    /// Whether `url` writes straight into the blob store (presigned) rather than to a node.
    pub presigned: bool,
    pub url_expires_at: DateTime<Utc>,
}

/// What a `PATCH` did: the upload as it now stands, and the asset once it is complete.
pub struct Appended {
    pub upload: UploadRecord,
    pub asset: Option<Registered>,
}

fn db(context: &'static str) -> impl FnOnce(crate::repo::RepoError) -> ServiceError {
    move |e| ServiceError::internal(context, e)
}

fn missing() -> ServiceError {
    ServiceError::client(
        &codes::NOT_FOUND,
        "no such upload (it may have expired or been ended)",
    )
}

impl ResumableService {
    pub fn new(
        uploads: Arc<dyn UploadRepo>,
        blobs: Arc<dyn BlobStore>,
        ingest: IngestService,
        quotas: QuotaService,
        tmp_dir: std::path::PathBuf,
    ) -> Self {
        Self {
            uploads,
            blobs,
            ingest,
            quotas,
            tmp_dir,
            ttl: UPLOAD_TTL,
            max_open: crate::config::defaults::MAX_OPEN_UPLOADS,
            signer: None,
        }
    }

    /// At most `max_open` open uploads per tenant.
    pub fn with_max_open_uploads(mut self, max_open: u64) -> Self {
        self.max_open = max_open;
        self
    }

    /// Signs upload URLs of this node with `signer` (for stores that cannot presign).
    pub fn with_signer(mut self, signer: ContentSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Creates a direct upload of `length` bytes and the URL its bytes are sent to.
    pub async fn create_direct(
        &self,
        caller: &Caller,
        announced: Announced,
        length: u64,
    ) -> Result<DirectUpload, ServiceError> {
        let upload = self.create(caller, announced, length).await?;
        let now = Utc::now();
        let ttl = self
            .signer
            .as_ref()
            .map_or(Duration::from_secs(3600), ContentSigner::ttl);
        let presigned = self
            .blobs
            .presigned_put_url(&upload.id, DIRECT_PART, ttl)
            .await
            .map_err(|e| ServiceError::internal("signing an upload URL", e))?;
        let (url, url_expires_at, presigned) = match presigned {
            Some(url) => (
                url,
                now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1)),
                true,
            ),
            None => {
                let signer = self.signer.as_ref().ok_or_else(|| {
                    ServiceError::internal(
                        "signing an upload URL",
                        anyhow::anyhow!("no signer for this node's upload URLs"),
                    )
                })?;
                let (url, at) = signer.upload_url(&upload.id, now);
                (url, at, false)
            }
        };
        Ok(DirectUpload {
            upload,
            url,
            presigned,
            url_expires_at,
        })
    }

    /// Receives the bytes of a direct upload at this node's signed URL: stored as its one part.
    pub async fn receive_direct<S, E>(
        &self,
        id: &str,
        expires: &str,
        sig: &str,
        body: S,
    ) -> Result<u64, ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let signer = self.signer.as_ref().ok_or_else(|| {
            ServiceError::client(&codes::FORBIDDEN, "this node does not take upload URLs")
        })?;
        signer.verify_upload(id, expires, sig, Utc::now())?;
        let upload = self
            .uploads
            .get_upload_any_tenant(id)
            .await
            .map_err(db("reading an upload"))?
            .ok_or_else(missing)?;
        if upload.asset_id.is_some() {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                "this upload is complete",
            ));
        }
        let (file, received) = self.spool_part(body, upload.length).await?;
        self.blobs
            .put_upload_part(id, DIRECT_PART, &file)
            .await
            .map_err(|e| ServiceError::internal("storing an upload", e))?;
        Ok(received)
    }

    /// Completes a direct upload once its bytes are in: the size must be the announced length
    /// and the content's sha256 `sha256` (when given); then the file is registered.
    pub async fn complete_direct(
        &self,
        caller: &Caller,
        id: &str,
        sha256: Option<&str>,
    ) -> Result<Registered, ServiceError> {
        let upload = self.status(caller, id).await?;
        if upload.asset_id.is_some() {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                "this upload is complete already",
            ));
        }
        let via = Via::Direct {
            length: upload.length,
            sha256: sha256.map(str::to_owned),
        };
        // The size and the checksum are checked on the spool's own count and hash.
        let stored = Upload::stored(&upload, vec![DIRECT_PART.to_owned()], via);
        let registered = match self.ingest.file(caller, stored).await {
            Ok(registered) => registered,
            Err(e) => return Err(self.completed_meanwhile(id, e).await),
        };
        // Finished with the asset's insert; not when the tenant's live twin was answered.
        self.uploads
            .finish_upload(id, registered.asset.id.as_str())
            .await
            .map_err(db("finishing an upload"))?;
        self.remove_parts(id).await;
        Ok(registered)
    }

    /// The largest length an upload may announce (the largest cap of any type).
    pub fn max_length(&self) -> u64 {
        self.ingest.max_upload_bytes()
    }

    fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::days(1))
    }

    /// Creates an upload of `length` bytes of the type and name it announced.
    pub async fn create(
        &self,
        caller: &Caller,
        announced: Announced,
        length: u64,
    ) -> Result<UploadRecord, ServiceError> {
        let Announced { asset_type, name } = announced;
        if length == 0 {
            return Err(ServiceError::invalid(
                "Upload-Length is 0: an upload needs at least one byte",
            ));
        }
        // Over the tenant's quota, nothing is received (checked again when it completes).
        self.quotas.admit(&caller.tenant, length).await?;
        let cap = self.ingest.max_bytes(asset_type);
        if length > cap {
            return Err(ServiceError::client(
                &codes::TOO_LARGE,
                format!(
                    "Upload-Length {length} is over the {} cap of {}",
                    asset_type,
                    crate::domain::rules::describe_cap(cap)
                ),
            ));
        }
        let now = Utc::now();
        let quota = self.quotas.check(&caller.tenant).await?;
        let upload = NewUpload {
            id: format!("upl-{:024x}", rand::random::<u128>() >> 32),
            tenant: caller.tenant.clone(),
            asset_type,
            name: name.clone(),
            length,
            created_at: now,
            expires_at: self.expiry(now),
        };
        // Checked again with the tenant's other creations kept out: its open uploads, and its
        // bytes with every reservation.
        self.uploads
            .create_upload_checked(&upload, quota, self.max_open)
            .await
            .map_err(db("creating an upload"))?
            .map_err(crate::service::quota::refusal)?;
        Ok(UploadRecord {
            id: upload.id,
            tenant: upload.tenant,
            asset_type,
            name,
            length,
            offset: 0,
            parts: Vec::new(),
            asset_id: None,
            expires_at: upload.expires_at,
        })
    }

    /// The caller's upload (`not-found` for another tenant's, as for a missing one).
    pub async fn status(&self, caller: &Caller, id: &str) -> Result<UploadRecord, ServiceError> {
        self.uploads
            .get_upload(&caller.tenant, id)
            .await
            .map_err(db("reading an upload"))?
            .ok_or_else(missing)
    }

    /// Appends the bytes of `body` at `offset` (which must be where the upload stands); a body
    /// cut short keeps what arrived. Completes the upload when its last byte is in.
    pub async fn append<S, E>(
        &self,
        caller: &Caller,
        id: &str,
        offset: u64,
        body: S,
    ) -> Result<Appended, ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let upload = self.status(caller, id).await?;
        if upload.asset_id.is_some() {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                "this upload is complete; its asset is named in Asset-Id (HEAD)",
            ));
        }
        if offset != upload.offset {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                format!(
                    "Upload-Offset {offset} is not where this upload stands ({}); ask with HEAD and resume from there",
                    upload.offset
                ),
            ));
        }
        if upload.offset == upload.length {
            // Every byte is in, but completing was refused before (a quota or the load): a
            // PATCH at the end (with no bytes) completes it now.
            let registered = self.complete(caller, &upload).await?;
            let mut upload = upload;
            upload.asset_id = Some(registered.asset.id.to_string());
            return Ok(Appended {
                upload,
                asset: Some(registered),
            });
        }
        let room = upload.length.saturating_sub(upload.offset);
        let (part_file, received) = self.spool_part(body, room).await?;
        if received == 0 {
            return Ok(Appended {
                upload,
                asset: None,
            });
        }
        let part = format!("{offset:020}-{:08x}", rand::random::<u32>());
        self.blobs
            .put_upload_part(id, &part, &part_file)
            .await
            .map_err(|e| ServiceError::internal("storing an upload's part", e))?;
        let to = offset + received;
        let advanced = self
            .uploads
            .append_upload_part(id, offset, to, &part, self.expiry(Utc::now()))
            .await
            .map_err(db("advancing an upload"))?;
        if !advanced {
            // Another PATCH at this offset got there first; this part is swept with the upload.
            return Err(ServiceError::client(
                &codes::CONFLICT,
                "another request appended to this upload at the same offset; ask with HEAD and resume from there",
            ));
        }
        let mut upload = self.status(caller, id).await?;
        if upload.offset < upload.length {
            return Ok(Appended {
                upload,
                asset: None,
            });
        }
        let registered = self.complete(caller, &upload).await?;
        upload.asset_id = Some(registered.asset.id.to_string());
        Ok(Appended {
            upload,
            asset: Some(registered),
        })
    }

    /// Writes the body to a temp file, at most `room` bytes (more is refused); a body error
    /// ends it with what arrived.
    async fn spool_part<S, E>(
        &self,
        mut body: S,
        room: u64,
    ) -> Result<(tempfile::TempPath, u64), ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let temp = tempfile::Builder::new()
            .prefix("part-")
            .tempfile_in(&self.tmp_dir)
            .map_err(|e| ServiceError::internal("spooling an upload's part", e))?;
        let (file, path) = temp.into_parts();
        let mut out = tokio::fs::File::from_std(file);
        let mut received = 0u64;
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else {
                // Cut: keep what arrived, the client resumes from there.
                break;
            };
            received += chunk.len() as u64;
            if received > room {
                return Err(ServiceError::client(
                    &codes::TOO_LARGE,
                    format!("this PATCH carries more bytes than the {room} the upload still needs"),
                ));
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| ServiceError::internal("spooling an upload's part", e))?;
        }
        out.flush()
            .await
            .map_err(|e| ServiceError::internal("spooling an upload's part", e))?;
        Ok((path, received))
    }

    /// Files the complete upload. A file refused for what it is (its type, its size, …) leaves
    /// no upload behind; one refused for now (the tenant's quota, the load) or that failed on
    /// our side keeps its parts, and a `PATCH` at the end with no bytes completes it later.
    async fn complete(
        &self,
        caller: &Caller,
        upload: &UploadRecord,
    ) -> Result<Registered, ServiceError> {
        let stored = Upload::stored(upload, upload.parts.clone(), Via::Resumable);
        let registered = match self.ingest.file(caller, stored).await {
            Ok(registered) => registered,
            Err(e) => {
                let e = self.completed_meanwhile(&upload.id, e).await;
                if refuses_the_file(&e) {
                    let _ = self.uploads.delete_upload(&upload.id).await;
                    self.remove_parts(&upload.id).await;
                }
                return Err(e);
            }
        };
        // Finished with the asset's insert; not when the tenant's live twin was answered.
        self.uploads
            .finish_upload(&upload.id, registered.asset.id.as_str())
            .await
            .map_err(db("finishing an upload"))?;
        self.remove_parts(&upload.id).await;
        Ok(registered)
    }

    async fn remove_parts(&self, id: &str) {
        if let Err(e) = self.blobs.delete_upload_parts(id).await {
            tracing::warn!(upload = %id, error = %e, "could not remove an upload's parts");
        }
    }

    /// The answer to a completion that failed: `conflict` when another request completed the
    /// upload meanwhile (its parts may be gone because of it), else `failed`.
    async fn completed_meanwhile(&self, id: &str, failed: ServiceError) -> ServiceError {
        match self.uploads.get_upload_any_tenant(id).await {
            Ok(Some(UploadRecord {
                asset_id: Some(asset),
                ..
            })) => completed_by_another(Some(&asset)),
            _ => failed,
        }
    }

    /// Ends an upload: its parts and its row are removed (a completed upload's asset stays).
    pub async fn terminate(&self, caller: &Caller, id: &str) -> Result<(), ServiceError> {
        let upload = self.status(caller, id).await?;
        self.remove(&upload.id).await
    }

    async fn remove(&self, id: &str) -> Result<(), ServiceError> {
        self.blobs
            .delete_upload_parts(id)
            .await
            .map_err(|e| ServiceError::internal("removing an upload's parts", e))?;
        self.uploads
            .delete_upload(id)
            .await
            .map_err(db("removing an upload"))?;
        Ok(())
    }

    /// Removes the uploads expired at `now`, parts and rows; how many.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        let ids = self
            .uploads
            .expired_uploads(now, SWEEP_BATCH)
            .await
            .map_err(db("listing expired uploads"))?;
        for id in &ids {
            self.remove(id).await?;
        }
        Ok(ids.len() as u64)
    }
}

/// Whether `e` refuses the file itself, so that sending it again cannot succeed: a client
/// error other than the tenant's quota and another request's completion.
fn refuses_the_file(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Client { code, .. }
        if *code != &codes::QUOTA_EXCEEDED && *code != &codes::CONFLICT)
}
