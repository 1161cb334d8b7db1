//! Request bodies of the kyy face: the upload (`POST /kyyReactApiServer/kyyVideo2/asset/upload`)
//! parsed and validated as the ingest service does before fetching anything, and the generation
//! task (`POST /kyyReactApiServer/v1/kyyvideo2/videos`) resolved against a small library;
//! every error is mapped to the kyy envelope.
#![no_main]

use assetlib::http::kyy::UploadBody;
use assetlib::http::request::parse_json;
use assetlib::service::UploadFields;
use assetlib_fuzz::{Bodies, answer_kyy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_json::<UploadBody>(data) {
        Ok(body) => {
            let fields = UploadFields {
                asset_type: body.asset_type,
                name: body.name,
                ..UploadFields::default()
            };
            if let Err(e) = fields.by_url(body.url.as_deref()) {
                answer_kyy(e);
            }
        }
        Err(e) => answer_kyy(e),
    }
    if let Err(e) = Bodies::get().resolve(data) {
        answer_kyy(e);
    }
});
