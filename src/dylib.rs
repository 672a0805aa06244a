//! Where anylabel looks for shared libraries, and how it opens them: ONNX Runtime itself
//! (`libonnxruntime.so.*`), the libraries its CUDA and TensorRT providers link against
//! (`libcudnn.so.9`, `libcublasLt.so.13`, `libnvinfer.so.10`...), and NVRTC and nvJPEG for
//! our own kernels. Every search goes through here, so the lists below are the order a run
//! looks in, and `anylabel doctor` reports what a run would find.
//!
//! ONNX Runtime ([`locate_onnxruntime`]), the first found wins:
//! 1. `ORT_DYLIB_PATH`: the library file itself (one that is missing is an error, never a
//!    fall-back);
//! 2. `runtime/onnxruntime-*/` under the anylabel home, complete installs only: the CPU
//!    builds before the GPU builds, each newest first;
//! 3. the `onnxruntime/capi/` folder of each Python site-packages ([`site_packages`]);
//! 4. the system folders: `LD_LIBRARY_PATH` (`DYLD_LIBRARY_PATH` on macOS), `/usr/local/lib`,
//!    `/usr/lib`...
//!
//! In a folder, the newest library whose name carries a compatible version (1.31 or newer)
//! is taken. For a GPU backend only folders with the CUDA provider beside the library count.
//!
//! The GPU libraries ([`library_dirs`], [`find_library`]): `LD_LIBRARY_PATH`, the ONNX
//! Runtime folder, the CUDA toolkits in `/usr/local/cuda*`, the system folders, then the
//! `nvidia/*/lib` and `tensorrt*` folders of Python's site-packages (so `pip install
//! nvidia-cudnn-cu13` needs no `LD_LIBRARY_PATH`). NVRTC and nvJPEG are looked for in the same
//! folders ([`find_cuda_library`]). What a provider links against is read from its ELF file
//! ([`linked`], through [`crate::elf`]); [`preload`] opens what was found off the loader's
//! path, so that the provider's own `dlopen` by name finds it; [`fix`] names the command
//! that installs a missing one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::home::Home;

/// The ONNX Runtime release series `ort` is built against (`api-31`): 1.31 or newer.
pub const MIN_MINOR: u64 = 31;

/// Written last into an install folder under `runtime/`: a folder without it is an
/// interrupted install, and is not looked in.
pub const COMPLETE_MARKER: &str = ".complete";

/// Where a library came from, for `anylabel runtime path` and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    EnvVar,
    Home,
    Python,
    System,
    Installed,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::EnvVar => "ORT_DYLIB_PATH",
            Source::Home => "the anylabel home",
            Source::Python => "a Python onnxruntime package",
            Source::System => "the system library path",
            Source::Installed => "just installed from PyPI",
        })
    }
}

/// An ONNX Runtime shared library on disk.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub library: PathBuf,
    pub source: Source,
    /// `1.31.1`, read from the file name where it says.
    pub version: Option<String>,
}

impl Runtime {
    /// Whether the GPU providers are beside the library (an `onnxruntime-gpu` build).
    pub fn is_gpu_build(&self) -> bool {
        self.library.parent().is_some_and(has_gpu_providers)
    }
}

/// Whether `dir` holds ONNX Runtime's CUDA provider (the folder of an `onnxruntime-gpu`
/// build).
pub fn has_gpu_providers(dir: &Path) -> bool {
    dir.join("libonnxruntime_providers_cuda.so").is_file()
}

/// How ONNX Runtime's library files are named on this platform (`libonnxruntime.so.1.31.1`).
pub(crate) fn ort_prefix() -> &'static str {
    if cfg!(windows) {
        "onnxruntime"
    } else {
        "libonnxruntime"
    }
}

/// Reads the version out of a library file name: `libonnxruntime.so.1.31.1`,
/// `libonnxruntime.1.31.1.dylib`.
pub fn version_from_name(name: &str) -> Option<String> {
    let rest = name.strip_prefix(ort_prefix())?;
    let digits: String = rest
        .trim_start_matches(".so")
        .trim_start_matches('.')
        .trim_end_matches(".dylib")
        .to_string();
    let parts: Vec<&str> = digits.split('.').collect();
    (parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    .then_some(digits)
}

fn compatible(version: &Option<String>) -> bool {
    match version {
        // Unknown (an unversioned name): let the loader check it.
        None => true,
        Some(v) => {
            let mut it = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
            let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
            major > 1 || (major == 1 && minor >= MIN_MINOR)
        }
    }
}

/// The ONNX Runtime library in `dir` whose name carries a version: the newest compatible
/// one, with its version.
pub fn onnxruntime_in(dir: &Path) -> Option<(PathBuf, Option<String>)> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut found: Vec<(Vec<u64>, PathBuf, Option<String>)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(ort_prefix()) || name.contains("providers") {
            continue;
        }
        let is_lib = name.contains(".so") || name.ends_with(".dylib") || name.ends_with(".dll");
        if !is_lib {
            continue;
        }
        let version = version_from_name(&name);
        if !compatible(&version) {
            tracing::debug!(
                "skipping {} (version {:?} is older than 1.{MIN_MINOR})",
                e.path().display(),
                version
            );
            continue;
        }
        let key = version
            .as_deref()
            .map(|v| v.split('.').map(|p| p.parse().unwrap_or(0)).collect())
            .unwrap_or_default();
        found.push((key, e.path(), version));
    }
    found.sort();
    found.pop().map(|(_, p, v)| (p, v))
}

/// Looks for ONNX Runtime in the order the module comment gives, without touching the
/// network. With `gpu_only`, only builds with the GPU providers count, except that
/// ORT_DYLIB_PATH always wins: a CPU-only library there is an error that says so.
pub fn locate_onnxruntime(home: &Home, gpu_only: bool) -> Result<Option<Runtime>> {
    if let Some(rt) = from_env(gpu_only)? {
        return Ok(Some(rt));
    }
    let found = |dir: &Path, source: Source| {
        onnxruntime_in(dir).map(|(library, version)| Runtime {
            library,
            source,
            version,
        })
    };
    if let Some(rt) = home_installs(home, gpu_only)
        .iter()
        .find_map(|d| found(d, Source::Home))
    {
        return Ok(Some(rt));
    }
    let wanted = |d: &PathBuf| !gpu_only || has_gpu_providers(d);
    // Python's folders only where the home has none: finding them may ask `python3`.
    if let Some(rt) = python_capi_dirs()
        .iter()
        .filter(|d| wanted(d))
        .find_map(|d| found(d, Source::Python))
    {
        return Ok(Some(rt));
    }
    Ok(system_dirs()
        .iter()
        .filter(|d| wanted(d))
        .find_map(|d| found(d, Source::System)))
}

/// The library ORT_DYLIB_PATH names, where it is set.
fn from_env(gpu_only: bool) -> Result<Option<Runtime>> {
    let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let library = PathBuf::from(p);
    if !library.is_file() {
        bail!(
            "ORT_DYLIB_PATH is set to {}, which is not a file; unset it to let anylabel find or install ONNX Runtime",
            library.display()
        );
    }
    let version = library
        .file_name()
        .and_then(|n| version_from_name(&n.to_string_lossy()));
    let rt = Runtime {
        library,
        source: Source::EnvVar,
        version,
    };
    if gpu_only && !rt.is_gpu_build() {
        bail!(
            "ORT_DYLIB_PATH points at {}, a CPU-only build of ONNX Runtime (no \
             libonnxruntime_providers_cuda.so beside it), and a GPU backend was asked for: \
             point it at the library of an onnxruntime-gpu build, or unset it and run \
             `anylabel runtime install --gpu`",
            rt.library.display()
        );
    }
    Ok(Some(rt))
}

/// anylabel's own complete installs under `runtime/`, in the order they are looked in: the
/// CPU builds before the GPU builds (the CPU flavour prefers the smaller one it installs),
/// each newest first; with `gpu_only`, the GPU builds alone.
fn home_installs(home: &Home, gpu_only: bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(home.runtime_dir()) else {
        return Vec::new();
    };
    let name_starts = |p: &Path, s: &str| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(s))
    };
    let mut dirs: Vec<(bool, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| name_starts(p, "onnxruntime-") && p.join(COMPLETE_MARKER).is_file())
        .map(|p| (name_starts(&p, "onnxruntime-gpu-"), p))
        .filter(|(gpu, _)| *gpu || !gpu_only)
        .collect();
    dirs.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    dirs.into_iter().map(|(_, d)| d).collect()
}

/// `onnxruntime/capi` folders of Python environments on the machine.
fn python_capi_dirs() -> Vec<PathBuf> {
    site_packages()
        .iter()
        .map(|d| d.join("onnxruntime").join("capi"))
        .filter(|d| d.is_dir())
        .collect()
}

/// The site-packages folders of the Python environments on the machine: the active
/// virtualenv or conda environment, then `python3`'s own (asked once per process).
pub fn site_packages() -> &'static [PathBuf] {
    static DIRS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    DIRS.get_or_init(find_site_packages)
}

fn find_site_packages() -> Vec<PathBuf> {
    let mut prefixes: Vec<PathBuf> = ["VIRTUAL_ENV", "CONDA_PREFIX"]
        .iter()
        .filter_map(|v| std::env::var_os(v).map(PathBuf::from))
        .collect();
    let mut site_dirs = Vec::new();
    for prefix in prefixes.drain(..) {
        for lib in ["lib", "lib64"] {
            if let Ok(entries) = std::fs::read_dir(prefix.join(lib)) {
                for e in entries.flatten() {
                    if e.file_name().to_string_lossy().starts_with("python") {
                        site_dirs.push(e.path().join("site-packages"));
                    }
                }
            }
        }
        site_dirs.push(prefix.join("Lib").join("site-packages"));
    }
    // python3's own site-packages; a fraction of a second, and only when nothing else
    // was found first.
    let script =
        "import site,sys; print('\\n'.join(site.getsitepackages() + [site.getusersitepackages()]))";
    for python in ["python3", "python"] {
        if let Ok(out) = Command::new(python).args(["-I", "-c", script]).output()
            && out.status.success()
        {
            site_dirs.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(PathBuf::from),
            );
            break;
        }
    }
    site_dirs.retain(|d| d.is_dir());
    site_dirs.dedup();
    site_dirs
}

/// The system folders ONNX Runtime is looked for in: the loader's path variable, then the
/// usual library folders.
fn system_dirs() -> Vec<PathBuf> {
    let var = if cfg!(target_os = "macos") {
        "DYLD_LIBRARY_PATH"
    } else {
        "LD_LIBRARY_PATH"
    };
    let mut dirs: Vec<PathBuf> = std::env::var_os(var)
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    for d in [
        "/usr/local/lib",
        "/usr/local/lib64",
        "/usr/lib",
        "/usr/lib64",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/opt/homebrew/lib",
        "/opt/onnxruntime/lib",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

/// Where the GPU libraries are looked for: LD_LIBRARY_PATH, the ONNX Runtime folder, CUDA
/// toolkits in /usr/local, the system folders, and Python's nvidia-* and tensorrt packages.
/// Only folders that exist, each once.
pub fn library_dirs(ort_dir: Option<&Path>, site_packages: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    dirs.extend(ort_dir.map(Path::to_path_buf));
    dirs.extend(cuda_toolkit_dirs(Path::new("/usr/local")));
    for d in [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/local/lib",
        "/usr/lib",
    ] {
        dirs.push(PathBuf::from(d));
    }
    for site in site_packages {
        dirs.extend(python_gpu_dirs(site));
    }
    let mut seen = BTreeSet::new();
    dirs.retain(|d| d.is_dir() && seen.insert(d.clone()));
    dirs
}

/// The library folders of the CUDA toolkits in `root` (`cuda`, `cuda-13.0`...), by name.
fn cuda_toolkit_dirs(root: &Path) -> Vec<PathBuf> {
    let mut cuda: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("cuda"))
                })
                .collect()
        })
        .unwrap_or_default();
    cuda.sort();
    cuda.iter()
        .flat_map(|c| {
            [
                c.join("lib64"),
                c.join("targets/x86_64-linux/lib"),
                c.join("targets/sbsa-linux/lib"),
            ]
        })
        .collect()
}

/// The folders NVIDIA's pip wheels put their libraries in, under one site-packages:
/// `nvidia/<package>/lib` by name, then TensorRT's.
fn python_gpu_dirs(site: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(site.join("nvidia"))
        .map(|d| d.flatten().map(|e| e.path().join("lib")).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.push(site.join("tensorrt_libs"));
    dirs.push(site.join("tensorrt"));
    dirs
}

/// The first folder holding `soname`.
pub fn find_library(soname: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(soname)).find(|p| p.exists())
}

/// The first of `names` (sonames, newest first) where the GPU libraries are looked for
/// ([`library_dirs`], without an ONNX Runtime folder). Asks python3 for its site-packages
/// (once a process) only when the other folders lack it.
pub fn find_cuda_library(names: &[&str]) -> Option<PathBuf> {
    let find = |dirs: &[PathBuf]| names.iter().find_map(|n| find_library(n, dirs));
    find(&library_dirs(None, &[])).or_else(|| find(&library_dirs(None, site_packages())))
}

/// Where NVRTC's library is ([`find_cuda_library`]); `None` where it is nowhere there.
pub fn nvrtc_location() -> Option<PathBuf> {
    find_cuda_library(&["libnvrtc.so.13", "libnvrtc.so.12"])
}

/// Opens NVRTC from `lib` for the process: first its builtins library beside it (NVRTC
/// opens that by name when it compiles), then NVRTC itself.
pub fn preload_nvrtc(lib: &Path) {
    let dir = lib.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut builtins: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("libnvrtc-builtins.so"))
                })
                .collect()
        })
        .unwrap_or_default();
    builtins.sort();
    for path in builtins.iter().map(PathBuf::as_path).chain([lib]) {
        if !open(path) {
            tracing::debug!("could not open {}", path.display());
        }
    }
}

/// Libraries every program has, or that the providers carry themselves: not looked for.
fn is_system(soname: &str) -> bool {
    [
        "libc.so",
        "libm.so",
        "libdl.so",
        "librt.so",
        "libpthread.so",
        "libstdc++.so",
        "libgcc_s.so",
        "ld-linux",
        "libonnxruntime_providers_shared.so",
        "libcuda.so",
    ]
    .iter()
    .any(|p| soname.starts_with(p))
}

/// What the shared library at `path` links against (its ELF `DT_NEEDED`, in the file's
/// order) beyond what every system has, each with the first of `dirs` that holds it.
pub fn linked(path: &Path, dirs: &[PathBuf]) -> Result<Vec<(String, Option<PathBuf>)>> {
    Ok(crate::elf::needed(path)?
        .into_iter()
        .filter(|s| !is_system(s))
        .map(|soname| {
            let found = find_library(&soname, dirs);
            (soname, found)
        })
        .collect())
}

/// Opens the library file at `path` for the rest of the process (`RTLD_NOW |
/// RTLD_GLOBAL`), so that a later `dlopen` of its name finds it; false where it does not
/// open.
pub fn open(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: dlopen of a library file; it stays loaded for the process.
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    !h.is_null()
}

/// Opens found libraries that the loader would not find by itself (those in Python
/// packages or CUDA folders off the library path), so that the providers' own `dlopen`
/// of each by name finds the copy already loaded. Libraries that fail to open are left
/// for ONNX Runtime to report.
pub fn preload<'a>(paths: impl IntoIterator<Item = &'a Path>) {
    // Dependencies first: cuDNN's and cuBLAS's own libraries before what links them. The
    // loader resolves a library's needs from those already open, so a few passes settle
    // any order.
    let mut left: Vec<&Path> = paths.into_iter().collect();
    left.sort();
    left.dedup();
    for _ in 0..3 {
        left.retain(|p| !open(p));
        if left.is_empty() {
            break;
        }
    }
    for p in left {
        tracing::debug!("could not preload {}", p.display());
    }
}

/// The command that installs a library, by its file name.
pub fn fix(soname: &str, cuda_major: Option<u32>) -> String {
    let cu = cuda_major.unwrap_or(13);
    let base = soname.split(".so").next().unwrap_or(soname);
    let py = |cu12: &str, cu13: &str| {
        if cu >= 13 {
            format!("`pip install \"{cu13}\"`")
        } else {
            format!("`pip install {cu12}`")
        }
    };
    match base {
        "libcuda" => "the NVIDIA driver (see `nvidia-smi`)".to_string(),
        "libcudart" => py("nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime==13.*"),
        "libcublas" | "libcublasLt" => py("nvidia-cublas-cu12", "nvidia-cublas==13.*"),
        "libcurand" => py("nvidia-curand-cu12", "nvidia-curand==10.4.*"),
        "libcufft" => py("nvidia-cufft-cu12", "nvidia-cufft==12.*"),
        "libnvrtc" => py("nvidia-cuda-nvrtc-cu12", "nvidia-cuda-nvrtc==13.*"),
        b if b.starts_with("libcudnn") => {
            format!(
                "`pip install nvidia-cudnn-cu{}`",
                if cu >= 13 { 13 } else { 12 }
            )
        }
        b if b.starts_with("libnvinfer") || b.starts_with("libnvonnxparser") => format!(
            "TensorRT 10 ({soname}): `pip install \"tensorrt-cu{}==10.*\"`, or the TensorRT 10 \
             tarball from https://developer.nvidia.com/tensorrt with its lib/ on LD_LIBRARY_PATH",
            if cu >= 13 { 13 } else { 12 }
        ),
        "libonnxruntime_providers_shared" => "`anylabel runtime install --gpu`".to_string(),
        _ => format!("the package that provides {soname}"),
    }
}

/// The CUDA major version a set of libraries was built for, from `libcudart.so.N` or
/// `libcublas.so.N`.
pub fn cuda_major(sonames: &[String]) -> Option<u32> {
    sonames.iter().find_map(|s| {
        let rest = s
            .strip_prefix("libcudart.so.")
            .or_else(|| s.strip_prefix("libcublas.so."))?;
        rest.split('.').next()?.parse().ok()
    })
}

/// The fixes for a list of missing libraries, one per install command.
pub fn fixes(sonames: &[String]) -> Vec<String> {
    let cu = cuda_major(sonames);
    let mut out: Vec<String> = Vec::new();
    for s in sonames {
        let f = fix(s, cu);
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.iter().any(|f| f.contains("pip install")) {
        out.push(
            "pip packages need no LD_LIBRARY_PATH: anylabel finds them in the Python environment"
                .into(),
        );
    }
    out
}

/// The libraries a loader message says it could not open
/// (`libcudnn.so.9: cannot open shared object file`).
pub fn unopened_libraries(message: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = message;
    while let Some(i) = rest.find(": cannot open shared object file") {
        let before = &rest[..i];
        let start = before
            .rfind(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == '/')
            .map_or(0, |j| j + 1);
        let name = &before[start..];
        if name.contains(".so") && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
        rest = &rest[i + 1..];
    }
    out
}

#[cfg(test)]
mod tests;
