//! Rotation schedules: a fixed interval, a cron expression, or both, plus per-object jitter.
//!
//! Choices, and why:
//! - Intervals are parsed as `jiff::Span`s (already a dependency, and the timestamp type used
//!   everywhere): it accepts the short form people write (`30m`, `12h`, `7d`, `1h30m`, `720h`) as well as
//!   ISO 8601 (`PT30M`). Days and weeks count as 24 hours and 7 days; months and years are refused
//!   because their length varies.
//! - Cron expressions are parsed by `croner`: it reads standard 5-field (Vixie/POSIX) cron with names
//!   (`MON`, `JAN`), ranges, steps and the `@daily`-style nicknames, treats day-of-month and
//!   day-of-week as "either matches" like Vixie cron, and works on `jiff` types without pulling in
//!   `chrono`. (The `cron` crate wants a seconds field and `chrono`.) Seconds and year fields are
//!   refused so that an expression means what it means in a crontab.
//! - Cron is evaluated in UTC unless a time zone is named (an IANA tz database name such as
//!   `Europe/Paris`, as in a Kubernetes CronJob's `timeZone`). Names are looked up in the copy of
//!   the tz database compiled into the binary (jiff's `tzdb-bundle-always`), never in the host's
//!   `/usr/share/zoneinfo`: the same binary then computes the same due times in tests, on a laptop
//!   and in the image, and a name is never a file path. A `TZ=`/`CRON_TZ=` prefix inside the
//!   expression is refused with a pointer to the time zone field (croner would not read it either).
//! - Daylight saving time follows croner, which follows Vixie cron. An expression with a fixed
//!   minute and hour (`30 2 * * *`) is a wall-clock appointment: when that time is skipped by a
//!   spring-forward gap it runs at the first instant after the gap (03:00 the same day), and when
//!   a fall-back repeats it, it runs once, at the first occurrence. An expression with a wildcard
//!   or step in the minute or hour field (`*/30 * * * *`, `0 * * * *`) follows elapsed time: its
//!   matches inside a gap do not exist and are skipped, and it matches in both passes of a
//!   repeated hour.
//! - When both are given the earliest due time wins: the interval bounds the age of a value, the cron
//!   expression adds fixed points in time (for example a maintenance window).
//! - Jitter is a fixed, positive offset per object, derived from a hash of its identity, so many
//!   objects created together do not rotate at the same instant, and the same object always gets the
//!   same offset (its schedule stays predictable). It never makes a rotation earlier than asked.

use std::fmt;
use std::sync::LazyLock;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};
use sha2::{Digest, Sha256};

/// The shortest interval accepted: rotating more often than this is a mistake, not a policy.
pub const MIN_INTERVAL: SignedDuration = SignedDuration::from_secs(60);
/// The longest interval accepted (about ten years).
pub const MAX_INTERVAL: SignedDuration = SignedDuration::from_hours(24 * 3650);
/// Jitter never exceeds this, whatever the period.
pub const MAX_JITTER: SignedDuration = SignedDuration::from_hours(1);
/// Jitter is at most this fraction (1/N) of the period it delays.
const JITTER_FRACTION_DIVISOR: i32 = 10;

/// Why a schedule was refused. Messages name the field and the rule, never echo the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("rotation needs an interval, a cron expression, or both")]
    Empty,
    #[error("interval is empty")]
    IntervalEmpty,
    #[error("interval is not a duration (expected forms like 30m, 12h, 7d or 1h30m)")]
    IntervalSyntax,
    #[error("interval must not use months or years (their length varies); use days, e.g. 30d")]
    IntervalCalendarUnits,
    #[error("interval must be positive")]
    IntervalNotPositive,
    #[error("interval must be at least 1 minute")]
    IntervalTooShort,
    #[error("interval must be at most 3650 days")]
    IntervalTooLong,
    #[error("cron expression is empty")]
    CronEmpty,
    #[error(
        "cron expression must have 5 fields (minute hour day-of-month month day-of-week), found {found}"
    )]
    CronFieldCount { found: usize },
    #[error("cron expression is invalid: {detail}")]
    CronSyntax { detail: String },
    #[error("cron {field} field is invalid: {detail}")]
    CronField { field: &'static str, detail: String },
    #[error("cron nickname is unknown; use @yearly, @monthly, @weekly, @daily or @hourly")]
    CronNickname,
    #[error("cron expression never matches a real date")]
    CronNeverMatches,
    #[error(
        "cron expression must not start with TZ= or CRON_TZ=; name the time zone in timeZone instead"
    )]
    CronZonePrefix,
    #[error("timeZone only applies to a cron schedule; an interval counts elapsed time")]
    TimeZoneWithoutCron,
    #[error("timeZone is not a name in the IANA time zone database (such as UTC or Europe/Paris)")]
    TimeZoneUnknown,
}

/// The tz database compiled into the binary (see the module comment for why not the host's).
static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// Look up an IANA time zone name (case-insensitive, like the tz database itself).
pub fn time_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ScheduleError::TimeZoneUnknown);
    }
    TZDB.get(name).map_err(|_| ScheduleError::TimeZoneUnknown)
}

/// A validated rotation interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval(SignedDuration);

impl Interval {
    pub fn parse(input: &str) -> Result<Self, ScheduleError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ScheduleError::IntervalEmpty);
        }
        let span: Span = input.parse().map_err(|_| ScheduleError::IntervalSyntax)?;
        if span.get_years() != 0 || span.get_months() != 0 {
            return Err(ScheduleError::IntervalCalendarUnits);
        }
        let duration = span
            .to_duration(SpanRelativeTo::days_are_24_hours())
            .map_err(|_| ScheduleError::IntervalTooLong)?;
        Self::from_duration(duration)
    }

    pub fn from_duration(duration: SignedDuration) -> Result<Self, ScheduleError> {
        if duration <= SignedDuration::ZERO {
            return Err(ScheduleError::IntervalNotPositive);
        }
        if duration < MIN_INTERVAL {
            return Err(ScheduleError::IntervalTooShort);
        }
        if duration > MAX_INTERVAL {
            return Err(ScheduleError::IntervalTooLong);
        }
        Ok(Self(duration))
    }

    pub fn duration(self) -> SignedDuration {
        self.0
    }
}

/// A validated 5-field cron expression, evaluated in a time zone (UTC unless named).
#[derive(Clone, PartialEq, Eq)]
pub struct CronSchedule {
    cron: Cron,
    source: String,
    zone: TimeZone,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronSchedule")
            .field(&self.source)
            .field(&self.zone.iana_name().unwrap_or("UTC"))
            .finish()
    }
}

impl CronSchedule {
    /// Parse an expression evaluated in UTC.
    pub fn parse(input: &str) -> Result<Self, ScheduleError> {
        Self::parse_in(input, TimeZone::UTC)
    }

    /// Parse an expression evaluated in `zone` (see [`time_zone`] to look one up by name).
    pub fn parse_in(input: &str, zone: TimeZone) -> Result<Self, ScheduleError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ScheduleError::CronEmpty);
        }
        if has_zone_prefix(input) {
            return Err(ScheduleError::CronZonePrefix);
        }
        // Nicknames (`@daily`) expand to five fields; anything else must already have five.
        if !input.starts_with('@') {
            let found = input.split_whitespace().count();
            if found != 5 {
                return Err(ScheduleError::CronFieldCount { found });
            }
        }
        let cron = parser().parse(input).map_err(|e| {
            if input.starts_with('@') {
                return ScheduleError::CronNickname;
            }
            match culprit_field(input) {
                Some((field, detail)) => ScheduleError::CronField { field, detail },
                None => ScheduleError::CronSyntax {
                    detail: cron_error_detail(&e),
                },
            }
        })?;
        let schedule = Self {
            cron,
            source: input.to_owned(),
            zone,
        };
        // Refuse expressions like `0 0 31 2 *` now rather than never rotating later. Every real
        // pattern matches within eight years of any instant (leap days skip 2100), so one search
        // from a fixed reference is enough.
        if schedule.next_after(Timestamp::UNIX_EPOCH).is_none() {
            return Err(ScheduleError::CronNeverMatches);
        }
        Ok(schedule)
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The time zone the expression is evaluated in.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The first matching wall-clock minute (in the schedule's zone) strictly after `t`, or `None`
    /// if there is none. Gaps and repeats of daylight saving time follow the module comment.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let zoned = t.to_zoned(self.zone.clone());
        self.cron
            .find_next_occurrence(&zoned, false)
            .ok()
            .map(|z| z.timestamp())
    }
}

/// Whether an expression starts with a crontab-style time zone prefix (`TZ=...` or `CRON_TZ=...`).
pub fn has_zone_prefix(input: &str) -> bool {
    let upper = input.trim_start().to_ascii_uppercase();
    upper.starts_with("TZ=") || upper.starts_with("CRON_TZ=")
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

const CRON_FIELDS: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/// Croner reports what is wrong but not where; find the first field that fails on its own (the
/// others replaced by `*`) so the message can name it.
fn culprit_field(input: &str) -> Option<(&'static str, String)> {
    let fields: Vec<&str> = input.split_whitespace().collect();
    (0..fields.len().min(CRON_FIELDS.len())).find_map(|i| {
        let alone: Vec<&str> = (0..5)
            .map(|j| if j == i { fields[i] } else { "*" })
            .collect();
        parser()
            .parse(&alone.join(" "))
            .err()
            .map(|e| (CRON_FIELDS[i], cron_error_detail(&e)))
    })
}

/// The part of a croner error worth showing: what is wrong with which field. Croner's messages are
/// about the pattern (spec text), not secret data, but its wording mentions internals; keep it short.
fn cron_error_detail(e: &croner::errors::CronError) -> String {
    use croner::errors::CronError as E;
    match e {
        E::EmptyPattern => "empty".to_owned(),
        E::InvalidPattern(m) | E::IllegalCharacters(m) | E::ComponentError(m) => {
            let m = m.trim_end_matches('.').trim_start_matches("CronPattern ");
            let mut chars = m.chars();
            // Croner capitalises its messages; ours continue a sentence.
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        }
        E::InvalidDate | E::InvalidTime | E::TimeSearchLimitExceeded => {
            "it does not describe a reachable time".to_owned()
        }
    }
}

/// When a value should be rotated: an interval, a cron expression, or both (earliest wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    interval: Option<Interval>,
    cron: Option<CronSchedule>,
}

impl Schedule {
    /// Validate the two optional spec fields. At least one must be given; an empty string counts as
    /// given (and is refused as empty) so a typo does not silently turn rotation off.
    pub fn parse(interval: Option<&str>, cron: Option<&str>) -> Result<Self, ScheduleError> {
        Self::parse_in_zone(interval, cron, None)
    }

    /// As [`Schedule::parse`], with the cron expression evaluated in the named IANA time zone
    /// (UTC when `None`). A time zone without a cron expression is refused: an interval counts
    /// elapsed time and the zone would silently mean nothing.
    pub fn parse_in_zone(
        interval: Option<&str>,
        cron: Option<&str>,
        zone: Option<&str>,
    ) -> Result<Self, ScheduleError> {
        if interval.is_none() && cron.is_none() {
            return Err(ScheduleError::Empty);
        }
        let interval = interval.map(Interval::parse).transpose()?;
        let cron = match (cron, zone) {
            (None, None) => None,
            (None, Some(_)) => return Err(ScheduleError::TimeZoneWithoutCron),
            (Some(cron), None) => Some(CronSchedule::parse(cron)?),
            (Some(cron), Some(name)) => Some(CronSchedule::parse_in(cron, time_zone(name)?)?),
        };
        Ok(Self { interval, cron })
    }

    pub fn interval(&self) -> Option<Interval> {
        self.interval
    }

    pub fn cron(&self) -> Option<&CronSchedule> {
        self.cron.as_ref()
    }
}

/// A stable per-object number that spreads rotations out. Derived with SHA-256 (not `std`'s hasher,
/// whose output may change between Rust releases) so an object's offset survives operator upgrades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterSeed(u64);

impl JitterSeed {
    pub fn from_identity(namespace: &str, name: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"keyward/rotation-jitter/v1\0");
        h.update((namespace.len() as u64).to_be_bytes());
        h.update(namespace.as_bytes());
        h.update((name.len() as u64).to_be_bytes());
        h.update(name.as_bytes());
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Self(u64::from_be_bytes(first))
    }

    /// A seed with a known value, for tests and for callers that want no jitter (`0`).
    pub const fn fixed(value: u64) -> Self {
        Self(value)
    }

    /// The offset for a period: within `[0, min(period / 10, MAX_JITTER))`, millisecond resolution.
    pub fn offset_for(self, period: SignedDuration) -> SignedDuration {
        let window = (period / JITTER_FRACTION_DIVISOR).min(MAX_JITTER);
        let window_ms = window.as_millis();
        if window_ms <= 0 {
            return SignedDuration::ZERO;
        }
        // window_ms ≤ 3_600_000, so the remainder fits in i64 and the modulo bias is negligible.
        let offset_ms = (u128::from(self.0) % window_ms as u128) as i64;
        SignedDuration::from_millis(offset_ms)
    }
}

/// When the value is next due for rotation.
///
/// The anchor is the last rotation, or the creation of the first version when there was none.
/// Interval: anchor + interval + jitter. Cron: the first match strictly after the anchor, + jitter
/// (bounded by a tenth of the gap to the match after it). Both: the earlier. The result never
/// depends on the current time, so calling it twice gives the same answer.
///
/// Returns `Timestamp::MAX` ("never") only if the arithmetic leaves jiff's range (year 9999).
pub fn next_due(
    schedule: &Schedule,
    last_rotation: Option<Timestamp>,
    created: Timestamp,
    seed: JitterSeed,
) -> Timestamp {
    let anchor = last_rotation.unwrap_or(created);
    let by_interval = schedule.interval.and_then(|interval| {
        let period = interval.duration();
        anchor
            .checked_add(period)
            .and_then(|t| t.checked_add(seed.offset_for(period)))
            .ok()
    });
    let by_cron = schedule.cron.as_ref().and_then(|cron| {
        let first = cron.next_after(anchor)?;
        let gap = cron
            .next_after(first)
            .map(|second| first.duration_until(second))
            .unwrap_or(SignedDuration::ZERO);
        first.checked_add(seed.offset_for(gap)).ok()
    });
    match (by_interval, by_cron) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => Timestamp::MAX,
    }
}

/// Whether a rotation due at `due` should happen at `now`.
pub fn is_due(now: Timestamp, due: Timestamp) -> bool {
    now >= due
}

/// `d` after `t`, saturating at the end of time.
pub fn later(t: Timestamp, d: std::time::Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// How long until `due`, for a requeue: zero when already due.
pub fn until_due(now: Timestamp, due: Timestamp) -> std::time::Duration {
    std::time::Duration::try_from(now.duration_until(due)).unwrap_or(std::time::Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NO_JITTER: JitterSeed = JitterSeed::fixed(0);

    #[test]
    fn intervals_parse_to_durations() {
        let cases = [
            ("1m", 60),
            ("30m", 30 * 60),
            ("12h", 12 * 3600),
            ("7d", 7 * 86400),
            ("720h", 720 * 3600),
            ("1h30m", 5400),
            ("2w", 14 * 86400),
            (" 90s ", 90),
            ("PT45M", 45 * 60),
            ("1 day", 86400),
            ("3650d", 3650 * 86400),
        ];
        for (input, secs) in cases {
            let got = Interval::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(got.duration(), SignedDuration::from_secs(secs), "{input:?}");
        }
    }

    #[test]
    fn bad_intervals_are_refused_with_their_reason() {
        use ScheduleError as E;
        let cases = [
            ("", E::IntervalEmpty),
            ("   ", E::IntervalEmpty),
            ("soon", E::IntervalSyntax),
            ("30", E::IntervalSyntax),
            ("5x", E::IntervalSyntax),
            ("1mo", E::IntervalCalendarUnits),
            ("1y", E::IntervalCalendarUnits),
            ("-5m", E::IntervalNotPositive),
            ("0s", E::IntervalNotPositive),
            ("59s", E::IntervalTooShort),
            ("3651d", E::IntervalTooLong),
        ];
        for (input, want) in cases {
            assert_eq!(Interval::parse(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn error_messages_do_not_echo_the_input() {
        let canary = "canary-7731";
        for err in [
            Interval::parse(canary).unwrap_err(),
            Schedule::parse(Some(canary), None).unwrap_err(),
        ] {
            assert!(!err.to_string().contains(canary), "{err}");
        }
    }

    #[test]
    fn cron_expressions_parse_and_field_counts_are_checked() {
        for ok in [
            "* * * * *",
            "0 3 * * *",
            "*/15 * * * *",
            "0 0 1 */3 *",
            "30 2 * * MON-FRI",
            "0 0 1 JAN *",
            "0 12 * * 7",
            "@daily",
            "@weekly",
            "  0 4 * * 0  ",
        ] {
            CronSchedule::parse(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
        use ScheduleError as E;
        assert_eq!(CronSchedule::parse(""), Err(E::CronEmpty));
        assert_eq!(
            CronSchedule::parse("0 * * * * *"),
            Err(E::CronFieldCount { found: 6 })
        );
        assert_eq!(
            CronSchedule::parse("* * *"),
            Err(E::CronFieldCount { found: 3 })
        );
        assert_eq!(CronSchedule::parse("0 0 31 2 *"), Err(E::CronNeverMatches));
        assert_eq!(CronSchedule::parse("@reboot"), Err(E::CronNickname));
        let cases = [
            (
                "60 * * * *",
                "cron minute field is invalid: number out of bounds",
            ),
            (
                "* 24 * * *",
                "cron hour field is invalid: number out of bounds",
            ),
            (
                "* * 0 * *",
                "cron day-of-month field is invalid: number out of bounds",
            ),
            (
                "* * * 13 *",
                "cron month field is invalid: number out of bounds",
            ),
            (
                "0 0 * * 8",
                "cron day-of-week field is invalid: number out of bounds",
            ),
            (
                "*/0 * * * *",
                "cron minute field is invalid: step cannot be zero",
            ),
            (
                "0 1-70 * * *",
                "cron hour field is invalid: range out of bounds",
            ),
            (
                "0 0 * FOO *",
                "cron month field is invalid: contains illegal character",
            ),
        ];
        for (bad, want) in cases {
            let err = CronSchedule::parse(bad).unwrap_err();
            assert!(err.to_string().starts_with(want), "{bad:?}: {err}");
        }
    }

    /// `next_after` in named zones, from fixed instants. Europe/Paris in 2026: clocks go from
    /// 02:00 CET to 03:00 CEST on 29 March (01:00Z), and from 03:00 CEST back to 02:00 CET on
    /// 25 October (01:00Z), so 02:00-02:59 happens twice that night.
    #[test]
    fn cron_in_a_named_zone_follows_its_wall_clock() {
        let cases = [
            // (zone, expression, after, want, why)
            (
                "UTC",
                "0 3 * * *",
                "2026-03-10T00:00:00Z",
                "2026-03-10T03:00:00Z",
                "UTC is unchanged",
            ),
            (
                "Europe/Paris",
                "0 3 * * *",
                "2026-01-10T00:00:00Z",
                "2026-01-10T02:00:00Z",
                "winter: 03:00 CET is 02:00Z",
            ),
            (
                "Europe/Paris",
                "0 3 * * *",
                "2026-07-10T00:00:00Z",
                "2026-07-10T01:00:00Z",
                "summer: 03:00 CEST is 01:00Z",
            ),
            (
                "Europe/Paris",
                "30 2 * * *",
                "2026-03-28T02:00:00Z",
                "2026-03-29T01:00:00Z",
                "02:30 does not exist on 29 March: a fixed time runs at the end of the gap (03:00 CEST)",
            ),
            (
                "Europe/Paris",
                "30 2 * * *",
                "2026-03-29T01:00:00Z",
                "2026-03-30T00:30:00Z",
                "and the day after it is back at 02:30 CEST",
            ),
            (
                "Europe/Paris",
                "*/30 * * * *",
                "2026-03-29T00:30:00Z",
                "2026-03-29T01:00:00Z",
                "a step in the minute field skips the gap: 01:30 CET then 03:00 CEST",
            ),
            (
                "Europe/Paris",
                "30 2 * * *",
                "2026-10-25T00:00:00Z",
                "2026-10-25T00:30:00Z",
                "02:30 repeats on 25 October: a fixed time runs at the first one (CEST)",
            ),
            (
                "Europe/Paris",
                "30 2 * * *",
                "2026-10-25T00:30:00Z",
                "2026-10-26T01:30:00Z",
                "and not again at the second 02:30 (CET): next is the following day",
            ),
            (
                "Europe/Paris",
                "*/30 * * * *",
                "2026-10-25T00:30:00Z",
                "2026-10-25T01:00:00Z",
                "a step in the minute field runs in both passes: 02:30 CEST then 02:00 CET",
            ),
            (
                "Asia/Kolkata",
                "0 3 * * *",
                "2026-03-10T00:00:00Z",
                "2026-03-10T21:30:00Z",
                "UTC+05:30: 03:00 on the 10th was 21:30Z on the 9th, so the 11th",
            ),
            (
                "asia/kolkata",
                "30 * * * *",
                "2026-03-10T00:00:00Z",
                "2026-03-10T01:00:00Z",
                "names are case-insensitive; minute 30 in IST is minute 0 in UTC",
            ),
        ];
        for (zone, expr, after, want, why) in cases {
            let cron = CronSchedule::parse_in(expr, time_zone(zone).unwrap()).unwrap();
            assert_eq!(
                cron.next_after(ts(after)),
                Some(ts(want)),
                "{zone} {expr}: {why}"
            );
        }
    }

    #[test]
    fn zone_changes_the_due_time() {
        let created = ts("2026-07-10T00:00:00Z");
        let due = |zone| {
            let schedule = Schedule::parse_in_zone(None, Some("0 3 * * *"), zone).unwrap();
            next_due(&schedule, None, created, NO_JITTER)
        };
        assert_eq!(due(None), ts("2026-07-10T03:00:00Z"));
        assert_eq!(due(Some("UTC")), ts("2026-07-10T03:00:00Z"));
        assert_eq!(due(Some("Europe/Paris")), ts("2026-07-10T01:00:00Z"));
        assert_eq!(due(Some("America/New_York")), ts("2026-07-10T07:00:00Z"));
    }

    #[test]
    fn bad_time_zones_are_refused() {
        use ScheduleError as E;
        for name in [
            "",
            " ",
            "Mars/Olympus",
            "Europe/Pariss",
            "../etc/passwd",
            "+01:00",
            "CET-1CEST",
        ] {
            assert_eq!(time_zone(name), Err(E::TimeZoneUnknown), "{name:?}");
            assert_eq!(
                Schedule::parse_in_zone(None, Some("0 3 * * *"), Some(name)),
                Err(E::TimeZoneUnknown),
                "{name:?}"
            );
        }
        assert_eq!(
            Schedule::parse_in_zone(Some("1h"), None, Some("Europe/Paris")),
            Err(E::TimeZoneWithoutCron)
        );
        for prefixed in [
            "TZ=Europe/Paris 0 3 * * *",
            "CRON_TZ=UTC 0 3 * * *",
            " tz=UTC @daily",
        ] {
            assert_eq!(
                CronSchedule::parse(prefixed),
                Err(E::CronZonePrefix),
                "{prefixed:?}"
            );
        }
        let err = time_zone("canary-7731").unwrap_err();
        assert!(!err.to_string().contains("canary"), "{err}");
    }

    #[test]
    fn schedule_needs_at_least_one_field() {
        assert_eq!(Schedule::parse(None, None), Err(ScheduleError::Empty));
        assert_eq!(
            Schedule::parse(Some(""), None),
            Err(ScheduleError::IntervalEmpty)
        );
        assert_eq!(
            Schedule::parse(Some("1h"), Some("bad")),
            Err(ScheduleError::CronFieldCount { found: 1 })
        );
    }

    #[test]
    fn next_due_table() {
        let created = ts("2026-03-10T10:17:00Z");
        // (interval, cron, last rotation, expected next due) with no jitter.
        // (interval, cron, last rotation, expected)
        type Row<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);
        let cases: &[Row] = &[
            // Interval counts from creation, then from the last rotation.
            (Some("30m"), None, None, "2026-03-10T10:47:00Z"),
            (
                Some("7d"),
                None,
                Some("2026-03-12T08:00:00Z"),
                "2026-03-19T08:00:00Z",
            ),
            // Cron: first match strictly after the anchor.
            (None, Some("0 3 * * *"), None, "2026-03-11T03:00:00Z"),
            (
                None,
                Some("0 3 * * *"),
                Some("2026-03-11T03:00:00Z"),
                "2026-03-12T03:00:00Z",
            ),
            // Day-of-month OR day-of-week, as in Vixie cron: the 15th (a Sunday in March 2026)
            // or any Friday; 2026-03-13 is a Friday.
            (None, Some("0 0 15 * FRI"), None, "2026-03-13T00:00:00Z"),
            // Month end rollover and leap years.
            (None, Some("0 0 29 2 *"), None, "2028-02-29T00:00:00Z"),
            (None, Some("0 0 31 * *"), None, "2026-03-31T00:00:00Z"),
            (
                None,
                Some("0 0 31 * *"),
                Some("2026-03-31T00:00:00Z"),
                "2026-05-31T00:00:00Z",
            ),
            // 2100 is not a leap year: the next 29 February after 2097 is in 2104.
            (
                None,
                Some("0 0 29 2 *"),
                Some("2097-03-01T00:00:00Z"),
                "2104-02-29T00:00:00Z",
            ),
            // Year rollover.
            (
                None,
                Some("0 0 1 1 *"),
                Some("2026-12-31T23:59:00Z"),
                "2027-01-01T00:00:00Z",
            ),
            // Both: the earliest wins, whichever it is.
            (Some("1h"), Some("0 3 * * *"), None, "2026-03-10T11:17:00Z"),
            (Some("30d"), Some("0 3 * * *"), None, "2026-03-11T03:00:00Z"),
        ];
        for (interval, cron, last, want) in cases {
            let schedule = Schedule::parse(*interval, *cron).unwrap();
            let got = next_due(&schedule, last.map(ts), created, NO_JITTER);
            assert_eq!(got, ts(want), "{interval:?} {cron:?} {last:?}");
        }
    }

    #[test]
    fn next_due_is_a_function_of_its_inputs() {
        let schedule = Schedule::parse(Some("12h"), Some("*/5 * * * *")).unwrap();
        let seed = JitterSeed::from_identity("team-a", "db-password");
        let created = ts("2026-01-01T00:00:00Z");
        let a = next_due(&schedule, None, created, seed);
        let b = next_due(&schedule, None, created, seed);
        assert_eq!(a, b);
    }

    #[test]
    fn jitter_is_bounded_and_never_early() {
        let created = ts("2026-03-10T00:00:00Z");
        let hourly = Schedule::parse(Some("1h"), None).unwrap();
        let monthly = Schedule::parse(Some("30d"), None).unwrap();
        let cron = Schedule::parse(None, Some("0 * * * *")).unwrap();
        for i in 0..200 {
            let seed = JitterSeed::from_identity("ns", &format!("secret-{i}"));
            let d = next_due(&hourly, None, created, seed);
            assert!(d >= ts("2026-03-10T01:00:00Z") && d < ts("2026-03-10T01:06:00Z"));
            let d = next_due(&monthly, None, created, seed);
            assert!(d >= ts("2026-04-09T00:00:00Z") && d < ts("2026-04-09T01:00:00Z"));
            let d = next_due(&cron, None, created, seed);
            assert!(d >= ts("2026-03-10T01:00:00Z") && d < ts("2026-03-10T01:06:00Z"));
        }
    }

    #[test]
    fn jitter_spreads_objects_created_together() {
        let created = ts("2026-03-10T00:00:00Z");
        let schedule = Schedule::parse(Some("30d"), None).unwrap();
        let dues: std::collections::BTreeSet<Timestamp> = (0..100)
            .map(|i| {
                let seed = JitterSeed::from_identity("ns", &format!("secret-{i}"));
                next_due(&schedule, None, created, seed)
            })
            .collect();
        // With a one-hour window at millisecond resolution, 100 objects collide essentially never;
        // the seed is a hash, so this is a fixed outcome, not a flaky one.
        assert_eq!(dues.len(), 100);
    }

    #[test]
    fn jitter_seed_is_stable_and_identity_sensitive() {
        let a = JitterSeed::from_identity("ns", "name");
        assert_eq!(a, JitterSeed::from_identity("ns", "name"));
        assert_ne!(a, JitterSeed::from_identity("ns", "other"));
        // Length-prefixing keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(
            JitterSeed::from_identity("ab", "c"),
            JitterSeed::from_identity("a", "bc")
        );
    }

    #[test]
    fn is_due_compares_with_now() {
        let due = ts("2026-03-10T10:00:00Z");
        assert!(!is_due(ts("2026-03-10T09:59:59Z"), due));
        assert!(is_due(due, due));
        assert!(is_due(ts("2026-03-10T10:00:01Z"), due));
    }

    #[test]
    fn until_due_saturates_at_zero() {
        let due = ts("2026-03-10T10:00:00Z");
        let secs = |s| std::time::Duration::from_secs(s);
        assert_eq!(until_due(ts("2026-03-10T09:58:30Z"), due), secs(90));
        assert_eq!(until_due(due, due), secs(0));
        assert_eq!(until_due(ts("2026-03-10T11:00:00Z"), due), secs(0));
        assert!(until_due(due, Timestamp::MAX) > secs(86400 * 365 * 1000));
    }
}
