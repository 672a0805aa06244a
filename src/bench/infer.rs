//! The suites that run a model: `infer` (latency, throughput by batch size, where the
//! time goes) and `cache` (a run from an empty cache against the same run again).
//!
//! Both call what `anylabel infer` calls: [`pipeline::run`] with the engine loaded once,
//! writing records to a sink that discards them.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Result, bail};
use indicatif::ProgressBar;

use super::machine::RuntimeInfo;
use super::{Better, Options, Out, Suite, median, median_ms, percentile};
use crate::cache::Cache;
use crate::decode::{DecodeOptions, decode_file};
use crate::engine::ModelInfo;
use crate::home::Home;
use crate::letterbox::{Letterbox, Preprocessor};
use crate::pipeline::{self, CacheRun, EngineSlot, InferOptions, Preprocess, Sink, Summary};
use crate::record::Record;
use crate::runtime;
use crate::scan::Input;

struct Discard;

impl Sink for Discard {
    fn write(&mut self, _: &Record) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps a hash of each record (its JSON line) instead of the record: runs after the first
/// reuse what the first left (the GPU letterboxes, page-locked buffers, nvJPEG), and their
/// records must be the first's.
#[derive(Default)]
struct Digests(Vec<u64>);

impl Sink for Digests {
    fn write(&mut self, r: &Record) -> std::io::Result<()> {
        let line = serde_json::to_vec(r)?;
        self.0.push(xxhash_rust::xxh3::xxh3_64(&line));
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How many records of `run` differ from `first`'s (a missing or extra one counts).
fn differing(first: &[u64], run: &[u64]) -> usize {
    let same = first.iter().zip(run).filter(|(a, b)| a == b).count();
    first.len().max(run.len()) - same
}

/// A model loaded once for a suite.
struct Loaded {
    slot: EngineSlot<'static>,
    info: ModelInfo,
    size: [u32; 2],
    /// `conf`, `iou`, `agnostic` and the classes kept, as `infer` takes them for this
    /// model (the rest at `infer`'s defaults).
    settled: InferOptions,
    runtime: RuntimeInfo,
}

/// Opens the model as `infer` does ([`crate::infer`]), loaded now (the suites time it).
fn load(opts: &Options) -> Result<Loaded> {
    let home = Home::from_env()?;
    let model_opts = crate::infer::Options {
        imgsz: opts.imgsz.map(|s| [s, s]),
        batch: opts.batches.iter().copied().max().unwrap_or(1),
        threads: opts.threads,
        precision: opts.precision,
        calib: opts.calib.clone(),
        ..crate::infer::Options::new(&opts.model, opts.backend.clone())
    };
    let mut model = crate::infer::find(&opts.model, &home, opts.offline)?.open(
        &model_opts,
        &home,
        opts.offline,
        None,
    )?;
    let mut slot = model.engine()?;
    let backend = Some(slot.get()?.backend.name().to_string());
    let loaded = runtime::loaded().ok_or_else(|| anyhow::anyhow!("ONNX Runtime is not loaded"))?;
    let version = loaded
        .runtime
        .version
        .clone()
        .unwrap_or_else(|| "unknown".into());
    let providers = runtime::available_providers()?;
    Ok(Loaded {
        slot,
        info: model.info.clone(),
        size: model.size,
        settled: InferOptions {
            conf: model.conf,
            iou: model.iou,
            agnostic: model.agnostic,
            classes: model.classes()?,
            ..InferOptions::default()
        },
        runtime: RuntimeInfo {
            version,
            providers,
            backend,
        },
    })
}

fn infer_options(m: &Loaded, batch: usize, opts: &super::Options) -> InferOptions {
    InferOptions {
        inputs: vec![Input::Dir(opts.images.clone())].into(),
        batch,
        preprocess: opts.preprocess,
        gpu_decode: opts.gpu_decode,
        workers: opts.workers,
        ..m.settled.clone()
    }
}

/// One run, its records discarded (the `cache` suite's, which times the cache alone).
fn run_once(m: &mut Loaded, opts: &InferOptions, cache: Option<&mut CacheRun>) -> Result<Summary> {
    run_into(m, opts, cache, &mut Discard)
}

/// One run, with a hash of each record in order.
fn run_digested(m: &mut Loaded, opts: &InferOptions) -> Result<(Summary, Vec<u64>)> {
    let mut digests = Digests::default();
    run_into(m, opts, None, &mut digests).map(|s| (s, digests.0))
}

fn run_into(
    m: &mut Loaded,
    opts: &InferOptions,
    cache: Option<&mut CacheRun>,
    sink: &mut dyn Sink,
) -> Result<Summary> {
    pipeline::run(
        &mut m.slot,
        &m.info,
        m.size,
        opts,
        cache,
        &AtomicBool::new(false),
        sink,
        &ProgressBar::hidden(),
    )
}

fn check_images(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!(
            "{}: no such folder (--images names the images to measure on)",
            dir.display()
        );
    }
    Ok(())
}

/// Latency, throughput by batch size, and the share of each pipeline stage.
pub(super) fn infer(opts: &Options, out: &mut Out) -> Result<RuntimeInfo> {
    check_images(&opts.images)?;
    let mut m = load(opts)?;
    let what = describe(&m, opts);
    let (img, tensor) = first_image(&m, opts)?;
    latency(&mut m, &img, &tensor, &what, opts, out)?;

    // Throughput end to end, by batch size.
    let batches = if !opts.batches.is_empty() {
        opts.batches.clone()
    } else if opts.quick {
        vec![1, 2, 4]
    } else {
        vec![1, 2, 4, 8, 16]
    };
    let mut stages = None;
    for b in batches {
        let fixed = m.info.batch_size(b);
        if fixed != b {
            out.note(
                Suite::Infer,
                format!(
                    "batch {b}: not available here: the model's batch size is fixed at {fixed}"
                ),
            );
            continue;
        }
        let (end_to_end, last) = end_to_end(&mut m, b, &what, opts, out)?;
        // The last round's at the first batch size: the first round warms up this shape.
        stages.get_or_insert(last);
        let alone = inference_only(&mut m, b, &img, &tensor, &what, opts, out)?;
        out.figure(
            Suite::Infer,
            format!("end to end / inference only, batch {b}"),
            100.0 * end_to_end / alone,
            "%",
            Better::Higher,
            format!("throughput, batch {b} as a share of inference only, batch {b}"),
        );
    }
    if let Some(s) = stages {
        stage_shares(&s, out);
    }
    Ok(m.runtime)
}

/// The model, backend and threads, for each figure's detail.
fn describe(m: &Loaded, opts: &Options) -> String {
    let [h, w] = m.size;
    format!(
        "{} at {w}×{h}, ONNX Runtime {} on the {} backend, {}, {}",
        m.info.id,
        m.runtime.version,
        m.runtime.backend.as_deref().unwrap_or("cpu"),
        match opts.threads {
            0 => "its default intra-op threads".to_string(),
            n => format!("{n} intra-op thread{}", if n == 1 { "" } else { "s" }),
        },
        match opts.workers {
            0 => "one decode thread per CPU".to_string(),
            n => format!("{n} decode thread{}", if n == 1 { "" } else { "s" }),
        }
    )
}

/// The first image of `--images` that decodes, and its letterboxed tensor (one image,
/// repeated to the model's fixed batch size where it has one).
fn first_image(m: &Loaded, opts: &Options) -> Result<(crate::decode::RgbImage, Vec<f32>)> {
    let [h, w] = m.size;
    let first = crate::scan::scan(vec![Input::Dir(opts.images.clone())])
        .flatten()
        .find_map(|item| decode_file(&item.path, &DecodeOptions::default()).ok());
    let Some(img) = first else {
        bail!("{}: no image decodes", opts.images.display());
    };
    let n = m.info.batch_size(1);
    let plane = 3 * h as usize * w as usize;
    let mut tensor = vec![0f32; n * plane];
    let lb = Letterbox::new(img.width, img.height, w, h);
    Preprocessor::new().run(&img.pixels, &lb, &mut tensor[..plane])?;
    Ok((img, tensor))
}

/// Latency: one image, letterboxed once, run again and again after a warm-up.
fn latency(
    m: &mut Loaded,
    img: &crate::decode::RgbImage,
    tensor: &[f32],
    what: &str,
    opts: &Options,
    out: &mut Out,
) -> Result<()> {
    let [h, w] = m.size;
    let n = m.info.batch_size(1);
    let shape = [n, 3, h as usize, w as usize];
    let mut buf = Vec::new();
    let engine = m.slot.get()?;
    for _ in 0..3 {
        engine.run(tensor, shape, &mut buf)?;
    }
    let repeat = if opts.quick { 10 } else { 50 };
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let mut r = Ok([0; 3]);
        times.push(median_ms(1, || r = engine.run(tensor, shape, &mut buf)));
        r?;
    }
    times.sort_by(f64::total_cmp);
    let detail = format!(
        "one {}×{} image, letterboxed once; the session's run alone, batch {n}; {repeat} runs \
         after 3 warm-up runs; {what}",
        img.width, img.height
    );
    for (stat, v) in [
        ("min", times[0]),
        ("median", percentile(&times, 50.0)),
        ("p95", percentile(&times, 95.0)),
        ("max", times[times.len() - 1]),
    ] {
        out.figure(
            Suite::Infer,
            format!("latency {stat}"),
            v,
            "ms",
            Better::Lower,
            detail.clone(),
        );
    }
    Ok(())
}

/// Throughput end to end at batch `b` (images/s, the median of the rounds), with the last
/// round's summary; the model's idle share as a figure too. A round whose records are
/// not the first's is noted.
fn end_to_end(
    m: &mut Loaded,
    b: usize,
    what: &str,
    opts: &Options,
    out: &mut Out,
) -> Result<(f64, Summary)> {
    let io = infer_options(m, b, opts);
    let rounds = if opts.quick { 1 } else { 3 };
    let mut rates = Vec::new();
    let mut idle = Vec::new();
    let mut first: Option<Vec<u64>> = None;
    let mut last = None;
    for round in 1..=rounds {
        let (s, digests) = run_digested(m, &io)?;
        match &first {
            None => first = Some(digests),
            Some(f) => {
                let n = differing(f, &digests);
                if n > 0 {
                    out.note(
                        Suite::Infer,
                        format!(
                            "batch {b}: run {round} gave {n} of {} records unlike run 1's",
                            f.len()
                        ),
                    );
                }
            }
        }
        rates.push(s.images as f64 / s.elapsed.as_secs_f64());
        idle.push(100.0 * s.times.starved.as_secs_f64() / s.elapsed.as_secs_f64());
        last = Some(s);
    }
    let s = last.expect("one round at least");
    let end_to_end = median(&mut rates);
    let runs = if rounds == 1 { "" } else { "s" };
    out.figure(
        Suite::Infer,
        format!("model waiting for batches, batch {b}"),
        median(&mut idle),
        "%",
        Better::Lower,
        format!(
            "the share of each run the model stood idle between batches (the pipeline's own \
             timer, from the first batch on); median of {rounds} run{runs}"
        ),
    );
    out.figure(
        Suite::Infer,
        format!("throughput, batch {b}"),
        end_to_end,
        "images/s",
        Better::Higher,
        format!(
            "{} images from {}, end to end (walk, decode, letterbox, inference, NMS; \
             records discarded; letterbox on the {}{}{}); median of {rounds} run{runs}; {what}",
            s.images,
            opts.images.display(),
            match opts.preprocess {
                Preprocess::Cpu => "CPU",
                Preprocess::Gpu { .. } => "GPU where it starts",
            },
            if opts.gpu_decode {
                format!(
                    "; {} of the images decoded by nvJPEG, {} of them by \
                     the GPU's JPEG engine",
                    s.gpu_decoded, s.gpu_engine_decoded
                )
            } else {
                String::new()
            },
            if s.gpu_uploaded > 0 {
                format!(
                    "; {} of the images uploaded by their decode threads",
                    s.gpu_uploaded
                )
            } else {
                String::new()
            },
        ),
    );
    Ok((end_to_end, s))
}

/// The model alone at batch `b`: the same session on a batch letterboxed once, fed the
/// way `infer` feeds it (and, on a GPU, from page-locked host memory too). The rate of
/// the first feed, `infer`'s.
fn inference_only(
    m: &mut Loaded,
    b: usize,
    img: &crate::decode::RgbImage,
    tensor: &[f32],
    what: &str,
    opts: &Options,
    out: &mut Out,
) -> Result<f64> {
    let [h, w] = m.size;
    let plane = 3 * h as usize * w as usize;
    let batch_tensor: Vec<f32> = tensor[..plane].repeat(b);
    let shape = [b, 3, h as usize, w as usize];
    let engine = m.slot.get()?;
    let runs = if opts.quick { 2 } else { (32 / b).max(4) };
    let feeds = feeds(engine.backend, opts.preprocess);
    let mut alone = None;
    for &feed in feeds {
        let (rate, from) = model_alone(engine, feed, &batch_tensor, img, shape, runs)?;
        let row = match feed {
            Feed::HostPinned if feeds.len() > 1 => {
                format!("inference only, batch {b}, from page-locked host memory")
            }
            _ => format!("inference only, batch {b}"),
        };
        out.figure(
            Suite::Infer,
            row,
            rate,
            "images/s",
            Better::Higher,
            format!(
                "the session's run alone (input {from}, output back in host memory), batch {b}, \
                 median of {runs} runs after one warm-up; {what}"
            ),
        );
        alone.get_or_insert(rate);
    }
    Ok(alone.expect("one feed at least"))
}

/// Where the time goes, from a run's own stage timers.
fn stage_shares(s: &Summary, out: &mut Out) {
    let t = &s.times;
    let parts: [(&str, Duration, Better); 6] = [
        ("decode", t.decode, Better::Lower),
        ("letterbox", t.letterbox, Better::Lower),
        ("inference", t.inference, Better::Higher),
        ("postprocess", t.postprocess, Better::Lower),
        ("write", t.write, Better::Lower),
        ("lookup", t.lookup, Better::Lower),
    ];
    let total: f64 = parts.iter().map(|p| p.1.as_secs_f64()).sum();
    if total > 0.0 {
        for (name, d, better) in parts {
            out.figure(
                Suite::Infer,
                format!("stage share: {name}"),
                100.0 * d.as_secs_f64() / total,
                "%",
                better,
                "share of the time the stages took (summed over threads: decoding and \
                 letterboxing run on worker threads beside inference), last run at the \
                 first batch size; the pipeline's own stage timers",
            );
        }
    }
}

/// How a batch reaches the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// Host memory, as the CPU backend reads it.
    Host,
    /// Page-locked host memory, which `infer` puts batches together in for a GPU backend.
    HostPinned,
    /// Letterboxed on the GPU (`--preprocess gpu`): the batch is already there.
    Gpu,
}

/// The feeds `bench infer` times the model alone with: the first is how `infer` feeds it.
fn feeds(backend: crate::backend::Kind, preprocess: Preprocess) -> &'static [Feed] {
    match (backend, preprocess) {
        (crate::backend::Kind::Cpu, _) => &[Feed::Host],
        (_, Preprocess::Cpu) => &[Feed::HostPinned],
        (_, Preprocess::Gpu { .. }) => &[Feed::Gpu, Feed::HostPinned],
    }
}

/// The model's own rate (images/s) on `batch` (`shape`), fed through `feed`, and where
/// its input was. On a GPU, the output goes straight into page-locked memory after one
/// run that learns its shape, as in `infer`. A feed that cannot start (no GPU for our
/// kernels) falls back to host memory and says so.
fn model_alone(
    engine: &mut crate::engine::Engine,
    feed: Feed,
    batch: &[f32],
    img: &crate::decode::RgbImage,
    shape: [usize; 4],
    runs: usize,
) -> Result<(f64, String)> {
    use crate::engine::OutputTo;
    let time = |run: &mut dyn FnMut() -> Result<[usize; 3]>| -> Result<f64> {
        run()?;
        let mut per_run = Vec::with_capacity(runs);
        for _ in 0..runs {
            let mut r = Ok([0; 3]);
            per_run.push(median_ms(1, || r = run()));
            r?;
        }
        Ok(1e3 * shape[0] as f64 / median(&mut per_run))
    };
    let mut buf = Vec::new();
    // Host memory for the CPU backend, or where no GPU opens for our buffers (and why).
    let gpu = match feed {
        Feed::Host => Err(None),
        _ => crate::gpu::Gpu::new(engine.device as usize).map_err(Some),
    };
    let gpu = match gpu {
        Ok(gpu) => gpu,
        Err(why) => {
            let rate = time(&mut || engine.run(batch, shape, &mut buf))?;
            let from = why.map_or("in host memory".to_string(), |e| {
                format!("in host memory: {e:#}")
            });
            return Ok((rate, from));
        }
    };
    if feed == Feed::Gpu {
        let device = engine.device;
        let mut letterbox = crate::gpu::letterbox::GpuLetterbox::new(
            &gpu,
            shape[0],
            [shape[2] as u32, shape[3] as u32],
        )?;
        let imgs = vec![crate::gpu::letterbox::Pixels::Host(img); shape[0]];
        let (tensor, _) = letterbox.run(&imgs)?;
        tensor.stream().synchronize()?;
        let ptr = tensor.device_ptr();
        // SAFETY (both runs): the letterbox's tensor holds the batch on `device`,
        // synchronised, and is not written again while the runs read it.
        let dims = unsafe { engine.run_on_gpu(ptr, device, shape, OutputTo::Copy(&mut buf)) }?;
        let mut out = gpu.pinned_f32(dims.iter().product())?;
        let dst = out.as_mut_slice()?;
        let rate = time(&mut || unsafe {
            engine.run_on_gpu(ptr, device, shape, OutputTo::Into(&mut *dst, dims))
        })?;
        return Ok((rate, "letterboxed on the GPU, read there".into()));
    }
    let mut pinned = gpu.pinned_f32(batch.len())?;
    pinned.as_mut_slice()?.copy_from_slice(batch);
    let input = pinned.as_slice()?;
    let dims = engine.run(input, shape, &mut buf)?;
    let mut out = gpu.pinned_f32(dims.iter().product())?;
    let dst = out.as_mut_slice()?;
    let rate = time(&mut || engine.run_into(input, shape, &mut *dst, dims))?;
    Ok((rate, "in page-locked host memory".into()))
}

/// The same run from an empty cache, then again from the cache it filled.
pub(super) fn cache(opts: &Options, out: &mut Out) -> Result<RuntimeInfo> {
    check_images(&opts.images)?;
    let mut m = load(opts)?;
    let io = infer_options(&m, 1, opts);
    let rounds = if opts.quick { 1 } else { 3 };
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    let mut images = 0;
    let mut hits = 0;
    for _ in 0..rounds {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("cache.db");
        let mut run = CacheRun::new(Cache::open(&db)?, &m.info, m.size, &io)?;
        let s = run_once(&mut m, &io, Some(&mut run))?;
        cold.push(s.elapsed.as_secs_f64() * 1e3);
        images = s.images;
        drop(run);
        let mut run = CacheRun::new(Cache::open(&db)?, &m.info, m.size, &io)?;
        let s = run_once(&mut m, &io, Some(&mut run))?;
        warm.push(s.elapsed.as_secs_f64() * 1e3);
        hits = s.cache_hits;
    }
    let (c, w) = (median(&mut cold), median(&mut warm));
    let detail = format!(
        "{images} images from {}, {} at {}×{}, batch 1, a new temporary cache each round \
         ({hits} hits on the warm run); median of {rounds} round{}",
        opts.images.display(),
        m.info.id,
        m.size[1],
        m.size[0],
        if rounds == 1 { "" } else { "s" }
    );
    out.figure(
        Suite::Cache,
        "cold (empty cache)",
        c,
        "ms",
        Better::Lower,
        detail.clone(),
    );
    out.figure(
        Suite::Cache,
        "warm (same run again)",
        w,
        "ms",
        Better::Lower,
        detail.clone(),
    );
    out.figure(
        Suite::Cache,
        "cold / warm",
        c / w,
        "×",
        Better::Higher,
        detail,
    );
    Ok(m.runtime)
}

#[cfg(test)]
mod tests {
    use super::differing;

    #[test]
    fn records_that_differ_are_counted_missing_and_extra_ones_too() {
        assert_eq!(differing(&[1, 2, 3], &[1, 2, 3]), 0);
        assert_eq!(differing(&[1, 2, 3], &[1, 9, 3]), 1);
        assert_eq!(differing(&[1, 2, 3], &[1, 2]), 1);
        assert_eq!(differing(&[1, 2], &[1, 2, 3, 4]), 2);
        assert_eq!(differing(&[], &[]), 0);
    }
}
