//! Request helpers both faces use.

use std::time::Duration;

use crate::service::{DATA_URI_MAX_BYTES, MAX_WAIT, ServiceError};

/// The largest JSON body of an upload (the kyy upload's): a `data:` URI at its cap in base64,
/// and the rest. The idempotency guard fingerprints bodies up to this size whole.
pub const MAX_JSON_UPLOAD_BYTES: u64 = DATA_URI_MAX_BYTES.div_ceil(3) * 4 + 64 * 1024;

/// Parses a JSON body into `T`, with an error message that names what is wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ServiceError::invalid(
            "the request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ServiceError::invalid(format!(
            "the request body is not valid JSON for this call: {e}"
        ))
    })
}

/// `force=true` (or `1`) in a query string.
pub fn force_flag(query: Option<&str>) -> bool {
    flag(query, "force")
}

/// Whether the query sets `name` to `true` (or `1`).
pub fn flag(query: Option<&str>, name: &str) -> bool {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == name && (v == "true" || v == "1"))
}

/// `exp` and `sig` of a signed URL (empty when absent).
pub fn signature_params(query: Option<&str>) -> (String, String) {
    let (mut exp, mut sig) = (String::new(), String::new());
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "exp" => exp = value.into_owned(),
            "sig" => sig = value.into_owned(),
            _ => {}
        }
    }
    (exp, sig)
}

/// `dedupe=true` (or `1`): answer a live asset of the tenant with the same bytes and type
/// instead of creating one.
pub fn dedupe_flag(query: Option<&str>) -> bool {
    flag(query, "dedupe")
}

/// `wait=S`: seconds (0–60) a details request may wait for the asset to leave Processing.
pub fn wait_param(query: Option<&str>) -> Result<Duration, ServiceError> {
    let mut wait = Duration::ZERO;
    let params = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes());
    for (_, value) in params.filter(|(key, _)| key == "wait") {
        wait = value
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..=MAX_WAIT.as_secs_f64()).contains(s))
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                ServiceError::invalid(format!(
                    "wait must be 0–{} seconds, got '{value}'",
                    MAX_WAIT.as_secs()
                ))
            })?;
    }
    Ok(wait)
}
