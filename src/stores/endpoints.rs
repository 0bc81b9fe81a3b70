//! The operator-wide allow-list of provider endpoints (`--allowed-endpoints`): a store whose API
//! URL is not on it is refused before any credential is sent. By default only the providers'
//! public endpoints are allowed; the demo and the tests allow loopback explicitly.

use reqwest::Url;

/// The public endpoints of the supported providers.
pub const DEFAULT_ALLOWED: &[&str] = &[
    "https://api.scaleway.com",
    "https://api.thalassa.cloud",
    // OCI: vaults.{region}.oci…, secrets.vaults.{region}.oci…, and each vault's own KMS
    // management host ({prefix}-management.kms.{region}.oraclecloud.com).
    "https://*.oraclecloud.com",
];

/// One allowed origin: `https://api.scaleway.com`, `http://127.0.0.1:*` (any port),
/// `https://*.example.com` (any subdomain), or `*` (anything: no allow-list).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Any,
    Origin {
        scheme: String,
        /// `None` for `*.`-prefixed patterns' suffix form.
        host: HostPattern,
        /// `None`: any port.
        port: Option<u16>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`: any host ending in `.example.com`.
    Subdomains(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointPolicy {
    patterns: Vec<Pattern>,
}

impl Default for EndpointPolicy {
    fn default() -> Self {
        Self::parse(DEFAULT_ALLOWED.iter().copied()).expect("the defaults parse")
    }
}

impl EndpointPolicy {
    /// Parses patterns (see [`Pattern`]); an empty list means the defaults.
    pub fn parse<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut out = Vec::new();
        for text in patterns {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            out.push(parse_pattern(text)?);
        }
        if out.is_empty() {
            return Ok(Self::default());
        }
        Ok(Self { patterns: out })
    }

    /// Whether Keyward may send credentials to `url`; the error is for a condition message.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let parsed = Url::parse(url).map_err(|_| format!("{url:?} is not a URL"))?;
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = parsed.port_or_known_default();
        let allowed = self.patterns.iter().any(|p| match p {
            Pattern::Any => true,
            Pattern::Origin {
                scheme,
                host: want,
                port: want_port,
            } => {
                *scheme == parsed.scheme()
                    && match want {
                        HostPattern::Exact(h) => *h == host,
                        HostPattern::Subdomains(suffix) => {
                            host.len() > suffix.len() + 1
                                && host.ends_with(suffix.as_str())
                                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                        }
                    }
                    && want_port.is_none_or(|p| Some(p) == port)
            }
        });
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "the API endpoint {}://{}{} is not in the operator's allowed endpoints (--allowed-endpoints, chart value allowedEndpoints)",
                parsed.scheme(),
                host,
                parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
            ))
        }
    }
}

fn parse_pattern(text: &str) -> Result<Pattern, String> {
    if text == "*" {
        return Ok(Pattern::Any);
    }
    let bad = || {
        format!(
            "allowed endpoint {text:?} must look like https://host, https://host:port, http://127.0.0.1:* or https://*.domain"
        )
    };
    let (scheme, rest) = text.split_once("://").ok_or_else(bad)?;
    if !matches!(scheme, "http" | "https") {
        return Err(bad());
    }
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') || rest.is_empty() {
        return Err(bad());
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, "*")) => (h, None),
        Some((h, p)) => (h, Some(p.parse::<u16>().map_err(|_| bad())?)),
        _ => (rest, Some(if scheme == "https" { 443 } else { 80 })),
    };
    let host = host.to_ascii_lowercase();
    let host = match host.strip_prefix("*.") {
        Some(suffix) if !suffix.is_empty() => HostPattern::Subdomains(suffix.to_owned()),
        _ if host.contains('*') || host.is_empty() => return Err(bad()),
        _ => HostPattern::Exact(host),
    };
    Ok(Pattern::Origin {
        scheme: scheme.to_owned(),
        host,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_allow_the_public_endpoints_only() {
        let p = EndpointPolicy::default();
        assert!(p.check("https://api.scaleway.com").is_ok());
        assert!(p.check("https://api.scaleway.com:443/").is_ok());
        assert!(p.check("https://api.thalassa.cloud").is_ok());
        for refused in [
            "http://api.scaleway.com",
            "https://api.scaleway.com.evil.example",
            "https://evil.example/api.scaleway.com",
            "http://127.0.0.1:9090",
            "https://api.scaleway.com:8443",
            "http://api.thalassa.cloud",
            "https://api.thalassa.cloud.evil.example",
        ] {
            let err = p.check(refused).unwrap_err();
            assert!(err.contains("--allowed-endpoints"), "{refused}: {err}");
        }
    }

    #[test]
    fn patterns_name_origins_with_optional_wildcards() {
        let p = EndpointPolicy::parse([
            "http://127.0.0.1:*",
            "https://*.oraclecloud.com",
            "https://vault.example:8200",
        ])
        .unwrap();
        let rows = [
            ("http://127.0.0.1:9090", true),
            ("http://127.0.0.1:1", true),
            ("https://127.0.0.1:9090", false),
            ("http://localhost:9090", false),
            ("https://vaults.eu-frankfurt-1.oraclecloud.com", true),
            ("https://oraclecloud.com", false),
            ("https://xoraclecloud.com", false),
            ("https://vault.example:8200/v1", true),
            ("https://vault.example", false),
        ];
        for (url, want) in rows {
            assert_eq!(p.check(url).is_ok(), want, "{url}");
        }
        assert!(
            EndpointPolicy::parse(["*"])
                .unwrap()
                .check("http://anything:1")
                .is_ok()
        );
    }

    #[test]
    fn bad_patterns_are_refused_and_an_empty_list_means_the_defaults() {
        for bad in [
            "api.scaleway.com",
            "ftp://x",
            "https://a/b",
            "https://a*b",
            "https://x:port",
        ] {
            assert!(EndpointPolicy::parse([bad]).is_err(), "{bad}");
        }
        assert_eq!(
            EndpointPolicy::parse([""]).unwrap(),
            EndpointPolicy::default()
        );
    }
}
