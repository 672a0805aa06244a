//! Our own CUDA kernels: the letterbox ([`letterbox`]) and NMS for large candidate sets
//! ([`nms`]), through `cudarc`'s driver API and NVRTC.
//!
//! Both libraries are loaded at run time (`cudarc`'s `dynamic-loading`), so the binary
//! builds without CUDA and runs without a GPU. `cudarc` panics when it first touches a
//! library that is not there, so [`available`] looks for `libcuda` and `libnvrtc` before
//! anything else does, and [`Gpu::new`] calls it first.
//!
//! The kernels are CUDA C sources in this folder, compiled at run time by NVRTC for the GPU
//! at hand ([`compile`]). Both are held to the CPU's results bit for bit, so they are
//! compiled with `--fmad=false` (no `a * b + c` contracted into one rounding) and
//! `--prec-div=true`, and spell the float operations that matter with the
//! round-to-nearest intrinsics (`__fmul_rn`, `__fadd_rn`, …), which NVRTC never contracts.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use cudarc::driver::{CudaContext, CudaModule, CudaStream, PinnedHostSlice};
use cudarc::nvrtc::{CompileOptions, Ptx};

pub mod jpeg;
pub mod jpeg_hw;
pub mod letterbox;
pub mod nms;
pub mod upload;

/// Where our kernels' libraries (NVRTC, nvJPEG) are looked for: [`crate::dylib`]'s search.
pub use crate::dylib::find_cuda_library;

/// A kernel source: its name (for errors and tests) and its CUDA C text.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    pub name: &'static str,
    pub source: &'static str,
}

/// Every kernel source we compile, so that a test compiles them all.
pub const KERNELS: [Kernel; 2] = [letterbox::KERNEL, nms::KERNEL];

/// Whether this machine can run our kernels: the CUDA driver library and NVRTC load, and a
/// GPU answers. `Err` says why not. Safe to call anywhere: it checks for the libraries
/// before `cudarc` touches them.
pub fn available() -> Result<(), String> {
    // SAFETY: only tries to dlopen libcuda by its usual names, and closes it again.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(
            "the CUDA driver library (libcuda.so) is not installed: no NVIDIA driver".into(),
        );
    }
    nvrtc_available()?;
    match CudaContext::device_count() {
        Ok(n) if n > 0 => Ok(()),
        Ok(_) => Err("the CUDA driver finds no GPU".into()),
        Err(e) => Err(format!("the CUDA driver does not start: {e}")),
    }
}

/// Whether NVRTC (`libnvrtc.so.13` or a name like it) loads; compiling needs nothing else.
/// Where the loader does not find it by name, it is looked for where anylabel looks for the
/// GPU providers' libraries (CUDA toolkits in /usr/local, Python's `nvidia-*` packages; see
/// [`crate::dylib::nvrtc_location`]) and opened from there.
pub fn nvrtc_available() -> Result<(), String> {
    // SAFETY: only tries to dlopen libnvrtc by its usual names.
    let present = || unsafe { cudarc::nvrtc::sys::is_culib_present() };
    if present() {
        return Ok(());
    }
    if let Some(lib) = crate::dylib::nvrtc_location() {
        crate::dylib::preload_nvrtc(&lib);
        if present() {
            tracing::debug!("NVRTC from {}", lib.display());
            return Ok(());
        }
    }
    Err(
        "NVRTC (libnvrtc.so.13) is not installed where anylabel looks (the library path, \
         /usr/local/cuda*, Python nvidia-* packages): `pip install \"nvidia-cuda-nvrtc==13.*\"`, \
         or the CUDA toolkit"
            .into(),
    )
}

/// The options every kernel is compiled with; see the module comment for why.
fn options(arch: Option<&'static str>) -> CompileOptions {
    CompileOptions {
        ftz: Some(false),
        prec_div: Some(true),
        prec_sqrt: Some(true),
        fmad: Some(false),
        use_fast_math: Some(false),
        arch,
        ..Default::default()
    }
}

/// Compiles a kernel to PTX for `arch` (`compute_90`, …; `None`: NVRTC's default). Call
/// [`nvrtc_available`] first: `cudarc` panics without NVRTC.
pub fn compile(kernel: &Kernel, arch: Option<&'static str>) -> Result<Ptx> {
    cudarc::nvrtc::compile_ptx_with_opts(kernel.source, options(arch))
        .map_err(|e| anyhow!("NVRTC cannot compile the {} kernel: {e}", kernel.name))
}

/// The PTX target for a compute capability NVRTC 13 knows (`None`: its default).
fn arch_for(major: i32, minor: i32) -> Option<&'static str> {
    Some(match (major, minor) {
        (7, 5) => "compute_75",
        (8, 0) => "compute_80",
        (8, 6) => "compute_86",
        (8, 7) => "compute_87",
        (8, 9) => "compute_89",
        (9, 0) => "compute_90",
        (10, 0) => "compute_100",
        (12, 0) => "compute_120",
        _ => return None,
    })
}

/// Page-locked buffers runs gave back, for the next run in this process (at most
/// [`KEEP_PINNED_BYTES`] of them, the latest kept; page-locked memory is
/// `CU_MEMHOSTALLOC_PORTABLE`, good on any GPU). Page-locked memory cannot be swapped out,
/// so what is kept is bounded.
static KEPT_PINNED: std::sync::Mutex<Vec<PinnedHostSlice<f32>>> = std::sync::Mutex::new(Vec::new());
const KEEP_PINNED_BYTES: usize = 512 << 20;

/// Gives a page-locked buffer from [`Gpu::pinned_f32`] back for a later run in this
/// process, once nothing reads or writes it any more.
pub fn keep_pinned(buf: PinnedHostSlice<f32>) {
    let mut kept = KEPT_PINNED.lock().unwrap_or_else(|e| e.into_inner());
    keep_within(&mut kept, buf, |b| b.len() * 4, KEEP_PINNED_BYTES);
}

/// Adds `item` to `kept`, then drops the oldest items until the sizes sum to at most
/// `limit` (`item` too, where it alone is larger).
pub(crate) fn keep_within<T>(kept: &mut Vec<T>, item: T, size: impl Fn(&T) -> usize, limit: usize) {
    kept.push(item);
    let mut total: usize = kept.iter().map(&size).sum();
    while total > limit && !kept.is_empty() {
        total -= size(&kept.remove(0));
    }
}

/// One GPU and the stream our kernels run on.
#[derive(Debug, Clone)]
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    arch: Option<&'static str>,
}

impl Gpu {
    /// Opens GPU `ordinal` (0 is the first), after [`available`] says it can.
    pub fn new(ordinal: usize) -> Result<Gpu> {
        available().map_err(|why| anyhow!("no GPU for our kernels: {why}"))?;
        let ctx =
            CudaContext::new(ordinal).with_context(|| format!("cannot open GPU {ordinal}"))?;
        let (major, minor) = ctx.compute_capability()?;
        // cudarc records and waits on an event per buffer argument of every launch and
        // copy once a context has a second stream (a few µs each, tens per NMS run). Our
        // buffers live and die on this one stream, whose order is the synchronisation, so
        // they go without.
        // SAFETY: every buffer our kernels allocate is used only on `stream` (a reader on
        // another stream, such as ONNX Runtime, synchronises with it first, as
        // `GpuTensor::device_ptr` says).
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream()?;
        Ok(Gpu {
            ctx,
            stream,
            arch: arch_for(major, minor),
        })
    }

    /// The GPU's name, as the driver gives it.
    pub fn name(&self) -> String {
        self.ctx.name().unwrap_or_else(|_| "unknown GPU".into())
    }

    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The stream the kernels and copies are queued on, in order.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// `len` floats of page-locked host memory, which the GPU copies from at the bus's
    /// speed (pageable memory goes through a staging buffer, at a fraction of it). Plain
    /// page-locked memory, not write-combined: ONNX Runtime may read a host input on the CPU.
    /// A buffer an earlier run gave back ([`keep_pinned`]) is used again where one is large
    /// enough: page-locking takes about 0.4 ms a MB, and holds up the GPU's other work.
    pub fn pinned_f32(&self, len: usize) -> Result<PinnedHostSlice<f32>> {
        {
            let mut kept = KEPT_PINNED.lock().unwrap_or_else(|e| e.into_inner());
            let fits = (0..kept.len())
                .filter(|&i| kept[i].len() >= len.max(1))
                .min_by_key(|&i| kept[i].len());
            if let Some(i) = fits {
                return Ok(kept.swap_remove(i));
            }
        }
        // SAFETY: the memory is written before anything reads it (its users fill a batch,
        // then hand it on).
        unsafe {
            self.ctx.alloc_pinned_with_flags::<f32>(
                len.max(1),
                cudarc::driver::sys::CU_MEMHOSTALLOC_PORTABLE,
            )
        }
        .with_context(|| {
            format!(
                "cannot allocate {} MB of page-locked memory",
                (len * 4) >> 20
            )
        })
    }

    /// Compiles `kernel` for this GPU and loads it. The PTX is compiled once a process
    /// (NVRTC takes a tenth of a second or more), however many runs load it.
    pub fn load(&self, kernel: &Kernel) -> Result<Arc<CudaModule>> {
        static COMPILED: std::sync::Mutex<Vec<(&'static str, Option<&'static str>, String)>> =
            std::sync::Mutex::new(Vec::new());
        let mut compiled = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
        let text = match compiled
            .iter()
            .find(|(name, arch, _)| *name == kernel.name && *arch == self.arch)
        {
            Some((_, _, text)) => text.clone(),
            None => {
                let text = compile(kernel, self.arch)?.to_src();
                compiled.push((kernel.name, self.arch, text.clone()));
                text
            }
        };
        drop(compiled);
        let ptx = Ptx::from_src(text);
        self.ctx
            .load_module(ptx)
            .with_context(|| format!("cannot load the {} kernel", kernel.name))
    }
}

/// A one-dimensional launch of blocks of 256 threads covering `n` items.
fn linear(n: usize) -> cudarc::driver::LaunchConfig {
    cudarc::driver::LaunchConfig {
        grid_dim: (n.div_ceil(256).max(1) as u32, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// Lets the device's default memory pool, which the decoded and uploaded images are
/// allocated from and freed to (stream-ordered), keep what it has instead of giving it back
/// to the driver at every synchronisation (its default), so that an image's buffer costs no
/// allocation in the driver once the pool has grown.
pub(crate) fn keep_pool_memory(gpu: &Gpu) {
    use cudarc::driver::sys;
    let dev = gpu.context().cu_device();
    let mut pool: sys::CUmemoryPool = std::ptr::null_mut();
    let mut keep = u64::MAX;
    // SAFETY: out-pointer for the device's default pool; the attribute takes a u64.
    let r = unsafe {
        match sys::cuDeviceGetDefaultMemPool(&mut pool, dev) {
            sys::CUresult::CUDA_SUCCESS => sys::cuMemPoolSetAttribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                (&mut keep as *mut u64).cast(),
            ),
            e => e,
        }
    };
    if r != sys::CUresult::CUDA_SUCCESS {
        tracing::debug!("the GPU's memory pool gives memory back at each synchronisation: {r:?}");
    }
}

/// Things of one kind (decoding states, streams, staging buffers) that threads take one
/// at a time and give back; a panic while one was held does not poison the rest.
pub(crate) struct Pool<T>(std::sync::Mutex<Vec<T>>);

impl<T> Pool<T> {
    pub(crate) fn new() -> Pool<T> {
        Pool(std::sync::Mutex::new(Vec::new()))
    }

    /// One given back earlier, if any.
    pub(crate) fn take(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    pub(crate) fn give(&self, t: T) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(t);
    }

    /// Every one given back (for their owner's drop).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        std::mem::take(self.0.get_mut().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::keep_within;

    #[test]
    fn what_is_kept_stays_within_its_limit_oldest_dropped_first() {
        let mut kept = Vec::new();
        for n in [100, 200, 300] {
            keep_within(&mut kept, n, |&n| n, 600);
        }
        assert_eq!(kept, [100, 200, 300]);
        keep_within(&mut kept, 250, |&n| n, 600);
        assert_eq!(kept, [300, 250]); // 100 and 200 dropped: 850, then 750, then 550
        keep_within(&mut kept, 700, |&n| n, 600);
        assert!(kept.is_empty(), "{kept:?}"); // larger than the limit alone: not kept
        for n in 0..6 {
            keep_within(&mut kept, n, |_| 1, 4);
        }
        assert_eq!(kept, [2, 3, 4, 5]);
    }
}
