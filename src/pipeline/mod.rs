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
//!
//! One file a stage:
//!
//! | stage | file | thread |
//! | --- | --- | --- |
//! | walk the inputs, one decode task an image | `feed.rs` | the feeder |
//! | cache lookup, decode, letterbox (or only decode, for the GPU letterbox) | `decode.rs`, `lookup.rs` | the decode threads |
//! | gather a window, put its batch together (host, or the GPU letterbox) | `batch.rs` | the batcher |
//! | run the model on a batch | `execute.rs`, through a [`Model`] (`model.rs`) | the executor |
//! | head → NMS → original pixels | `post.rs` | the calling thread's pool |
//! | cache writes, records to the [`Sink`], in scan order | `write.rs` | the calling thread |
//!
//! `run` below wires them together; `tests.rs` runs them on a fake [`Model`].

// The stages, in the order an image goes through them.
mod batch;
mod decode;
mod execute;
mod feed;
mod lookup;
mod model;
mod post;
#[cfg(test)]
mod tests;
mod write;

pub use lookup::CacheRun;
pub use model::{EngineSlot, Model};

use batch::Batcher;
use decode::Context;
use execute::{Output, Ran};
use feed::feed;
use post::Post;
use write::Writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use crossbeam_channel::{Receiver, bounded};
use indicatif::ProgressBar;

use crate::cache::{Content, FileStamp};
use crate::decode::{DecodeOptions, RgbImage};
use crate::detections::Detections;
use crate::engine::ModelInfo;
use crate::gpu::jpeg::DeviceImage;
use crate::gpu::jpeg_hw::Reply as EngineReply;
use crate::letterbox::Letterbox;
use crate::record::Record;
use crate::scan::{Item, ScanError, Sources};
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

/// Where records go. `Err` with `ErrorKind::BrokenPipe` ends the run quietly.
pub trait Sink {
    fn write(&mut self, record: &Record) -> std::io::Result<()>;
    /// Called after each batch, so a reader downstream sees records as they are made.
    fn flush(&mut self) -> std::io::Result<()>;
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

/// One image waiting for its batch to run.
struct Slot {
    item: Item,
    outcome: Outcome,
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Runs inference over every input and sends the records to `sink`, in scan order.
/// `stop` is checked at each batch boundary (Ctrl-C).
#[allow(clippy::too_many_arguments)]
pub fn run(
    engine: &mut EngineSlot<impl Model>,
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
    let (workers, prefetch) = threads(opts, batch);
    tracing::trace!("run: {workers} decode threads, {prefetch} images ahead, batch {batch}");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("decode-{i}"))
        .build()
        .map_err(|e| anyhow!("cannot start the decode threads: {e}"))?;
    let ctx = Arc::new(Context::new(opts, info, size, batch, cache.as_deref())?);
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
        let batcher = Batcher::new(info, batch, opts, size, stop, &ctx);
        let engine = &mut *engine;
        let batching = std::thread::Builder::new()
            .name("batcher".into())
            .spawn_scoped(s, move || {
                batcher.run_all(engine, pending_rx, &ran_tx, &spare_rx)
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
        let batched = batching
            .join()
            .map_err(|p| anyhow!("the batching thread crashed: {}", panic_message(&*p)))?;
        // The outputs' page-locked buffers, for the next run in this process.
        spare_left.try_iter().for_each(|o| o.buf.keep());
        batched.add_to(&mut summary)?;
        written
    })?;
    summary.elapsed = started.elapsed();
    tracing::trace!("run: done in {:.3} s", summary.elapsed.as_secs_f64());
    summary.model_loaded = engine.is_loaded();
    Ok(summary)
}

/// The decode threads (`--workers`; 0: one a CPU) and how many images they may decode
/// ahead of the model (`--prefetch`; by default two batches, and every thread busy).
fn threads(opts: &InferOptions, batch: usize) -> (usize, usize) {
    let workers = if opts.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.workers
    };
    let prefetch = opts.prefetch.unwrap_or((2 * batch).max(2 * workers)).max(1);
    (workers, prefetch)
}
