//! Finding the media a generation task carries: a walk over the whole JSON body (depth-bounded)
//! that records every media string of a known field and every `asset://` string anywhere. Known
//! fields only tell what a string is for (its [`Slot`]); an `asset://` in any other field is
//! still a reference, of any type.

use serde::Serialize;
use serde_json::{Map, Value};

use super::codes::{self, Code};
use super::{AssetId, AssetType};

/// Nesting deeper than this is not searched, and is reported (`task-too-deep`).
pub const MAX_DEPTH: usize = 64;

/// One problem with a task, named by its field path (`content[2].image_url.url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolveViolation {
    pub field: String,
    pub code: &'static Code,
    pub message: String,
}

impl ResolveViolation {
    pub fn new(field: &str, code: &'static Code, message: String) -> Self {
        Self {
            field: field.to_owned(),
            code,
            message,
        }
    }
}

/// What a media string is for, as far as the task's known fields tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `first_image`, legacy `image`, a `content[]` item with `role: first_frame`.
    FirstFrame,
    /// `last_image`, legacy `lastFrameImage`, a `content[]` item with `role: last_frame`.
    LastFrame,
    /// A reference of a known type: the reference arrays, `image_url`/`video_url`/`audio_url`.
    Reference(AssetType),
    /// No known meaning: any Active asset of the caller fits.
    Any,
}

impl Slot {
    /// The asset type the slot takes, if it names one.
    pub fn wants(self) -> Option<AssetType> {
        match self {
            Slot::FirstFrame | Slot::LastFrame => Some(AssetType::Image),
            Slot::Reference(t) => Some(t),
            Slot::Any => None,
        }
    }
}

/// What a media string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// An http(s) or `data:` URL, passed through.
    Url,
    Asset(AssetId),
    Malformed(String),
}

/// One media string of the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Shown in violations: `referenceImages[1]`, `content[2].image_url.url`.
    pub path: String,
    /// Where to write the replacement (RFC 6901).
    pub pointer: String,
    pub slot: Slot,
    pub reference: Reference,
}

impl Media {
    /// The field that holds the string: its path up to the last array index
    /// (`content[2].image_url.url` → `content`), or the path itself.
    pub fn place(&self) -> &str {
        match self.path.rfind('[') {
            Some(i) => &self.path[..i],
            None => &self.path,
        }
    }
}

/// What the walk found, in the body's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Media(Media),
    Problem(ResolveViolation),
}

const ASSET_SCHEMES: [&str; 2] = ["asset://", "assetid://"];

/// The id after `asset://` (or the legacy alias `assetId://`), if the string has that scheme.
pub(crate) fn asset_part(raw: &str) -> Option<&str> {
    ASSET_SCHEMES.iter().find_map(|scheme| {
        let head = raw.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &raw[scheme.len()..])
    })
}

/// Reads a media string of a known field: an asset reference, a URL, or neither.
pub fn classify(raw: &str) -> Reference {
    if let Some(id) = asset_part(raw) {
        return match AssetId::parse(id) {
            Some(id) => Reference::Asset(id),
            None if id.is_empty() => {
                Reference::Malformed("asset:// needs an asset id after it".to_owned())
            }
            None => Reference::Malformed(format!(
                "'{id}' is not an asset id (asset-YYYYMMDDhhmmss-xxxxx)"
            )),
        };
    }
    if raw.to_ascii_lowercase().starts_with("asset") {
        return Reference::Malformed(format!(
            "'{raw}' is not a valid reference; write asset://asset-YYYYMMDDhhmmss-xxxxx"
        ));
    }
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https" | "data") => Reference::Url,
        _ => Reference::Malformed(format!(
            "'{raw}' is neither an http(s) or data: URL nor an asset:// reference"
        )),
    }
}

/// Top-level single-string fields and the frame they are.
const FRAME_FIELDS: [(&str, Slot); 4] = [
    ("first_image", Slot::FirstFrame),
    ("image", Slot::FirstFrame),
    ("last_image", Slot::LastFrame),
    ("lastFrameImage", Slot::LastFrame),
];
/// Reference arrays (kyy camelCase and snake_case) and their type.
const REFERENCE_ARRAYS: [(&str, AssetType); 6] = [
    ("referenceImages", AssetType::Image),
    ("reference_images", AssetType::Image),
    ("referenceVideos", AssetType::Video),
    ("reference_videos", AssetType::Video),
    ("referenceAudios", AssetType::Audio),
    ("reference_audios", AssetType::Audio),
];

/// The type a `type` (`image_url`, `video`…) or a `role` (`reference_audio`…) value names.
fn named_type(value: &str) -> Option<AssetType> {
    let value = value.to_ascii_lowercase();
    if value.contains("image") || value.contains("frame") {
        Some(AssetType::Image)
    } else if value.contains("video") {
        Some(AssetType::Video)
    } else if value.contains("audio") {
        Some(AssetType::Audio)
    } else {
        None
    }
}

/// What an object's own `role` and `type` say its media is for.
fn object_slot(object: &Map<String, Value>) -> Option<Slot> {
    let role = object.get("role").and_then(Value::as_str);
    match role {
        Some("first_frame") => return Some(Slot::FirstFrame),
        Some("last_frame") => return Some(Slot::LastFrame),
        _ => {}
    }
    let typed = object
        .get("type")
        .and_then(Value::as_str)
        .and_then(named_type);
    typed
        .or_else(|| role.and_then(named_type))
        .map(Slot::Reference)
}

/// The slot of a key inside an object whose own slot is `own`; `None` for an unknown key.
fn key_slot(key: &str, own: Option<Slot>) -> Option<Slot> {
    let frame = matches!(own, Some(Slot::FirstFrame | Slot::LastFrame));
    match key {
        "image_url" if frame => own,
        "image_url" => Some(Slot::Reference(AssetType::Image)),
        "video_url" => Some(Slot::Reference(AssetType::Video)),
        "audio_url" => Some(Slot::Reference(AssetType::Audio)),
        _ => REFERENCE_ARRAYS
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, t)| Slot::Reference(*t)),
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Walks a task body; the top-level kyy fields must have their documented JSON types.
pub fn walk(task: &Map<String, Value>) -> Vec<Finding> {
    walk_with(task, &[])
}

/// Walks a task body whose family also names `arrays`: top-level arrays of references of a
/// type (`image_urls` of the image families).
pub fn walk_with(task: &Map<String, Value>, arrays: &[(&str, AssetType)]) -> Vec<Finding> {
    let mut found = Vec::new();
    for (key, value) in task {
        let pointer = format!("/{}", escape(key));
        if value.is_null() {
            continue;
        }
        let frame = FRAME_FIELDS.iter().find(|(name, _)| name == key);
        let array = REFERENCE_ARRAYS
            .iter()
            .chain(arrays)
            .find(|(name, _)| name == key);
        if frame.is_some() && !value.is_string() {
            found.push(field_type(key, format!("{key} must be a string")));
            continue;
        }
        if let Some((_, t)) = array {
            let Some(items) = value.as_array() else {
                found.push(field_type(
                    key,
                    format!("{key} must be an array of strings"),
                ));
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                let path = format!("{key}[{i}]");
                if item.is_string() {
                    let at = Place::new(path, format!("{pointer}/{i}"), 1);
                    visit(item, at, Slot::Reference(*t), true, &mut found);
                } else {
                    found.push(field_type(&path, format!("{path} must be a string")));
                }
            }
            continue;
        }
        let (slot, strict) = match frame {
            Some((_, slot)) => (*slot, true),
            None => key_slot(key, None).map_or((Slot::Any, false), |s| (s, true)),
        };
        visit(
            value,
            Place::new(key.clone(), pointer, 1),
            slot,
            strict,
            &mut found,
        );
    }
    found
}

fn field_type(path: &str, message: String) -> Finding {
    Finding::Problem(ResolveViolation::new(path, &codes::FIELD_TYPE, message))
}

/// Where the walk is.
struct Place {
    path: String,
    pointer: String,
    depth: usize,
}

impl Place {
    fn new(path: String, pointer: String, depth: usize) -> Self {
        Self {
            path,
            pointer,
            depth,
        }
    }
}

/// Records the media under `value`. `strict`: the value is itself a known media field, so any
/// string there must be a URL or a reference; elsewhere only `asset://` strings are references.
fn visit(value: &Value, at: Place, slot: Slot, strict: bool, found: &mut Vec<Finding>) {
    if at.depth > MAX_DEPTH && (value.is_array() || value.is_object()) {
        found.push(Finding::Problem(ResolveViolation::new(
            &at.path,
            &codes::TASK_TOO_DEEP,
            format!("nesting deeper than {MAX_DEPTH} levels is not searched for references"),
        )));
        return;
    }
    match value {
        Value::String(raw) => {
            // Outside known media fields, only asset:// strings are references.
            if !strict && asset_part(raw).is_none() {
                return;
            }
            let reference = classify(raw);
            found.push(Finding::Media(Media {
                path: at.path,
                pointer: at.pointer,
                slot,
                reference,
            }));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let child = Place::new(
                    format!("{}[{i}]", at.path),
                    format!("{}/{i}", at.pointer),
                    at.depth + 1,
                );
                visit(item, child, slot, strict, found);
            }
        }
        Value::Object(object) => {
            let own = object_slot(object);
            let inherited = own.unwrap_or(slot);
            for (key, item) in object {
                let child = Place::new(
                    format!("{}.{key}", at.path),
                    format!("{}/{}", at.pointer, escape(key)),
                    at.depth + 1,
                );
                let (slot, strict) = match key_slot(key, own) {
                    Some(slot) => (slot, true),
                    // `{"image_url": {"url": …}}`, `{"type": "image_url", "url": …}`
                    None if key == "url" && (strict || own.is_some()) => (inherited, true),
                    None => (inherited, false),
                };
                visit(item, child, slot, strict, found);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "asset-20260330142158-q75m8";

    fn media(task: Value) -> Vec<(String, Slot, Reference)> {
        let Value::Object(task) = task else {
            panic!("an object")
        };
        walk(&task)
            .into_iter()
            .map(|f| match f {
                Finding::Media(m) => (m.path, m.slot, m.reference),
                Finding::Problem(p) => (
                    p.field,
                    Slot::Any,
                    Reference::Malformed(p.code.name.to_owned()),
                ),
            })
            .collect()
    }

    fn asset() -> Reference {
        Reference::Asset(AssetId::parse(ID).expect("id"))
    }

    #[test]
    fn content_items_take_their_type_from_the_key_or_the_role() {
        let a = format!("asset://{ID}");
        let found = media(json!({
            "content": [
                {"type": "text", "text": "a cat, see asset:// above"},
                {"type": "image_url", "image_url": {"url": a, "detail": "high"}, "role": "reference_image"},
                {"type": "image_url", "image_url": {"url": a}, "role": "first_frame"},
                {"type": "video_url", "video_url": {"url": "https://x.example/v.mp4"}},
                {"type": "audio_url", "audio_url": {"url": a}},
                {"type": "image_url", "url": a},
            ]
        }));
        let image = Slot::Reference(AssetType::Image);
        assert_eq!(
            found,
            vec![
                ("content[1].image_url.url".to_owned(), image, asset()),
                (
                    "content[2].image_url.url".to_owned(),
                    Slot::FirstFrame,
                    asset()
                ),
                (
                    "content[3].video_url.url".to_owned(),
                    Slot::Reference(AssetType::Video),
                    Reference::Url
                ),
                (
                    "content[4].audio_url.url".to_owned(),
                    Slot::Reference(AssetType::Audio),
                    asset()
                ),
                ("content[5].url".to_owned(), image, asset()),
            ]
        );
    }

    #[test]
    fn asset_strings_anywhere_are_references_of_any_type() {
        let found = media(json!({
            "prompt": "plain text",
            "extra": {"deep": [format!("assetId://{ID}"), "asset://nope", "not a url", "asset:/x"]},
            "image": format!("ASSET://{ID}"),
            "reference_videos": ["data:video/mp4;base64,AAAA", 3],
        }));
        assert_eq!(found[0], ("extra.deep[0]".to_owned(), Slot::Any, asset()));
        assert!(
            matches!(&found[1], (p, Slot::Any, Reference::Malformed(_)) if p == "extra.deep[1]")
        );
        assert_eq!(found[2], ("image".to_owned(), Slot::FirstFrame, asset()));
        assert_eq!(
            found[3],
            (
                "reference_videos[0]".to_owned(),
                Slot::Reference(AssetType::Video),
                Reference::Url
            )
        );
        assert_eq!(
            found[4],
            (
                "reference_videos[1]".to_owned(),
                Slot::Any,
                Reference::Malformed("field-type".to_owned())
            )
        );
        assert_eq!(found.len(), 5);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = json!(format!("asset://{ID}"));
        for _ in 0..MAX_DEPTH + 5 {
            deep = json!({ "a": deep });
        }
        let found = media(json!({ "x": deep }));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].2, Reference::Malformed("task-too-deep".to_owned()));
    }

    #[test]
    fn place_is_the_array_holding_the_string() {
        let m = Media {
            path: "content[2].image_url.url".to_owned(),
            pointer: String::new(),
            slot: Slot::Any,
            reference: Reference::Url,
        };
        assert_eq!(m.place(), "content");
    }
}
