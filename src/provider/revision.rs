//! Which version of a remote secret to read: a number, the latest, or the latest enabled.

use std::fmt;
use std::str::FromStr;

/// Which version to read or act on, as the Scaleway API accepts it in URLs and Terraform IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevisionSelector {
    /// A revision number (1-based, never reused).
    Number(u64),
    /// The highest revision, whatever its status.
    Latest,
    /// The highest enabled revision.
    LatestEnabled,
}

impl fmt::Display for RevisionSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevisionSelector::Number(n) => write!(f, "{n}"),
            RevisionSelector::Latest => f.write_str("latest"),
            RevisionSelector::LatestEnabled => f.write_str("latest_enabled"),
        }
    }
}

impl FromStr for RevisionSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "latest" => Ok(Self::Latest),
            "latest_enabled" => Ok(Self::LatestEnabled),
            _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') => s
                .parse()
                .map(Self::Number)
                .map_err(|_| format!("revision {s:?} is too large")),
            _ => Err(format!(
                "revision {s:?} must be a number from 1, latest or latest_enabled"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_selectors_parse_and_print_alike() {
        for (text, want) in [
            ("1", Ok(RevisionSelector::Number(1))),
            ("42", Ok(RevisionSelector::Number(42))),
            ("latest", Ok(RevisionSelector::Latest)),
            ("latest_enabled", Ok(RevisionSelector::LatestEnabled)),
        ] {
            assert_eq!(text.parse::<RevisionSelector>(), want);
            assert_eq!(want.unwrap().to_string(), text);
        }
        for bad in ["", "0", "01", "-1", "Latest", "99999999999999999999999"] {
            assert!(bad.parse::<RevisionSelector>().is_err(), "{bad}");
        }
    }
}
