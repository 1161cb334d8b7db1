//! Who a request comes from. The connection knows its TCP peer (`Peer`, set by
//! `server::connection`); behind a reverse proxy that is the proxy. When the peer is in one of
//! the `--trusted-proxies` networks, the client is read from the proxy's `X-Forwarded-For` (the
//! right-most address that is not itself a trusted proxy) or, without it, `X-Real-IP`. A peer
//! outside them is the client, whatever headers it sends: nobody else can forge the address.
//!
//! Connection-level caps (`server::places`) act on the TCP peer, before any header is read;
//! request-level uses (the access log) take `client_address`.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The TCP peer of the connection a request came on (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub IpAddr);

const FORWARDED_FOR: &str = "x-forwarded-for";
const REAL_IP: &str = "x-real-ip";

/// The client's address: `peer` itself unless it is a trusted proxy; then the address the
/// proxies forwarded.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    if hops.is_empty() {
        // One address, set by the proxy itself (nginx: `X-Real-IP $remote_addr`).
        return headers
            .get_all(REAL_IP)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(parse_hop)
            .unwrap_or(peer);
    }
    // From the nearest hop outwards: each trusted hop vouches for the one before it. The first
    // address not trusted is the client; an entry that is no address ends the chain at the
    // last proxy that could be believed.
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !is_trusted(client, trusted) {
            break;
        }
        match parse_hop(hop) {
            Some(address) => client = address,
            None => break,
        }
    }
    client
}

fn is_trusted(address: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&address))
}

/// One entry of `X-Forwarded-For` or `X-Real-IP`: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:5678`. Anything else (`unknown`, an obfuscated name) is
/// `None`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok())
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().expect("a CIDR")).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("a value"));
        }
        map
    }

    #[test]
    fn a_forged_header_from_an_untrusted_peer_is_ignored() {
        let forged = headers(&[("x-forwarded-for", "10.9.9.9"), ("x-real-ip", "10.9.9.9")]);
        let peer = ip("198.51.100.7");
        assert_eq!(client_address(peer, &forged, &[]), peer);
        assert_eq!(
            client_address(peer, &forged, &nets(&["127.0.0.1/32", "10.0.0.0/8"])),
            peer
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.5")]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &h, &trusted),
            ip("203.0.113.5")
        );
        // X-Real-IP when there is no X-Forwarded-For.
        let h = headers(&[("x-real-ip", "203.0.113.6")]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &h, &trusted),
            ip("203.0.113.6")
        );
        // Neither: the proxy itself.
        assert_eq!(
            client_address(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_chain_of_proxies_yields_the_right_most_untrusted_address() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.0/24"]);
        // The client prepended a forgery; two trusted proxies appended what they saw.
        let h = headers(&[(
            "x-forwarded-for",
            "1.1.1.1, 203.0.113.9, 192.168.1.4, 10.0.0.2",
        )]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("203.0.113.9")
        );
        // The same chain split over several header lines.
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1, 203.0.113.9"),
            ("x-forwarded-for", "192.168.1.4,10.0.0.2"),
        ]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("203.0.113.9")
        );
        // Every hop trusted: the left-most is as far as anyone vouches.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.2")]);
        assert_eq!(client_address(ip("10.0.0.1"), &h, &trusted), ip("10.1.1.1"));
    }

    #[test]
    fn ipv6_peers_hops_and_ports() {
        let trusted = nets(&["::1/128", "fd00::/8", "127.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "2001:db8::5, fd00::2")]);
        assert_eq!(client_address(ip("::1"), &h, &trusted), ip("2001:db8::5"));
        let h = headers(&[("x-forwarded-for", "[2001:db8::6]:4711")]);
        assert_eq!(client_address(ip("::1"), &h, &trusted), ip("2001:db8::6"));
        let h = headers(&[("x-forwarded-for", "[2001:db8::7]")]);
        assert_eq!(client_address(ip("::1"), &h, &trusted), ip("2001:db8::7"));
        let h = headers(&[("x-forwarded-for", "203.0.113.8:5000")]);
        assert_eq!(client_address(ip("::1"), &h, &trusted), ip("203.0.113.8"));
        // A v4 peer seen on a dual-stack socket is trusted as its v4 self.
        let h = headers(&[("x-forwarded-for", "::ffff:203.0.113.9")]);
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &h, &trusted),
            ip("203.0.113.9")
        );
        // An untrusted v6 peer is the client.
        assert_eq!(
            client_address(ip("2001:db8::99"), &h, &trusted),
            ip("2001:db8::99")
        );
    }

    #[test]
    fn garbage_stops_at_the_last_believable_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        for junk in [
            "unknown",
            "not an address",
            "999.1.1.1",
            "[::1",
            "_hidden",
            ";",
        ] {
            let h = headers(&[("x-forwarded-for", junk)]);
            assert_eq!(
                client_address(ip("10.0.0.1"), &h, &trusted),
                ip("10.0.0.1"),
                "{junk}"
            );
            let h = headers(&[("x-forwarded-for", &format!("{junk}, 10.0.0.3"))]);
            assert_eq!(
                client_address(ip("10.0.0.1"), &h, &trusted),
                ip("10.0.0.3"),
                "{junk}"
            );
            let h = headers(&[("x-real-ip", junk)]);
            assert_eq!(
                client_address(ip("10.0.0.1"), &h, &trusted),
                ip("10.0.0.1"),
                "{junk}"
            );
        }
        // Empty entries are skipped, not taken for an address.
        let h = headers(&[("x-forwarded-for", " , 203.0.113.1 ,, ")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("203.0.113.1")
        );
        // A value that is not text is no header at all.
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe").expect("opaque bytes"),
        );
        assert_eq!(client_address(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.1"));
    }
}
