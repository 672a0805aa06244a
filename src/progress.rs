//! Everything anylabel says on stderr: warnings, notes and progress bars.
//!
//! Data goes to stdout and nothing else does, so `anylabel infer dir | jq` works. Log
//! lines are written through the active progress bar (which hides itself for the line),
//! so the two never garble each other. Bars are drawn only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::ProgressBar;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, format::Writer};
use tracing_subscriber::registry::LookupSpan;

static BARS: AtomicBool = AtomicBool::new(false);
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);
/// When logging started: debug and trace lines say how long after it they were written.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// How much to say: `-q` lowers it, `-v` raises it, `RUST_LOG` overrides both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
    Debug,
}

/// Sets up logging on stderr. Call once, early.
pub fn init(verbosity: Verbosity) {
    BARS.store(
        verbosity != Verbosity::Quiet && std::io::stderr().is_terminal(),
        Ordering::Relaxed,
    );
    let default = match verbosity {
        Verbosity::Quiet => "error",
        Verbosity::Normal => "info",
        Verbosity::Verbose => "debug,ort=warn,ureq=warn,rustls=warn",
        Verbosity::Debug => "trace",
    };
    STARTED.get_or_init(std::time::Instant::now);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("ort=error,{default}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(Plain)
        .with_writer(|| StderrThroughBar)
        .try_init();
}

/// Whether progress bars are drawn.
pub fn enabled() -> bool {
    BARS.load(Ordering::Relaxed)
}

/// Says something worth knowing that is neither data nor a problem.
pub fn note(msg: &str) {
    tracing::info!("{msg}");
}

/// Makes `bar` the one that log lines step around, until [`clear`] is called.
pub fn activate(bar: &ProgressBar) {
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
}

pub fn clear() {
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

struct StderrThroughBar;

impl Write for StderrThroughBar {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// `warning: message`, `error: message`, or the bare message for notes. Debug and trace
/// lines also say when (seconds since logging started) and on which thread, so that `-vv`
/// gives a timeline of a run: `trace: 1.234567 decode-3 [anylabel::pipeline] message`.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let level = *event.metadata().level();
        let prefix = match level {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::INFO => "",
            Level::DEBUG => "debug: ",
            Level::TRACE => "trace: ",
        };
        write!(w, "{prefix}")?;
        if level > Level::INFO {
            let at = STARTED.get().map_or(0.0, |t| t.elapsed().as_secs_f64());
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("-");
            write!(w, "{at:.6} {name} [{}] ", event.metadata().target())?;
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}
