//! The binary's logic: turns parsed arguments into options, runs the command, reports.
//!
//! Library errors come back as `anyhow` chains; this is the one place that prints them
//! and picks the exit code.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::{self, Kind, Wanted};
use crate::cache::Cache;
use crate::cli::{
    Backend, BackendArgs, BenchArgs, BenchSuite, CacheCommand, Cli, Command, ConfigCommand,
    ExportArgs, ExportFormat, FilterArgs, ImportArgs, InferArgs, MergeArgs, ModelsCommand, NmsArgs,
    NmsFormat, PreloadArgs, PreprocessAt, RuntimeCommand, ScanArgs,
};
use crate::config::{self, Config};
use crate::decode::DecodeOptions;
use crate::engine::{Engine, ModelFacts, ModelInfo, Start};
use crate::home::Home;
use crate::outfile::OutFile;
use crate::pipeline::{self, CacheRun, EngineSlot, InferOptions, Preprocess, Sink, Summary};
use crate::progress::{self, Verbosity};
use crate::scan::{Input, Sources, WalkOptions, scan};
use crate::{catalogue, exit_codes, fetch, model, runtime};

/// `println!` that hands its error back (with `?`) instead of panicking, so that a closed
/// pipe (`anylabel cache stats | head -1`) ends the command quietly with exit code 0, as
/// [`run`] does for every command.
macro_rules! outln {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

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
        Command::Preload(args) => preload_command(args, cli.offline),
        Command::Cache(cmd) => cache_command(cmd),
        Command::Nms(args) => nms_command(args),
        Command::Filter(args) => filter_command(args, cli.offline),
        Command::Merge(args) => merge_command(args),
        Command::Export(args) => export_command(args),
        Command::Import(args) => import_command(args),
        Command::Bench(args) => bench_command(args, cli.offline),
        Command::Config(cmd) => config_command(cmd),
        Command::Doctor(args) => crate::doctor::run(
            &crate::doctor::Options {
                json: args.json,
                require: args
                    .require_gpu
                    .as_deref()
                    .map(|b| if b == "trt" { Kind::Trt } else { Kind::Cuda }),
                device: args.device,
            },
            cli.offline,
        ),
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

fn parse_inputs(paths: &[PathBuf], walk: &crate::cli::WalkArgs) -> Result<Sources> {
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

fn scan_command(args: ScanArgs) -> Result<u8> {
    use std::os::unix::ffi::OsStrExt;
    let inputs = parse_inputs(&args.inputs, &args.walk)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut errors = 0;
    let end = if args.print0 { b'\0' } else { b'\n' };
    for found in crate::shard::select(scan(inputs), args.shard) {
        match found {
            Ok(item) => {
                // The path's bytes as they are, so a name that is not UTF-8 can be read back.
                out.write_all(item.path.as_os_str().as_bytes())?;
                out.write_all(&[end])?;
            }
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

fn nms_command(args: NmsArgs) -> Result<u8> {
    use crate::nms::{Candidates, Nms, NmsParams};
    let name = match args.input.to_str() {
        Some("-") => "<stdin>".to_string(),
        _ => args.input.display().to_string(),
    };
    let mut input = Vec::new();
    if args.input.as_os_str() == "-" {
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut input)
            .context("cannot read stdin")?;
    } else {
        input = std::fs::read(&args.input).with_context(|| format!("cannot read {name}"))?;
    }
    let params = NmsParams {
        iou: args.iou,
        max_det: args.max_det.unwrap_or(usize::MAX),
        agnostic: args.agnostic,
        max_candidates: usize::MAX,
    };
    let conf = args.conf.unwrap_or(f32::NEG_INFINITY);
    let mut nms = Nms::new();
    let mut keep = Vec::new();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    // Past a UTF-8 byte order mark, which the record reader skips too.
    let is_jsonl = input
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&input)
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        == Some(&b'{');
    if !is_jsonl {
        let all = crate::boxes::read_csv(&input[..]).map_err(|e| anyhow!("{name}: {e}"))?;
        // --conf first, remembering each survivor's row.
        let mut rows = Vec::with_capacity(all.len());
        let mut c = Candidates::default();
        for i in 0..all.len() {
            if all.scores[i] > conf {
                rows.push(i);
                c.push(all.boxes[i], all.scores[i], all.classes[i]);
            }
        }
        nms.run(&c, &params, &mut keep);
        match args.format {
            NmsFormat::Lines => {
                for &k in &keep {
                    writeln!(out, "{}", rows[k])?;
                }
            }
            NmsFormat::Json => {
                let kept: Vec<usize> = keep.iter().map(|&k| rows[k]).collect();
                writeln!(out, "{}", serde_json::to_string(&kept)?)?;
            }
        }
    } else {
        let mut records = Vec::new();
        for r in crate::record::Records::new(&name, &input[..]) {
            let mut r = r?;
            let mut c = Candidates::default();
            let dets: Vec<_> = r.detections.drain(..).filter(|d| d.score > conf).collect();
            for d in &dets {
                c.push(d.bbox, d.score, d.class_id);
            }
            nms.run(&c, &params, &mut keep);
            r.detections = keep.iter().map(|&k| dets[k].clone()).collect();
            match args.format {
                NmsFormat::Lines => {
                    serde_json::to_writer(&mut out, &r)?;
                    out.write_all(b"\n")?;
                }
                NmsFormat::Json => records.push(r),
            }
        }
        if args.format == NmsFormat::Json {
            writeln!(out, "{}", serde_json::to_string(&records)?)?;
        }
    }
    out.flush()?;
    Ok(exit_codes::SUCCESS)
}

fn merge_command(args: MergeArgs) -> Result<u8> {
    if args.cache {
        let target = match args.output {
            Some(p) => p,
            None => Cache::default_path(&Home::from_env()?)
                .ok_or_else(|| anyhow!("the cache is off (ANYLABEL_CACHE=off): give -o OUT.db"))?,
        };
        let summary = crate::merge::merge_caches(&target, &args.shards)?;
        let added: Vec<String> = summary
            .added
            .iter()
            .map(|(table, n)| format!("{n} {table}"))
            .collect();
        progress::note(&format!(
            "merged {} caches into {}: added {}",
            args.shards.len(),
            target.display(),
            added.join(", ")
        ));
        return Ok(exit_codes::SUCCESS);
    }
    let output = Output::open(args.output.as_deref())?;
    let merge = |out: &mut dyn Write| -> Result<crate::merge::MergeSummary> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        let summary = match &args.root {
            Some(root) => crate::merge::merge_results_by_scan(&args.shards, root, &mut out)?,
            None => crate::merge::merge_results(&args.shards, &mut out)?,
        };
        out.flush()?;
        Ok(summary)
    };
    let summary = match &output {
        Output::Stdout => merge(&mut std::io::stdout().lock())?,
        Output::File(out) => merge(&mut Output::file(out)?)?,
    };
    if let Output::File(out) = output {
        out.finish()?;
    }
    let duplicates = match summary.duplicates {
        0 => String::new(),
        n => format!(" ({n} identical records found in two shards written once)"),
    };
    progress::note(&format!(
        "merged {} records from {} shards{duplicates}",
        summary.records,
        args.shards.len()
    ));
    Ok(exit_codes::SUCCESS)
}

fn export_command(args: ExportArgs) -> Result<u8> {
    use crate::export::{ExportOptions, Format};
    if matches!(args.format, ExportFormat::Html) {
        return export_html(args);
    }
    let format = match args.format {
        ExportFormat::Html => unreachable!("handled above"),
        ExportFormat::Txt => Format::Txt,
        ExportFormat::Json => Format::Json,
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Yolo => Format::Yolo,
        ExportFormat::Coco => Format::Coco,
        ExportFormat::Voc => Format::Voc,
        ExportFormat::Labelme => Format::Labelme,
    };
    if args.beside_images && format != Format::Labelme {
        bail!("--beside-images is for --format labelme");
    }
    if args.overwrite && format != Format::Labelme {
        bail!("--overwrite is for --format labelme (the other formats always replace their files)");
    }
    let output = args.output.unwrap_or_else(|| args.root.clone());
    if format.writes_per_image() && output.as_os_str() == "-" {
        bail!(
            "--format {} writes a folder of files; -o - (stdout) is for the single-file formats",
            format.name()
        );
    }
    let opts = ExportOptions {
        format,
        output,
        root: args.root,
        beside_images: args.beside_images,
        overwrite: args.overwrite,
    };
    let records = crate::record::Records::open(&args.input)?;
    let t = std::time::Instant::now();
    let s = crate::export::export(records, &opts)?;
    let mut line = format!(
        "exported {} of {} records ({} detections) as {} in {:.2} s",
        s.written,
        s.records,
        s.detections,
        format.name(),
        t.elapsed().as_secs_f64()
    );
    for (n, what) in [
        (
            s.skipped_failed,
            "skipped: their images could not be labelled",
        ),
        (s.refused, "refused: their paths would escape the output"),
        (
            s.refused_by_format,
            "refused by the format (each named above)",
        ),
        (
            s.kept,
            "not written: their label files were saved by another tool and are kept (--overwrite replaces them)",
        ),
        (
            s.no_size,
            "refused: they have boxes but no image size to place them in",
        ),
        (s.bad_lines, "input lines are not records"),
    ] {
        if n > 0 {
            line.push_str(&format!("; {n} {what}"));
        }
    }
    progress::note(&line);
    Ok(if s.partial() {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

/// `export --format html`: the gallery of `crate::report`.
fn export_html(args: ExportArgs) -> Result<u8> {
    if args.beside_images {
        bail!("--beside-images is for --format labelme");
    }
    let Some(out) = args.output.filter(|o| o.as_os_str() != "-") else {
        bail!("--format html writes a folder: give it with -o FOLDER");
    };
    let mut bad_lines = 0usize;
    let records = crate::record::Records::open(&args.input)?.filter_map(|r| match r {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!("{e:#}");
            bad_lines += 1;
            None
        }
    });
    let t = std::time::Instant::now();
    let s = crate::report::write_gallery(
        records,
        &args.root,
        &out,
        &crate::report::GalleryOptions::default(),
    )?;
    let mut line = format!(
        "wrote a gallery of {} images ({} detections, {} page{}) in {:.2} s: {}",
        s.images,
        s.detections,
        s.pages,
        if s.pages == 1 { "" } else { "s" },
        t.elapsed().as_secs_f64(),
        s.index.display()
    );
    for (n, what) in [
        (s.failed, "could not be labelled"),
        (s.no_thumbnail, "could not be read for a thumbnail"),
        (bad_lines, "input lines are not records"),
    ] {
        if n > 0 {
            line.push_str(&format!("; {n} {what}"));
        }
    }
    progress::note(&line);
    Ok(if s.failed + s.no_thumbnail + bad_lines > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

fn import_command(args: ImportArgs) -> Result<u8> {
    use crate::import::{ImportOptions, import};
    let opts = ImportOptions {
        format: match args.format {
            crate::cli::ImportFormat::Yolo => crate::import::ImportFormat::Yolo,
            crate::cli::ImportFormat::Coco => crate::import::ImportFormat::Coco,
            crate::cli::ImportFormat::Voc => crate::import::ImportFormat::Voc,
            crate::cli::ImportFormat::Labelme => crate::import::ImportFormat::Labelme,
        },
        path: args.path,
        images: args.images,
        classes: args.classes,
    };
    let mut out = crate::export::Output::open(args.output.as_deref().unwrap_or(Path::new("-")))?;
    let s = import(&opts, |r| {
        let w = out.writer();
        serde_json::to_writer(&mut *w, r)?;
        w.write_all(b"\n")?;
        Ok(())
    })?;
    out.finish()?;
    progress::note(&format!(
        "imported {} records ({} detections) from {}; {} could not be read",
        s.records,
        s.detections,
        opts.path.display(),
        s.failed
    ));
    Ok(if s.failed > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

fn config_command(cmd: ConfigCommand) -> Result<u8> {
    let home = Home::from_env()?;
    match cmd {
        ConfigCommand::Path => outln!("{}", Config::path(&home).display()),
        ConfigCommand::Get { key, show_origin } => {
            let eff = Config::load(&home)?.effective(config::setting(&key)?)?;
            let Some(value) = eff.value else {
                progress::note(&format!(
                    "{key} is not set (built-in: {})",
                    eff.setting.builtin_help
                ));
                return Ok(exit_codes::ERROR);
            };
            if show_origin {
                outln!("{}\t{value}", eff.origin);
            } else {
                outln!("{value}");
                progress::note(&format!("{key} from {}", eff.origin));
            }
        }
        ConfigCommand::List => {
            let config = Config::load(&home)?;
            // Every row, a bad variable's too (named, the run's exit code 1): the list is
            // where one looks to fix it.
            let mut bad = 0;
            for st in config::SETTINGS {
                let (value, origin) = match config.effective(st) {
                    Ok(eff) => match eff.value {
                        Some(v) => (v, eff.origin.to_string()),
                        None => ("-".to_string(), format!("built-in: {}", st.builtin_help)),
                    },
                    Err(e) => {
                        bad += 1;
                        let v = std::env::var(st.env).unwrap_or_default();
                        (v, format!("INVALID: {e:#}"))
                    }
                };
                outln!("{:<15} {value:<14} {origin}", st.key);
            }
            if bad > 0 {
                return Ok(exit_codes::ERROR);
            }
        }
        ConfigCommand::Set { key, value } => {
            config::edit_file(&home, |text| Ok((config::set_in(text, &key, &value)?, ())))?;
            let st = config::setting(&key)?;
            progress::note(&format!(
                "{key} = {value} in {}",
                Config::path(&home).display()
            ));
            if std::env::var_os(st.env).is_some_and(|v| !v.is_empty()) {
                tracing::warn!("{} is set and overrides it", st.env);
            }
        }
        ConfigCommand::Unset { key } => {
            let removed = config::edit_file(&home, |text| config::unset_in(text, &key))?;
            if !removed {
                progress::note(&format!(
                    "{key} was not set in {}",
                    Config::path(&home).display()
                ));
            }
        }
    }
    Ok(exit_codes::SUCCESS)
}

fn cache_command(cmd: CacheCommand) -> Result<u8> {
    let home = Home::from_env()?;
    let path = Cache::default_path(&home)
        .ok_or_else(|| anyhow!("the cache is off (ANYLABEL_CACHE=off)"))?;
    if let CacheCommand::Path = cmd {
        outln!("{}", path.display());
        return Ok(exit_codes::SUCCESS);
    }
    let mut cache = match (Cache::open(&path), &cmd) {
        (Ok(c), _) => c,
        // `clear` is how a damaged cache is started afresh: one SQLite cannot open at all
        // goes, with its journal files.
        (Err(e), CacheCommand::Clear) if crate::cache::is_damaged(&e) => {
            tracing::debug!("{e:#}");
            crate::cache::remove_damaged(&path)?;
            Cache::open(&path)?
        }
        (Err(e), _) => return Err(e),
    };
    match cmd {
        CacheCommand::Stats => {
            let s = cache.stats()?;
            let lookups = s.hits + s.misses;
            outln!("cache:     {}", path.display());
            outln!("size:      {:.1} MB on disk", s.bytes as f64 / 1e6);
            outln!("files:     {} in the (path, size, mtime) index", s.files);
            outln!(
                "images:    {} known contents, {} of them undecodable",
                s.images,
                s.undecodable
            );
            outln!("results:   {}", s.results);
            if lookups > 0 {
                outln!(
                    "hit rate:  {:.1}% of {lookups} images since the cache was created",
                    100.0 * s.hits as f64 / lookups as f64
                );
            }
            for (description, _, n, bytes) in &s.per_params {
                outln!(
                    "  {n:>9} results, {:>8.1} MB of detections: {description}",
                    *bytes as f64 / 1e6
                );
            }
        }
        CacheCommand::Verify => {
            let problems = cache.verify()?;
            if problems.is_empty() {
                outln!("ok: {} is sound", path.display());
            } else {
                for p in &problems {
                    outln!("{p}");
                }
                bail!(
                    "the cache {} is damaged; `anylabel cache clear` starts it afresh",
                    path.display()
                );
            }
        }
        CacheCommand::Prune { max_size } => {
            let before = cache.disk_bytes();
            let evicted = cache.prune(max_size)?;
            outln!(
                "evicted {} results and {} paths of the index; {:.1} MB -> {:.1} MB",
                evicted.results,
                evicted.paths,
                before as f64 / 1e6,
                cache.disk_bytes() as f64 / 1e6
            );
        }
        CacheCommand::Clear => {
            cache.clear()?;
            outln!("cleared {}", path.display());
        }
        CacheCommand::Path => unreachable!(),
    }
    Ok(exit_codes::SUCCESS)
}

fn preload_command(args: PreloadArgs, offline: bool) -> Result<u8> {
    let inputs = parse_inputs(&args.inputs, &args.walk)?;
    let home = Home::from_env()?;
    let path = Cache::default_path(&home).ok_or_else(|| {
        anyhow!("preload fills the cache, and the cache is off (ANYLABEL_CACHE=off)")
    })?;
    let mut cache = Cache::open(&path)?;
    // With --model, the key its results would be stored under.
    let coverage = match &args.model {
        Some(m) => {
            let source = model::resolve(m, &home, offline)?;
            let sha256 = fetch::sha256_file(&source.onnx)?;
            // Only the model's facts are needed: the CPU does.
            let start = Start {
                request: backend::Request::new(Wanted::Only(Kind::Cpu), 0)?,
                precision: crate::trt::Precision::Fp32,
                calib: None,
                threads: 0,
                batch: 1,
                size_hint: [640, 640],
                sha256: sha256.clone(),
            };
            let (facts, _) = model_facts(&source, &start, Some(&cache), &home, offline)?;
            let info = ModelInfo::new(&facts, &source, &sha256)?;
            let config = source.config.clone().unwrap_or_default();
            let config_size = match (config.input_height, config.input_width) {
                (Some(h), Some(w)) => Some([h, w]),
                _ => None,
            };
            let size = info.input_size(args.imgsz.or(config_size))?;
            let opts = InferOptions {
                iou: args.iou.or(config.nms_threshold).unwrap_or(0.45),
                agnostic: args.agnostic || config.agnostic.unwrap_or(false),
                ..InferOptions::default()
            };
            let key = CacheRun::new(Cache::open(&path)?, &info, size, &opts)?.key;
            Some((info.id, size, key))
        }
        None => None,
    };
    let bar = progress_bar(&inputs, args.shard);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut write_error = None;
    let summary = crate::preload::preload(
        inputs,
        args.shard,
        &mut cache,
        &DecodeOptions {
            max_pixels: args.max_pixels,
            ..DecodeOptions::default()
        },
        args.workers,
        &bar,
        |path, reason| {
            tracing::warn!("{}: {reason}", path.display());
            // The path's own bytes, as `scan` prints them, so that a name that is not
            // UTF-8 still finds its file.
            if write_error.is_none()
                && let Err(e) = out
                    .write_all(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
                    .and_then(|()| writeln!(out, "\t{reason}"))
            {
                write_error = Some(e);
            }
        },
    );
    bar.finish_and_clear();
    progress::clear();
    let summary = summary?;
    out.flush()?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let secs = summary.elapsed.as_secs_f64();
    progress::note(&format!(
        "preloaded {} images ({:.1} MB) in {secs:.2} s ({:.0} images/s, {:.0} MB/s): {} will not decode",
        summary.images,
        summary.bytes as f64 / 1e6,
        summary.images as f64 / secs.max(1e-9),
        summary.bytes as f64 / 1e6 / secs.max(1e-9),
        summary.bad.len()
    ));
    if let Some((id, size, key)) = coverage {
        let have = summary
            .contents
            .iter()
            .filter(|c| {
                crate::cache::with_reader(&path, |r| Ok(r.result(c, &key)?.is_some()))
                    .unwrap_or(false)
            })
            .count();
        progress::note(&format!(
            "{have} of {} decodable images already have results for {id} at {}×{} in the cache",
            summary.contents.len(),
            size[1],
            size[0]
        ));
    }
    Ok(if !summary.bad.is_empty() || summary.scan_errors > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

fn runtime_command(cmd: RuntimeCommand, offline: bool) -> Result<u8> {
    let home = Home::from_env()?;
    let rt = match cmd {
        RuntimeCommand::Install { gpu } => {
            if offline {
                let by = crate::fetch::offline_by();
                bail!(
                    "{by} forbids installing ONNX Runtime; run again with network access and without {by}"
                );
            }
            let flavour = if gpu {
                runtime::Flavour::Gpu
            } else {
                runtime::Flavour::Cpu
            };
            runtime::install(&home, flavour)?
        }
        RuntimeCommand::Path => runtime::ensure(&home, offline, runtime::Flavour::Cpu)?,
    };
    progress::note(&format!(
        "ONNX Runtime {} found through {}",
        rt.version
            .as_deref()
            .unwrap_or("(version not in the file name)"),
        rt.source
    ));
    outln!("{}", rt.library.display());
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
                outln!(
                    "{:<20} {:<12} {:<12} {}",
                    e.name,
                    e.licence,
                    state,
                    e.summary
                );
            }
        }
        ModelsCommand::Fetch { names } => {
            let entries: Vec<_> = names.iter().map(|n| entry(n)).collect::<Result<_>>()?;
            for e in entries {
                outln!("{}", e.ensure(&home, offline)?.display());
            }
        }
        ModelsCommand::Path { name } => {
            outln!("{}", entry(&name)?.ensure(&home, offline)?.display())
        }
    }
    Ok(exit_codes::SUCCESS)
}

/// Where records go: stdout, or a file replaced atomically when the run ends (written in
/// place where it is a device or a pipe: [`crate::outfile`]).
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

/// The model's facts, from the cache when it has them, else from loading the model
/// (then kept in the cache). Returns the engine too when it had to be loaded.
fn model_facts(
    source: &model::ModelSource,
    st: &Start,
    cache: Option<&Cache>,
    home: &Home,
    offline: bool,
) -> Result<(ModelFacts, Option<Engine>)> {
    if let Some(text) = cache.and_then(|c| c.model_facts(&st.sha256).ok().flatten())
        && let Ok(facts) = serde_json::from_str::<ModelFacts>(&text)
    {
        return Ok((facts, None));
    }
    let (engine, facts) = crate::engine::start(st, home, offline, &source.onnx)?;
    if let Some(c) = cache
        && let Err(e) = c.store_model_facts(&st.sha256, &serde_json::to_string(&facts)?)
    {
        tracing::debug!("cannot keep the model's facts in the cache: {e:#}");
    }
    Ok((facts, Some(engine)))
}

/// `--backend`, `--device` and `--precision` as the library takes them; the driver is
/// probed here, so an explicit GPU backend on a machine without one fails at once.
fn backend_request(args: &BackendArgs) -> Result<(backend::Request, crate::trt::Precision)> {
    let wanted = match args.backend {
        Backend::Auto => Wanted::Auto,
        Backend::Cpu => Wanted::Only(Kind::Cpu),
        Backend::Cuda => Wanted::Only(Kind::Cuda),
        Backend::Trt => Wanted::Only(Kind::Trt),
    };
    let precision = match args.precision {
        crate::cli::Precision::Fp32 => crate::trt::Precision::Fp32,
        crate::cli::Precision::Fp16 => crate::trt::Precision::Fp16,
        crate::cli::Precision::Int8 => crate::trt::Precision::Int8,
    };
    Ok((backend::Request::new(wanted, args.device)?, precision))
}

/// `--preprocess` for the pipeline; `--preprocess gpu` on a machine whose NVIDIA driver is
/// missing or does not start fails here, before any image is read. `auto` letterboxes on
/// the GPU where the model may run on one (the pipeline falls back to the CPU, saying why,
/// where it does not or the kernel cannot start), on the CPU otherwise.
pub(crate) fn preprocess_at(args: &BackendArgs, request: &backend::Request) -> Result<Preprocess> {
    // nvJPEG's images are letterboxed where they are: --decode gpu makes auto gpu.
    let at = match (args.preprocess, args.decode) {
        (PreprocessAt::Auto, crate::cli::DecodeAt::Gpu) => PreprocessAt::Gpu,
        (at, _) => at,
    };
    let what = if at == args.preprocess {
        "--preprocess gpu"
    } else {
        "--decode gpu"
    };
    Ok(match at {
        PreprocessAt::Cpu => Preprocess::Cpu,
        PreprocessAt::Auto => {
            let gpu_backend = args.backend != Backend::Cpu;
            let driver = matches!(request.driver, crate::driver::DriverState::Present(_));
            if gpu_backend && driver {
                Preprocess::Gpu {
                    device: request.device,
                    required: false,
                }
            } else {
                Preprocess::Cpu
            }
        }
        PreprocessAt::Gpu => {
            match &request.driver {
                // The same reason, with what to install or check, as --backend cuda gives.
                crate::driver::DriverState::Missing(why) => {
                    bail!(
                        "{what} needs an NVIDIA GPU: {}",
                        backend::Reason::NoDriver(why.clone())
                    )
                }
                crate::driver::DriverState::Failed(why) => {
                    bail!(
                        "{what} needs an NVIDIA GPU: {}",
                        backend::Reason::DriverFailed(why.clone())
                    )
                }
                crate::driver::DriverState::Present(_) => {}
            }
            Preprocess::Gpu {
                device: request.device,
                required: true,
            }
        }
    })
}

/// `--precision fp16|int8` with a backend that has no such setting, int8 without
/// `--calib` (or `--calib` without int8), or `--preprocess gpu` with the CPU backend: a
/// usage error (exit 2).
/// `--json` where the records go: stdout (`--json -` without `-o FILE`), or `-o`'s own file
/// (the summary would replace the records).
fn json_misuse(json: Option<&Path>, output: Option<&Path>) -> Option<String> {
    let json = json?;
    let output = output.filter(|o| o.as_os_str() != "-");
    if json.as_os_str() == "-" {
        return output.is_none().then(|| {
            "--json - writes the summary to stdout, where the records go: write them to a file with -o, or the summary with --json FILE".into()
        });
    }
    output
        .filter(|o| crate::outfile::same_file(json, o))
        .map(|o| {
            format!(
                "--json {} is the file -o {} writes the records to: the summary would replace them; give it another name",
                json.display(),
                o.display()
            )
        })
}

fn precision_misuse(args: &BackendArgs) -> Option<String> {
    if args.preprocess == PreprocessAt::Gpu && args.backend == Backend::Cpu {
        return Some(
            "--preprocess gpu letterboxes into the tensor the model reads on the GPU: use it with --backend cuda, trt or auto".into(),
        );
    }
    if args.decode == crate::cli::DecodeAt::Gpu {
        if args.backend == Backend::Cpu {
            return Some(
                "--decode gpu decodes on the GPU the model runs on: use it with --backend cuda, trt or auto".into(),
            );
        }
        if args.preprocess == PreprocessAt::Cpu {
            return Some(
                "--decode gpu leaves the pixels on the GPU, where only the GPU letterbox reads them: drop --preprocess cpu".into(),
            );
        }
    }
    let int8 = args.precision == crate::cli::Precision::Int8;
    if int8 && args.calib.is_none() {
        return Some(
            "--precision int8 needs --calib DIR: a folder of images like those to label (a few hundred), to measure the ranges TensorRT quantizes to".into(),
        );
    }
    if !int8 && args.calib.is_some() {
        return Some("--calib is for --precision int8".into());
    }
    let name = match args.backend {
        Backend::Cpu => "cpu",
        Backend::Cuda => "cuda",
        _ => return None,
    };
    let precision = match args.precision {
        crate::cli::Precision::Fp32 => return None,
        crate::cli::Precision::Fp16 => "fp16",
        crate::cli::Precision::Int8 => "int8",
    };
    Some(format!(
        "--precision {precision} is TensorRT's: use it with --backend trt (or auto); the {name} backend runs in fp32"
    ))
}

/// Ctrl-C asks the run to stop at the next batch boundary; a second one stops at once.
fn stop_flag() -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                std::process::exit(exit_codes::INTERRUPTED as i32);
            }
        });
    });
    &STOP
}

fn open_cache(home: &Home, no_cache: bool) -> Result<Option<Cache>> {
    if no_cache {
        return Ok(None);
    }
    match Cache::default_path(home) {
        Some(path) => Ok(Some(Cache::open(&path)?)),
        None => Ok(None),
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

fn infer_command(args: InferArgs, offline: bool) -> Result<u8> {
    infer_into(args, offline, &mut AllRecords)
}

/// What `infer` does with each record: `infer` writes it; `filter <DIR> --model` tests it.
trait RecordWriter {
    /// Called once the model's class names are known, before any image is labelled.
    fn check(&mut self, _class_names: &[String]) -> Result<()> {
        Ok(())
    }
    fn write(&mut self, record: &crate::record::Record, out: &mut dyn Write)
    -> std::io::Result<()>;
}

struct AllRecords;

impl RecordWriter for AllRecords {
    fn write(
        &mut self,
        record: &crate::record::Record,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, record)?;
        out.write_all(b"\n")
    }
}

/// A [`Sink`] that hands each record to a [`RecordWriter`].
struct Through<'a, W: Write> {
    out: W,
    writer: &'a mut dyn RecordWriter,
}

impl<W: Write> Sink for Through<'_, W> {
    fn write(&mut self, record: &crate::record::Record) -> std::io::Result<()> {
        self.writer.write(record, &mut self.out)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn infer_into(args: InferArgs, offline: bool, writer: &mut dyn RecordWriter) -> Result<u8> {
    // The backend first: an explicit GPU backend without a driver fails before anything
    // else is read, fetched or installed.
    if let Some(e) = precision_misuse(&args.backend) {
        eprintln!("error: {e}");
        return Ok(exit_codes::USAGE);
    }
    let (request, precision) = backend_request(&args.backend)?;
    let preprocess = preprocess_at(&args.backend, &request)?;
    let stop = stop_flag();
    let inputs = parse_inputs(&args.inputs, &args.walk)?;
    let json = args.json.clone();
    if let Some(e) = json_misuse(json.as_deref(), args.output.as_deref()) {
        eprintln!("error: {e}");
        return Ok(exit_codes::USAGE);
    }
    let output = Output::open(args.output.as_deref())?;
    // Found now, not after the run (and after -o, which makes its folder).
    if let Some(j) = json.as_deref().filter(|j| j.as_os_str() != "-") {
        crate::outfile::check_writable(j).context("--json")?;
    }
    let home = Home::from_env()?;
    let config_file = Config::load(&home)?;
    let max_size = config_file.cache_max_size()?;

    // The model first: a missing model is reported before anything is installed.
    let source = model::resolve(&args.model, &home, offline)?;
    let sha256 = fetch::sha256_file(&source.onnx)?;
    let cache = open_cache(&home, args.no_cache)?;
    let config = source.config.clone().unwrap_or_default();
    let config_size = match (config.input_height, config.input_width) {
        (Some(h), Some(w)) => Some([h, w]),
        _ => None,
    };
    let start = Start {
        request: request.clone(),
        precision,
        calib: args.backend.calib.clone(),
        threads: args.threads,
        batch: args.batch as usize,
        size_hint: args.imgsz.or(config_size).unwrap_or([640, 640]),
        sha256: sha256.clone(),
    };
    let t = std::time::Instant::now();
    let (facts, engine) = model_facts(&source, &start, cache.as_ref(), &home, offline)?;
    let upfront_load = if engine.is_some() {
        t.elapsed()
    } else {
        std::time::Duration::ZERO
    };
    let info = ModelInfo::new(&facts, &source, &sha256)?;

    let size = info.input_size(args.imgsz.or(config_size))?;
    writer.check(&info.class_names)?;
    let classes = match args.classes.as_ref().or(config.filter_classes.as_ref()) {
        Some(list) => Some(resolve_classes(list, &info.class_names)?),
        None => None,
    };
    if info.input_dims[0].is_some_and(|b| b as u32 != args.batch) && args.batch > 1 {
        tracing::warn!(
            "the model's batch size is fixed at {}; --batch {} is ignored",
            info.input_dims[0].unwrap_or(1),
            args.batch
        );
    }
    let opts = InferOptions {
        inputs: inputs.clone(),
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
            ..DecodeOptions::default()
        },
        exact_decode: args.exact_decode,
        shard: args.shard,
        preprocess,
        gpu_decode: args.backend.decode == crate::cli::DecodeAt::Gpu,
    };
    tracing::debug!(
        "{}: {}, input {}×{}, conf {}, iou {}, batch {}",
        info.id,
        info.head.describe(),
        size[1],
        size[0],
        opts.conf,
        opts.iou,
        info.batch_size(opts.batch)
    );
    let mut cache_run = match cache {
        Some(c) => Some(CacheRun::new(c, &info, size, &opts)?),
        None => None,
    };
    let mut slot = match engine {
        Some(e) => EngineSlot::Loaded(e),
        None => {
            let (home, source) = (home.clone(), source.clone());
            let start = Start {
                size_hint: size,
                ..start
            };
            EngineSlot::Lazy(Box::new(move || {
                Ok(crate::engine::start(&start, &home, offline, &source.onnx)?.0)
            }))
        }
    };

    let bar = progress_bar(&inputs, opts.shard);
    let mut run = |sink: &mut dyn Sink| {
        pipeline::run(
            &mut slot,
            &info,
            size,
            &opts,
            cache_run.as_mut(),
            stop,
            sink,
            &bar,
        )
    };
    let summary = match &output {
        Output::Stdout => {
            let stdout = std::io::stdout();
            run(&mut Through {
                out: BufWriter::with_capacity(1 << 16, stdout.lock()),
                writer,
            })
        }
        Output::File(out) => {
            let file = Output::file(out)?;
            run(&mut Through {
                out: BufWriter::with_capacity(1 << 16, file),
                writer,
            })
        }
    };
    bar.finish_and_clear();
    progress::clear();
    let mut summary = summary?;
    summary.times.load += upfront_load;
    summary.model_loaded |= !upfront_load.is_zero();
    let (chosen, skipped) = match &slot {
        EngineSlot::Loaded(e) => (Some(e.backend), e.failed.clone()),
        // Never loaded (every image from the cache): what the driver alone rules out.
        _ => (None, request.driver_skips()),
    };
    report(
        &summary,
        &info.id,
        size,
        info.batch_size(opts.batch),
        chosen,
    );
    let backend_json = backend::summary_json(request.wanted, request.device, chosen, &skipped);
    if summary.interrupted {
        let resume = match &cache_run {
            Some(c) => format!(
                "every result computed so far is in the cache ({}): run the same command again to finish",
                c.cache.path().display()
            ),
            None => "the cache was off, so a new run starts from the beginning".to_string(),
        };
        let output_note = match &output {
            Output::File(out) if out.is_stream() => {
                format!("; {} has the records written so far", out.path().display())
            }
            Output::File(out) => format!("; {} was not written", out.path().display()),
            Output::Stdout => String::new(),
        };
        tracing::warn!(
            "interrupted after {} images{output_note}; {resume}",
            summary.images
        );
        if let Some(path) = &json
            && let Err(e) = write_json_summary(
                path,
                &summary,
                &info.id,
                size,
                exit_codes::INTERRUPTED,
                backend_json,
            )
        {
            tracing::warn!("{e:#}");
        }
        return Ok(exit_codes::INTERRUPTED);
    }
    if let Output::File(out) = output {
        out.finish()?;
    }
    if let (Some(limit), Some(c)) = (max_size, cache_run.as_mut()) {
        let before = c.cache.disk_bytes();
        // The records are written by now: a prune that fails (say, no room for the one
        // VACUUM an old cache needs) is said, not the run's failure.
        if before > limit {
            match c.cache.prune(limit) {
                Ok(evicted) => progress::note(&format!(
                    "cache: evicted the {} least recently used results and {} paths of the index to stay under {} MB",
                    evicted.results,
                    evicted.paths,
                    limit / 1_000_000
                )),
                Err(e) => tracing::warn!(
                    "cache: could not prune it to {} MB: {e:#}; `anylabel cache prune` tries again",
                    limit / 1_000_000
                ),
            }
        }
    }
    let code = if summary.failed > 0 || summary.scan_errors > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    };
    if let Some(path) = &json {
        write_json_summary(path, &summary, &info.id, size, code, backend_json)?;
    }
    Ok(code)
}

/// `infer --json PATH`: the summary for scripts, one JSON object.
fn write_json_summary(
    path: &Path,
    s: &pipeline::Summary,
    model: &str,
    size: [u32; 2],
    code: u8,
    backend: serde_json::Value,
) -> Result<()> {
    let secs = s.elapsed.as_secs_f64();
    let t = &s.times;
    let stage = |d: std::time::Duration| (d.as_secs_f64() * 1e4).round() / 1e4;
    let value = serde_json::json!({
        "model": model,
        "imgsz": [size[0], size[1]],
        "images": s.images,
        "ok": s.images - s.failed,
        "failed": s.failed,
        "detections": s.detections,
        "scan_errors": s.scan_errors,
        "cache": if s.cached { serde_json::json!({"hits": s.cache_hits, "misses": s.images - s.cache_hits}) } else { serde_json::Value::Null },
        "model_loaded": s.model_loaded,
        "batches": s.batches,
        "letterbox": s.letterboxed_on,
        "decoded_on_gpu": s.gpu_decoded,
        "decoded_by_jpeg_engine": s.gpu_engine_decoded,
        "uploaded_by_decode_threads": s.gpu_uploaded,
        "seconds": (secs * 1e4).round() / 1e4,
        "images_per_second": if secs > 0.0 { ((s.images as f64 / secs) * 100.0).round() / 100.0 } else { 0.0 },
        "stage_seconds": {
            "lookup": stage(t.lookup), "decode": stage(t.decode), "letterbox": stage(t.letterbox),
            "load": stage(t.load), "inference": stage(t.inference), "postprocess": stage(t.postprocess),
            "store": stage(t.store), "write": stage(t.write), "waiting": stage(t.waiting),
            "starved": stage(t.starved),
        },
        "backend": backend,
        "exit_code": code,
    });
    let text = format!("{value}\n");
    if path.as_os_str() == "-" {
        std::io::stdout().write_all(text.as_bytes())?;
        return Ok(());
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Class names or ids to ids, with an error that lists the model's classes.
fn resolve_classes(list: &[String], names: &[String]) -> Result<Vec<u32>> {
    // `--classes ,` (or a variable set to nothing but commas) names no class: it would
    // keep no detection at all.
    if !list.is_empty() && list.iter().all(|c| c.trim().is_empty()) {
        bail!(
            "--classes names no class; give names or ids, such as --classes {}",
            names.first().map_or("0", String::as_str)
        );
    }
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

fn filter_command(args: FilterArgs, offline: bool) -> Result<u8> {
    use crate::filter::{Filter, Flags, Keep, Print, Rule, Run, preset};
    if args.list_presets {
        let home = Home::from_env()?;
        for (name, path) in preset::list(&home)? {
            match read_rule_file(&path) {
                Ok(rule) => outln!("{name}\t{}", rule.to_json()),
                Err(e) => outln!("{name}\t(does not load: {e:#})"),
            }
        }
        return Ok(exit_codes::SUCCESS);
    }
    let flags = Flags {
        class: args.class,
        all_classes: args.all_classes,
        no_class: args.no_class,
        min_conf: args.min_conf,
        max_conf: args.max_conf,
        min_count: args.min_count,
        max_count: args.max_count,
        count: args.count,
        min_area: args.min_area,
        max_area: args.max_area,
    };
    let mut rules = match flags.to_rule() {
        Ok(rule) => Vec::from_iter(rule),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit_codes::USAGE);
        }
    };
    if let Some(path) = &args.rules {
        rules.push(read_rule_file(path)?);
    }
    if let Some(name) = &args.preset {
        let home = Home::from_env()?;
        let path = preset::path(&home, name)?;
        if !path.exists() {
            let names: Vec<String> = preset::list(&home)?.into_iter().map(|(n, _)| n).collect();
            bail!(
                "no preset is called {name} (in {}); the presets are: {}",
                preset::dir(&home).display(),
                if names.is_empty() {
                    "(none yet; save one with --save-preset NAME)".to_string()
                } else {
                    names.join(", ")
                }
            );
        }
        rules.push(read_rule_file(&path)?);
    }
    let rule = match rules.len() {
        0 => None,
        1 => rules.pop(),
        _ => Some(Rule::And(rules)),
    };
    if let Some(name) = &args.save_preset {
        let Some(rule) = &rule else {
            bail!(
                "--save-preset {name} needs a rule to save: give flags such as --class, or --rules FILE"
            );
        };
        let path = preset::save(&Home::from_env()?, name, rule)?;
        progress::note(&format!("saved preset {name} as {}", path.display()));
        if args.inputs.is_empty() {
            return Ok(exit_codes::SUCCESS);
        }
    }
    let filter = Filter {
        rule,
        keep: match args.keep {
            crate::cli::FilterKeep::All => Keep::All,
            crate::cli::FilterKeep::Matching => Keep::Matching,
        },
        print: if args.stats && args.output.is_none() {
            Print::Nothing
        } else if args.paths {
            Print::Paths
        } else {
            Print::Records
        },
    };

    if let Some(model) = args.model {
        let infer = InferArgs {
            inputs: args.inputs,
            walk: Default::default(),
            shard: None,
            model,
            imgsz: args.imgsz,
            conf: args.conf,
            iou: args.iou,
            max_det: args.max_det,
            classes: args.classes,
            agnostic: args.agnostic,
            batch: args.batch,
            threads: 0,
            workers: args.workers,
            prefetch: None,
            max_pixels: crate::decode::DEFAULT_MAX_PIXELS,
            exact_decode: false,
            backend: args.backend,
            output: args.output,
            no_cache: args.no_cache,
            json: None,
        };
        let mut writer = Filtering {
            filter: &filter,
            stats: crate::filter::Stats::default(),
            want_stats: args.stats,
        };
        let code = infer_into(infer, offline, &mut writer)?;
        if args.stats && code != exit_codes::INTERRUPTED {
            writer.stats.write(&mut std::io::stdout().lock())?;
        }
        return Ok(code);
    }

    let output = Output::open(args.output.as_deref())?;
    let stats = {
        let stdout = std::io::stdout();
        let mut out: Box<dyn Write> = match &output {
            Output::Stdout => Box::new(BufWriter::with_capacity(1 << 16, stdout.lock())),
            Output::File(out) => Box::new(BufWriter::with_capacity(1 << 16, Output::file(out)?)),
        };
        let mut run = Run::new(&filter, args.jobs, args.stats, &mut *out)?;
        for input in &args.inputs {
            if input.as_os_str() == "-" {
                run.feed("<stdin>", std::io::stdin().lock())?;
                continue;
            }
            let name = input.display().to_string();
            match std::fs::File::open(input) {
                Ok(f) => run.feed(&name, f)?,
                Err(e) => {
                    tracing::warn!("cannot read {name}: {e}");
                    run.stats.unreadable += 1;
                }
            }
        }
        run.finish()?
    };
    if let Output::File(out) = output {
        out.finish()?;
    }
    if args.stats {
        stats.write(&mut std::io::stdout().lock())?;
    }
    Ok(if stats.bad_lines > 0 || stats.unreadable > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

/// A rule file, with errors at `file:line:column`.
fn read_rule_file(path: &Path) -> Result<crate::filter::Rule> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    crate::filter::parse::parse_rule(&text, &name)
        .map_err(|e| anyhow!("{name}:{}:{}: {}", e.pos.line, e.pos.col, e.message))
}

/// `filter <DIR> --model`: tests each record as `infer` makes it.
struct Filtering<'a> {
    filter: &'a crate::filter::Filter,
    stats: crate::filter::Stats,
    want_stats: bool,
}

impl RecordWriter for Filtering<'_> {
    fn check(&mut self, class_names: &[String]) -> Result<()> {
        match &self.filter.rule {
            Some(rule) => crate::filter::check_classes(rule, class_names),
            None => Ok(()),
        }
    }

    fn write(
        &mut self,
        record: &crate::record::Record,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        self.stats.read += 1;
        let Some(kept) = self.filter.apply(record) else {
            return Ok(());
        };
        if self.want_stats {
            self.stats.add(&kept);
        } else {
            self.stats.matched += 1;
        }
        let mut buf = Vec::new();
        self.filter.write(&kept, None, &mut buf);
        out.write_all(&buf)
    }
}

fn progress_bar(inputs: &Sources, shard: Option<crate::shard::Shard>) -> ProgressBar {
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
            for found in crate::shard::select(scan(inputs), shard) {
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

fn report(s: &Summary, model: &str, size: [u32; 2], batch: usize, backend: Option<Kind>) {
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
    if let Some(b) = backend {
        line.push_str(&format!(" (backend {b})"));
    }
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
    if s.cached {
        let rate = if s.images > 0 {
            100.0 * s.cache_hits as f64 / s.images as f64
        } else {
            0.0
        };
        progress::note(&format!(
            "cache: {} of {} images answered from the cache ({rate:.0}% hit rate){}",
            s.cache_hits,
            s.images,
            if s.model_loaded {
                ""
            } else {
                "; the model was not loaded"
            }
        ));
    } else {
        progress::note("cache: off");
    }
    let t = &s.times;
    progress::note(&format!(
        "time per stage: cache lookup {:.2} s, decode {:.2} s and letterbox {:.2} s (summed over {} threads), \
         model load {:.2} s, inference {:.2} s in {} batches, post-processing {:.3} s, cache writes {:.3} s, \
         writing {:.3} s; batching waited {:.2} s for images, the model {:.2} s for batches{}",
        t.lookup.as_secs_f64(),
        t.decode.as_secs_f64(),
        t.letterbox.as_secs_f64(),
        s.workers,
        t.load.as_secs_f64(),
        t.inference.as_secs_f64(),
        s.batches,
        t.postprocess.as_secs_f64(),
        t.store.as_secs_f64(),
        t.write.as_secs_f64(),
        t.waiting.as_secs_f64(),
        t.starved.as_secs_f64(),
        match (s.letterboxed_on, s.gpu_decoded) {
            (Some("gpu"), 0) => "; letterboxed on the GPU".to_string(),
            (Some("gpu"), n) => format!("; letterboxed on the GPU, {n} JPEGs decoded there"),
            _ => String::new(),
        }
    ));
}

fn bench_command(args: BenchArgs, offline: bool) -> Result<u8> {
    use crate::bench::{self, BenchReport, Suite};
    let suites: Vec<Suite> = match args.suite {
        BenchSuite::All => Suite::ALL.to_vec(),
        BenchSuite::Infer => vec![Suite::Infer],
        BenchSuite::Io => vec![Suite::Io],
        BenchSuite::Nms => vec![Suite::Nms],
        BenchSuite::Filter => vec![Suite::Filter],
        BenchSuite::Cache => vec![Suite::Cache],
    };
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
                gpu_decode: args.backend.decode == crate::cli::DecodeAt::Gpu,
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
            crate::outfile::write(p, json.as_bytes())?;
            std::io::stdout().write_all(text.as_bytes())?;
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
        crate::outfile::write(&dir.join("report.json"), json.as_bytes())?;
        crate::outfile::write(&dir.join("report.md"), bench::markdown(&report).as_bytes())?;
        crate::outfile::write(&dir.join("report.html"), bench::html(&report).as_bytes())?;
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
