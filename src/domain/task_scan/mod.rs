//! Reading a task body as the bytes it came in. One pass, iterative (an explicit stack on the
//! heap, so nesting of any depth costs memory, never the thread's stack), that checks the JSON
//! is well formed, builds the part of the body the reference walk reads (`task_refs::walk`:
//! containers nested deeper than [`MAX_DEPTH`] are left out, as `null`), and records where in
//! the bytes every `asset://` string lies. A rewrite then replaces those strings and keeps every
//! other byte as it came: key order, number spellings (`1e2`, `-0`, integers of any size),
//! escapes and whitespace.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde_json::{Map, Value};

use super::codes;
use super::task_refs::{MAX_DEPTH, ResolveViolation, asset_part};

#[cfg(test)]
mod tests;
mod tokens;

/// A task body read.
#[derive(Debug)]
pub struct Scanned {
    /// The body down to [`MAX_DEPTH`]; deeper containers are `null`.
    pub task: Value,
    /// Where each `asset://` string the walk can reach lies (quotes included), by JSON pointer.
    pub spans: HashMap<String, Range<usize>>,
    /// `asset://` strings the walk cannot reach: nested deeper than it searches, or in a value
    /// that a later duplicate of its key hides.
    pub problems: Vec<ResolveViolation>,
}

/// The body is not JSON: what is wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct ScanError {
    pub what: &'static str,
    pub at: usize,
}

/// Which child of a container is being read.
enum Seg {
    Key(String),
    Index(usize),
}

enum Built {
    Array(Vec<Value>),
    Object(Map<String, Value>),
    /// Deeper than the walk reads: nothing is kept.
    Pruned,
}

struct Frame {
    built: Built,
    /// The child being read (`None` before the first).
    seg: Option<Seg>,
    /// References seen when the current child began.
    refs_before: usize,
    /// Keys of this object whose value held a reference.
    ref_keys: HashSet<String>,
    /// For the outermost pruned container: its path and the references seen before it.
    pruned_at: Option<(String, usize)>,
}

impl Frame {
    fn new(built: Built, refs: usize) -> Self {
        Self {
            built,
            seg: None,
            refs_before: refs,
            ref_keys: HashSet::new(),
            pruned_at: None,
        }
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    stack: Vec<Frame>,
    /// Every `asset://` string met so far, reachable or not.
    refs: usize,
    spans: HashMap<String, Range<usize>>,
    problems: Vec<ResolveViolation>,
}

/// Reads `body`; see the module.
pub fn scan(body: &[u8]) -> Result<Scanned, ScanError> {
    let text = std::str::from_utf8(body).map_err(|e| ScanError {
        what: "the body is not UTF-8",
        at: e.valid_up_to(),
    })?;
    let mut scanner = Scanner {
        text,
        bytes: body,
        at: 0,
        stack: Vec::new(),
        refs: 0,
        spans: HashMap::new(),
        problems: Vec::new(),
    };
    let task = scanner.document()?;
    Ok(Scanned {
        task,
        spans: scanner.spans,
        problems: scanner.problems,
    })
}

fn escape_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Scanner<'_> {
    fn fail<T>(&self, what: &'static str) -> Result<T, ScanError> {
        Err(ScanError { what, at: self.at })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Whether the value being read is inside a container the walk does not read.
    fn in_pruned(&self) -> bool {
        matches!(self.stack.last(), Some(f) if matches!(f.built, Built::Pruned))
    }

    /// The walk's name of the value being read: `content[2].image_url.url`.
    fn path(&self) -> String {
        let mut out = String::new();
        for seg in self.stack.iter().filter_map(|f| f.seg.as_ref()) {
            match seg {
                Seg::Key(k) if out.is_empty() => out.push_str(k),
                Seg::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// The JSON pointer of the value being read.
    fn pointer(&self) -> String {
        let mut out = String::new();
        for seg in self.stack.iter().filter_map(|f| f.seg.as_ref()) {
            out.push('/');
            match seg {
                Seg::Key(k) => out.push_str(&escape_key(k)),
                Seg::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    fn document(&mut self) -> Result<Value, ScanError> {
        self.skip_ws();
        if self.peek().is_none() {
            return self.fail("the body is empty");
        }
        let value = self.values()?;
        self.skip_ws();
        if self.peek().is_some() {
            return self.fail("trailing characters after the JSON value");
        }
        Ok(value)
    }

    /// Reads one value (and everything nested in it) without recursion.
    fn values(&mut self) -> Result<Value, ScanError> {
        loop {
            // A value starts here.
            self.skip_ws();
            let mut done = match self.peek() {
                Some(b'{') | Some(b'[') => {
                    let object = self.peek() == Some(b'{');
                    self.at += 1;
                    // The walk reads containers down to MAX_DEPTH enclosing ones.
                    let outer = !self.in_pruned() && self.stack.len() > MAX_DEPTH;
                    let pruned = outer || self.in_pruned();
                    let built = match (pruned, object) {
                        (true, _) => Built::Pruned,
                        (false, true) => Built::Object(Map::new()),
                        (false, false) => Built::Array(Vec::new()),
                    };
                    let mut frame = Frame::new(built, self.refs);
                    if outer {
                        frame.pruned_at = Some((self.path(), self.refs));
                    }
                    self.stack.push(frame);
                    self.skip_ws();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.at += 1;
                        self.close()?
                    } else {
                        self.begin_child(object, 0)?;
                        continue;
                    }
                }
                Some(b'"') => {
                    let start = self.at;
                    let s = self.string()?;
                    if asset_part(&s).is_some() {
                        self.refs += 1;
                        if !self.in_pruned() {
                            self.spans.insert(self.pointer(), start..self.at);
                        }
                    }
                    Value::String(s)
                }
                Some(b't') => self.literal("true", Value::Bool(true))?,
                Some(b'f') => self.literal("false", Value::Bool(false))?,
                Some(b'n') => self.literal("null", Value::Null)?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => return self.fail("expected a JSON value"),
                None => return self.fail("the body ends before the value does"),
            };
            // `done` is complete: hand it to its container, closing those that end here.
            loop {
                let refs = self.refs;
                let Some(frame) = self.stack.last_mut() else {
                    return Ok(done);
                };
                let had_refs = refs > frame.refs_before;
                let mut hidden = None;
                let (object, index) = match (&mut frame.built, frame.seg.take()) {
                    (Built::Array(items), Some(Seg::Index(i))) => {
                        items.push(done);
                        (false, i)
                    }
                    (Built::Pruned, Some(Seg::Index(i))) => (false, i),
                    (Built::Pruned, Some(Seg::Key(_))) => (true, 0),
                    (Built::Object(map), Some(Seg::Key(k))) => {
                        if frame.ref_keys.contains(&k) {
                            hidden = Some(k.clone());
                        }
                        if had_refs {
                            frame.ref_keys.insert(k.clone());
                        }
                        map.insert(k, done);
                        (true, 0)
                    }
                    _ => return self.fail("a value where none belongs"),
                };
                if let Some(k) = hidden {
                    let path = self.path_with(&k);
                    self.problems.push(ResolveViolation::new(
                        &path,
                        &codes::REFERENCE_MALFORMED,
                        format!(
                            "the key '{k}' is written twice and the value it hides holds an asset reference; write each key once"
                        ),
                    ));
                }
                self.skip_ws();
                let close = if object { b'}' } else { b']' };
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        self.begin_child(object, index + 1)?;
                        break;
                    }
                    Some(c) if c == close => {
                        self.at += 1;
                        done = self.close()?;
                    }
                    _ if object => return self.fail("expected ',' or '}'"),
                    _ => return self.fail("expected ',' or ']'"),
                }
            }
        }
    }

    /// The path of key `k` of the object on top of the stack.
    fn path_with(&self, k: &str) -> String {
        let base = self.path();
        if base.is_empty() {
            k.to_owned()
        } else {
            format!("{base}.{k}")
        }
    }

    /// Starts the next child of the container on top: an object's key and colon, or an
    /// array's index.
    fn begin_child(&mut self, object: bool, index: usize) -> Result<(), ScanError> {
        let seg = if object {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return self.fail("expected a string key");
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return self.fail("expected ':' after a key");
            }
            self.at += 1;
            Seg::Key(key)
        } else {
            Seg::Index(index)
        };
        let refs = self.refs;
        if let Some(frame) = self.stack.last_mut() {
            frame.seg = Some(seg);
            frame.refs_before = refs;
        }
        Ok(())
    }

    /// Pops the container on top and answers what it built.
    fn close(&mut self) -> Result<Value, ScanError> {
        let Some(frame) = self.stack.pop() else {
            return self.fail("a closing bracket with nothing open");
        };
        if let Some((path, before)) = frame.pruned_at
            && self.refs > before
        {
            self.problems.push(ResolveViolation::new(
                &path,
                &codes::TASK_TOO_DEEP,
                format!(
                    "an asset reference is nested deeper than {MAX_DEPTH} levels, where references are not resolved"
                ),
            ));
        }
        Ok(match frame.built {
            Built::Array(items) => Value::Array(items),
            Built::Object(map) => Value::Object(map),
            Built::Pruned => Value::Null,
        })
    }
}

/// `body` with each range replaced by its text; the ranges must not overlap.
pub fn splice(body: &[u8], mut edits: Vec<(Range<usize>, String)>) -> Vec<u8> {
    edits.sort_by_key(|(range, _)| range.start);
    let grown: usize = edits.iter().map(|(_, text)| text.len()).sum();
    let mut out = Vec::with_capacity(body.len() + grown);
    let mut from = 0;
    for (range, text) in edits {
        out.extend_from_slice(&body[from..range.start]);
        out.extend_from_slice(text.as_bytes());
        from = range.end;
    }
    out.extend_from_slice(&body[from..]);
    out
}
