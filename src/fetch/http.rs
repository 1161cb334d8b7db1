use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use reqwest::redirect::{Attempt, Policy};
use url::Url;

use super::guard::{AddressPolicy, BlockedAddress, GuardedResolver, NameLookup};
use super::{FetchError, FetchedFile, Fetcher, Spool};
use crate::config::FetchConfig;

/// The production fetcher: reqwest with the SSRF guard on every resolution and redirect.
pub struct HttpFetcher {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
    tmp_dir: PathBuf,
    total_timeout: Duration,
}

/// A redirect the policy refused, carried through reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRefused(FetchError);

fn redirect_policy(policy: Arc<AddressPolicy>, max: usize) -> Policy {
    Policy::custom(move |attempt: Attempt| {
        if attempt.previous().len() > max {
            return attempt.error(RedirectRefused(FetchError::TooManyRedirects(max)));
        }
        match policy.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(FetchError::UnsupportedScheme(_)) => {
                let target = shorten(attempt.url().as_str());
                attempt.error(RedirectRefused(FetchError::BadRedirect(target)))
            }
            Err(e) => attempt.error(RedirectRefused(e)),
        }
    })
}

/// The statuses a client follows to their `Location`.
fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Why a redirect came back unfollowed. The client follows every redirect whose `Location`
/// is an http(s) URL (re-checked by the policy above); one it hands back points elsewhere
/// (`file:`, `data:`, `javascript:`…) or is not a URL at all. Without a `Location` it is the
/// source's own error.
fn unfollowed_redirect(response: &reqwest::Response) -> FetchError {
    let status = response.status();
    let Some(location) = response.headers().get(LOCATION) else {
        return FetchError::HttpStatus(status.as_u16());
    };
    let target = match location.to_str().map(|l| response.url().join(l)) {
        Ok(Ok(url)) => url.to_string(),
        _ => String::from_utf8_lossy(location.as_bytes()).into_owned(),
    };
    FetchError::BadRedirect(shorten(&target))
}

/// A URL from a source server, cut to a length fit for a message.
fn shorten(url: &str) -> String {
    const MAX_CHARS: usize = 200;
    if url.chars().count() <= MAX_CHARS {
        return url.to_owned();
    }
    let mut cut: String = url.chars().take(MAX_CHARS).collect();
    cut.push('…');
    cut
}

pub(super) fn find_in_chain<'a, T: StdError + 'static>(
    e: &'a (dyn StdError + 'static),
) -> Option<&'a T> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

pub(super) fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

impl HttpFetcher {
    pub fn new(
        config: &FetchConfig,
        lookup: Arc<dyn NameLookup>,
        tmp_dir: PathBuf,
    ) -> Result<Self, FetchError> {
        install_crypto_provider();
        let policy = Arc::new(AddressPolicy {
            allow_private: config.allow_private_networks,
            allow_networks: config.allow_networks.clone(),
        });
        let client = reqwest::Client::builder()
            .user_agent(concat!("assetlib/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: Arc::clone(&policy),
                lookup,
            }))
            .redirect(redirect_policy(Arc::clone(&policy), config.max_redirects))
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .build()
            .map_err(|e| {
                FetchError::LocalIo(format!("cannot build the HTTP client: {e}").into())
            })?;
        Ok(Self {
            client,
            policy,
            tmp_dir,
            total_timeout: config.total_timeout,
        })
    }

    fn classify(&self, e: &reqwest::Error) -> FetchError {
        if let Some(refused) = find_in_chain::<RedirectRefused>(e) {
            return refused.0.clone();
        }
        if let Some(blocked) = find_in_chain::<BlockedAddress>(e) {
            return FetchError::Blocked {
                host: blocked.host.clone(),
                addr: blocked.addr,
            };
        }
        if e.is_timeout() {
            return FetchError::Timeout(self.total_timeout.as_secs());
        }
        FetchError::Unreachable(root_cause(e))
    }

    async fn download(&self, url: &Url, max_bytes: u64) -> Result<FetchedFile, FetchError> {
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| self.classify(&e))?;
        let status = response.status();
        if is_followed_redirect(status) {
            return Err(unfollowed_redirect(&response));
        }
        if !status.is_success() {
            return Err(FetchError::HttpStatus(status.as_u16()));
        }
        if let Some(declared) = response.content_length().filter(|n| *n > max_bytes) {
            return Err(FetchError::TooLarge {
                limit: max_bytes,
                declared: Some(declared),
            });
        }
        let mut spool = Spool::create(&self.tmp_dir, "fetch-", max_bytes)?;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.classify(&e))?;
            spool.write(&chunk).await?;
        }
        spool.finish().await
    }
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn fetch(&self, url: &Url, max_bytes: u64) -> Result<FetchedFile, FetchError> {
        self.policy.check_url(url)?;
        // reqwest's timeout covers the body too; this outer bound is a backstop.
        let bound = self.total_timeout + Duration::from_secs(1);
        match tokio::time::timeout(bound, self.download(url, max_bytes)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(self.total_timeout.as_secs())),
        }
    }
}

/// rustls needs one process-wide crypto provider; installing twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
