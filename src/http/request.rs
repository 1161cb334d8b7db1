//! Request helpers both faces use.

use crate::service::ServiceError;

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
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "force" && (v == "true" || v == "1"))
}
