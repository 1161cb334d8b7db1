//! Resolving a generation task: every media string the task carries, anywhere in its body, is
//! found (`domain::task_refs`); each `asset://` is checked (owner, Active, type fits the field,
//! counts) and rewritten to a signed content URL; the model's profile adds the shape rules
//! (`domain::task_rules`).

use serde_json::Value;

use super::DeliveryService;
use crate::domain::codes;
use crate::domain::task_refs::{Finding, Media, Reference, Slot, walk_with};
use crate::domain::task_scan::{scan, splice};
use crate::domain::{Asset, AssetId, AssetType, Caller, Status, TaskProfile};
use crate::service::ServiceError;

pub use crate::domain::task_refs::ResolveViolation;

/// How many references of each type a task may carry, across all the places it carries them.
const MAX_REFERENCES: [(AssetType, usize, &str); 3] = [
    (AssetType::Image, 9, "images"),
    (AssetType::Video, 3, "videos"),
    (AssetType::Audio, 3, "audios"),
];

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

/// A task body resolved as bytes: the caller's bytes with each `asset://` string replaced, or
/// every problem found.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedBytes {
    Task { body: Vec<u8>, assets: Vec<AssetId> },
    Invalid(Vec<ResolveViolation>),
}

/// What the checks of a task decided: the strings to replace (by JSON pointer) and the assets
/// used, or every problem found.
type Checked = Result<(Vec<(String, String)>, Vec<AssetId>), Vec<ResolveViolation>>;

/// The profile that applies to a task: its `model`'s.
fn model_of(task: &Value) -> Option<&str> {
    task.get("model").and_then(Value::as_str)
}

/// An asset reference that passed, with what the totals need.
struct Passed<'a> {
    media: &'a Media,
    asset: Asset,
    url: String,
}

impl DeliveryService {
    /// Checks one asset reference: the asset, or the problem.
    async fn check_asset(
        &self,
        caller: &Caller,
        media: &Media,
        id: &AssetId,
    ) -> Result<Result<Asset, ResolveViolation>, ServiceError> {
        let field = media.path.as_str();
        let asset = self
            .assets
            .get_asset(&caller.tenant, id)
            .await
            .map_err(|e| ServiceError::internal("resolving a reference", e))?;
        let Some(asset) = asset else {
            let why = format!("asset {id} does not exist");
            return Ok(Err(ResolveViolation::new(
                field,
                &codes::ASSET_NOT_FOUND,
                why,
            )));
        };
        if let Some(wants) = media.slot.wants()
            && asset.asset_type != wants
        {
            let why = format!(
                "asset {id} is a {}; {field} takes a {wants}",
                asset.asset_type
            );
            return Ok(Err(ResolveViolation::new(
                field,
                &codes::ASSET_TYPE_MISMATCH,
                why,
            )));
        }
        if asset.status != Status::Active {
            let shown = if asset.status == Status::PendingReview {
                "waiting for review"
            } else {
                asset.status.as_str()
            };
            let why = format!("asset {id} is {shown}; only Active assets can be used");
            return Ok(Err(ResolveViolation::new(
                field,
                &codes::ASSET_NOT_ACTIVE,
                why,
            )));
        }
        Ok(Ok(asset))
    }

    /// Resolves a generation-task body under the profile of its `model`; other fields are kept
    /// untouched.
    pub async fn resolve(&self, caller: &Caller, task: Value) -> Result<Resolved, ServiceError> {
        let profile = self.task_rules.profile_for(model_of(&task)).clone();
        self.resolve_with(caller, task, &profile).await
    }

    /// Resolves a task under the given shape rules.
    pub async fn resolve_with(
        &self,
        caller: &Caller,
        mut task: Value,
        profile: &TaskProfile,
    ) -> Result<Resolved, ServiceError> {
        let (rewrites, assets) = match self.check(caller, &task, profile, Vec::new(), &[]).await? {
            Ok(checked) => checked,
            Err(problems) => return Ok(Resolved::Invalid(problems)),
        };
        for (pointer, url) in rewrites {
            if let Some(slot) = task.pointer_mut(&pointer) {
                *slot = Value::String(url);
            }
        }
        Ok(Resolved::Task { task, assets })
    }

    /// Resolves a task body as the caller sent it: the answer is the same bytes with each
    /// `asset://` string replaced by its signed URL, nothing else touched (key order, number
    /// spellings, escapes, whitespace). `arrays` are the family's own reference arrays. Nesting
    /// of any depth is read (without recursion); references deeper than the walk reads are
    /// reported.
    pub async fn resolve_bytes(
        &self,
        caller: &Caller,
        body: &[u8],
        arrays: &[(&str, AssetType)],
    ) -> Result<ResolvedBytes, ServiceError> {
        let scanned = scan(body).map_err(|e| {
            if e.what == "the body is empty" {
                ServiceError::invalid("the request body is empty; send a JSON object")
            } else {
                ServiceError::invalid(format!("the request body is not valid JSON: {e}"))
            }
        })?;
        let profile = self.task_rules.profile_for(model_of(&scanned.task)).clone();
        let checked = self
            .check(caller, &scanned.task, &profile, scanned.problems, arrays)
            .await?;
        let (rewrites, assets) = match checked {
            Ok(checked) => checked,
            Err(problems) => return Ok(ResolvedBytes::Invalid(problems)),
        };
        let mut edits = Vec::with_capacity(rewrites.len());
        for (pointer, url) in rewrites {
            let Some(range) = scanned.spans.get(&pointer) else {
                return Err(ServiceError::internal(
                    "rewriting a task",
                    anyhow::anyhow!("no place recorded for the reference at {pointer}"),
                ));
            };
            let text = serde_json::to_string(&url)
                .map_err(|e| ServiceError::internal("encoding a URL", e))?;
            edits.push((range.clone(), text));
        }
        Ok(ResolvedBytes::Task {
            body: splice(body, edits),
            assets,
        })
    }

    /// Every check of a task: its shape under `profile`, each reference (owner, Active, type
    /// fits its place), the counts and durations. `problems` are those found before.
    async fn check(
        &self,
        caller: &Caller,
        task: &Value,
        profile: &TaskProfile,
        mut problems: Vec<ResolveViolation>,
        arrays: &[(&str, AssetType)],
    ) -> Result<Checked, ServiceError> {
        let Some(body) = task.as_object() else {
            return Err(ServiceError::invalid("the task must be a JSON object"));
        };
        let findings = walk_with(body, arrays);
        let media = findings.iter().filter_map(|f| match f {
            Finding::Media(m) => Some(m),
            Finding::Problem(_) => None,
        });
        let present = |field: &str| !matches!(body.get(field), None | Some(Value::Null));
        problems.extend(profile.check(present, media.clone()));

        let mut passed = Vec::new();
        for finding in &findings {
            match finding {
                Finding::Problem(p) => problems.push(p.clone()),
                Finding::Media(m) => match &m.reference {
                    Reference::Url => {}
                    Reference::Malformed(why) => problems.push(ResolveViolation::new(
                        &m.path,
                        &codes::REFERENCE_MALFORMED,
                        why.clone(),
                    )),
                    Reference::Asset(id) => match self.check_asset(caller, m, id).await? {
                        Err(problem) => problems.push(problem),
                        Ok(asset) => {
                            let url = self.content_url(&asset).await?;
                            passed.push(Passed {
                                media: m,
                                asset,
                                url,
                            });
                        }
                    },
                },
            }
        }
        problems.extend(count_problems(media.clone()));
        problems.extend(duration_problems(&passed, profile));
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let mut assets = Vec::with_capacity(passed.len());
        let rewrites: Vec<(String, String)> = passed
            .into_iter()
            .map(|p| {
                assets.push(p.asset.id);
                (p.media.pointer.clone(), p.url)
            })
            .collect();
        assets.sort();
        assets.dedup();
        // The use that keeps an asset from expiring under an `unused_days` policy.
        self.assets
            .mark_assets_used(&caller.tenant, &assets, chrono::Utc::now())
            .await
            .map_err(|e| ServiceError::internal("recording the use of assets", e))?;
        Ok(Ok((rewrites, assets)))
    }
}

/// References of a known type counted across every place that holds them: one violation per
/// type over its limit, named by the place where the limit was crossed.
fn count_problems<'a>(media: impl Iterator<Item = &'a Media> + Clone) -> Vec<ResolveViolation> {
    let mut out = Vec::new();
    for (kind, max, noun) in MAX_REFERENCES {
        let refs: Vec<&Media> = media
            .clone()
            .filter(|m| m.slot == Slot::Reference(kind))
            .collect();
        let Some(crossing) = refs.get(max) else {
            continue;
        };
        let mut places: Vec<(&str, usize)> = Vec::new();
        for m in &refs {
            match places.iter_mut().find(|(p, _)| *p == m.place()) {
                Some((_, n)) => *n += 1,
                None => places.push((m.place(), 1)),
            }
        }
        let breakdown = places
            .iter()
            .map(|(p, n)| format!("{p}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(ResolveViolation::new(
            crossing.place(),
            &codes::TOO_MANY_REFERENCES,
            format!(
                "the task carries {} reference {noun} ({breakdown}); at most {max} are allowed",
                refs.len()
            ),
        ));
    }
    out
}

/// The total duration of reference videos, and of reference audios, under the profile's limit.
fn duration_problems(passed: &[Passed<'_>], profile: &TaskProfile) -> Vec<ResolveViolation> {
    let max = profile.max_reference_duration_ms;
    if max == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (kind, noun) in [(AssetType::Video, "videos"), (AssetType::Audio, "audios")] {
        let refs: Vec<(&str, u64)> = passed
            .iter()
            .filter(|p| p.media.slot == Slot::Reference(kind))
            .map(|p| (p.media.place(), p.asset.facts.duration_ms.unwrap_or(0)))
            .collect();
        let total: u64 = refs.iter().map(|(_, ms)| ms).sum();
        if total <= max {
            continue;
        }
        let mut running = 0u64;
        let crossing = refs
            .iter()
            .find(|(_, ms)| {
                running += ms;
                running > max
            })
            .map_or("", |(place, _)| place);
        out.push(ResolveViolation::new(
            crossing,
            &codes::REFERENCE_DURATION,
            format!(
                "the reference {noun} last {:.1} s together; at most {:.1} s are allowed for this model",
                total as f64 / 1000.0,
                max as f64 / 1000.0
            ),
        ));
    }
    out
}
