//! The NVIDIA driver, asked directly: `libcuda.so.1` is opened with `dlopen` and five of
//! its functions are called through `dlsym` (`cuInit`, `cuDriverGetVersion`,
//! `cuDeviceGetCount`, `cuDeviceGet`, `cuDeviceGetName`, and `cuDeviceTotalMem_v2`).
//!
//! This is how anylabel tells "no driver" from "no GPU" from "the GPU backend failed"
//! before it loads, or downloads, ONNX Runtime's GPU build. It needs nothing but libc: a
//! machine without the driver gets [`DriverState::Missing`] with the loader's own message,
//! never a panic (a CUDA binding that links libcuda at load time would not start there).

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};

use serde::Serialize;

/// One GPU as the driver lists it (after `CUDA_VISIBLE_DEVICES`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gpu {
    pub index: u32,
    pub name: String,
    /// Total memory in bytes, when the driver said.
    pub memory: Option<u64>,
}

/// What the driver said about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Driver {
    /// The CUDA version the driver supports, as `cuDriverGetVersion` gives it (13000 = 13.0).
    pub cuda_version: i32,
    pub gpus: Vec<Gpu>,
}

impl Driver {
    /// `13.0` for 13000.
    pub fn cuda_version_text(&self) -> String {
        format!(
            "{}.{}",
            self.cuda_version / 1000,
            (self.cuda_version % 1000) / 10
        )
    }
}

/// The outcome of asking the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverState {
    /// `libcuda.so.1` could not be opened: no NVIDIA driver. The loader's message.
    Missing(String),
    /// The library opened, but the driver did not start: the function and its error.
    Failed(String),
    /// The driver started; it may list no GPU.
    Present(Driver),
}

impl DriverState {
    pub fn driver(&self) -> Option<&Driver> {
        match self {
            DriverState::Present(d) => Some(d),
            _ => None,
        }
    }
}

/// `CUDA_ERROR_NO_DEVICE`: the driver runs but sees no GPU.
const CUDA_ERROR_NO_DEVICE: c_int = 100;

fn dlerror() -> String {
    // SAFETY: dlerror returns a thread-local string or null.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown error".to_string()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// Looks up `name` in `handle` as a function of type `F`.
///
/// # Safety
/// `F` must be the symbol's real signature.
unsafe fn symbol<F: Copy>(handle: *mut c_void, name: &CStr) -> Option<F> {
    // SAFETY: dlsym on a live handle; the caller vouches for the type.
    unsafe {
        let p = libc::dlsym(handle, name.as_ptr());
        (!p.is_null()).then(|| std::mem::transmute_copy::<*mut c_void, F>(&p))
    }
}

/// Asks the driver what it has. Opens `libcuda.so.1` once per call and keeps it open (ONNX
/// Runtime's CUDA provider opens the same library later).
pub fn probe() -> DriverState {
    type Init = unsafe extern "C" fn(c_uint) -> c_int;
    type IntOut = unsafe extern "C" fn(*mut c_int) -> c_int;
    type DeviceGet = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
    type DeviceName = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
    type TotalMem = unsafe extern "C" fn(*mut usize, c_int) -> c_int;
    type ErrorName = unsafe extern "C" fn(c_int, *mut *const c_char) -> c_int;

    // SAFETY: plain dlopen/dlsym, with the signatures of the CUDA driver API (cuda.h).
    unsafe {
        let handle = libc::dlopen(c"libcuda.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if handle.is_null() {
            return DriverState::Missing(dlerror());
        }
        let error_name = |code: c_int| -> String {
            let mut p: *const c_char = std::ptr::null();
            match symbol::<ErrorName>(handle, c"cuGetErrorName") {
                Some(f) if f(code, &mut p) == 0 && !p.is_null() => {
                    format!("{} ({code})", CStr::from_ptr(p).to_string_lossy())
                }
                _ => format!("error {code}"),
            }
        };
        let (Some(init), Some(version), Some(count), Some(get), Some(name)) = (
            symbol::<Init>(handle, c"cuInit"),
            symbol::<IntOut>(handle, c"cuDriverGetVersion"),
            symbol::<IntOut>(handle, c"cuDeviceGetCount"),
            symbol::<DeviceGet>(handle, c"cuDeviceGet"),
            symbol::<DeviceName>(handle, c"cuDeviceGetName"),
        ) else {
            return DriverState::Failed(
                "libcuda.so.1 lacks the CUDA driver API functions (cuInit, cuDeviceGetCount...): it is not NVIDIA's driver library".into(),
            );
        };
        let mut cuda_version = 0;
        if version(&mut cuda_version) != 0 {
            cuda_version = 0;
        }
        let rc = init(0);
        if rc == CUDA_ERROR_NO_DEVICE {
            return DriverState::Present(Driver {
                cuda_version,
                gpus: Vec::new(),
            });
        }
        if rc != 0 {
            return DriverState::Failed(format!("cuInit failed with {}", error_name(rc)));
        }
        let mut n = 0;
        let rc = count(&mut n);
        if rc != 0 {
            return DriverState::Failed(format!("cuDeviceGetCount failed with {}", error_name(rc)));
        }
        let total_mem = symbol::<TotalMem>(handle, c"cuDeviceTotalMem_v2");
        let mut gpus = Vec::new();
        for i in 0..n.max(0) {
            let mut dev = 0;
            if get(&mut dev, i) != 0 {
                continue;
            }
            let mut buf = [0 as c_char; 256];
            let gpu_name = if name(buf.as_mut_ptr(), buf.len() as c_int, dev) == 0 {
                CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
            } else {
                format!("GPU {i}")
            };
            let memory = total_mem.and_then(|f| {
                let mut bytes = 0usize;
                (f(&mut bytes, dev) == 0).then_some(bytes as u64)
            });
            gpus.push(Gpu {
                index: i as u32,
                name: gpu_name,
                memory,
            });
        }
        DriverState::Present(Driver { cuda_version, gpus })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_never_panics_and_says_what_it_found() {
        match probe() {
            DriverState::Missing(why) => assert!(why.contains("libcuda"), "{why}"),
            DriverState::Failed(why) => assert!(!why.is_empty()),
            DriverState::Present(d) => assert!(d.gpus.iter().all(|g| !g.name.is_empty())),
        }
    }

    #[test]
    fn formats_the_cuda_version() {
        let d = Driver {
            cuda_version: 13000,
            gpus: vec![],
        };
        assert_eq!(d.cuda_version_text(), "13.0");
        let d = Driver {
            cuda_version: 12040,
            gpus: vec![],
        };
        assert_eq!(d.cuda_version_text(), "12.4");
    }
}
