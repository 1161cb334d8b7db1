//! The edge of the router: requests over the limits are refused before routing, and every
//! error answer leaves in the envelope of the face that was called (`error::Face`).
//!
//! Handlers answer their own errors in the envelope (`KyyError`, `V1Error`); what axum
//! answers by itself — no such route (404), a route without this method (405), an extractor's
//! rejection (a path segment that is not UTF-8: 400; a body over the limit: 413) — comes out
//! as a bare status or plain text, and is rewritten here by its status into the face's
//! envelope, headers such as `Allow` kept. A panicking handler answers `internal`.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt;

use super::error::{INTERNAL_MESSAGE, KeepBody, envelope_for};
use crate::domain::codes::{self, Code};

/// The largest request body read (every body the API takes is a small JSON document, but for
/// the routes that take files: see `upload_body`).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The longest request target (path and query).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names, values and separators) of a request.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The most header fields of a request.
pub const MAX_HEADERS: usize = 100;

/// How much of a bare error answer's text is kept as the detail of the envelope's message.
const MAX_DETAIL_BYTES: usize = 1024;

/// The middleware around the whole router (see the module documentation).
pub async fn guard(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(refusal) = over_limits(&request) {
        return refusal;
    }
    let method = request.method().clone();
    let response = match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(%method, %path, "a request handler panicked");
            return envelope_for(&path, &codes::INTERNAL, INTERNAL_MESSAGE);
        }
    };
    let status = response.status();
    if (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<KeepBody>().is_none()
    {
        return into_envelope(&path, &method, response).await;
    }
    response
}

/// A refusal of a request whose target, headers or announced body are over the limits.
fn over_limits(request: &Request) -> Option<Response> {
    let path = request.uri().path();
    let target = request
        .uri()
        .path_and_query()
        .map_or(path.len(), |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        let message =
            format!("the request URL is {target} bytes long; the limit is {MAX_URI_BYTES} bytes");
        return Some(envelope_for(path, &codes::URI_TOO_LONG, message));
    }
    let headers = request.headers();
    let header_bytes = header_bytes(headers);
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        let message = format!(
            "the request has {} headers of {header_bytes} bytes; the limits are {MAX_HEADERS} \
             headers and {MAX_HEADER_BYTES} bytes",
            headers.len()
        );
        return Some(envelope_for(path, &codes::HEADERS_TOO_LARGE, message));
    }
    // The routes that take files check their own, larger limit.
    let announced = headers
        .get(CONTENT_LENGTH)
        .filter(|_| !is_upload_route(request.method(), path))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = if is_task_route(request.method(), path) {
        crate::service::MAX_TASK_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    };
    if let Some(length) = announced.filter(|&n| n > limit as u64) {
        let message = format!("the request body is {length} bytes; the limit is {limit} bytes");
        return Some(envelope_for(path, &codes::BODY_TOO_LARGE, message));
    }
    None
}

/// A task submitted to the gateway (`POST` to a family's path on the kyy face), whose body
/// limit is `service::MAX_TASK_BODY_BYTES`.
pub(crate) fn is_task_route(method: &Method, path: &str) -> bool {
    *method == Method::POST
        && path
            .strip_prefix(super::error::KYY_PREFIX)
            .is_some_and(|p| crate::service::TASK_FAMILIES.iter().any(|f| f.path == p))
}

/// The routes that take files, whose body limit is the largest file's: the kyy upload
/// (`kyy::UPLOAD_ROUTE`), `POST /v1/assets`, `PUT /v1/assets/{name}`, tus `PATCH`es and
/// direct uploads' signed `PUT /uploads/{id}`.
fn is_upload_route(method: &Method, path: &str) -> bool {
    match *method {
        Method::POST => {
            path == "/v1/assets"
                || path.strip_prefix(super::error::KYY_PREFIX) == Some(super::kyy::UPLOAD_ROUTE)
        }
        // A file named by the path; a direct upload's bytes at this node's signed URL.
        Method::PUT => {
            path.strip_prefix("/v1/assets/")
                .is_some_and(|name| !name.is_empty() && !name.contains('/'))
                || path.starts_with("/uploads/")
        }
        // A tus PATCH carries a part of a file.
        Method::PATCH => path.starts_with("/v1/uploads/tus/"),
        _ => false,
    }
}

/// Bytes of the header block as sent: `name: value\r\n` per field.
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// The stable code a bare error answer of `status` stands for.
fn code_of(status: StatusCode) -> &'static Code {
    match status.as_u16() {
        401 => &codes::UNAUTHORIZED,
        403 => &codes::FORBIDDEN,
        404 => &codes::NOT_FOUND,
        405 => &codes::METHOD_NOT_ALLOWED,
        409 => &codes::CONFLICT,
        413 => &codes::BODY_TOO_LARGE,
        414 => &codes::URI_TOO_LONG,
        416 => &codes::RANGE_NOT_SATISFIABLE,
        431 => &codes::HEADERS_TOO_LARGE,
        502 => &codes::UPSTREAM_ERROR,
        503 => &codes::UNAVAILABLE,
        // 400, and any other client error: the request as sent cannot be served.
        400..=499 => &codes::INVALID_REQUEST,
        _ => &codes::INTERNAL,
    }
}

/// The sentence of a 404: routes are spelled without a trailing slash.
fn no_such_route(path: &str) -> String {
    if path.len() > 1 && path.ends_with('/') {
        "no such API route; routes are spelled without a trailing slash".to_owned()
    } else {
        "no such API route".to_owned()
    }
}

/// A bare error answer rewritten into the face's envelope; its headers are kept but for
/// those describing the old body.
async fn into_envelope(path: &str, method: &Method, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    // axum's rejections say what is wrong in a short text (`Invalid URL: Invalid UTF-8 in …`).
    let detail = axum::body::to_bytes(body, MAX_DETAIL_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = code_of(parts.status);
    let message = match parts.status {
        StatusCode::NOT_FOUND => no_such_route(path),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = parts
                .headers
                .get(ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .replace(',', ", ");
            format!("{method} is not allowed on {path}; it answers {allow}")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the request body is over the limit of {MAX_BODY_BYTES} bytes")
        }
        _ if *code == codes::INTERNAL => {
            tracing::error!(status = %parts.status, %detail, %path, "a bare error answer");
            INTERNAL_MESSAGE.to_owned()
        }
        _ if detail.is_empty() => format!("the request failed: {}", parts.status),
        _ => format!("the request could not be read: {detail}"),
    };
    let mut answer = envelope_for(path, code, message);
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::Face;

    #[test]
    fn faces_by_path() {
        for kyy in [
            "/kyyReactApiServer",
            "/kyyReactApiServer/",
            "/kyyReactApiServer/kyyVideo2/asset/list",
        ] {
            assert_eq!(Face::of(kyy), Face::Kyy, "{kyy}");
        }
        for v1 in [
            "/",
            "/v1/assets",
            "/healthz",
            "/kyyReactApiServerX",
            "/content/x",
        ] {
            assert_eq!(Face::of(v1), Face::V1, "{v1}");
        }
    }

    #[test]
    fn every_bare_status_maps_to_a_refusal_of_that_status() {
        for status in [
            400, 401, 403, 404, 405, 409, 413, 414, 416, 431, 502, 503, 500,
        ] {
            let status = StatusCode::from_u16(status).expect("status");
            let refusal = code_of(status).refusal.expect("a refusal code");
            assert_eq!(refusal.http, status.as_u16());
        }
        assert_eq!(code_of(StatusCode::IM_A_TEAPOT).name, "invalid-request");
        assert_eq!(code_of(StatusCode::GATEWAY_TIMEOUT).name, "internal");
    }

    async fn boom() -> &'static str {
        panic!("a deliberate bug")
    }

    /// A handler that panics, and one that answers a bare status no handler of ours uses,
    /// behind the guard on a real socket.
    #[tokio::test]
    async fn a_panic_and_a_bare_status_answer_in_the_envelope() {
        use axum::Router;
        use axum::routing::get;

        let router = Router::new()
            .route("/v1/boom", get(boom))
            .route(
                "/kyyReactApiServer/teapot",
                get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }),
            )
            .layer(axum::middleware::from_fn(guard));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        crate::fetch::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let get = |path: &'static str| {
            let client = client.clone();
            async move {
                let resp = client
                    .get(format!("http://{addr}{path}"))
                    .send()
                    .await
                    .expect("answer");
                let status = resp.status();
                let body: serde_json::Value = resp.json().await.expect("JSON");
                (status, body)
            }
        };
        let (status, body) = get("/v1/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
        let (status, body) = get("/kyyReactApiServer/teapot").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], 1000);
        assert_eq!(
            body["msg"],
            "the request could not be read: short and stout"
        );
        server.abort();
    }

    #[test]
    fn trailing_slashes_are_named() {
        assert_eq!(no_such_route("/nope"), "no such API route");
        assert_eq!(no_such_route("/"), "no such API route");
        assert!(no_such_route("/v1/assets/").contains("trailing slash"));
    }
}
