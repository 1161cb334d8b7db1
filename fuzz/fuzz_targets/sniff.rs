//! Magic-byte sniffing of an upload's first bytes (ingest) and of a stored file's head (processing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sniffed = assetlib::probe::sniff(data);
    assert!(!sniffed.format.is_empty(), "every answer names a format");
    assert!(
        !sniffed.description.is_empty(),
        "every answer describes the bytes"
    );
});
