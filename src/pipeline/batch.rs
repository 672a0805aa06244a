//! The batching stage: gathers the decode threads' answers in scan order into windows of
//! one batch (and the cached or failed images between), loads the model on the first
//! batch that needs it, and puts each batch together where the model will read it: in a
//! host buffer (the decode threads' tensors, or images letterboxed here) or in a tensor
//! of the GPU letterbox ([`crate::gpu::letterbox`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use crossbeam_channel::{Receiver, Sender};
use rayon::prelude::*;

use crate::cache::{Content, FileStamp};
use crate::decode::{DecodeErrorKind, DecodeOptions, decode_bytes};
use crate::engine::ModelInfo;
use crate::gpu::letterbox::{GpuLetterbox, Pixels};
use crate::gpu::upload::Uploader;
use crate::letterbox::Letterbox;

use super::decode::{Context, PREPROCESSOR, Uploads};
use super::execute::{Exec, HostBatch, Output, Ran, start_executor};
use super::model::{EngineSlot, Model};
use super::{
    InferOptions, Input, Outcome, Pending, Prepared, Preprocess, Slot, StageTimes, Summary,
    panic_message,
};

/// The GPU letterbox of a run: opened when the first batch needs it.
pub(super) enum GpuStage {
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

/// A window on its way to the model, with its batch put together where the model reads it.
pub(super) struct Job {
    pub(super) window: Vec<Slot>,
    pub(super) batch: Option<Staged>,
    pub(super) new_files: Vec<(FileStamp, Content)>,
    pub(super) end: bool,
}

/// A batch put together for the model; `shape` is `[n, 3, h, w]`.
pub(super) enum Staged {
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

/// The batching thread: gathers each window in scan order and puts its batch together
/// (the decode threads' tensors copied into one, or the decoded images letterboxed on the
/// GPU, or on the CPU), while the executor's thread runs the model on the batch before.
pub(super) struct Batcher<'r> {
    pub(super) info: &'r ModelInfo,
    pub(super) batch: usize,
    pub(super) hw: [usize; 2],
    pub(super) gpu: GpuStage,
    pub(super) stop: &'r AtomicBool,
    /// Waiting, lookup, decode, letterbox (putting batches together included) and load.
    pub(super) times: StageTimes,
    pub(super) scan_errors: usize,
    /// Images decoded by nvJPEG.
    pub(super) gpu_decoded: usize,
    /// Images uploaded by their decode threads.
    pub(super) gpu_uploaded: usize,
    /// Images decoded by the GPU's JPEG engine.
    pub(super) gpu_engine_decoded: usize,
    /// The decode threads' uploader, opened with the GPU letterbox, where the run asks for it.
    pub(super) uploads: Option<Arc<Uploads>>,
    /// GPU letterboxes given up during the run, kept until the executor has stopped: a
    /// batch in one of their tensors may still be on its way to the model.
    pub(super) retired: Vec<GpuLetterbox>,
    /// How the decode threads decode, for the JPEGs the GPU's JPEG engine gives back.
    pub(super) decode: DecodeOptions,
    /// `[width, height]` of the model input.
    pub(super) size: [u32; 2],
}

/// What the batching thread did, for the run's summary.
pub(super) struct Batched {
    /// The executor's inference time, its time waiting for batches, and the batch count.
    ran: Result<(Duration, Duration, usize)>,
    times: StageTimes,
    scan_errors: usize,
    gpu_decoded: usize,
    gpu_uploaded: usize,
    gpu_engine_decoded: usize,
    /// Whether the last batch was letterboxed on the GPU.
    on_gpu: bool,
}

impl Batched {
    /// Adds what the batcher counted to `summary`; the executor's error, if it stopped on one.
    pub(super) fn add_to(self, summary: &mut Summary) -> Result<()> {
        let t = &mut summary.times;
        t.waiting += self.times.waiting;
        t.lookup += self.times.lookup;
        t.decode += self.times.decode;
        t.letterbox += self.times.letterbox;
        t.load += self.times.load;
        summary.scan_errors += self.scan_errors;
        summary.gpu_decoded += self.gpu_decoded;
        summary.gpu_uploaded += self.gpu_uploaded;
        summary.gpu_engine_decoded += self.gpu_engine_decoded;
        let (inference, starved, batches) = self.ran?;
        summary.times.inference += inference;
        summary.times.starved += starved;
        summary.batches += batches;
        if batches > 0 {
            summary.letterboxed_on = Some(if self.on_gpu { "gpu" } else { "cpu" });
        }
        Ok(())
    }
}

impl<'r> Batcher<'r> {
    /// The batcher of a run with `opts` (`size` is the model input's `[height, width]`).
    pub(super) fn new(
        info: &'r ModelInfo,
        batch: usize,
        opts: &InferOptions,
        [h, w]: [u32; 2],
        stop: &'r AtomicBool,
        ctx: &Context,
    ) -> Batcher<'r> {
        Batcher {
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
            uploads: ctx.uploads.clone(),
            retired: Vec::new(),
            decode: ctx.decode,
            size: [w, h],
        }
    }

    /// [`Batcher::run`] to the end, then what it did. The GPU letterboxes it opened are
    /// kept for the next run in this process.
    pub(super) fn run_all(
        mut self,
        engine: &mut EngineSlot<impl Model>,
        pending: Receiver<Pending>,
        ran: &Sender<Ran>,
        spare: &Receiver<Output>,
    ) -> Batched {
        let result = self.run(engine, pending, ran, spare);
        let on_gpu = matches!(self.gpu, GpuStage::Open { .. });
        // The executor is done with them: the next run in this process takes them up.
        if result.is_ok()
            && let GpuStage::Open { letterboxes, .. } =
                std::mem::replace(&mut self.gpu, GpuStage::Off)
        {
            letterboxes.into_iter().for_each(GpuLetterbox::keep);
        }
        Batched {
            ran: result,
            times: std::mem::take(&mut self.times),
            scan_errors: self.scan_errors,
            gpu_decoded: self.gpu_decoded,
            gpu_uploaded: self.gpu_uploaded,
            gpu_engine_decoded: self.gpu_engine_decoded,
            on_gpu,
        }
    }
}

impl Batcher<'_> {
    /// Sends each window, with its batch, to the executor, which runs the model and
    /// hands window and output to the writer. Ends at the last image, at a batch boundary
    /// after Ctrl-C, or when the writer stops taking windows. Gives the executor's
    /// inference time, its time waiting for batches, and the batch count.
    pub(super) fn run(
        &mut self,
        engine: &mut EngineSlot<impl Model>,
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
                if let Ok(next) = next {
                    ready += self.gather(next, t, &mut window, &mut new_files);
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
                    match loaded {
                        Ok(e) => exec = Some(start_executor(s, e, ran, spare, &gpu_failed)),
                        Err(e) => break Err(e),
                    }
                }
                let job = Job {
                    window: std::mem::replace(&mut window, Vec::with_capacity(max_window)),
                    batch: None,
                    new_files: std::mem::take(&mut new_files),
                    end,
                };
                let sent = self.send(exec.as_mut(), job, ready, &gpu_failed, ran);
                ready = 0;
                match sent {
                    Ok(true) if !end && !self.stop.load(Ordering::Relaxed) => {}
                    Ok(_) => break Ok(()),
                    Err(e) => break Err(e),
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

    /// Takes the feeder's next entry into `window` (an image, once its decode thread has
    /// answered) and counts its times; 1 when it is an image for the model, else 0.
    fn gather(
        &mut self,
        next: Pending,
        waited_from: Instant,
        window: &mut Vec<Slot>,
        new_files: &mut Vec<(FileStamp, Content)>,
    ) -> usize {
        match next {
            Pending::Image { item, answer } => {
                let prepared = answer.recv().unwrap_or_else(|_| {
                    Prepared::failed("the decoder stopped unexpectedly on this image".to_string())
                });
                let prepared = self.engine_answer(prepared);
                let times = &mut self.times;
                times.waiting += waited_from.elapsed();
                times.lookup += prepared.lookup;
                times.decode += prepared.decode;
                times.letterbox += prepared.letterbox;
                self.gpu_decoded += prepared.on_gpu as usize;
                self.gpu_uploaded += prepared.uploaded as usize;
                self.gpu_engine_decoded += prepared.by_engine as usize;
                let ready = matches!(prepared.outcome, Outcome::Image { .. }) as usize;
                new_files.extend(prepared.new_file);
                window.push(Slot {
                    item,
                    outcome: prepared.outcome,
                });
                ready
            }
            Pending::ScanError(e) => {
                self.times.waiting += waited_from.elapsed();
                self.scan_errors += 1;
                tracing::warn!("{}: {}", e.path.display(), e.reason);
                0
            }
        }
    }

    /// Hands `job` on: with its batch (of `ready` images) put together, to the executor,
    /// or, before the model is loaded (nothing to run yet), straight to the writer.
    /// `false` when the executor or the writer has stopped.
    fn send(
        &mut self,
        exec: Option<&mut Exec>,
        mut job: Job,
        ready: usize,
        gpu_failed: &AtomicBool,
        ran: &Sender<Ran>,
    ) -> Result<bool> {
        let Some(x) = exec else {
            // No model yet: nothing runs ahead of this window.
            let end = job.end;
            return Ok(ran
                .send(Ran {
                    window: job.window,
                    output: Output::default(),
                    dims: None,
                    new_files: job.new_files,
                    end,
                })
                .is_ok());
        };
        if ready > 0 {
            match self.stage(x, &job.window, ready, gpu_failed)? {
                Some(b) => job.batch = Some(b),
                None => return Ok(false), // the executor has stopped
            }
        }
        match x.jobs.send(job) {
            Ok(()) => {
                tracing::trace!("batcher: batch handed to the executor");
                Ok(true)
            }
            Err(unsent) => {
                // The executor has stopped. The window's device images are freed with the
                // job: first let the GPU finish what it was queued to read from them.
                if let Some(Staged::Gpu { stream, .. }) = &unsent.0.batch {
                    let _ = stream.synchronize();
                }
                Ok(false)
            }
        }
    }

    /// The batch of `window` where the decode threads letterboxed its images: one image
    /// runs as it is, a batch is put together in parallel. `None` when the executor has
    /// stopped.
    fn stage_tensors(
        &mut self,
        x: &mut Exec,
        window: &[Slot],
        shape: [usize; 4],
    ) -> Result<Option<Staged>> {
        let [n, _, h, w] = shape;
        if n == 1 {
            return Ok(Some(Staged::Alone { shape }));
        }
        let plane = 3 * h * w;
        let tensors: Vec<&[f32]> = window
            .iter()
            .filter_map(|s| match &s.outcome {
                Outcome::Image {
                    input: Input::Tensor(t),
                    ..
                } => Some(&t[..]),
                _ => None,
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
        Ok(Some(Staged::Host { buffer, shape }))
    }

    /// Puts together the batch of `window` (its `ready` images that need the model)
    /// where the model will read it; `None` when the executor has stopped.
    pub(super) fn stage(
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
        let decoded = decoded_images(window);
        if decoded.is_empty() {
            return self.stage_tensors(x, window, shape);
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
    pub(super) fn engine_answer(&self, mut p: Prepared) -> Prepared {
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
    pub(super) fn gpu_off(&mut self) {
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
pub(super) fn decoded_images(window: &[Slot]) -> Vec<(Pixels<'_>, &Letterbox)> {
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
pub(super) fn letterbox_into(
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

/// The GPU letterboxes, opened on first use; `None` where the run letterboxes on the CPU.
pub(super) fn open_gpu<'a>(
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
