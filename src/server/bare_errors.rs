//! hyper answers a request it cannot parse (a malformed request line, a raw byte outside ASCII
//! in a header, a head over its buffer) itself, before any route sees it: a status line,
//! `connection: close`, `content-length: 0`, and nothing a client can act on. Those answers are
//! recognised as they are written and replaced by the same status with a body naming the stable
//! code, in the envelope of the face the request's target names as far as it could be read (a
//! kyy path gets `{code, msg, data}`, anything else the v1 `{"error"}`). A route's own answers
//! always carry a body, so none of them is ever taken for one.

use crate::domain::codes::{self, Code};
use crate::http::error::{Face, kyy_code};

/// What hyper's bare error answers contain after their status line, and the most they hold.
const BARE_MARK: &[u8] = b"\r\nconnection: close\r\ncontent-length: 0\r\n";
const BARE_MAX: usize = 256;

/// The path of a request's target, as far as `head` (the first bytes read) holds it.
fn target_path(head: &[u8]) -> String {
    let line = head
        .split(|b| *b == b'\r' || *b == b'\n')
        .next()
        .unwrap_or_default();
    let target = line.split(|b| *b == b' ').nth(1).unwrap_or_default();
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    String::from_utf8_lossy(path).into_owned()
}

/// The envelope answer that replaces `written`, if `written` is one of hyper's bare errors;
/// `head` is what was read of the request it answers.
pub(super) fn replacement(written: &[u8], head: &[u8]) -> Option<Vec<u8>> {
    if written.len() > BARE_MAX
        || !written.starts_with(b"HTTP/1.1 4")
        || !written.ends_with(b"\r\n\r\n")
        || !written.windows(BARE_MARK.len()).any(|w| w == BARE_MARK)
    {
        return None;
    }
    let line_end = written.windows(2).position(|w| w == b"\r\n")?;
    let status_line = std::str::from_utf8(&written[..line_end]).ok()?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let (code, message): (&Code, &str) = match status {
        414 => (
            &codes::URI_TOO_LONG,
            "the request target is longer than this server reads",
        ),
        431 => (
            &codes::HEADERS_TOO_LARGE,
            "the request head is larger than this server reads",
        ),
        _ => (
            &codes::INVALID_REQUEST,
            "the request could not be read as HTTP/1.1: its request line or a header is \
             malformed (a byte outside ASCII, a stray space, a missing version)",
        ),
    };
    let body = match Face::of(&target_path(head)) {
        Face::Kyy => serde_json::json!({"code": kyy_code(code), "msg": message, "data": null}),
        Face::V1 => serde_json::json!({"error": {"code": code.name, "message": message}}),
    }
    .to_string();
    let mut answer = format!(
        "{status_line}\r\nconnection: close\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body.as_bytes());
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(answer: Option<Vec<u8>>) -> String {
        String::from_utf8(answer.expect("replaced")).expect("text")
    }

    fn body(answer: &str) -> serde_json::Value {
        let (_, body) = answer.split_once("\r\n\r\n").expect("a body");
        serde_json::from_str(body).expect("JSON")
    }

    #[test]
    fn hypers_bare_errors_get_a_body_and_nothing_else_is_touched() {
        let bare = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\
                     date: Mon, 07 Dec 2026 00:05:43 GMT\r\n\r\n";
        let answer = text(replacement(bare, b"GET /\xff HTTP/1.1\r\n"));
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        let (head, rest) = answer.split_once("\r\n\r\n").expect("a body");
        assert!(
            head.contains(&format!("content-length: {}", rest.len())),
            "{head}"
        );
        assert_eq!(body(&answer)["error"]["code"], "invalid-request");

        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\
                    content-length: 0\r\n\r\n";
        let answer = text(replacement(big, b"GET /v1/assets HTTP/1.1\r\n"));
        assert_eq!(body(&answer)["error"]["code"], "headers-too-large");
        // A kyy path is answered in the kyy envelope.
        let kyy = b"GET /kyyReactApiServer/kyyVideo2/asset/list?name=aaa";
        let answer = text(replacement(big, kyy));
        assert_eq!(body(&answer)["code"], kyy_code(&codes::HEADERS_TOO_LARGE));
        assert_eq!(body(&answer)["data"], serde_json::Value::Null);

        // A route's answers, with a body or without `connection: close`, stay as they are.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
                     content-length: 20\r\n\r\n";
        assert!(replacement(ours, b"").is_none());
        let empty = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(empty, b"").is_none());
        assert!(replacement(b"{\"error\":{}}", b"").is_none());
    }
}
