//! The binary's logic: turns parsed arguments into options, runs the command, reports.
//!
//! Library errors come back as `anyhow` chains; this is the one place that prints them
//! and picks the exit code.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Backend, Cli, Command, InferArgs, ModelsCommand, RuntimeCommand, ScanArgs};
use crate::decode::DecodeOptions;
use crate::engine::{Engine, EngineOptions};
use crate::home::Home;
use crate::pipeline::{self, InferOptions, JsonLines, Summary};
use crate::progress::{self, Verbosity};
use crate::scan::{Input, scan};
use crate::{catalogue, exit_codes, model, runtime};

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
        Command::Scan(args) => scan_command(args),
        Command::Infer(args) => infer_command(args, cli.offline),
        Command::Runtime(cmd) => runtime_command(cmd, cli.offline),
        Command::Models(cmd) => models_command(cmd, cli.offline),
        Command::Preload(_) => not_built("preload", "the result cache and preload"),
        Command::Nms(_) => not_built("nms", "the fast NMS kernels"),
        Command::Filter(_) => not_built("filter", "filter and export"),
        Command::Export(_) => not_built("export", "filter and export"),
        Command::Bench(_) => not_built("bench", "the benchmark suite"),
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

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn not_built(command: &str, work: &str) -> Result<u8> {
    bail!(
        "`anylabel {command}` is not built yet (it comes with {work}); see `anylabel --help` for what works today"
    )
}

fn parse_inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let inputs: Vec<Input> = paths
        .iter()
        .map(|p| Input::parse(p).map_err(|e| anyhow!("input {e}")))
        .collect::<Result<_>>()?;
    if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
        bail!("- (stdin) may be given only once");
    }
    Ok(inputs)
}

fn scan_command(args: ScanArgs) -> Result<u8> {
    let inputs = parse_inputs(&args.inputs)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut errors = 0;
    for found in scan(inputs) {
        match found {
            Ok(item) => writeln!(out, "{}", item.path.display())?,
            Err(e) => {
                errors += 1;
                tracing::warn!("{}: {}", e.path.display(), e.reason);
            }
        }
    }
    out.flush()?;
    Ok(if errors > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

fn runtime_command(cmd: RuntimeCommand, offline: bool) -> Result<u8> {
    let home = Home::from_env()?;
    let rt = match cmd {
        RuntimeCommand::Install => {
            if offline {
                bail!("--offline forbids installing ONNX Runtime");
            }
            runtime::install(&home)?
        }
        RuntimeCommand::Path => runtime::ensure(&home, offline)?,
    };
    progress::note(&format!(
        "ONNX Runtime {} found through {}",
        rt.version
            .as_deref()
            .unwrap_or("(version not in the file name)"),
        rt.source
    ));
    println!("{}", rt.library.display());
    Ok(exit_codes::SUCCESS)
}

fn models_command(cmd: ModelsCommand, offline: bool) -> Result<u8> {
    let home = Home::from_env()?;
    let entry = |name: &str| {
        catalogue::find(name).ok_or_else(|| {
            anyhow!(
                "no catalogue model is called {name}; the catalogue has {}",
                catalogue::names()
            )
        })
    };
    match cmd {
        ModelsCommand::List => {
            for e in catalogue::CATALOGUE {
                let state = if e.is_fetched(&home) {
                    "fetched"
                } else {
                    "not fetched"
                };
                println!(
                    "{:<20} {:<12} {:<12} {}",
                    e.name, e.licence, state, e.summary
                );
            }
        }
        ModelsCommand::Fetch { names } => {
            let entries: Vec<_> = names.iter().map(|n| entry(n)).collect::<Result<_>>()?;
            for e in entries {
                println!("{}", e.ensure(&home, offline)?.display());
            }
        }
        ModelsCommand::Path { name } => {
            println!("{}", entry(&name)?.ensure(&home, offline)?.display())
        }
    }
    Ok(exit_codes::SUCCESS)
}

/// Where records go: stdout, or a file replaced atomically when the run ends.
enum Output {
    Stdout,
    File {
        dest: PathBuf,
        temp: tempfile::NamedTempFile,
    },
}

impl Output {
    fn open(path: Option<&Path>) -> Result<Output> {
        match path {
            None => Ok(Output::Stdout),
            Some(p) if p.as_os_str() == "-" => Ok(Output::Stdout),
            Some(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                if p.is_dir() {
                    bail!("output {} is a folder; give a file name", p.display());
                }
                let temp = tempfile::Builder::new()
                    .prefix(&format!(
                        ".{}.",
                        p.file_name()
                            .map_or("results".into(), |n| n.to_string_lossy())
                    ))
                    .suffix(".partial")
                    .tempfile_in(&dir)
                    .with_context(|| {
                        format!(
                            "cannot write the output {} (in {})",
                            p.display(),
                            dir.display()
                        )
                    })?;
                Ok(Output::File {
                    dest: p.to_path_buf(),
                    temp,
                })
            }
        }
    }
}

fn infer_command(args: InferArgs, offline: bool) -> Result<u8> {
    if matches!(args.backend, Backend::Cuda | Backend::Trt) {
        bail!(
            "--backend {} is not built yet (GPU support comes with the CUDA and TensorRT work); use --backend cpu",
            if args.backend == Backend::Cuda {
                "cuda"
            } else {
                "trt"
            }
        );
    }
    let inputs = parse_inputs(&args.inputs)?;
    let output = Output::open(args.output.as_deref())?;
    let home = Home::from_env()?;

    // The model first: a missing model is reported before anything is installed.
    let source = model::resolve(&args.model, &home, offline)?;
    let rt = runtime::ensure(&home, offline)?;
    tracing::debug!(
        "ONNX Runtime {} from {} ({})",
        rt.version.as_deref().unwrap_or("?"),
        rt.library.display(),
        rt.source
    );
    let env = runtime::init(&rt)?;
    let mut engine = Engine::load(
        &env,
        &source,
        &EngineOptions {
            threads: args.threads,
        },
    )?;

    let config = source.config.clone().unwrap_or_default();
    let config_size = match (config.input_height, config.input_width) {
        (Some(h), Some(w)) => Some([h, w]),
        _ => None,
    };
    let size = engine.input_size(args.imgsz.or(config_size))?;
    let head = engine.prepare(size)?;
    let classes = match args.classes.as_ref().or(config.filter_classes.as_ref()) {
        Some(list) => Some(resolve_classes(list, &engine.class_names)?),
        None => None,
    };
    if engine.input_dims[0].is_some_and(|b| b as u32 != args.batch) && args.batch > 1 {
        tracing::warn!(
            "the model's batch size is fixed at {}; --batch {} is ignored",
            engine.input_dims[0].unwrap_or(1),
            args.batch
        );
    }
    let opts = InferOptions {
        inputs: inputs.clone(),
        imgsz: Some(size),
        conf: args.conf.or(config.confidence_threshold).unwrap_or(0.25),
        iou: args.iou.or(config.nms_threshold).unwrap_or(0.45),
        max_det: args.max_det as usize,
        classes,
        agnostic: args.agnostic || config.agnostic.unwrap_or(false),
        batch: args.batch as usize,
        prefetch: args.prefetch.map(|p| p as usize),
        workers: args.workers,
        decode: DecodeOptions {
            max_pixels: args.max_pixels,
        },
    };
    tracing::debug!(
        "{}: {}, input {}×{}, conf {}, iou {}, batch {}",
        engine.id,
        head.describe(),
        size[1],
        size[0],
        opts.conf,
        opts.iou,
        engine.batch_size(opts.batch)
    );

    let bar = progress_bar(&inputs);
    let summary = match &output {
        Output::Stdout => {
            let stdout = std::io::stdout();
            let mut sink = JsonLines(BufWriter::with_capacity(1 << 16, stdout.lock()));
            pipeline::run(&mut engine, size, &opts, &mut sink, &bar)
        }
        Output::File { temp, .. } => {
            let file = temp
                .as_file()
                .try_clone()
                .context("cannot write the output")?;
            let mut sink = JsonLines(BufWriter::with_capacity(1 << 16, file));
            pipeline::run(&mut engine, size, &opts, &mut sink, &bar)
        }
    };
    bar.finish_and_clear();
    progress::clear();
    let summary = summary?;
    if let Output::File { dest, temp } = output {
        temp.as_file()
            .sync_all()
            .context("cannot write the output")?;
        temp.persist(&dest).map_err(|e| {
            anyhow!(
                "cannot move the results into {}: {}",
                dest.display(),
                e.error
            )
        })?;
    }
    report(&summary, &engine.id, size, engine.batch_size(opts.batch));
    Ok(if summary.failed > 0 || summary.scan_errors > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

/// Class names or ids to ids, with an error that lists the model's classes.
fn resolve_classes(list: &[String], names: &[String]) -> Result<Vec<u32>> {
    list.iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(|c| {
            if let Some(i) = names.iter().position(|n| n == c) {
                return Ok(i as u32);
            }
            if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(c)) {
                return Ok(i as u32);
            }
            match c.parse::<u32>() {
                Ok(id) if names.is_empty() || (id as usize) < names.len() => Ok(id),
                _ => bail!(
                    "unknown class '{c}'; the model's classes are: {}",
                    names.join(", ")
                ),
            }
        })
        .collect()
}

fn progress_bar(inputs: &[Input]) -> ProgressBar {
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
    if !inputs.contains(&Input::Stdin) {
        let counter = bar.clone();
        let inputs = inputs.to_vec();
        std::thread::spawn(move || {
            let mut n = 0u64;
            for found in scan(inputs) {
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

fn report(s: &Summary, model: &str, size: [u32; 2], batch: usize) {
    let secs = s.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        s.images as f64 / secs
    } else {
        0.0
    };
    let mut line = format!(
        "labelled {} images in {:.2} s ({:.1} images/s) with {model} at {}×{}, batch {batch}: {} ok, {} failed, {} detections",
        s.images,
        secs,
        rate,
        size[1],
        size[0],
        s.images - s.failed,
        s.failed,
        s.detections
    );
    if s.scan_errors > 0 {
        line.push_str(&format!(
            "; {} folders or list entries could not be read",
            s.scan_errors
        ));
    }
    if s.stopped_early {
        line.push_str("; stopped early: the output was closed");
    }
    progress::note(&line);
    let t = &s.times;
    progress::note(&format!(
        "time per stage: decode {:.2} s and letterbox {:.2} s (summed over {} threads), inference {:.2} s \
         in {} batches, post-processing {:.3} s, writing {:.3} s; inference waited {:.2} s for images",
        t.decode.as_secs_f64(),
        t.letterbox.as_secs_f64(),
        s.workers,
        t.inference.as_secs_f64(),
        s.batches,
        t.postprocess.as_secs_f64(),
        t.write.as_secs_f64(),
        t.waiting.as_secs_f64()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_class_names_and_ids() {
        let names: Vec<String> = ["person", "Table", "car"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            resolve_classes(&["table".into(), "2".into()], &names).unwrap(),
            vec![1, 2]
        );
        let err = resolve_classes(&["persn".into()], &names)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown class 'persn'") && err.contains("person, Table, car"));
        assert!(resolve_classes(&["7".into()], &names).is_err());
    }
}
