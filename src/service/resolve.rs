//! Resolving a generation task: every `asset://` reference is checked (owner, Active, type fits
//! the field, counts, frame/reference rules) and rewritten to a signed content URL.

use serde::Serialize;
use serde_json::Value;

use super::{DeliveryService, ServiceError};
use crate::domain::codes::{self, Code};
use crate::domain::{AssetId, AssetType, Caller, Status};

const SCHEME: &str = "asset://";
/// Reference arrays, the type they take and how many they hold at most.
const ARRAYS: [(&str, AssetType, usize); 3] = [
    ("referenceImages", AssetType::Image, 9),
    ("referenceVideos", AssetType::Video, 3),
    ("referenceAudios", AssetType::Audio, 3),
];
const FRAMES: [&str; 2] = ["first_image", "last_image"];

/// One problem with a task's references, named by its field path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolveViolation {
    pub field: String,
    pub code: &'static Code,
    pub message: String,
}

/// What checking the references found: the problems, and the assets that passed.
#[derive(Default)]
struct Findings {
    problems: Vec<ResolveViolation>,
    assets: Vec<AssetId>,
}

/// The rewritten task, or every problem found.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// The rewritten task and the assets it references (each once).
    Task {
        task: Value,
        assets: Vec<AssetId>,
    },
    Invalid(Vec<ResolveViolation>),
}

fn violation(field: &str, code: &'static Code, message: String) -> ResolveViolation {
    ResolveViolation {
        field: field.to_owned(),
        code,
        message,
    }
}

/// What a reference string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// An http(s) URL, passed through untouched.
    Url,
    /// `asset://` and a well-formed asset id (not yet looked up).
    Asset(AssetId),
    /// Neither; the sentence says why.
    Malformed(String),
}

/// Classifies one reference string of a task body: the pure part of resolving, over bytes the
/// caller controls.
pub fn classify_reference(raw: &str) -> Reference {
    if let Some(id) = raw.strip_prefix(SCHEME) {
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
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with("asset") {
        return Reference::Malformed(format!(
            "'{raw}' is not a valid reference; write asset://asset-YYYYMMDDhhmmss-xxxxx"
        ));
    }
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Reference::Url,
        _ => Reference::Malformed(format!(
            "'{raw}' is neither an http(s) URL nor an asset:// reference"
        )),
    }
}

impl DeliveryService {
    /// Checks one reference and returns its replacement string.
    async fn resolve_one(
        &self,
        caller: &Caller,
        field: &str,
        raw: &str,
        wants: AssetType,
        found: &mut Findings,
    ) -> Result<Option<String>, ServiceError> {
        match classify_reference(raw) {
            Reference::Url => Ok(None),
            Reference::Malformed(why) => {
                found
                    .problems
                    .push(violation(field, &codes::REFERENCE_MALFORMED, why));
                Ok(None)
            }
            Reference::Asset(id) => {
                let asset = self
                    .assets
                    .get_asset(&caller.tenant, &id)
                    .await
                    .map_err(|e| ServiceError::internal("resolving a reference", e))?;
                let Some(asset) = asset else {
                    found.problems.push(violation(
                        field,
                        &codes::ASSET_NOT_FOUND,
                        format!("asset {id} does not exist"),
                    ));
                    return Ok(None);
                };
                if asset.asset_type != wants {
                    found.problems.push(violation(
                        field,
                        &codes::ASSET_TYPE_MISMATCH,
                        format!(
                            "asset {id} is a {}; {field} takes a {wants}",
                            asset.asset_type
                        ),
                    ));
                } else if asset.status != Status::Active {
                    let shown = if asset.status == Status::PendingReview {
                        "waiting for review"
                    } else {
                        asset.status.as_str()
                    };
                    found.problems.push(violation(
                        field,
                        &codes::ASSET_NOT_ACTIVE,
                        format!("asset {id} is {shown}; only Active assets can be used"),
                    ));
                } else {
                    let url = self.content_url(&asset).await?;
                    found.assets.push(id);
                    return Ok(Some(url));
                }
                Ok(None)
            }
        }
    }

    /// Resolves a generation-task body (kyy shape); other fields are kept untouched.
    pub async fn resolve(
        &self,
        caller: &Caller,
        mut task: Value,
    ) -> Result<Resolved, ServiceError> {
        let Some(body) = task.as_object_mut() else {
            return Err(ServiceError::invalid("the task must be a JSON object"));
        };
        let mut found = Findings::default();
        let present = |v: Option<&Value>| !matches!(v, None | Some(Value::Null));
        let has_first = present(body.get("first_image"));
        let has_last = present(body.get("last_image"));
        let references_used = ARRAYS.iter().any(|(name, _, _)| {
            body.get(*name)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        });
        if (has_first || has_last) && references_used {
            let field = if has_first {
                "first_image"
            } else {
                "last_image"
            };
            found.problems.push(violation(
                field,
                &codes::FRAMES_WITH_REFERENCES,
                "first_image/last_image cannot be combined with referenceImages, referenceVideos or referenceAudios".to_owned(),
            ));
        }
        if has_last && !has_first {
            found.problems.push(violation(
                "last_image",
                &codes::LAST_WITHOUT_FIRST,
                "last_image needs a first_image".to_owned(),
            ));
        }

        for field in FRAMES {
            match body.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::String(raw)) => {
                    let raw = raw.clone();
                    if let Some(url) = self
                        .resolve_one(caller, field, &raw, AssetType::Image, &mut found)
                        .await?
                    {
                        body.insert(field.to_owned(), Value::String(url));
                    }
                }
                Some(_) => found.problems.push(violation(
                    field,
                    &codes::FIELD_TYPE,
                    format!("{field} must be a string"),
                )),
            }
        }
        for (name, wants, max) in ARRAYS {
            let Some(value) = body.get(name).cloned() else {
                continue;
            };
            let items = match value {
                Value::Null => continue,
                Value::Array(items) => items,
                _ => {
                    found.problems.push(violation(
                        name,
                        &codes::FIELD_TYPE,
                        format!("{name} must be an array of strings"),
                    ));
                    continue;
                }
            };
            if items.len() > max {
                found.problems.push(violation(
                    name,
                    &codes::TOO_MANY_REFERENCES,
                    format!(
                        "{name} has {} entries; at most {max} are allowed",
                        items.len()
                    ),
                ));
            }
            let mut rewritten = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let path = format!("{name}[{i}]");
                match item {
                    Value::String(raw) => {
                        match self
                            .resolve_one(caller, &path, &raw, wants, &mut found)
                            .await?
                        {
                            Some(url) => rewritten.push(Value::String(url)),
                            None => rewritten.push(Value::String(raw)),
                        }
                    }
                    other => {
                        found.problems.push(violation(
                            &path,
                            &codes::FIELD_TYPE,
                            format!("{path} must be a string"),
                        ));
                        rewritten.push(other);
                    }
                }
            }
            body.insert(name.to_owned(), Value::Array(rewritten));
        }
        if found.problems.is_empty() {
            let mut assets = found.assets;
            assets.sort();
            assets.dedup();
            Ok(Resolved::Task { task, assets })
        } else {
            Ok(Resolved::Invalid(found.problems))
        }
    }
}
