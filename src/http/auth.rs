//! Bearer-key authentication, answered in the envelope of the face that was called.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::{KyyError, V1Error};
use crate::domain::Caller;
use crate::domain::codes;
use crate::service::ServiceError;
use crate::state::AppState;

pub(crate) async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ServiceError> {
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
