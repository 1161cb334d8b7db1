//! The SSRF guard: which addresses the fetcher may reach, and a DNS resolver that refuses
//! names resolving to any address outside that set.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::FetchError;

/// Which addresses may be fetched: public ones always; private ones only when allowed.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    pub allow_private: bool,
    pub allow_networks: Vec<IpNet>,
}

impl AddressPolicy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private || is_global(ip) || self.allow_networks.iter().any(|n| n.contains(&ip))
    }

    /// Checks a URL before any connection: scheme, and the host when it is an IP literal.
    /// (Names are checked after resolution, by `GuardedResolver`.)
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(FetchError::UnsupportedScheme(other.to_owned())),
        }
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(FetchError::InvalidUrl(url.to_string())),
        };
        if self.permits(ip) {
            Ok(())
        } else {
            Err(FetchError::Blocked {
                host: url.host_str().unwrap_or_default().to_owned(),
                addr: ip,
            })
        }
    }
}

/// Whether an address is globally routable (not loopback, private, link-local, shared,
/// documentation, multicast, reserved… in v4 or v6, including v4 embedded in v6).
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let blocked = a == 0                                  // "this network"
        || a == 10                                        // private
        || a == 127                                       // loopback
        || (a == 100 && (64..128).contains(&b))           // shared address space (CGNAT)
        || (a == 169 && b == 254)                         // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))            // private
        || (a == 192 && b == 0 && c == 0)                 // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                 // documentation
        || (a == 192 && b == 88 && c == 99)               // 6to4 relay anycast
        || (a == 192 && b == 168)                         // private
        || (a == 198 && (b == 18 || b == 19))             // benchmarking
        || (a == 198 && b == 51 && c == 100)              // documentation
        || (a == 203 && b == 0 && c == 113)               // documentation
        || a >= 224; // multicast, reserved, broadcast
    !blocked
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x0064 && s[1] == 0xff9b {
        // NAT64: judge the embedded v4 address.
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_global_v4(v4);
    }
    if s[0] == 0x2002 {
        // 6to4: judge the embedded v4 address.
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_global_v4(v4);
    }
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || s[0..6] == [0; 6]                              // ::/96 (v4-compatible, deprecated)
        || (s[0] == 0x0100 && s[1..4] == [0; 3])          // discard-only 100::/64
        || (s[0] & 0xfe00) == 0xfc00                      // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80                      // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0                      // site-local fec0::/10
        || (s[0] & 0xff00) == 0xff00                      // multicast
        || (s[0] == 0x2001 && s[1] < 0x0200)              // IETF protocol assignments incl. Teredo
        || (s[0] == 0x2001 && s[1] == 0x0db8); // documentation
    !blocked
}

/// Looks up the addresses of a host name.
#[async_trait]
pub trait NameLookup: Send + Sync {
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The system resolver (getaddrinfo through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

#[async_trait]
impl NameLookup for SystemLookup {
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

/// A fixed table of names, for tests and for pinning names in configuration.
#[derive(Debug, Clone, Default)]
pub struct StaticLookup(pub HashMap<String, Vec<IpAddr>>);

#[async_trait]
impl NameLookup for StaticLookup {
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.0
            .get(host)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no such host: {host}")))
    }
}

/// A refused resolution, found again in reqwest's error chain to classify the failure.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {addr}, which is not a public address")]
pub struct BlockedAddress {
    pub host: String,
    pub addr: IpAddr,
}

/// reqwest resolver that refuses a name when any of its addresses is not permitted
/// (so a name with one public and one private answer cannot be used to reach the private one).
pub struct GuardedResolver {
    pub policy: Arc<AddressPolicy>,
    pub lookup: Arc<dyn NameLookup>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let lookup = Arc::clone(&self.lookup);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = lookup.lookup(&host).await?;
            if addrs.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host} has no address"),
                )
                .into());
            }
            if let Some(bad) = addrs.iter().copied().find(|ip| !policy.permits(*ip)) {
                return Err(Box::new(BlockedAddress { host, addr: bad }) as _);
            }
            let out: Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn non_global_addresses_are_refused() {
        for s in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            "ff02::1",
            "::127.0.0.1",
        ] {
            assert!(!is_global(ip(s)), "{s} must not be global");
        }
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_global(ip(s)), "{s} must be global");
        }
    }

    #[test]
    fn url_spellings_of_loopback_are_refused() {
        let policy = AddressPolicy::default();
        for raw in [
            "http://127.0.0.1/x",
            "http://2130706433/x",
            "http://0177.0.0.1/x",
            "http://0x7f.0.0.1/x",
            "http://127.1/x",
            "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://0.0.0.0/x",
            "http://169.254.169.254/latest/meta-data",
        ] {
            let url = Url::parse(raw).expect("parses");
            assert!(
                matches!(policy.check_url(&url), Err(FetchError::Blocked { .. })),
                "{raw} must be refused"
            );
        }
        let ftp = Url::parse("ftp://example.com/a.png").expect("parses");
        assert_eq!(
            policy.check_url(&ftp),
            Err(FetchError::UnsupportedScheme("ftp".into()))
        );
        let public = Url::parse("https://example.com/a.png").expect("parses");
        assert_eq!(policy.check_url(&public), Ok(()));
    }

    #[test]
    fn allow_lists_open_exactly_what_they_name() {
        let policy = AddressPolicy {
            allow_private: false,
            allow_networks: vec!["127.0.0.1/32".parse().expect("cidr")],
        };
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(!policy.permits(ip("127.0.0.2")));
        assert!(
            AddressPolicy {
                allow_private: true,
                allow_networks: vec![]
            }
            .permits(ip("10.0.0.1"))
        );
    }
}
