//! Request bodies that carry files, shared by both faces: `multipart/form-data` with the parts
//! `file`, `assetType` and `name` (the file streamed to a temp file as it arrives, never held in
//! memory) and raw bodies (`PUT /v1/assets/{name}`), both into `IngestService`'s `Incoming`,
//! parsed into an `Upload` that the route's handler files.

use axum::body::{Body, Bytes};
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use futures_util::StreamExt;

use crate::domain::Caller;
use crate::domain::codes;
use crate::service::{Incoming, ServiceError, Upload, UploadFields};
use crate::state::AppState;

/// Room for the multipart framing and the text parts around the largest file.
pub const MULTIPART_OVERHEAD: u64 = 1024 * 1024;
/// The longest `assetType` or `name` part.
const MAX_TEXT_PART: usize = 1024;
/// What is still read (and dropped) of a refused file, so the client gets to read the answer.
const MAX_DRAIN: u64 = 8 * 1024 * 1024;

const PARTS_HINT: &str = "send multipart/form-data with the parts file, assetType and name, \
                          or application/json {\"assetType\",\"url\",\"name\"}";

/// The largest body this route reads: the largest file of any type, framed.
pub fn body_limit(state: &AppState) -> u64 {
    state.ingest.max_upload_bytes() + MULTIPART_OVERHEAD
}

enum BodyKind {
    Json,
    /// `application/x-www-form-urlencoded`, what `curl -d '{…}'` sends without a
    /// `-H 'Content-Type: application/json'`: taken as JSON when the body is a JSON object.
    FormOrJson,
    Multipart,
}

fn body_kind(content_type: Option<&str>) -> Result<BodyKind, ServiceError> {
    let Some(raw) = content_type else {
        return Ok(BodyKind::Json);
    };
    let essence = raw.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    match essence.as_str() {
        "multipart/form-data" => Ok(BodyKind::Multipart),
        "application/json" | "text/plain" | "" => Ok(BodyKind::Json),
        "application/x-www-form-urlencoded" => Ok(BodyKind::FormOrJson),
        other if other.ends_with("+json") => Ok(BodyKind::Json),
        _ => Err(ServiceError::invalid(format!(
            "Content-Type '{raw}' is not accepted on this route; {PARTS_HINT}"
        ))),
    }
}

/// The body length a request announces (`Content-Length`), if it does.
pub(crate) fn announced_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// What a route that creates from a body received: JSON, read whole; or a file sent as
/// `multipart/form-data`, received and parsed into an upload.
pub(crate) enum Received {
    Json(Bytes),
    File(Box<Upload>),
}

/// Reads the body of an upload route: JSON up to `json_limit` (`json_what` names it in a
/// refusal), or a multipart file streamed into the spool with its fields.
pub(crate) async fn read_upload(
    state: &AppState,
    caller: &Caller,
    request: Request,
    json_limit: u64,
    json_what: &str,
    dedupe: bool,
) -> Result<Received, ServiceError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let announced = announced_length(request.headers());
    match body_kind(content_type.as_deref())? {
        kind @ (BodyKind::Json | BodyKind::FormOrJson) => {
            if announced.is_some_and(|n| n > json_limit) {
                return Err(too_large_body(json_limit, json_what));
            }
            let limit = usize::try_from(json_limit).unwrap_or(usize::MAX);
            let body = axum::body::to_bytes(request.into_body(), limit)
                .await
                .map_err(|_| too_large_body(json_limit, json_what))?;
            let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if matches!(kind, BodyKind::FormOrJson) && !object {
                return Err(ServiceError::invalid(format!(
                    "Content-Type '{}' is not accepted on this route; {PARTS_HINT}",
                    content_type.unwrap_or_default()
                )));
            }
            Ok(Received::Json(body))
        }
        BodyKind::Multipart => {
            let limit = body_limit(state);
            if announced.is_some_and(|n| n > limit) {
                return Err(too_large_body(limit, "an upload"));
            }
            let multipart = Multipart::from_request(request, state)
                .await
                .map_err(|e| ServiceError::invalid(format!("{}; {PARTS_HINT}", e.body_text())))?;
            receive(state, caller, multipart, limit, dedupe)
                .await
                .map(|r| Received::File(Box::new(r)))
        }
    }
}

pub(crate) fn too_large_body(limit: u64, what: &str) -> ServiceError {
    ServiceError::client(
        &codes::BODY_TOO_LARGE,
        format!("the request body is over the limit of {limit} bytes for {what}"),
    )
}

fn multipart_error(e: &MultipartError, limit: u64) -> ServiceError {
    match e.status().as_u16() {
        413 => too_large_body(limit, "an upload"),
        _ => ServiceError::invalid(format!(
            "the multipart body could not be read: {}",
            e.body_text()
        )),
    }
}

/// The parts of a multipart upload, in any order; the file is spooled as it arrives.
async fn receive(
    state: &AppState,
    caller: &Caller,
    mut multipart: Multipart,
    limit: u64,
    dedupe: bool,
) -> Result<Upload, ServiceError> {
    let mut parts = UploadFields {
        dedupe,
        ..UploadFields::default()
    };
    let mut incoming: Option<Incoming> = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e, limit))?
    {
        let part = field.name().unwrap_or_default().to_owned();
        match part.as_str() {
            "assetType" | "name" | "groupId" => {
                let text = text_part(&part, &mut field, limit).await?;
                let slot = match part.as_str() {
                    "assetType" => &mut parts.asset_type,
                    "groupId" => &mut parts.group_id,
                    _ => &mut parts.name,
                };
                if slot.replace(text).is_some() {
                    return Err(ServiceError::invalid(format!(
                        "the part '{part}' is given twice; {PARTS_HINT}"
                    )));
                }
            }
            "file" => {
                if incoming.is_some() {
                    return Err(ServiceError::invalid(
                        "the part 'file' is given twice; send one file per upload",
                    ));
                }
                let mut file = state.ingest.receive(caller).await?;
                file.set_file_name(field.file_name().map(str::to_owned));
                if let Some(t) = &parts.asset_type {
                    file.expect_type(t);
                }
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| multipart_error(&e, limit))?
                {
                    if let Err(refused) = file.write(&chunk).await {
                        drain(&mut field).await;
                        return Err(refused);
                    }
                }
                incoming = Some(file);
            }
            "" => {
                return Err(ServiceError::invalid(format!(
                    "a part has no name; {PARTS_HINT}"
                )));
            }
            other => {
                return Err(ServiceError::invalid(format!(
                    "unknown part '{other}'; {PARTS_HINT}"
                )));
            }
        }
    }
    let Some(incoming) = incoming else {
        return Err(ServiceError::invalid(format!(
            "the part 'file' is missing; {PARTS_HINT}"
        )));
    };
    parts.with_file(incoming)
}

/// A raw body (`PUT /v1/assets/{name}`): the file itself (named `file_name`), `Content-Length`
/// announced and capped by the type's size, streamed into the spool as it arrives.
pub(crate) async fn receive_raw(
    state: &AppState,
    caller: &Caller,
    body: Body,
    parts: UploadFields,
    file_name: String,
    limit: u64,
) -> Result<Upload, ServiceError> {
    let mut file = state.ingest.receive(caller).await?;
    file.set_file_name(Some(file_name));
    if let Some(t) = &parts.asset_type {
        file.expect_type(t);
    }
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            // The body limit (or the read deadline) stopped the body.
            let text = e.to_string();
            if text.contains("length limit") {
                too_large_body(limit, "an upload")
            } else {
                ServiceError::invalid(format!("the request body could not be read: {text}"))
            }
        })?;
        if let Err(refused) = file.write(&chunk).await {
            // Read (and drop) some of the rest, so the client gets to read the refusal.
            let mut drained = 0u64;
            while drained < MAX_DRAIN {
                match stream.next().await {
                    Some(Ok(chunk)) => drained += chunk.len() as u64,
                    _ => break,
                }
            }
            return Err(refused);
        }
    }
    parts.with_file(file)
}

/// A text part, at most `MAX_TEXT_PART` bytes of UTF-8.
async fn text_part(part: &str, field: &mut Field<'_>, limit: u64) -> Result<String, ServiceError> {
    let mut text = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error(&e, limit))?
    {
        if text.len() + chunk.len() > MAX_TEXT_PART {
            return Err(ServiceError::invalid(format!(
                "the part '{part}' is longer than {MAX_TEXT_PART} bytes"
            )));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text)
        .map_err(|_| ServiceError::invalid(format!("the part '{part}' is not UTF-8 text")))
}

/// Reads (and drops) what is left of a refused file, up to `MAX_DRAIN`, so that the client is
/// not cut off while still sending and gets to read the refusal.
async fn drain(field: &mut Field<'_>) {
    let mut drained = 0u64;
    while drained < MAX_DRAIN {
        match field.chunk().await {
            Ok(Some(chunk)) => drained += chunk.len() as u64,
            _ => return,
        }
    }
}
