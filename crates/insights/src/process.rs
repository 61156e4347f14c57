//! Process metrics from `/proc/self` (Linux); absent elsewhere.

use std::sync::OnceLock;

fn start_time() -> &'static std::time::SystemTime {
    static START: OnceLock<std::time::SystemTime> = OnceLock::new();
    START.get_or_init(std::time::SystemTime::now)
}

/// Call once at startup so that uptime counts from then.
pub fn init() {
    let _ = start_time();
}

pub fn record() {
    if let Ok(elapsed) = start_time().elapsed() {
        metrics::gauge!("process_uptime_seconds").set(elapsed.as_secs_f64());
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some("VmRSS:"), Some(kb)) => {
                    metrics::gauge!("process_resident_memory_bytes").set(kb.parse::<f64>().unwrap_or(0.0) * 1024.0)
                }
                (Some("VmSize:"), Some(kb)) => {
                    metrics::gauge!("process_virtual_memory_bytes").set(kb.parse::<f64>().unwrap_or(0.0) * 1024.0)
                }
                (Some("Threads:"), Some(n)) => metrics::gauge!("process_threads").set(n.parse::<f64>().unwrap_or(0.0)),
                _ => {}
            }
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesized command name; utime and stime are 14th and 15th.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            // Linux reports in clock ticks, 100 per second on every mainstream configuration.
            metrics::gauge!("process_cpu_seconds_total").set((ticks(11) + ticks(12)) / 100.0);
        }
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(entries.count() as f64);
    }
}
