//! Groups: a tenant's named folders of assets (one model, shown by every face).

use chrono::{DateTime, Utc};

super::asset_id::stamped_id_type!(
    /// A group identifier: `group-YYYYMMDDhhmmss-xxxxx`, shaped like asset ids.
    GroupId,
    "group-"
);

/// One group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub tenant: String,
    pub name: String,
    pub description: Option<String>,
    /// Live assets in the group.
    pub asset_count: u64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// The longest group name, in characters.
pub const GROUP_NAME_MAX_CHARS: usize = 64;
/// The longest group description, in characters.
pub const GROUP_DESCRIPTION_MAX_CHARS: usize = 300;

/// A group's name: required, trimmed, 1–64 characters, no control characters.
pub fn parse_group_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("a group needs a name (1 to 64 characters)".to_owned());
    }
    check_text("name", name, GROUP_NAME_MAX_CHARS)?;
    Ok(name.to_owned())
}

/// A group's description: optional (empty is none), at most 300 characters.
pub fn parse_group_description(raw: &str) -> Result<Option<String>, String> {
    let description = raw.trim();
    check_text("description", description, GROUP_DESCRIPTION_MAX_CHARS)?;
    Ok(Some(description.to_owned()).filter(|d| !d.is_empty()))
}

fn check_text(what: &str, text: &str, max: usize) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > max {
        return Err(format!(
            "the group's {what} is {chars} characters long; at most {max} are allowed"
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!(
            "the group's {what} must not contain control characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn group_ids_have_their_own_prefix() {
        let now = Utc
            .with_ymd_and_hms(2026, 5, 28, 6, 9, 22)
            .single()
            .expect("valid time");
        let id = GroupId::generate(now);
        assert!(id.as_str().starts_with("group-20260528060922-"), "{id}");
        assert_eq!(GroupId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(
            GroupId::parse(&id.as_str().replace("group-", "asset-")),
            None
        );
        assert_eq!(GroupId::parse("group-20260528060922-ABCDE"), None);
    }

    #[test]
    fn names_and_descriptions_are_bounded() {
        assert_eq!(parse_group_name("  Heroes "), Ok("Heroes".to_owned()));
        assert!(parse_group_name("   ").is_err());
        assert!(parse_group_name(&"é".repeat(64)).is_ok());
        assert!(parse_group_name(&"é".repeat(65)).is_err());
        assert!(parse_group_name("a\u{7}b").is_err());
        assert_eq!(parse_group_description(""), Ok(None));
        assert!(parse_group_description(&"x".repeat(300)).is_ok());
        let long = parse_group_description(&"x".repeat(301)).expect_err("too long");
        assert!(long.contains("301 characters"), "{long}");
    }
}
