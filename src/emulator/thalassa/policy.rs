//! Access policies (reference §7): checked on `getSecretValue` and `putSecretValue` only. The docs'
//! `conditions` model is enforced; the SDK's `statements` model is accepted, stored and echoed, but
//! not enforced (how statements are evaluated is documented nowhere). Pure: the caller's address and
//! the time are passed in.

use std::net::IpAddr;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::errors::ApiError;

/// Checks a policy sent to `PUT …/policy` (or at create). `null` clears it.
pub fn validate(policy: &Value) -> Result<(), ApiError> {
    let bad = |why: String| {
        Err(ApiError::bad_request(format!(
            "invalid accessPolicy: {why}"
        )))
    };
    let Value::Object(map) = policy else {
        return bad("must be an object or null".into());
    };
    if let Some(statements) = map.get("statements")
        && !statements.is_array()
        && !statements.is_null()
    {
        return bad("statements must be an array".into());
    }
    let conditions = match map.get("conditions") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(c)) => c,
        Some(_) => return bad("conditions must be an array".into()),
    };
    for (i, c) in conditions.iter().enumerate() {
        if let Err(why) = Condition::parse(c) {
            return bad(format!("conditions[{i}]: {why}"));
        }
    }
    Ok(())
}

/// Whether a value operation from `ip` at `now` passes the policy: a matching `deny` refuses; with
/// any `allow`, one of them must match (reference §7.1). Conditions that do not parse were refused
/// when the policy was set, so they are skipped here.
pub fn check(policy: Option<&Value>, ip: IpAddr, now: Timestamp) -> Result<(), ApiError> {
    let Some(conditions) = policy
        .and_then(|p| p.get("conditions"))
        .and_then(Value::as_array)
    else {
        return Ok(());
    };
    let parsed: Vec<Condition> = conditions
        .iter()
        .filter_map(|c| Condition::parse(c).ok())
        .collect();
    if parsed.iter().any(|c| !c.allow && c.matches(ip, now)) {
        return Err(ApiError::forbidden("denied by the secret's access policy"));
    }
    let allows: Vec<&Condition> = parsed.iter().filter(|c| c.allow).collect();
    if !allows.is_empty() && !allows.iter().any(|c| c.matches(ip, now)) {
        return Err(ApiError::forbidden(
            "not allowed by the secret's access policy",
        ));
    }
    Ok(())
}

struct Condition {
    allow: bool,
    test: Test,
}

enum Test {
    Ip(Vec<(IpAddr, u8)>),
    /// Hours in [0, 23]; inside when `start <= h < end`, or for an overnight window (start > end)
    /// when `h >= start || h < end`. UNCONFIRMED: inclusiveness, range, and `start == end` (never).
    Time {
        start: i8,
        end: i8,
        zone: TimeZone,
    },
}

impl Condition {
    fn parse(c: &Value) -> Result<Self, String> {
        // UNCONFIRMED: the docs describe `deny` for IP rules only; time rules may be `deny` too here.
        let allow = match c.get("effect").and_then(Value::as_str) {
            Some("allow") => true,
            Some("deny") => false,
            _ => return Err("effect must be allow or deny".into()),
        };
        let test = match c.get("type").and_then(Value::as_str) {
            Some("ip") => {
                let cidrs = c
                    .get("cidrs")
                    .and_then(Value::as_array)
                    .filter(|a| !a.is_empty())
                    .ok_or("an ip condition needs a non-empty cidrs list")?;
                let nets = cidrs
                    .iter()
                    .map(|v| v.as_str().and_then(parse_cidr).ok_or("invalid CIDR"))
                    .collect::<Result<Vec<_>, _>>()?;
                Test::Ip(nets)
            }
            Some("time") => {
                let hour = |key: &str| {
                    c.get(key)
                        .and_then(Value::as_i64)
                        .filter(|h| (0..=23).contains(h))
                        .map(|h| h as i8)
                        .ok_or(format!("{key} must be an hour from 0 to 23"))
                };
                let zone = c
                    .get("timezone")
                    .and_then(Value::as_str)
                    .and_then(|name| TimeZone::get(name).ok())
                    .ok_or("timezone must be an IANA time zone name")?;
                Test::Time {
                    start: hour("startHour")?,
                    end: hour("endHour")?,
                    zone,
                }
            }
            _ => return Err("type must be ip or time".into()),
        };
        Ok(Self { allow, test })
    }

    fn matches(&self, ip: IpAddr, now: Timestamp) -> bool {
        match &self.test {
            Test::Ip(nets) => nets.iter().any(|(net, len)| in_network(ip, *net, *len)),
            Test::Time { start, end, zone } => {
                let h = now.to_zoned(zone.clone()).hour();
                if start <= end {
                    *start <= h && h < *end
                } else {
                    h >= *start || h < *end
                }
            }
        }
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (UNCONFIRMED: accepted as a single host).
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u8>().ok()?),
        None => {
            let a = text.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    let bits = |a: IpAddr| -> (u128, u32) {
        match a {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    };
    let ((ip, width), (net, net_width)) = (bits(ip), bits(net));
    if width != net_width {
        return false;
    }
    let shift = width - u32::from(len);
    shift >= width || (ip >> shift) == (net >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(ts: &str) -> Timestamp {
        ts.parse().unwrap()
    }

    #[test]
    fn cidrs_match_by_prefix() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let rows = [
            ("10.0.0.0/8", "10.200.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.0/24", "192.168.1.255", true),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("2001:db8::/32", "2001:db8::1", true),
            ("2001:db8::/32", "10.0.0.1", false),
        ];
        for (cidr, addr, want) in rows {
            let (net, len) = parse_cidr(cidr).unwrap();
            assert_eq!(in_network(ip(addr), net, len), want, "{cidr} {addr}");
        }
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("ten").is_none());
    }

    #[test]
    fn deny_wins_and_one_allow_must_match() {
        let policy = json!({"conditions": [
            {"type": "ip", "effect": "allow", "cidrs": ["10.0.0.0/8"]},
            {"type": "ip", "effect": "deny", "cidrs": ["10.0.0.66/32"]},
        ]});
        validate(&policy).unwrap();
        let now = at("2026-07-01T12:00:00Z");
        let check_ip =
            |ip: &str| check(Some(&policy), ip.parse().unwrap(), now).map_err(|e| e.status());
        assert_eq!(check_ip("10.1.2.3"), Ok(()));
        assert_eq!(check_ip("10.0.0.66"), Err(403));
        assert_eq!(check_ip("192.168.0.1"), Err(403));
        assert_eq!(check(None, "1.1.1.1".parse().unwrap(), now), Ok(()));
        let statements =
            json!({"statements": [{"effect": "allow", "actions": ["secrets:get-value"]}]});
        validate(&statements).unwrap();
        assert_eq!(
            check(Some(&statements), "1.1.1.1".parse().unwrap(), now),
            Ok(())
        );
    }

    #[test]
    fn time_windows_in_their_zone_including_overnight() {
        let office = json!({"conditions": [{"type": "time", "effect": "allow", "startHour": 8, "endHour": 18, "timezone": "Europe/Amsterdam"}]});
        let night = json!({"conditions": [{"type": "time", "effect": "allow", "startHour": 22, "endHour": 6, "timezone": "UTC"}]});
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let rows = [
            (&office, "2026-07-01T06:30:00Z", true), // 08:30 in Amsterdam (CEST)
            (&office, "2026-07-01T05:59:00Z", false),
            (&office, "2026-07-01T16:00:00Z", false), // 18:00 there: the end is exclusive
            (&night, "2026-07-01T23:00:00Z", true),
            (&night, "2026-07-01T03:00:00Z", true),
            (&night, "2026-07-01T12:00:00Z", false),
        ];
        for (policy, ts, want) in rows {
            assert_eq!(check(Some(policy), ip, at(ts)).is_ok(), want, "{ts}");
        }
    }

    #[test]
    fn malformed_policies_are_refused() {
        for bad in [
            json!("allow"),
            json!({"conditions": {}}),
            json!({"conditions": [{"type": "ip", "effect": "allow"}]}),
            json!({"conditions": [{"type": "ip", "effect": "maybe", "cidrs": ["10.0.0.0/8"]}]}),
            json!({"conditions": [{"type": "time", "effect": "allow", "startHour": 8, "endHour": 24, "timezone": "UTC"}]}),
            json!({"conditions": [{"type": "time", "effect": "allow", "startHour": 8, "endHour": 9, "timezone": "Mars/Olympus"}]}),
            json!({"conditions": [{"type": "geo", "effect": "allow"}]}),
            json!({"statements": "all"}),
        ] {
            assert_eq!(validate(&bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
