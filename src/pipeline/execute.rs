//! The executing stage: a thread that runs the [`Model`] on each batch while the batcher
//! puts the next one together, gives the batch's buffer back, and hands the window with
//! the output to the writer. Where the model runs on a GPU, host batches and outputs are
//! page-locked, and an output whose shape is known is written straight into one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use crossbeam_channel::{Receiver, Sender, bounded};
use cudarc::driver::PinnedHostSlice;

use crate::cache::{Content, FileStamp};
use crate::engine::OutputTo;

use super::model::Model;

use super::batch::{Job, Staged, decoded_images, letterbox_into};
use super::{Input, Outcome, Slot};

/// A window of answers in scan order, with the model's output for the images that ran.
pub(super) struct Ran {
    pub(super) window: Vec<Slot>,
    pub(super) output: Output,
    pub(super) dims: Option<[usize; 3]>,
    pub(super) new_files: Vec<(FileStamp, Content)>,
    pub(super) end: bool,
}

/// A batch's floats in host memory: page-locked where the model runs on a GPU, so that
/// ONNX Runtime copies it to the GPU at the bus's speed rather than through a staging
/// buffer.
pub(super) enum HostBatch {
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
pub(super) struct Output {
    pub(super) buf: HostBatch,
    pub(super) len: usize,
}

impl Output {
    pub(super) fn values(&self) -> Result<&[f32]> {
        self.buf.slice(self.len)
    }
}

impl HostBatch {
    /// Gives a page-locked buffer back for the next run in this process
    /// ([`crate::gpu::keep_pinned`]); a pageable one is dropped.
    pub(super) fn keep(self) {
        if let HostBatch::Pinned(p) = self {
            crate::gpu::keep_pinned(p);
        }
    }

    /// Its first `len` floats (a page-locked buffer holds the largest batch; a pageable
    /// one grows).
    pub(super) fn slice_mut(&mut self, len: usize) -> Result<&mut [f32]> {
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

    pub(super) fn slice(&self, len: usize) -> Result<&[f32]> {
        match self {
            HostBatch::Pageable(v) => Ok(&v[..len]),
            HostBatch::Pinned(p) => Ok(&p.as_slice()?[..len]),
        }
    }
}

/// The batcher's side of the executor: its job queue and the buffers it gives back.
pub(super) struct Exec<'s> {
    pub(super) jobs: Sender<Job>,
    pub(super) thread: std::thread::ScopedJoinHandle<'s, Executed>,
    pub(super) free_host: Receiver<HostBatch>,
    pub(super) free_gpu: Receiver<usize>,
    pub(super) host_made: usize,
    /// The GPU the model runs on: its host batches are page-locked.
    pub(super) pin: Option<crate::gpu::Gpu>,
    pub(super) backend: crate::backend::Kind,
}

impl Exec<'_> {
    /// A host buffer for `len` floats: one of two, waiting for the model to finish with
    /// one when both are in use; `None` when the executor has stopped.
    pub(super) fn host_buffer(&mut self, len: usize) -> Result<Option<HostBatch>> {
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
pub(super) struct Executed {
    pub(super) result: Result<()>,
    pub(super) inference: Duration,
    /// Waiting for the next job after the first.
    pub(super) starved: Duration,
    pub(super) batches: usize,
}

/// Starts the executor's thread: it runs the model on each job's batch, gives the batch's
/// buffer back, and sends the window with the output to the writer.
pub(super) fn start_executor<'s, 'e: 's>(
    s: &'s std::thread::Scope<'s, 'e>,
    engine: &'e mut dyn Model,
    ran: &'e Sender<Ran>,
    spare: &'e Receiver<Output>,
    gpu_failed: &'e AtomicBool,
) -> Exec<'s> {
    let (backend, device) = (engine.backend(), engine.device());
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
    let thread = std::thread::Builder::new()
        .name("executor".into())
        .spawn_scoped(s, move || {
            let back = Returns {
                host: free_host_tx,
                gpu: free_gpu_tx,
            };
            run_jobs(
                engine,
                &jobs,
                ran,
                spare,
                pin_out.as_ref(),
                &back,
                gpu_failed,
            )
        })
        .expect("cannot start the inference thread");
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

/// Where the executor gives a batch's buffer back to the batcher.
pub(super) struct Returns {
    host: Sender<HostBatch>,
    gpu: Sender<usize>,
}

/// The executor's thread: runs the model on each job's batch and hands the window, with
/// the output, to the writer, until the batcher stops sending or the writer stops taking.
fn run_jobs(
    engine: &mut dyn Model,
    jobs: &Receiver<Job>,
    ran: &Sender<Ran>,
    spare: &Receiver<Output>,
    pin: Option<&crate::gpu::Gpu>,
    back: &Returns,
    gpu_failed: &AtomicBool,
) -> Executed {
    let mut done = Executed {
        result: Ok(()),
        inference: Duration::ZERO,
        starved: Duration::ZERO,
        batches: 0,
    };
    let mut known = engine.last_shapes();
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
                        pin,
                        known: &mut known,
                    },
                    &back.host,
                    &back.gpu,
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
    engine.set_last_shapes(known);
    done
}

/// Where the executor puts a batch's output.
pub(super) struct Outputs<'a> {
    pub(super) out: &'a mut Output,
    /// The GPU the model runs on: outputs go to page-locked memory.
    pub(super) pin: Option<&'a crate::gpu::Gpu>,
    /// The last input shape run, with its output's shape.
    pub(super) known: &'a mut Option<([usize; 4], [usize; 3])>,
}

/// A batch as the model reads it.
pub(super) enum ModelInput<'a> {
    Host(&'a [f32]),
    Gpu { ptr: u64, device: u32 },
}

impl Outputs<'_> {
    /// Runs `batch` (`shape`). Once a shape's output shape is known, and the model runs on
    /// a GPU, ONNX Runtime writes the output straight into a page-locked buffer; otherwise
    /// it is copied out of ONNX Runtime's into a pageable one.
    pub(super) fn run(
        &mut self,
        engine: &mut dyn Model,
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
pub(super) fn execute(
    engine: &mut dyn Model,
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
