//! Uploads whose bytes the client sends instead of a URL: a multipart `file` part or a raw body
//! streamed by the face into an `Incoming` spool, or a `data:` URI in `url`. Either becomes a
//! local file that `IngestService` registers like a fetched one.
//!
//! What such an asset records as its `url`: `upload://{file name}` (the part's file name,
//! percent-encoded; `upload://file` when the part has none), and `upload://data-uri` for a
//! `data:` URI (the URI itself can be megabytes long).

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use url::Url;

use super::admission::FetchSlot;
use super::{IngestService, spool_error};
use crate::domain::AssetType;
use crate::domain::codes;
use crate::domain::rules::{MediaLimits, describe_bytes, describe_cap};
use crate::fetch::{FetchError, FetchedFile, Spool};
use crate::service::ServiceError;

/// The largest content a `data:` URI may carry, decoded; larger files go as multipart or by URL.
pub const DATA_URI_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The `url` recorded for an asset sent as a `data:` URI.
pub const DATA_URI_SOURCE: &str = "upload://data-uri";
/// The longest file name kept in `upload://{file name}`.
const MAX_FILE_NAME_CHARS: usize = 200;
/// File name characters kept as they are in `upload://{file name}`.
const FILE_NAME_KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');

/// Where an asset's bytes came from: the `url` it records, and how a refusal names them.
pub(super) struct Origin {
    pub url: String,
    pub described: &'static str,
}

impl Origin {
    pub fn url(url: Url) -> Self {
        Self {
            url: url.to_string(),
            described: "the content at the URL",
        }
    }

    pub fn data_uri() -> Self {
        Self {
            url: DATA_URI_SOURCE.to_owned(),
            described: "the content of the data: URI",
        }
    }

    /// `upload://{name}`: the last component of the part's file name, percent-encoded.
    pub fn file(file_name: Option<&str>) -> Self {
        let base = file_name
            .and_then(|n| n.rsplit(['/', '\\']).next())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("file");
        let base: String = base.chars().take(MAX_FILE_NAME_CHARS).collect();
        Self {
            url: format!("upload://{}", utf8_percent_encode(&base, FILE_NAME_KEPT)),
            described: "the uploaded file",
        }
    }
}

/// Whether `url` is a `data:` URI (the scheme is case-insensitive).
pub(super) fn is_data_uri(url: &str) -> bool {
    url.get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
}

fn lowercase_type(asset_type: AssetType) -> String {
    asset_type.as_str().to_lowercase()
}

/// The bytes of `data:[<mediatype>][;base64],<data>`, refused over `max` bytes.
fn decode_data_uri(raw: &str, max: u64) -> Result<Vec<u8>, ServiceError> {
    let invalid = |why: &str| {
        ServiceError::client(
            &codes::INVALID_URL,
            format!("url is a data: URI that cannot be read: {why}"),
        )
    };
    let too_large = |n: u64| {
        ServiceError::client(
            &codes::TOO_LARGE,
            format!(
                "the data: URI holds {}; a data: URI may carry {} (send larger files as \
                 multipart/form-data or by URL)",
                describe_bytes(n),
                describe_cap(max)
            ),
        )
    };
    let (meta, data) = raw[5..]
        .split_once(',')
        .ok_or_else(|| invalid("it has no ',' before its data"))?;
    let is_base64 = meta
        .split(';')
        .any(|p| p.trim().eq_ignore_ascii_case("base64"));
    let bytes: Vec<u8> = percent_decode_str(data).collect();
    if !is_base64 {
        if bytes.len() as u64 > max {
            return Err(too_large(bytes.len() as u64));
        }
        return Ok(bytes);
    }
    let text: Vec<u8> = bytes
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    // Known before decoding: four characters carry three bytes.
    let estimate = (text.len() as u64 / 4) * 3;
    if estimate > max + 2 {
        return Err(too_large(estimate));
    }
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let decoded = ENGINE
        .decode(&text)
        .or_else(|_| general_purpose::URL_SAFE_NO_PAD.decode(text.trim_ascii_end_padding()))
        .map_err(|e| invalid(&format!("its base64 data does not decode ({e})")))?;
    if decoded.len() as u64 > max {
        return Err(too_large(decoded.len() as u64));
    }
    Ok(decoded)
}

/// `b"…=="` without its trailing padding.
trait TrimPadding {
    fn trim_ascii_end_padding(&self) -> &[u8];
}

impl TrimPadding for Vec<u8> {
    fn trim_ascii_end_padding(&self) -> &[u8] {
        let end = self.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
        &self[..end]
    }
}

/// A file larger than its cap: `asset_type`'s, or (before the type is known) the largest.
pub(super) fn file_too_large(asset_type: Option<AssetType>, limit: u64) -> ServiceError {
    let message = match asset_type {
        Some(t) => format!(
            "the uploaded file is larger than allowed; {} must be {}",
            lowercase_type(t),
            describe_cap(limit)
        ),
        None => format!(
            "the uploaded file is larger than any asset this server takes ({})",
            describe_cap(limit)
        ),
    };
    ServiceError::client(&codes::TOO_LARGE, message)
}

/// A file a client is sending, written to a temp file as it arrives; holds the tenant's
/// admission slot until the upload answers.
pub struct Incoming {
    spool: Spool,
    asset_type: Option<AssetType>,
    /// The file name the client gave the file (a multipart part's, or the path's).
    file_name: Option<String>,
    limits: Arc<MediaLimits>,
    _slot: FetchSlot,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("asset_type", &self.asset_type)
            .field("file_name", &self.file_name)
            .finish_non_exhaustive()
    }
}

impl Incoming {
    /// A new spool in `tmp_dir` under `max_bytes`, holding `slot`.
    pub(super) fn create(
        tmp_dir: &Path,
        max_bytes: u64,
        limits: Arc<MediaLimits>,
        slot: FetchSlot,
    ) -> Result<Self, ServiceError> {
        let spool = Spool::create(tmp_dir, "upload-", max_bytes).map_err(spool_error)?;
        Ok(Self {
            spool,
            asset_type: None,
            file_name: None,
            limits,
            _slot: slot,
        })
    }

    /// The type the client declared before the file: its cap applies from now on. A value that
    /// is not a type is refused later, with every other check.
    pub fn expect_type(&mut self, raw: &str) {
        if let Some(t) = AssetType::parse(raw) {
            self.asset_type = Some(t);
            self.spool.set_limit(self.limits.for_type(t).max_bytes);
        }
    }

    /// Records the file name the client gave the file (`upload://{file name}`).
    pub fn set_file_name(&mut self, name: Option<String>) {
        self.file_name = name;
    }

    pub(super) fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// Appends the next chunk; refuses the file (`too-large`) once it passes its cap.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), ServiceError> {
        match self.spool.write(chunk).await {
            Err(FetchError::TooLarge { limit, .. }) => Err(file_too_large(self.asset_type, limit)),
            other => other.map_err(spool_error),
        }
    }

    /// The whole file, under `asset_type`'s cap `cap`.
    pub(super) async fn finish(
        mut self,
        asset_type: AssetType,
        cap: u64,
    ) -> Result<FetchedFile, ServiceError> {
        self.spool.set_limit(cap);
        match self.spool.finish().await {
            Err(FetchError::TooLarge { limit, .. }) => Err(file_too_large(Some(asset_type), limit)),
            other => other.map_err(spool_error),
        }
    }
}

impl IngestService {
    /// A `data:` URI's content in a local file, under the smaller of its cap and the type's.
    pub(super) async fn spool_data_uri(
        &self,
        raw: &str,
        type_cap: u64,
    ) -> Result<FetchedFile, ServiceError> {
        let bytes = decode_data_uri(raw, DATA_URI_MAX_BYTES.min(type_cap))?;
        let mut spool = Spool::create(&self.tmp_dir, "upload-", type_cap).map_err(spool_error)?;
        spool.write(&bytes).await.map_err(spool_error)?;
        spool.finish().await.map_err(spool_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_decode() {
        let b64 = decode_data_uri("data:image/png;base64,aGVsbG8=", 100).expect("base64");
        assert_eq!(b64, b"hello");
        let unpadded = decode_data_uri("data:;base64,aGVsbG8", 100).expect("no padding");
        assert_eq!(unpadded, b"hello");
        let pct = decode_data_uri("data:text/plain,h%65llo%20you", 100).expect("percent");
        assert_eq!(pct, b"hello you");
        let err = decode_data_uri("data:;base64,aGVsbG8=", 3).expect_err("over the cap");
        assert_eq!(err.code().name, "too-large");
        let err = decode_data_uri("data:image/png;base64", 100).expect_err("no comma");
        assert_eq!(err.code().name, "invalid-url");
        let err = decode_data_uri("data:;base64,!!!!", 100).expect_err("not base64");
        assert_eq!(err.code().name, "invalid-url");
        assert!(is_data_uri("DATA:,x") && !is_data_uri("dat") && !is_data_uri("https://x"));
    }

    #[test]
    fn uploaded_files_record_their_name() {
        assert_eq!(Origin::file(Some("a b.png")).url, "upload://a%20b.png");
        assert_eq!(Origin::file(Some("C:\\fake\\x.mp4")).url, "upload://x.mp4");
        assert_eq!(Origin::file(None).url, "upload://file");
        assert_eq!(Origin::file(Some("  ")).url, "upload://file");
    }
}
