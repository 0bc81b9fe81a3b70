//! Durations in the spec: whole hours, minutes and seconds such as `30s`, `90m`, `720h` or `1h30m`,
//! the subset of Go/Kubernetes duration strings that the CEL rules accept (`^([0-9]+(h|m|s))+$`).
//! Days are left out on purpose: CEL's `duration()` (used for the bounds) does not know them.

use std::time::Duration;

/// Default `refreshInterval`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);
/// Shortest `refreshInterval` (also a CEL rule).
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Shortest `rotation.interval` (also a CEL rule).
pub const MIN_ROTATION_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest and longest ephemeral `timeToLive` (also CEL rules; Scaleway's own range).
pub const TIME_TO_LIVE_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(365 * 24 * 3600));

/// Parse a spec duration, such as `1h30m`. The error names the text and the expected shape.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{text:?} is not a duration made of hours, minutes and seconds, such as 30s, 5m, 1h or 1h30m"
        )
    };
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        match c {
            '0'..='9' => {
                let digit = u64::from(c as u8 - b'0');
                let n = number.unwrap_or(0);
                number = Some(
                    n.checked_mul(10)
                        .and_then(|n| n.checked_add(digit))
                        .ok_or_else(bad)?,
                );
            }
            'h' | 'm' | 's' => {
                let n = number.take().ok_or_else(bad)?;
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total = n
                    .checked_mul(unit)
                    .and_then(|s| total.checked_add(s))
                    .ok_or_else(bad)?;
            }
            _ => return Err(bad()),
        }
    }
    if number.is_some() {
        // Trailing digits without a unit.
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Render a duration the way the Scaleway API expects an ephemeral `time_to_live` (`"1800s"`).
pub fn to_protobuf_seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_accepted_shapes() {
        let table = [
            ("1s", 1),
            ("30s", 30),
            ("5m", 300),
            ("1h", 3600),
            ("1h30m", 5400),
            ("720h", 2_592_000),
            ("1h1m1s", 3661),
            ("90m", 5400),
            ("0s", 0),
            ("1m1m", 120),
        ];
        for (text, seconds) in table {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(seconds)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_other_shapes_with_a_message() {
        for text in [
            "",
            "1",
            "h",
            "1d",
            "1.5h",
            "-1h",
            "1 h",
            "1H",
            "1h30",
            "P1D",
            "99999999999999999999h",
        ] {
            let err = parse_duration(text).expect_err(text);
            assert!(err.contains("hours, minutes and seconds"), "{text}: {err}");
        }
    }

    #[test]
    fn protobuf_seconds() {
        assert_eq!(to_protobuf_seconds(Duration::from_secs(1800)), "1800s");
    }
}
