//! Copying what a database names in a blob store into another store, shared by `backup` and
//! `migrate`: each blob streamed into a temp file with its sha256 checked against its name,
//! stored with its media type, then its preview; the parts of unfinished resumable uploads.

use std::path::Path;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use tokio::io::AsyncWriteExt;

use crate::blob::{self, BlobError, BlobStore};

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("reading the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Blob(#[from] BlobError),
    #[error(
        "blob {sha256} is gone from the source store (purged or lost after the database was \
         read); run the copy again"
    )]
    BlobGone { sha256: String },
    #[error("blob {expected} read back with sha256 {actual}: the stored bytes are damaged")]
    HashMismatch { expected: String, actual: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a database names in the blob store.
pub struct Named {
    pub assets: u64,
    /// Each content hash once, with the media type its assets were stored as.
    pub blobs: Vec<(String, &'static str)>,
    /// (upload id, part name) of every unfinished resumable upload.
    pub upload_parts: Vec<(String, String)>,
}

/// What the embedded database behind `pool` names.
pub async fn named_content(pool: &SqlitePool) -> Result<Named, CopyError> {
    let assets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assets")
        .fetch_one(pool)
        .await?;
    let blobs: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT sha256, MAX(format) FROM assets GROUP BY sha256 ORDER BY 1")
            .fetch_all(pool)
            .await?;
    let uploads: Vec<(String, String)> =
        sqlx::query_as("SELECT id, parts FROM uploads WHERE asset_id IS NULL AND parts <> ''")
            .fetch_all(pool)
            .await?;
    let upload_parts = uploads
        .into_iter()
        .flat_map(|(id, parts)| {
            parts
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| (id.clone(), p.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(Named {
        assets: u64::try_from(assets).unwrap_or_default(),
        blobs: blobs
            .into_iter()
            .filter(|(sha256, _)| blob::is_sha256_hex(sha256))
            .map(|(sha256, format)| (sha256, crate::domain::mime_type(format.as_deref())))
            .collect(),
        upload_parts,
    })
}

/// One blob copied.
pub struct Copied {
    pub bytes: u64,
    pub preview: bool,
}

/// Streams the blob into a temp file under `tmp`, checks its sha256, stores it as
/// `content_type`; then its preview.
pub async fn copy_blob(
    from: &dyn BlobStore,
    into: &dyn BlobStore,
    sha256: &str,
    content_type: &str,
    tmp: &Path,
) -> Result<Copied, CopyError> {
    let stream = match from.stream(sha256, None).await {
        Ok(stream) => stream,
        Err(e) if e.is_not_found() => {
            return Err(CopyError::BlobGone {
                sha256: sha256.to_owned(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let (file, bytes, actual) = spool(stream, tmp).await?;
    if actual != sha256 {
        return Err(CopyError::HashMismatch {
            expected: sha256.to_owned(),
            actual,
        });
    }
    into.put_file(sha256, &file, content_type).await?;
    let preview = match from.read_preview(sha256).await? {
        Some(jpeg) => {
            into.put_preview(sha256, jpeg).await?;
            true
        }
        None => false,
    };
    copy_frames(from, into, sha256).await?;
    Ok(Copied { bytes, preview })
}

/// The most checked frames a video keeps images of (the review's evidence), with room to spare.
const MAX_FRAMES: usize = 64;

/// The images of a video's checked frames, kept beside its preview: the small ones
/// (`{sha256}.frame{n}`) and, for a held video, the full-size ones (`{sha256}.full{n}`), each
/// numbered from 0 without a gap.
async fn copy_frames(
    from: &dyn BlobStore,
    into: &dyn BlobStore,
    sha256: &str,
) -> Result<(), CopyError> {
    for kind in ["frame", "full"] {
        for n in 0..MAX_FRAMES {
            let name = format!("{sha256}.{kind}{n}");
            match from.read_preview(&name).await? {
                Some(jpeg) => into.put_preview(&name, jpeg).await?,
                None => break,
            }
        }
    }
    Ok(())
}

/// Copies a part of an unfinished resumable upload (gone since: nothing to copy).
pub async fn copy_part(
    from: &dyn BlobStore,
    into: &dyn BlobStore,
    upload: &str,
    part: &str,
    tmp: &Path,
) -> Result<(), CopyError> {
    let stream = match from.upload_part_stream(upload, part).await {
        Ok(stream) => stream,
        // The upload finished or expired since the copy: nothing to resume.
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let (file, _, _) = spool(stream, tmp).await?;
    into.put_upload_part(upload, part, &file).await?;
    Ok(())
}

/// Writes a stream into a temp file under `tmp`: the file, its length and its sha256.
async fn spool(
    mut stream: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, BlobError>>,
    tmp: &Path,
) -> Result<(tempfile::TempPath, u64, String), CopyError> {
    let path = tempfile::NamedTempFile::new_in(tmp)
        .map_err(io(tmp))?
        .into_temp_path();
    let mut file = tokio::fs::File::create(&path).await.map_err(io(&path))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        bytes += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(io(&path))?;
    }
    file.sync_all().await.map_err(io(&path))?;
    Ok((path, bytes, crate::fetch::hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob with its preview and the images of two checked frames arrives whole.
    #[tokio::test]
    async fn a_blob_comes_with_its_preview_and_its_frames() {
        let (a, b, tmp) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let from = blob::open(&format!("file://{}", a.path().display())).expect("store");
        let into = blob::open(&format!("file://{}", b.path().display())).expect("store");
        let bytes = b"a video, as far as this test cares".to_vec();
        let sha256 = crate::fetch::hex(&Sha256::digest(&bytes));
        let file = tmp.path().join("blob");
        std::fs::write(&file, &bytes).expect("write");
        from.put_file(&sha256, &file, "video/mp4")
            .await
            .expect("put");
        let names = [
            sha256.clone(),
            format!("{sha256}.frame0"),
            format!("{sha256}.frame1"),
            format!("{sha256}.full0"),
            format!("{sha256}.full1"),
        ];
        for name in &names {
            let jpeg = bytes::Bytes::from(format!("jpeg of {name}"));
            from.put_preview(name, jpeg).await.expect("preview");
        }

        let copied = copy_blob(&*from, &*into, &sha256, "video/mp4", tmp.path())
            .await
            .expect("copy");
        assert_eq!(copied.bytes, bytes.len() as u64);
        assert!(copied.preview);
        for name in &names {
            let jpeg = into.read_preview(name).await.expect("read").expect(name);
            assert_eq!(jpeg, bytes::Bytes::from(format!("jpeg of {name}")));
        }
        assert!(
            into.read_preview(&format!("{sha256}.frame2"))
                .await
                .expect("read")
                .is_none()
        );
    }
}
