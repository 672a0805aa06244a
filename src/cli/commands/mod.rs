//! The command layer: one file per command (or family of commands), each turning its
//! parsed arguments into the library's plain options, running it, and reporting.
//!
//! Library errors come back as `anyhow` chains; [`run`] is the one place that prints them
//! and picks the exit code. What several commands share is here: where records go
//! ([`Output`]), the inputs to scan ([`parse_inputs`]) and the progress bar.

/// `println!` that hands its error back (with `?`) instead of panicking, so that a closed
/// pipe (`anylabel cache stats | head -1`) ends the command quietly with exit code 0, as
/// [`run`] does for every command.
// Defined before the modules, which use it.
macro_rules! outln {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

mod backend;
mod bench;
mod cache;
mod config;
mod doctor;
mod export;
mod filter;
mod import;
mod infer;
mod merge;
mod models;
mod nms;
mod preload;
mod runtime;
mod scan;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use anylabel::exit_codes;
use anylabel::outfile::OutFile;
use anylabel::progress::{self, Verbosity};
use anylabel::scan::{Input, Sources, WalkOptions, scan};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::args::{Cli, Command};

/// Runs the command and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, 1) => Verbosity::Verbose,
        (false, _) => Verbosity::Debug,
    };
    progress::init(verbosity);
    let result = match cli.command {
        Command::Scan(args) => scan::scan_command(args),
        Command::Infer(args) => infer::infer_command(args, cli.offline),
        Command::Runtime(cmd) => runtime::runtime_command(cmd, cli.offline),
        Command::Models(cmd) => models::models_command(cmd, cli.offline),
        Command::Preload(args) => preload::preload_command(args, cli.offline),
        Command::Cache(cmd) => cache::cache_command(cmd),
        Command::Nms(args) => nms::nms_command(args),
        Command::Filter(args) => filter::filter_command(args, cli.offline),
        Command::Merge(args) => merge::merge_command(args),
        Command::Export(args) => export::export_command(args),
        Command::Import(args) => import::import_command(args),
        Command::Bench(args) => bench::bench_command(args, cli.offline),
        Command::Config(cmd) => config::config_command(cmd),
        Command::Doctor(args) => doctor::doctor_command(args, cli.offline),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            progress::clear();
            if is_broken_pipe(&e) {
                return exit_codes::SUCCESS;
            }
            eprintln!("error: {e:#}");
            exit_codes::ERROR
        }
    }
}

/// Whether `e` is a closed output pipe (`anylabel … | head`), written directly or through
/// serde_json, which keeps the I/O error inside its own.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == pipe
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == pipe
    })
}

fn parse_inputs(paths: &[PathBuf], walk: &crate::cli::args::WalkArgs) -> Result<Sources> {
    let mut inputs: Vec<Input> = paths
        .iter()
        .map(|p| Input::parse(p).map_err(|e| anyhow!("input {e}")))
        .collect::<Result<_>>()?;
    if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
        bail!("- (stdin) may be given only once");
    }
    for list in &walk.from_file {
        if list.as_os_str() == "-" {
            if inputs.contains(&Input::Stdin) {
                bail!("- (stdin) may be given only once");
            }
            inputs.push(Input::Stdin);
        } else if !list.is_file() {
            bail!("--from-file {}: no such file", list.display());
        } else {
            inputs.push(Input::List(list.clone()));
        }
    }
    let walk = WalkOptions {
        max_depth: walk.max_depth.map(|d| d as usize),
        exclude: WalkOptions::exclude_globs(&walk.exclude).map_err(|e| anyhow!(e))?,
        extensions: (!walk.ext.is_empty()).then(|| {
            walk.ext
                .iter()
                .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                .collect()
        }),
        follow_links: walk.follow_links,
        threads: 0,
    };
    Ok(Sources { inputs, walk })
}

/// Where records go: stdout, or a file replaced atomically when the run ends (written in
/// place where it is a device or a pipe: [`anylabel::outfile`]).
enum Output {
    Stdout,
    File(OutFile),
}

impl Output {
    fn open(path: Option<&Path>) -> Result<Output> {
        match path {
            None => Ok(Output::Stdout),
            Some(p) if p.as_os_str() == "-" => Ok(Output::Stdout),
            Some(p) => {
                let out = OutFile::create(p)?;
                if let (Some(temp), Some((dir, prefix))) = (out.temp_path(), out.partial_prefix()) {
                    // Held while this run writes; a partial file nobody holds is left over
                    // from a run that was killed, and goes.
                    let _ = out.as_file().try_lock();
                    remove_abandoned_partials(dir, &prefix, temp);
                }
                Ok(Output::File(out))
            }
        }
    }

    /// A second handle on the output file, for a buffered writer.
    fn file(out: &OutFile) -> Result<std::fs::File> {
        out.as_file().try_clone().context("cannot write the output")
    }
}

/// Deletes `{prefix}*.partial` files in `dir` that no running process holds.
fn remove_abandoned_partials(dir: &Path, prefix: &str, ours: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file_name = e.file_name().to_string_lossy().into_owned();
        if !file_name.starts_with(prefix) || !file_name.ends_with(".partial") || e.path() == ours {
            continue;
        }
        if let Ok(f) = std::fs::File::open(e.path())
            && f.try_lock().is_ok()
        {
            tracing::debug!(
                "removing {}, left by a run that was stopped",
                e.path().display()
            );
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn progress_bar(inputs: &Sources, shard: Option<anylabel::shard::Shard>) -> ProgressBar {
    if !progress::enabled() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} images {wide_bar} {per_sec} eta {eta}")
            .expect("valid template"),
    );
    progress::activate(&bar);
    // Count the images in the background so that the bar has a length; a list on stdin
    // can be read only once, so then the bar just counts.
    if !inputs.reads_stdin() {
        let counter = bar.clone();
        let inputs = inputs.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            for found in anylabel::shard::select(scan(inputs), shard) {
                n += found.is_ok() as u64;
                if n.is_multiple_of(1024) {
                    counter.set_length(n);
                }
            }
            counter.set_length(n);
        });
    }
    bar
}
