//! Sending webhook deliveries: POSTs through the same SSRF guard as fetches (scheme, IP
//! literals, and every address a name resolves to), never following a redirect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use url::Url;

use super::FetchError;
use super::guard::{AddressPolicy, BlockedAddress, GuardedResolver, NameLookup};
use super::http::{find_in_chain, install_crypto_provider, root_cause};
use crate::config::FetchConfig;

/// How long a receiver has to answer one delivery.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// What a receiver answered, and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    pub status: u16,
    pub latency: Duration,
}

/// Why a delivery got no answer (a sentence for the delivery log), and how long it tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnswered {
    pub error: String,
    pub latency: Duration,
}

/// Posts one webhook delivery.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs the JSON `body` with `headers` to `url`.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<Answered, NotAnswered>;

    /// Checks a URL before it is registered: its syntax, scheme and, for an IP literal, its
    /// address (names are checked at each delivery, as they resolve then).
    fn check(&self, url: &str) -> Result<(), FetchError>;
}

pub struct HttpWebhookSender {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

impl HttpWebhookSender {
    pub fn new(config: &FetchConfig, lookup: Arc<dyn NameLookup>) -> Result<Self, FetchError> {
        install_crypto_provider();
        let policy = Arc::new(AddressPolicy {
            allow_private: config.allow_private_networks,
            allow_networks: config.allow_networks.clone(),
        });
        let client = reqwest::Client::builder()
            .user_agent(concat!("assetlib-webhooks/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: Arc::clone(&policy),
                lookup,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(WEBHOOK_TIMEOUT)
            .build()
            .map_err(|e| {
                FetchError::LocalIo(format!("cannot build the HTTP client: {e}").into())
            })?;
        Ok(Self { client, policy })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<Answered, NotAnswered> {
        let started = Instant::now();
        let refused = |error: String| NotAnswered {
            error,
            latency: started.elapsed(),
        };
        self.check(url).map_err(|e| refused(e.to_string()))?;
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => Ok(Answered {
                status: response.status().as_u16(),
                latency: started.elapsed(),
            }),
            Err(e) => {
                let error = if let Some(blocked) = find_in_chain::<BlockedAddress>(&e) {
                    FetchError::Blocked {
                        host: blocked.host.clone(),
                        addr: blocked.addr,
                    }
                    .to_string()
                } else if e.is_timeout() {
                    format!("no answer within {} s", WEBHOOK_TIMEOUT.as_secs())
                } else {
                    root_cause(&e)
                };
                Err(refused(error))
            }
        }
    }

    fn check(&self, url: &str) -> Result<(), FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("{url}: {e}")))?;
        self.policy.check_url(&parsed)
    }
}
