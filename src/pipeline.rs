//! `infer`: the streaming pipeline from the directory walk to records.
//!
//! ```text
//! scan ──> decode + letterbox ──> batch ──> ONNX Runtime ──> head + NMS ──> records
//! (feeder   (rayon pool, one task     (this thread)                       (in scan order)
//!  thread)   per image, in flight
//!            at most `prefetch`)
//! ```
//!
//! The feeder walks the inputs and hands each image to a decode worker, queueing the
//! worker's one-shot answer in a bounded channel, in scan order. The inference loop takes
//! answers in that order, so records come out in scan order with no reordering buffer, and
//! the bound on the channel is the bound on memory: at most `prefetch` letterboxed images
//! exist at once, whether the folder holds a hundred images or ten million.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use crossbeam_channel::{Receiver, Sender, bounded};
use indicatif::ProgressBar;

use crate::decode::{DecodeOptions, decode_file};
use crate::engine::Engine;
use crate::head::{DecodeParams, Decoder, Head};
use crate::letterbox::{Letterbox, Preprocessor};
use crate::nms::{Candidates, NmsParams, nms};
use crate::record::{Detection, Record};
use crate::scan::{Input, Item, ScanError, scan};

/// Everything `infer` needs besides the model.
#[derive(Debug, Clone)]
pub struct InferOptions {
    pub inputs: Vec<Input>,
    /// `[height, width]` of the model input; `None` takes the model's own or 640.
    pub imgsz: Option<[u32; 2]>,
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

/// Time spent in each stage. Decode and letterbox are summed over the worker threads.
#[derive(Debug, Default, Clone)]
pub struct StageTimes {
    pub decode: Duration,
    pub letterbox: Duration,
    pub inference: Duration,
    pub postprocess: Duration,
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
    /// Folders or list entries that could not be walked or read.
    pub scan_errors: usize,
    pub batches: usize,
    pub elapsed: Duration,
    pub times: StageTimes,
    pub workers: usize,
    /// The output was closed early (a broken pipe): the run stopped there.
    pub stopped_early: bool,
}

struct Prepared {
    image: Result<(Vec<f32>, Letterbox), String>,
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

thread_local! {
    static PREPROCESSOR: std::cell::RefCell<Preprocessor> = std::cell::RefCell::new(Preprocessor::new());
}

/// Runs inference over every input and sends the records to `sink`, in scan order.
/// The engine must have been [prepared](Engine::prepare) for `size`.
pub fn run(
    engine: &mut Engine,
    size: [u32; 2],
    opts: &InferOptions,
    sink: &mut dyn Sink,
    bar: &ProgressBar,
) -> Result<Summary> {
    let started = Instant::now();
    let head = engine
        .head
        .ok_or_else(|| anyhow!("the engine was not prepared"))?;
    let batch = engine.batch_size(opts.batch);
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
    let plane = 3 * h as usize * w as usize;
    let (recycle_tx, recycle_rx) = bounded::<Vec<f32>>(prefetch + batch + 1);
    let stop = Arc::new(AtomicBool::new(false));
    let (pending_tx, pending_rx) = bounded::<Pending>(prefetch);

    let mut summary = Summary {
        workers,
        ..Summary::default()
    };
    std::thread::scope(|s| -> Result<()> {
        let feeder_stop = Arc::clone(&stop);
        let inputs = opts.inputs.clone();
        let decode_opts = opts.decode;
        let pool = &pool;
        s.spawn(move || {
            feed(
                inputs,
                pool,
                pending_tx,
                recycle_rx,
                feeder_stop,
                decode_opts,
                [w, h],
                plane,
            )
        });

        let result = consume(
            engine,
            head,
            batch,
            [h as usize, w as usize],
            opts,
            &pending_rx,
            &recycle_tx,
            sink,
            bar,
            &mut summary,
        );
        // Whatever happened, let the feeder finish: it stops at its next send.
        stop.store(true, Ordering::Relaxed);
        drop(pending_rx);
        result
    })?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn feed(
    inputs: Vec<Input>,
    pool: &rayon::ThreadPool,
    pending: Sender<Pending>,
    recycled: Receiver<Vec<f32>>,
    stop: Arc<AtomicBool>,
    decode_opts: DecodeOptions,
    [w, h]: [u32; 2],
    plane: usize,
) {
    for found in scan(inputs) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let sent = match found {
            Ok(item) => {
                let (tx, rx) = bounded(1);
                let path = item.path.clone();
                let buffer = recycled.try_recv().ok();
                pool.spawn(move || {
                    // A decoder that panics on a hostile file costs that file, not the run.
                    let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        prepare(&path, buffer, &decode_opts, [w, h], plane)
                    }))
                    .unwrap_or_else(|panic| Prepared {
                        image: Err(format!(
                            "the decoder crashed on this file: {}",
                            panic_message(&*panic)
                        )),
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

/// Decodes and letterboxes one image (on a decode thread).
fn prepare(
    path: &std::path::Path,
    buffer: Option<Vec<f32>>,
    opts: &DecodeOptions,
    [w, h]: [u32; 2],
    plane: usize,
) -> Prepared {
    let t0 = Instant::now();
    let decoded = decode_file(path, opts);
    let decode = t0.elapsed();
    let t1 = Instant::now();
    let image = decoded.and_then(|img| {
        let lb = Letterbox::new(img.width, img.height, w, h);
        let mut out = buffer.unwrap_or_default();
        out.resize(plane, 0.0);
        PREPROCESSOR
            .with_borrow_mut(|p| p.run(&img.pixels, &lb, &mut out))
            .map_err(|e| format!("cannot letterbox the image: {e}"))?;
        Ok((out, lb))
    });
    Prepared {
        image,
        decode,
        letterbox: t1.elapsed(),
    }
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
    image: Result<(Vec<f32>, Letterbox), String>,
}

#[allow(clippy::too_many_arguments)]
fn consume(
    engine: &mut Engine,
    head: Head,
    batch: usize,
    [h, w]: [usize; 2],
    opts: &InferOptions,
    pending: &Receiver<Pending>,
    recycle: &Sender<Vec<f32>>,
    sink: &mut dyn Sink,
    bar: &ProgressBar,
    summary: &mut Summary,
) -> Result<()> {
    let plane = 3 * h * w;
    let mut post = Post::new(engine, head, opts);
    let mut window: Vec<Slot> = Vec::with_capacity(batch * 2);
    let mut ready = 0usize;
    let mut batch_input: Vec<f32> = Vec::new();
    let mut output: Vec<f32> = Vec::new();
    loop {
        let t = Instant::now();
        let next = pending.recv();
        let end = next.is_err();
        match next {
            Ok(Pending::Image { item, answer }) => {
                let prepared = answer.recv().unwrap_or_else(|_| Prepared {
                    image: Err("the decoder stopped unexpectedly on this image".to_string()),
                    decode: Duration::ZERO,
                    letterbox: Duration::ZERO,
                });
                summary.times.waiting += t.elapsed();
                summary.times.decode += prepared.decode;
                summary.times.letterbox += prepared.letterbox;
                ready += prepared.image.is_ok() as usize;
                window.push(Slot {
                    item,
                    image: prepared.image,
                });
            }
            Ok(Pending::ScanError(e)) => {
                summary.times.waiting += t.elapsed();
                summary.scan_errors += 1;
                tracing::warn!("{}: {}", e.path.display(), e.reason);
            }
            Err(_) => {}
        }
        if ready < batch && !end {
            continue;
        }
        // Run the batch: the successfully prepared images of the window, in order.
        let mut outputs: Option<[usize; 3]> = None;
        if ready > 0 {
            let t = Instant::now();
            let images: Vec<&Vec<f32>> = window
                .iter()
                .filter_map(|s| s.image.as_ref().ok().map(|(t, _)| t))
                .collect();
            let n = engine.batch_size(ready);
            let dims = if n == 1 {
                engine.run(images[0], [1, 3, h, w], &mut output)?
            } else {
                batch_input.clear();
                batch_input.reserve(n * plane);
                for img in &images {
                    batch_input.extend_from_slice(img);
                }
                batch_input.resize(n * plane, 0.0); // a fixed batch larger than what is left
                engine.run(&batch_input, [n, 3, h, w], &mut output)?
            };
            summary.times.inference += t.elapsed();
            summary.batches += 1;
            outputs = Some(dims);
        }
        let t = Instant::now();
        let mut records = Vec::with_capacity(window.len());
        let mut index = 0;
        for slot in window.drain(..) {
            let record = match slot.image {
                Ok((tensor, lb)) => {
                    let dims = outputs.expect("a batch ran");
                    let detections = post.detections(engine, &output, dims, index, &lb);
                    index += 1;
                    let _ = recycle.try_send(tensor);
                    Record {
                        path: slot.item.name,
                        width: lb.src_w,
                        height: lb.src_h,
                        model: engine.id.clone(),
                        detections,
                        error: None,
                    }
                }
                Err(reason) => {
                    tracing::warn!("{}: {reason}", slot.item.path.display());
                    Record::failed(slot.item.name, engine.id.clone(), reason)
                }
            };
            records.push(record);
        }
        summary.times.postprocess += t.elapsed();
        ready = 0;

        let t = Instant::now();
        for record in &records {
            summary.images += 1;
            summary.failed += record.error.is_some() as usize;
            summary.detections += record.detections.len();
            if let Err(e) = sink.write(record) {
                return handle_write_error(e, summary);
            }
        }
        if let Err(e) = sink.flush() {
            return handle_write_error(e, summary);
        }
        summary.times.write += t.elapsed();
        bar.inc(records.len() as u64);
        if end {
            return Ok(());
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

/// Head decoding, NMS and mapping back to the original image, with reused scratch space.
struct Post {
    head: Head,
    decoder: Decoder,
    params: DecodeParams,
    nms: NmsParams,
    candidates: Candidates,
    order: Vec<usize>,
    keep: Vec<usize>,
}

impl Post {
    fn new(engine: &Engine, head: Head, opts: &InferOptions) -> Post {
        let allowed = opts.classes.as_ref().map(|ids| {
            let n = ids
                .iter()
                .map(|&i| i as usize + 1)
                .max()
                .unwrap_or(0)
                .max(engine.class_names.len());
            let mut allowed = vec![false; n];
            for &i in ids {
                allowed[i as usize] = true;
            }
            allowed
        });
        Post {
            head,
            decoder: Decoder::default(),
            params: DecodeParams {
                conf: opts.conf,
                allowed,
            },
            nms: NmsParams {
                iou: opts.iou,
                max_det: opts.max_det,
                agnostic: opts.agnostic,
                max_candidates: 30_000,
            },
            candidates: Candidates::default(),
            order: Vec::new(),
            keep: Vec::new(),
        }
    }

    fn detections(
        &mut self,
        engine: &Engine,
        output: &[f32],
        dims: [usize; 3],
        index: usize,
        lb: &Letterbox,
    ) -> Vec<Detection> {
        self.candidates.clear();
        self.decoder.decode(
            self.head,
            output,
            dims,
            index,
            &self.params,
            &mut self.candidates,
        );
        let c = &self.candidates;
        if self.head.needs_nms() {
            nms(c, &self.nms, &mut self.order, &mut self.keep);
        } else {
            self.keep.clear();
            self.keep.extend(0..c.len());
            self.keep
                .sort_by(|&a, &b| c.scores[b].total_cmp(&c.scores[a]));
            self.keep.truncate(self.nms.max_det);
        }
        self.keep
            .iter()
            .map(|&k| Detection {
                class_id: c.classes[k],
                label: engine.label(c.classes[k]),
                score: c.scores[k],
                bbox: lb.to_original(c.boxes[k]),
            })
            .collect()
    }
}
