//! A generation task's bytes as the gateway reads them (`domain::task_scan::scan`): one pass,
//! no recursion, the part the reference walk reads and where each `asset://` string lies.
#![no_main]

use assetlib::domain::task_scan::{scan, splice};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Nesting of a value (serde_json stops at 128, so this stays shallow).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let scanned = scan(data);
    if let Ok(serde) = serde_json::from_slice::<Value>(data) {
        // What serde_json reads, the scanner reads too, and builds the same down to the walk's depth.
        let scanned = scanned.as_ref().expect("serde_json read it");
        if depth(&serde) <= 64 {
            assert_eq!(
                scanned.task, serde,
                "the built part differs from serde_json's"
            );
        }
    }
    let Ok(scanned) = scanned else {
        return;
    };
    let mut edits = Vec::new();
    for (pointer, range) in &scanned.spans {
        edits.push((range.clone(), "\"x\"".to_owned()));
        let text = &data[range.clone()];
        assert!(
            text.starts_with(b"\"") && text.ends_with(b"\""),
            "a place is one string"
        );
        // A lone surrogate escape is kept by the scanner and refused by serde_json.
        let Ok(raw) = serde_json::from_slice::<String>(text) else {
            continue;
        };
        let lower = raw.to_ascii_lowercase();
        assert!(
            lower.starts_with("asset://") || lower.starts_with("assetid://"),
            "{raw}"
        );
        // Found where the pointer says in what was built (a duplicate key that hides a
        // reference is reported, and such a task is refused).
        if scanned.problems.is_empty() {
            assert_eq!(scanned.task.pointer(pointer), Some(&Value::String(raw)));
        }
    }
    // Replacing the strings keeps every other byte: the result still scans.
    let rewritten = splice(data, edits);
    assert!(scan(&rewritten).is_ok(), "a spliced body no longer scans");
});
