//! `infer`: the streaming pipeline from the directory walk to records.
//!
//! ```text
//! scan ──> cache lookup ──> decode + letterbox ──> batch ──> ONNX Runtime ──> head + NMS ──> records
//! (feeder   (decode threads: one task per image,     (the runner thread)   (the calling thread:
//!  thread)   at most `prefetch` in flight)                                  cache and records)
//! ```
//!
//! The feeder walks the inputs and hands each image to a decode thread, queueing the
//! thread's one-shot answer in a bounded channel, in scan order. A decode thread first
//! asks the cache: an unchanged file is known by its `(path, size, mtime)`, and when its
//! content already has a result for this model and these parameters, that is the answer,
//! with no decoding and no inference. Otherwise it decodes and letterboxes the image (or,
//! with [`Preprocess::Gpu`], only decodes it). The runner takes the answers in scan order,
//! gathers a window of them around one batch, puts the batch together (or letterboxes it
//! on the GPU) and runs the model; it hands the window and the output to the calling
//! thread through a channel of one, and goes on. The calling thread post-processes the
//! window's images in parallel, writes the cache and the records, in scan order, with no
//! reordering buffer, and the bounds on the channels are the bound on memory. A run whose
//! images are all cached never loads the model.
//!
//! Fresh detections are computed down to the cache's floor ([`cache::FLOOR`]), stored, and
//! then filtered to `--conf`, `--max-det` and `--classes` by the same function
//! ([`cache::answer`]) that answers from the cache, so a cached answer is the fresh one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use crossbeam_channel::{Receiver, Sender, bounded};
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::cache::{
    self, Ask, Batch, Cache, Content, FileStamp, ImageFacts, Stored, StoredDetection, with_reader,
};
use crate::decode::{DecodeErrorKind, DecodeOptions, RgbImage, decode_bytes, read_file};
use crate::engine::{Engine, ModelInfo};
use crate::gpu::letterbox::GpuLetterbox;
use crate::head::{DecodeParams, Decoder};
use crate::letterbox::{Letterbox, Preprocessor};
use crate::nms::{Candidates, Nms, NmsParams};
use crate::record::{Detection, Record};
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
    /// The key of everything that changes a result: the model, the input size, the
    /// letterbox and precision, NMS's IoU and agnostic flag (and, for agnostic NMS, the
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
        let description = format!(
            "pipeline rev {}; model {}; input {}x{}; letterbox ultralytics; {decode}; precision fp32; iou {:?}; {classes}",
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
    /// Time the inference loop waited for decoded images: the pipeline's idle time.
    pub waiting: Duration,
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
}

/// What a decode thread found out about one image.
enum Outcome {
    /// Answered by the cache: no decoding, no inference.
    Cached {
        content: Content,
        width: u32,
        height: u32,
        detections: Vec<StoredDetection>,
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
}

struct Prepared {
    outcome: Outcome,
    /// A file the `(path, size, mtime)` index did not know.
    new_file: Option<(FileStamp, Content)>,
    lookup: Duration,
    decode: Duration,
    letterbox: Duration,
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("decode-{i}"))
        .build()
        .map_err(|e| anyhow!("cannot start the decode threads: {e}"))?;

    let [h, w] = size;
    let ctx = Arc::new(Context {
        decode: DecodeOptions {
            reduce_for: (!opts.exact_decode).then_some([w, h]),
            ..opts.decode
        },
        size: [w, h],
        cache: cache
            .as_ref()
            .map(|c| (c.cache.path().to_path_buf(), c.key)),
        ask: ask_for(opts, info.class_names.len()),
        decode_only: matches!(opts.preprocess, Preprocess::Gpu { .. }),
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
        s.spawn(move || feed(inputs, shard, pool, pending_tx, recycle_rx, fs, c));
        // The runner gathers batches and runs the model; this thread post-processes and
        // writes the batch before, so that the model does not wait for either.
        let (ran_tx, ran_rx) = bounded::<Ran>(1);
        let (spare_tx, spare_rx) = bounded::<Vec<f32>>(2);
        let mut runner = Runner {
            engine,
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
            batches: 0,
        };
        let running = s.spawn(move || {
            let result = runner.run(pending_rx, &ran_tx, &spare_rx);
            (result, runner.times, runner.scan_errors, runner.batches)
        });
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
        // Whatever happened, let the runner and the feeder finish: each stops at its next send.
        drop(ran_rx);
        feeder_stop.store(true, Ordering::Relaxed);
        let (ran, times, scan_errors, batches) = running
            .join()
            .map_err(|p| anyhow!("the inference thread crashed: {}", panic_message(&*p)))?;
        let t = &mut summary.times;
        t.waiting += times.waiting;
        t.lookup += times.lookup;
        t.decode += times.decode;
        t.letterbox += times.letterbox;
        t.load += times.load;
        t.inference += times.inference;
        summary.scan_errors += scan_errors;
        summary.batches += batches;
        ran?;
        written
    })?;
    summary.elapsed = started.elapsed();
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
                    .unwrap_or_else(|panic| Prepared {
                        outcome: Outcome::Failed {
                            reason: format!(
                                "the decoder crashed on this file: {}",
                                panic_message(&*panic)
                            ),
                            content: None,
                        },
                        new_file: None,
                        lookup: Duration::ZERO,
                        decode: Duration::ZERO,
                        letterbox: Duration::ZERO,
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
    let mut prepared = Prepared {
        outcome: Outcome::Failed {
            reason: String::new(),
            content: None,
        },
        new_file: None,
        lookup: Duration::ZERO,
        decode: Duration::ZERO,
        letterbox: Duration::ZERO,
    };
    let t = Instant::now();
    let mut bytes = None;
    let mut content = None;
    if let Some((cache_path, key)) = &ctx.cache {
        let looked_up = lookup(
            path,
            cache_path,
            key,
            &ctx.ask,
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
    let decoded = match bytes {
        Some(b) => decode_bytes(&b, &ctx.decode),
        None => read_file(path).and_then(|b| decode_bytes(&b, &ctx.decode)),
    };
    prepared.decode = t.elapsed();
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
        prepared.outcome = Outcome::Image {
            input: Input::Decoded(img),
            lb,
            content,
        };
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
    bytes: &mut Option<Vec<u8>>,
    new_file: &mut Option<(FileStamp, Content)>,
) -> Result<Lookup, crate::decode::DecodeError> {
    let stamp = FileStamp::of(path).map_err(|e| crate::decode::unreadable(&e))?;
    // A cache that cannot be read is a cache miss, not a failed image.
    let known = with_reader(cache_path, |r| r.content_of(&stamp)).unwrap_or_else(|e| {
        tracing::debug!("cache lookup failed: {e:#}");
        None
    });
    let content = match known {
        Some(c) => c,
        None => {
            let b = read_file(path)?;
            let c = cache::content_hash(&b);
            *bytes = Some(b);
            *new_file = Some((stamp, c));
            c
        }
    };
    let answered = with_reader(cache_path, |r| {
        let Some(facts) = r.image(&content)? else {
            return Ok(None);
        };
        if let Some(reason) = facts.error {
            return Ok(Some(Outcome::KnownBad { reason }));
        }
        Ok(r.result(&content, key)?
            .and_then(|stored| cache::answer(&stored, ask))
            .map(|detections| Outcome::Cached {
                content,
                width: facts.width,
                height: facts.height,
                detections,
            }))
    })
    .unwrap_or_else(|e| {
        tracing::debug!("cache lookup failed: {e:#}");
        None
    });
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
    Open {
        letterbox: Box<GpuLetterbox>,
        device: u32,
        required: bool,
    },
}

/// A window of answers in scan order, with the model's output for the images that ran.
struct Ran {
    window: Vec<Slot>,
    output: Vec<f32>,
    dims: Option<[usize; 3]>,
    new_files: Vec<(FileStamp, Content)>,
    end: bool,
}

/// The inference thread: gathers each batch in scan order, puts it together (or
/// letterboxes it on the GPU) and runs the model.
struct Runner<'r, 'e> {
    engine: &'r mut EngineSlot<'e>,
    info: &'r ModelInfo,
    batch: usize,
    hw: [usize; 2],
    gpu: GpuStage,
    stop: &'r AtomicBool,
    /// Waiting, lookup, decode, letterbox, load and inference.
    times: StageTimes,
    scan_errors: usize,
    batches: usize,
}

impl Runner<'_, '_> {
    /// Sends each window with its output to the writer. Ends at the last image, at a
    /// batch boundary after Ctrl-C, or when the writer stops taking windows.
    fn run(
        &mut self,
        pending: Receiver<Pending>,
        ran: &Sender<Ran>,
        spare: &Receiver<Vec<f32>>,
    ) -> Result<()> {
        // A window of answers in scan order: a batch of images to run, and the cached or
        // failed ones between them. Bounded, so cached answers stream out too.
        let max_window = (4 * self.batch).max(64);
        let mut window: Vec<Slot> = Vec::with_capacity(max_window);
        let mut new_files = Vec::new();
        let mut ready = 0usize;
        let mut batch_input: Vec<f32> = Vec::new();
        loop {
            let t = Instant::now();
            let next = pending.recv();
            let end = next.is_err();
            match next {
                Ok(Pending::Image { item, answer }) => {
                    let prepared = answer.recv().unwrap_or_else(|_| Prepared {
                        outcome: Outcome::Failed {
                            reason: "the decoder stopped unexpectedly on this image".to_string(),
                            content: None,
                        },
                        new_file: None,
                        lookup: Duration::ZERO,
                        decode: Duration::ZERO,
                        letterbox: Duration::ZERO,
                    });
                    let times = &mut self.times;
                    times.waiting += t.elapsed();
                    times.lookup += prepared.lookup;
                    times.decode += prepared.decode;
                    times.letterbox += prepared.letterbox;
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

            let mut output = spare.try_recv().unwrap_or_default();
            let dims = if ready > 0 {
                let d = self.run_batch(&window, ready, &mut batch_input, &mut output)?;
                self.batches += 1;
                Some(d)
            } else {
                None
            };
            ready = 0;
            let sent = ran.send(Ran {
                window: std::mem::replace(&mut window, Vec::with_capacity(max_window)),
                output,
                dims,
                new_files: std::mem::take(&mut new_files),
                end,
            });
            if sent.is_err() || end || self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
    }

    /// Runs the images of `window` that need the model (`ready` of them) in one batch.
    fn run_batch(
        &mut self,
        window: &[Slot],
        ready: usize,
        batch_input: &mut Vec<f32>,
        output: &mut Vec<f32>,
    ) -> Result<[usize; 3]> {
        if !self.engine.is_loaded() {
            let t = Instant::now();
            self.engine.get()?;
            self.times.load += t.elapsed();
        }
        let EngineSlot::Loaded(engine) = &mut *self.engine else {
            unreachable!("loaded above")
        };
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
        let decoded: Vec<(&RgbImage, &Letterbox)> = images
            .iter()
            .filter_map(|&(input, lb)| match input {
                Input::Decoded(img) => Some((img, lb)),
                Input::Tensor(_) => None,
            })
            .collect();

        if decoded.is_empty() {
            // Letterboxed on the decode threads: one image runs as it is, a batch is put
            // together in parallel.
            let tensors: Vec<&[f32]> = images
                .iter()
                .filter_map(|&(input, _)| match input {
                    Input::Tensor(t) => Some(&t[..]),
                    Input::Decoded(_) => None,
                })
                .collect();
            let t = Instant::now();
            let dims = if n == 1 {
                engine.run(tensors[0], shape, output)?
            } else {
                batch_input.resize(n * plane, 0.0);
                batch_input
                    .par_chunks_mut(plane)
                    .zip(tensors.par_iter())
                    .for_each(|(dst, src)| dst.copy_from_slice(src));
                batch_input[tensors.len() * plane..].fill(0.0); // a fixed batch larger than what is left
                engine.run(batch_input, shape, output)?
            };
            self.times.inference += t.elapsed();
            return Ok(dims);
        }

        let required = matches!(
            self.gpu,
            GpuStage::Wanted { required: true, .. } | GpuStage::Open { required: true, .. }
        );
        let max_batch = self.info.batch_size(self.batch);
        if let Some((letterbox, device)) =
            open_gpu(&mut self.gpu, engine.backend, self.hw, max_batch)?
        {
            let t = Instant::now();
            let imgs: Vec<&RgbImage> = decoded.iter().map(|d| d.0).collect();
            let on_gpu = letterbox.run(&imgs).and_then(|(tensor, _)| {
                tracing::trace!("gpu letterbox: synchronising");
                tensor.stream().synchronize()?;
                tracing::trace!("gpu letterbox: done");
                Ok(tensor.device_ptr())
            });
            self.times.letterbox += t.elapsed();
            let t = Instant::now();
            // SAFETY: the letterbox's tensor holds `max_batch ≥ n` images on `device`, and
            // its stream is synchronised; it is not written again before the next batch.
            let ran = on_gpu.and_then(|ptr| {
                tracing::trace!("running the model on the GPU batch at {ptr:#x}");
                unsafe { engine.run_on_gpu(ptr, device, shape, output) }
            });
            tracing::trace!(
                "the model ran: {:?}",
                ran.as_ref().map_err(|e| e.to_string())
            );
            self.times.inference += t.elapsed();
            match ran {
                Ok(dims) => return Ok(dims),
                Err(e) if required => {
                    return Err(e.context("--preprocess gpu: the GPU letterbox failed"));
                }
                Err(e) => {
                    tracing::warn!(
                        "letterboxing on the CPU from now on: the GPU letterbox failed: {e:#}"
                    );
                    self.gpu = GpuStage::Off;
                }
            }
        }

        // Decoded images letterboxed here, in parallel, straight into the batch.
        let t = Instant::now();
        batch_input.resize(n * plane, 0.0);
        batch_input
            .par_chunks_mut(plane)
            .zip(decoded.par_iter())
            .try_for_each(|(dst, (img, lb))| {
                PREPROCESSOR.with_borrow_mut(|p| p.run(&img.pixels, lb, dst))
            })
            .map_err(|e| anyhow!("cannot letterbox the batch: {e}"))?;
        batch_input[decoded.len() * plane..].fill(0.0);
        self.times.letterbox += t.elapsed();
        let t = Instant::now();
        let dims = engine.run(batch_input, shape, output)?;
        self.times.inference += t.elapsed();
        Ok(dims)
    }
}

/// The GPU letterbox, opened on first use; `None` where the run letterboxes on the CPU.
fn open_gpu(
    stage: &mut GpuStage,
    backend: crate::backend::Kind,
    [h, w]: [usize; 2],
    max_batch: usize,
) -> Result<Option<(&mut GpuLetterbox, u32)>> {
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
            tracing::trace!("opening GPU {device} for the letterbox");
            crate::gpu::Gpu::new(device as usize).and_then(|gpu| {
                tracing::trace!("compiling the letterbox kernel");
                GpuLetterbox::new(&gpu, max_batch, [h as u32, w as u32])
            })
        };
        *stage = match opened {
            Ok(letterbox) => {
                tracing::debug!("letterboxing on GPU {device}");
                GpuStage::Open {
                    letterbox: Box::new(letterbox),
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
            letterbox, device, ..
        } => Some((&mut **letterbox, *device)),
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
        spare: &Sender<Vec<f32>>,
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
                    let run = lbs.len().div_ceil(self.posts.len());
                    let runs: Vec<Vec<Stored>> = self
                        .posts
                        .par_iter_mut()
                        .zip(lbs.par_chunks(run))
                        .enumerate()
                        .map(|(k, (post, lbs))| {
                            (lbs.iter().enumerate())
                                .map(|(j, lb)| post.detections(&output, dims, k * run + j, lb))
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
        let record = |width, height, dets: Vec<StoredDetection>, info: &ModelInfo| Record {
            path: slot.item.name.clone(),
            width,
            height,
            model: id.clone(),
            detections: dets
                .into_iter()
                .map(|(class_id, score, bbox)| Detection {
                    class_id,
                    label: info.label(class_id),
                    score,
                    bbox,
                })
                .collect(),
            error: None,
        };
        match slot.outcome {
            Outcome::Cached {
                content,
                width,
                height,
                detections,
            } => {
                store.touched.push(content);
                store.hits += 1;
                self.summary.cache_hits += 1;
                record(width, height, detections, self.info)
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
                record(lb.full_w, lb.full_h, detections, self.info)
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
    candidates: Candidates,
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
            candidates: Candidates::default(),
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
        Stored {
            floor: self.floor,
            cap: self.nms.max_det,
            truncated: self.keep.len() >= self.nms.max_det,
            detections: self
                .keep
                .iter()
                .map(|&k| (c.classes[k], c.scores[k], lb.to_original(c.boxes[k])))
                .collect(),
        }
    }
}
