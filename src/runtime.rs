//! Finding ONNX Runtime, or installing the official build.
//!
//! `ort` is built with `load-dynamic`, so one binary runs with whatever ONNX Runtime the
//! machine has. The library is looked for in this order: `ORT_DYLIB_PATH`; `runtime/`
//! under the anylabel home; a Python `onnxruntime` package (the active virtualenv or
//! conda environment, then `python3`'s site-packages); the system library folders. When
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

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

use crate::home::Home;
use crate::pypi::{self, WheelName};
use crate::{fetch, progress};

/// The ONNX Runtime release series `ort` is built against (`api-31`): 1.31 or newer.
pub const MIN_MINOR: u64 = 31;
/// The series anylabel installs.
pub const INSTALL_SERIES: [u64; 2] = [1, 31];

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

impl Runtime {
    /// Whether the GPU providers are beside the library (an `onnxruntime-gpu` build).
    pub fn is_gpu_build(&self) -> bool {
        is_gpu_dir(self.library.parent())
    }
}

fn is_gpu_dir(dir: Option<&Path>) -> bool {
    dir.is_some_and(|d| d.join("libonnxruntime_providers_cuda.so").is_file())
}

/// The library's file name on this platform, with and without a version.
fn lib_prefix() -> &'static str {
    if cfg!(windows) {
        "onnxruntime"
    } else {
        "libonnxruntime"
    }
}

/// Reads the version out of a library file name: `libonnxruntime.so.1.31.1`,
/// `libonnxruntime.1.31.1.dylib`.
pub fn version_from_name(name: &str) -> Option<String> {
    let rest = name.strip_prefix(lib_prefix())?;
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

/// Looks for a library in `dir` whose name carries a version: the newest compatible one.
fn find_in_dir(dir: &Path) -> Option<(PathBuf, Option<String>)> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut found: Vec<(Vec<u64>, PathBuf, Option<String>)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(lib_prefix()) || name.contains("providers") {
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

/// Looks for a usable library without touching the network. For [`Flavour::Gpu`], only
/// builds with the GPU providers count, except that ORT_DYLIB_PATH always wins: a CPU-only
/// library there is an error that says so.
pub fn locate(home: &Home, flavour: Flavour) -> Result<Option<Runtime>> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
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
        if flavour == Flavour::Gpu && !rt.is_gpu_build() {
            bail!(
                "ORT_DYLIB_PATH points at {}, a CPU-only build of ONNX Runtime (no \
                 libonnxruntime_providers_cuda.so beside it), and a GPU backend was asked for: \
                 point it at the library of an onnxruntime-gpu build, or unset it and run \
                 `anylabel runtime install --gpu`",
                rt.library.display()
            );
        }
        return Ok(Some(rt));
    }
    let gpu_only = flavour == Flavour::Gpu;
    // Our own installs, newest first; for the GPU flavour only the GPU builds.
    if let Ok(entries) = std::fs::read_dir(home.runtime_dir()) {
        let mut dirs: Vec<(bool, PathBuf)> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("onnxruntime-"))
                    && p.join(COMPLETE_MARKER).is_file()
            })
            .map(|p| {
                let gpu = p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("onnxruntime-gpu-"));
                (gpu, p)
            })
            .filter(|(gpu, _)| *gpu || !gpu_only)
            .collect();
        // CPU builds before GPU builds (the CPU flavour prefers the smaller one it installs),
        // then the newest first.
        dirs.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        for (_, dir) in &dirs {
            if let Some((library, version)) = find_in_dir(dir) {
                return Ok(Some(Runtime {
                    library,
                    source: Source::Home,
                    version,
                }));
            }
        }
    }
    for dir in python_capi_dirs() {
        if gpu_only && !is_gpu_dir(Some(&dir)) {
            continue;
        }
        if let Some((library, version)) = find_in_dir(&dir) {
            return Ok(Some(Runtime {
                library,
                source: Source::Python,
                version,
            }));
        }
    }
    for dir in system_dirs() {
        if gpu_only && !is_gpu_dir(Some(&dir)) {
            continue;
        }
        if let Some((library, version)) = find_in_dir(&dir) {
            return Ok(Some(Runtime {
                library,
                source: Source::System,
                version,
            }));
        }
    }
    Ok(None)
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

/// Written last into an install folder: a folder without it is an interrupted install.
const COMPLETE_MARKER: &str = ".complete";

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
    let wanted = name.starts_with(lib_prefix())
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
        && let Some((library, version)) = find_in_dir(&dest)
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
    if flavour == Flavour::Gpu && !is_gpu_dir(Some(&unpack)) {
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
        find_in_dir(&dest).ok_or_else(|| anyhow!("no library in {}", dest.display()))?;
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
    fn reads_versions_from_library_names() {
        if cfg!(windows) {
            return;
        }
        assert_eq!(
            version_from_name("libonnxruntime.so.1.31.1").as_deref(),
            Some("1.31.1")
        );
        assert_eq!(
            version_from_name("libonnxruntime.1.31.1.dylib").as_deref(),
            Some("1.31.1")
        );
        assert_eq!(version_from_name("libonnxruntime.so"), None);
        assert_eq!(
            version_from_name("libonnxruntime_providers_shared.so"),
            None
        );
        assert!(compatible(&Some("1.31.0".into())) && compatible(&Some("1.32.2".into())));
        assert!(!compatible(&Some("1.20.1".into())));
    }

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
