//! Configuration files (TOML): `[limits.*]` tables laid over the defaults key by key, and
//! `[moderation]`.

use super::ModerationConfig;
use crate::domain::rules::MediaLimits;

/// A configuration file that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// What a configuration file may set.
#[derive(Debug, Clone, PartialEq)]
pub struct FileConfig {
    pub limits: MediaLimits,
    pub moderation: ModerationConfig,
}

/// A whole configuration file: `[limits.*]` and `[moderation]`.
pub fn file_from_toml(text: &str) -> Result<FileConfig, ConfigError> {
    let file: toml::Table = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
    for key in file.keys() {
        if key != "limits" && key != "moderation" {
            return Err(ConfigError(format!(
                "unknown section [{key}]; expected [limits.*] or [moderation]"
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
    Ok(FileConfig {
        limits: limits_from_toml(text)?,
        moderation,
    })
}

/// Media limits from a TOML document: its `[limits.*]` tables are laid over the defaults, key
/// by key, so a file names only what it changes. Unknown keys are refused.
pub fn limits_from_toml(text: &str) -> Result<MediaLimits, ConfigError> {
    let mut file: toml::Table = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
    file.remove("moderation");
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
}
