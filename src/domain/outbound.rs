//! Outbound URLs: how one is shown (secrets in its userinfo, query or path hidden) and which addresses an
//! SSRF-conscious deployment refuses to call (loopback, private, link-local and similar ranges).

use std::net::IpAddr;

/// `url` with its userinfo, query values and token-like path segments replaced by `***`, so that a
/// webhook can be told apart by its host and route but its keys (Slack's `/services/T…/B…/<key>`,
/// Teams' `?sig=`, `user:password@`) never leave the server.
#[must_use]
pub fn redacted_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else { return "(invalid URL)".to_owned() };
    if !parsed.username().is_empty() {
        let _ = parsed.set_username("***");
    }
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = parsed.query_pairs().map(|(k, _)| (k.into_owned(), "***".to_owned())).collect();
    if pairs.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.set_fragment(None);
    let path: Vec<String> = parsed
        .path_segments()
        .map(|segments| segments.map(|s| if looks_secret(s) { "***".to_owned() } else { s.to_owned() }).collect())
        .unwrap_or_default();
    if !path.is_empty() {
        parsed.set_path(&path.join("/"));
    }
    parsed.to_string()
}

/// A path segment that may be a key: long, or carrying more than a couple of digits (ids and tokens do;
/// route words such as `gelf`, `services`, `v2` or `hooks` do not).
fn looks_secret(segment: &str) -> bool {
    segment.len() > 16 || segment.chars().filter(char::is_ascii_digit).count() > 2
}

/// Whether `url` names its host by a private address, or as `localhost`: refused at once when private
/// targets are denied (an unparsable URL counts as private). Other names are checked when resolved.
#[must_use]
pub fn names_private_host(url: &str) -> bool {
    match url::Url::parse(url).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Ipv4(v4)) => is_private(v4.into()),
        Some(url::Host::Ipv6(v6)) => is_private(v6.into()),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost"),
        None => true,
    }
}

/// Whether `address` is one a deployment that denies private targets must not call: loopback,
/// unspecified, private (RFC 1918), carrier-grade NAT, link-local (cloud metadata lives there), unique
/// local IPv6, multicast and broadcast, and IPv6 forms of IPv4 ones.
#[must_use]
pub fn is_private(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_userinfo_query_values_and_path_keys() {
        assert_eq!(
            redacted_url("http://graylog.golems.internal:12201/gelf"),
            "http://graylog.golems.internal:12201/gelf"
        );
        assert_eq!(redacted_url("https://u:secret@h.test/p?sig=abc&v=1"), "https://***:***@h.test/p?sig=***&v=***");
        assert_eq!(redacted_url("https://token@h.test/"), "https://***@h.test/");
        assert_eq!(
            redacted_url("https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx"),
            "https://hooks.slack.com/services/***/***/***"
        );
        assert_eq!(redacted_url("https://h.test/api/v2/hooks#frag"), "https://h.test/api/v2/hooks");
        assert_eq!(redacted_url("not a url"), "(invalid URL)");
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_private() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
        ] {
            assert!(is_private(text.parse().expect("address")), "{text}");
        }
        for text in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_private(text.parse().expect("address")), "{text}");
        }
    }

    #[test]
    fn a_url_names_a_private_host_by_address_or_as_localhost() {
        for url in
            ["http://127.0.0.1:9/", "http://[::1]/", "http://LOCALHOST/", "http://api.localhost/", "http://10.0.0.7/"]
        {
            assert!(names_private_host(url), "{url}");
        }
        for url in ["https://graylog.golems.internal/gelf", "https://93.184.216.34/"] {
            assert!(!names_private_host(url), "{url}");
        }
    }
}
