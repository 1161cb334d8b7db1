//! Rules about a task's shape, per model: which frame/reference combinations, how long the
//! references may last together, which fields must be there. Checks about the assets themselves
//! (owner, Active, type, counts) are not here: they always run.
//!
//! By default nothing is refused that the upstream accepts: `frames_with_references` is off
//! (the full Seedance 2.0 models take first/last frames with reference arrays), the duration
//! total is off, no field is required; only `last_without_first` is on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::codes;
use super::task_refs::{Media, ResolveViolation, Slot};

/// The shape rules of one model (or of every model not named).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaskProfile {
    /// Refuse a first or last frame together with references (`frames-with-references`).
    pub frames_with_references: bool,
    /// Refuse a last frame without a first one (`last-without-first`).
    pub last_without_first: bool,
    /// Reference videos, and reference audios, may last this long together (`reference-duration`);
    /// 0 = no limit. Only assets' durations are known; plain URLs count as 0.
    pub max_reference_duration_ms: u64,
    /// Top-level fields that must be present and not null (`missing-field`).
    pub required: Vec<String>,
}

impl Default for TaskProfile {
    fn default() -> Self {
        Self {
            frames_with_references: false,
            last_without_first: true,
            max_reference_duration_ms: 0,
            required: Vec::new(),
        }
    }
}

/// The profile of every model, read from the configuration file's `[tasks]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskRules {
    /// For a model not named in `models`, or a task without a `model`.
    pub default: TaskProfile,
    /// By the task's `model`, exactly.
    pub models: BTreeMap<String, TaskProfile>,
}

impl TaskRules {
    pub fn profile_for(&self, model: Option<&str>) -> &TaskProfile {
        model
            .and_then(|m| self.models.get(m))
            .unwrap_or(&self.default)
    }
}

impl TaskProfile {
    /// The shape violations of a task with these top-level fields and media.
    pub fn check<'a>(
        &self,
        present: impl Fn(&str) -> bool,
        media: impl Iterator<Item = &'a Media> + Clone,
    ) -> Vec<ResolveViolation> {
        let mut out = Vec::new();
        for field in &self.required {
            if !present(field) {
                out.push(ResolveViolation::new(
                    field,
                    &codes::MISSING_FIELD,
                    format!("{field} is required for this model"),
                ));
            }
        }
        let first = media.clone().find(|m| m.slot == Slot::FirstFrame);
        let last = media.clone().find(|m| m.slot == Slot::LastFrame);
        let references = media.clone().any(|m| matches!(m.slot, Slot::Reference(_)));
        if self.frames_with_references
            && references
            && let Some(frame) = first.or(last)
        {
            out.push(ResolveViolation::new(
                &frame.path,
                &codes::FRAMES_WITH_REFERENCES,
                "this model does not combine a first or last frame with reference images, videos or audios".to_owned(),
            ));
        }
        if self.last_without_first
            && first.is_none()
            && let Some(last) = last
        {
            out.push(ResolveViolation::new(
                &last.path,
                &codes::LAST_WITHOUT_FIRST,
                format!("{} needs a first frame (first_image)", last.path),
            ));
        }
        out
    }
}
