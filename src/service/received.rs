//! Uploads whose bytes the client sends instead of a URL: a multipart `file` part streamed by
//! the face into an `Incoming` spool, or a `data:` URI in `url`. Either becomes a local file
//! that `IngestService::register` takes like a fetched one.
//!
//! What such an asset records as its `url`: `upload://{file name}` (the part's file name,
//! percent-encoded; `upload://file` when the part has none), and `upload://data-uri` for a
//! `data:` URI (the URI itself can be megabytes long).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use url::Url;

use super::ServiceError;
use super::admission::FetchSlot;
use super::ingest::{Filing, IngestService, Registered, parse_name, parse_type};
use crate::domain::codes;
use crate::domain::rules::{MediaLimits, describe_bytes, describe_cap};
use crate::domain::{AssetType, Caller};
use crate::fetch::{FetchError, FetchedFile, Spool};

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
    fn file(file_name: Option<&str>) -> Self {
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

fn spool_error(e: FetchError) -> ServiceError {
    ServiceError::internal("spooling an upload", e)
}

/// A file a client is sending, written to a temp file as it arrives; holds the tenant's
/// admission slot until the upload answers.
pub struct Incoming {
    spool: Spool,
    asset_type: Option<AssetType>,
    limits: Arc<MediaLimits>,
    _slot: FetchSlot,
}

impl Incoming {
    /// The type the client declared before the file: its cap applies from now on. A value that
    /// is not a type is refused later, with every other check.
    pub fn expect_type(&mut self, raw: &str) {
        if let Some(t) = AssetType::parse(raw) {
            self.asset_type = Some(t);
            self.spool.set_limit(self.limits.for_type(t).max_bytes);
        }
    }

    /// Appends the next chunk; refuses the file (`too-large`) once it passes its cap.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), ServiceError> {
        match self.spool.write(chunk).await {
            Err(FetchError::TooLarge { limit, .. }) => Err(self.too_large(limit)),
            other => other.map_err(spool_error),
        }
    }

    fn too_large(&self, limit: u64) -> ServiceError {
        let message = match self.asset_type {
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
}

/// The other parts of an upload sent as a file.
#[derive(Debug, Clone, Default)]
pub struct ReceivedUpload {
    pub asset_type: Option<String>,
    pub name: Option<String>,
    /// The file part's own file name, if it had one.
    pub file_name: Option<String>,
    /// The group to file the asset in (one of the tenant's).
    pub group_id: Option<String>,
    /// Answer a live asset of the tenant with the same bytes and type instead of creating one.
    pub dedupe: bool,
    /// The size the client announced (a direct upload): another is `upload-mismatch`.
    pub expect_bytes: Option<u64>,
    /// The sha256 the client announced: another is `upload-mismatch`.
    pub expect_sha256: Option<String>,
}

impl IngestService {
    /// The largest file of any type: the cap on a file sent before its `assetType`.
    pub fn max_upload_bytes(&self) -> u64 {
        let l = &self.limits;
        [&l.image, &l.video, &l.audio, &l.document]
            .iter()
            .map(|t| t.max_bytes)
            .max()
            .unwrap_or(0)
    }

    /// The cap of one type.
    pub fn max_bytes(&self, asset_type: AssetType) -> u64 {
        self.limits.for_type(asset_type).max_bytes
    }

    /// Starts receiving a file of `caller`: admitted like an upload by URL (the slot is held
    /// until the upload answers), spooled under the largest cap until the type is known.
    pub async fn receive(&self, caller: &Caller) -> Result<Incoming, ServiceError> {
        let admitted = match self.quotas.admit(&caller.tenant, 0).await {
            Ok(()) => self.admission.admit(&caller.tenant).await,
            Err(e) => Err(e),
        };
        let slot = match admitted {
            Ok(slot) => slot,
            Err(refused) => {
                // Refused before the file (and its type) arrived.
                crate::metrics::METRICS.upload("unknown", refused.code().name);
                return Err(refused);
            }
        };
        let spool = Spool::create(&self.tmp_dir, "upload-", self.max_upload_bytes())
            .map_err(spool_error)?;
        Ok(Incoming {
            spool,
            asset_type: None,
            limits: Arc::clone(&self.limits),
            _slot: slot,
        })
    }

    /// Registers a received file like a fetched one: the type's cap, then `register`.
    pub async fn upload_received(
        &self,
        caller: &Caller,
        req: ReceivedUpload,
        incoming: Incoming,
    ) -> Result<Registered, ServiceError> {
        let asset_type = req.asset_type.clone();
        let result = self.register_received(caller, req, incoming).await;
        super::ingest::count_upload(asset_type.as_deref(), &result);
        result
    }

    async fn register_received(
        &self,
        caller: &Caller,
        req: ReceivedUpload,
        incoming: Incoming,
    ) -> Result<Registered, ServiceError> {
        let asset_type = parse_type(req.asset_type.as_deref())?;
        let filing = Filing {
            name: parse_name(req.name.as_deref())?,
            group_id: self.check_group(caller, req.group_id.as_deref()).await?,
        };
        let mut incoming = incoming;
        let cap = self.max_bytes(asset_type);
        incoming.asset_type = Some(asset_type);
        incoming.spool.set_limit(cap);
        let file = match incoming.spool.finish().await {
            Err(FetchError::TooLarge { limit, .. }) => {
                return Err(ServiceError::client(
                    &codes::TOO_LARGE,
                    format!(
                        "the uploaded file is larger than allowed; {} must be {}",
                        lowercase_type(asset_type),
                        describe_cap(limit)
                    ),
                ));
            }
            other => other.map_err(spool_error)?,
        };
        // The spool hashed the file as it was written: checked here, not read twice.
        if let Some(length) = req.expect_bytes
            && file.bytes != length
        {
            return Err(ServiceError::client(
                &codes::UPLOAD_MISMATCH,
                format!(
                    "the upload holds {} bytes, not the {length} announced; PUT the whole file again",
                    file.bytes
                ),
            ));
        }
        if let Some(expected) = &req.expect_sha256
            && !expected.eq_ignore_ascii_case(&file.sha256)
        {
            return Err(ServiceError::client(
                &codes::UPLOAD_MISMATCH,
                format!(
                    "the upload's sha256 is {}, not {expected}; PUT the file again",
                    file.sha256
                ),
            ));
        }
        let origin = Origin::file(req.file_name.as_deref());
        self.register(caller, asset_type, filing, origin, file, req.dedupe)
            .await
    }

    /// A `data:` URI's content in a local file, under the smaller of its cap and the type's.
    pub(super) async fn spool_data_uri(
        &self,
        raw: &str,
        asset_type: AssetType,
    ) -> Result<FetchedFile, ServiceError> {
        let type_cap = self.max_bytes(asset_type);
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
