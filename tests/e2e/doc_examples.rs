//! The shell examples of the documents, as the examples test reads them (the conventions are
//! in docs/TESTING.md, "The documents' examples"):
//!
//! - a ```` ```sh ````, ```` ```bash ```` or ```` ```console ```` block runs, unless the line before it
//!   (blank lines aside) is `<!-- example: skip (reason) -->` — a marker without a reason fails;
//! - in `sh`/`bash` blocks each command (joined over `\` line ends) may be followed by the answer
//!   it shows as comment lines, starting with `# {` or `# [`, continued until the JSON is whole;
//! - in `console` blocks commands start with `$ ` and the lines under them are the output shown;
//! - answers are compared by `matches`: every field shown must be in the answer with that
//!   value; ids are bound; times, hashes and sizes are compared by type only; `…` stands for any
//!   text inside a string, and `{…}` for any value.

use std::collections::HashMap;

use serde_json::Value;

/// What a step shows of its answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Json(String),
    Text(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based line of the command in its file.
    pub line: usize,
    pub command: String,
    pub shown: Option<Shown>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub line: usize,
    /// The reason of a skip marker.
    pub skip: Option<String>,
    pub steps: Vec<Step>,
}

const LANGS: [&str; 4] = ["sh", "bash", "console", "shell"];
const MARKER: &str = "<!-- example: skip";

/// Every shell block of `text`; `Err` names a marker without a reason or an answer cut short.
pub fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut before: Option<&str> = None;
    while i < lines.len() {
        let line = lines[i].trim();
        let Some(lang) = line.strip_prefix("```") else {
            if !line.is_empty() {
                before = Some(line);
            }
            i += 1;
            continue;
        };
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .ok_or_else(|| format!("line {}: the block never ends", i + 1))?;
        if LANGS.contains(&lang.trim()) {
            let skip = match before.filter(|b| b.starts_with(MARKER)) {
                Some(marker) => Some(reason(marker).ok_or_else(|| {
                    format!("line {i}: a skip marker needs its reason: {marker}")
                })?),
                None => None,
            };
            let body = &lines[start..end];
            let steps = if lang.trim() == "console" {
                console_steps(body, start)
            } else {
                sh_steps(body, start)?
            };
            out.push(Block {
                line: i + 1,
                skip,
                steps,
            });
        }
        before = None;
        i = end + 1;
    }
    Ok(out)
}

/// `<!-- example: skip (reason) -->` → `reason`.
fn reason(marker: &str) -> Option<String> {
    let inner = marker
        .strip_prefix(MARKER)?
        .trim()
        .strip_suffix("-->")?
        .trim();
    let inner = inner.strip_prefix('(')?.strip_suffix(')')?.trim();
    (!inner.is_empty()).then(|| inner.to_owned())
}

/// `{…}` (any value) as the string `"…"`, so that the shown answer is JSON.
fn jsonable(shown: &str) -> String {
    shown.replace("{…}", "\"…\"")
}

fn sh_steps(body: &[&str], first: usize) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut answer: Option<String> = None;
    let mut i = 0;
    while i < body.len() {
        let line = body[i].trim();
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.strip_prefix(' ').unwrap_or(comment);
            let opens = comment.starts_with('{') || comment.starts_with('[');
            let awaits = steps.last().is_some_and(|s| s.shown.is_none());
            if let Some(text) = answer.as_mut() {
                text.push_str(comment);
            } else if opens && awaits {
                answer = Some(comment.to_owned());
            }
            if let Some(text) = &answer
                && serde_json::from_str::<Value>(&jsonable(text)).is_ok()
            {
                if let Some(step) = steps.last_mut() {
                    step.shown = Some(Shown::Json(text.clone()));
                }
                answer = None;
            }
            i += 1;
            continue;
        }
        if answer.is_some() {
            return Err(format!(
                "line {}: the answer shown above is not whole JSON",
                first + i
            ));
        }
        if line.is_empty() {
            i += 1;
            continue;
        }
        let line_no = first + i + 1;
        let mut command = String::new();
        let mut part = line;
        loop {
            match part.strip_suffix('\\') {
                Some(head) if i + 1 < body.len() => {
                    command.push_str(head);
                    command.push(' ');
                    i += 1;
                    part = body[i].trim();
                }
                _ => {
                    command.push_str(part);
                    break;
                }
            }
        }
        steps.push(Step {
            line: line_no,
            command,
            shown: None,
        });
        i += 1;
    }
    if answer.is_some() {
        return Err("the last answer shown is not whole JSON".into());
    }
    Ok(steps)
}

fn console_steps(body: &[&str], first: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for (i, raw) in body.iter().enumerate() {
        let line = raw.trim_end();
        if continued {
            if let Some(step) = steps.last_mut() {
                step.command.push(' ');
                step.command.push_str(line.trim().trim_end_matches('\\'));
            }
            continued = line.ends_with('\\');
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            continued = command.ends_with('\\');
            steps.push(Step {
                line: first + i + 1,
                command: command.trim_end_matches('\\').trim().to_owned(),
                shown: None,
            });
        } else if !line.trim().is_empty()
            && let Some(step) = steps.last_mut()
        {
            let mut shown = match step.shown.take() {
                Some(Shown::Text(lines)) => lines,
                _ => Vec::new(),
            };
            shown.push(line.to_owned());
            step.shown = Some(Shown::Text(shown));
        }
    }
    // Output that is one JSON document is compared as JSON.
    for step in &mut steps {
        if let Some(Shown::Text(lines)) = &step.shown {
            let joined = lines.join("");
            if joined.starts_with('{') && serde_json::from_str::<Value>(&jsonable(&joined)).is_ok()
            {
                step.shown = Some(Shown::Json(joined));
            }
        }
    }
    steps
}

/// Whether `id` looks like an asset id (`asset-YYYYMMDDhhmmss-xxxxx`).
pub fn is_asset_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("asset-") else {
        return false;
    };
    let bytes = rest.as_bytes();
    bytes.len() == 20
        && bytes[..14].iter().all(u8::is_ascii_digit)
        && bytes[14] == b'-'
        && bytes[15..]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Every asset id in `text`.
pub fn asset_ids(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("asset-") {
        let candidate: String = rest[at..].chars().take(26).collect();
        if is_asset_id(&candidate) {
            found.push(candidate);
        }
        rest = &rest[at + "asset-".len()..];
    }
    found
}

/// Keys whose values change from run to run: compared by JSON type only.
fn volatile(key: &str) -> bool {
    key.ends_with("Time")
        || key.ends_with("At")
        || matches!(key, "sha256" | "bytes" | "requestId" | "RequestId")
}

/// A string shown with `…` in it: the same text before and after.
fn like(shown: &str, actual: &str) -> bool {
    let mut parts = shown.split('…');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (n, part) in parts.iter().enumerate() {
        if n + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether `actual` answers what `shown` shows; `ids` binds the ids shown to the ids made.
pub fn matches(
    shown: &Value,
    actual: &Value,
    key: &str,
    ids: &mut HashMap<String, String>,
) -> Result<(), String> {
    let differ = || Err(format!("{key}: shown {shown}, got {actual}"));
    if shown.as_str() == Some("…") {
        return Ok(());
    }
    if volatile(key) {
        return if std::mem::discriminant(shown) == std::mem::discriminant(actual) {
            Ok(())
        } else {
            differ()
        };
    }
    match (shown, actual) {
        (Value::String(s), Value::String(a)) if is_asset_id(s) => {
            match ids.get(s) {
                Some(bound) if bound == a => {}
                Some(_) => return differ(),
                None if is_asset_id(a) => {
                    ids.insert(s.clone(), a.clone());
                }
                None => return differ(),
            }
            Ok(())
        }
        (Value::String(s), Value::String(a)) if s.contains('…') => {
            if like(s, a) {
                Ok(())
            } else {
                differ()
            }
        }
        (Value::Object(s), Value::Object(a)) => {
            for (k, v) in s {
                let got = a
                    .get(k)
                    .ok_or_else(|| format!("{key}.{k}: missing in {actual}"))?;
                matches(v, got, k, ids)?;
            }
            Ok(())
        }
        (Value::Array(s), Value::Array(a)) if s.len() == a.len() => {
            for (v, got) in s.iter().zip(a) {
                matches(v, got, key, ids)?;
            }
            Ok(())
        }
        _ if shown == actual => Ok(()),
        _ => differ(),
    }
}

/// Whether the output `actual` holds every line shown, in order (`…` for any text).
pub fn text_matches(shown: &[String], actual: &str) -> Result<(), String> {
    let mut lines = actual.lines();
    for want in shown {
        if !lines.any(|got| like(want.trim_end(), got.trim_end())) {
            return Err(format!("no line like '{want}' (in order) in:\n{actual}"));
        }
    }
    Ok(())
}

/// The shown answer as JSON (`{…}` read as any value).
pub fn shown_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(&jsonable(text)).map_err(|e| format!("{e}: {text}"))
}

#[test]
fn the_conventions_read_as_documented() {
    let doc = "Intro\n\n<!-- example: skip (starts the server) -->\n```sh\ncargo run\n```\n\n\
               ```sh\n# a comment\ncurl -s http://x \\\n  -H 'A: b'\n# {\"code\":0,\n#  \"data\":{\"assetId\":\"asset-20261125153814-mmn7b\"}}\ncurl -s y\n```\n\
               ```console\n$ echo hi\nh…\n```\n```text\nnot run\n```\n";
    let found = blocks(doc).expect("blocks");
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].skip.as_deref(), Some("starts the server"));
    let steps = &found[1].steps;
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].command, "curl -s http://x  -H 'A: b'");
    assert!(matches!(&steps[0].shown, Some(Shown::Json(j)) if j.contains("mmn7b")));
    assert_eq!(steps[1].shown, None);
    assert_eq!(
        found[2].steps[0].shown,
        Some(Shown::Text(vec!["h…".into()]))
    );
    assert!(blocks("<!-- example: skip -->\n```sh\nx\n```\n").is_err());

    let mut ids = HashMap::new();
    let shown = shown_json(
        r#"{"assetId":"asset-20261125153814-mmn7b","sha256":"3a…","list":[{…}],"url":"http://h/…png","createTime":"x"}"#,
    )
    .expect("json");
    let actual = serde_json::json!({"assetId": "asset-20270101000000-abcde", "sha256": "ff",
        "list": [{"a": 1}], "url": "http://h/photo.png", "createTime": "y", "extra": true});
    matches(&shown, &actual, "", &mut ids).expect("matches");
    assert_eq!(
        ids["asset-20261125153814-mmn7b"],
        "asset-20270101000000-abcde"
    );
    let other = serde_json::json!({"assetId": "asset-20270101000000-zzzzz"});
    assert!(matches(&shown, &other, "", &mut ids).is_err());
    assert!(text_matches(&["h…".into()], "x\nhello\n").is_ok());
    assert!(text_matches(&["b".into(), "a".into()], "a\nb\n").is_err());
    assert_eq!(
        asset_ids("x asset-20261125153814-mmn7b/y"),
        vec!["asset-20261125153814-mmn7b"]
    );
}
