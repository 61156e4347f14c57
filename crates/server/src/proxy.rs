//! Who the client is behind reverse proxies. `X-Forwarded-For` is read only when the
//! connection comes from a trusted proxy, and from the right: each trusted hop appends the
//! address it saw, so the right-most untrusted entry is the client. The left-most entry is
//! whatever the client wrote, never to be believed.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// An address block such as `10.0.0.0/8`, `127.0.0.1` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            _ => ip,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Whether `ip` is a loopback address (IPv4, IPv6, or IPv4 mapped into IPv6).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    blocks: Vec<Cidr>,
}

impl TrustedProxies {
    /// Parse the configured blocks; an invalid entry is reported, not ignored.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let blocks = entries
            .iter()
            .map(|e| Cidr::parse(e).ok_or_else(|| format!("trusted_proxies: {e:?} is not an address or CIDR block")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { blocks })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.blocks.iter().any(|b| b.contains(ip))
    }

    /// The client address: the peer itself, or, when the peer is a trusted proxy, the
    /// right-most untrusted address of `X-Forwarded-For`.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        for entry in forwarded.iter().rev().flat_map(|v| v.rsplit(',')) {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }

    /// Whether the request came over TLS to a trusted proxy (`X-Forwarded-Proto: https`).
    pub fn forwarded_https(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
        peer.is_some_and(|p| self.trusts(p))
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = xff.parse() {
            h.insert("x-forwarded-for", v);
        }
        h
    }

    #[test]
    fn loopback_addresses() {
        for local in ["127.0.0.1", "127.10.0.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip(local)), "{local}");
        }
        for remote in ["203.0.113.9", "10.0.0.1", "::ffff:10.0.0.1", "2001:db8::1"] {
            assert!(!is_loopback(ip(remote)), "{remote}");
        }
    }

    #[test]
    fn cidr_blocks() {
        let block = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(block.contains(ip("10.1.2.3")) && !block.contains(ip("11.0.0.1")));
        assert!(Cidr::parse("127.0.0.1").expect("single").contains(ip("127.0.0.1")));
        assert!(Cidr::parse("::1").expect("v6").contains(ip("::1")));
        assert!(Cidr::parse("10.0.0.0/8").expect("cidr").contains(ip("::ffff:10.0.0.9")));
        assert!(Cidr::parse("0.0.0.0/0").expect("all").contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "nope", "10.0.0/8"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_client_cannot_choose_its_address() {
        let proxies = TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).expect("parse");
        let from_proxy = Some(ip("127.0.0.1"));
        // The client wrote 1.2.3.4; the proxy appended the real address.
        assert_eq!(proxies.client_ip(from_proxy, &headers("1.2.3.4, 203.0.113.9")), Some(ip("203.0.113.9")));
        // Two trusted hops.
        assert_eq!(proxies.client_ip(from_proxy, &headers("203.0.113.9, 10.0.0.5")), Some(ip("203.0.113.9")));
        // Not from a proxy: the header is ignored.
        assert_eq!(proxies.client_ip(Some(ip("198.51.100.7")), &headers("1.2.3.4")), Some(ip("198.51.100.7")));
        // Garbage stops the walk at the last good hop.
        assert_eq!(proxies.client_ip(from_proxy, &headers("junk")), Some(ip("127.0.0.1")));
        assert!(TrustedProxies::parse(&["10.0.0.0/99".into()]).is_err());
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(from_proxy, &headers("203.0.113.9")), Some(ip("127.0.0.1")));
    }
}
