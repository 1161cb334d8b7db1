//! `GET /`: where a newcomer lands. A browser (`Accept: text/html`) is sent to the web console;
//! an API client gets a small JSON index of the faces, the documents, the health checks and
//! the console. A request that names a Volcengine action (`?Action=…`) is that face's: the
//! Volcengine SDKs call `GET /?Action=…&Version=…` on the same path.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{ACCEPT, LOCATION};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::KYY_PREFIX;
use super::volc;
use crate::state::AppState;

/// Where the console is served.
pub const CONSOLE_PATH: &str = "/console";

/// Whether the query names a Volcengine action.
fn names_an_action(uri: &Uri) -> bool {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .any(|(key, _)| key == "Action")
}

/// Whether the client asks for a page (a browser's `Accept` lists `text/html`).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            range
                .split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"))
        })
}

/// The index an API client reads.
pub fn index() -> Value {
    json!({
        "name": "assetlib",
        "version": env!("CARGO_PKG_VERSION"),
        "links": {
            "kyy": KYY_PREFIX,
            "v1": "/v1",
            "volcengine": "/?Action=…&Version=2024-01-01",
            "console": CONSOLE_PATH,
            "openapi": "/openapi.json",
            "docs": "/docs",
            "health": "/healthz",
            "ready": "/readyz",
            "metrics": "/metrics",
        }
    })
}

/// `GET /`: the Volcengine face when an action is named; else the console for a browser, the
/// index for anything else.
pub async fn root(
    state: State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if names_an_action(&uri) {
        return volc::dispatch(state, method, uri, headers, body).await;
    }
    if wants_html(&headers) {
        let mut response = StatusCode::SEE_OTHER.into_response();
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_static(CONSOLE_PATH));
        return response;
    }
    Json(index()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_told_apart_from_api_clients() {
        let mut headers = HeaderMap::new();
        assert!(!wants_html(&headers));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        assert!(wants_html(&headers));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_html(&headers));
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!wants_html(&headers));
    }

    #[test]
    fn an_action_in_the_query_is_the_volcengine_face() {
        let volc: Uri = "/?Action=ListAssets&Version=2024-01-01"
            .parse()
            .expect("uri");
        assert!(names_an_action(&volc));
        let plain: Uri = "/?utm=1".parse().expect("uri");
        assert!(!names_an_action(&plain));
    }
}
