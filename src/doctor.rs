//! `anylabel doctor`: what this machine offers anylabel, and what to install for the rest.
//!
//! It reports the ONNX Runtime library a run would load (path, version, the providers it
//! was built with), the NVIDIA driver and GPUs, every library the CUDA and TensorRT
//! providers link against with where it was found or the command that installs it, which
//! backends can start (the same [`crate::backend::check`] a run uses, so doctor and
//! `infer` never disagree), the result cache and the TensorRT engine cache. It downloads
//! nothing and runs no model.
//!
//! [`probe`] asks the machine and gathers the answers into a [`Report`]; everything after
//! that is a function of the report: [`render`] writes the text, [`json`] the `--json`
//! object, [`exit_code`] the exit code. So every output is tested on hand-made reports,
//! without the machines they describe.
//!
//! Exit codes: 0 when the CPU backend works (GPU problems are reported, not failed on);
//! 1 when no ONNX Runtime is found or it does not load; 5 (`--require-gpu`) when the GPU
//! backend asked about cannot start.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::backend::{self, Dep, Facts, Kind, OrtFacts, Request, Wanted};
use crate::driver::DriverState;
use crate::dylib;
use crate::exit_codes;
use crate::home::Home;
use crate::runtime::{self, Flavour};

/// What `doctor` is asked.
#[derive(Debug, Clone)]
pub struct Options {
    pub json: bool,
    /// Exit with [`exit_codes::NO_GPU_BACKEND`] unless this backend can start.
    pub require: Option<Kind>,
    pub device: u32,
}

/// What the CUDA and TensorRT providers of onnxruntime-gpu 1.31 link against, for when no
/// GPU build is on the machine to read it from.
const EXPECTED: &[(Kind, &str)] = &[
    (Kind::Cuda, "libcudart.so.13"),
    (Kind::Cuda, "libcublas.so.13"),
    (Kind::Cuda, "libcublasLt.so.13"),
    (Kind::Cuda, "libcurand.so.10"),
    (Kind::Cuda, "libcudnn.so.9"),
    (Kind::Trt, "libnvinfer.so.10"),
];

/// What installs NVRTC, which our kernels are compiled with.
const NVRTC_FIX: &str = "`pip install \"nvidia-cuda-nvrtc==13.*\"`, or the CUDA toolkit";

/// Everything `doctor` found. Its JSON (through [`json`]) is the `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The ONNX Runtime a run with `--backend auto` would load, loaded; `None` where there
    /// is none or it did not load, and then `onnxruntime_error` says why.
    pub onnxruntime: Option<Onnxruntime>,
    pub onnxruntime_error: Option<String>,
    /// The GPU build's library, where one is on the machine.
    pub gpu_build: Option<PathBuf>,
    /// Problems with the libraries found, worth a line of their own.
    pub problems: Vec<String>,
    #[serde(serialize_with = "driver_json")]
    pub driver: DriverState,
    /// What the GPU providers link against, and where each was found.
    pub libraries: Vec<Library>,
    /// Where the list of libraries comes from.
    pub libraries_source: String,
    pub kernels: Kernels,
    /// nvJPEG (for `--decode gpu`): its library and version, or why there is none.
    #[serde(serialize_with = "nvjpeg_json")]
    pub nvjpeg: Result<(PathBuf, String), String>,
    /// The GPU's JPEG engine: `None` where no GPU could be asked (no driver or no nvJPEG).
    #[serde(serialize_with = "jpeg_engine_json")]
    pub jpeg_engine: Option<Result<(), String>>,
    /// Each backend (cpu, cuda, trt), and whether it can start.
    pub backends: Vec<Backend>,
    pub cache: CacheReport,
    pub trt_cache: TrtCache,
    /// The GPU asked about (`--device`).
    #[serde(skip)]
    pub device: u32,
    /// `--require-gpu`: the backend the exit code depends on.
    #[serde(skip)]
    pub require: Option<Kind>,
}

/// The loaded ONNX Runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Onnxruntime {
    pub library: PathBuf,
    /// Where it was found, in words ([`dylib::Source`]).
    pub found_through: String,
    pub version: Option<String>,
    pub gpu_build: bool,
    /// `GetAvailableProviders`.
    pub providers: Vec<String>,
}

/// A library a GPU provider links against: where it was found, or what installs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Library {
    pub provider: Kind,
    pub name: String,
    pub found: Option<PathBuf>,
    /// Set where the library was not found.
    pub fix: Option<String>,
}

/// NVRTC, which compiles our CUDA kernels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kernels {
    pub nvrtc: Option<PathBuf>,
    /// Set where NVRTC was not found.
    pub fix: Option<String>,
}

/// Whether a backend can start, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub backend: Kind,
    pub verdict: Result<(), String>,
}

/// The result cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheReport {
    /// `ANYLABEL_CACHE=off`.
    Off,
    /// No file yet.
    Empty { path: PathBuf },
    Stats {
        path: PathBuf,
        bytes: u64,
        images: u64,
        results: u64,
        hits: u64,
        misses: u64,
    },
    /// The file is there and does not open.
    Error { path: PathBuf, error: String },
}

/// The TensorRT engine cache (`trt/` in the home).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrtCache {
    pub path: PathBuf,
    /// Folders holding a built engine.
    pub engines: usize,
    pub files: u64,
    pub bytes: u64,
}

/// Runs the checks and prints the report; returns the exit code.
pub fn run(opts: &Options, _offline: bool) -> Result<u8> {
    let report = probe(opts)?;
    let mut stdout = std::io::stdout();
    if opts.json {
        // Written, not printed: a closed pipe is an error that ends the command quietly.
        writeln!(stdout, "{}", json(&report)?)?;
    } else {
        stdout.write_all(render(&report).as_bytes())?;
    }
    Ok(exit_code(&report))
}

/// Asks the machine: finds (and loads) ONNX Runtime as a run with `--backend auto` would,
/// probes the driver, looks for every library, and opens the caches. Installs nothing.
pub fn probe(opts: &Options) -> Result<Report> {
    let home = Home::from_env()?;
    let request = Request {
        wanted: Wanted::Auto,
        device: opts.device,
        driver: crate::driver::probe(),
    };
    let ort = probe_onnxruntime(&home, request.flavour(&home));
    let (libraries, libraries_source, deps) = probe_libraries(&ort);
    let facts = Facts {
        driver: request.driver.clone(),
        ort: ort.facts.clone(),
        deps,
    };
    let backends = verdicts(&facts, opts.device, ort.error.is_none());
    let cache = probe_cache(&home);
    let trt_cache = probe_trt_cache(&home);
    // Our own CUDA kernels (the GPU letterbox): NVRTC compiles them.
    let nvrtc = dylib::nvrtc_location();
    // nvJPEG, for --decode gpu: found and loaded (its version asks no GPU), or why not.
    let nvjpeg = crate::gpu::jpeg::probe();
    let jpeg_engine = probe_jpeg_engine(&request.driver, &nvjpeg, opts.device);
    Ok(Report {
        onnxruntime: ort.report,
        onnxruntime_error: ort.error,
        gpu_build: ort.gpu_build.map(|g| g.library),
        problems: ort.problems,
        driver: request.driver,
        libraries,
        libraries_source,
        kernels: Kernels {
            fix: nvrtc.is_none().then(|| NVRTC_FIX.to_string()),
            nvrtc,
        },
        nvjpeg,
        jpeg_engine,
        backends,
        cache,
        trt_cache,
        device: opts.device,
        require: opts.require,
    })
}

/// What was found of ONNX Runtime.
struct OrtProbe {
    report: Option<Onnxruntime>,
    error: Option<String>,
    facts: Option<OrtFacts>,
    gpu_build: Option<runtime::Runtime>,
    problems: Vec<String>,
}

/// The ONNX Runtime a run with `--backend auto` would load (of `flavour`), loaded, and
/// the GPU build where there is one. Nothing is installed.
fn probe_onnxruntime(home: &Home, flavour: Flavour) -> OrtProbe {
    let mut problems = Vec::new();
    let located = runtime::locate(home, flavour);
    let gpu_build = match runtime::locate(home, Flavour::Gpu) {
        Ok(rt) => rt,
        // A CPU-only ORT_DYLIB_PATH is a problem only where a GPU backend could run.
        Err(e) if flavour == Flavour::Gpu => {
            problems.push(format!("{e:#}"));
            None
        }
        Err(_) => None,
    };
    let loaded = match located {
        Ok(Some(rt)) => runtime::load(home, true, flavour)
            .map_err(|e| format!("{} does not load: {e:#}", rt.library.display())),
        Ok(None) => Err(
            "no ONNX Runtime found (ORT_DYLIB_PATH, ~/.anylabeling/runtime, Python \
             onnxruntime packages, the system library folders); `anylabel runtime install` \
             installs it (infer does on first use)"
                .to_string(),
        ),
        Err(e) => Err(format!("{e:#}")),
    };
    let (report, facts, error) = match loaded {
        Ok(loaded) => {
            let providers = runtime::available_providers().unwrap_or_default();
            let rt = &loaded.runtime;
            let facts = OrtFacts {
                library: rt.library.clone(),
                version: rt.version.clone(),
                providers: providers.clone(),
                from_env: rt.source == dylib::Source::EnvVar,
            };
            let report = Onnxruntime {
                library: rt.library.clone(),
                found_through: rt.source.to_string(),
                version: rt.version.clone(),
                gpu_build: rt.is_gpu_build(),
                providers,
            };
            (Some(report), Some(facts), None)
        }
        Err(e) => (None, None, Some(e)),
    };
    OrtProbe {
        report,
        error,
        facts,
        gpu_build,
        problems,
    }
}

/// The libraries the GPU providers need, read from the GPU build where there is one (the
/// one loaded, else the one on the machine), else the list onnxruntime-gpu 1.31 is known to
/// need; with where the list comes from, and the same as the [`Dep`]s a run checks.
fn probe_libraries(ort: &OrtProbe) -> (Vec<Library>, String, Vec<Dep>) {
    let provider_lib: Option<PathBuf> = ort
        .facts
        .as_ref()
        .filter(|o| o.library.parent().is_some_and(dylib::has_gpu_providers))
        .map(|o| o.library.clone())
        .or_else(|| ort.gpu_build.as_ref().map(|g| g.library.clone()));
    let dirs = dylib::library_dirs(
        provider_lib.as_deref().and_then(Path::parent),
        dylib::site_packages(),
    );
    let (deps, source) = match &provider_lib {
        Some(lib) => (
            backend::provider_deps(lib, &dirs),
            format!("read from the providers beside {}", lib.display()),
        ),
        None => (
            EXPECTED
                .iter()
                .map(|(k, s)| Dep {
                    provider: *k,
                    soname: s.to_string(),
                    found: dylib::find_library(s, &dirs),
                })
                .collect(),
            "what onnxruntime-gpu 1.31 needs; no GPU build is installed to read it from"
                .to_string(),
        ),
    };
    let sonames: Vec<String> = deps.iter().map(|d| d.soname.clone()).collect();
    let cuda_major = dylib::cuda_major(&sonames);
    let libraries = deps
        .iter()
        .map(|d| Library {
            provider: d.provider,
            name: d.soname.clone(),
            found: d.found.clone(),
            fix: d.found.is_none().then(|| dylib::fix(&d.soname, cuda_major)),
        })
        .collect();
    (libraries, source, deps)
}

/// Each backend's row, in the text and the JSON alike: without ONNX Runtime no backend
/// runs, whatever its own check found.
fn verdicts(facts: &Facts, device: u32, ort_loaded: bool) -> Vec<Backend> {
    [Kind::Cpu, Kind::Cuda, Kind::Trt]
        .into_iter()
        .map(|k| {
            let checked = if k == Kind::Cpu {
                Ok(())
            } else {
                backend::check(k, device, facts)
            };
            let verdict = match checked {
                _ if !ort_loaded => Err("ONNX Runtime is not loaded".to_string()),
                Ok(()) => Ok(()),
                Err(e) => Err(e.to_string()),
            };
            Backend {
                backend: k,
                verdict,
            }
        })
        .collect()
}

fn probe_cache(home: &Home) -> CacheReport {
    match crate::cache::Cache::default_path(home) {
        None => CacheReport::Off,
        Some(path) if !path.exists() => CacheReport::Empty { path },
        Some(path) => match crate::cache::Cache::open(&path).and_then(|c| c.stats()) {
            Ok(s) => CacheReport::Stats {
                path,
                bytes: s.bytes,
                images: s.images,
                results: s.results,
                hits: s.hits,
                misses: s.misses,
            },
            Err(e) => CacheReport::Error {
                path,
                error: format!("{e:#}"),
            },
        },
    }
}

fn probe_trt_cache(home: &Home) -> TrtCache {
    let path = home.trt_dir();
    let engines = std::fs::read_dir(&path)
        .map(|d| {
            d.flatten()
                .filter(|e| crate::trt::has_engine(&e.path()))
                .count()
        })
        .unwrap_or(0);
    let (mut files, mut bytes) = (0, 0);
    for e in walkdir::WalkDir::new(&path).into_iter().flatten() {
        if e.file_type().is_file() {
            files += 1;
            bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    TrtCache {
        path,
        engines,
        files,
        bytes,
    }
}

/// The GPU's JPEG engine (A100, H100, H200...), which --decode gpu uses where there is one:
/// only a GPU can say. `None` without a driver or nvJPEG.
fn probe_jpeg_engine(
    driver: &DriverState,
    nvjpeg: &Result<(PathBuf, String), String>,
    device: u32,
) -> Option<Result<(), String>> {
    (matches!(driver, DriverState::Present(_)) && nvjpeg.is_ok()).then(|| {
        crate::gpu::Gpu::new(device as usize)
            .and_then(|gpu| crate::gpu::jpeg_hw::HwJpeg::open(&gpu, 1, 100))
            .map(drop)
            .map_err(|e| format!("{e:#}"))
    })
}

/// The exit code the report calls for: 1 without a loaded ONNX Runtime; 5 where
/// `--require-gpu`'s backend cannot start; else 0.
pub fn exit_code(report: &Report) -> u8 {
    if report.onnxruntime.is_none() {
        exit_codes::ERROR
    } else if let Some(k) = report.require
        && report
            .backends
            .iter()
            .any(|b| b.backend == k && b.verdict.is_err())
    {
        exit_codes::NO_GPU_BACKEND
    } else {
        exit_codes::SUCCESS
    }
}

/// What the report names as `--backend auto`'s choice: the first ready backend in the
/// report's order (cpu, cuda, trt); none without ONNX Runtime.
pub fn auto(report: &Report) -> Option<Kind> {
    report
        .backends
        .iter()
        .find(|b| b.verdict.is_ok())
        .map(|b| b.backend)
}

/// The `--json` output: the report's fields, with `auto` and `exit_code`.
pub fn json(report: &Report) -> Result<serde_json::Value> {
    #[derive(Serialize)]
    struct Json<'a> {
        #[serde(flatten)]
        report: &'a Report,
        auto: Option<Kind>,
        exit_code: u8,
    }
    Ok(serde_json::to_value(Json {
        report,
        auto: auto(report),
        exit_code: exit_code(report),
    })?)
}

fn driver_json<S: Serializer>(driver: &DriverState, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(None)?;
    match driver {
        DriverState::Missing(why) => {
            m.serialize_entry("present", &false)?;
            m.serialize_entry("error", why)?;
        }
        DriverState::Failed(why) => {
            m.serialize_entry("present", &true)?;
            m.serialize_entry("error", why)?;
        }
        DriverState::Present(d) => {
            m.serialize_entry("present", &true)?;
            m.serialize_entry("cuda_version", &d.cuda_version_text())?;
            m.serialize_entry("gpus", &d.gpus)?;
        }
    }
    m.end()
}

fn nvjpeg_json<S: Serializer>(
    nvjpeg: &Result<(PathBuf, String), String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(2))?;
    match nvjpeg {
        Ok((path, version)) => {
            m.serialize_entry("library", path)?;
            m.serialize_entry("version", version)?;
        }
        Err(why) => {
            m.serialize_entry("library", &None::<PathBuf>)?;
            m.serialize_entry("error", why)?;
        }
    }
    m.end()
}

fn jpeg_engine_json<S: Serializer>(
    engine: &Option<Result<(), String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let Some(engine) = engine else {
        return s.serialize_none();
    };
    let mut m = s.serialize_map(None)?;
    m.serialize_entry("available", &engine.is_ok())?;
    if let Err(why) = engine {
        m.serialize_entry("reason", why)?;
    }
    m.end()
}

impl Serialize for Backend {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("backend", &self.backend)?;
        m.serialize_entry("ok", &self.verdict.is_ok())?;
        m.serialize_entry("reason", &self.verdict.as_ref().err())?;
        m.end()
    }
}

impl CacheReport {
    /// The share of lookups that hit, where there were any.
    fn hit_rate(hits: u64, misses: u64) -> Option<f64> {
        let lookups = hits + misses;
        (lookups > 0).then(|| hits as f64 / lookups as f64)
    }
}

impl Serialize for CacheReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            CacheReport::Off => m.serialize_entry("off", &true)?,
            CacheReport::Empty { path } => {
                m.serialize_entry("path", path)?;
                m.serialize_entry("exists", &false)?;
            }
            CacheReport::Stats {
                path,
                bytes,
                images,
                results,
                hits,
                misses,
            } => {
                m.serialize_entry("path", path)?;
                m.serialize_entry("exists", &true)?;
                m.serialize_entry("bytes", bytes)?;
                m.serialize_entry("images", images)?;
                m.serialize_entry("results", results)?;
                m.serialize_entry("hits", hits)?;
                m.serialize_entry("misses", misses)?;
                m.serialize_entry("hit_rate", &CacheReport::hit_rate(*hits, *misses))?;
            }
            CacheReport::Error { path, error } => {
                m.serialize_entry("path", path)?;
                m.serialize_entry("error", error)?;
            }
        }
        m.end()
    }
}

/// The report as text, one section a heading.
pub fn render(report: &Report) -> String {
    let mut lines = Vec::new();
    render_onnxruntime(report, &mut lines);
    render_driver(&report.driver, &mut lines);
    render_libraries(report, &mut lines);
    render_kernels(report, &mut lines);
    render_backends(report, &mut lines);
    render_caches(report, &mut lines);
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn render_onnxruntime(r: &Report, lines: &mut Vec<String>) {
    lines.push("ONNX Runtime".into());
    match (&r.onnxruntime_error, &r.onnxruntime) {
        (Some(e), _) => lines.push(format!("  error      {e}")),
        (None, Some(o)) => {
            lines.push(format!(
                "  library    {} (found through {})",
                o.library.display(),
                o.found_through
            ));
            lines.push(format!(
                "  version    {}",
                o.version.as_deref().unwrap_or("(not in the file name)")
            ));
            lines.push(format!("  providers  {}", o.providers.join(", ")));
        }
        (None, None) => {}
    }
    lines.push(match &r.gpu_build {
        Some(g) => format!("  GPU build  {}", g.display()),
        None => "  GPU build  not installed (`anylabel runtime install --gpu`; 256 MB)".into(),
    });
    for p in &r.problems {
        lines.push(format!("  problem    {p}"));
    }
}

fn render_driver(driver: &DriverState, lines: &mut Vec<String>) {
    lines.push("NVIDIA driver".into());
    match driver {
        DriverState::Missing(why) => lines.push(format!(
            "  none       libcuda.so.1 not found ({why}); the CPU backend is what runs here"
        )),
        DriverState::Failed(why) => lines.push(format!("  failed     {why}")),
        DriverState::Present(d) => {
            lines.push(format!(
                "  CUDA       {} (the newest the driver supports)",
                d.cuda_version_text()
            ));
            if d.gpus.is_empty() {
                lines.push("  GPUs       none visible (CUDA_VISIBLE_DEVICES?)".into());
            }
            for g in &d.gpus {
                let memory = g.memory.map_or(String::new(), |m| {
                    format!(", {:.0} GiB", m as f64 / (1u64 << 30) as f64)
                });
                lines.push(format!("  GPU {}      {}{memory}", g.index, g.name));
            }
        }
    }
}

fn render_libraries(r: &Report, lines: &mut Vec<String>) {
    lines.push(format!("GPU libraries: {}", r.libraries_source));
    let width = r.libraries.iter().map(|l| l.name.len()).max().unwrap_or(10);
    for l in &r.libraries {
        let provider = l.provider.name();
        lines.push(match &l.found {
            Some(p) => format!("  {:<width$}  {provider:<4}  {}", l.name, p.display()),
            None => format!(
                "  {:<width$}  {provider:<4}  missing: {}",
                l.name,
                l.fix.as_deref().unwrap_or_default()
            ),
        });
    }
    if r.libraries.is_empty() {
        lines.push("  (the providers link against nothing outside the system)".into());
    }
}

fn render_kernels(r: &Report, lines: &mut Vec<String>) {
    lines.push("Our CUDA kernels (the GPU letterbox: --preprocess auto|gpu)".into());
    lines.push(match &r.kernels.nvrtc {
        Some(p) => format!("  NVRTC      {}", p.display()),
        None => format!(
            "  NVRTC      missing: {}",
            r.kernels.fix.as_deref().unwrap_or(NVRTC_FIX)
        ),
    });
    lines.push(match &r.nvjpeg {
        Ok((path, version)) => format!("  nvJPEG     {version}, {} (--decode gpu)", path.display()),
        Err(why) => format!("  nvJPEG     missing (--decode gpu): {why}"),
    });
    match &r.jpeg_engine {
        None => {}
        Some(Ok(())) => lines.push(format!(
            "  JPEG engine  on GPU {}: --decode gpu hands it the JPEGs it supports",
            r.device
        )),
        Some(Err(why)) => lines.push(format!("  JPEG engine  none: {why}")),
    }
}

fn render_backends(r: &Report, lines: &mut Vec<String>) {
    lines.push("Backends".into());
    for b in &r.backends {
        let name = b.backend.name();
        lines.push(match &b.verdict {
            Ok(()) if b.backend != Kind::Cpu && r.onnxruntime.is_some() => format!(
                "  {name:<4}  ready (ONNX Runtime's own check happens when a model starts on it)"
            ),
            Ok(()) => format!("  {name:<4}  ready"),
            Err(e) => format!("  {name:<4}  no: {e}"),
        });
    }
    if let Some(a) = auto(r) {
        lines.push(format!("  --backend auto would use: {a}"));
    }
}

fn render_caches(r: &Report, lines: &mut Vec<String>) {
    lines.push("Result cache".into());
    match &r.cache {
        CacheReport::Off => lines.push("  off (ANYLABEL_CACHE=off)".into()),
        CacheReport::Empty { path } => {
            lines.push(format!("  path       {}", path.display()));
            lines.push("  empty      (created by the first infer run)".into());
        }
        CacheReport::Error { path, error } => {
            lines.push(format!("  path       {}", path.display()));
            lines.push(format!("  error      {error}"));
        }
        CacheReport::Stats {
            path,
            bytes,
            images,
            results,
            hits,
            misses,
        } => {
            lines.push(format!("  path       {}", path.display()));
            lines.push(format!(
                "  size       {:.1} MB, {results} results for {images} images",
                *bytes as f64 / 1e6
            ));
            if let Some(rate) = CacheReport::hit_rate(*hits, *misses) {
                lines.push(format!(
                    "  hit rate   {:.1}% of {} lookups",
                    100.0 * rate,
                    hits + misses
                ));
            }
        }
    }
    let t = &r.trt_cache;
    lines.push("TensorRT engines".into());
    lines.push(format!(
        "  {}: {} engine{}, {:.1} MB",
        t.path.display(),
        t.engines,
        if t.engines == 1 { "" } else { "s" },
        t.bytes as f64 / 1e6
    ));
}

#[cfg(test)]
mod tests;
