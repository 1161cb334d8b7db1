//! A start-up check: signed content URLs that a configured upstream could not fetch.

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

use crate::config::Config;
use crate::fetch::guard::is_global;

/// Why the upstream could not fetch this server's signed content URLs, when it could not:
/// their base (`--public-url`, default `http://LISTEN`) names a loopback, private or otherwise
/// non-public address, or `localhost`. Names are not resolved.
pub fn unreachable_content_urls(config: &Config, addr: SocketAddr) -> Option<String> {
    let upstream = config.upstream.as_ref()?;
    if config.presign_content {
        return None;
    }
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let what = match Url::parse(&base).ok()?.host()? {
        Host::Ipv4(ip) => non_public(IpAddr::V4(ip))?,
        Host::Ipv6(ip) => non_public(IpAddr::V6(ip))?,
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name != "localhost" && !name.ends_with(".localhost") {
                return None;
            }
            "a loopback name"
        }
    };
    let flag = if config.public_url.is_some() {
        "--public-url"
    } else {
        "the default of --public-url (http://LISTEN)"
    };
    Some(format!(
        "signed content URLs start with {base} ({flag}), {what}: the generation service at {} \
         cannot fetch the assets a task refers to; set --public-url to an address it can reach",
        upstream.url
    ))
}

fn non_public(ip: IpAddr) -> Option<&'static str> {
    if is_global(ip) {
        return None;
    }
    Some(if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() {
        "the unspecified address"
    } else {
        "a private or non-public address"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamConfig;

    fn with(public_url: Option<&str>, upstream: bool) -> Option<String> {
        let mut config = Config::for_data_dir("/tmp/x");
        config.public_url = public_url.map(str::to_owned);
        config.upstream = upstream.then(|| UpstreamConfig {
            url: "https://upstream.example".into(),
            key: "k".into(),
        });
        let addr = "127.0.0.1:8080".parse().expect("addr");
        unreachable_content_urls(&config, addr)
    }

    #[test]
    fn names_the_problem_only_with_an_upstream() {
        assert_eq!(with(None, false), None);
        let default = with(None, true).expect("loopback default");
        assert!(default.contains("http://127.0.0.1:8080") && default.contains("loopback"));
        assert!(
            with(Some("http://10.1.2.3:8080"), true)
                .expect("private")
                .contains("private")
        );
        assert!(with(Some("http://localhost:8080"), true).is_some());
        assert!(with(Some("http://[::1]:8080"), true).is_some());
        assert_eq!(with(Some("https://assets.example.com"), true), None);
        assert!(with(Some("http://203.0.113.9"), true).is_some());
        assert_eq!(with(Some("http://8.8.8.8"), true), None);
    }
}
