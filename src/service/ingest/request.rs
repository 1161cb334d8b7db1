//! An upload, typed: what a face parses once from whichever request shape it received (JSON
//! naming a URL or carrying a `data:` URI, a multipart file, a raw body, a finished resumable
//! or direct upload) and hands to `IngestService::file`.

use url::Url;

use super::received::{Incoming, is_data_uri};
use crate::domain::AssetType;
use crate::domain::codes;
use crate::repo::UploadRecord;
use crate::service::ServiceError;
use crate::service::fields::{group_field, parse_name, parse_type};

/// An upload, every field checked but the group's owner (checked when it is filed).
pub struct Upload {
    /// `None`: an upload by URL whose type is taken from the fetched bytes.
    pub asset_type: Option<AssetType>,
    /// The asset's name; `None` for none.
    pub name: Option<String>,
    /// The group to file the asset in, as sent (trimmed, never empty).
    pub group_id: Option<String>,
    /// Answer a live asset of the tenant with the same bytes and type instead of creating one.
    pub dedupe: bool,
    pub source: Source,
}

/// Where an upload's bytes come from.
pub enum Source {
    /// An http(s) URL the server fetches (SSRF-safe, capped).
    Url(Url),
    /// A `data:` URI, as sent.
    DataUri(String),
    /// A file the client sent with the request (a multipart part or a raw body), spooled as
    /// it arrived.
    File(Box<Incoming>),
    /// A finished resumable or direct upload: its parts in the blob store.
    Stored(StoredUpload),
}

/// The parts of a finished resumable or direct upload, read back in order when it is filed.
#[derive(Debug)]
pub struct StoredUpload {
    pub id: String,
    /// The length it announced, which it reserved of the tenant's bytes quota.
    pub length: u64,
    pub parts: Vec<String>,
    /// Recorded as `upload://{file name}`.
    pub file_name: Option<String>,
    pub via: Via,
}

/// How a stored upload's bytes arrived, which says what is checked when it is filed.
#[derive(Debug)]
pub enum Via {
    /// tus `PATCH`es: the offsets already add up to the length.
    Resumable,
    /// One `PUT` to the answered URL: the size must be `length`, and the sha256 `sha256`
    /// when the client gave one (`upload-mismatch` otherwise).
    Direct { length: u64, sha256: Option<String> },
}

impl Upload {
    /// A finished resumable or direct upload, as its record says.
    pub fn stored(upload: &UploadRecord, parts: Vec<String>, via: Via) -> Self {
        Self {
            asset_type: Some(upload.asset_type),
            name: upload.name.clone(),
            group_id: None,
            dedupe: false,
            source: Source::Stored(StoredUpload {
                id: upload.id.clone(),
                length: upload.length,
                parts,
                file_name: upload.name.clone(),
                via,
            }),
        }
    }
}

/// The fields of an upload as a face receives them, checked by `by_url` or `with_file`. A
/// refusal there is counted like any upload's.
#[derive(Debug, Clone, Default)]
pub struct UploadFields {
    pub asset_type: Option<String>,
    pub name: Option<String>,
    /// The group to file the asset in (one of the tenant's).
    pub group_id: Option<String>,
    /// Answer a live asset of the tenant with the same bytes and type instead of creating one.
    pub dedupe: bool,
}

impl UploadFields {
    /// An upload of the media at `url`: an http(s) URL, or a `data:` URI carrying the bytes.
    /// Checked as before anything is fetched: the type, the URL's syntax, the name.
    pub fn by_url(self, url: Option<&str>) -> Result<Upload, ServiceError> {
        let raw_type = self.asset_type.clone();
        self.parse_by_url(url, false)
            .inspect_err(|e| super::count_refusal(raw_type.as_deref(), e))
    }

    /// The same, where an absent (or empty) `assetType` means "whatever the fetched bytes
    /// are": the type is taken from them, and bytes of no accepted type are refused
    /// (`type-mismatch`).
    pub fn by_url_any_type(self, url: Option<&str>) -> Result<Upload, ServiceError> {
        let raw_type = self.asset_type.clone();
        let sniff = raw_type.as_deref().is_none_or(|t| t.trim().is_empty());
        self.parse_by_url(url, sniff)
            .inspect_err(|e| super::count_refusal(raw_type.as_deref(), e))
    }

    fn parse_by_url(self, url: Option<&str>, sniff: bool) -> Result<Upload, ServiceError> {
        let asset_type = if sniff {
            None
        } else {
            Some(parse_type(self.asset_type.as_deref())?)
        };
        let raw_url = url.map(str::trim).unwrap_or_default();
        if raw_url.is_empty() {
            return Err(ServiceError::client(
                &codes::INVALID_URL,
                "url is required: a public http(s) URL the server can fetch now",
            ));
        }
        let name = parse_name(self.name.as_deref())?;
        let source = if is_data_uri(raw_url) {
            Source::DataUri(raw_url.to_owned())
        } else {
            Source::Url(Url::parse(raw_url).map_err(|e| {
                ServiceError::client(
                    &codes::INVALID_URL,
                    format!("url '{raw_url}' is not a valid URL: {e}"),
                )
            })?)
        };
        Ok(self.typed(asset_type, name, source))
    }

    /// An upload of a file the client sent with the request.
    pub fn with_file(self, file: Incoming) -> Result<Upload, ServiceError> {
        let raw_type = self.asset_type.clone();
        self.parse_with_file(file)
            .inspect_err(|e| super::count_refusal(raw_type.as_deref(), e))
    }

    fn parse_with_file(self, file: Incoming) -> Result<Upload, ServiceError> {
        let asset_type = parse_type(self.asset_type.as_deref())?;
        let name = parse_name(self.name.as_deref())?;
        Ok(self.typed(Some(asset_type), name, Source::File(Box::new(file))))
    }

    /// What a resumable or direct upload announces when it is created: its type and its
    /// name (`Upload-Metadata`'s on tus, the body's on a direct upload).
    pub fn announced(self) -> Result<Announced, ServiceError> {
        let asset_type = parse_type(self.asset_type.as_deref()).map_err(|e| match e {
            ServiceError::Client { code, message } => ServiceError::Client {
                code,
                message: format!("{message} (Upload-Metadata's or the body's assetType)"),
            },
            other => other,
        })?;
        let name = parse_name(self.name.as_deref())?;
        Ok(Announced { asset_type, name })
    }

    fn typed(self, asset_type: Option<AssetType>, name: Option<String>, source: Source) -> Upload {
        Upload {
            asset_type,
            name,
            group_id: group_field(self.group_id.as_deref()),
            dedupe: self.dedupe,
            source,
        }
    }
}

/// A resumable or direct upload's type and name, checked when it is created.
#[derive(Debug, Clone)]
pub struct Announced {
    pub asset_type: AssetType,
    pub name: Option<String>,
}
