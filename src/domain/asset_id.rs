use std::fmt;

use chrono::{DateTime, Utc};
use rand::Rng;

const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const PREFIX: &str = "asset-";

/// An asset identifier: `asset-YYYYMMDDhhmmss-xxxxx` (UTC creation time and five random
/// lowercase base36 characters), e.g. `asset-20260330142158-q75m8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetId(String);

impl AssetId {
    /// A fresh id for an asset created at `now`.
    pub fn generate(now: DateTime<Utc>) -> Self {
        let mut rng = rand::rng();
        let suffix: String = (0..5)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Self(format!("{PREFIX}{}-{suffix}", now.format("%Y%m%d%H%M%S")))
    }

    /// Accepts only the exact shape; anything else is `None` (and answers as "not found").
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(PREFIX)?;
        let (stamp, suffix) = rest.split_once('-')?;
        let stamp_ok = stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit());
        let suffix_ok = suffix.len() == 5 && suffix.bytes().all(|b| ALPHABET.contains(&b));
        (stamp_ok && suffix_ok).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn generated_ids_have_the_documented_shape() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 30, 14, 21, 58)
            .single()
            .expect("valid time");
        for _ in 0..1000 {
            let id = AssetId::generate(now);
            assert!(id.as_str().starts_with("asset-20260330142158-"), "{id}");
            assert_eq!(id.as_str().len(), "asset-20260330142158-q75m8".len());
            assert_eq!(AssetId::parse(id.as_str()), Some(id));
        }
    }

    #[test]
    fn parse_refuses_other_shapes() {
        for raw in [
            "",
            "asset-",
            "asset-20260330142158-Q75M8",
            "asset-2026033014215-q75m8",
            "asset-20260330142158-q75m",
            "asset-20260330142158-q75m8x",
            "Asset-20260330142158-q75m8",
            "asset-2026033014215x-q75m8",
            "asset-20260330142158_q75m8",
        ] {
            assert_eq!(AssetId::parse(raw), None, "{raw:?}");
        }
        assert!(AssetId::parse("asset-20260330142158-q75m8").is_some());
    }
}
