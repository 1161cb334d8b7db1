use chrono::{DateTime, Utc};
use rand::Rng;

const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// An id type of the shape `{prefix}YYYYMMDDhhmmss-xxxxx` (UTC creation time and five random
/// lowercase base36 characters): generated fresh, parsed only in that exact shape (anything else
/// is `None`, and answers as "not found").
macro_rules! stamped_id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A fresh id for something created at `now`.
            pub fn generate(now: chrono::DateTime<chrono::Utc>) -> Self {
                Self($crate::domain::asset_id::stamped_id($prefix, now))
            }

            /// Accepts only the exact shape.
            pub fn parse(raw: &str) -> Option<Self> {
                $crate::domain::asset_id::is_stamped_id($prefix, raw).then(|| Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(super) use stamped_id_type;

stamped_id_type!(
    /// An asset identifier: `asset-YYYYMMDDhhmmss-xxxxx`, e.g. `asset-20260330142158-q75m8`.
    AssetId,
    "asset-"
);

/// `{prefix}YYYYMMDDhhmmss-xxxxx`: the UTC time and five random lowercase base36 characters.
pub(super) fn stamped_id(prefix: &str, now: DateTime<Utc>) -> String {
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{}-{suffix}", now.format("%Y%m%d%H%M%S"))
}

/// Whether `raw` has exactly the shape `stamped_id` gives with this prefix.
pub(super) fn is_stamped_id(prefix: &str, raw: &str) -> bool {
    let Some((stamp, suffix)) = raw.strip_prefix(prefix).and_then(|r| r.split_once('-')) else {
        return false;
    };
    let stamp_ok = stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit());
    let suffix_ok = suffix.len() == 5 && suffix.bytes().all(|b| ALPHABET.contains(&b));
    stamp_ok && suffix_ok
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
