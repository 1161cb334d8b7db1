//! Configuration files (TOML): `[limits.*]` tables laid over the defaults key by key,
//! `[moderation]`, `[tasks]` (per-model task rules, each model's table laid over `[tasks]`),
//! and `[dedupe]` (the tenants whose uploads are deduplicated by content).

use super::ModerationConfig;
use crate::domain::rules::MediaLimits;
use crate::domain::{ExpiryConfig, QuotaConfig, TaskProfile, TaskRules};

/// A configuration file that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// What a configuration file may set.
#[derive(Debug, Clone, PartialEq)]
pub struct FileConfig {
    pub limits: MediaLimits,
    pub moderation: ModerationConfig,
    pub tasks: TaskRules,
    /// `[dedupe] tenants`: tenants whose every upload is deduplicated (`"*"`: all).
    pub dedupe_tenants: Vec<String>,
    /// `[quotas]` and `[quotas.tenants.NAME]`.
    pub quotas: QuotaConfig,
    /// `[expiry]` and `[expiry.tenants.NAME]`.
    pub expiry: ExpiryConfig,
}

/// A whole configuration file: `[limits.*]`, `[moderation]` and `[tasks]`.
pub fn file_from_toml(text: &str) -> Result<FileConfig, ConfigError> {
    let file: toml::Table = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
    for key in file.keys() {
        if !matches!(
            key.as_str(),
            "limits" | "moderation" | "tasks" | "dedupe" | "quotas" | "expiry"
        ) {
            return Err(ConfigError(format!(
                "unknown section [{key}]; expected [limits.*], [moderation], [tasks], [dedupe], [quotas] or [expiry]"
            )));
        }
    }
    let moderation = match file.get("moderation") {
        None => ModerationConfig::default(),
        Some(value) => value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(format!("[moderation]: {e}")))?,
    };
    let tasks = match file.get("tasks") {
        None => TaskRules::default(),
        Some(value) => tasks_from_toml(value)?,
    };
    let dedupe_tenants = match file.get("dedupe") {
        None => Vec::new(),
        Some(value) => dedupe_from_toml(value)?,
    };
    let quotas = match file.get("quotas") {
        None => QuotaConfig::default(),
        Some(value) => quotas_from_toml(value)?,
    };
    let expiry = match file.get("expiry") {
        None => ExpiryConfig::default(),
        Some(value) => expiry_from_toml(value)?,
    };
    Ok(FileConfig {
        limits: limits_from_toml(text)?,
        moderation,
        tasks,
        dedupe_tenants,
        quotas,
        expiry,
    })
}

/// `[quotas]`: `max_assets`, `max_bytes`, `uploads_per_minute` for every tenant, and
/// `[quotas.tenants.NAME]` with the same keys for one tenant (laid over `[quotas]`).
fn quotas_from_toml(value: &toml::Value) -> Result<QuotaConfig, ConfigError> {
    let (default, tenants) = per_tenant("quotas", value)?;
    Ok(QuotaConfig { default, tenants })
}

/// `[expiry]`: `unused_days`, `max_age_days` for every tenant, and `[expiry.tenants.NAME]`.
fn expiry_from_toml(value: &toml::Value) -> Result<ExpiryConfig, ConfigError> {
    let (default, tenants): (crate::domain::ExpiryPolicy, _) = per_tenant("expiry", value)?;
    let policies = std::iter::once(("[expiry]".to_owned(), &default)).chain(
        tenants
            .iter()
            .map(|(t, p)| (format!("[expiry.tenants.{t}]"), p)),
    );
    for (place, policy) in policies {
        for (key, days) in [
            ("unused_days", policy.unused_days),
            ("max_age_days", policy.max_age_days),
        ] {
            if let Some(days) = days
                && !(1..=36_500).contains(&days)
            {
                return Err(ConfigError(format!(
                    "{place} {key} = {days}: give 1 to 36500 days (leave it out for no limit)"
                )));
            }
        }
    }
    Ok(ExpiryConfig { default, tenants })
}

/// A section whose keys apply to every tenant and whose `tenants.NAME` tables hold the same
/// keys for one tenant.
fn per_tenant<T: serde::de::DeserializeOwned>(
    section: &str,
    value: &toml::Value,
) -> Result<(T, std::collections::BTreeMap<String, T>), ConfigError> {
    let toml::Value::Table(table) = value else {
        return Err(ConfigError(format!("[{section}] must be a table")));
    };
    let mut table = table.clone();
    let tenants = match table.remove("tenants") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t,
        Some(_) => {
            return Err(ConfigError(format!(
                "[{section}] tenants must be tables: [{section}.tenants.NAME]"
            )));
        }
    };
    let parse = |value: toml::Value, place: &str| -> Result<T, ConfigError> {
        value
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(format!("{place}: {e}")))
    };
    let default = parse(toml::Value::Table(table), &format!("[{section}]"))?;
    let mut own = std::collections::BTreeMap::new();
    for (tenant, value) in tenants {
        let parsed = parse(value, &format!("[{section}.tenants.{tenant}]"))?;
        own.insert(tenant, parsed);
    }
    Ok((default, own))
}

/// `[dedupe]`: `tenants = ["studio", …]` (or `["*"]`), nothing else.
fn dedupe_from_toml(value: &toml::Value) -> Result<Vec<String>, ConfigError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Dedupe {
        #[serde(default)]
        tenants: Vec<String>,
    }
    let dedupe: Dedupe = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError(format!("[dedupe]: {e}")))?;
    if dedupe.tenants.iter().any(|t| t.trim().is_empty()) {
        return Err(ConfigError(
            "[dedupe] tenants: a tenant name is empty".to_owned(),
        ));
    }
    Ok(dedupe.tenants)
}

/// `[tasks]` (the profile of every model not named) laid over the shipped defaults, and each
/// `[tasks.models."NAME"]` laid over `[tasks]`, key by key.
fn tasks_from_toml(value: &toml::Value) -> Result<TaskRules, ConfigError> {
    let toml::Value::Table(table) = value else {
        return Err(ConfigError("[tasks] must be a table".to_owned()));
    };
    let mut base =
        toml::Table::try_from(TaskProfile::default()).map_err(|e| ConfigError(e.to_string()))?;
    let mut models = None;
    for (key, v) in table {
        if key == "models" {
            models = Some(v);
        } else {
            base.insert(key.clone(), v.clone());
        }
    }
    let profile = |table: toml::Table, name: &str| -> Result<TaskProfile, ConfigError> {
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(format!("{name}: {e}")))
    };
    let mut rules = TaskRules {
        default: profile(base.clone(), "[tasks]")?,
        models: Default::default(),
    };
    if let Some(models) = models {
        let toml::Value::Table(models) = models else {
            return Err(ConfigError("[tasks.models] must be a table".to_owned()));
        };
        for (model, over) in models {
            let name = format!("[tasks.models.\"{model}\"]");
            let toml::Value::Table(over) = over else {
                return Err(ConfigError(format!("{name} must be a table")));
            };
            let mut merged = base.clone();
            for (key, v) in over {
                merged.insert(key.clone(), v.clone());
            }
            rules.models.insert(model.clone(), profile(merged, &name)?);
        }
    }
    Ok(rules)
}

/// Media limits from a TOML document: its `[limits.*]` tables are laid over the defaults, key
/// by key, so a file names only what it changes. Unknown keys are refused.
pub fn limits_from_toml(text: &str) -> Result<MediaLimits, ConfigError> {
    let mut file: toml::Table = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
    file.remove("moderation");
    file.remove("tasks");
    file.remove("dedupe");
    file.remove("quotas");
    file.remove("expiry");
    for key in file.keys() {
        if key != "limits" {
            return Err(ConfigError(format!(
                "unknown section [{key}]; expected [limits.*]"
            )));
        }
    }
    let mut merged =
        toml::Table::try_from(MediaLimits::default()).map_err(|e| ConfigError(e.to_string()))?;
    if let Some(limits) = file.get("limits") {
        let toml::Value::Table(limits) = limits else {
            return Err(ConfigError("[limits] must be a table".to_owned()));
        };
        for (section, value) in limits {
            let (Some(toml::Value::Table(base)), toml::Value::Table(over)) =
                (merged.get_mut(section), value)
            else {
                return Err(ConfigError(format!(
                    "unknown table [limits.{section}]; expected image, video, audio, document, image_rules, video_rules or audio_rules"
                )));
            };
            for (key, v) in over {
                base.insert(key.clone(), v.clone());
            }
        }
    }
    toml::Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModerationConfig;
    use crate::domain::FacePolicy;
    use crate::domain::Quota;

    #[test]
    fn limits_files_override_only_what_they_name() {
        let limits = limits_from_toml(
            "[limits.video_rules]\nallow_1080p = true\nmax_fps = 30.0\n[limits.audio]\nmax_bytes = 1000\n",
        )
        .expect("valid file");
        let defaults = MediaLimits::default();
        assert!(limits.video_rules.allow_1080p);
        assert_eq!(limits.video_rules.max_fps, 30.0);
        assert_eq!(limits.video_rules.min_fps, defaults.video_rules.min_fps);
        assert_eq!(limits.audio.max_bytes, 1000);
        assert_eq!(limits.audio.formats, defaults.audio.formats);
        assert_eq!(limits.image, defaults.image);
        assert_eq!(limits_from_toml("").expect("empty file"), defaults);

        for bad in [
            "[limits.video_rules]\nmax_fsp = 30.0",
            "[limits.videos]\nmax_bytes = 1",
            "[server]\nlisten = 1",
            "[limits.audio]\nmax_bytes = \"big\"",
            "not toml at all [",
        ] {
            assert!(limits_from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quotas_name_limits_per_tenant() {
        let file = file_from_toml(
            "[quotas]\nmax_assets = 1000\nuploads_per_minute = 60\n\
             [quotas.tenants.studio]\nmax_assets = 5\nmax_bytes = 1048576\n",
        )
        .expect("valid");
        assert_eq!(
            file.quotas.for_tenant("studio"),
            Quota {
                max_assets: Some(5),
                max_bytes: Some(1_048_576),
                uploads_per_minute: Some(60),
            }
        );
        assert_eq!(file.quotas.for_tenant("other").max_assets, Some(1000));
        assert!(
            file_from_toml("")
                .expect("empty")
                .quotas
                .default
                .is_unlimited()
        );
        for bad in [
            "[quotas]\nmax_asset = 1",
            "[quotas]\nmax_assets = -1",
            "[quotas]\ntenants = 3",
            "[quotas.tenants.studio]\nmax_bytes = \"1 GB\"",
        ] {
            assert!(file_from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry_names_days_per_tenant() {
        let file = file_from_toml(
            "[expiry]\nunused_days = 30\n[expiry.tenants.trial]\nmax_age_days = 7\n",
        )
        .expect("valid");
        let trial = file.expiry.for_tenant("trial");
        assert_eq!((trial.unused_days, trial.max_age_days), (Some(30), Some(7)));
        assert!(file_from_toml("").expect("empty").expiry.default.is_never());
        for bad in [
            "[expiry]\nunused = 1",
            "[expiry]\nunused_days = -3",
            "[expiry]\nunused_days = 0",
            "[expiry.tenants.t]\nmax_age_days = 4294967295",
        ] {
            assert!(file_from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dedupe_names_tenants() {
        let file = file_from_toml("[dedupe]\ntenants = [\"studio\", \"*\"]\n").expect("valid");
        assert_eq!(file.dedupe_tenants, vec!["studio", "*"]);
        assert!(file_from_toml("").expect("empty").dedupe_tenants.is_empty());
        for bad in [
            "[dedupe]\ntenants = \"studio\"",
            "[dedupe]\ntenant = [\"studio\"]",
            "[dedupe]\ntenants = [\"\"]",
        ] {
            assert!(file_from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn moderation_policy_per_tenant() {
        let file = file_from_toml(
            "[moderation]\nfaces = \"reject\"\nunscannable = \"allow\"\n[moderation.tenants]\nstudio = \"allow\"\n",
        )
        .expect("valid");
        assert_eq!(file.moderation.policy_for("studio"), FacePolicy::Allow);
        assert_eq!(file.moderation.policy_for("other"), FacePolicy::Reject);
        assert_eq!(file.moderation.unscannable, FacePolicy::Allow);
        assert_eq!(
            file_from_toml("").expect("empty").moderation,
            ModerationConfig::default()
        );
        assert!(file_from_toml("[moderation]\nfaces = \"maybe\"").is_err());
        assert!(file_from_toml("[moderation]\nface = \"hold\"").is_err());
    }

    #[test]
    fn moderation_detector_is_chosen_by_name() {
        use crate::domain::FaceDetectorKind;
        assert_eq!(
            file_from_toml("").expect("empty").moderation.detector,
            FaceDetectorKind::Mtcnn
        );
        let removed = file_from_toml("[moderation]\ndetector = \"seetaface\"")
            .expect_err("seetaface was removed");
        assert!(
            format!("{removed:#}").contains("'seetaface' was removed"),
            "{removed:#}"
        );
        assert!("seetaface".parse::<FaceDetectorKind>().is_err());
        assert!(file_from_toml("[moderation]\ndetector = \"yolo\"").is_err());
        assert_eq!("mtcnn".parse(), Ok(FaceDetectorKind::Mtcnn));
        assert!("blaze".parse::<FaceDetectorKind>().is_err());
    }

    #[test]
    fn task_profiles_per_model() {
        let file = file_from_toml(
            "[tasks]\nmax_reference_duration_ms = 15000\n[tasks.models.\"seedance-2.0-lite\"]\nframes_with_references = true\nrequired = [\"prompt\"]\n",
        )
        .expect("valid");
        let shipped = TaskProfile::default();
        assert!(!shipped.frames_with_references);
        assert!(shipped.last_without_first);
        let other = file.tasks.profile_for(Some("seedance-2.0"));
        assert_eq!(other.max_reference_duration_ms, 15000);
        assert!(!other.frames_with_references);
        assert_eq!(file.tasks.profile_for(None), other);
        let lite = file.tasks.profile_for(Some("seedance-2.0-lite"));
        assert!(lite.frames_with_references);
        assert!(lite.last_without_first);
        assert_eq!(lite.max_reference_duration_ms, 15000, "laid over [tasks]");
        assert_eq!(lite.required, vec!["prompt".to_owned()]);
        assert_eq!(
            file_from_toml("").expect("empty").tasks,
            TaskRules::default()
        );
        for bad in [
            "[tasks]\nframes_with_refs = true",
            "[tasks.models.x]\nlast_without_first = \"yes\"",
            "[tasks]\nmodels = 3",
            "tasks = 1",
        ] {
            assert!(file_from_toml(bad).is_err(), "{bad}");
        }
    }
}
