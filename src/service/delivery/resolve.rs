//! Resolving a generation task: every media string the task carries, anywhere in its body, is
//! found (`domain::task_refs`); each `asset://` is checked (owner, Active, type fits the field,
//! counts) and rewritten to a signed content URL; the model's profile adds the shape rules
//! (`domain::task_rules`).

use serde_json::Value;

use super::DeliveryService;
use crate::domain::codes;
use crate::domain::task_refs::{Finding, Media, Reference, Slot, walk};
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
        let model = task.get("model").and_then(Value::as_str).map(str::to_owned);
        let profile = self.task_rules.profile_for(model.as_deref()).clone();
        self.resolve_with(caller, task, &profile).await
    }

    /// Resolves a task under the given shape rules.
    pub async fn resolve_with(
        &self,
        caller: &Caller,
        mut task: Value,
        profile: &TaskProfile,
    ) -> Result<Resolved, ServiceError> {
        let Some(body) = task.as_object() else {
            return Err(ServiceError::invalid("the task must be a JSON object"));
        };
        let findings = walk(body);
        let media = findings.iter().filter_map(|f| match f {
            Finding::Media(m) => Some(m),
            Finding::Problem(_) => None,
        });
        let present = |field: &str| !matches!(body.get(field), None | Some(Value::Null));
        let mut problems = profile.check(present, media.clone());

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
            return Ok(Resolved::Invalid(problems));
        }
        let mut assets = Vec::with_capacity(passed.len());
        let rewrites: Vec<(String, String)> = passed
            .into_iter()
            .map(|p| {
                assets.push(p.asset.id);
                (p.media.pointer.clone(), p.url)
            })
            .collect();
        for (pointer, url) in rewrites {
            if let Some(slot) = task.pointer_mut(&pointer) {
                *slot = Value::String(url);
            }
        }
        assets.sort();
        assets.dedup();
        // The use that keeps an asset from expiring under an `unused_days` policy.
        self.assets
            .mark_assets_used(&caller.tenant, &assets, chrono::Utc::now())
            .await
            .map_err(|e| ServiceError::internal("recording the use of assets", e))?;
        Ok(Resolved::Task { task, assets })
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
