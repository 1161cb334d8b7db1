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
    match embedded_ipv4(ip) {
        Some(Embedded::V4(v4)) => return is_global_v4(v4),
        Some(Embedded::Invalid) => return false,
        None => {}
    }
    let s = ip.segments();
    // Outside 2000::/3 lie unspecified, loopback, IPv4-compatible, discard-only (100::/64),
    // unique local (fc00::/7), link- and site-local (fe80::/10, fec0::/10) and multicast.
    let blocked = (s[0] & 0xe000) != 0x2000               // not global unicast
        || (s[0] == 0x2001 && s[1] < 0x0200)              // IETF protocol assignments incl. Teredo
        || (s[0] == 0x2001 && s[1] == 0x0db8); // documentation
    !blocked
}

/// The IPv4 address an IPv6 address stands for, when it lies in a range that embeds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Embedded {
    V4(Ipv4Addr),
    /// In such a range, but not a well-formed address of it.
    Invalid,
}

/// Reads the IPv4 address embedded in the ranges that carry one; `None` elsewhere.
///
/// - `::ffff:a.b.c.d`, IPv4-mapped (RFC 4291 §2.5.5.2), and `::ffff:0:a.b.c.d`,
///   IPv4-translated (RFC 2765 §2.1, used by SIIT, RFC 6145): the last 32 bits.
/// - `64:ff9b::/96`, the NAT64 well-known prefix (RFC 6052 §2.1): the last 32 bits. The rest
///   of `64:ff9b::/32` outside the two NAT64 prefixes is not an address of either: invalid.
/// - `64:ff9b:1::/48`, the NAT64 local-use prefix (RFC 8215), with RFC 6052 §2.2's layout for
///   a /48: bits 48–63 hold the first two octets, bits 64–71 are the "u" octet, which must be
///   zero, bits 72–87 hold the last two octets, and bits 88–127 are the suffix, which must be
///   zero too. (RFC 8215 lets an operator place a longer prefix inside this /48, whose layout
///   puts the IPv4 elsewhere; an address alone does not tell, so it is read as the /48.)
/// - `2002::/16`, 6to4 (RFC 3056): bits 16–47.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Embedded> {
    let s = ip.segments();
    let o = ip.octets();
    let last32 = || Embedded::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    if s[0..6] == [0, 0, 0, 0, 0, 0xffff] {
        return Some(last32());
    }
    if s[0..6] == [0, 0, 0, 0, 0xffff, 0] {
        return Some(last32());
    }
    if s[0] == 0x0064 && s[1] == 0xff9b {
        if s[2..6] == [0; 4] {
            return Some(last32());
        }
        if s[2] == 0x0001 {
            let u = o[8];
            let suffix = &o[11..16];
            if u != 0 || suffix.iter().any(|b| *b != 0) {
                return Some(Embedded::Invalid);
            }
            return Some(Embedded::V4(Ipv4Addr::new(o[6], o[7], o[9], o[10])));
        }
        return Some(Embedded::Invalid);
    }
    if s[0] == 0x2002 {
        return Some(Embedded::V4(Ipv4Addr::new(o[2], o[3], o[4], o[5])));
    }
    None
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

    fn ip6(s: &str) -> Ipv6Addr {
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

    /// IPv4-translated addresses (RFC 2765 §2.1, `::ffff:0:0:0/96`) and the NAT64 prefixes
    /// (RFC 6052 §2.2, RFC 8215) are judged by the IPv4 address they embed.
    #[test]
    fn translated_addresses_are_judged_by_their_ipv4() {
        // (address, embedded IPv4 it must be read as, or None when the address is refused
        // whatever it embeds)
        let rows: &[(&str, Option<&str>)] = &[
            // IPv4-translated, ::ffff:0:a.b.c.d
            ("::ffff:0:127.0.0.1", Some("127.0.0.1")),
            ("::ffff:0:10.1.2.3", Some("10.1.2.3")),
            ("::ffff:0:169.254.169.254", Some("169.254.169.254")),
            ("::ffff:0:8.8.8.8", Some("8.8.8.8")),
            // NAT64 well-known prefix 64:ff9b::/96: the last 32 bits.
            ("64:ff9b::7f00:1", Some("127.0.0.1")),
            ("64:ff9b::a9fe:a9fe", Some("169.254.169.254")),
            ("64:ff9b::808:808", Some("8.8.8.8")),
            // Inside 64:ff9b::/32 but outside both NAT64 prefixes: nothing is embedded.
            ("64:ff9b:0:1::808:808", None),
            ("64:ff9b:2::808:808", None),
            // Local-use 64:ff9b:1::/48, RFC 6052 layout for a /48: bits 48–63 hold the
            // first two octets, bits 64–71 are the zero "u" octet, bits 72–87 the last two.
            ("64:ff9b:1:7f00:0:100::", Some("127.0.0.1")),
            ("64:ff9b:1:a00:0:100::", Some("10.0.0.1")),
            ("64:ff9b:1:a9fe:a9:fe00::", Some("169.254.169.254")),
            ("64:ff9b:1:c0a8:1:100::", Some("192.168.1.1")),
            ("64:ff9b:1:808:8:800::", Some("8.8.8.8")),
            ("64:ff9b:1:101:1:100::", Some("1.1.1.1")),
            // Bits 88–127 are the suffix, which RFC 6052 sets to zero: an address with
            // anything there (such as 8.8.8.8 in the last 32 bits, where the old reading
            // looked) or in the u octet is not an address of this layout.
            ("64:ff9b:1:a00:1::808:808", None),
            ("64:ff9b:1:808:ff08:800::", None),
            ("64:ff9b:1:808:8:801::", None),
        ];
        for &(v6, v4) in rows {
            let embedded = embedded_ipv4(v6.parse().expect("v6"));
            match v4 {
                Some(v4) => {
                    let v4: Ipv4Addr = v4.parse().expect("v4");
                    assert_eq!(embedded, Some(Embedded::V4(v4)), "{v6}");
                    assert_eq!(
                        is_global(ip(v6)),
                        is_global_v4(v4),
                        "{v6} is judged as {v4}"
                    );
                }
                None => {
                    assert_eq!(embedded, Some(Embedded::Invalid), "{v6}");
                    assert!(!is_global(ip(v6)), "{v6} must not be global");
                }
            }
        }
        // No translation prefix: judged as IPv6, where only 2000::/3 is global unicast.
        assert_eq!(embedded_ipv4(ip6("2606:4700::1111")), None);
        assert_eq!(embedded_ipv4(ip6("::ffff:1:a00:1")), None);
        assert!(!is_global(ip("::ffff:1:a00:1")));
        assert!(!is_global(ip("4000::1")));
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
