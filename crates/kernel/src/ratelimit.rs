//! In-process rate limiting.
//!
//! [`RateLimiter`] is a keyed GCRA (the algorithm behind `governor`): a steady rate with a
//! burst allowance, O(1) memory per key. [`AttemptWindow`] counts events (failed logins,
//! reset requests) per key over a sliding window. Both are per process: with several
//! processes behind a load balancer, each enforces its own share.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

fn shard_of(key: &str) -> usize {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % SHARDS
}

/// The outcome of a rate-limit check, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until a request would be allowed again (0 when allowed).
    pub retry_after_secs: u64,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
}

pub struct RateLimiter {
    /// Time between two requests at the steady rate.
    interval: Duration,
    /// How far ahead of now the theoretical arrival time may run (the burst).
    tolerance: Duration,
    limit: u32,
    shards: Vec<Mutex<HashMap<String, Instant>>>,
}

impl RateLimiter {
    /// `per_period` requests every `period`, with `burst` extra requests allowed at once.
    pub fn new(per_period: u32, period: Duration, burst: u32) -> Self {
        let per_period = per_period.max(1);
        let interval = period / per_period;
        Self {
            interval,
            tolerance: interval * burst,
            limit: per_period.saturating_add(burst),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    pub fn check(&self, key: &str) -> RateDecision {
        self.check_with(key, Instant::now)
    }

    #[cfg(test)]
    fn check_at(&self, key: &str, now: Instant) -> RateDecision {
        self.check_with(key, || now)
    }

    /// `clock` is read under the lock: a thread preempted between reading the time and
    /// taking the lock would otherwise see another thread's later arrival as its future.
    fn check_with(&self, key: &str, clock: impl FnOnce() -> Instant) -> RateDecision {
        let mut shard = match self.shards[shard_of(key)].lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = clock();
        let tat = shard.get(key).copied().unwrap_or(now).max(now);
        let allow_at = tat.checked_sub(self.tolerance).unwrap_or(now);
        if allow_at > now {
            let wait = allow_at - now;
            return RateDecision {
                allowed: false,
                limit: self.limit,
                remaining: 0,
                retry_after_secs: wait.as_secs().max(1),
                reset_secs: (tat - now).as_secs().max(1),
            };
        }
        let new_tat = tat + self.interval;
        // Update in place: no key allocation on the hot path of a known client.
        match shard.get_mut(key) {
            Some(slot) => *slot = new_tat,
            None => {
                shard.insert(key.to_string(), new_tat);
            }
        }
        let used = (new_tat - now).as_nanos() / self.interval.as_nanos().max(1);
        RateDecision {
            allowed: true,
            limit: self.limit,
            remaining: (u128::from(self.limit)).saturating_sub(used) as u32,
            retry_after_secs: 0,
            reset_secs: (new_tat - now).as_secs(),
        }
    }

    /// Forget keys whose buckets are full again; call on a timer.
    pub fn retain_recent(&self) {
        let now = Instant::now();
        for shard in &self.shards {
            if let Ok(mut map) = shard.lock() {
                map.retain(|_, tat| *tat > now);
            }
        }
    }
}

/// Counts events per key within a sliding window.
pub struct AttemptWindow {
    max: u32,
    window: Duration,
    shards: Vec<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl AttemptWindow {
    pub fn new(max: u32, window: Duration) -> Self {
        Self { max, window, shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }

    fn with<R>(&self, key: &str, f: impl FnOnce(&mut VecDeque<Instant>, Instant) -> R) -> R {
        let mut shard = match self.shards[shard_of(key)].lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        let events = shard.entry(key.to_string()).or_default();
        while events.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            events.pop_front();
        }
        f(events, now)
    }

    /// If the key has used up its attempts, the seconds until one frees up.
    pub fn blocked_for(&self, key: &str) -> Option<u64> {
        if self.max == 0 {
            return None;
        }
        let (window, max) = (self.window, self.max as usize);
        self.with(key, |events, now| {
            if events.len() >= max {
                let oldest = events.front().copied().unwrap_or(now);
                Some((window.saturating_sub(now.duration_since(oldest))).as_secs().max(1))
            } else {
                None
            }
        })
    }

    pub fn record(&self, key: &str) {
        let cap = self.max as usize + 1;
        self.with(key, |events, now| {
            events.push_back(now);
            while events.len() > cap {
                events.pop_front();
            }
        });
    }

    pub fn clear(&self, key: &str) {
        self.with(key, |events, _| events.clear());
    }

    pub fn retain_recent(&self) {
        let now = Instant::now();
        for shard in &self.shards {
            if let Ok(mut map) = shard.lock() {
                map.retain(|_, events| events.back().is_some_and(|t| now.duration_since(*t) < self.window));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_burst_then_limits() {
        let limiter = RateLimiter::new(60, Duration::from_secs(60), 2);
        let now = Instant::now();
        let allowed = (0..10).filter(|_| limiter.check_at("ip", now).allowed).count();
        assert_eq!(allowed, 3, "one steady + two burst");
        assert!(limiter.check_at("other", now).allowed, "keys are independent");
        let later = now + Duration::from_secs(2);
        assert!(limiter.check_at("ip", later).allowed, "refills at the steady rate");
    }

    #[test]
    fn attempts_block_after_max() {
        let window = AttemptWindow::new(3, Duration::from_secs(3600));
        for _ in 0..3 {
            assert_eq!(window.blocked_for("a"), None);
            window.record("a");
        }
        assert!(window.blocked_for("a").is_some());
        assert_eq!(window.blocked_for("b"), None);
        window.clear("a");
        assert_eq!(window.blocked_for("a"), None);
    }
}
