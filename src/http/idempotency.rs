//! The `Idempotency-Key` header on the calls that create (kyy upload, Manxue batch upload,
//! v1 create and PUT, task submits): the middleware fingerprints the request, asks
//! `IdempotencyService` whether to run it or answer the first answer again, and records the
//! answer. Without the header a call runs as before.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::authenticate;
use super::error::{Face, KyyError, V1Error, replayed};
use super::request::MAX_JSON_UPLOAD_BYTES;
use super::upload_body::announced_length;
use crate::domain::codes;
use crate::repo::StoredAnswer;
use crate::service::{Begin, IdempotencyService, ServiceError, fingerprint};
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on an answer given again: `true`.
pub const REPLAYED: &str = "idempotent-replayed";
/// The largest body fingerprinted whole (the kyy upload's JSON, `data:` URIs included); a
/// multipart upload is streamed, and its length stands for its body.
const MAX_FINGERPRINTED_BODY: usize = MAX_JSON_UPLOAD_BYTES as usize;
/// The largest answer kept (every creating call answers far less).
const MAX_KEPT_ANSWER: usize = 1024 * 1024;

/// The middleware, on the routes of one face (`face`: whose envelope a refusal takes; the
/// routers are nested under the face's prefix, so the path alone no longer tells).
pub async fn guard(
    State((state, face)): State<(AppState, Face)>,
    request: Request,
    next: Next,
) -> Response {
    let Some(raw) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let refuse = |e: ServiceError| match face {
        Face::Kyy => KyyError(e).into_response(),
        Face::V1 => V1Error(e).into_response(),
    };
    let path = request.uri().path().to_owned();
    let key = match raw.to_str() {
        Ok(key) => key.trim().to_owned(),
        Err(_) => String::new(),
    };
    if let Err(e) = IdempotencyService::check_key(&key) {
        return refuse(e);
    }
    let (parts, body) = request.into_parts();
    // An unauthenticated call runs as it is: the route answers 401 in its face's envelope.
    let Ok(caller) = authenticate(&parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // The face is part of the request: its routes are nested under its prefix.
    let path_and_query = format!(
        "{face:?} {}",
        parts
            .uri
            .path_and_query()
            .map_or(path.as_str(), |p| p.as_str())
    );
    let multipart = content_type.to_ascii_lowercase().starts_with("multipart/");
    let (print, body) = if multipart || parts.method == Method::PUT {
        // A file is streamed, not read twice: its length stands for it, with its type (a
        // multipart body's without the boundary, which differs from one try to the next).
        let length = announced_length(&parts.headers).unwrap_or(u64::MAX);
        let kind = if multipart {
            "multipart/form-data"
        } else {
            content_type.as_str()
        };
        let print = fingerprint(parts.method.as_str(), &path_and_query, kind, Err(length));
        (print, body)
    } else {
        let Ok(bytes) = to_bytes(body, MAX_FINGERPRINTED_BODY).await else {
            return refuse(ServiceError::client(
                &codes::BODY_TOO_LARGE,
                format!("the request body is over the limit of {MAX_FINGERPRINTED_BODY} bytes"),
            ));
        };
        let print = fingerprint(
            parts.method.as_str(),
            &path_and_query,
            &content_type,
            Ok(&bytes),
        );
        (print, Body::from(bytes))
    };
    let tenant = caller.tenant.clone();
    match state.idempotency.begin(&tenant, &key, &print).await {
        Err(e) => refuse(e),
        Ok(Begin::Replay(answer)) => replay(face, answer),
        Ok(Begin::Run) => {
            // The claim stands as long as the call runs, however long that is.
            let kept = state.idempotency.keep_claimed(&tenant, &key, &print);
            let response = next.run(Request::from_parts(parts, body)).await;
            drop(kept);
            record(&state.idempotency, &tenant, &key, response)
                .await
                .unwrap_or_else(refuse)
        }
    }
}

/// Keeps the answer (unless it is a server fault or a refusal under load, which free the key
/// for the retry) and gives it on.
async fn record(
    idempotency: &IdempotencyService,
    tenant: &str,
    key: &str,
    response: Response,
) -> Result<Response, ServiceError> {
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        if let Err(e) = idempotency.finish(tenant, key, None).await {
            tracing::warn!(error = %e, "could not free an Idempotency-Key");
        }
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_KEPT_ANSWER).await else {
        if let Err(e) = idempotency.finish(tenant, key, None).await {
            tracing::warn!(error = %e, "could not free an Idempotency-Key");
        }
        return Err(ServiceError::internal(
            "answering a call with an Idempotency-Key",
            anyhow::anyhow!("the answer was over {MAX_KEPT_ANSWER} bytes"),
        ));
    };
    let answer = StoredAnswer {
        status: status.as_u16(),
        content_type: parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: bytes.to_vec(),
    };
    if let Err(e) = idempotency.finish(tenant, key, Some(answer)).await {
        // The call is done: its answer goes out; a retry will run it again.
        tracing::warn!(error = %e, "could not record an Idempotency-Key's answer");
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// The first answer, again, marked as replayed.
fn replay(face: Face, answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = status;
    if let Some(value) = answer
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    replayed(face, response)
}
