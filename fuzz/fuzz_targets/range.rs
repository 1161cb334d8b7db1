//! The `Range` header of both content routes, over a body whose length the input picks:
//! a byte selects a small length or the next eight bytes a full `u64`, the rest is the header.
#![no_main]

use assetlib::http::{RangeAsk, parse_range};
use axum::http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (len, header) = if mode & 1 == 0 {
        (u64::from(mode >> 1), rest)
    } else if rest.len() >= 8 {
        let (n, tail) = rest.split_at(8);
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(n);
        (u64::from_le_bytes(bytes), tail)
    } else {
        return;
    };
    // As the handler reads it: a header value that is not visible ASCII is no header.
    let value = HeaderValue::from_bytes(header).ok();
    let ask = parse_range(value.as_ref().and_then(|v| v.to_str().ok()), len);
    if let RangeAsk::Part(r) = ask {
        assert!(r.start < r.end, "a part is never empty: {r:?} of {len}");
        assert!(r.end <= len, "a part lies inside the body: {r:?} of {len}");
    }
});
