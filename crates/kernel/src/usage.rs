//! Usage metering and quotas, shared by every module without any of them knowing the plans.
//!
//! - **Counters** (`api_calls_per_day`, `ai_tokens_per_month`, `exports_per_month`) are
//!   counted in memory, per organization, and drained in batches by the owner of the usage
//!   table (Commerce) — a request pays one short mutex, never a write.
//! - **Gauges** (`records`, `storage_bytes`) are measured now and then by the module that
//!   owns them (a [`UsageProbe`]) and kept current in between by the deltas it reports.
//! - **Counts** (`projects`, `apps`, `members`) are counted by their owner at creation and
//!   checked with [`Usage::allow_count`]; a [`CountProbe`] reports them.
//!
//! The limits come from a [`QuotaSource`] (Commerce: the organization's plan); they are
//! enforced only when `[usage] enforce` is on, and never without a source. Each process keeps its own view, reloaded every
//! [`COUNTER_REFRESH`]: with several processes an organization may exceed a counter by what
//! the others counted since their last flush, which is the price of not writing per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::module::BoxFuture;
use crate::{Error, Result};

/// How long a loaded view of the counters and limits is trusted.
pub const COUNTER_REFRESH: Duration = Duration::from_secs(30);
/// How long measured gauges are trusted (measuring storage walks files).
pub const GAUGE_REFRESH: Duration = Duration::from_secs(300);

/// `[usage]`: metering of API calls, AI tokens, exports and stored data (on by default),
/// and whether the plans' quotas are enforced on them (off by default: a self-hosted server
/// does not cap its own owner; turn it on when you sell plans).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UsageConfig {
    pub metering: bool,
    pub enforce: bool,
}

impl Default for UsageConfig {
    fn default() -> Self {
        UsageConfig { metering: true, enforce: false }
    }
}

/// What a plan can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    ApiCallsPerDay,
    AiTokensPerMonth,
    ExportsPerMonth,
    Records,
    StorageBytes,
    Projects,
    Apps,
    Members,
}

/// Over which window a metric is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Day,
    Month,
    /// What exists now.
    Current,
}

impl Metric {
    pub const ALL: [Metric; 8] = [
        Metric::Projects,
        Metric::Apps,
        Metric::Records,
        Metric::StorageBytes,
        Metric::ApiCallsPerDay,
        Metric::AiTokensPerMonth,
        Metric::ExportsPerMonth,
        Metric::Members,
    ];
    /// The metrics counted here and written to the usage table.
    pub const COUNTERS: [Metric; 3] = [Metric::ApiCallsPerDay, Metric::AiTokensPerMonth, Metric::ExportsPerMonth];

    /// Its name in plan limits, problems and reports.
    pub fn key(self) -> &'static str {
        match self {
            Metric::ApiCallsPerDay => "api_calls_per_day",
            Metric::AiTokensPerMonth => "ai_tokens_per_month",
            Metric::ExportsPerMonth => "exports_per_month",
            Metric::Records => "records",
            Metric::StorageBytes => "storage_bytes",
            Metric::Projects => "projects",
            Metric::Apps => "apps",
            Metric::Members => "members",
        }
    }

    pub fn from_key(key: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.key() == key)
    }

    pub fn window(self) -> Window {
        match self {
            Metric::ApiCallsPerDay => Window::Day,
            Metric::AiTokensPerMonth | Metric::ExportsPerMonth => Window::Month,
            _ => Window::Current,
        }
    }

    fn counter_index(self) -> Option<usize> {
        Metric::COUNTERS.iter().position(|m| *m == self)
    }

    fn index(self) -> usize {
        Metric::ALL.iter().position(|m| *m == self).unwrap_or(0)
    }
}

/// A refusal: which limit, what is used, what the plan allows. A rate (calls per day) is a
/// 429 retried after the window; a plan's allowance is a 402 (upgrade the plan).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// The limit's key, as in the plan (`records`, `api_calls_per_day`…).
    pub limit: String,
    pub used: i64,
    pub max: i64,
    /// Seconds until the window restarts (rates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// An organization's limits (absent: unlimited) and its counters' totals stored so far in
/// the current windows.
#[derive(Debug, Clone, Default)]
pub struct StoredUsage {
    pub limits: HashMap<Metric, i64>,
    /// Indexed like [`Metric::COUNTERS`].
    pub counted: [i64; 3],
}

/// The owner of plans and of the usage table.
pub trait QuotaSource: Send + Sync + 'static {
    fn load<'a>(&'a self, org: &'a str, now: OffsetDateTime) -> BoxFuture<'a, Result<StoredUsage>>;
}

/// A module that can measure gauges it owns for an organization.
pub trait UsageProbe: Send + Sync + 'static {
    fn measure<'a>(&'a self, org: &'a str) -> BoxFuture<'a, Result<Vec<(Metric, i64)>>>;
}

/// A probe that counts with one query whose `$1` is the organization (projects, apps,
/// members: their owner registers it).
pub struct CountProbe {
    pub db: crate::Db,
    pub metric: Metric,
    pub sql: &'static str,
}

impl UsageProbe for CountProbe {
    fn measure<'a>(&'a self, org: &'a str) -> BoxFuture<'a, Result<Vec<(Metric, i64)>>> {
        Box::pin(async move { Ok(vec![(self.metric, self.db.count(self.sql, crate::args![org]).await?)]) })
    }
}

/// One line of a usage report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricUsage {
    pub metric: Metric,
    pub window: Window,
    pub used: i64,
    /// None: unlimited.
    pub limit: Option<i64>,
}

/// The metering handle; cheap to clone. The kernel module provides it to every module.
#[derive(Clone)]
pub struct Usage(Arc<Inner>);

struct Inner {
    enabled: bool,
    enforce: bool,
    orgs: RwLock<HashMap<String, Arc<OrgUsage>>>,
    source: OnceLock<Arc<dyn QuotaSource>>,
    probes: RwLock<Vec<Arc<dyn UsageProbe>>>,
}

#[derive(Default)]
struct OrgUsage {
    view: Mutex<View>,
    /// One reload at a time; others use the view they have.
    reloading: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct View {
    /// Counted here, not yet drained to the usage table.
    unflushed: [i64; 3],
    /// When counters and limits were loaded, and for which day (`None`: never).
    loaded: Option<(Instant, time::Date)>,
    measured: Option<Instant>,
    limits: HashMap<Metric, i64>,
    /// Totals as loaded or measured, plus what was added here since.
    used: [i64; 8],
}

impl View {
    fn fresh(&self, today: time::Date) -> bool {
        self.loaded.is_some_and(|(at, day)| day == today && at.elapsed() < COUNTER_REFRESH)
    }

    fn gauges_fresh(&self) -> bool {
        self.measured.is_some_and(|at| at.elapsed() < GAUGE_REFRESH)
    }
}

fn needs_gauges(metric: Metric) -> bool {
    matches!(metric, Metric::Records | Metric::StorageBytes)
}

impl Usage {
    /// `enabled: false` turns metering (and so quotas) off; `enforce` refuses what goes over
    /// the plans' limits.
    pub fn new(enabled: bool, enforce: bool) -> Self {
        Usage(Arc::new(Inner {
            enabled,
            enforce: enabled && enforce,
            orgs: RwLock::new(HashMap::new()),
            source: OnceLock::new(),
            probes: RwLock::new(Vec::new()),
        }))
    }

    pub fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Install the owner of plans (once; later calls are ignored).
    pub fn set_source(&self, source: Arc<dyn QuotaSource>) {
        let _ = self.0.source.set(source);
    }

    pub fn add_probe(&self, probe: Arc<dyn UsageProbe>) {
        if let Ok(mut probes) = self.0.probes.write() {
            probes.push(probe);
        }
    }

    fn org(&self, org: &str) -> Arc<OrgUsage> {
        if let Ok(orgs) = self.0.orgs.read()
            && let Some(o) = orgs.get(org)
        {
            return o.clone();
        }
        match self.0.orgs.write() {
            Ok(mut orgs) => orgs.entry(org.to_string()).or_default().clone(),
            Err(_) => Arc::new(OrgUsage::default()),
        }
    }

    /// Take `amount` of `metric` for `org`: refused with [`Error::QuotaExceeded`] when it
    /// would go over the plan's limit (nothing is counted then).
    pub async fn charge(&self, org: &str, metric: Metric, amount: i64) -> Result<()> {
        if !self.0.enforce || self.0.source.get().is_none() {
            self.note(org, metric, amount);
            return Ok(());
        }
        let state = self.org(org);
        let today = OffsetDateTime::now_utc().date();
        let stale =
            state.view.lock().map(|v| !v.fresh(today) || (needs_gauges(metric) && !v.gauges_fresh())).unwrap_or(true);
        if stale {
            self.reload(org, &state, needs_gauges(metric)).await?;
        }
        let Ok(mut view) = state.view.lock() else { return Ok(()) };
        let i = metric.index();
        if let Some(&max) = view.limits.get(&metric)
            && amount > 0
            && view.used[i] + amount > max
        {
            return Err(Error::QuotaExceeded(exceeded(metric, view.used[i], max)));
        }
        view.used[i] += amount;
        if let Some(c) = metric.counter_index() {
            view.unflushed[c] += amount;
        }
        Ok(())
    }

    /// Count `amount` without checking (what was consumed already, or a deletion's
    /// negative delta of a gauge).
    pub fn note(&self, org: &str, metric: Metric, amount: i64) {
        if !self.0.enabled {
            return;
        }
        let state = self.org(org);
        if let Ok(mut view) = state.view.lock() {
            view.used[metric.index()] += amount;
            if let Some(c) = metric.counter_index() {
                view.unflushed[c] += amount;
            }
        }
    }

    /// For counts their owner takes itself (projects, apps, members): may `current` grow
    /// by `adding`?
    pub async fn allow_count(&self, org: &str, metric: Metric, current: i64, adding: i64) -> Result<()> {
        let max = self.enforced_limit(org, metric).await?;
        Self::allow_count_within(metric, current, adding, max)
    }

    /// The plan's limit for `metric` when limits are enforced (None: not enforced, or
    /// unlimited). Looked up before a transaction that counts under a lock, so that the
    /// lock is never held while this waits for a connection of its own.
    pub async fn enforced_limit(&self, org: &str, metric: Metric) -> Result<Option<i64>> {
        if !self.0.enforce {
            return Ok(None);
        }
        self.limit(org, metric).await
    }

    /// Refuse adding `adding` to `current` beyond `max` (from [`Usage::enforced_limit`]).
    pub fn allow_count_within(metric: Metric, current: i64, adding: i64, max: Option<i64>) -> Result<()> {
        match max {
            Some(max) if adding > 0 && current + adding > max => {
                Err(Error::QuotaExceeded(exceeded(metric, current, max)))
            }
            _ => Ok(()),
        }
    }

    /// The plan's limit for `metric` (None: unlimited, or no plans at all).
    pub async fn limit(&self, org: &str, metric: Metric) -> Result<Option<i64>> {
        if self.0.source.get().is_none() {
            return Ok(None);
        }
        let state = self.org(org);
        let today = OffsetDateTime::now_utc().date();
        if !state.view.lock().map(|v| v.fresh(today)).unwrap_or(false) {
            self.reload(org, &state, false).await?;
        }
        Ok(state.view.lock().ok().and_then(|v| v.limits.get(&metric).copied()))
    }

    /// Forget what is cached for `org` (its plan changed): the next check reloads.
    pub fn forget(&self, org: &str) {
        if let Ok(orgs) = self.0.orgs.read()
            && let Some(state) = orgs.get(org)
            && let Ok(mut view) = state.view.lock()
        {
            view.loaded = None;
        }
    }

    /// Forget every organization's cached limits (a plan's limits changed).
    pub fn forget_all(&self) {
        let orgs: Vec<Arc<OrgUsage>> = self.0.orgs.read().map(|o| o.values().cloned().collect()).unwrap_or_default();
        for state in orgs {
            if let Ok(mut view) = state.view.lock() {
                view.loaded = None;
            }
        }
    }

    /// Everything `org` uses now against its limits, measured afresh.
    pub async fn report(&self, org: &str) -> Result<Vec<MetricUsage>> {
        let state = self.org(org);
        self.reload(org, &state, true).await?;
        let view = state.view.lock().map_err(|_| Error::internal("usage view poisoned"))?;
        Ok(Metric::ALL
            .into_iter()
            .map(|metric| MetricUsage {
                metric,
                window: metric.window(),
                used: view.used[metric.index()],
                limit: view.limits.get(&metric).copied(),
            })
            .collect())
    }

    /// Load limits and stored counters (and, when asked or stale, measure the gauges),
    /// keeping what was counted here and not yet stored.
    async fn reload(&self, org: &str, state: &OrgUsage, gauges: bool) -> Result<()> {
        let has_view = state.view.lock().map(|v| v.loaded.is_some()).unwrap_or(false);
        let _guard = match state.reloading.try_lock() {
            Ok(guard) => guard,
            // Someone is reloading: use the view we have, or wait for theirs.
            Err(_) if has_view => return Ok(()),
            Err(_) => state.reloading.lock().await,
        };
        let now = OffsetDateTime::now_utc();
        let stored = match self.0.source.get() {
            Some(source) => source.load(org, now).await?,
            None => StoredUsage::default(),
        };
        let measure = gauges || !state.view.lock().map(|v| v.gauges_fresh()).unwrap_or(false);
        let mut measured = Vec::new();
        if measure {
            let probes = self.0.probes.read().map(|p| p.clone()).unwrap_or_default();
            for probe in probes {
                measured.extend(probe.measure(org).await?);
            }
        }
        let mut view = state.view.lock().map_err(|_| Error::internal("usage view poisoned"))?;
        for (c, metric) in Metric::COUNTERS.iter().enumerate() {
            view.used[metric.index()] = stored.counted[c] + view.unflushed[c];
        }
        if measure {
            // Several probes may measure one gauge (apps' files and platform files both
            // hold stored bytes): their figures add up.
            for (metric, _) in &measured {
                view.used[metric.index()] = 0;
            }
            for (metric, value) in measured {
                view.used[metric.index()] += value;
            }
            view.measured = Some(Instant::now());
        }
        view.limits = stored.limits;
        view.loaded = Some((Instant::now(), now.date()));
        Ok(())
    }

    /// Take what was counted and not stored yet: `(organization, metric, amount)`. Give it
    /// back with [`Usage::restore`] when storing fails.
    pub fn drain(&self) -> Vec<(String, Metric, i64)> {
        let orgs: Vec<(String, Arc<OrgUsage>)> = match self.0.orgs.read() {
            Ok(orgs) => orgs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::new();
        for (org, state) in orgs {
            if let Ok(mut view) = state.view.lock() {
                for (c, metric) in Metric::COUNTERS.iter().enumerate() {
                    let n = std::mem::take(&mut view.unflushed[c]);
                    if n != 0 {
                        out.push((org.clone(), *metric, n));
                    }
                }
            }
        }
        out
    }

    pub fn restore(&self, drained: Vec<(String, Metric, i64)>) {
        for (org, metric, n) in drained {
            if let Some(c) = metric.counter_index()
                && let Ok(mut view) = self.org(&org).view.lock()
            {
                view.unflushed[c] += n;
            }
        }
    }
}

fn exceeded(metric: Metric, used: i64, max: i64) -> QuotaExceeded {
    let retry_after = (metric.window() == Window::Day).then(|| {
        let now = OffsetDateTime::now_utc();
        let midnight = now.date().next_day().map(|d| d.midnight().assume_utc()).unwrap_or(now);
        (midnight - now).whole_seconds().max(1) as u64
    });
    QuotaExceeded { limit: metric.key().to_string(), used, max, retry_after }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(i64);

    impl QuotaSource for Fixed {
        fn load<'a>(&'a self, _: &'a str, _: OffsetDateTime) -> BoxFuture<'a, Result<StoredUsage>> {
            Box::pin(async move {
                Ok(StoredUsage { limits: HashMap::from([(Metric::ApiCallsPerDay, 3)]), counted: [self.0, 0, 0] })
            })
        }
    }

    fn usage(stored: i64) -> Usage {
        let usage = Usage::new(true, true);
        usage.set_source(Arc::new(Fixed(stored)));
        usage
    }

    #[tokio::test]
    async fn calls_are_refused_past_the_limit_counting_what_is_stored() {
        let usage = usage(1);
        usage.charge("o1", Metric::ApiCallsPerDay, 1).await.expect("second call of the day");
        usage.charge("o1", Metric::ApiCallsPerDay, 1).await.expect("third call of the day");
        let Err(Error::QuotaExceeded(q)) = usage.charge("o1", Metric::ApiCallsPerDay, 1).await else {
            panic!("the fourth call must be refused")
        };
        assert_eq!((q.limit.as_str(), q.used, q.max), ("api_calls_per_day", 3, 3));
        assert!(q.retry_after.is_some_and(|s| s <= 86_400));
        // Another organization has its own count; what was counted drains once.
        usage.charge("o2", Metric::ApiCallsPerDay, 1).await.expect("o2's first call");
        let mut drained = usage.drain();
        drained.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(drained, vec![("o1".into(), Metric::ApiCallsPerDay, 2), ("o2".into(), Metric::ApiCallsPerDay, 1)]);
        assert!(usage.drain().is_empty());
        usage.restore(drained);
        assert_eq!(usage.drain().len(), 2);
    }

    #[tokio::test]
    async fn disabled_metering_neither_counts_nor_refuses() {
        let usage = Usage::new(false, true);
        usage.set_source(Arc::new(Fixed(100)));
        usage.charge("o1", Metric::ApiCallsPerDay, 1).await.expect("not enforced");
        assert!(usage.drain().is_empty());
    }

    #[tokio::test]
    async fn counts_their_owner_takes_are_checked_against_the_limit() {
        let usage = usage(0);
        // No limit on projects in this plan.
        usage.allow_count("o1", Metric::Projects, 1000, 1).await.expect("unlimited");
        assert_eq!(usage.limit("o1", Metric::ApiCallsPerDay).await.expect("limit"), Some(3));
    }
}
