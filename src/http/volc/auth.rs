//! Who calls this face: an access key pair's signature (checked as Volcengine's SDKs make it),
//! or a bearer key.

use axum::http::header::{AUTHORIZATION, HOST};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use chrono::{NaiveDateTime, Utc};

use super::VolcError;
use super::sign::{self, Signable};
use crate::domain::{Caller, codes, same_secret};
use crate::state::AppState;

/// How old a signature may be.
const MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::minutes(15);
/// How far ahead a client's clock may run.
const MAX_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

fn denied(code: &'static str, message: impl Into<String>) -> VolcError {
    VolcError::new(StatusCode::UNAUTHORIZED, code, message)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    query: &[(String, String)],
) -> Result<Caller, VolcError> {
    let Some(value) = header(headers, AUTHORIZATION.as_str()) else {
        return Err(denied(
            "MissingAuthenticationToken",
            "sign the request (HMAC-SHA256 with an access key pair) or send 'Authorization: Bearer <key>'",
        ));
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return state
            .keys
            .authenticate(token.trim())
            .await
            .map_err(VolcError::from);
    }
    let auth = sign::parse_authorization(value)
        .map_err(|e| denied(codes::volc::INVALID_AUTHORIZATION, e))?;
    let volc = &state.config.volc;
    if auth.region != volc.region || auth.service != volc.service {
        return Err(denied(
            "InvalidCredential",
            format!(
                "the credential scope is {}/{}; this server signs for {}/{}",
                auth.region, auth.service, volc.region, volc.service
            ),
        ));
    }
    let x_date = header(headers, "x-date")
        .ok_or_else(|| denied("MissingRequestInfo", "the X-Date header is missing"))?;
    let signed_at = NaiveDateTime::parse_from_str(x_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| {
            denied(
                "InvalidTimestamp",
                format!("X-Date '{x_date}' is not YYYYMMDDThhmmssZ"),
            )
        })?
        .and_utc();
    let now = Utc::now();
    if now - signed_at > MAX_AGE {
        return Err(denied(
            "RequestExpired",
            format!("the signature was made at {x_date}, more than 15 minutes ago"),
        ));
    }
    if signed_at - now > MAX_SKEW {
        return Err(denied(
            "InvalidTimestamp",
            format!("X-Date {x_date} is in the future"),
        ));
    }
    if !x_date.starts_with(&auth.date) {
        return Err(denied(
            "InvalidCredential",
            "the credential's date is not X-Date's",
        ));
    }
    let body_hash = sign::hex_sha256(body);
    let Some(sent_hash) = header(headers, "x-content-sha256") else {
        return Err(denied(
            "MissingRequestInfo",
            "the X-Content-Sha256 header is missing",
        ));
    };
    if !sent_hash.eq_ignore_ascii_case(&body_hash) {
        return Err(VolcError::new(
            StatusCode::BAD_REQUEST,
            "InvalidContentSha256",
            "X-Content-Sha256 is not the sha256 of the body",
        ));
    }
    for required in ["host", "x-date", "x-content-sha256"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(denied(
                "MissingRequestInfo",
                format!("SignedHeaders must include {required}"),
            ));
        }
    }
    let mut signed = Vec::new();
    for name in &auth.signed_headers {
        let mut value = if name == HOST.as_str() {
            header(headers, "host").map(str::to_owned)
        } else {
            let values: Vec<&str> = headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join(","))
        }
        .ok_or_else(|| {
            denied(
                "MissingRequestInfo",
                format!("the signed header {name} is missing"),
            )
        })?;
        if name == "host"
            && let Some(host) = value
                .strip_suffix(":80")
                .or_else(|| value.strip_suffix(":443"))
        {
            value = host.to_owned();
        }
        signed.push((name.clone(), value));
    }
    let Some((caller, secret)) = state.keys.access_key(&auth.access_key).await? else {
        return Err(denied(
            "InvalidAccessKey",
            format!(
                "the access key {} is not valid or was revoked",
                auth.access_key
            ),
        ));
    };
    let request = Signable {
        method: method.as_str(),
        path: uri.path(),
        query,
        headers: &signed,
        body_sha256: &body_hash,
    };
    let expected = sign::signature(&secret, x_date, &auth.region, &auth.service, &request);
    if !same_secret(&expected, &auth.signature) {
        return Err(VolcError::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "the request signature does not match (check the secret key and what was signed)",
        ));
    }
    Ok(caller)
}
