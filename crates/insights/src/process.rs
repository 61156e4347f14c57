//! Process metrics from `/proc/self` (Linux); absent elsewhere. They are read at scrape time
//! and written in the exposition format directly (not through the recorder): the recorder's
//! counters are integers, and `process_cpu_seconds_total` is a counter of fractional
//! seconds, as in every Prometheus client library.

use std::fmt::Write;
use std::sync::OnceLock;

fn start_time() -> &'static std::time::SystemTime {
    static START: OnceLock<std::time::SystemTime> = OnceLock::new();
    START.get_or_init(std::time::SystemTime::now)
}

/// Call once at startup so that uptime counts from then.
pub fn init() {
    let _ = start_time();
}

/// One sample of this process.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sample {
    pub uptime_seconds: Option<f64>,
    pub resident_memory_bytes: Option<f64>,
    pub virtual_memory_bytes: Option<f64>,
    pub threads: Option<f64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<f64>,
}

/// Read the process's figures now.
pub fn sample() -> Sample {
    let mut s = Sample { uptime_seconds: start_time().elapsed().ok().map(|d| d.as_secs_f64()), ..Sample::default() };
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            let mut parts = line.split_whitespace();
            let number = |v: Option<&str>| v.and_then(|v| v.parse::<f64>().ok());
            match parts.next() {
                Some("VmRSS:") => s.resident_memory_bytes = number(parts.next()).map(|kb| kb * 1024.0),
                Some("VmSize:") => s.virtual_memory_bytes = number(parts.next()).map(|kb| kb * 1024.0),
                Some("Threads:") => s.threads = number(parts.next()),
                _ => {}
            }
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesized command name; utime and stime are 14th and 15th.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
            // Linux reports in clock ticks, 100 per second on every mainstream configuration.
            if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
                s.cpu_seconds = Some((user + system) / 100.0);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        s.open_fds = Some(entries.count() as f64);
    }
    s
}

impl Sample {
    /// The figures in the Prometheus text format, each with its `# HELP` and `# TYPE`.
    pub fn render(&self) -> String {
        let metrics: [(&str, &str, &str, Option<f64>); 6] = [
            (
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
                self.cpu_seconds,
            ),
            ("process_open_fds", "gauge", "Number of open file descriptors.", self.open_fds),
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", self.resident_memory_bytes),
            ("process_threads", "gauge", "Number of OS threads in the process.", self.threads),
            ("process_uptime_seconds", "gauge", "Seconds since the process started.", self.uptime_seconds),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", self.virtual_memory_bytes),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in metrics {
            if let Some(value) = value {
                let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n\n");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_a_counter_and_every_figure_has_help() {
        let text = Sample { cpu_seconds: Some(1.25), threads: Some(4.0), ..Sample::default() }.render();
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.25\n"));
        assert!(text.contains("# HELP process_threads "));
        assert!(!text.contains("process_open_fds"), "absent figures are left out");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_process_is_sampled() {
        init();
        let s = sample();
        assert!(s.resident_memory_bytes.is_some_and(|b| b > 0.0));
        assert!(s.cpu_seconds.is_some());
    }
}
