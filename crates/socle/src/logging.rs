//! Logs: one JSON object per line (or `pretty` text for humans) on stderr, level from
//! `RUST_LOG` (default `info`, with sqlx and tower_http at `warn`).
//!
//! Nothing is written on the request path: a line is appended to an in-memory buffer
//! (bounded, 8 MiB) that a `socle-log` thread writes out every 50 ms in one write, so a
//! request neither waits on the terminal, a pipe or a disk nor wakes a thread per line.
//! When the buffer is full (the output is slower than the traffic) lines are dropped rather
//! than making requests wait; the count is exported as `socle_log_lines_dropped_total`. What
//! is buffered at exit is written out. The line itself is cheap: the access log is one event
//! with its fields (no span per request), formatted straight into the line with a timestamp
//! computed by integer arithmetic. Events raised while serving a request carry its
//! `request_id` (from the `REQUEST_ID` task-local), without a span.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The most the buffer holds before lines are dropped (about 30,000 access lines: more than
/// a second of traffic at the rates measured here while the output stalls).
pub const BUFFER_BYTES: usize = 8 * 1024 * 1024;
/// How often the writer thread writes the buffer out.
const WRITE_EVERY: Duration = Duration::from_millis(50);

pub const DROPPED_METRIC: &str = "socle_log_lines_dropped_total";

/// Keep it for the life of the process: dropping it writes out what is buffered and stops
/// the writer thread.
pub struct Logging {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    buffer: Mutex<Vec<u8>>,
    limit: usize,
    dropped: AtomicU64,
    stop: AtomicBool,
    wake: Condvar,
    /// Paired with `wake` (the buffer's own lock is never waited on).
    sleeping: Mutex<()>,
}

/// What the formatter writes each line to: the shared buffer.
#[derive(Clone)]
pub struct BufferWriter(Arc<Shared>);

impl std::io::Write for BufferWriter {
    /// One call per line (the fmt layer formats a whole line, then writes it once).
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        match self.0.buffer.lock() {
            Ok(mut buffer) if buffer.len() + line.len() <= self.0.limit => buffer.extend_from_slice(line),
            _ => {
                self.0.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BufferWriter {
    type Writer = BufferWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Shared {
    fn new(limit: usize) -> Self {
        Shared {
            buffer: Mutex::new(Vec::with_capacity(64 * 1024)),
            limit,
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            wake: Condvar::new(),
            sleeping: Mutex::new(()),
        }
    }

    /// Write out what is buffered, swapping buffers so that writers wait only for the swap.
    fn drain(&self, spare: &mut Vec<u8>, out: &mut impl std::io::Write) {
        if let Ok(mut buffer) = self.buffer.lock() {
            std::mem::swap(&mut *buffer, spare);
        }
        if !spare.is_empty() {
            // A failed write (closed stderr) loses these lines; there is nowhere to say so.
            let _ = out.write_all(spare).and_then(|()| out.flush());
        }
        spare.clear();
        // A burst's buffer is not kept for ever.
        if spare.capacity() > 1024 * 1024 {
            spare.shrink_to(64 * 1024);
        }
    }

    fn run(&self, out: &mut impl std::io::Write) {
        let mut spare = Vec::with_capacity(64 * 1024);
        while !self.stop.load(Ordering::Acquire) {
            if let Ok(guard) = self.sleeping.lock() {
                let _ = self.wake.wait_timeout(guard, WRITE_EVERY);
            } else {
                std::thread::sleep(WRITE_EVERY);
            }
            self.drain(&mut spare, out);
        }
        self.drain(&mut spare, out);
    }
}

pub fn init(format: &str) -> Logging {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let shared = Arc::new(Shared::new(BUFFER_BYTES));
    let writer = BufferWriter(shared.clone());
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("socle-log".into())
        .spawn(move || worker.run(&mut std::io::stderr()))
        .map_err(|e| eprintln!("could not start the log writer thread ({e}); logs are lost"))
        .ok();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    if format == "pretty" {
        builder.init();
    } else {
        builder.event_format(JsonLine).init();
    }
    Logging { shared, thread }
}

impl Logging {
    /// Export the count of dropped lines (call once the metrics recorder is installed).
    pub fn export_dropped_lines(&self) {
        metrics::describe_counter!(
            DROPPED_METRIC,
            "Log lines dropped because the log buffer was full (logging never makes a request wait)"
        );
        let shared = self.shared.clone();
        tokio::spawn(async move {
            loop {
                metrics::counter!(DROPPED_METRIC).absolute(shared.dropped.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

impl Drop for Logging {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `{"timestamp":"…Z","level":"INFO","message":"…",<fields>,"request_id":"…","target":"…"}`
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        write_timestamp(&mut writer, SystemTime::now())?;
        writer.write_str("\",\"level\":\"")?;
        writer.write_str(meta.level().as_str())?;
        writer.write_char('"')?;
        let mut fields = JsonFields { out: &mut writer, result: Ok(()), request_id: false };
        event.record(&mut fields);
        let (result, has_request_id) = (fields.result, fields.request_id);
        result?;
        if !has_request_id
            && let Ok(written) = kernel::context::REQUEST_ID.try_with(|id| {
                writer.write_str(",\"request_id\":")?;
                write_json_str(&mut writer, id)
            })
        {
            written?;
        }
        writer.write_str(",\"target\":")?;
        write_json_str(&mut writer, meta.target())?;
        writer.write_str("}\n")
    }
}

struct JsonFields<'a, 'w> {
    out: &'a mut Writer<'w>,
    result: fmt::Result,
    request_id: bool,
}

impl JsonFields<'_, '_> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        if field.name() == "request_id" {
            self.request_id = true;
        }
        self.result = write_field(self.out, field.name(), value);
    }
}

fn write_field(out: &mut Writer<'_>, name: &str, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) -> fmt::Result {
    out.write_char(',')?;
    write_json_str(out, name)?;
    out.write_char(':')?;
    value(out)
}

impl Visit for JsonFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |out| write_json_str(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, |out| if value.is_finite() { write!(out, "{value}") } else { out.write_str("null") });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |out| out.write_str(if value { "true" } else { "false" }));
    }
}

/// Writes what it is given as the inside of a JSON string.
struct Escaped<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_escaped(self.0, s)
    }
}

fn write_json_str(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    write_escaped(out, s)?;
    out.write_char('"')
}

fn write_escaped(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f | 0x7f => "",
            _ => continue,
        };
        // Only ASCII bytes are escaped: `i` is always a character boundary.
        out.write_str(&s[start..i])?;
        if escape.is_empty() {
            write!(out, "\\u{b:04x}")?;
        } else {
            out.write_str(escape)?;
        }
        start = i + 1;
    }
    out.write_str(&s[start..])
}

/// RFC 3339 UTC with microseconds, by integer arithmetic (no calendar library, no
/// formatting machinery).
fn write_timestamp(out: &mut impl fmt::Write, at: SystemTime) -> fmt::Result {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    put_digits(&mut buf[0..4], y.max(0) as u64);
    put_digits(&mut buf[5..7], m.into());
    put_digits(&mut buf[8..10], d.into());
    put_digits(&mut buf[11..13], rem / 3600);
    put_digits(&mut buf[14..16], rem / 60 % 60);
    put_digits(&mut buf[17..19], rem % 60);
    put_digits(&mut buf[20..26], since.subsec_micros().into());
    out.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
}

fn put_digits(dst: &mut [u8], mut v: u64) {
    for b in dst.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(secs: u64, micros: u32) -> String {
        let mut s = String::new();
        let at = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros.into());
        write_timestamp(&mut s, at).expect("formats");
        s
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(stamp(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(stamp(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(stamp(951_868_800, 0), "2000-03-01T00:00:00.000000Z");
        assert_eq!(stamp(1_796_233_921, 123_456), "2026-12-02T17:52:01.123456Z");
        assert_eq!(stamp(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
    }

    #[test]
    fn lines_are_buffered_dropped_when_full_and_written_out() {
        let shared = Arc::new(Shared::new(10));
        let mut writer = BufferWriter(shared.clone());
        std::io::Write::write_all(&mut writer, b"first\n").expect("buffered");
        std::io::Write::write_all(&mut writer, b"too long\n").expect("dropped, not an error");
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 1);
        let mut out = Vec::new();
        shared.drain(&mut Vec::new(), &mut out);
        assert_eq!(out, b"first\n");
        std::io::Write::write_all(&mut writer, b"second\n").expect("room again");
        shared.stop.store(true, Ordering::Release);
        shared.run(&mut out);
        assert_eq!(out, b"first\nsecond\n", "what is buffered at stop is written");
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        write_json_str(&mut s, "a\"b\\c\nd\u{1}é").expect("formats");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
        let parsed: String = serde_json::from_str(&s).expect("valid JSON");
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }
}
