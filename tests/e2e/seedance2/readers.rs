//! The parsers of the family's public clients, written from their code: each reads an answer
//! of the `asset/seedance2` routes as its client does, into the asset id and the upper-case
//! status, or the error that client would raise.

use reqwest::StatusCode;
use serde_json::{Value, json};

/// What a client made of an answer: the id and the upper-case status, or its error.
pub(super) type Parsed = Result<(String, String), String>;

pub(super) fn text(v: &Value) -> String {
    v.as_str().map(str::trim).unwrap_or_default().to_owned()
}

/// A Go relay reading the top level with a path reader: `assetId`, `status`, an error from
/// `errorMessage`/`error`/`message` (or `msg` on an HTTP error). An empty id is an error.
fn flat_path_reader(status: StatusCode, body: &Value) -> Parsed {
    if status.as_u16() >= 400 {
        return Err(format!("HTTP {status}: {}", text(&body["msg"])));
    }
    let id = text(&body["assetId"]);
    if id.is_empty() {
        return Err("empty assetId".into());
    }
    Ok((id, text(&body["status"]).to_uppercase()))
}

/// Go decodes into a struct: every field it declares, matched case-insensitively at the top
/// level, must be a string (or null), or the decode fails.
fn go_struct_decode(body: &Value, fields: &[&str]) -> Result<(), String> {
    let Some(top) = body.as_object() else {
        return Err("not an object".into());
    };
    for (key, value) in top {
        let declared = fields.iter().any(|f| f.eq_ignore_ascii_case(key));
        if declared && !(value.is_string() || value.is_null()) {
            return Err(format!("{key} is not a string"));
        }
    }
    Ok(())
}

/// A Go relay translating to its own asset object: 2xx, the top level decoded into
/// `{assetId, assetType, url, status, errorMessage, name}`, a non-empty `assetId`, an
/// `assetType` of image/video/audio; the status lower-cased.
fn go_struct_reader(status: StatusCode, body: &Value) -> Parsed {
    if !status.is_success() {
        return Err(format!("upstream returned status {status}"));
    }
    go_struct_decode(
        body,
        &[
            "assetId",
            "assetType",
            "url",
            "status",
            "errorMessage",
            "name",
        ],
    )?;
    let id = text(&body["assetId"]);
    if id.is_empty() {
        return Err("missing assetId".into());
    }
    let kind = text(&body["assetType"]).to_lowercase();
    if !["image", "video", "audio"].contains(&kind.as_str()) {
        return Err(format!("asset type {kind}"));
    }
    Ok((id, text(&body["status"]).to_uppercase()))
}

/// A Go worker reading the top level, falling back to `data` when the top has no `assetId`.
fn go_fallback_reader(status: StatusCode, body: &Value) -> Parsed {
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let fields = [
        "assetId",
        "assetType",
        "url",
        "status",
        "name",
        "errorMessage",
        "error_message",
        "message",
    ];
    go_struct_decode(body, &fields)?;
    let source = if text(&body["assetId"]).is_empty() && body["data"].is_object() {
        go_struct_decode(&body["data"], &fields)?;
        &body["data"]
    } else {
        body
    };
    let id = text(&source["assetId"]);
    if id.is_empty() {
        return Err("no assetId".into());
    }
    Ok((id, text(&source["status"]).to_uppercase()))
}

/// A Go task adaptor reading the envelope: `code` 0, then `data.assetId` and `data.status`.
fn envelope_reader(status: StatusCode, body: &Value) -> Parsed {
    if !status.is_success() || body["code"] != json!(0) {
        return Err(format!("code {}: {}", body["code"], text(&body["msg"])));
    }
    let id = text(&body["data"]["assetId"]);
    if id.is_empty() {
        return Err("no data.assetId".into());
    }
    Ok((id, text(&body["data"]["status"]).to_uppercase()))
}

/// A TypeScript provider: an error when `code` is present and neither 0 nor "0"; then
/// `data.assetId || assetId`, and the status of `data || body`.
fn ts_envelope_or_flat_reader(status: StatusCode, body: &Value) -> Parsed {
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let code = &body["code"];
    if !(code.is_null() || *code == json!(0) || *code == json!("0")) {
        return Err(format!("code {code}: {}", text(&body["msg"])));
    }
    let asset = if body["data"].is_object() {
        &body["data"]
    } else {
        body
    };
    let id = [&body["data"]["assetId"], &body["assetId"]]
        .into_iter()
        .map(text)
        .find(|s| !s.is_empty())
        .ok_or("no assetId")?;
    Ok((id, text(&asset["status"]).to_uppercase()))
}

/// A TypeScript materials service: `data` if it is a non-empty object, else the body; both
/// `assetId` (or `asset_id`) and `status` required.
fn ts_data_first_reader(status: StatusCode, body: &Value) -> Parsed {
    if !status.is_success() {
        return Err(format!("global_ai_opc_asset_http_{}", status.as_u16()));
    }
    let data = body["data"].as_object().filter(|o| !o.is_empty());
    let source = data.map_or(body, |_| &body["data"]);
    let id = [&source["assetId"], &source["asset_id"]]
        .into_iter()
        .map(text)
        .find(|s| !s.is_empty());
    let status = text(&source["status"]).to_uppercase();
    match id {
        Some(id) if !status.is_empty() => Ok((id, status)),
        _ => Err("global_ai_opc_asset_invalid_response".into()),
    }
}

/// A Python video backend: the id at the top (`assetId`) or in `data` (`assetId`/`asset_id`),
/// the status at the top.
fn python_reader(status: StatusCode, body: &Value) -> Parsed {
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let id = [
        &body["assetId"],
        &body["data"]["assetId"],
        &body["data"]["asset_id"],
    ]
    .into_iter()
    .map(text)
    .find(|s| !s.is_empty())
    .ok_or("no asset id")?;
    Ok((id, text(&body["status"]).to_uppercase()))
}

pub(super) type Reader = fn(StatusCode, &Value) -> Parsed;

pub(super) const READERS: [(&str, Reader); 7] = [
    ("flat path reader", flat_path_reader),
    ("Go struct reader", go_struct_reader),
    ("Go fallback reader", go_fallback_reader),
    ("envelope reader", envelope_reader),
    ("TS envelope-or-flat reader", ts_envelope_or_flat_reader),
    ("TS data-first reader", ts_data_first_reader),
    ("Python reader", python_reader),
];

/// Every reader's view of one answer: all must read the same id and status.
pub(super) fn all_read(status: StatusCode, body: &Value) -> (String, String) {
    let mut seen = None;
    for (name, reader) in READERS {
        let parsed = reader(status, body).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
        match &seen {
            None => seen = Some(parsed),
            Some(first) => assert_eq!(&parsed, first, "{name}: {body}"),
        }
    }
    seen.expect("readers")
}
