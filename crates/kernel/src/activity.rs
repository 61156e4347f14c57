//! Requests answered per hour, counted in memory for the admin dashboard's charts.
//!
//! The edge middleware calls [`record_request`] once per response: two relaxed atomic
//! additions, no lock and no write. Insights drains the counts into its table every minute
//! ([`drain`]) and adds them to what other processes wrote for the same hour.
//!
//! Counts go into one of two slots by the hour's parity. The drain runs far more often than
//! once an hour, so when it runs, the slot of the other parity can only hold counts of the
//! previous hour: a request counted just before an hour turns is never filed under the next.

use std::sync::atomic::{AtomicU64, Ordering};

/// What is counted per hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub requests: u64,
    /// 4xx answers.
    pub client_errors: u64,
    /// 5xx answers.
    pub server_errors: u64,
}

impl RequestCounts {
    pub fn is_empty(&self) -> bool {
        self.requests == 0
    }
}

struct Slot {
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
}

impl Slot {
    const fn new() -> Self {
        Slot { requests: AtomicU64::new(0), client_errors: AtomicU64::new(0), server_errors: AtomicU64::new(0) }
    }

    fn take(&self) -> RequestCounts {
        RequestCounts {
            requests: self.requests.swap(0, Ordering::Relaxed),
            client_errors: self.client_errors.swap(0, Ordering::Relaxed),
            server_errors: self.server_errors.swap(0, Ordering::Relaxed),
        }
    }

    fn peek(&self) -> RequestCounts {
        RequestCounts {
            requests: self.requests.load(Ordering::Relaxed),
            client_errors: self.client_errors.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
        }
    }
}

/// Two hours of counts, by the hour's parity.
pub struct Counters {
    slots: [Slot; 2],
}

impl Counters {
    pub const fn new() -> Self {
        Counters { slots: [Slot::new(), Slot::new()] }
    }

    fn slot(&self, hour: i64) -> &Slot {
        &self.slots[(hour / 3600).rem_euclid(2) as usize]
    }

    /// Count one answered request, with its status, in `hour`.
    pub fn record(&self, hour: i64, status: u16) {
        let slot = self.slot(hour);
        slot.requests.fetch_add(1, Ordering::Relaxed);
        match status {
            400..=499 => {
                slot.client_errors.fetch_add(1, Ordering::Relaxed);
            }
            500..=599 => {
                slot.server_errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// Take what was counted, by hour, when the current hour is `now`: the other slot
    /// holds the previous hour. (A request counted in the instant the hour turns, between
    /// reading the clock and taking the slots, may be filed under the hour before.)
    pub fn drain(&self, now: i64) -> Vec<(i64, RequestCounts)> {
        [(now - 3600, self.slot(now - 3600).take()), (now, self.slot(now).take())]
            .into_iter()
            .filter(|(_, counts)| !counts.is_empty())
            .collect()
    }

    /// What was counted and not drained yet, by hour (nothing is taken).
    pub fn pending(&self, now: i64) -> Vec<(i64, RequestCounts)> {
        [(now - 3600, self.slot(now - 3600).peek()), (now, self.slot(now).peek())]
            .into_iter()
            .filter(|(_, counts)| !counts.is_empty())
            .collect()
    }
}

impl Default for Counters {
    fn default() -> Self {
        Counters::new()
    }
}

/// This process's counts.
static COUNTERS: Counters = Counters::new();

/// The hour a moment falls in, as seconds since the epoch of its first second.
pub fn hour_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(3600) * 3600
}

/// The current hour, as [`hour_of`] gives it.
pub fn current_hour() -> i64 {
    hour_of(crate::time::now().unix_timestamp())
}

/// Count one answered request with its status.
pub fn record_request(status: u16) {
    COUNTERS.record(current_hour(), status);
}

/// Take what this process counted since the last drain, by hour (at most the current hour
/// and the one before). Call it at least every few minutes.
pub fn drain() -> Vec<(i64, RequestCounts)> {
    COUNTERS.drain(current_hour())
}

/// What this process counted and has not drained yet, by hour (nothing is taken).
pub fn pending() -> Vec<(i64, RequestCounts)> {
    COUNTERS.pending(current_hour())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_start_on_the_hour() {
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(3599), 0);
        assert_eq!(hour_of(3600), 3600);
        assert_eq!(hour_of(-1), -3600);
    }

    fn counts(requests: u64, client_errors: u64, server_errors: u64) -> RequestCounts {
        RequestCounts { requests, client_errors, server_errors }
    }

    #[test]
    fn counts_are_drained_once_by_hour_and_status_class() {
        let counters = Counters::new();
        let (before, now) = (7200, 10_800);
        counters.record(before, 200);
        counters.record(now, 404);
        counters.record(now, 422);
        counters.record(now, 503);
        let expected = vec![(before, counts(1, 0, 0)), (now, counts(3, 2, 1))];
        assert_eq!(counters.pending(now), expected);
        assert_eq!(counters.pending(now), expected, "peeking takes nothing");
        assert_eq!(counters.drain(now), expected);
        assert_eq!(counters.drain(now), vec![], "a drain takes everything");
        // The next hour reuses the slot of the hour before the previous one.
        counters.record(now + 3600, 201);
        assert_eq!(counters.drain(now + 3600), vec![(now + 3600, counts(1, 0, 0))]);
    }
}
