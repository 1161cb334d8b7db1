//! The web console at `/console`: its page, style and scripts embedded (no build step, no
//! CDN), and the session routes. The page calls the v1 API with the session cookie (`http::auth`).

use axum::Json;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::{SESSION_COOKIE, V1Caller, session_cookie};
use super::error::{Face, V1Error};
use super::request::parse_json;
use crate::http::routes::{Route, Routes};
use crate::service::{SESSION_TTL, ServiceError};
use crate::state::AppState;

const INDEX: &str = include_str!("index.html");

/// The page's files under `/console/`: its style and its scripts, one per page of the console
/// (`app.js`, the shared part, loads first; `index.html` lists them in order).
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        include_str!("app.css"),
        "text/css; charset=utf-8",
    ),
    ("app.js", include_str!("app.js"), JS),
    ("viewer.js", include_str!("viewer.js"), JS),
    ("library.js", include_str!("library.js"), JS),
    ("detail.js", include_str!("detail.js"), JS),
    ("uploads.js", include_str!("uploads.js"), JS),
    ("stage.js", include_str!("stage.js"), JS),
    ("review.js", include_str!("review.js"), JS),
    ("history.js", include_str!("history.js"), JS),
    ("keys.js", include_str!("keys.js"), JS),
];
const JS: &str = "text/javascript; charset=utf-8";

pub fn routes() -> Routes {
    Routes::new("", Face::V1, "console")
        .route(Route::get("/console", index, "The web console").answers_empty(200, "HTML"))
        .route(
            Route::get(
                "/console/{file}",
                console_file,
                "The console's style and scripts",
            )
            .answers_empty(200, "CSS or JavaScript"),
        )
        .route(
            Route::post(
                "/console/session",
                sign_in,
                "Sign in: a key for a session cookie",
            )
            .json_body::<SignIn>()
            .answers::<Who>(200, "Signed in (Set-Cookie)"),
        )
        .route(
            Route::get("/console/session", whoami, "Who is signed in")
                .answers::<Who>(200, "The session's caller"),
        )
        .route(
            Route::delete("/console/session", sign_out, "Sign out")
                .answers_empty(204, "Signed out"),
        )
}

/// What the console's page may load and run: its own files and the API of its own origin,
/// no inline script or style (the page has none; `app.js` sets element styles through the
/// CSSOM, which a policy does not restrict), no plugins, and no page may frame it.
const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The console's security headers: its policy, no framing (also for browsers that read only
/// `X-Frame-Options`), no type sniffing, no referrer sent to other origins.
fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// A file of the console, revalidated by its ETag (its content's hash, fixed per build).
fn file(headers: &HeaderMap, body: &'static str, content_type: &'static str) -> Response {
    let etag = format!("\"{}\"", &crate::fetch::hex(&sha2_digest(body))[..16]);
    let mut response = if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [
                (CONTENT_TYPE, content_type.to_owned()),
                (CACHE_CONTROL, "no-cache".to_owned()),
                (ETAG, etag),
            ],
            body,
        )
            .into_response()
    };
    secure(&mut response);
    response
}

fn sha2_digest(body: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(body.as_bytes()).to_vec()
}

async fn index(headers: HeaderMap) -> Response {
    file(&headers, INDEX, "text/html; charset=utf-8")
}

/// `GET /console/{file}`: one of `FILES`; anything else is not found.
async fn console_file(
    headers: HeaderMap,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Response, V1Error> {
    let (_, body, content_type) = FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or_else(ServiceError::not_found)?;
    Ok(file(&headers, body, content_type))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SignIn {
    key: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Who {
    tenant: String,
    role: &'static str,
    key_id: String,
}

/// Whether the console is served over https (directly behind a proxy that says so, or by the
/// configured public URL): the cookie is then `Secure`.
fn over_https(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
        || state
            .config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
}

fn cookie(state: &AppState, headers: &HeaderMap, value: &str, max_age: u64) -> HeaderValue {
    let secure = if over_https(state, headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `POST /console/session` `{"key"}`: the key exchanged for a session cookie.
async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, V1Error> {
    // A page of another origin cannot send this header (no CORS is granted), so it cannot sign
    // a browser in to the page author's tenant (login CSRF).
    if !headers.contains_key(super::auth::CONSOLE_HEADER) {
        return Err(ServiceError::client(
            &crate::domain::codes::FORBIDDEN,
            format!(
                "sign-in must come from the console (header {})",
                super::auth::CONSOLE_HEADER
            ),
        )
        .into());
    }
    let body: SignIn = parse_json(&body)?;
    let Some(key) = body.key.filter(|k| !k.trim().is_empty()) else {
        return Err(ServiceError::invalid("send {\"key\": \"<your API key>\"}").into());
    };
    let session = state.sessions.open(&key).await?;
    crate::request_id::note_tenant(&session.caller.tenant);
    let who = Who {
        tenant: session.caller.tenant.clone(),
        role: session.caller.role.as_str(),
        key_id: session.caller.key_id.clone(),
    };
    let mut response = Json(who).into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        cookie(&state, &headers, &session.value, SESSION_TTL.as_secs()),
    );
    Ok(response)
}

/// `GET /console/session`: who is signed in (401 when nobody is).
async fn whoami(V1Caller(caller): V1Caller) -> Json<Who> {
    Json(Who {
        tenant: caller.tenant,
        role: caller.role.as_str(),
        key_id: caller.key_id,
    })
}

/// `DELETE /console/session`: the session ended on the server (its cookie's value is refused
/// from now on, on every node) and the cookie removed. The cookie is removed even when the
/// revocation could not be recorded; the error then says so.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(value) = session_cookie(&headers) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let mut response = match state.sessions.revoke(value).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => V1Error(e).into_response(),
    };
    response
        .headers_mut()
        .insert(SET_COOKIE, cookie(&state, &headers, "", 0));
    response
}
