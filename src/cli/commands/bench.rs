//! `anylabel bench`: measure this machine, compare with a baseline, write the report.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use anylabel::exit_codes;

use super::backend::{backend_request, precision_misuse, preprocess_at};
use crate::cli::args::BenchArgs;

pub(super) fn bench_command(args: BenchArgs, offline: bool) -> Result<u8> {
    use anylabel::bench::{self, BenchReport, Suite};
    let suites: Vec<Suite> = args.suite.into();
    let read_report = |path: &Path| -> Result<BenchReport> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a report of `anylabel bench --json`",
                path.display()
            )
        })
    };
    // Read the baseline first: a wrong path is reported before minutes of measuring.
    let baseline = args.baseline.as_deref().map(read_report).transpose()?;
    let report = match &args.from {
        Some(path) => read_report(path)?.only(&suites),
        None => {
            let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
            if let Some(e) = precision_misuse(&args.backend) {
                eprintln!("error: {e}");
                return Ok(exit_codes::USAGE);
            }
            let (request, precision) = backend_request(&args.backend)?;
            let opts = bench::Options {
                preprocess: preprocess_at(&args.backend, &request)?,
                gpu_decode: args.backend.decode == crate::cli::args::DecodeAt::Gpu,
                backend: request,
                precision,
                calib: args.backend.calib.clone(),
                quick: args.quick,
                model: args.model.clone(),
                images: args.images.clone(),
                imgsz: args.imgsz,
                batches: args.batch.iter().map(|&b| b as usize).collect(),
                offline,
                threads: args.threads,
                workers: args.workers,
            };
            bench::run(&suites, &opts, format!("anylabel {command}"))?
        }
    };
    let pct = args.fail_on_regression.unwrap_or(10.0);
    let comparison = baseline.as_ref().map(|b| bench::compare(&report, b, pct));
    let json = serde_json::to_string_pretty(&report)? + "\n";
    let text = bench::table(&report, comparison.as_ref().map(|c| (c, pct)));
    match args.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => {
            std::io::stdout().write_all(json.as_bytes())?;
            eprint!("{text}");
        }
        Some(p) => {
            anylabel::outfile::write(p, json.as_bytes())?;
            std::io::stdout().write_all(text.as_bytes())?;
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
        anylabel::outfile::write(&dir.join("report.json"), json.as_bytes())?;
        anylabel::outfile::write(&dir.join("report.md"), bench::markdown(&report).as_bytes())?;
        anylabel::outfile::write(&dir.join("report.html"), bench::html(&report).as_bytes())?;
    }
    let gate = args.fail_on_regression.is_some();
    if gate && comparison.as_ref().is_some_and(|c| c.compared == 0) {
        bail!(
            "--fail-on-regression: none of this run's figures is in the baseline {}, so nothing \
             was compared; take the baseline with the same suites and flags (--quick or not)",
            args.baseline.as_deref().unwrap_or(Path::new("")).display()
        );
    }
    let failed = gate && comparison.is_some_and(|c| !c.regressions.is_empty());
    Ok(if failed {
        exit_codes::REGRESSION
    } else {
        exit_codes::SUCCESS
    })
}
