//! Request bodies of the native face: `POST /v1/assets` parsed and validated as the ingest
//! service does before fetching anything, a review's rejection (`{"reason"}`), and
//! `POST /v1/resolve` resolved against a small library; every error is mapped to `{"error"}`.
#![no_main]

use assetlib::http::request::parse_json;
use assetlib::http::v1::{CreateBody, RejectBody};
use assetlib::service::UploadFields;
use assetlib_fuzz::{Bodies, answer_v1};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_json::<CreateBody>(data) {
        Ok(body) => {
            let fields = UploadFields {
                asset_type: body.asset_type,
                name: body.name,
                ..UploadFields::default()
            };
            if let Err(e) = fields.by_url(body.url.as_deref()) {
                answer_v1(e);
            }
        }
        Err(e) => answer_v1(e),
    }
    match parse_json::<RejectBody>(data) {
        Ok(body) => {
            let _ = body.reason.map(|r| r.trim().chars().count());
        }
        Err(e) => answer_v1(e),
    }
    if let Err(e) = Bodies::get().resolve(data) {
        answer_v1(e);
    }
});
