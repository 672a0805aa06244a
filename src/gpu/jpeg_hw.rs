//! JPEGs decoded by the GPU's own JPEG engine (NVJPG, on A100, A30, H100, H200 and their
//! kind), through nvJPEG's hardware backend, a batch at a time: `--decode gpu` on a GPU
//! that has one ([docs/gpu.md](../../docs/gpu.md#the-gpus-jpeg-engine)).
//!
//! nvJPEG's default backend ([`super::jpeg::GpuJpeg`]) leaves the Huffman decoding, about
//! half of a JPEG's decoding time, on the calling CPU thread. The engine does all of it, so
//! the decode threads only read the file and parse its header. It decodes only batches
//! (`nvjpegDecodeBatched`), so one thread of its own takes the JPEGs the decode threads
//! hand it ([`HwJpeg::submit`]), decodes as many as have arrived (up to a batch) at once,
//! into device memory, and answers each one; the batching thread waits for that answer
//! where it would have waited for the decode thread's. A batch the engine refuses is tried
//! again one JPEG at a time; a JPEG refused alone goes back, to be decoded on the CPU. After
//! [`GIVE_UP_AFTER`] batches in a row of which it decoded none, the decode threads stop
//! handing it any.
//!
//! Which JPEGs it takes ([`HwJpeg::takes`]): those nvJPEG decodes as they are
//! ([`crate::decode::jpeg_for_gpu`]), that `nvjpegDecodeBatchedSupported` accepts (baseline,
//! one scan, no 4:1:1 or 4:1:0) with the size libjpeg reads, and, with
//! `ANYLABEL_NVJPEG_HARDWARE=P`, the share P% of them picked by their bytes (the same JPEGs
//! each run), the rest left to the decode threads.

use std::ffi::c_uint;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Result, anyhow, bail};
use crossbeam_channel::{Receiver, Sender, bounded};
use cudarc::driver::{CudaContext, CudaStream, DevicePtr};

use super::Gpu;
use super::jpeg::{
    BACKEND_HARDWARE, DeviceImage, Handle, Image, JpegStream, Lib, OUTPUT_RGBI, State, check,
    require,
};

/// The variable that sets the share of JPEGs for the engine, in percent (100 by default;
/// 0 leaves the engine unused).
pub const SHARE_VAR: &str = "ANYLABEL_NVJPEG_HARDWARE";

/// Batches in a row of which the engine decoded no JPEG, even one at a time, after which
/// the decode threads stop handing it any.
pub const GIVE_UP_AFTER: usize = 3;

/// The share in percent from the value of [`SHARE_VAR`], or the error that names it.
pub fn share(value: Option<&str>) -> Result<u32> {
    match value.map(str::trim) {
        None | Some("") => Ok(100),
        Some(v) => match v.strip_suffix('%').unwrap_or(v).parse::<u32>() {
            Ok(p) if p <= 100 => Ok(p),
            _ => bail!("{SHARE_VAR}={v:?}: expected a share in percent, 0 to 100"),
        },
    }
}

/// Whether a JPEG falls in the share `percent`: by a hash of its length and its last 4 KiB
/// (entropy-coded data, where two photos differ), so the same file is picked every run.
fn in_share(bytes: &[u8], percent: u32) -> bool {
    if percent >= 100 {
        return true;
    }
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    for &b in tail {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    (h % 100) < percent as u64
}

/// The engine's answer for one JPEG: its pixels in device memory, or why not with the
/// bytes given back (to decode on the CPU).
pub type Reply = std::result::Result<DeviceImage, (String, Vec<u8>)>;

struct Request {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
    reply: Sender<Reply>,
}

/// The library handle and the parsers, shared by the decode threads and the engine's thread.
struct Shared {
    lib: Lib,
    handle: Handle,
    ctx: Arc<CudaContext>,
    parsers: super::Pool<JpegStream>,
    /// Set after [`GIVE_UP_AFTER`] batches in a row that the engine decoded none of.
    off: AtomicBool,
    /// Such batches in a row so far.
    failed: AtomicUsize,
    /// Whether a refused JPEG has been reported (once, as a warning).
    told: AtomicBool,
}

// SAFETY: nvJPEG's handle may be used from several threads at once; each parser is used by
// one thread at a time (taken from the mutex-guarded pool).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.ctx.bind_to_thread();
        for p in self.parsers.drain() {
            // SAFETY: a parser of this handle that no thread holds any more.
            unsafe { (self.lib.stream_destroy)(p) };
        }
        // SAFETY: the handle, destroyed once, after its parsers and its thread's state.
        unsafe { (self.lib.destroy)(self.handle) };
    }
}

/// The GPU's JPEG engine, with the thread that feeds it.
pub struct HwJpeg {
    shared: Arc<Shared>,
    requests: Option<Sender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
    share: u32,
    pub version: String,
}

impl HwJpeg {
    /// Opens nvJPEG's hardware backend on `gpu` and starts the thread that decodes batches
    /// of up to `max_batch` JPEGs; an error where the GPU has no JPEG engine (most GPUs
    /// outside the data centre) or the library does not start it.
    pub fn open(gpu: &Gpu, max_batch: usize, share: u32) -> Result<HwJpeg> {
        let path = require().map_err(|e| anyhow!(e))?;
        let lib = Lib::open(&path)?;
        let version = lib.version().map_err(|e| anyhow!(e))?;
        gpu.context().bind_to_thread()?;
        let mut handle: Handle = std::ptr::null_mut();
        // SAFETY: no allocators (nvJPEG's defaults), no flags, an out-pointer for the handle,
        // on a thread with the GPU's context current.
        check("nvjpegCreateEx(NVJPEG_BACKEND_HARDWARE)", unsafe {
            (lib.create_ex)(
                BACKEND_HARDWARE,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
                &mut handle,
            )
        })
        .map_err(|e| anyhow!("nvJPEG {version} has no hardware decoder on this GPU: {e}"))?;
        let shared = Arc::new(Shared {
            lib,
            handle,
            ctx: gpu.context().clone(),
            parsers: super::Pool::new(),
            off: AtomicBool::new(false),
            failed: AtomicUsize::new(0),
            told: AtomicBool::new(false),
        });
        let mut state: State = std::ptr::null_mut();
        // SAFETY: an out-pointer for a new state of this handle.
        check("nvjpegJpegStateCreate", unsafe {
            (shared.lib.state_create)(shared.handle, &mut state)
        })
        .map_err(|e| anyhow!(e))?;
        let state = SendState(state);
        let stream = match gpu.context().new_stream() {
            Ok(s) => s,
            Err(e) => {
                // SAFETY: the state created above, used by nothing.
                unsafe { (shared.lib.state_destroy)(state.0) };
                bail!("cannot create a CUDA stream: {e}");
            }
        };
        super::keep_pool_memory(gpu);
        let max_batch = max_batch.max(1);
        let (tx, rx) = bounded::<Request>(4 * max_batch);
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("nvjpeg-engine".into())
            .spawn(move || serve(s, state, stream, rx, max_batch))
            .map_err(|e| anyhow!("cannot start the JPEG engine's thread: {e}"))?;
        tracing::debug!(
            "nvJPEG {version} on the GPU's JPEG engine, batches of up to {max_batch}, {share}% of the JPEGs"
        );
        Ok(HwJpeg {
            shared,
            requests: Some(tx),
            thread: Some(thread),
            share,
            version,
        })
    }

    /// Whether the engine gave up (decoded none of [`GIVE_UP_AFTER`] batches in a row).
    pub fn gave_up(&self) -> bool {
        self.shared.off.load(Ordering::Relaxed)
    }

    /// Whether the engine is still taking JPEGs and this one falls in its share (cheap: ask
    /// before anything parses the JPEG).
    pub fn may_take(&self, bytes: &[u8]) -> bool {
        !self.shared.off.load(Ordering::Relaxed) && in_share(bytes, self.share)
    }

    /// Whether the engine takes this JPEG, one [`crate::decode::jpeg_for_gpu`] found to be
    /// `width × height`: the hardware decoder supports it, and nvJPEG's own parse finds the
    /// same size and three components (the output buffer is sized from them).
    pub fn takes(&self, bytes: &[u8], width: u32, height: u32) -> bool {
        let sh = &self.shared;
        let parser = match sh.parsers.take() {
            Some(p) => p,
            None => {
                let mut p: JpegStream = std::ptr::null_mut();
                // SAFETY: an out-pointer for a new parser of this handle.
                if unsafe { (sh.lib.stream_create)(sh.handle, &mut p) } != 0 {
                    return false;
                }
                p
            }
        };
        let mut supported: std::ffi::c_int = -1;
        let (mut w, mut h, mut components): (c_uint, c_uint, c_uint) = (0, 0, 0);
        // SAFETY: the bytes and their length; a parser this thread holds; out-pointers.
        let ok = unsafe {
            (sh.lib.stream_parse)(sh.handle, bytes.as_ptr(), bytes.len(), 0, 0, parser) == 0
                && (sh.lib.batched_supported)(sh.handle, parser, &mut supported) == 0
                && (sh.lib.frame_dimensions)(parser, &mut w, &mut h) == 0
                && (sh.lib.components_num)(parser, &mut components) == 0
        };
        sh.parsers.give(parser);
        // nvjpegDecodeBatchedSupported: 0 means supported.
        ok && supported == 0 && (w, h) == (width, height) && components == 3
    }

    /// Hands a `width × height` JPEG to the engine; the answer comes on the receiver. The
    /// bytes come back where the engine's thread has stopped.
    pub fn submit(
        &self,
        bytes: Vec<u8>,
        width: u32,
        height: u32,
    ) -> std::result::Result<Receiver<Reply>, Vec<u8>> {
        let Some(requests) = &self.requests else {
            return Err(bytes);
        };
        let (reply, answer) = bounded(1);
        requests
            .send(Request {
                bytes,
                width,
                height,
                reply,
            })
            .map(|()| answer)
            .map_err(|e| e.0.bytes)
    }
}

impl Drop for HwJpeg {
    fn drop(&mut self) {
        self.requests = None; // the thread ends when its queue is empty and closed
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The engine thread's decoding state (used by that thread alone).
struct SendState(State);
// SAFETY: the state moves to the engine's thread once and is used there only.
unsafe impl Send for SendState {}

/// The engine's thread: decodes what has arrived, up to a batch at a time, until the queue
/// closes.
fn serve(
    shared: Arc<Shared>,
    state: SendState,
    stream: Arc<CudaStream>,
    requests: Receiver<Request>,
    max_batch: usize,
) {
    let _ = stream.context().bind_to_thread();
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match requests.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        match decode_batch(&shared, state.0, &stream, &batch) {
            Ok(images) => {
                shared.failed.store(0, Ordering::Relaxed);
                for (r, img) in batch.into_iter().zip(images) {
                    let _ = r.reply.send(Ok(img));
                }
            }
            // The batch fails as a whole: one JPEG at a time, so that one the engine
            // cannot decode costs only itself.
            Err(why) => {
                tracing::debug!(
                    "the GPU's JPEG engine refused a batch ({why}): one JPEG at a time"
                );
                let mut decoded = 0;
                for r in batch {
                    match decode_batch(&shared, state.0, &stream, std::slice::from_ref(&r)) {
                        Ok(mut one) => {
                            decoded += 1;
                            let _ = r.reply.send(Ok(one.remove(0)));
                        }
                        Err(why) => {
                            if !shared.told.swap(true, Ordering::Relaxed) {
                                tracing::warn!(
                                    "the GPU's JPEG engine refused a JPEG ({why}): it is decoded \
                                     on the CPU (the others it refuses are, at debug level)"
                                );
                            } else {
                                tracing::debug!("the GPU's JPEG engine refused a JPEG: {why}");
                            }
                            let _ = r.reply.send(Err((why, r.bytes)));
                        }
                    }
                }
                let failed = if decoded == 0 {
                    shared.failed.fetch_add(1, Ordering::Relaxed) + 1
                } else {
                    shared.failed.store(0, Ordering::Relaxed);
                    0
                };
                if failed >= GIVE_UP_AFTER && !shared.off.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the GPU's JPEG engine decoded none of {failed} batches in a row: the \
                         decode threads decode the JPEGs from now on"
                    );
                }
            }
        }
    }
    let _ = stream.synchronize();
    // SAFETY: this thread's state, used by nothing else, destroyed before the handle (the
    // `Shared` this thread holds keeps the handle alive until then).
    unsafe { (shared.lib.state_destroy)(state.0) };
}

/// One batch through `nvjpegDecodeBatched`, into device memory from the device's pool.
fn decode_batch(
    shared: &Shared,
    state: State,
    stream: &Arc<CudaStream>,
    batch: &[Request],
) -> std::result::Result<Vec<DeviceImage>, String> {
    let mut bufs = Vec::with_capacity(batch.len());
    for r in batch {
        let len = r.width as usize * r.height as usize * 3;
        // SAFETY: the decoder writes every byte before anything reads them.
        let buf = unsafe { stream.alloc::<u8>(len) }
            .map_err(|e| format!("cannot allocate {} MB on the GPU: {e}", len >> 20))?;
        bufs.push(buf);
    }
    let mut images: Vec<Image> = bufs
        .iter()
        .zip(batch)
        .map(|(buf, r)| {
            let (ptr, _) = buf.device_ptr(stream);
            Image {
                channel: [
                    ptr as *mut u8,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                ],
                pitch: [r.width as usize * 3, 0, 0, 0],
            }
        })
        .collect();
    let data: Vec<*const u8> = batch.iter().map(|r| r.bytes.as_ptr()).collect();
    let lengths: Vec<usize> = batch.iter().map(|r| r.bytes.len()).collect();
    let n = batch.len() as std::ffi::c_int;
    // Whatever fails, the next batch reuses the state: let the GPU finish with it first.
    let settled = |e: String| {
        let _ = stream.synchronize();
        e
    };
    // SAFETY: this thread's state; one CPU thread; interleaved RGB output.
    check("nvjpegDecodeBatchedInitialize", unsafe {
        (shared.lib.batched_initialize)(shared.handle, state, n, 1, OUTPUT_RGBI)
    })
    .map_err(settled)?;
    // SAFETY: `n` JPEGs (pointers and lengths into the requests' bytes, alive until the
    // stream is synchronised below) and `n` outputs of width·height·3 bytes with a pitch of
    // width·3, which RGBI output fills; the stream is this thread's, on the current context.
    check("nvjpegDecodeBatched", unsafe {
        (shared.lib.batched_decode)(
            shared.handle,
            state,
            data.as_ptr(),
            lengths.as_ptr(),
            images.as_mut_ptr(),
            stream.cu_stream(),
        )
    })
    .map_err(settled)?;
    stream
        .synchronize()
        .map_err(|e| format!("the GPU failed while decoding: {e}"))?;
    Ok(bufs
        .into_iter()
        .zip(batch)
        .map(|(buf, r)| DeviceImage {
            buf,
            width: r.width,
            height: r.height,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_read_strictly() {
        assert_eq!(share(None).unwrap(), 100);
        assert_eq!(share(Some("")).unwrap(), 100);
        assert_eq!(share(Some("50")).unwrap(), 50);
        assert_eq!(share(Some(" 0% ")).unwrap(), 0);
        for bad in ["101", "-1", "half", "0.5"] {
            let e = share(Some(bad)).unwrap_err().to_string();
            assert!(e.contains(SHARE_VAR) && e.contains("0 to 100"), "{e}");
        }
    }

    #[test]
    fn a_share_picks_about_that_share_the_same_way_each_time() {
        let files: Vec<Vec<u8>> = (0..2000u64)
            .map(|i| {
                let mut rng = crate::rng::XorShift(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
                (0..(300 + i as usize % 5000))
                    .map(|_| (rng.next_u64() >> 56) as u8)
                    .collect()
            })
            .collect();
        for percent in [0, 25, 50, 100] {
            let picked = files.iter().filter(|f| in_share(f, percent)).count();
            let want = 2000 * percent as usize / 100;
            assert!(picked.abs_diff(want) <= 100, "{percent}%: {picked}");
            let again = files.iter().filter(|f| in_share(f, percent)).count();
            assert_eq!(picked, again);
        }
        // A larger share keeps every file a smaller one picked.
        assert!(files.iter().all(|f| !in_share(f, 25) || in_share(f, 50)));
    }
}
