//! Webhooks: the events a tenant can subscribe to, the Standard Webhooks signature, and the
//! retry schedule of a delivery.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Every event type, in the order the API lists them.
pub const EVENT_TYPES: [&str; 5] = [
    "asset.active",
    "asset.failed",
    "asset.held",
    "asset.deleted",
    "task.finished",
];

/// The most endpoints one tenant may register.
pub const MAX_WEBHOOKS_PER_TENANT: usize = 20;

const SECRET_PREFIX: &str = "whsec_";

super::asset_id::stamped_id_type!(
    /// A webhook endpoint's id: `wh-YYYYMMDDhhmmss-xxxxx`.
    WebhookId,
    "wh-"
);

/// A delivery's id as the API shows it: `dlv-YYYYMMDDhhmmss-` and 16 random lowercase hex
/// characters (64 bits: the database writes deliveries in bulk, many a second, so the suffix is
/// longer than the other ids'). Opaque: it tells nothing of how many deliveries the server has
/// made. The database gives one to every delivery its triggers write (the migrations); the
/// internal row number (`Delivery::id`) is never shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryId(String);

const DELIVERY_PREFIX: &str = "dlv-";

impl DeliveryId {
    /// A fresh id for a delivery created at `now`.
    pub fn generate(now: DateTime<Utc>) -> Self {
        Self(format!(
            "{DELIVERY_PREFIX}{}-{:016x}",
            now.format("%Y%m%d%H%M%S"),
            rand::random::<u64>()
        ))
    }

    /// Accepts only the exact shape.
    pub fn parse(raw: &str) -> Option<Self> {
        let (stamp, suffix) = raw.strip_prefix(DELIVERY_PREFIX)?.split_once('-')?;
        let stamp_ok = stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit());
        let suffix_ok = suffix.len() == 16
            && suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (stamp_ok && suffix_ok).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub tenant: String,
    pub url: String,
    /// `whsec_` and the base64 of the key (shown once, at creation).
    pub secret: String,
    pub events: Vec<String>,
    pub create_time: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Given up after the retry window.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One event for one endpoint, with its last attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The row's number: the store's key, in creation order across every tenant. Never shown.
    pub id: i64,
    /// The id the API shows.
    pub delivery_id: DeliveryId,
    pub webhook_id: String,
    pub tenant: String,
    pub event_id: String,
    pub event_type: String,
    /// The asset or task the event is about.
    pub subject_id: String,
    /// Its status when the event happened.
    pub status: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub response_status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub last_error: Option<String>,
    pub create_time: DateTime<Utc>,
    pub finish_time: Option<DateTime<Utc>>,
}

/// The subscribed events: each a known type, at least one; none given means all of them.
pub fn parse_events(raw: Option<&[String]>) -> Result<Vec<String>, String> {
    let Some(raw) = raw else {
        return Ok(EVENT_TYPES.iter().map(|e| (*e).to_owned()).collect());
    };
    if raw.is_empty() {
        return Err(format!(
            "events must name at least one of {} (or be left out for all)",
            EVENT_TYPES.join(", ")
        ));
    }
    let mut events = Vec::new();
    for event in raw {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(format!(
                "unknown event '{event}'; use any of {}",
                EVENT_TYPES.join(", ")
            ));
        }
        if !events.contains(event) {
            events.push(event.clone());
        }
    }
    Ok(events)
}

/// A new secret: `whsec_` and 24 random bytes in base64, as Standard Webhooks writes them.
pub fn generate_secret() -> String {
    let key: [u8; 24] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header of a message: `v1,` and the base64 HMAC-SHA256, keyed by the
/// secret's decoded bytes, of `{id}.{timestamp}.{body}` (the Standard Webhooks scheme).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD
        .decode(encoded)
        .map_err(|e| format!("the webhook secret is not base64: {e}"))?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|e| format!("the webhook secret cannot key HMAC: {e}"))?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// How long after its `attempts`-th failed attempt a delivery is tried again: 30 s doubling,
/// at most 2 hours between attempts (about 20 attempts in the 24 hours a delivery is tried).
pub fn retry_delay(base: Duration, attempts: u32) -> Duration {
    let doubled = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
    doubled.min(Duration::from_secs(2 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_vector() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .expect("signs");
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(sign("whsec_!!!", "id", 1, b"").is_err());
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_") && sign(&secret, "id", 1, b"x").is_ok());
    }

    #[test]
    fn events_default_to_all_and_refuse_unknown_ones() {
        assert_eq!(parse_events(None).expect("all").len(), 5);
        let some = vec!["asset.active".to_owned(), "asset.active".to_owned()];
        assert_eq!(
            parse_events(Some(&some)),
            Ok(vec!["asset.active".to_owned()])
        );
        assert!(parse_events(Some(&[])).is_err());
        let unknown = parse_events(Some(&["asset.created".to_owned()])).expect_err("unknown");
        assert!(unknown.contains("asset.created"), "{unknown}");
    }

    #[test]
    fn retries_double_up_to_two_hours() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(30));
        assert_eq!(retry_delay(base, 2), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 5), Duration::from_secs(480));
        assert_eq!(retry_delay(base, 9), Duration::from_secs(7200));
        assert_eq!(retry_delay(base, 40), Duration::from_secs(7200));
        let total: u64 = (1..=20).map(|n| retry_delay(base, n).as_secs()).sum();
        assert!(total > 24 * 3600, "{total} s: 20 attempts span the day");
    }

    #[test]
    fn delivery_ids_are_opaque_and_parsed_strictly() {
        let now = Utc::now();
        let a = DeliveryId::generate(now);
        let b = DeliveryId::generate(now);
        assert_ne!(a, b);
        assert_eq!(DeliveryId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(
            a.as_str().len(),
            "dlv-20260101000000-0123456789abcdef".len()
        );
        assert!(DeliveryId::parse("dlv-20260101000000-0123456789abcdef").is_some());
        for raw in [
            "",
            "1",
            "42",
            "dlv-",
            "dlv-20260101000000-0123456789abcde",
            "dlv-20260101000000-0123456789abcdeg",
            "dlv-20260101000000-0123456789ABCDEF",
            "dlv-2026010100000x-0123456789abcdef",
            "wh-20260101000000-0123456789abcdef",
        ] {
            assert_eq!(DeliveryId::parse(raw), None, "{raw}");
        }
    }

    #[test]
    fn webhook_ids_have_their_own_prefix() {
        let id = WebhookId::generate(Utc::now());
        assert!(WebhookId::parse(id.as_str()).is_some());
        assert!(WebhookId::parse("asset-20260101000000-aaaaa").is_none());
    }
}
