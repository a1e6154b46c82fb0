//! Where the server may fetch a client's keys from: a `jwks_uri` is a URL the client chose,
//! so fetching it is a request the client makes from inside our network (server-side
//! request forgery, RFC 7591 section 5: "the authorization server SHOULD ... check" URLs
//! it dereferences). Only https on public unicast addresses, unless the operator allows
//! loopback for a local run (`config::RemoteHosts`). Names are checked again on every
//! fetch, on the addresses they resolve to then (`fetch::CheckedResolver`), so a name
//! that later points at 169.254.169.254 or the Lambda Runtime API on 127.0.0.1 is refused.

use crate::config::RemoteHosts;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Longest `jwks_uri` registered.
pub const MAX_JWKS_URI_LEN: usize = 2000;

/// Checks a `jwks_uri` (registration and each fetch): an absolute https URL (http only to
/// an allowed loopback host) without credentials or fragment, and an IP-literal host only
/// if `address_allowed`. The error says what is wrong.
pub fn check_jwks_uri(raw: &str, hosts: RemoteHosts) -> Result<Url, String> {
    if raw.len() > MAX_JWKS_URI_LEN {
        return Err(format!(
            "jwks_uri is longer than {MAX_JWKS_URI_LEN} characters"
        ));
    }
    let url = Url::parse(raw).map_err(|e| format!("jwks_uri is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("jwks_uri may carry neither credentials nor a fragment".into());
    }
    let loopback = match url.host() {
        None => return Err("jwks_uri has no host".into()),
        Some(Host::Ipv4(address)) => checked_literal(IpAddr::V4(address), hosts)?,
        Some(Host::Ipv6(address)) => checked_literal(IpAddr::V6(address), hosts)?,
        // The addresses a name stands for are checked when it is resolved.
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback && hosts == RemoteHosts::LoopbackToo => Ok(url),
        _ => Err("jwks_uri must be an https URL".into()),
    }
}

/// An IP-literal host: allowed or not; whether it is loopback.
fn checked_literal(address: IpAddr, hosts: RemoteHosts) -> Result<bool, String> {
    if address_allowed(address, hosts) {
        Ok(address.is_loopback())
    } else {
        Err(format!("jwks_uri may not name the address {address}"))
    }
}

/// Whether the server may connect to `address` for a client's keys: a public unicast
/// address, or loopback when `hosts` allows it. IPv6 addresses that carry an IPv4 one
/// (mapped, NAT64, 6to4) are judged by that address.
pub fn address_allowed(address: IpAddr, hosts: RemoteHosts) -> bool {
    if address.is_loopback() || embedded_ipv4(address).is_some_and(|v4| v4.is_loopback()) {
        return hosts == RemoteHosts::LoopbackToo;
    }
    match address {
        IpAddr::V4(v4) => public_ipv4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(address) {
            Some(v4) => public_ipv4(v4),
            None => public_ipv6(v6),
        },
    }
}

fn public_ipv4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    !(address.is_private()
        || address.is_loopback()
        || address.is_link_local() // 169.254/16: instance metadata
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15 benchmarking
        || a >= 240) // reserved
}

fn public_ipv6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    // Global unicast is 2000::/3; documentation 2001:db8::/32 is not reachable.
    (first & 0xe000) == 0x2000 && !(first == 0x2001 && address.segments()[1] == 0x0db8)
}

/// The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) or 6to4
/// (2002::/16) IPv6 address.
fn embedded_ipv4(address: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = address else {
        return None;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let from = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(from(high, low)),
        [0x2002, high, low, ..] => Some(from(high, low)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(raw: &str, hosts: RemoteHosts) -> bool {
        address_allowed(raw.parse().unwrap(), hosts)
    }

    #[test]
    fn only_public_unicast_addresses_are_fetched_from() {
        for public in ["93.184.215.14", "2606:4700::6810:84e5", "8.8.8.8"] {
            assert!(allowed(public, RemoteHosts::PublicOnly), "{public}");
        }
        let refused = [
            "127.0.0.1",
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.1.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a9fe:a9fe::",
        ];
        for address in refused {
            assert!(!allowed(address, RemoteHosts::PublicOnly), "{address}");
        }
        // Loopback only when allowed; the private ranges never.
        assert!(allowed("127.0.0.1", RemoteHosts::LoopbackToo));
        assert!(allowed("::ffff:127.0.0.1", RemoteHosts::LoopbackToo));
        assert!(!allowed("10.0.0.5", RemoteHosts::LoopbackToo));
        assert!(!allowed("169.254.169.254", RemoteHosts::LoopbackToo));
    }

    #[test]
    fn a_jwks_uri_is_https_without_credentials_or_fragment() {
        let public = RemoteHosts::PublicOnly;
        assert!(check_jwks_uri("https://app.example/jwks.json", public).is_ok());
        for bad in [
            "http://app.example/jwks.json",
            "https://user:pw@app.example/jwks.json",
            "https://app.example/jwks.json#k",
            "https://10.1.2.3/jwks.json",
            "https://[::1]/jwks.json",
            "https://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
            "http://localhost/jwks.json",
            // IPv4 in the other forms a URL parser accepts, and IPv4 inside IPv6.
            "https://2130706433/jwks.json",
            "https://0x7f.1/jwks.json",
            "https://127.1/jwks.json",
            "https://0177.0.0.1/jwks.json",
            "https://127.0.0.1./jwks.json",
            "https://[::ffff:7f00:1]/jwks.json",
            "https://[::127.0.0.1]/jwks.json",
            "https://0xa9.0xfe.0xa9.0xfe/latest/meta-data/",
            "file:///etc/passwd",
            "jwks.json",
        ] {
            assert!(check_jwks_uri(bad, public).is_err(), "{bad}");
        }
        let long = format!("https://app.example/{}", "a".repeat(MAX_JWKS_URI_LEN));
        assert!(check_jwks_uri(&long, public).is_err());
        let local = RemoteHosts::LoopbackToo;
        assert!(check_jwks_uri("http://127.0.0.1:8080/jwks.json", local).is_ok());
        assert!(check_jwks_uri("http://localhost:8080/jwks.json", local).is_ok());
        assert!(check_jwks_uri("http://app.example/jwks.json", local).is_err());
        assert!(check_jwks_uri("https://192.168.0.1/jwks.json", local).is_err());
    }
}
