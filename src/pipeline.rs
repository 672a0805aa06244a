//! `infer`: the streaming pipeline from the directory walk to records.
//!
//! ```text
//! scan ──> cache lookup ──> decode + letterbox ──> batch ──> ONNX Runtime ──> head + NMS ──> records
//! (feeder   (decode threads: one task per image,  (batcher)   (executor)   (the calling thread:
//!  thread)   at most `prefetch` in flight)                                  cache and records)
//! ```
//!
//! The feeder walks the inputs and hands each image to a decode thread, queueing the
//! thread's one-shot answer in a bounded channel, in scan order. A decode thread first
//! asks the cache: an unchanged file is known by its `(path, size, mtime)`, and when its
//! content already has a result for this model and these parameters, that is the answer,
//! with no decoding and no inference. Otherwise it decodes and letterboxes the image (or,
//! with [`Preprocess::Gpu`], only decodes it). The batcher takes the answers in scan
//! order, gathers a window of them around one batch and puts the batch together (or
//! queues its letterbox on the GPU) in one of two buffers; the executor, a thread the batcher
//! starts with the model, runs each batch while the next is put together, gives the
//! buffer back, and hands the window and the output to the calling thread through a
//! channel of one. On a GPU, host batches and outputs are page-locked, and ONNX Runtime
//! writes each output straight into one once its shape is known. The calling thread
//! post-processes the window's images in parallel, writes the cache and the records, in
//! scan order, with no reordering buffer, and the bounds on the channels and the buffers
//! are the bound on memory. A run whose images are all cached never loads the model.
//!
//! Fresh detections are computed down to the cache's floor ([`cache::FLOOR`]), stored, and
//! then filtered to `--conf`, `--max-det` and `--classes` by the same function
//! ([`cache::answer`]) that answers from the cache, so a cached answer is the fresh one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use crossbeam_channel::{Receiver, Sender, bounded};
use cudarc::driver::PinnedHostSlice;
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::cache::{self, Ask, Batch, Cache, Content, FileStamp, ImageFacts, Stored, with_reader};
use crate::decode::{DecodeErrorKind, DecodeOptions, RgbImage, decode_bytes, read_file};
use crate::detections::Detections;
use crate::engine::{Engine, ModelInfo, OutputTo};
use crate::gpu::jpeg::{DeviceImage, GpuJpeg};
use crate::gpu::jpeg_hw::{HwJpeg, Reply as EngineReply};
use crate::gpu::letterbox::{GpuLetterbox, Pixels};
use crate::gpu::upload::{UPLOAD_VAR, UploadBy, Uploader};
use crate::head::{DecodeParams, Decoder};
use crate::letterbox::{Letterbox, Preprocessor};
use crate::nms::{Nms, NmsParams};
use crate::record::Record;
use crate::scan::{Item, ScanError, Sources, scan};
use crate::shard::Shard;

/// Everything `infer` needs besides the model and the cache.
#[derive(Debug, Clone)]
pub struct InferOptions {
    pub inputs: Sources,
    pub conf: f32,
    pub iou: f32,
    pub max_det: usize,
    /// Keep only these class ids.
    pub classes: Option<Vec<u32>>,
    pub agnostic: bool,
    pub batch: usize,
    /// Images decoded ahead of inference; `None` keeps two batches (and every worker) busy.
    pub prefetch: Option<usize>,
    /// Decode threads; 0 uses one per CPU.
    pub workers: usize,
    pub decode: DecodeOptions,
    /// Decode large JPEGs at full size instead of reduced (`--exact-decode`); the
    /// letterbox size is filled into `decode.reduce_for` otherwise.
    pub exact_decode: bool,
    /// Label only this shard of the scanned images (`--shard K/N`).
    pub shard: Option<Shard>,
    /// Where images are letterboxed (`--preprocess`).
    pub preprocess: Preprocess,
    /// Decode the JPEGs nvJPEG takes as they are on the GPU of `preprocess`, which must
    /// be [`Preprocess::Gpu`] (`--decode gpu`); the rest on the CPU.
    pub gpu_decode: bool,
}

impl Default for InferOptions {
    /// `infer`'s defaults, with no inputs.
    fn default() -> InferOptions {
        InferOptions {
            inputs: Sources::default(),
            conf: 0.25,
            iou: 0.45,
            max_det: 300,
            classes: None,
            agnostic: false,
            batch: 1,
            prefetch: None,
            workers: 0,
            decode: DecodeOptions::default(),
            exact_decode: false,
            shard: None,
            preprocess: Preprocess::Cpu,
            gpu_decode: false,
        }
    }
}

/// Where images are letterboxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preprocess {
    /// On the decode threads, into host tensors.
    #[default]
    Cpu,
    /// On GPU `device` with our kernel ([`crate::gpu::letterbox`]), a batch at a time,
    /// straight into the tensor ONNX Runtime reads (I/O binding): the decode threads only
    /// decode. Where the kernel cannot start, or the model runs on the CPU, `required`
    /// makes that the run's error; otherwise the run says why once and letterboxes on the
    /// CPU instead.
    Gpu { device: u32, required: bool },
}

/// The cache as one run uses it: the open cache and the key of this run's parameters.
pub struct CacheRun {
    pub cache: Cache,
    pub key: Content,
}

impl CacheRun {
    /// The key of everything that changes a result: the model and how its output is read
    /// (a model config may name its classes and type), the input size, the letterbox and
    /// precision, NMS's IoU and agnostic flag (and, for agnostic NMS, the
    /// class filter, since there classes interact). Registers it in the cache.
    pub fn new(
        mut cache: Cache,
        info: &ModelInfo,
        size: [u32; 2],
        opts: &InferOptions,
    ) -> Result<CacheRun> {
        let classes = match (&opts.classes, opts.agnostic) {
            (Some(c), true) => {
                let mut c = c.clone();
                c.sort_unstable();
                format!("agnostic NMS over classes {c:?}")
            }
            (None, true) => "agnostic NMS".to_string(),
            (_, false) => "class-aware NMS".to_string(),
        };
        let decode = if opts.exact_decode {
            "full-size JPEGs"
        } else {
            "large JPEGs reduced (1.5x rule)"
        };
        // nvJPEG's pixels are not libjpeg-turbo's: its results are kept apart.
        let decode = if opts.gpu_decode {
            format!("{decode}; JPEGs by nvJPEG")
        } else {
            decode.to_string()
        };
        // Only a head a model config chose is named, so that the results of the model as it
        // is keep the key they always had.
        let head = if info.head_from_config {
            format!("; {}", info.head.key())
        } else {
            String::new()
        };
        let description = format!(
            "pipeline rev {}; model {}{head}; input {}x{}; letterbox ultralytics; {decode}; precision fp32; iou {:?}; {classes}",
            cache::PIPELINE_REVISION,
            info.sha256,
            size[1],
            size[0],
            opts.iou
        );
        let key = cache::content_hash(description.as_bytes());
        cache.set_params(key, &info.sha256, &description)?;
        Ok(CacheRun { cache, key })
    }
}

/// The engine, loaded now or on first need (a run answered entirely from the cache
/// never loads it).
pub enum EngineSlot<'a> {
    Loaded(Engine),
    Lazy(Box<dyn FnOnce() -> Result<Engine> + Send + 'a>),
    Unavailable,
}

impl EngineSlot<'_> {
    /// The engine, loading it first if needed.
    pub fn get(&mut self) -> Result<&mut Engine> {
        if let EngineSlot::Lazy(_) = self {
            let EngineSlot::Lazy(load) = std::mem::replace(self, EngineSlot::Unavailable) else {
                unreachable!()
            };
            *self = EngineSlot::Loaded(load()?);
        }
        match self {
            EngineSlot::Loaded(e) => Ok(e),
            _ => Err(anyhow!("the model could not be loaded")),
        }
    }

    pub fn is_loaded(&self) -> bool {
        matches!(self, EngineSlot::Loaded(_))
    }
}

/// Where records go. `Err` with `ErrorKind::BrokenPipe` ends the run quietly.
pub trait Sink {
    fn write(&mut self, record: &Record) -> std::io::Result<()>;
    /// Called after each batch, so a reader downstream sees records as they are made.
    fn flush(&mut self) -> std::io::Result<()>;
}

/// Writes one JSON record a line.
pub struct JsonLines<W: std::io::Write>(pub W);

impl<W: std::io::Write> Sink for JsonLines<W> {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.0, record)?;
        self.0.write_all(b"\n")
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Time spent in each stage. Lookup, decode and letterbox are summed over the decode threads.
#[derive(Debug, Default, Clone)]
pub struct StageTimes {
    /// Hashing and cache reads.
    pub lookup: Duration,
    pub decode: Duration,
    pub letterbox: Duration,
    /// Loading the model, when a run needed it.
    pub load: Duration,
    pub inference: Duration,
    pub postprocess: Duration,
    /// Cache writes.
    pub store: Duration,
    pub write: Duration,
    /// Time the batching thread waited for decoded images.
    pub waiting: Duration,
    /// Time the model waited for its next batch, from the first batch on: what the
    /// device running it stood idle for.
    pub starved: Duration,
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub images: usize,
    pub failed: usize,
    pub detections: usize,
    /// Images answered from the cache (failures known from before included).
    pub cache_hits: usize,
    /// Whether a cache was in use.
    pub cached: bool,
    /// Folders or list entries that could not be walked or read.
    pub scan_errors: usize,
    pub batches: usize,
    pub elapsed: Duration,
    pub times: StageTimes,
    pub workers: usize,
    /// The output was closed early (a broken pipe): the run stopped there.
    pub stopped_early: bool,
    /// Stopped by Ctrl-C at a batch boundary.
    pub interrupted: bool,
    pub model_loaded: bool,
    /// Where the last batch was letterboxed (`"gpu"` or `"cpu"`); `None` when no batch ran.
    pub letterboxed_on: Option<&'static str>,
    /// Images decoded by nvJPEG (`--decode gpu`).
    pub gpu_decoded: usize,
    /// Images a decode thread sent to the GPU itself (`ANYLABEL_GPU_UPLOAD=decode`).
    pub gpu_uploaded: usize,
    /// Of `gpu_decoded`, the JPEGs the GPU's JPEG engine decoded.
    pub gpu_engine_decoded: usize,
}

/// What a decode thread found out about one image.
enum Outcome {
    /// Answered by the cache: no decoding, no inference.
    Cached {
        content: Content,
        width: u32,
        height: u32,
        detections: Detections,
        /// Whether to mark the result used now ([`cache::mark_again`]).
        mark: bool,
    },
    /// Known from an earlier run not to decode.
    KnownBad { reason: String },
    /// Decoded (and letterboxed, for CPU preprocessing): needs inference.
    Image {
        input: Input,
        lb: Letterbox,
        content: Option<Content>,
    },
    /// Could not be decoded; `content` is set when the failure belongs to the content and
    /// can be remembered.
    Failed {
        reason: String,
        content: Option<Content>,
    },
}

/// What the model reads for one image.
enum Input {
    /// The letterboxed tensor, `3·h·w` values (CPU preprocessing).
    Tensor(Vec<f32>),
    /// The decoded image, letterboxed with the rest of its batch on the GPU.
    Decoded(RgbImage),
    /// The image in device memory, letterboxed there with its batch: decoded by nvJPEG,
    /// or decoded on the CPU and uploaded by its decode thread.
    OnGpu(DeviceImage),
    /// A JPEG handed to the GPU's JPEG engine: the batcher waits for its answer (and turns
    /// it into [`Input::OnGpu`], or decodes the JPEG on the CPU where the engine refused it).
    Engine(Receiver<EngineReply>),
}

struct Prepared {
    outcome: Outcome,
    /// A file the `(path, size, mtime)` index did not know.
    new_file: Option<(FileStamp, Content)>,
    lookup: Duration,
    decode: Duration,
    letterbox: Duration,
    /// Decoded by nvJPEG.
    on_gpu: bool,
    /// Uploaded to the GPU by its decode thread.
    uploaded: bool,
    /// Decoded by the GPU's JPEG engine (`on_gpu` too).
    by_engine: bool,
}

impl Prepared {
    /// An image that failed for `reason` (not remembered in the cache), with no time spent.
    fn failed(reason: String) -> Prepared {
        Prepared {
            outcome: Outcome::Failed {
                reason,
                content: None,
            },
            new_file: None,
            lookup: Duration::ZERO,
            decode: Duration::ZERO,
            letterbox: Duration::ZERO,
            on_gpu: false,
            uploaded: false,
            by_engine: false,
        }
    }
}

enum Pending {
    Image {
        item: Item,
        answer: Receiver<Prepared>,
    },
    ScanError(ScanError),
}

/// What every decode task needs.
struct Context {
    decode: DecodeOptions,
    /// `[width, height]` of the model input.
    size: [u32; 2],
    cache: Option<(PathBuf, Content)>,
    ask: Ask,
    /// Decode only: the letterbox runs on the GPU, a batch at a time.
    decode_only: bool,
    /// nvJPEG, for the JPEGs it takes as they are (`--decode gpu`).
    jpeg: Option<Arc<GpuJpeg>>,
    /// The GPU's JPEG engine, where it has one (`--decode gpu`), for the JPEGs it takes.
    jpeg_engine: Option<Arc<HwJpeg>>,
    /// Where the run asks the decode threads to upload what they decode.
    uploads: Option<Arc<Uploads>>,
}

/// The decode threads' uploads (`ANYLABEL_GPU_UPLOAD=decode`): the uploader, from when the
/// batcher has opened the GPU letterbox until it gives the GPU letterbox up. Images decoded
/// before or after are sent up by the batcher, as they are without the variable.
#[derive(Default)]
struct Uploads {
    to: std::sync::OnceLock<Uploader>,
    off: AtomicBool,
}

impl Uploads {
    fn ready(&self) -> Option<&Uploader> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        self.to.get()
    }
}

thread_local! {
    static PREPROCESSOR: std::cell::RefCell<Preprocessor> = std::cell::RefCell::new(Preprocessor::new());
}

/// The answer `ask` gets for the detections of one run (`allowed` applies after NMS when
/// NMS is class-aware; for agnostic NMS the filter is applied before NMS instead).
fn ask_for(opts: &InferOptions, class_count: usize) -> Ask {
    Ask {
        conf: opts.conf,
        max_det: opts.max_det,
        allowed: if opts.agnostic {
            None
        } else {
            allowed_classes(opts.classes.as_deref(), class_count)
        },
    }
}

fn allowed_classes(ids: Option<&[u32]>, class_count: usize) -> Option<Vec<bool>> {
    ids.map(|ids| {
        let n = ids
            .iter()
            .map(|&i| i as usize + 1)
            .max()
            .unwrap_or(0)
            .max(class_count);
        let mut allowed = vec![false; n];
        for &i in ids {
            allowed[i as usize] = true;
        }
        allowed
    })
}

/// Runs inference over every input and sends the records to `sink`, in scan order.
/// `stop` is checked at each batch boundary (Ctrl-C).
#[allow(clippy::too_many_arguments)]
pub fn run(
    engine: &mut EngineSlot,
    info: &ModelInfo,
    size: [u32; 2],
    opts: &InferOptions,
    cache: Option<&mut CacheRun>,
    stop: &AtomicBool,
    sink: &mut dyn Sink,
    bar: &ProgressBar,
) -> Result<Summary> {
    let started = Instant::now();
    let batch = info.batch_size(opts.batch);
    let workers = if opts.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.workers
    };
    let prefetch = opts.prefetch.unwrap_or((2 * batch).max(2 * workers)).max(1);
    tracing::trace!("run: {workers} decode threads, {prefetch} images ahead, batch {batch}");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("decode-{i}"))
        .build()
        .map_err(|e| anyhow!("cannot start the decode threads: {e}"))?;

    let [h, w] = size;
    let decode_only = matches!(opts.preprocess, Preprocess::Gpu { .. });
    let upload_by = crate::gpu::upload::upload_by(std::env::var(UPLOAD_VAR).ok().as_deref())?;
    let uploads =
        (decode_only && upload_by == UploadBy::DecodeThreads).then(|| Arc::new(Uploads::default()));
    let (jpeg, jpeg_engine) = open_jpeg(opts, batch)?;
    let decode = DecodeOptions {
        reduce_for: (!opts.exact_decode).then_some([w, h]),
        ..opts.decode
    };
    let ctx = Arc::new(Context {
        decode,
        size: [w, h],
        cache: cache
            .as_ref()
            .map(|c| (c.cache.path().to_path_buf(), c.key)),
        ask: ask_for(opts, info.class_names.len()),
        decode_only,
        jpeg,
        jpeg_engine,
        uploads: uploads.clone(),
    });
    let (recycle_tx, recycle_rx) = bounded::<Vec<f32>>(prefetch + batch + 1);
    let feeder_stop = Arc::new(AtomicBool::new(false));
    let (pending_tx, pending_rx) = bounded::<Pending>(prefetch);

    let mut summary = Summary {
        workers,
        cached: cache.is_some(),
        ..Summary::default()
    };
    std::thread::scope(|s| -> Result<()> {
        let (inputs, shard) = (opts.inputs.clone(), opts.shard);
        let (pool, fs, c) = (&pool, Arc::clone(&feeder_stop), Arc::clone(&ctx));
        // Named threads (as `s.spawn`, a thread that cannot start panics): `-vv` says which
        // thread wrote each line.
        std::thread::Builder::new()
            .name("feeder".into())
            .spawn_scoped(s, move || {
                feed(inputs, shard, pool, pending_tx, recycle_rx, fs, c)
            })
            .expect("cannot start the feeding thread");
        // The batcher gathers and puts batches together, the executor (a thread the batcher
        // starts) runs the model on one while the next is put together, and this thread
        // post-processes and writes the batch before, so that the model waits for none of it.
        let (ran_tx, ran_rx) = bounded::<Ran>(1);
        let (spare_tx, spare_rx) = bounded::<Output>(3);
        let spare_left = spare_rx.clone();
        let mut batcher = Batcher {
            info,
            batch,
            hw: [h as usize, w as usize],
            gpu: match opts.preprocess {
                Preprocess::Cpu => GpuStage::Off,
                Preprocess::Gpu { device, required } => GpuStage::Wanted { device, required },
            },
            stop,
            times: StageTimes::default(),
            scan_errors: 0,
            gpu_decoded: 0,
            gpu_uploaded: 0,
            gpu_engine_decoded: 0,
            uploads,
            retired: Vec::new(),
            decode,
            size: [w, h],
        };
        let engine = &mut *engine;
        let batching = std::thread::Builder::new()
            .name("batcher".into())
            .spawn_scoped(s, move || {
                let result = batcher.run(engine, pending_rx, &ran_tx, &spare_rx);
                let on_gpu = matches!(batcher.gpu, GpuStage::Open { .. });
                // The executor is done with them: the next run in this process takes them up.
                if result.is_ok()
                    && let GpuStage::Open { letterboxes, .. } =
                        std::mem::replace(&mut batcher.gpu, GpuStage::Off)
                {
                    letterboxes.into_iter().for_each(GpuLetterbox::keep);
                }
                let counts = (
                    batcher.scan_errors,
                    batcher.gpu_decoded,
                    batcher.gpu_uploaded,
                    batcher.gpu_engine_decoded,
                );
                (result, batcher.times, counts, on_gpu)
            })
            .expect("cannot start the batching thread");
        let mut writer = Writer {
            info,
            posts: (0..rayon::current_num_threads().max(1))
                .map(|_| Post::new(info, opts))
                .collect(),
            ask: &ctx.ask,
            cache,
            sink,
            bar,
            stop,
            summary: &mut summary,
        };
        let written = writer.run(&ran_rx, &spare_tx, &recycle_tx);
        // Whatever happened, let the batcher and the feeder finish: each stops at its next send.
        drop(ran_rx);
        feeder_stop.store(true, Ordering::Relaxed);
        let (ran, times, (scan_errors, gpu_decoded, gpu_uploaded, by_engine), letterbox_gpu) =
            batching
                .join()
                .map_err(|p| anyhow!("the batching thread crashed: {}", panic_message(&*p)))?;
        // The outputs' page-locked buffers, for the next run in this process.
        spare_left.try_iter().for_each(|o| o.buf.keep());
        let t = &mut summary.times;
        t.waiting += times.waiting;
        t.lookup += times.lookup;
        t.decode += times.decode;
        t.letterbox += times.letterbox;
        t.load += times.load;
        summary.scan_errors += scan_errors;
        summary.gpu_decoded += gpu_decoded;
        summary.gpu_uploaded += gpu_uploaded;
        summary.gpu_engine_decoded += by_engine;
        let (inference, starved, batches) = ran?;
        t.inference += inference;
        t.starved += starved;
        summary.batches += batches;
        if batches > 0 {
            summary.letterboxed_on = Some(if letterbox_gpu { "gpu" } else { "cpu" });
        }
        written
    })?;
    summary.elapsed = started.elapsed();
    tracing::trace!("run: done in {:.3} s", summary.elapsed.as_secs_f64());
    summary.model_loaded = engine.is_loaded();
    Ok(summary)
}

fn feed(
    inputs: Sources,
    shard: Option<Shard>,
    pool: &rayon::ThreadPool,
    pending: Sender<Pending>,
    recycled: Receiver<Vec<f32>>,
    stop: Arc<AtomicBool>,
    ctx: Arc<Context>,
) {
    for found in crate::shard::select(scan(inputs), shard) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let sent = match found {
            Ok(item) => {
                let (tx, rx) = bounded(1);
                let path = item.path.clone();
                let buffer = recycled.try_recv().ok();
                let ctx = Arc::clone(&ctx);
                pool.spawn(move || {
                    // A decoder that panics on a hostile file costs that file, not the run.
                    let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        prepare(&path, buffer, &ctx)
                    }))
                    .unwrap_or_else(|panic| {
                        Prepared::failed(format!(
                            "the decoder crashed on this file: {}",
                            panic_message(&*panic)
                        ))
                    });
                    let _ = tx.send(prepared);
                });
                pending.send(Pending::Image { item, answer: rx })
            }
            Err(e) => pending.send(Pending::ScanError(e)),
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Looks one image up in the cache, then decodes and letterboxes it if needed (on a
/// decode thread).
fn prepare(path: &Path, buffer: Option<Vec<f32>>, ctx: &Context) -> Prepared {
    let mut prepared = Prepared::failed(String::new());
    let t = Instant::now();
    let mut bytes = None;
    let mut content = None;
    if let Some((cache_path, key)) = &ctx.cache {
        let looked_up = lookup(
            path,
            cache_path,
            key,
            &ctx.ask,
            &ctx.decode,
            &mut bytes,
            &mut prepared.new_file,
        );
        prepared.lookup = t.elapsed();
        match looked_up {
            Ok(Lookup::Answered(outcome)) => {
                prepared.outcome = outcome;
                return prepared;
            }
            Ok(Lookup::Miss(c)) => content = Some(c),
            Err(e) => {
                prepared.outcome = Outcome::Failed {
                    reason: e.reason,
                    content: None,
                };
                return prepared;
            }
        }
    }
    let t = Instant::now();
    let mut bytes = match bytes {
        Some(b) => Ok(b),
        None => read_file(path),
    };
    // With --decode gpu, the size of a JPEG that nvJPEG decodes as it is (the header read
    // once, for the engine and the default backend alike).
    let for_gpu = match (&ctx.jpeg, &bytes) {
        (Some(_), Ok(b)) => crate::decode::jpeg_for_gpu(b, &ctx.decode),
        _ => None,
    };
    if let (Some(engine), Ok(b), Some((iw, ih))) = (&ctx.jpeg_engine, &bytes, for_gpu)
        && engine.may_take(b)
        && engine.takes(b, iw, ih)
    {
        let b = bytes.as_mut().map(std::mem::take).unwrap_or_default();
        match engine.submit(b, iw, ih) {
            Ok(answer) => {
                prepared.decode = t.elapsed();
                let [w, h] = ctx.size;
                prepared.outcome = Outcome::Image {
                    lb: Letterbox::new(iw, ih, w, h),
                    input: Input::Engine(answer),
                    content,
                };
                return prepared;
            }
            Err(back) => bytes = Ok(back),
        }
    }
    if let (Some(jpeg), Ok(b), Some(size)) = (&ctx.jpeg, &bytes, for_gpu)
        && let Some(img) = decode_on_gpu(jpeg, b, size, path)
    {
        prepared.decode = t.elapsed();
        let [w, h] = ctx.size;
        prepared.on_gpu = true;
        prepared.outcome = Outcome::Image {
            lb: Letterbox::new(img.width, img.height, w, h),
            input: Input::OnGpu(img),
            content,
        };
        return prepared;
    }
    let decoded = bytes.and_then(|b| decode_bytes(&b, &ctx.decode));
    prepared.decode = t.elapsed();
    tracing::trace!(
        target: "anylabel::pipeline::decode",
        "decoded in {:.2} ms",
        prepared.decode.as_secs_f64() * 1e3
    );
    let img = match decoded {
        Ok(img) => img,
        Err(e) => {
            // A limit is a property of the run, an unreadable file of the moment: only
            // failures of the content itself are remembered.
            let content = content.filter(|_| e.kind == DecodeErrorKind::Content);
            prepared.outcome = Outcome::Failed {
                reason: e.reason,
                content,
            };
            return prepared;
        }
    };
    let t = Instant::now();
    let [w, h] = ctx.size;
    let lb = Letterbox::of_image(&img, w, h);
    if ctx.decode_only {
        let uploader = ctx.uploads.as_deref().and_then(Uploads::ready);
        let input = match uploader.map(|u| u.upload(&img)) {
            Some(Ok(on_gpu)) => {
                prepared.letterbox = t.elapsed();
                prepared.uploaded = true;
                Input::OnGpu(on_gpu)
            }
            Some(Err(e)) => {
                // Whatever failed (page-locked or device memory, the GPU) would fail again:
                // the batcher uploads this image and every later one.
                if let Some(u) = &ctx.uploads
                    && !u.off.swap(true, Ordering::Relaxed)
                {
                    tracing::warn!(
                        "{}: the decode threads stop uploading their images ({UPLOAD_VAR}=decode), \
                         the batcher uploads them: {e:#}",
                        path.display()
                    );
                }
                Input::Decoded(img)
            }
            None => Input::Decoded(img),
        };
        prepared.outcome = Outcome::Image { input, lb, content };
        return prepared;
    }
    let mut tensor = buffer.unwrap_or_default();
    tensor.resize(3 * w as usize * h as usize, 0.0);
    let done = PREPROCESSOR.with_borrow_mut(|p| p.run(&img.pixels, &lb, &mut tensor));
    prepared.letterbox = t.elapsed();
    prepared.outcome = match done {
        Ok(()) => Outcome::Image {
            input: Input::Tensor(tensor),
            lb,
            content,
        },
        Err(e) => Outcome::Failed {
            reason: format!("cannot letterbox the image: {e}"),
            content: None,
        },
    };
    prepared
}

/// nvJPEG opened on the GPU that letterboxes, where the run asks for it (`--decode gpu`).
/// And the GPU's JPEG engine beside it, where the GPU has one and
/// `ANYLABEL_NVJPEG_HARDWARE` does not say 0, for batches of up to `batch` JPEGs.
#[allow(clippy::type_complexity)]
fn open_jpeg(
    opts: &InferOptions,
    batch: usize,
) -> Result<(Option<Arc<GpuJpeg>>, Option<Arc<HwJpeg>>)> {
    if !opts.gpu_decode {
        return Ok((None, None));
    }
    let Preprocess::Gpu { device, .. } = opts.preprocess else {
        bail!("--decode gpu needs the GPU letterbox (--preprocess gpu or auto)");
    };
    let share = crate::gpu::jpeg_hw::share(
        std::env::var(crate::gpu::jpeg_hw::SHARE_VAR)
            .ok()
            .as_deref(),
    )?;
    // nvJPEG and its JPEG engine take most of a second to open: opened once a process, for
    // each run after the first (`bench infer`'s) as long as the engine has not given up.
    type Opened = (u32, usize, u32, Arc<GpuJpeg>, Option<Arc<HwJpeg>>);
    static OPENED: std::sync::Mutex<Option<Opened>> = std::sync::Mutex::new(None);
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((d, b, s, jpeg, engine)) = opened.as_ref()
        && (*d, *b, *s) == (device, batch, share)
        && engine.as_ref().is_none_or(|e| !e.gave_up())
    {
        tracing::trace!("nvJPEG as an earlier run opened it");
        return Ok((Some(Arc::clone(jpeg)), engine.clone()));
    }
    let gpu = crate::gpu::Gpu::new(device as usize).context("--decode gpu")?;
    let jpeg = GpuJpeg::open(&gpu).context("--decode gpu")?;
    let engine = if share == 0 {
        None
    } else {
        match HwJpeg::open(&gpu, batch, share) {
            Ok(e) => Some(Arc::new(e)),
            Err(e) => {
                tracing::debug!("no JPEG engine: nvJPEG's default backend decodes: {e:#}");
                None
            }
        }
    };
    let jpeg = Arc::new(jpeg);
    *opened = Some((device, batch, share, Arc::clone(&jpeg), engine.clone()));
    Ok((Some(jpeg), engine))
}

/// `bytes`, a JPEG nvJPEG takes as it is ([`crate::decode::jpeg_for_gpu`]), of `(w, h)`
/// pixels, decoded by nvJPEG; `None` leaves the image to the CPU (saying why at debug
/// level where nvJPEG refused it).
fn decode_on_gpu(
    jpeg: &GpuJpeg,
    bytes: &[u8],
    (w, h): (u32, u32),
    path: &Path,
) -> Option<DeviceImage> {
    match jpeg.decode(bytes) {
        Ok(img) if (img.width, img.height) == (w, h) => Some(img),
        Ok(img) => {
            tracing::debug!(
                "{}: nvJPEG decoded {}×{} where the header says {w}×{h}; decoding it on the CPU",
                path.display(),
                img.width,
                img.height
            );
            None
        }
        Err(why) => {
            tracing::debug!("{}: {why}; decoding it on the CPU", path.display());
            None
        }
    }
}

enum Lookup {
    Answered(Outcome),
    /// Not answerable from the cache; the content hash to store the result under.
    Miss(Content),
}

fn lookup(
    path: &Path,
    cache_path: &Path,
    key: &Content,
    ask: &Ask,
    decode: &DecodeOptions,
    bytes: &mut Option<Vec<u8>>,
    new_file: &mut Option<(FileStamp, Content)>,
) -> Result<Lookup, crate::decode::DecodeError> {
    let stamp = FileStamp::of(path).map_err(|e| crate::decode::unreadable(&e))?;
    // A cache that cannot be read is a cache miss, not a failed image.
    let quiet = |e: anyhow::Error| {
        tracing::debug!("cache lookup failed: {e:#}");
    };
    let known = with_reader(cache_path, |r| r.known(&stamp, key)).unwrap_or_else(|e| {
        quiet(e);
        cache::Known::default()
    });
    let (content, facts, result) = match known.content {
        Some(c) => (c, known.facts, known.result),
        None => {
            // A new or changed file: its content may still be known (a renamed file).
            let b = read_file(path)?;
            let c = cache::content_hash(&b);
            *bytes = Some(b);
            *new_file = Some((stamp, c));
            let (facts, result) =
                with_reader(cache_path, |r| Ok((r.image(&c)?, r.result_used(&c, key)?)))
                    .unwrap_or_else(|e| {
                        quiet(e);
                        (None, None)
                    });
            (c, facts, result)
        }
    };
    let answered = (|| {
        let facts = facts?;
        if let Some(reason) = facts.error {
            return Some(Outcome::KnownBad { reason });
        }
        // The image is known, but the limit is this run's: over it, it fails as it would
        // decoded.
        if let Err(e) = crate::decode::check_size(facts.width, facts.height, "image", decode) {
            return Some(Outcome::Failed {
                reason: e.reason,
                content: None,
            });
        }
        let (stored, used) = result?;
        Some(Outcome::Cached {
            content,
            width: facts.width,
            height: facts.height,
            detections: cache::answer(&stored, ask)?,
            mark: cache::mark_again(used),
        })
    })();
    Ok(match answered {
        Some(outcome) => Lookup::Answered(outcome),
        None => Lookup::Miss(content),
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// One image waiting for its batch to run.
struct Slot {
    item: Item,
    outcome: Outcome,
}

/// The GPU letterbox of a run: opened when the first batch needs it.
enum GpuStage {
    Off,
    Wanted {
        device: u32,
        required: bool,
    },
    /// Two letterboxes, so that one batch is letterboxed while the model reads the other.
    Open {
        letterboxes: Vec<GpuLetterbox>,
        device: u32,
        required: bool,
    },
}

/// A window of answers in scan order, with the model's output for the images that ran.
struct Ran {
    window: Vec<Slot>,
    output: Output,
    dims: Option<[usize; 3]>,
    new_files: Vec<(FileStamp, Content)>,
    end: bool,
}

/// A window on its way to the model, with its batch put together where the model reads it.
struct Job {
    window: Vec<Slot>,
    batch: Option<Staged>,
    new_files: Vec<(FileStamp, Content)>,
    end: bool,
}

/// A batch put together for the model; `shape` is `[n, 3, h, w]`.
enum Staged {
    /// The window's one image, letterboxed by its decode thread: it runs as it is.
    Alone { shape: [usize; 4] },
    /// In host memory.
    Host {
        buffer: HostBatch,
        shape: [usize; 4],
    },
    /// In the tensor of GPU letterbox `slot` on `device`, once `stream` (the letterbox's)
    /// has done what the batcher queued on it: the upload and the kernel. The executor
    /// waits for it, so that the batcher goes on to the next batch meanwhile.
    Gpu {
        slot: usize,
        ptr: u64,
        stream: std::sync::Arc<cudarc::driver::CudaStream>,
        device: u32,
        shape: [usize; 4],
        required: bool,
    },
}

/// A batch's floats in host memory: page-locked where the model runs on a GPU, so that
/// ONNX Runtime copies it to the GPU at the bus's speed rather than through a staging
/// buffer.
enum HostBatch {
    Pageable(Vec<f32>),
    Pinned(PinnedHostSlice<f32>),
}

impl Default for HostBatch {
    fn default() -> HostBatch {
        HostBatch::Pageable(Vec::new())
    }
}

/// The model's output for one batch: `len` values, in page-locked memory where ONNX
/// Runtime wrote them straight from the GPU (output shape known), copied into pageable
/// memory otherwise. Recycled from the writer back to the executor.
#[derive(Default)]
struct Output {
    buf: HostBatch,
    len: usize,
}

impl Output {
    fn values(&self) -> Result<&[f32]> {
        self.buf.slice(self.len)
    }
}

impl HostBatch {
    /// Gives a page-locked buffer back for the next run in this process
    /// ([`crate::gpu::keep_pinned`]); a pageable one is dropped.
    fn keep(self) {
        if let HostBatch::Pinned(p) = self {
            crate::gpu::keep_pinned(p);
        }
    }

    /// Its first `len` floats (a page-locked buffer holds the largest batch; a pageable
    /// one grows).
    fn slice_mut(&mut self, len: usize) -> Result<&mut [f32]> {
        match self {
            HostBatch::Pageable(v) => {
                v.resize(len, 0.0);
                Ok(&mut v[..])
            }
            HostBatch::Pinned(p) => {
                let s = p.as_mut_slice()?;
                ensure!(len <= s.len(), "a batch larger than its buffer");
                Ok(&mut s[..len])
            }
        }
    }

    fn slice(&self, len: usize) -> Result<&[f32]> {
        match self {
            HostBatch::Pageable(v) => Ok(&v[..len]),
            HostBatch::Pinned(p) => Ok(&p.as_slice()?[..len]),
        }
    }
}

/// The batching thread: gathers each window in scan order and puts its batch together
/// (the decode threads' tensors copied into one, or the decoded images letterboxed on the
/// GPU, or on the CPU), while the executor's thread runs the model on the batch before.
struct Batcher<'r> {
    info: &'r ModelInfo,
    batch: usize,
    hw: [usize; 2],
    gpu: GpuStage,
    stop: &'r AtomicBool,
    /// Waiting, lookup, decode, letterbox (putting batches together included) and load.
    times: StageTimes,
    scan_errors: usize,
    /// Images decoded by nvJPEG.
    gpu_decoded: usize,
    /// Images uploaded by their decode threads.
    gpu_uploaded: usize,
    /// Images decoded by the GPU's JPEG engine.
    gpu_engine_decoded: usize,
    /// The decode threads' uploader, opened with the GPU letterbox, where the run asks for it.
    uploads: Option<Arc<Uploads>>,
    /// GPU letterboxes given up during the run, kept until the executor has stopped: a
    /// batch in one of their tensors may still be on its way to the model.
    retired: Vec<GpuLetterbox>,
    /// How the decode threads decode, for the JPEGs the GPU's JPEG engine gives back.
    decode: DecodeOptions,
    /// `[width, height]` of the model input.
    size: [u32; 2],
}

/// The batcher's side of the executor: its job queue and the buffers it gives back.
struct Exec<'s> {
    jobs: Sender<Job>,
    thread: std::thread::ScopedJoinHandle<'s, Executed>,
    free_host: Receiver<HostBatch>,
    free_gpu: Receiver<usize>,
    host_made: usize,
    /// The GPU the model runs on: its host batches are page-locked.
    pin: Option<crate::gpu::Gpu>,
    backend: crate::backend::Kind,
}

impl Exec<'_> {
    /// A host buffer for `len` floats: one of two, waiting for the model to finish with
    /// one when both are in use; `None` when the executor has stopped.
    fn host_buffer(&mut self, len: usize) -> Result<Option<HostBatch>> {
        if let Ok(b) = self.free_host.try_recv() {
            return Ok(Some(b));
        }
        if self.host_made < 2 {
            self.host_made += 1;
            if let Some(gpu) = &self.pin {
                match gpu.pinned_f32(len) {
                    Ok(p) => return Ok(Some(HostBatch::Pinned(p))),
                    Err(e) => {
                        tracing::debug!("batches in pageable memory: {e:#}");
                        self.pin = None;
                    }
                }
            }
            return Ok(Some(HostBatch::Pageable(Vec::new())));
        }
        Ok(self.free_host.recv().ok())
    }
}

/// What the executor's thread did.
struct Executed {
    result: Result<()>,
    inference: Duration,
    /// Waiting for the next job after the first.
    starved: Duration,
    batches: usize,
}

impl Batcher<'_> {
    /// Sends each window, with its batch, to the executor, which runs the model and
    /// hands window and output to the writer. Ends at the last image, at a batch boundary
    /// after Ctrl-C, or when the writer stops taking windows. Gives the executor's
    /// inference time, its time waiting for batches, and the batch count.
    fn run(
        &mut self,
        engine: &mut EngineSlot,
        pending: Receiver<Pending>,
        ran: &Sender<Ran>,
        spare: &Receiver<Output>,
    ) -> Result<(Duration, Duration, usize)> {
        // A window of answers in scan order: a batch of images to run, and the cached or
        // failed ones between them. Bounded, so cached answers stream out too.
        let max_window = (4 * self.batch).max(64);
        let gpu_failed = AtomicBool::new(false);
        let mut engine = Some(engine);
        std::thread::scope(|s| {
            let mut exec: Option<Exec> = None;
            let mut window: Vec<Slot> = Vec::with_capacity(max_window);
            let mut new_files = Vec::new();
            let mut ready = 0usize;
            let stopped: Result<()> = loop {
                let t = Instant::now();
                let next = pending.recv();
                let end = next.is_err();
                match next {
                    Ok(Pending::Image { item, answer }) => {
                        let prepared = answer.recv().unwrap_or_else(|_| {
                            Prepared::failed(
                                "the decoder stopped unexpectedly on this image".to_string(),
                            )
                        });
                        let prepared = self.engine_answer(prepared);
                        let times = &mut self.times;
                        times.waiting += t.elapsed();
                        times.lookup += prepared.lookup;
                        times.decode += prepared.decode;
                        times.letterbox += prepared.letterbox;
                        self.gpu_decoded += prepared.on_gpu as usize;
                        self.gpu_uploaded += prepared.uploaded as usize;
                        self.gpu_engine_decoded += prepared.by_engine as usize;
                        ready += matches!(prepared.outcome, Outcome::Image { .. }) as usize;
                        new_files.extend(prepared.new_file);
                        window.push(Slot {
                            item,
                            outcome: prepared.outcome,
                        });
                    }
                    Ok(Pending::ScanError(e)) => {
                        self.times.waiting += t.elapsed();
                        self.scan_errors += 1;
                        tracing::warn!("{}: {}", e.path.display(), e.reason);
                    }
                    Err(_) => {}
                }
                if ready < self.batch && window.len() < max_window && !end {
                    continue;
                }
                tracing::trace!("batcher: {ready} images in hand");

                if ready > 0 && exec.is_none() {
                    // The first batch: load the model, start its thread.
                    let t = Instant::now();
                    let loaded = engine.take().expect("the model loads once").get();
                    self.times.load += t.elapsed();
                    let e = match loaded {
                        Ok(e) => e,
                        Err(e) => break Err(e),
                    };
                    exec = Some(start_executor(s, e, ran, spare, &gpu_failed));
                }
                let mut job = Job {
                    window: std::mem::replace(&mut window, Vec::with_capacity(max_window)),
                    batch: None,
                    new_files: std::mem::take(&mut new_files),
                    end,
                };
                let sent = match exec.as_mut() {
                    Some(x) => {
                        if ready > 0 {
                            match self.stage(x, &job.window, ready, &gpu_failed) {
                                Ok(Some(b)) => job.batch = Some(b),
                                Ok(None) => break Ok(()), // the executor has stopped
                                Err(e) => break Err(e),
                            }
                        }
                        match x.jobs.send(job) {
                            Ok(()) => {
                                tracing::trace!("batcher: batch handed to the executor");
                                true
                            }
                            Err(unsent) => {
                                // The executor has stopped. The window's device images
                                // are freed with the job: first let the GPU finish what
                                // it was queued to read from them.
                                if let Some(Staged::Gpu { stream, .. }) = &unsent.0.batch {
                                    let _ = stream.synchronize();
                                }
                                false
                            }
                        }
                    }
                    // No model yet: nothing runs ahead of this window.
                    None => ran
                        .send(Ran {
                            window: job.window,
                            output: Output::default(),
                            dims: None,
                            new_files: job.new_files,
                            end,
                        })
                        .is_ok(),
                };
                ready = 0;
                if !sent || end || self.stop.load(Ordering::Relaxed) {
                    break Ok(());
                }
            };
            // The executor finishes the jobs it has; its error comes first (the batcher
            // stops on it).
            let Some(x) = exec else {
                return stopped.map(|()| (Duration::ZERO, Duration::ZERO, 0));
            };
            drop(x.jobs);
            let done = x
                .thread
                .join()
                .map_err(|p| anyhow!("the inference thread crashed: {}", panic_message(&*p)))?;
            // The batches' page-locked buffers, for the next run in this process.
            x.free_host.try_iter().for_each(HostBatch::keep);
            done.result?;
            stopped.map(|()| (done.inference, done.starved, done.batches))
        })
    }

    /// Puts together the batch of `window` (its `ready` images that need the model)
    /// where the model will read it; `None` when the executor has stopped.
    fn stage(
        &mut self,
        x: &mut Exec,
        window: &[Slot],
        ready: usize,
        gpu_failed: &AtomicBool,
    ) -> Result<Option<Staged>> {
        let [h, w] = self.hw;
        let plane = 3 * h * w;
        let n = self.info.batch_size(ready);
        let shape = [n, 3, h, w];
        let images: Vec<(&Input, &Letterbox)> = window
            .iter()
            .filter_map(|s| match &s.outcome {
                Outcome::Image { input, lb, .. } => Some((input, lb)),
                _ => None,
            })
            .collect();
        let decoded = decoded_images(window);

        if decoded.is_empty() {
            // Letterboxed on the decode threads: one image runs as it is, a batch is put
            // together in parallel.
            if n == 1 {
                return Ok(Some(Staged::Alone { shape }));
            }
            let tensors: Vec<&[f32]> = images
                .iter()
                .filter_map(|&(input, _)| match input {
                    Input::Tensor(t) => Some(&t[..]),
                    Input::Decoded(_) | Input::OnGpu(_) | Input::Engine(_) => None,
                })
                .collect();
            let Some(mut buffer) = x.host_buffer(n * plane)? else {
                return Ok(None);
            };
            let t = Instant::now();
            let dst = buffer.slice_mut(n * plane)?;
            dst.par_chunks_mut(plane)
                .zip(tensors.par_iter())
                .for_each(|(dst, src)| dst.copy_from_slice(src));
            dst[tensors.len() * plane..].fill(0.0); // a fixed batch larger than what is left
            self.times.letterbox += t.elapsed();
            return Ok(Some(Staged::Host { buffer, shape }));
        }

        if gpu_failed.load(Ordering::Relaxed) {
            self.gpu_off();
        }
        let required = matches!(
            self.gpu,
            GpuStage::Wanted { required: true, .. } | GpuStage::Open { required: true, .. }
        );
        let max_batch = self.info.batch_size(self.batch);
        if let Some((letterboxes, device)) = open_gpu(
            &mut self.gpu,
            x.backend,
            x.pin.as_ref(),
            self.hw,
            max_batch,
            self.uploads.as_deref(),
        )? {
            let Ok(slot) = x.free_gpu.recv() else {
                return Ok(None);
            };
            let t = Instant::now();
            let imgs: Vec<Pixels> = decoded.iter().map(|d| d.0).collect();
            // Queued, not waited for: the executor waits on the stream before the model
            // reads the tensor.
            let on_gpu = letterboxes[slot]
                .run(&imgs)
                .map(|(tensor, _)| (tensor.device_ptr(), tensor.stream().clone()));
            self.times.letterbox += t.elapsed();
            match on_gpu {
                Ok((ptr, stream)) => {
                    tracing::trace!("batch of {} queued on the GPU at {ptr:#x}", imgs.len());
                    return Ok(Some(Staged::Gpu {
                        slot,
                        ptr,
                        stream,
                        device,
                        shape,
                        required,
                    }));
                }
                Err(e) if required => {
                    return Err(e.context("--preprocess gpu: the GPU letterbox failed"));
                }
                Err(e) => {
                    tracing::warn!(
                        "letterboxing on the CPU from now on: the GPU letterbox failed: {e:#}"
                    );
                    self.gpu_off();
                }
            }
        }

        // Decoded images letterboxed here, in parallel, straight into the batch.
        let Some(mut buffer) = x.host_buffer(n * plane)? else {
            return Ok(None);
        };
        let t = Instant::now();
        letterbox_into(&decoded, buffer.slice_mut(n * plane)?, plane)?;
        self.times.letterbox += t.elapsed();
        Ok(Some(Staged::Host { buffer, shape }))
    }
}

impl Batcher<'_> {
    /// A JPEG the GPU's JPEG engine took, once the engine has answered: its pixels on the
    /// GPU, or, where the engine refused it, decoded on the CPU here. Anything else as it is.
    fn engine_answer(&self, mut p: Prepared) -> Prepared {
        if !matches!(
            p.outcome,
            Outcome::Image {
                input: Input::Engine(_),
                ..
            }
        ) {
            return p;
        }
        let placeholder = Outcome::Failed {
            reason: String::new(),
            content: None,
        };
        let Outcome::Image {
            input: Input::Engine(answer),
            lb,
            content,
        } = std::mem::replace(&mut p.outcome, placeholder)
        else {
            unreachable!("checked above");
        };
        p.outcome = match answer.recv() {
            Ok(Ok(img)) => {
                p.on_gpu = true;
                p.by_engine = true;
                Outcome::Image {
                    input: Input::OnGpu(img),
                    lb,
                    content,
                }
            }
            Ok(Err((why, bytes))) => {
                tracing::debug!("the GPU's JPEG engine gave a JPEG back ({why}): decoding it here");
                let t = Instant::now();
                let decoded = decode_bytes(&bytes, &self.decode);
                p.decode += t.elapsed();
                match decoded {
                    Ok(img) => Outcome::Image {
                        lb: Letterbox::of_image(&img, self.size[0], self.size[1]),
                        input: Input::Decoded(img),
                        content,
                    },
                    Err(e) => Outcome::Failed {
                        content: content.filter(|_| e.kind == DecodeErrorKind::Content),
                        reason: e.reason,
                    },
                }
            }
            Err(_) => Outcome::Failed {
                reason: "the GPU's JPEG engine stopped before it decoded this image".to_string(),
                content: None,
            },
        };
        p
    }

    /// Letterboxes on the CPU from now on; the decode threads stop uploading.
    fn gpu_off(&mut self) {
        if let GpuStage::Open { letterboxes, .. } = std::mem::replace(&mut self.gpu, GpuStage::Off)
        {
            self.retired.extend(letterboxes);
        }
        if let Some(u) = &self.uploads {
            u.off.store(true, Ordering::Relaxed);
        }
    }
}

/// The images of `window` that need the model and were only decoded (the GPU letterbox's),
/// with their letterboxes.
fn decoded_images(window: &[Slot]) -> Vec<(Pixels<'_>, &Letterbox)> {
    window
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Image {
                input: Input::Decoded(img),
                lb,
                ..
            } => Some((Pixels::Host(img), lb)),
            Outcome::Image {
                input: Input::OnGpu(img),
                lb,
                ..
            } => Some((Pixels::Device(img), lb)),
            _ => None,
        })
        .collect()
}

/// Letterboxes `decoded` on the CPU, in parallel, into `batch` (`plane` floats an image;
/// what is left after them is zeroed).
fn letterbox_into(
    decoded: &[(Pixels<'_>, &Letterbox)],
    batch: &mut [f32],
    plane: usize,
) -> Result<()> {
    batch
        .par_chunks_mut(plane)
        .zip(decoded.par_iter())
        .try_for_each(|(dst, (img, lb))| match img {
            Pixels::Host(img) => PREPROCESSOR.with_borrow_mut(|p| p.run(&img.pixels, lb, dst)),
            // nvJPEG's pixels, where the GPU letterbox has failed: back to the host.
            Pixels::Device(img) => {
                let pixels = img.to_host()?;
                PREPROCESSOR.with_borrow_mut(|p| p.run(&pixels, lb, dst))
            }
        })
        .map_err(|e| anyhow!("cannot letterbox the batch: {e}"))?;
    batch[decoded.len() * plane..].fill(0.0);
    Ok(())
}

/// Starts the executor's thread: it runs the model on each job's batch, gives the batch's
/// buffer back, and sends the window with the output to the writer.
fn start_executor<'s, 'e: 's>(
    s: &'s std::thread::Scope<'s, 'e>,
    engine: &'e mut Engine,
    ran: &'e Sender<Ran>,
    spare: &'e Receiver<Output>,
    gpu_failed: &'e AtomicBool,
) -> Exec<'s> {
    let (backend, device) = (engine.backend, engine.device);
    let pin = (backend != crate::backend::Kind::Cpu)
        .then(|| match crate::gpu::Gpu::new(device as usize) {
            Ok(gpu) => Some(gpu),
            Err(e) => {
                tracing::debug!("batches in pageable memory: {e:#}");
                None
            }
        })
        .flatten();
    let (jobs_tx, jobs) = bounded::<Job>(1);
    let (free_host_tx, free_host) = bounded::<HostBatch>(2);
    let (free_gpu_tx, free_gpu) = bounded::<usize>(2);
    free_gpu_tx.send(0).and_then(|()| free_gpu_tx.send(1)).ok();
    let pin_out = pin.clone();
    tracing::trace!("executor: starting");
    let thread = std::thread::Builder::new().name("executor".into()).spawn_scoped(s, move || {
        let mut done = Executed {
            result: Ok(()),
            inference: Duration::ZERO,
            starved: Duration::ZERO,
            batches: 0,
        };
        let mut known = engine.last_shapes;
        let mut waited = Instant::now();
        while let Ok(job) = jobs.recv() {
            if done.batches > 0 {
                done.starved += waited.elapsed();
            }
            let mut output = spare.try_recv().unwrap_or_default();
            let dims = match job.batch {
                None => None,
                Some(batch) => {
                    let t = Instant::now();
                    let r = execute(
                        engine,
                        batch,
                        &job.window,
                        &mut Outputs {
                            out: &mut output,
                            pin: pin_out.as_ref(),
                            known: &mut known,
                        },
                        &free_host_tx,
                        &free_gpu_tx,
                        gpu_failed,
                    );
                    let took = t.elapsed();
                    tracing::trace!(
                        "executor: batch ran in {:.2} ms, {:.2} of them waiting for its letterbox",
                        took.as_secs_f64() * 1e3,
                        r.as_ref().map_or(0.0, |r| r.1.as_secs_f64() * 1e3)
                    );
                    match r {
                        Ok((d, waited)) => {
                            // Waiting for the GPU letterbox is the model waiting for its
                            // batch.
                            done.inference += took.saturating_sub(waited);
                            done.starved += waited;
                            done.batches += 1;
                            Some(d)
                        }
                        Err(e) => {
                            done.result = Err(e);
                            return done;
                        }
                    }
                }
            };
            let sent = ran.send(Ran {
                window: job.window,
                output,
                dims,
                new_files: job.new_files,
                end: job.end,
            });
            if sent.is_err() {
                break;
            }
            tracing::trace!("executor: batch handed to the writer");
            waited = Instant::now();
        }
        engine.last_shapes = known;
        done
    }).expect("cannot start the inference thread");
    Exec {
        jobs: jobs_tx,
        thread,
        free_host,
        free_gpu,
        host_made: 0,
        pin,
        backend,
    }
}

/// Where the executor puts a batch's output.
struct Outputs<'a> {
    out: &'a mut Output,
    /// The GPU the model runs on: outputs go to page-locked memory.
    pin: Option<&'a crate::gpu::Gpu>,
    /// The last input shape run, with its output's shape.
    known: &'a mut Option<([usize; 4], [usize; 3])>,
}

/// A batch as the model reads it.
enum ModelInput<'a> {
    Host(&'a [f32]),
    Gpu { ptr: u64, device: u32 },
}

impl Outputs<'_> {
    /// Runs `batch` (`shape`). Once a shape's output shape is known, and the model runs on
    /// a GPU, ONNX Runtime writes the output straight into a page-locked buffer; otherwise
    /// it is copied out of ONNX Runtime's into a pageable one.
    fn run(
        &mut self,
        engine: &mut Engine,
        batch: ModelInput,
        shape: [usize; 4],
    ) -> Result<[usize; 3]> {
        let dims = self.known.filter(|k| k.0 == shape).map(|k| k.1);
        if let (Some(dims), Some(gpu)) = (dims, self.pin) {
            let len: usize = dims.iter().product();
            if !matches!(&self.out.buf, HostBatch::Pinned(p) if p.len() >= len) {
                match gpu.pinned_f32(len) {
                    Ok(p) => self.out.buf = HostBatch::Pinned(p),
                    Err(e) => {
                        tracing::debug!("outputs copied to pageable memory: {e:#}");
                        self.pin = None;
                    }
                }
            }
            if let HostBatch::Pinned(_) = self.out.buf {
                let dst = self.out.buf.slice_mut(len)?;
                match batch {
                    ModelInput::Host(input) => engine.run_into(input, shape, dst, dims)?,
                    // SAFETY: the caller's promise for the batch at `ptr` (see `execute`).
                    ModelInput::Gpu { ptr, device } => unsafe {
                        engine.run_on_gpu(ptr, device, shape, OutputTo::Into(dst, dims))?
                    },
                };
                self.out.len = len;
                return Ok(dims);
            }
        }
        let mut values = match std::mem::take(&mut self.out.buf) {
            HostBatch::Pageable(v) => v,
            HostBatch::Pinned(_) => Vec::new(),
        };
        let ran = match batch {
            ModelInput::Host(input) => engine.run(input, shape, &mut values),
            // SAFETY: as above.
            ModelInput::Gpu { ptr, device } => unsafe {
                engine.run_on_gpu(ptr, device, shape, OutputTo::Copy(&mut values))
            },
        };
        self.out.len = values.len();
        self.out.buf = HostBatch::Pageable(values);
        let dims = ran?;
        *self.known = Some((shape, dims));
        Ok(dims)
    }
}

/// Runs the model on one staged batch of `window` and gives its buffer back. Also gives how
/// long it waited for the GPU letterbox to finish the batch.
fn execute(
    engine: &mut Engine,
    batch: Staged,
    window: &[Slot],
    into: &mut Outputs,
    free_host: &Sender<HostBatch>,
    free_gpu: &Sender<usize>,
    gpu_failed: &AtomicBool,
) -> Result<([usize; 3], Duration)> {
    let ran = |dims| Ok((dims, Duration::ZERO));
    match batch {
        Staged::Alone { shape } => {
            let tensor = window
                .iter()
                .find_map(|s| match &s.outcome {
                    Outcome::Image {
                        input: Input::Tensor(t),
                        ..
                    } => Some(&t[..]),
                    _ => None,
                })
                .ok_or_else(|| anyhow!("a batch of one without its image"))?;
            into.run(engine, ModelInput::Host(tensor), shape)
                .and_then(ran)
        }
        Staged::Host { buffer, shape } => {
            let len = shape.iter().product();
            let dims = buffer
                .slice(len)
                .and_then(|input| into.run(engine, ModelInput::Host(input), shape));
            let _ = free_host.send(buffer);
            dims.and_then(ran)
        }
        Staged::Gpu {
            slot,
            ptr,
            stream,
            device,
            shape,
            required,
        } => {
            // The batcher queued the letterbox of `shape`'s images into letterbox `slot`'s
            // tensor at `ptr` on `stream`; it does not write there again before `slot`
            // comes back, after the run. The window, which holds the images nvJPEG decoded
            // into device memory, lives until after this wait.
            let t = Instant::now();
            let ready = stream.synchronize();
            let waited = t.elapsed();
            let dims = match ready {
                Ok(()) => into
                    .run(engine, ModelInput::Gpu { ptr, device }, shape)
                    .map_err(|e| e.context("the model could not run on the GPU letterbox's batch")),
                Err(e) => Err(anyhow!("the GPU letterbox failed: {e}")),
            };
            let _ = free_gpu.send(slot);
            match dims {
                Ok(dims) => Ok((dims, waited)),
                Err(e) if required => Err(e.context("--preprocess gpu")),
                Err(e) => {
                    tracing::warn!("letterboxing on the CPU from now on: {e:#}");
                    gpu_failed.store(true, Ordering::Relaxed);
                    let decoded = decoded_images(window);
                    let plane = shape[1] * shape[2] * shape[3];
                    let mut input = vec![0f32; shape[0] * plane];
                    letterbox_into(&decoded, &mut input, plane)?;
                    let dims = into.run(engine, ModelInput::Host(&input), shape)?;
                    Ok((dims, waited))
                }
            }
        }
    }
}

/// The GPU letterboxes, opened on first use; `None` where the run letterboxes on the CPU.
fn open_gpu<'a>(
    stage: &'a mut GpuStage,
    backend: crate::backend::Kind,
    opened_for_buffers: Option<&crate::gpu::Gpu>,
    [h, w]: [usize; 2],
    max_batch: usize,
    uploads: Option<&Uploads>,
) -> Result<Option<(&'a mut [GpuLetterbox], u32)>> {
    if let GpuStage::Wanted { device, required } = *stage {
        let opened = if backend == crate::backend::Kind::Cpu {
            if !required {
                // auto, which already said why the model is not on a GPU.
                tracing::debug!("letterboxing on the CPU: the model runs on the CPU backend");
                *stage = GpuStage::Off;
                return Ok(None);
            }
            Err(anyhow!("the model runs on the CPU backend"))
        } else {
            // The GPU the executor opened for page-locked buffers (the model's, which is
            // `--device`'s), else opened here.
            let gpu = match opened_for_buffers {
                Some(gpu) => Ok(gpu.clone()),
                None => {
                    tracing::trace!("opening GPU {device} for the letterbox");
                    crate::gpu::Gpu::new(device as usize)
                }
            };
            gpu.and_then(|gpu| {
                let letterboxes = (0..2)
                    .map(|_| GpuLetterbox::reuse_or_new(&gpu, max_batch, [h as u32, w as u32]))
                    .collect::<Result<Vec<_>>>()?;
                if let Some(u) = uploads {
                    tracing::debug!("the decode threads upload what they decode to GPU {device}");
                    let _ = u.to.set(Uploader::new(&gpu));
                }
                Ok(letterboxes)
            })
        };
        *stage = match opened {
            Ok(letterboxes) => {
                tracing::debug!("letterboxing on GPU {device}");
                GpuStage::Open {
                    letterboxes,
                    device,
                    required,
                }
            }
            Err(e) if required => {
                return Err(e.context("--preprocess gpu: the GPU letterbox cannot start"));
            }
            Err(e) => {
                tracing::warn!(
                    "letterboxing on the CPU (--preprocess cpu says so quietly): the GPU letterbox cannot start: {e:#}"
                );
                GpuStage::Off
            }
        };
    }
    Ok(match stage {
        GpuStage::Open {
            letterboxes,
            device,
            ..
        } => Some((&mut letterboxes[..], *device)),
        _ => None,
    })
}

/// The writing thread: post-processes each window the runner sends (in parallel over its
/// images), writes the cache and the records, in scan order.
struct Writer<'r> {
    info: &'r ModelInfo,
    /// Post-processing with its scratch space, one per thread that post-processes a
    /// window's images, kept from window to window.
    posts: Vec<Post>,
    ask: &'r Ask,
    cache: Option<&'r mut CacheRun>,
    sink: &'r mut dyn Sink,
    bar: &'r ProgressBar,
    stop: &'r AtomicBool,
    summary: &'r mut Summary,
}

impl Writer<'_> {
    fn run(
        &mut self,
        ran: &Receiver<Ran>,
        spare: &Sender<Output>,
        recycle: &Sender<Vec<f32>>,
    ) -> Result<()> {
        for Ran {
            window,
            output,
            dims,
            new_files,
            end,
        } in ran
        {
            let t = Instant::now();
            let lbs: Vec<&Letterbox> = window
                .iter()
                .filter_map(|s| match &s.outcome {
                    Outcome::Image { lb, .. } => Some(lb),
                    _ => None,
                })
                .collect();
            let mut fresh: Vec<Stored> = match dims {
                // The images in contiguous runs, one run per Post, in parallel.
                Some(dims) if !lbs.is_empty() => {
                    let output = output.values()?;
                    let run = lbs.len().div_ceil(self.posts.len());
                    let runs: Vec<Vec<Stored>> = self
                        .posts
                        .par_iter_mut()
                        .zip(lbs.par_chunks(run))
                        .enumerate()
                        .map(|(k, (post, lbs))| {
                            (lbs.iter().enumerate())
                                .map(|(j, lb)| post.detections(output, dims, k * run + j, lb))
                                .collect()
                        })
                        .collect();
                    runs.into_iter().flatten().collect()
                }
                _ => Vec::new(),
            };
            let _ = spare.try_send(output);
            let mut store = Batch {
                files: new_files,
                ..Batch::default()
            };
            let mut records = Vec::with_capacity(window.len());
            fresh.reverse();
            for slot in window {
                records.push(self.record(slot, &mut fresh, &mut store, recycle));
            }
            self.summary.times.postprocess += t.elapsed();

            if let Some(c) = self.cache.as_deref_mut() {
                let t = Instant::now();
                if let Err(e) = c.cache.write(&store) {
                    // Losing the cache must not lose the run: say so once and go on without it.
                    tracing::warn!(
                        "cannot write to the cache {} ({e:#}); going on without it",
                        c.cache.path().display()
                    );
                    self.cache = None;
                }
                self.summary.times.store += t.elapsed();
            }

            let t = Instant::now();
            for record in &records {
                self.summary.images += 1;
                self.summary.failed += record.error.is_some() as usize;
                self.summary.detections += record.detections.len();
                if let Err(e) = self.sink.write(record) {
                    return handle_write_error(e, self.summary);
                }
            }
            if let Err(e) = self.sink.flush() {
                return handle_write_error(e, self.summary);
            }
            self.summary.times.write += t.elapsed();
            self.bar.inc(records.len() as u64);
            tracing::trace!("writer: {} records written", records.len());
            if end {
                return Ok(());
            }
        }
        // The runner stopped before the last image: Ctrl-C, or its own error (which the
        // caller reports).
        if self.stop.load(Ordering::Relaxed) {
            self.summary.interrupted = true;
        }
        Ok(())
    }

    /// The record of one image, and what the cache learns from it. `fresh` holds the
    /// post-processed results of the window's images that ran, last first.
    fn record(
        &mut self,
        slot: Slot,
        fresh: &mut Vec<Stored>,
        store: &mut Batch,
        recycle: &Sender<Vec<f32>>,
    ) -> Record {
        let id = self.info.id.clone();
        let info = self.info;
        let record = |width, height, dets: Detections| {
            Record::new(
                slot.item.name.clone(),
                [width, height],
                id.clone(),
                &dets,
                |c| info.label(c),
            )
        };
        match slot.outcome {
            Outcome::Cached {
                content,
                width,
                height,
                detections,
                mark,
            } => {
                if mark {
                    store.touched.push(content);
                }
                store.hits += 1;
                self.summary.cache_hits += 1;
                record(width, height, detections)
            }
            Outcome::Image { input, lb, content } => {
                let stored = fresh
                    .pop()
                    .expect("every image of a window that ran has a result");
                if let Input::Tensor(tensor) = input {
                    let _ = recycle.try_send(tensor);
                }
                let detections =
                    cache::answer(&stored, self.ask).expect("fresh results answer their own run");
                if let Some(content) = content {
                    store.images.push((
                        content,
                        ImageFacts {
                            width: lb.full_w,
                            height: lb.full_h,
                            error: None,
                        },
                    ));
                    store.results.push((content, stored));
                    store.misses += 1;
                }
                record(lb.full_w, lb.full_h, detections)
            }
            Outcome::KnownBad { reason } => {
                store.hits += 1;
                self.summary.cache_hits += 1;
                tracing::warn!("{}: {reason}", slot.item.path.display());
                Record::failed(slot.item.name, id, reason)
            }
            Outcome::Failed { reason, content } => {
                if let Some(content) = content {
                    store.images.push((
                        content,
                        ImageFacts {
                            width: 0,
                            height: 0,
                            error: Some(reason.clone()),
                        },
                    ));
                }
                store.misses += 1;
                tracing::warn!("{}: {reason}", slot.item.path.display());
                Record::failed(slot.item.name, id, reason)
            }
        }
    }
}

fn handle_write_error(e: std::io::Error, summary: &mut Summary) -> Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        summary.stopped_early = true;
        return Ok(());
    }
    Err(anyhow!("cannot write the results: {e}"))
}

/// Head decoding and NMS down to the cache's floor, mapped back to the original image,
/// with reused scratch space.
struct Post {
    decoder: Decoder,
    info_head: crate::head::Head,
    params: DecodeParams,
    nms: NmsParams,
    floor: f32,
    candidates: Detections,
    nms_run: Nms,
    keep: Vec<usize>,
}

impl Post {
    fn new(info: &ModelInfo, opts: &InferOptions) -> Post {
        let floor = cache::FLOOR.min(opts.conf);
        Post {
            decoder: Decoder::default(),
            info_head: info.head,
            params: DecodeParams {
                conf: floor,
                // Agnostic NMS lets classes suppress each other, so the filter must come first.
                allowed: if opts.agnostic {
                    allowed_classes(opts.classes.as_deref(), info.class_names.len())
                } else {
                    None
                },
            },
            nms: NmsParams {
                iou: opts.iou,
                max_det: opts.max_det.max(cache::MIN_CAP),
                agnostic: opts.agnostic,
                max_candidates: 30_000,
            },
            floor,
            candidates: Detections::default(),
            nms_run: Nms::new(),
            keep: Vec::new(),
        }
    }

    fn detections(
        &mut self,
        output: &[f32],
        dims: [usize; 3],
        index: usize,
        lb: &Letterbox,
    ) -> Stored {
        self.candidates.clear();
        self.decoder.decode(
            self.info_head,
            output,
            dims,
            index,
            &self.params,
            &mut self.candidates,
        );
        let c = &self.candidates;
        if self.info_head.needs_nms() {
            self.nms_run.run(c, &self.nms, &mut self.keep);
        } else {
            self.keep.clear();
            self.keep.extend(0..c.len());
            self.keep
                .sort_by(|&a, &b| c.scores[b].total_cmp(&c.scores[a]));
            self.keep.truncate(self.nms.max_det);
        }
        let mut detections = c.select(&self.keep);
        detections.map_boxes(|b| lb.to_original(b));
        Stored {
            floor: self.floor,
            cap: self.nms.max_det,
            truncated: self.keep.len() >= self.nms.max_det,
            detections,
        }
    }
}
