//! A fake generation upstream that records the exact bytes of every request and answers with
//! exact bytes of its own (status, content type, body), for the byte-for-byte gateway tests.

use std::sync::{Arc, Mutex};

use assetlib::config::UpstreamConfig;
use assetlib::fetch::SystemLookup;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;

use super::{TestApp, spawn_app_with};

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// What the upstream answers to every request.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Canned {
    pub fn json(body: &str) -> Self {
        Self {
            status: 200,
            content_type: Some("application/json".into()),
            body: Bytes::from(body.to_owned()),
        }
    }
}

#[derive(Clone)]
pub struct RawUpstream {
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<Canned>>,
}

impl RawUpstream {
    pub async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new(Canned::json(
            r#"{"id":"task-1","status":"queued"}"#,
        )));
        let state = (Arc::clone(&received), Arc::clone(&answer));
        let app = Router::new()
            .fallback(record)
            .layer(DefaultBodyLimit::disable())
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base,
            received,
            answer,
        }
    }

    /// What every later request is answered.
    pub fn answer(&self, canned: Canned) {
        *self.answer.lock().expect("lock") = canned;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// A server whose gateway forwards to this upstream.
    pub async fn app(&self) -> TestApp {
        let url = self.base.clone();
        spawn_app_with(
            |c| {
                c.upstream = Some(UpstreamConfig {
                    url,
                    key: "upstream-secret".into(),
                })
            },
            Arc::new(SystemLookup),
        )
        .await
    }
}

type Shared = (Arc<Mutex<Vec<Received>>>, Arc<Mutex<Canned>>);

async fn record(
    State((received, answer)): State<Shared>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    received.lock().expect("lock").push(Received {
        method,
        path: uri.path().to_owned(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    });
    let canned = answer.lock().expect("lock").clone();
    let mut response = Response::new(axum::body::Body::from(canned.body));
    *response.status_mut() = StatusCode::from_u16(canned.status).expect("status");
    if let Some(t) = canned.content_type {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&t).expect("type"),
        );
    }
    response
}
