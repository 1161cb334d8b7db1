//! Serving asset bytes: `GET /v1/assets/{id}/content` for the owner, and `GET /content/{id}`
//! through a signed, expiring URL, to at most `--max-streams-per-content-url` readers at once
//! (`content_streams.rs`). Single byte ranges are honoured (206/416). Every answer says
//! `nosniff`; content other than pictures, video and sound is an attachment under a sandboxing
//! policy, so nothing stored can run as a page of the library's origin.

use std::ops::Range;

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::auth::V1Caller;
use super::content_streams::{ContentStreams, StreamPlace};
use super::error::V1Error;
use crate::domain::Asset;
use crate::domain::{codes, mime_type};
use crate::service::{ContentStream, ServiceError};
use crate::state::AppState;

/// What a `Range` header asks of a body of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAsk {
    /// No usable range: the whole body (200). Malformed and multi-range headers land here,
    /// as RFC 9110 allows a server to ignore them.
    Full,
    /// One satisfiable range, end exclusive (206).
    Part(Range<u64>),
    /// A well-formed range outside the body (416).
    Unsatisfiable,
}

pub fn parse_range(value: Option<&str>, len: u64) -> RangeAsk {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeAsk::Full;
    };
    if spec.contains(',') {
        return RangeAsk::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsk::Full;
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // bytes=-N: the last N bytes
        (true, false) => match number(last) {
            Some(0) => RangeAsk::Unsatisfiable,
            Some(n) if len > 0 => RangeAsk::Part(len.saturating_sub(n)..len),
            Some(_) => RangeAsk::Unsatisfiable,
            None => RangeAsk::Full,
        },
        // bytes=A-
        (false, true) => match number(first) {
            Some(a) if a < len => RangeAsk::Part(a..len),
            Some(_) => RangeAsk::Unsatisfiable,
            None => RangeAsk::Full,
        },
        // bytes=A-B
        (false, false) => match (number(first), number(last)) {
            (Some(a), Some(b)) if a <= b => {
                if a >= len {
                    RangeAsk::Unsatisfiable
                } else {
                    RangeAsk::Part(a..b.min(len - 1) + 1)
                }
            }
            _ => RangeAsk::Full,
        },
        (true, true) => RangeAsk::Full,
    }
}

/// The policy of content a browser might run (HTML in a text file, a PDF's scripts): nothing
/// loads, and the document runs sandboxed, in an origin of its own.
const SANDBOX: &str = "default-src 'none'; sandbox";

/// Whether content of this type is shown as it is: pictures, video and sound, which a
/// browser cannot run as a document of the library's origin.
fn inline(content_type: &str) -> bool {
    ["image/", "video/", "audio/"]
        .iter()
        .any(|family| content_type.starts_with(family))
        && !content_type.starts_with("image/svg")
}

/// `Content-Disposition` of content that is not shown inline: a download named after the
/// asset's id (whose characters need no quoting) and format.
fn disposition(asset: &Asset, content_type: &str) -> Option<String> {
    if inline(content_type) {
        return None;
    }
    let extension = match asset.format.as_deref() {
        Some("text") => "txt",
        Some(format) if format.chars().all(|c| c.is_ascii_alphanumeric()) => format,
        _ => "bin",
    };
    Some(format!("attachment; filename=\"{}.{extension}\"", asset.id))
}

/// How long a reader refused by a URL's stream cap is told to wait.
const STREAM_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The answer to a content request; `place`, if any, is held until its body is dropped.
async fn respond(
    state: &AppState,
    asset: Asset,
    headers: &HeaderMap,
    place: Option<StreamPlace>,
) -> Result<Response, V1Error> {
    let len = asset.bytes;
    let ask = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        len,
    );
    let etag = format!("\"{}\"", asset.sha256);
    let content_type = mime_type(asset.format.as_deref());
    let disposition = disposition(&asset, content_type);
    let build = |status: StatusCode| {
        let builder = Response::builder()
            .status(status)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::ETAG, etag.clone())
            .header(header::CACHE_CONTROL, "private, max-age=3600")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        match &disposition {
            None => builder,
            Some(attachment) => builder
                .header(header::CONTENT_DISPOSITION, attachment.as_str())
                .header(header::CONTENT_SECURITY_POLICY, SANDBOX),
        }
    };
    let internal = |e: axum::http::Error| V1Error(ServiceError::internal("building a response", e));
    match ask {
        RangeAsk::Unsatisfiable => {
            let message = format!("the range is outside the {len} bytes of this asset");
            let mut refusal = V1Error(ServiceError::client(&codes::RANGE_NOT_SATISFIABLE, message))
                .into_response();
            let content_range = HeaderValue::try_from(format!("bytes */{len}"))
                .map_err(|e| V1Error(ServiceError::internal("building a response", e)))?;
            let headers = refusal.headers_mut();
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            headers.insert(header::CONTENT_RANGE, content_range);
            Ok(refusal)
        }
        RangeAsk::Full => {
            let body = holding(state.delivery.open_content(&asset, None).await?, place);
            build(StatusCode::OK)
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CONTENT_LENGTH, len)
                .body(Body::from_stream(body))
                .map_err(internal)
        }
        RangeAsk::Part(range) => {
            let (start, end) = (range.start, range.end);
            let body = holding(
                state.delivery.open_content(&asset, Some(range)).await?,
                place,
            );
            build(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CONTENT_LENGTH, end - start)
                .header(
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{}/{len}", end - 1),
                )
                .body(Body::from_stream(body))
                .map_err(internal)
        }
    }
}

/// `stream`, holding `place` until it is dropped.
fn holding(stream: ContentStream, place: Option<StreamPlace>) -> ContentStream {
    match place {
        None => stream,
        Some(place) => stream
            .map(move |chunk| {
                let _held = &place;
                chunk
            })
            .boxed(),
    }
}

/// `GET /v1/assets/{id}/content`: the owner's bytes.
pub async fn owner_content(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Result<Response, V1Error> {
    let caller = crate::service::acting_for(
        &caller,
        crate::service::tenant_param(query.as_deref()).as_deref(),
        false,
    )?;
    let asset = match state.library.get(&caller, &asset_id).await {
        // A reviewer or admin key also reads the original of any asset that is or was in
        // review: the evidence a decision rests on.
        Err(e) if e.code() == &crate::domain::codes::NOT_FOUND => {
            state.review.evidence(&caller, &asset_id).await?
        }
        other => other?,
    };
    respond(&state, asset, &headers, None).await
}

/// `GET /content/{id}?exp=…&sig=…`: bytes behind a signed URL, no key needed.
pub async fn signed_content(
    State(state): State<AppState>,
    Extension(streams): Extension<ContentStreams>,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, V1Error> {
    let (exp, sig) = crate::http::request::signature_params(query.as_deref());
    if exp.is_empty() || sig.is_empty() {
        return Err(V1Error(ServiceError::client(
            &codes::FORBIDDEN,
            "a content URL needs its exp and sig parameters",
        )));
    }
    let asset = state.delivery.signed_asset(&asset_id, &exp, &sig).await?;
    let Some(place) = streams.claim(format!("{asset_id}?{exp}&{sig}")) else {
        let mut refusal = V1Error(ServiceError::busy(
            &codes::UNAVAILABLE,
            format!(
                "this content URL is already streaming to {} readers; retry shortly",
                streams.cap()
            ),
            STREAM_RETRY_AFTER,
        ))
        .into_response();
        // Closed, so that a refused reader does not keep a connection place idle either.
        refusal
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Ok(refusal);
    };
    let mut response = respond(&state, asset, &headers, Some(place)).await?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |v: &str| parse_range(Some(v), 1000);
        assert_eq!(parse_range(None, 1000), RangeAsk::Full);
        assert_eq!(r("bytes=0-99"), RangeAsk::Part(0..100));
        assert_eq!(r("bytes=500-599"), RangeAsk::Part(500..600));
        assert_eq!(r("bytes=900-"), RangeAsk::Part(900..1000));
        assert_eq!(r("bytes=-100"), RangeAsk::Part(900..1000));
        assert_eq!(r("bytes=-5000"), RangeAsk::Part(0..1000));
        assert_eq!(r("bytes=990-2000"), RangeAsk::Part(990..1000));
        assert_eq!(r("bytes=1000-"), RangeAsk::Unsatisfiable);
        assert_eq!(r("bytes=1000-1001"), RangeAsk::Unsatisfiable);
        assert_eq!(r("bytes=-0"), RangeAsk::Unsatisfiable);
        for ignored in [
            "bytes=5-1",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=-",
            "0-99",
        ] {
            assert_eq!(r(ignored), RangeAsk::Full, "{ignored}");
        }
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeAsk::Unsatisfiable);
    }

    #[test]
    fn only_pictures_video_and_sound_are_shown_inline() {
        for shown in ["image/png", "image/jpeg", "video/mp4", "audio/mpeg"] {
            assert!(inline(shown), "{shown}");
        }
        for attachment in [
            "image/svg+xml",
            "text/plain; charset=utf-8",
            "text/html",
            "application/pdf",
            "application/json",
            "application/octet-stream",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ] {
            assert!(!inline(attachment), "{attachment}");
        }
    }
}
