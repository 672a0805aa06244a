//! `anylabel infer`: label images and write one record per image. The model is opened by
//! the library's [`anylabel::infer`]; here are the flags' checks, where records go, the
//! progress bar, the summary and the exit code. `filter DIR --model` runs the same, with
//! a [`RecordWriter`] that filters.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use anylabel::backend::{self, Kind};
use anylabel::cache::Cache;
use anylabel::config::Config;
use anylabel::decode::DecodeOptions;
use anylabel::home::Home;
use anylabel::pipeline::{self, CacheRun, EngineSlot, InferOptions, Sink, Summary};
use anylabel::{exit_codes, progress};

use super::backend::{backend_request, precision_misuse, preprocess_at};
use super::{Output, parse_inputs, progress_bar};
use crate::cli::args::{DecodeAt, InferArgs};

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
        .filter(|o| anylabel::outfile::same_file(json, o))
        .map(|o| {
            format!(
                "--json {} is the file -o {} writes the records to: the summary would replace them; give it another name",
                json.display(),
                o.display()
            )
        })
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

pub(super) fn infer_command(args: InferArgs, offline: bool) -> Result<u8> {
    // The backend first: an explicit GPU backend without a driver fails before anything
    // else is read, fetched or installed.
    if let Some(e) = precision_misuse(&args.backend) {
        return Ok(usage_error(&e));
    }
    let (request, precision) = backend_request(&args.backend)?;
    let preprocess = preprocess_at(&args.backend, &request)?;
    let inputs = parse_inputs(&args.inputs, &args.walk)?;
    let labelling = Labelling {
        model: anylabel::infer::Options {
            model: args.model,
            imgsz: args.imgsz,
            conf: args.conf,
            iou: args.iou,
            classes: args.classes,
            agnostic: args.agnostic,
            batch: args.batch as usize,
            threads: args.threads,
            backend: request,
            precision,
            calib: args.backend.calib.clone(),
        },
        run: InferOptions {
            inputs,
            max_det: args.max_det as usize,
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
            gpu_decode: args.backend.decode == DecodeAt::Gpu,
            ..InferOptions::default()
        },
        output: args.output,
        no_cache: args.no_cache,
        json: args.json,
    };
    label(labelling, offline, &mut AllRecords)
}

/// Prints a usage error; its exit code.
pub(super) fn usage_error(e: &str) -> u8 {
    eprintln!("error: {e}");
    exit_codes::USAGE
}

/// A run of `infer` (or of `filter DIR --model`) as plain values: the model and the
/// settings its config may give, and the rest of the run. `run`'s `conf`, `iou`,
/// `agnostic` and `classes` are the model's to settle ([`anylabel::infer::Model`]).
pub(super) struct Labelling {
    pub model: anylabel::infer::Options,
    pub run: InferOptions,
    /// `-o`: a file, or stdout.
    pub output: Option<PathBuf>,
    pub no_cache: bool,
    /// `--json`: where the summary goes.
    pub json: Option<PathBuf>,
}

/// What `infer` does with each record: `infer` writes it; `filter <DIR> --model` tests it.
pub(super) trait RecordWriter {
    /// Called once the model's class names are known, before any image is labelled.
    fn check(&mut self, _class_names: &[String]) -> Result<()> {
        Ok(())
    }
    fn write(
        &mut self,
        record: &anylabel::record::Record,
        out: &mut dyn Write,
    ) -> std::io::Result<()>;
}

struct AllRecords;

impl RecordWriter for AllRecords {
    fn write(
        &mut self,
        record: &anylabel::record::Record,
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
    fn write(&mut self, record: &anylabel::record::Record) -> std::io::Result<()> {
        self.writer.write(record, &mut self.out)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Labels `l.run.inputs` with `l.model`, handing each record to `writer`; reports, and
/// returns the exit code.
pub(super) fn label(l: Labelling, offline: bool, writer: &mut dyn RecordWriter) -> Result<u8> {
    let stop = stop_flag();
    if let Some(e) = json_misuse(l.json.as_deref(), l.output.as_deref()) {
        return Ok(usage_error(&e));
    }
    let output = Output::open(l.output.as_deref())?;
    // Found now, not after the run (and after -o, which makes its folder).
    if let Some(j) = l.json.as_deref().filter(|j| j.as_os_str() != "-") {
        anylabel::outfile::check_writable(j).context("--json")?;
    }
    let home = Home::from_env()?;
    let max_size = Config::load(&home)?.cache_max_size()?;

    // The model first: a missing model is reported before anything is installed.
    let found = anylabel::infer::find(&l.model.model, &home, offline)?;
    let cache = open_cache(&home, l.no_cache)?;
    let mut model = found.open(&l.model, &home, offline, cache.as_ref())?;
    writer.check(&model.info.class_names)?;
    let opts = InferOptions {
        conf: model.conf,
        iou: model.iou,
        agnostic: model.agnostic,
        classes: model.classes()?,
        ..l.run
    };
    let info = &model.info;
    if info.input_dims[0].is_some_and(|b| b != opts.batch) && opts.batch > 1 {
        tracing::warn!(
            "the model's batch size is fixed at {}; --batch {} is ignored",
            info.input_dims[0].unwrap_or(1),
            opts.batch
        );
    }
    tracing::debug!(
        "{}: {}, input {}×{}, conf {}, iou {}, batch {}",
        info.id,
        info.head.describe(),
        model.size[1],
        model.size[0],
        opts.conf,
        opts.iou,
        info.batch_size(opts.batch)
    );
    let mut cache_run = match cache {
        Some(c) => Some(CacheRun::new(c, info, model.size, &opts)?),
        None => None,
    };
    let mut slot = model.engine()?;
    let summary = run_into(
        &mut slot,
        &model,
        &opts,
        cache_run.as_mut(),
        stop,
        &output,
        writer,
    );
    let mut summary = summary?;
    summary.times.load += model.load_time;
    summary.model_loaded |= !model.load_time.is_zero();
    let request = &l.model.backend;
    let (chosen, skipped) = match &slot {
        EngineSlot::Loaded(e) => (Some(e.backend), e.failed.clone()),
        // Never loaded (every image from the cache): what the driver alone rules out.
        _ => (None, request.driver_skips()),
    };
    let (id, size) = (&model.info.id, model.size);
    report(
        &summary,
        id,
        size,
        model.info.batch_size(opts.batch),
        chosen,
    );
    let backend_json = backend::summary_json(request.wanted, request.device, chosen, &skipped);
    let json = |code| match &l.json {
        Some(path) => write_json_summary(path, &summary, id, size, code, backend_json.clone()),
        None => Ok(()),
    };
    if summary.interrupted {
        warn_interrupted(&summary, cache_run.as_ref(), &output);
        if let Err(e) = json(exit_codes::INTERRUPTED) {
            tracing::warn!("{e:#}");
        }
        return Ok(exit_codes::INTERRUPTED);
    }
    if let Output::File(out) = output {
        out.finish()?;
    }
    if let (Some(limit), Some(c)) = (max_size, cache_run.as_mut()) {
        prune(&mut c.cache, limit);
    }
    let code = if summary.failed > 0 || summary.scan_errors > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    };
    json(code)?;
    Ok(code)
}

/// The pipeline, writing to `output` through `writer`, with a progress bar.
fn run_into(
    slot: &mut EngineSlot,
    model: &anylabel::infer::Model,
    opts: &InferOptions,
    cache_run: Option<&mut CacheRun>,
    stop: &AtomicBool,
    output: &Output,
    writer: &mut dyn RecordWriter,
) -> Result<Summary> {
    let bar = progress_bar(&opts.inputs, opts.shard);
    let run = |sink: &mut dyn Sink| {
        pipeline::run(
            slot,
            &model.info,
            model.size,
            opts,
            cache_run,
            stop,
            sink,
            &bar,
        )
    };
    let summary = match output {
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
    summary
}

/// After Ctrl-C: what was written, and how to finish.
fn warn_interrupted(summary: &Summary, cache_run: Option<&CacheRun>, output: &Output) {
    let resume = match cache_run {
        Some(c) => format!(
            "every result computed so far is in the cache ({}): run the same command again to finish",
            c.cache.path().display()
        ),
        None => "the cache was off, so a new run starts from the beginning".to_string(),
    };
    let output_note = match output {
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
}

/// The cache's size limit, kept after a run. The records are written by now: a prune that
/// fails (say, no room for the one VACUUM an old cache needs) is said, not the run's
/// failure.
fn prune(cache: &mut Cache, limit: u64) {
    if cache.disk_bytes() <= limit {
        return;
    }
    match cache.prune(limit) {
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
