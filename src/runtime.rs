//! Finding ONNX Runtime, or installing the official build.
//!
//! `ort` is built with `load-dynamic`, so one binary runs with whatever ONNX Runtime the
//! machine has. The library is looked for in this order ([`crate::dylib`] owns the search):
//! `ORT_DYLIB_PATH`; `runtime/` under the anylabel home; a Python `onnxruntime` package (the
//! active virtualenv or conda environment, then `python3`'s site-packages); the system
//! library folders. When
//! none of them has a compatible version (1.31 or newer, the API `ort` was built for),
//! the official `onnxruntime` wheel is fetched from PyPI, verified against the sha256
//! the index publishes, and only its library files are unpacked into
//! `runtime/onnxruntime-<version>/`.
//!
//! The GPU build (`onnxruntime-gpu`, with the CUDA and TensorRT providers beside the
//! library) goes into `runtime/onnxruntime-gpu-<version>/`. It is looked for first when a
//! GPU backend is asked for, and installed only for `--backend cuda|trt` (or `runtime
//! install --gpu`), after the NVIDIA driver has been found: it is a 256 MB download. With
//! `load-dynamic`, one process loads one ONNX Runtime library, so the choice is made
//! before it is loaded.

use anyhow::{Context, Result, anyhow, bail};

use crate::home::Home;
use crate::pypi::{self, WheelName};
use crate::{fetch, progress};

use crate::dylib::{
    COMPLETE_MARKER, has_gpu_providers, onnxruntime_in, ort_prefix, version_from_name,
};
pub use crate::dylib::{MIN_MINOR, Runtime, Source};

/// The series anylabel installs.
pub const INSTALL_SERIES: [u64; 2] = [1, 31];

/// The build of ONNX Runtime to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Any build (the CPU provider is in every one); the CPU build is installed.
    Cpu,
    /// A build with the CUDA provider beside it (`onnxruntime-gpu`).
    Gpu,
}

impl Flavour {
    /// The PyPI project.
    pub fn project(self) -> &'static str {
        match self {
            Flavour::Cpu => "onnxruntime",
            Flavour::Gpu => "onnxruntime-gpu",
        }
    }

    /// The folder under `runtime/` an install of `version` goes into.
    pub fn dir_name(self, version: &str) -> String {
        match self {
            Flavour::Cpu => format!("onnxruntime-{version}"),
            Flavour::Gpu => format!("onnxruntime-gpu-{version}"),
        }
    }
}

/// Looks for a usable library without touching the network, where
/// [`crate::dylib::locate_onnxruntime`] says. For [`Flavour::Gpu`], only builds with the GPU
/// providers count, except that ORT_DYLIB_PATH always wins: a CPU-only library there is an
/// error that says so.
pub fn locate(home: &Home, flavour: Flavour) -> Result<Option<Runtime>> {
    crate::dylib::locate_onnxruntime(home, flavour == Flavour::Gpu)
}

/// The wheel platform tags this machine can use.
fn platform_matches(platform: &str) -> bool {
    let arch_linux = if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else {
        "aarch64"
    };
    if cfg!(target_os = "linux") {
        platform.starts_with("manylinux") && platform.ends_with(arch_linux)
    } else if cfg!(target_os = "macos") {
        platform.starts_with("macosx")
            && platform.ends_with(if cfg!(target_arch = "aarch64") {
                "arm64"
            } else {
                "x86_64"
            })
    } else if cfg!(windows) {
        platform
            == if cfg!(target_arch = "aarch64") {
                "win_arm64"
            } else {
                "win_amd64"
            }
    } else {
        false
    }
}

/// Picks the wheel to install from a project's files: the newest release of the series
/// for this platform (any CPython version: the library inside is the same).
pub fn pick_wheel(files: &[pypi::IndexFile], series: [u64; 2]) -> Option<&pypi::IndexFile> {
    files
        .iter()
        .filter(|f| !f.yanked)
        .filter_map(|f| Some((WheelName::parse(&f.filename)?, f)))
        .filter(|(w, _)| {
            w.release()
                .is_some_and(|r| r.len() >= 2 && r[0] == series[0] && r[1] == series[1])
                && platform_matches(&w.platform)
                && !w.abi.ends_with('t') // free-threaded builds carry the same library; skip them
        })
        .max_by_key(|(w, _)| {
            (
                w.release(),
                w.python
                    .trim_start_matches("cp")
                    .parse::<u32>()
                    .unwrap_or(0),
            )
        })
        .map(|(_, f)| f)
}

/// Whether a wheel member is one of the library files to unpack, and under which name.
fn library_member(member: &str) -> Option<String> {
    let name = member.strip_prefix("onnxruntime/capi/")?;
    if name.contains('/') {
        return None;
    }
    let wanted = name.starts_with(ort_prefix())
        && (name.contains(".so") || name.ends_with(".dylib") || name.ends_with(".dll"))
        || (cfg!(windows) && name.ends_with(".dll") && name.starts_with("onnxruntime"));
    wanted.then(|| name.to_string())
}

/// Installs the official build of the newest ONNX Runtime 1.31.x from PyPI into
/// `runtime/` (the CPU build, or with [`Flavour::Gpu`] the GPU build with its CUDA and
/// TensorRT providers), unless it is there already.
pub fn install(home: &Home, flavour: Flavour) -> Result<Runtime> {
    let _lock = home.lock("runtime")?;
    let agent = fetch::agent();
    let project = flavour.project();
    let files = pypi::project_files(&agent, project)
        .with_context(|| format!("cannot list the releases of {project} on PyPI"))?;
    let wheel = pick_wheel(&files, INSTALL_SERIES).ok_or_else(|| {
        anyhow!(
            "PyPI has no {project} {}.{}.x wheel for this platform ({} {}); install ONNX Runtime yourself and set ORT_DYLIB_PATH to its library",
            INSTALL_SERIES[0],
            INSTALL_SERIES[1],
            std::env::consts::OS,
            std::env::consts::ARCH
        )
    })?;
    let version = WheelName::parse(&wheel.filename)
        .map(|w| w.version)
        .unwrap_or_default();
    let root = home.runtime_dir();
    let dest = root.join(flavour.dir_name(&version));
    if dest.join(COMPLETE_MARKER).is_file()
        && let Some((library, version)) = onnxruntime_in(&dest)
    {
        progress::note(&format!(
            "ONNX Runtime {} ({}) is already installed in {}",
            version.as_deref().unwrap_or("?"),
            flavour_word(flavour),
            dest.display()
        ));
        return Ok(Runtime {
            library,
            source: Source::Home,
            version,
        });
    }
    Home::ensure_dir(&root)?;
    let staging = tempfile::Builder::new()
        .prefix(".install-")
        .tempdir_in(&root)
        .with_context(|| format!("cannot create a folder in {}", root.display()))?;
    let wheel_path = staging.path().join(&wheel.filename);
    fetch::download_verified(
        &agent,
        &wheel.url,
        &wheel.sha256,
        &wheel_path,
        &format!("ONNX Runtime {version} ({})", flavour_word(flavour)),
    )?;
    let unpack = staging.path().join("lib");
    Home::ensure_dir(&unpack)?;
    let written = pypi::extract(&wheel_path, &unpack, library_member)?;
    if !written.iter().any(|p| {
        p.file_name().is_some_and(|n| {
            version_from_name(&n.to_string_lossy()).is_some()
                || n.to_string_lossy().ends_with(".dll")
        })
    }) {
        bail!(
            "{} holds no ONNX Runtime library under onnxruntime/capi/",
            wheel.filename
        );
    }
    if flavour == Flavour::Gpu && !has_gpu_providers(&unpack) {
        bail!(
            "{} holds no CUDA provider (onnxruntime/capi/libonnxruntime_providers_cuda.so): not a GPU build",
            wheel.filename
        );
    }
    std::fs::write(
        unpack.join(COMPLETE_MARKER),
        format!(
            "{}\nsha256 {}\n{}\n",
            wheel.filename, wheel.sha256, wheel.url
        ),
    )?;
    if dest.exists() {
        std::fs::remove_dir_all(&dest).with_context(|| {
            format!(
                "cannot replace the incomplete install in {}",
                dest.display()
            )
        })?;
    }
    std::fs::rename(&unpack, &dest)
        .with_context(|| format!("cannot move the install into {}", dest.display()))?;
    let (library, version) =
        onnxruntime_in(&dest).ok_or_else(|| anyhow!("no library in {}", dest.display()))?;
    progress::note(&format!(
        "installed ONNX Runtime {} ({}) into {}",
        version.as_deref().unwrap_or("?"),
        flavour_word(flavour),
        dest.display()
    ));
    Ok(Runtime {
        library,
        source: Source::Installed,
        version,
    })
}

fn flavour_word(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Cpu => "CPU",
        Flavour::Gpu => "GPU: CUDA and TensorRT providers",
    }
}

/// Finds a library, installing one when none is found and `offline` is false.
pub fn ensure(home: &Home, offline: bool, flavour: Flavour) -> Result<Runtime> {
    if let Some(rt) = locate(home, flavour)? {
        return Ok(rt);
    }
    if offline && flavour == Flavour::Gpu {
        bail!(
            "no GPU build of ONNX Runtime was found and {} forbids installing it (a 256 MB \
             download). Either run `anylabel runtime install --gpu` once with network access \
             (without {0}), or \
             point ORT_DYLIB_PATH at the libonnxruntime.so.* of an onnxruntime-gpu 1.{MIN_MINOR}+ \
             build (with libonnxruntime_providers_cuda.so beside it)",
            crate::fetch::offline_by()
        );
    }
    if flavour == Flavour::Gpu {
        progress::note(
            "no GPU build of ONNX Runtime was found on this machine; installing the official \
             onnxruntime-gpu build from PyPI (about 256 MB, once)",
        );
        return install(home, flavour);
    }
    if offline {
        bail!(
            "ONNX Runtime was not found and {} forbids installing it. Either run \
             `anylabel runtime install` once with network access (without {0}), or point \
             ORT_DYLIB_PATH at an \
             ONNX Runtime 1.{MIN_MINOR}+ library (for example from `pip install onnxruntime`: \
             .../site-packages/onnxruntime/capi/libonnxruntime.so.*)",
            crate::fetch::offline_by()
        );
    }
    progress::note(
        "ONNX Runtime was not found on this machine; installing the official build from PyPI",
    );
    install(home, flavour)
}

/// Loads the library and creates the process's ONNX Runtime environment.
pub fn init(rt: &Runtime) -> Result<ort::environment::Environment> {
    let builder = ort::init_from(&rt.library).map_err(|e| {
        anyhow!(
            "cannot load ONNX Runtime from {} (found through {}): {e}",
            rt.library.display(),
            rt.source
        )
    })?;
    builder
        .with_name("anylabel")
        .with_telemetry(false)
        .build()
        .map_err(|e| {
            anyhow!(
                "cannot start ONNX Runtime from {}: {e}",
                rt.library.display()
            )
        })
}

/// The process's ONNX Runtime: its environment and the library it came from.
pub struct Loaded {
    pub env: ort::environment::Environment,
    pub runtime: Runtime,
}

static LOADED: std::sync::OnceLock<Loaded> = std::sync::OnceLock::new();

/// The process's ONNX Runtime environment, found or installed and started on first use.
/// (ONNX Runtime allows one environment, and `load-dynamic` one library, per process;
/// sessions borrow it. The first call's flavour decides which library that is.)
pub fn environment(
    home: &Home,
    offline: bool,
    flavour: Flavour,
) -> Result<&'static ort::environment::Environment> {
    Ok(&load(home, offline, flavour)?.env)
}

/// [`environment`], with the library it loaded.
pub fn load(home: &Home, offline: bool, flavour: Flavour) -> Result<&'static Loaded> {
    if let Some(l) = LOADED.get() {
        return Ok(l);
    }
    let rt = ensure(home, offline, flavour)?;
    tracing::debug!(
        "ONNX Runtime {} from {} ({})",
        rt.version.as_deref().unwrap_or("?"),
        rt.library.display(),
        rt.source
    );
    let env = init(&rt)?;
    Ok(LOADED.get_or_init(|| Loaded { env, runtime: rt }))
}

/// The loaded ONNX Runtime, if one is.
pub fn loaded() -> Option<&'static Loaded> {
    LOADED.get()
}

/// The providers the loaded ONNX Runtime was built with (`GetAvailableProviders`), e.g.
/// `TensorrtExecutionProvider, CUDAExecutionProvider, CPUExecutionProvider`.
pub fn available_providers() -> Result<Vec<String>> {
    let api = ort::api();
    let mut list: *mut *mut std::ffi::c_char = std::ptr::null_mut();
    let mut n: std::ffi::c_int = 0;
    // SAFETY: the documented use of GetAvailableProviders / ReleaseAvailableProviders; the
    // strings are copied before the list is released.
    unsafe {
        let status = (api.GetAvailableProviders)(&mut list, &mut n);
        if !status.0.is_null() {
            let msg = std::ffi::CStr::from_ptr((api.GetErrorMessage)(status.0))
                .to_string_lossy()
                .into_owned();
            (api.ReleaseStatus)(status.0);
            bail!("ONNX Runtime cannot list its providers: {msg}");
        }
        if list.is_null() {
            return Ok(Vec::new());
        }
        let names = (0..n.max(0) as usize)
            .map(|i| {
                std::ffi::CStr::from_ptr(*list.add(i))
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let status = (api.ReleaseAvailableProviders)(list, n);
        if !status.0.is_null() {
            (api.ReleaseStatus)(status.0);
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_newest_wheel_of_the_series_for_this_platform() {
        let f = |name: &str| pypi::IndexFile {
            filename: name.to_string(),
            url: format!("https://x/{name}"),
            sha256: "00".into(),
            yanked: false,
        };
        let plat = if cfg!(target_os = "linux") && cfg!(target_arch = "x86_64") {
            "manylinux_2_28_x86_64"
        } else {
            return;
        };
        let files = vec![
            f(&format!("onnxruntime-1.31.0-cp311-cp311-{plat}.whl")),
            f(&format!("onnxruntime-1.31.1-cp311-cp311-{plat}.whl")),
            f(&format!("onnxruntime-1.31.1-cp313-cp313t-{plat}.whl")),
            f("onnxruntime-1.31.1-cp311-cp311-win_amd64.whl"),
            f(&format!("onnxruntime-1.32.0-cp311-cp311-{plat}.whl")),
        ];
        assert_eq!(
            pick_wheel(&files, [1, 31]).unwrap().filename,
            format!("onnxruntime-1.31.1-cp311-cp311-{plat}.whl")
        );
        assert!(pick_wheel(&files, [1, 30]).is_none());
        assert_eq!(
            library_member("onnxruntime/capi/libonnxruntime.so.1.31.1").as_deref(),
            Some("libonnxruntime.so.1.31.1")
        );
        assert_eq!(
            library_member("onnxruntime/capi/libonnxruntime_providers_shared.so").as_deref(),
            Some("libonnxruntime_providers_shared.so")
        );
        assert_eq!(
            library_member(
                "onnxruntime/capi/onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so"
            ),
            None
        );
        assert_eq!(library_member("onnxruntime/capi/_ld_preload.py"), None);
        // The GPU build: compound platform tags, and the providers unpacked beside it.
        let gpu = vec![
            f(&format!(
                "onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_27_x86_64.{plat}.whl"
            )),
            f("onnxruntime_gpu-1.31.1-cp312-cp312-win_amd64.whl"),
        ];
        assert_eq!(
            pick_wheel(&gpu, [1, 31]).unwrap().filename,
            format!("onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_27_x86_64.{plat}.whl")
        );
        for p in ["cuda", "tensorrt"] {
            let member = format!("onnxruntime/capi/libonnxruntime_providers_{p}.so");
            assert_eq!(
                library_member(&member).as_deref(),
                Some(&member["onnxruntime/capi/".len()..])
            );
        }
        assert_eq!(Flavour::Gpu.dir_name("1.31.1"), "onnxruntime-gpu-1.31.1");
        assert_eq!(Flavour::Gpu.project(), "onnxruntime-gpu");
    }
}
