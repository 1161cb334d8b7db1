//! One media string of a generation task (`asset://…` or its `assetId://` alias, an http(s) or
//! `data:` URL, or malformed).
#![no_main]

use assetlib::domain::AssetId;
use assetlib::domain::task_refs::{Reference, classify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A JSON string is valid UTF-8: nothing else reaches the classifier.
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let lower = raw.to_ascii_lowercase();
    match classify(raw) {
        Reference::Asset(id) => {
            assert!(
                lower.starts_with("asset://") || lower.starts_with("assetid://"),
                "an asset reference starts with its scheme: {raw}"
            );
            assert!(
                raw.ends_with(id.as_str()),
                "the id is the text after the scheme"
            );
            assert_eq!(AssetId::parse(id.as_str()).as_ref(), Some(&id));
        }
        Reference::Url => {
            assert!(
                !lower.starts_with("asset"),
                "an asset-like string is never a URL: {raw}"
            );
        }
        Reference::Malformed(why) => assert!(!why.is_empty()),
    }
});
