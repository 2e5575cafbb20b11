//! Logs on stderr, as logfmt (the Prometheus ecosystem's plain format) or JSON lines.
//!
//! `--log.level` sets the level for this crate and its dependencies alike, except that the
//! HTTP stack (hyper, h2, rustls, reqwest) stays at info and above: its debug output would
//! drown ours. Records are PII-rich (DESIGN §1): nothing here logs record contents, and callers
//! must keep them out of info-level fields.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// `--log.level`: the least severe level logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogLevel {
    /// Everything, including per-request detail.
    Debug,
    /// Startup, polls, catch-up progress.
    #[default]
    Info,
    /// Retries, truncated windows, offset-mode switches.
    Warn,
    /// Failed polls, skipped windows, corrupt checkpoints.
    Error,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// `--log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `ts=... level=info target=... msg="..." key=value`, one event per line.
    #[default]
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. Fails only if one is already installed.
pub fn init(
    level: LogLevel,
    format: LogFormat,
) -> Result<(), tracing_subscriber::util::TryInitError> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let registry = tracing_subscriber::registry().with(filter(level));
    match format {
        LogFormat::Logfmt => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .event_format(Logfmt),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .json()
                    .flatten_event(true)
                    .with_current_span(false),
            )
            .try_init(),
    }
}

fn filter(level: LogLevel) -> EnvFilter {
    let level = level.as_str();
    let mut directives = level.to_owned();
    if level == "debug" {
        for noisy in ["hyper", "hyper_util", "h2", "rustls", "reqwest", "tower"] {
            directives.push_str(&format!(",{noisy}=info"));
        }
    }
    EnvFilter::new(directives)
}

/// The logfmt event format: fixed keys first, then the fields of enclosing spans, then the
/// event's own fields.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let level = meta.level().as_str().to_ascii_lowercase();
        write!(writer, "ts={ts} level={level} target={}", meta.target())?;
        let mut fields = LogfmtFields::default();
        event.record(&mut fields);
        if let Some(message) = &fields.message {
            write!(writer, " msg={}", quote(message))?;
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(formatted) = extensions.get::<FormattedFields<N>>() {
                    if !formatted.is_empty() {
                        write!(writer, " {formatted}")?;
                    }
                }
            }
        }
        writer.write_str(&fields.rest)?;
        writeln!(writer)
    }
}

/// Collects an event's fields as ` key=value` pairs, the message apart.
#[derive(Default)]
struct LogfmtFields {
    message: Option<String>,
    rest: String,
}

impl Visit for LogfmtFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            let _ = write!(self.rest, " {}={}", field.name(), quote(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// A logfmt value: bare when it is one safe token, else double-quoted with escapes.
fn quote(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=' && c != '\\');
    if bare {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_values_are_bare_only_when_safe() {
        assert_eq!(quote("prod"), "prod");
        assert_eq!(quote("1.5s"), "1.5s");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("poll failed"), "\"poll failed\"");
        assert_eq!(quote("a=b"), "\"a=b\"");
        assert_eq!(quote("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
    }

    /// A `MakeWriter` into a shared buffer, to read back what the formatter wrote.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn events_render_as_one_logfmt_line_with_span_fields() {
        use tracing_subscriber::layer::SubscriberExt;

        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .event_format(Logfmt),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("poll", source = "prod");
            let _entered = span.enter();
            tracing::warn!(window = "12:00..12:01", records = 1100, "window saturated");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line = text.strip_suffix('\n').expect("one line");
        assert!(!line.contains('\n'), "{line}");
        let (ts, after_ts) = line.split_once(' ').unwrap();
        assert!(
            ts.starts_with("ts=20") && ts.ends_with('Z') && ts.len() == "ts=".len() + 24,
            "{ts}"
        );
        assert_eq!(
            after_ts,
            "level=warn target=smartassist_exporter::logging::tests msg=\"window saturated\" \
             source=\"prod\" window=12:00..12:01 records=1100"
        );
    }

    #[test]
    fn debug_level_keeps_the_http_stack_at_info() {
        let directives = filter(LogLevel::Debug).to_string();
        assert!(directives.contains("hyper=info"), "{directives}");
        assert_eq!(filter(LogLevel::Warn).to_string(), "warn");
    }
}
