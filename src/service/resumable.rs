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

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::ingest::{IngestService, Registered, parse_name, parse_type};
use super::{ReceivedUpload, ServiceError};
use crate::blob::BlobStore;
use crate::domain::Caller;
use crate::domain::codes;
use crate::repo::{NewUpload, UploadRecord, UploadRepo};

/// Uploads swept per housekeeping round.
const SWEEP_BATCH: u32 = 100;

/// How long an unfinished upload is kept after its last byte, by default.
pub const UPLOAD_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone)]
pub struct ResumableService {
    uploads: Arc<dyn UploadRepo>,
    blobs: Arc<dyn BlobStore>,
    ingest: IngestService,
    tmp_dir: std::path::PathBuf,
    ttl: Duration,
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
        tmp_dir: std::path::PathBuf,
    ) -> Self {
        Self {
            uploads,
            blobs,
            ingest,
            tmp_dir,
            ttl: UPLOAD_TTL,
        }
    }

    /// Keeps unfinished uploads for `ttl` after their last byte.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The largest length an upload may announce (the largest cap of any type).
    pub fn max_length(&self) -> u64 {
        self.ingest.max_upload_bytes()
    }

    fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::days(1))
    }

    /// Creates an upload of `length` bytes; `metadata` is tus's `Upload-Metadata` (comma-
    /// separated `key base64value` pairs): `assetType` (required) and `name`.
    pub async fn create(
        &self,
        caller: &Caller,
        length: u64,
        metadata: Option<&str>,
    ) -> Result<UploadRecord, ServiceError> {
        let fields = parse_metadata(metadata.unwrap_or_default())?;
        let field = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let asset_type = parse_type(field("assetType")).map_err(|e| match e {
            ServiceError::Client { code, message } => ServiceError::Client {
                code,
                message: format!("{message} (in Upload-Metadata: assetType <base64>)"),
            },
            other => other,
        })?;
        let name = parse_name(field("name"))?;
        if length == 0 {
            return Err(ServiceError::invalid(
                "Upload-Length is 0: an upload needs at least one byte",
            ));
        }
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
        let upload = NewUpload {
            id: format!("upl-{:024x}", rand::random::<u128>() >> 32),
            tenant: caller.tenant.clone(),
            asset_type,
            name: name.clone(),
            length,
            created_at: now,
            expires_at: self.expiry(now),
        };
        self.uploads
            .create_upload(&upload)
            .await
            .map_err(db("creating an upload"))?;
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
        let room = upload.length - upload.offset;
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

    /// Reads the parts back in order through the upload spool and registers the file; the
    /// parts are removed either way once read (a refused file leaves no upload behind).
    async fn complete(
        &self,
        caller: &Caller,
        upload: &UploadRecord,
    ) -> Result<Registered, ServiceError> {
        let mut incoming = self.ingest.receive(caller).await?;
        incoming.expect_type(upload.asset_type.as_str());
        for part in &upload.parts {
            let mut stream = self
                .blobs
                .upload_part_stream(&upload.id, part)
                .await
                .map_err(|e| ServiceError::internal("reading an upload's part", e))?;
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|e| ServiceError::internal("reading an upload's part", e))?;
                incoming.write(&chunk).await?;
            }
        }
        let request = ReceivedUpload {
            asset_type: Some(upload.asset_type.as_str().to_owned()),
            name: upload.name.clone(),
            file_name: upload.name.clone(),
            dedupe: false,
        };
        let registered = self.ingest.upload_received(caller, request, incoming).await;
        match &registered {
            Ok(r) => {
                self.uploads
                    .finish_upload(&upload.id, r.asset.id.as_str())
                    .await
                    .map_err(db("finishing an upload"))?;
            }
            Err(_) => {
                let _ = self.uploads.delete_upload(&upload.id).await;
            }
        }
        if let Err(e) = self.blobs.delete_upload_parts(&upload.id).await {
            tracing::warn!(upload = %upload.id, error = %e, "could not remove an upload's parts");
        }
        registered
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

/// tus's `Upload-Metadata`: `key base64value` pairs separated by commas (a key alone has an
/// empty value).
fn parse_metadata(raw: &str) -> Result<Vec<(String, String)>, ServiceError> {
    let mut out = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| {
                ServiceError::invalid(format!(
                    "Upload-Metadata: the value of '{key}' is not base64"
                ))
            })?;
        let value = String::from_utf8(bytes).map_err(|_| {
            ServiceError::invalid(format!(
                "Upload-Metadata: the value of '{key}' is not UTF-8"
            ))
        })?;
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_are_decoded() {
        let parsed = parse_metadata("assetType SW1hZ2U=, name Y292ZXIucG5n,flag").expect("valid");
        assert_eq!(
            parsed,
            vec![
                ("assetType".to_owned(), "Image".to_owned()),
                ("name".to_owned(), "cover.png".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert!(parse_metadata("assetType !!").is_err());
        assert!(parse_metadata("").expect("empty").is_empty());
    }
}
