//! JPEG decoding on the GPU with NVIDIA's nvJPEG (`--decode gpu`), loaded at run time.
//!
//! With the GPU letterbox, the decode threads are what limits `infer` on a GPU: on an H200
//! decoding the fixture JPEGs took 4.4 ms an image, 14.5 of the machine's 16 cores at the
//! model's rate ([docs/gpu.md](../../docs/gpu.md)). nvJPEG's default (hybrid) backend
//! leaves only the Huffman decoding on the calling thread, about 55% of libjpeg-turbo's
//! time on the fixtures (`perf` on `cargo bench --bench prep`), and does the IDCT, the
//! chroma upsampling and the colour conversion on the GPU, into device memory: the decoded
//! pixels then never cross the bus, and the batching thread copies them on the GPU instead
//! of packing them into page-locked memory.
//!
//! The pixels are nvJPEG's, not libjpeg-turbo's (its IDCT and upsampling round
//! differently), so `--decode gpu` is a choice, not the default; the images it cannot take
//! as they are (see [`crate::decode::jpeg_for_gpu`]) are decoded on the CPU as always.
//!
//! The library handle is shared by the decode threads (nvJPEG allows it); each call takes
//! a decoding state and a stream of its own from a pool.

use std::ffi::{CString, c_char, c_int, c_uint, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use cudarc::driver::{CudaSlice, CudaStream, DevicePtr};

use super::Gpu;

/// The sonames looked for, newest first.
const NAMES: [&str; 2] = ["libnvjpeg.so.13", "libnvjpeg.so.12"];

/// What fixes a missing nvJPEG.
pub const INSTALL: &str =
    "`pip install \"nvidia-nvjpeg==13.*\"`, or the CUDA toolkit (which has libnvjpeg.so.13)";

// nvjpeg.h: nvjpegOutputFormat_t NVJPEG_OUTPUT_RGBI, interleaved RGB in channel 0.
pub(super) const OUTPUT_RGBI: c_int = 5;
// nvjpegChromaSubsampling_t values of colour JPEGs nvJPEG decodes to RGB: 444 to 410
// (GRAY, 410V and UNKNOWN left out).
const SUBSAMPLINGS: [c_int; 6] = [0, 1, 2, 3, 4, 5];
// nvjpegBackend_t NVJPEG_BACKEND_HARDWARE: the GPU's JPEG decoding engine (A100, H100...).
pub(super) const BACKEND_HARDWARE: c_int = 3;

/// `nvjpegImage_t`: up to four planes and their pitches.
#[repr(C)]
pub(super) struct Image {
    pub(super) channel: [*mut u8; 4],
    pub(super) pitch: [usize; 4],
}

pub(super) type Handle = *mut c_void;
pub(super) type State = *mut c_void;
/// `nvjpegJpegStream_t`: a parsed JPEG, on the host.
pub(super) type JpegStream = *mut c_void;
pub(super) type Status = c_int;

type CreateSimple = unsafe extern "C" fn(*mut Handle) -> Status;
type Destroy = unsafe extern "C" fn(Handle) -> Status;
type StateCreate = unsafe extern "C" fn(Handle, *mut State) -> Status;
type StateDestroy = unsafe extern "C" fn(State) -> Status;
type GetImageInfo = unsafe extern "C" fn(
    Handle,
    *const u8,
    usize,
    *mut c_int,
    *mut c_int,
    *mut c_int,
    *mut c_int,
) -> Status;
type Decode = unsafe extern "C" fn(
    Handle,
    State,
    *const u8,
    usize,
    c_int,
    *mut Image,
    cudarc::driver::sys::CUstream,
) -> Status;
type GetProperty = unsafe extern "C" fn(c_int, *mut c_int) -> Status;
type CreateEx =
    unsafe extern "C" fn(c_int, *mut c_void, *mut c_void, c_uint, *mut Handle) -> Status;
type StreamCreate = unsafe extern "C" fn(Handle, *mut JpegStream) -> Status;
type StreamDestroy = unsafe extern "C" fn(JpegStream) -> Status;
type StreamParse =
    unsafe extern "C" fn(Handle, *const u8, usize, c_int, c_int, JpegStream) -> Status;
type BatchedSupported = unsafe extern "C" fn(Handle, JpegStream, *mut c_int) -> Status;
type FrameDimensions = unsafe extern "C" fn(JpegStream, *mut c_uint, *mut c_uint) -> Status;
type ComponentsNum = unsafe extern "C" fn(JpegStream, *mut c_uint) -> Status;
type BatchedInitialize = unsafe extern "C" fn(Handle, State, c_int, c_int, c_int) -> Status;
type BatchedDecode = unsafe extern "C" fn(
    Handle,
    State,
    *const *const u8,
    *const usize,
    *mut Image,
    cudarc::driver::sys::CUstream,
) -> Status;

/// The entry points we call, resolved from the library by name.
pub(super) struct Lib {
    create_simple: CreateSimple,
    pub(super) destroy: Destroy,
    pub(super) state_create: StateCreate,
    pub(super) state_destroy: StateDestroy,
    pub(super) get_image_info: GetImageInfo,
    decode: Decode,
    get_property: GetProperty,
    // The hardware decoder's, batched (`super::jpeg_hw`).
    pub(super) create_ex: CreateEx,
    pub(super) stream_create: StreamCreate,
    pub(super) stream_destroy: StreamDestroy,
    pub(super) stream_parse: StreamParse,
    pub(super) batched_supported: BatchedSupported,
    pub(super) frame_dimensions: FrameDimensions,
    pub(super) components_num: ComponentsNum,
    pub(super) batched_initialize: BatchedInitialize,
    pub(super) batched_decode: BatchedDecode,
}

/// nvJPEG's status codes, as nvjpeg.h names them.
pub(super) fn status_name(s: Status) -> String {
    match s {
        1 => "NVJPEG_STATUS_NOT_INITIALIZED".into(),
        2 => "NVJPEG_STATUS_INVALID_PARAMETER".into(),
        3 => "NVJPEG_STATUS_BAD_JPEG".into(),
        4 => "NVJPEG_STATUS_JPEG_NOT_SUPPORTED".into(),
        5 => "NVJPEG_STATUS_ALLOCATOR_FAILURE".into(),
        6 => "NVJPEG_STATUS_EXECUTION_FAILED".into(),
        7 => "NVJPEG_STATUS_ARCH_MISMATCH".into(),
        8 => "NVJPEG_STATUS_INTERNAL_ERROR".into(),
        9 => "NVJPEG_STATUS_IMPLEMENTATION_NOT_SUPPORTED".into(),
        10 => "NVJPEG_STATUS_INCOMPLETE_BITSTREAM".into(),
        s => format!("nvJPEG status {s}"),
    }
}

pub(super) fn check(what: &str, s: Status) -> Result<(), String> {
    if s == 0 {
        Ok(())
    } else {
        Err(format!("{what}: {}", status_name(s)))
    }
}

/// Where nvJPEG's library is: where the GPU providers' libraries and NVRTC are looked for
/// (the library path, `/usr/local/cuda*`, Python's `nvidia-*` packages).
pub fn location() -> Option<PathBuf> {
    super::find_cuda_library(&NAMES)
}

/// nvJPEG's library, or why there is none to use.
pub(super) fn require() -> Result<PathBuf, String> {
    location().ok_or_else(|| {
        format!(
            "nvJPEG (libnvjpeg.so.13) is not installed where anylabel looks (the library path, \
             /usr/local/cuda*, Python nvidia-* packages): {INSTALL}"
        )
    })
}

impl Lib {
    /// Opens the library at `path` and resolves every entry point; needs no GPU.
    pub(super) fn open(path: &Path) -> Result<Lib> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())?;
        // SAFETY: dlopen of a library file, kept open for the process (never dlclosed, so
        // the function pointers below stay valid).
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if h.is_null() {
            // SAFETY: dlerror gives a C string owned by libc, or null.
            let why = unsafe {
                let e = libc::dlerror();
                if e.is_null() {
                    "unknown error".to_string()
                } else {
                    std::ffi::CStr::from_ptr(e).to_string_lossy().into_owned()
                }
            };
            bail!("cannot open {}: {why}", path.display());
        }
        let sym = |name: &str| -> Result<*mut c_void> {
            let n = CString::new(name)?;
            // SAFETY: a symbol lookup in the handle opened above.
            let p = unsafe { libc::dlsym(h, n.as_ptr() as *const c_char) };
            if p.is_null() {
                bail!("{} has no {name}", path.display());
            }
            Ok(p)
        };
        // SAFETY: each symbol is nvjpeg.h's function of that name, with the signature the
        // field declares (checked against nvjpeg.h of CUDA 13.0).
        unsafe {
            use std::mem::transmute;
            Ok(Lib {
                create_simple: transmute::<*mut c_void, CreateSimple>(sym("nvjpegCreateSimple")?),
                destroy: transmute::<*mut c_void, Destroy>(sym("nvjpegDestroy")?),
                state_create: transmute::<*mut c_void, StateCreate>(sym("nvjpegJpegStateCreate")?),
                state_destroy: transmute::<*mut c_void, StateDestroy>(sym(
                    "nvjpegJpegStateDestroy",
                )?),
                get_image_info: transmute::<*mut c_void, GetImageInfo>(sym("nvjpegGetImageInfo")?),
                decode: transmute::<*mut c_void, Decode>(sym("nvjpegDecode")?),
                get_property: transmute::<*mut c_void, GetProperty>(sym("nvjpegGetProperty")?),
                create_ex: transmute::<*mut c_void, CreateEx>(sym("nvjpegCreateEx")?),
                stream_create: transmute::<*mut c_void, StreamCreate>(sym(
                    "nvjpegJpegStreamCreate",
                )?),
                stream_destroy: transmute::<*mut c_void, StreamDestroy>(sym(
                    "nvjpegJpegStreamDestroy",
                )?),
                stream_parse: transmute::<*mut c_void, StreamParse>(sym("nvjpegJpegStreamParse")?),
                batched_supported: transmute::<*mut c_void, BatchedSupported>(sym(
                    "nvjpegDecodeBatchedSupported",
                )?),
                frame_dimensions: transmute::<*mut c_void, FrameDimensions>(sym(
                    "nvjpegJpegStreamGetFrameDimensions",
                )?),
                components_num: transmute::<*mut c_void, ComponentsNum>(sym(
                    "nvjpegJpegStreamGetComponentsNum",
                )?),
                batched_initialize: transmute::<*mut c_void, BatchedInitialize>(sym(
                    "nvjpegDecodeBatchedInitialize",
                )?),
                batched_decode: transmute::<*mut c_void, BatchedDecode>(sym(
                    "nvjpegDecodeBatched",
                )?),
            })
        }
    }

    /// The library's version, `major.minor.patch` (asks no GPU).
    pub(super) fn version(&self) -> Result<String, String> {
        let mut v = [0 as c_int; 3];
        for (i, part) in v.iter_mut().enumerate() {
            // SAFETY: libraryPropertyType MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2.
            check("nvjpegGetProperty", unsafe {
                (self.get_property)(i as c_int, part)
            })?;
        }
        Ok(format!("{}.{}.{}", v[0], v[1], v[2]))
    }
}

/// nvJPEG's version where its library is found and loads (no GPU needed), or why not.
pub fn probe() -> Result<(PathBuf, String), String> {
    let path = require()?;
    let lib = Lib::open(&path).map_err(|e| format!("{e:#}"))?;
    let version = lib.version()?;
    Ok((path, version))
}

/// A decoding state and the stream its work goes on; one thread uses it at a time.
struct Slot {
    state: State,
    stream: Arc<CudaStream>,
}

/// An upright RGB8 image in device memory, `width × height × 3` bytes, row by row.
pub struct DeviceImage {
    pub buf: CudaSlice<u8>,
    pub width: u32,
    pub height: u32,
}

impl Drop for DeviceImage {
    /// Its memory goes back to the device's pool from whichever thread drops the image (the
    /// writer's, which may never have used the GPU): the driver wants the context current.
    fn drop(&mut self) {
        let _ = self.buf.context().bind_to_thread();
    }
}

impl DeviceImage {
    /// Its device address.
    pub fn device_ptr(&self) -> u64 {
        let (ptr, _) = self.buf.device_ptr(self.buf.stream());
        ptr
    }

    pub fn len(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its pixels copied back to host memory (for the CPU letterbox, where the GPU's fails).
    pub fn to_host(&self) -> Result<Vec<u8>> {
        let stream = self.buf.stream();
        let v = stream.clone_dtoh(&self.buf)?;
        stream.synchronize()?;
        Ok(v)
    }
}

/// nvJPEG opened on one GPU, shared by the decode threads.
pub struct GpuJpeg {
    lib: Lib,
    handle: Handle,
    gpu: Gpu,
    slots: super::Pool<Slot>,
    pub version: String,
}

// SAFETY: nvJPEG's library handle may be used from several threads at once (nvJPEG's
// documentation, "Thread safety"); each decoding state is used by one thread at a time
// (taken from and given back to the mutex-guarded pool).
unsafe impl Send for GpuJpeg {}
unsafe impl Sync for GpuJpeg {}

impl GpuJpeg {
    /// Loads nvJPEG and creates its handle on `gpu`'s context.
    pub fn open(gpu: &Gpu) -> Result<GpuJpeg> {
        let path = require().map_err(|e| anyhow!(e))?;
        let lib = Lib::open(&path)?;
        let version = lib.version().map_err(|e| anyhow!(e))?;
        gpu.context().bind_to_thread()?;
        let mut handle: Handle = std::ptr::null_mut();
        // SAFETY: an out-pointer for the handle, on a thread with the GPU's context current.
        check("nvjpegCreateSimple", unsafe {
            (lib.create_simple)(&mut handle)
        })
        .map_err(|e| {
            anyhow!(
                "nvJPEG {version} from {} does not start: {e}",
                path.display()
            )
        })?;
        tracing::debug!("nvJPEG {version} from {}", path.display());
        super::keep_pool_memory(gpu);
        Ok(GpuJpeg {
            lib,
            handle,
            gpu: gpu.clone(),
            slots: super::Pool::new(),
            version,
        })
    }

    fn take_slot(&self) -> Result<Slot, String> {
        if let Some(s) = self.slots.take() {
            return Ok(s);
        }
        let mut state: State = std::ptr::null_mut();
        // SAFETY: an out-pointer for a new state of this handle.
        check("nvjpegJpegStateCreate", unsafe {
            (self.lib.state_create)(self.handle, &mut state)
        })?;
        match self.gpu.context().new_stream() {
            Ok(stream) => Ok(Slot { state, stream }),
            Err(e) => {
                // SAFETY: the state created above, used by nothing.
                unsafe { (self.lib.state_destroy)(state) };
                Err(format!("cannot create a CUDA stream: {e}"))
            }
        }
    }

    /// Decodes the JPEG `bytes` into device memory, as interleaved RGB; waits until the
    /// pixels are there. The error (a reason to decode it on the CPU instead) names
    /// nvJPEG's status.
    pub fn decode(&self, bytes: &[u8]) -> Result<DeviceImage, String> {
        self.gpu
            .context()
            .bind_to_thread()
            .map_err(|e| format!("cannot use the GPU on this thread: {e}"))?;
        let (mut components, mut sampling) = (0 as c_int, 0 as c_int);
        let (mut widths, mut heights) = ([0 as c_int; 4], [0 as c_int; 4]);
        // SAFETY: the bytes and their length; out-pointers for one int each and for four
        // widths and heights, as nvjpeg.h asks.
        check("nvjpegGetImageInfo", unsafe {
            (self.lib.get_image_info)(
                self.handle,
                bytes.as_ptr(),
                bytes.len(),
                &mut components,
                &mut sampling,
                widths.as_mut_ptr(),
                heights.as_mut_ptr(),
            )
        })?;
        if components != 3 || !SUBSAMPLINGS.contains(&sampling) {
            return Err(format!(
                "{components} components, chroma subsampling {sampling}: left to the CPU"
            ));
        }
        let (w, h) = (widths[0], heights[0]);
        if w <= 0 || h <= 0 {
            return Err(format!("nvJPEG reads a {w}×{h} image"));
        }
        let (w, h) = (w as usize, h as usize);
        let slot = self.take_slot()?;
        let result = (|| {
            // SAFETY: nvJPEG writes every byte before anything reads them.
            let buf = unsafe { slot.stream.alloc::<u8>(w * h * 3) }
                .map_err(|e| format!("cannot allocate {} MB on the GPU: {e}", (w * h * 3) >> 20))?;
            let (ptr, _) = buf.device_ptr(&slot.stream);
            let mut out = Image {
                channel: [
                    ptr as *mut u8,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                ],
                pitch: [w * 3, 0, 0, 0],
            };
            // SAFETY: the state is this thread's alone; `out` points at w·h·3 bytes of
            // device memory with a pitch of w·3, which RGBI output fills; the stream
            // belongs to the GPU's context, current on this thread.
            check("nvjpegDecode", unsafe {
                (self.lib.decode)(
                    self.handle,
                    slot.state,
                    bytes.as_ptr(),
                    bytes.len(),
                    OUTPUT_RGBI,
                    &mut out,
                    slot.stream.cu_stream(),
                )
            })?;
            slot.stream
                .synchronize()
                .map_err(|e| format!("the GPU failed while decoding: {e}"))?;
            Ok(DeviceImage {
                buf,
                width: w as u32,
                height: h as u32,
            })
        })();
        self.slots.give(slot);
        result
    }
}

impl Drop for GpuJpeg {
    fn drop(&mut self) {
        let _ = self.gpu.context().bind_to_thread();
        for s in self.slots.drain() {
            let _ = s.stream.synchronize();
            // SAFETY: a state of this handle that no thread holds any more.
            unsafe { (self.lib.state_destroy)(s.state) };
        }
        // SAFETY: the handle, destroyed once, after all its states.
        unsafe { (self.lib.destroy)(self.handle) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry points resolve by the names and the version call works, wherever the
    /// library is installed (the test Python's nvidia-nvjpeg wheel); no GPU needed.
    #[test]
    fn the_library_resolves_where_it_is_installed() {
        let Some(path) = location() else {
            eprintln!("skipped: no libnvjpeg.so.13 where anylabel looks");
            return;
        };
        let lib = Lib::open(&path).unwrap();
        let v = lib.version().unwrap();
        assert!(v.starts_with("12.") || v.starts_with("13."), "{v}");
    }

    #[test]
    fn statuses_are_named() {
        assert_eq!(status_name(4), "NVJPEG_STATUS_JPEG_NOT_SUPPORTED");
        assert!(check("x", 0).is_ok());
        assert_eq!(check("x", 3).unwrap_err(), "x: NVJPEG_STATUS_BAD_JPEG");
    }
}
