//! Small text rules every face shares: how times are written, how secrets are compared.

use chrono::{DateTime, SecondsFormat, Utc};

/// A time as the JSON answers write it: RFC 3339 in UTC with milliseconds
/// (`2026-05-28T06:09:22.123Z`).
pub fn rfc3339_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whether two signatures (or other secrets) are equal, in a time that does not depend on where
/// they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A duration as query parameters write it: whole seconds (`3600`), or a whole number with a
/// unit `s`, `m`, `h` or `d` (`90s`, `15m`, `1h`, `2d`).
pub fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let raw = raw.trim();
    let (digits, unit) = match raw.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&raw[..i], c),
        _ => (raw, 's'),
    };
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 0,
    };
    digits
        .parse::<u64>()
        .ok()
        .filter(|_| per > 0 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.checked_mul(per))
        .filter(|secs| *secs <= 100 * 365 * 86_400)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| {
            format!(
                "'{raw}' is not a duration; write whole seconds (3600) or a number with s, m, h or d (90s, 15m, 1h, 2d)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_seconds_or_with_a_unit() {
        let secs = |raw| parse_duration(raw).map(|d| d.as_secs());
        assert_eq!(secs("3600"), Ok(3600));
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs("1h"), Ok(3600));
        assert_eq!(secs("2d"), Ok(172_800));
        assert_eq!(secs("0"), Ok(0));
        for bad in [
            "",
            "h",
            "-5",
            "1.5h",
            "1w",
            "+3",
            "1 h",
            "99999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
