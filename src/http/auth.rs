//! Bearer-key authentication, answered in the envelope of the face that was called; or the
//! web console's session cookie, for which a call that changes something must also carry the
//! console's header (CSRF: a page of another origin cannot add it without a CORS preflight,
//! which this server never grants; the cookie is `SameSite=Strict` besides).

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use super::error::{KyyError, V1Error};
use crate::domain::Caller;
use crate::domain::codes;
use crate::service::ServiceError;
use crate::state::AppState;

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "assetlib_session";
/// The header the console sends with every call; required with the cookie on calls that
/// change something.
pub const CONSOLE_HEADER: &str = "x-assetlib-console";

/// The value of the session cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
}

pub(crate) async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ServiceError> {
    let caller = caller_of(parts, state).await?;
    crate::request_id::note_tenant(&caller.tenant);
    Ok(caller)
}

async fn caller_of(parts: &Parts, state: &AppState) -> Result<Caller, ServiceError> {
    if !parts.headers.contains_key(AUTHORIZATION)
        && let Some(session) = session_cookie(&parts.headers)
    {
        let reads = parts.method == Method::GET || parts.method == Method::HEAD;
        if !reads && !parts.headers.contains_key(CONSOLE_HEADER) {
            return Err(ServiceError::client(
                &codes::FORBIDDEN,
                format!(
                    "a call made with the console's session must send the header {CONSOLE_HEADER}"
                ),
            ));
        }
        return state.sessions.caller(session).await;
    }
    let missing = || {
        ServiceError::client(
            &codes::UNAUTHORIZED,
            "missing API key; send the header 'Authorization: Bearer <key>'",
        )
    };
    let value = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?.trim();
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    state.keys.authenticate(token.trim()).await
}

/// The caller of a kyy-face route.
pub struct KyyCaller(pub Caller);

impl FromRequestParts<AppState> for KyyCaller {
    type Rejection = KyyError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state)
            .await
            .map(KyyCaller)
            .map_err(KyyError)
    }
}

/// The caller of a `/v1` route.
pub struct V1Caller(pub Caller);

impl FromRequestParts<AppState> for V1Caller {
    type Rejection = V1Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state)
            .await
            .map(V1Caller)
            .map_err(V1Error)
    }
}
