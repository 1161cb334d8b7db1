//! One reference string of a generation task (`asset://…`, an http(s) URL, or malformed).
#![no_main]

use assetlib::domain::AssetId;
use assetlib::service::{Reference, classify_reference};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A JSON string is valid UTF-8: nothing else reaches the classifier.
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    match classify_reference(raw) {
        Reference::Asset(id) => {
            assert_eq!(
                format!("asset://{id}"),
                raw,
                "the id is the text after the scheme"
            );
            assert_eq!(AssetId::parse(id.as_str()).as_ref(), Some(&id));
        }
        Reference::Url => {
            let lower = raw.to_ascii_lowercase();
            assert!(
                !lower.starts_with("asset"),
                "an asset-like string is never a URL: {raw}"
            );
        }
        Reference::Malformed(why) => assert!(!why.is_empty()),
    }
});
