//! The scanner against serde_json, on references, depth, duplicates and broken bodies.

use serde_json::json;

use super::*;

const ID: &str = "asset-20260330142158-q75m8";

#[test]
fn the_built_part_is_what_serde_reads() {
    let body = br#" {"model":"m","n":[1,-0,1e2,2.5E-3,true,false,null],"o":{"a":"\u00e9\n\"x\"","b":{}},"e":[]} "#;
    let scanned = scan(body).expect("scan");
    let serde: Value = serde_json::from_slice(body).expect("serde");
    assert_eq!(scanned.task, serde);
    assert!(scanned.spans.is_empty() && scanned.problems.is_empty());
}

#[test]
fn references_are_found_where_the_bytes_spell_them() {
    let body = format!(
        r#"{{"z":123456789012345678901234567890,"referenceImages":["asset:\/\/{ID}", "https://x.example/a.png"],"content":[{{"image_url":{{"url":"assetId://{ID}"}}}}]}}"#
    );
    let scanned = scan(body.as_bytes()).expect("scan");
    let first = scanned.spans["/referenceImages/0"].clone();
    assert_eq!(&body[first.clone()], format!(r#""asset:\/\/{ID}""#));
    let second = scanned.spans["/content/0/image_url/url"].clone();
    assert_eq!(&body[second.clone()], format!(r#""assetId://{ID}""#));
    let out = splice(
        body.as_bytes(),
        vec![
            (second, "\"https://b\"".to_owned()),
            (first, "\"https://a\"".to_owned()),
        ],
    );
    let expected = body
        .replace(&format!(r#""asset:\/\/{ID}""#), "\"https://a\"")
        .replace(&format!(r#""assetId://{ID}""#), "\"https://b\"");
    assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
}

#[test]
fn nesting_of_any_depth_is_read_without_recursion() {
    let depth = 100_000;
    let body = format!(r#"{{"deep":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    let scanned = scan(body.as_bytes()).expect("scan");
    assert!(scanned.problems.is_empty());
    // The built part stops where the walk does.
    let null = Value::Null;
    let mut at = &scanned.task["deep"];
    let mut levels = 0;
    while let Some(items) = at.as_array() {
        levels += 1;
        at = items.first().unwrap_or(&null);
    }
    assert_eq!(levels, MAX_DEPTH);
}

#[test]
fn a_reference_deeper_than_the_walk_is_reported() {
    let depth = MAX_DEPTH + 3;
    let body = format!(
        r#"{{"x":{}"asset://{ID}"{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let scanned = scan(body.as_bytes()).expect("scan");
    assert_eq!(scanned.problems.len(), 1);
    assert_eq!(scanned.problems[0].code.name, "task-too-deep");
    assert!(scanned.problems[0].field.starts_with("x[0][0]"));
    assert!(scanned.spans.is_empty());
    // A string just inside the deepest container the walk reads is reachable.
    let body = format!(
        r#"{{"x":{}"asset://{ID}"{}}}"#,
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    let scanned = scan(body.as_bytes()).expect("scan");
    assert!(scanned.problems.is_empty());
    assert_eq!(scanned.spans.len(), 1);
}

#[test]
fn a_reference_hidden_by_a_duplicate_key_is_reported() {
    let body = format!(r#"{{"a":{{"x":"asset://{ID}"}},"a":"plain"}}"#);
    let scanned = scan(body.as_bytes()).expect("scan");
    assert_eq!(scanned.task, json!({"a": "plain"}));
    assert_eq!(scanned.problems.len(), 1);
    assert_eq!(scanned.problems[0].field, "a");
    // The later value wins, as serde_json has it; a plain earlier value is no problem.
    let body = format!(r#"{{"a":"plain","a":"asset://{ID}"}}"#);
    let scanned = scan(body.as_bytes()).expect("scan");
    assert!(scanned.problems.is_empty());
    assert_eq!(scanned.spans.len(), 1);
}

#[test]
fn broken_bodies_say_what_and_where() {
    for (body, what) in [
        ("", "the body is empty"),
        ("  ", "the body is empty"),
        ("{\"a\":1} x", "trailing characters after the JSON value"),
        ("{\"a\":\"x", "a string is not closed"),
        ("{\"a\":\"\\q\"}", "an unknown escape in a string"),
        ("{\"a\" 1}", "expected ':' after a key"),
        ("{a:1}", "expected a string key"),
        ("[1 2]", "expected ',' or ']'"),
        ("{\"a\":01}", "expected ',' or '}'"),
        ("{\"a\":-}", "a number needs digits"),
        ("{\"a\":1.}", "a number needs digits after '.'"),
        ("{\"a\":1e}", "a number needs digits in its exponent"),
        ("{\"a\":tru}", "expected a JSON value"),
        ("{\"a\":\"\\u12\"}", "a \\u escape needs four hex digits"),
        ("[[[", "the body ends before the value does"),
        ("{\"a\":\"\u{1}\"}", "a control character inside a string"),
    ] {
        let err = scan(body.as_bytes()).expect_err(body);
        assert_eq!(err.what, what, "{body}");
    }
    assert_eq!(scan(b"{\"a\":\"\xff\"}").expect_err("utf-8").at, 6);
}
