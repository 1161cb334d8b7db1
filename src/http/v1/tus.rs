//! Resumable uploads, the tus 1.0 core protocol with its creation, termination and expiration
//! extensions, under `/v1/uploads/tus` (`service::resumable` keeps the rules). Errors answer in
//! the v1 envelope with tus's statuses.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::domain::codes;
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::repo::UploadRecord;
use crate::service::{ServiceError, UploadFields};
use crate::state::AppState;

/// Where uploads are created, under `/v1`.
pub const ROUTE: &str = "/uploads/tus";
const VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination,expiration";
/// The content type of a `PATCH` body.
const PATCH_TYPE: &str = "application/offset+octet-stream";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Every request but `OPTIONS` says which protocol version it speaks.
fn check_version(headers: &HeaderMap) -> Result<(), V1Error> {
    match header(headers, "tus-resumable") {
        Some(VERSION) => Ok(()),
        other => Err(ServiceError::client(
            &codes::PRECONDITION_FAILED,
            format!(
                "Tus-Resumable must be {VERSION} (got {}); this server speaks tus {VERSION}",
                other.unwrap_or("nothing")
            ),
        )
        .into()),
    }
}

fn number(headers: &HeaderMap, name: &str) -> Result<u64, V1Error> {
    let raw = header(headers, name).ok_or_else(|| {
        V1Error(ServiceError::invalid(format!(
            "the header {name} is required"
        )))
    })?;
    raw.parse().map_err(|_| {
        V1Error(ServiceError::invalid(format!(
            "{name} must be a whole number of bytes, got '{raw}'"
        )))
    })
}

fn with_headers(status: StatusCode, pairs: &[(&'static str, String)]) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    headers.insert("tus-resumable", HeaderValue::from_static(VERSION));
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(*name, value);
        }
    }
    response
}

fn expires(upload: &UploadRecord) -> String {
    upload
        .expires_at
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// The state of an upload as headers: its offset and length, when it expires, and the asset
/// it became once complete.
fn upload_headers(upload: &UploadRecord) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("upload-offset", upload.offset.to_string()),
        ("upload-length", upload.length.to_string()),
        ("cache-control", "no-store".to_owned()),
    ];
    match &upload.asset_id {
        Some(asset) => pairs.push(("asset-id", asset.clone())),
        None => pairs.push(("upload-expires", expires(upload))),
    }
    pairs
}

/// `OPTIONS`: what this server supports.
pub async fn options(State(state): State<AppState>) -> Response {
    with_headers(
        StatusCode::NO_CONTENT,
        &[
            ("tus-version", VERSION.to_owned()),
            ("tus-extension", EXTENSIONS.to_owned()),
            ("tus-max-size", state.resumable.max_length().to_string()),
        ],
    )
}

/// `POST`: creates an upload of `Upload-Length` bytes; `Upload-Metadata` carries `assetType`
/// and `name` (base64 values, as tus sends them).
pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    headers: HeaderMap,
) -> Result<Response, V1Error> {
    check_version(&headers)?;
    let length = number(&headers, "upload-length")?;
    let metadata = parse_metadata(header(&headers, "upload-metadata").unwrap_or_default())?;
    let field = |key: &str| {
        metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let announced = UploadFields {
        asset_type: field("assetType"),
        name: field("name"),
        ..UploadFields::default()
    }
    .announced()?;
    let upload = state.resumable.create(&caller, announced, length).await?;
    let mut pairs = upload_headers(&upload);
    pairs.push(("location", format!("/v1{ROUTE}/{}", upload.id)));
    Ok(with_headers(StatusCode::CREATED, &pairs))
}

/// `HEAD`: where the upload stands.
pub async fn head(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, V1Error> {
    check_version(&headers)?;
    let upload = state.resumable.status(&caller, &id).await?;
    Ok(with_headers(StatusCode::OK, &upload_headers(&upload)))
}

/// `PATCH`: the next bytes, at `Upload-Offset`.
pub async fn patch(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, V1Error> {
    let headers = request.headers();
    check_version(headers)?;
    let content_type = header(headers, "content-type").unwrap_or_default();
    if !content_type.eq_ignore_ascii_case(PATCH_TYPE) {
        return Err(ServiceError::client(
            &codes::UNSUPPORTED_MEDIA_TYPE,
            format!("a PATCH carries Content-Type: {PATCH_TYPE}, not '{content_type}'"),
        )
        .into());
    }
    let offset = number(headers, "upload-offset")?;
    let body: Body = request.into_body();
    let appended = state
        .resumable
        .append(&caller, &id, offset, body.into_data_stream())
        .await?;
    Ok(with_headers(
        StatusCode::NO_CONTENT,
        &upload_headers(&appended.upload),
    ))
}

/// `DELETE`: ends the upload (termination).
pub async fn delete(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, V1Error> {
    check_version(&headers)?;
    state.resumable.terminate(&caller, &id).await?;
    Ok(with_headers(StatusCode::NO_CONTENT, &[]))
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
