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

static SLOTS: [Slot; 2] = [Slot::new(), Slot::new()];

/// The hour a moment falls in, as seconds since the epoch of its first second.
pub fn hour_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(3600) * 3600
}

fn current_hour() -> i64 {
    hour_of(crate::time::now().unix_timestamp())
}

fn slot_of(hour: i64) -> &'static Slot {
    &SLOTS[(hour / 3600).rem_euclid(2) as usize]
}

/// Count one answered request with its status.
pub fn record_request(status: u16) {
    let slot = slot_of(current_hour());
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

/// Take what was counted since the last drain, by hour (at most the current hour and the
/// one before). Call it at least every few minutes.
pub fn drain() -> Vec<(i64, RequestCounts)> {
    let now = current_hour();
    [(now - 3600, slot_of(now - 3600).take()), (now, slot_of(now).take())]
        .into_iter()
        .filter(|(_, counts)| !counts.is_empty())
        .collect()
}

/// What this process counted and has not drained yet, by hour (nothing is taken).
pub fn pending() -> Vec<(i64, RequestCounts)> {
    let now = current_hour();
    [(now - 3600, slot_of(now - 3600).peek()), (now, slot_of(now).peek())]
        .into_iter()
        .filter(|(_, counts)| !counts.is_empty())
        .collect()
}

/// Give drained counts back (their write failed), so the next drain retries them. Counts
/// older than the previous hour are dropped: their slot now counts another hour.
pub fn restore(drained: &[(i64, RequestCounts)]) {
    let now = current_hour();
    for (hour, counts) in drained {
        if *hour < now - 3600 {
            continue;
        }
        let slot = slot_of(*hour);
        slot.requests.fetch_add(counts.requests, Ordering::Relaxed);
        slot.client_errors.fetch_add(counts.client_errors, Ordering::Relaxed);
        slot.server_errors.fetch_add(counts.server_errors, Ordering::Relaxed);
    }
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

    #[test]
    fn counts_are_drained_once_by_status_class() {
        // The slots are shared by the whole test binary: measure what this test adds.
        let before: u64 = pending().iter().map(|(_, c)| c.client_errors).sum();
        record_request(404);
        record_request(422);
        let after: u64 = pending().iter().map(|(_, c)| c.client_errors).sum();
        assert!(after >= before + 2, "{before} -> {after}");
        let drained = drain();
        assert!(drained.iter().map(|(_, c)| c.client_errors).sum::<u64>() >= 2);
        restore(&drained);
        assert!(pending().iter().map(|(_, c)| c.requests).sum::<u64>() >= 2);
    }
}
