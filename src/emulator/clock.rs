//! The emulator's notion of "now": wall time by default, or a frozen instant that tests move by hand.
//!
//! Ephemeral policies (TTL expiry, purge of soft-deleted resources) are evaluated against this clock, so
//! a test can create a version, advance the clock past its TTL and observe the expiry without sleeping.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// A clock shared by the whole emulator. Timestamps are truncated to microseconds, the API's precision.
#[derive(Debug, Default)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct ClockState {
    /// When set, `now()` returns exactly this instant until it is moved or released.
    frozen: Option<Timestamp>,
    /// Added to wall time while the clock runs (kept when a frozen clock is released).
    offset: SignedDuration,
}

impl Clock {
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock frozen at `at`.
    pub fn frozen_at(at: Timestamp) -> Self {
        let clock = Self::default();
        clock.freeze_at(at);
        clock
    }

    pub fn now(&self) -> Timestamp {
        let state = *self.state.lock().unwrap_or_else(|e| e.into_inner());
        let raw = match state.frozen {
            Some(at) => at,
            None => Timestamp::now()
                .checked_add(state.offset)
                .unwrap_or(Timestamp::MAX),
        };
        truncate_to_micros(raw)
    }

    pub fn is_frozen(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .frozen
            .is_some()
    }

    /// Stops the clock at `at`.
    pub fn freeze_at(&self, at: Timestamp) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).frozen = Some(truncate_to_micros(at));
    }

    /// Stops the clock at the current instant.
    pub fn freeze(&self) {
        let now = self.now();
        self.freeze_at(now);
    }

    /// Moves the clock forward (or backward with a negative duration), frozen or running.
    pub fn advance(&self, by: SignedDuration) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.frozen.as_mut() {
            Some(at) => *at = at.checked_add(by).unwrap_or(*at),
            None => state.offset = state.offset.saturating_add(by),
        }
    }

    /// Lets a frozen clock run again from the instant it shows (wall time plus an offset).
    pub fn resume(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = state.frozen.take() {
            state.offset = at.duration_since(Timestamp::now());
        }
    }
}

pub fn truncate_to_micros(ts: Timestamp) -> Timestamp {
    let nanos = ts.as_nanosecond();
    Timestamp::from_nanosecond(nanos - nanos.rem_euclid(1_000)).unwrap_or(ts)
}

/// RFC 3339, UTC, six fractional digits and `Z`, as the API writes timestamps.
pub fn format_timestamp(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_microseconds_and_z() {
        let ts: Timestamp = "2026-07-03T15:27:54.805853Z".parse().unwrap();
        assert_eq!(format_timestamp(ts), "2026-07-03T15:27:54.805853Z");
        let whole: Timestamp = "2026-07-03T15:27:54Z".parse().unwrap();
        assert_eq!(format_timestamp(whole), "2026-07-03T15:27:54.000000Z");
    }

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = Clock::frozen_at(start);
        assert_eq!(clock.now(), start);
        clock.advance(SignedDuration::from_secs(90));
        assert_eq!(
            clock.now(),
            "2026-01-01T00:01:30Z".parse::<Timestamp>().unwrap()
        );
        clock.resume();
        assert!(!clock.is_frozen());
        assert!(clock.now() >= "2026-01-01T00:01:30Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn truncates_nanoseconds() {
        let ts = Timestamp::from_nanosecond(1_700_000_000_123_456_789).unwrap();
        assert_eq!(
            truncate_to_micros(ts).as_nanosecond(),
            1_700_000_000_123_456_000
        );
    }
}
