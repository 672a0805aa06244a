//! `anylabel doctor`: what this machine offers anylabel, and what to install for the rest.
//!
//! It reports the ONNX Runtime library a run would load (path, version, the providers it
//! was built with), the NVIDIA driver and GPUs, every library the CUDA and TensorRT
//! providers link against with where it was found or the command that installs it, which
//! backends can start (the same [`crate::backend::check`] a run uses, so doctor and
//! `infer` never disagree), the result cache and the TensorRT engine cache. It downloads
//! nothing and runs no model.
//!
//! Exit codes: 0 when the CPU backend works (GPU problems are reported, not failed on);
//! 1 when no ONNX Runtime is found or it does not load; 5 (`--require-gpu`) when the GPU
//! backend asked about cannot start.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

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

fn dir_size(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if e.file_type().is_file() {
            files += 1;
            bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    (files, bytes)
}

/// Runs the checks and prints the report; returns the exit code.
pub fn run(opts: &Options, _offline: bool) -> Result<u8> {
    let home = Home::from_env()?;
    let request = Request {
        wanted: Wanted::Auto,
        device: opts.device,
        driver: crate::driver::probe(),
    };
    let flavour = request.flavour(&home);
    let mut problems: Vec<String> = Vec::new();

    // ONNX Runtime: the one a run with --backend auto would load. Nothing is installed.
    let located = runtime::locate(&home, flavour);
    let gpu_build = match runtime::locate(&home, Flavour::Gpu) {
        Ok(rt) => rt,
        // A CPU-only ORT_DYLIB_PATH is a problem only where a GPU backend could run.
        Err(e) if flavour == Flavour::Gpu => {
            problems.push(format!("{e:#}"));
            None
        }
        Err(_) => None,
    };
    let mut ort_json = json!(null);
    let mut ort_facts: Option<OrtFacts> = None;
    let mut ort_error: Option<String> = None;
    match located {
        Ok(Some(rt)) => match runtime::load(&home, true, flavour) {
            Ok(loaded) => {
                let providers = runtime::available_providers().unwrap_or_default();
                let rt = &loaded.runtime;
                ort_json = json!({
                    "library": rt.library,
                    "found_through": rt.source.to_string(),
                    "version": rt.version,
                    "gpu_build": rt.is_gpu_build(),
                    "providers": providers,
                });
                ort_facts = Some(OrtFacts {
                    library: rt.library.clone(),
                    version: rt.version.clone(),
                    providers,
                    from_env: rt.source == runtime::Source::EnvVar,
                });
            }
            Err(e) => ort_error = Some(format!("{} does not load: {e:#}", rt.library.display())),
        },
        Ok(None) => {
            ort_error = Some(
                "no ONNX Runtime found (ORT_DYLIB_PATH, ~/.anylabeling/runtime, Python \
                 onnxruntime packages, the system library folders); `anylabel runtime install` \
                 installs it (infer does on first use)"
                    .to_string(),
            )
        }
        Err(e) => ort_error = Some(format!("{e:#}")),
    }

    // The libraries the GPU providers need: read from the GPU build where there is one.
    let provider_dir: Option<PathBuf> = ort_facts
        .as_ref()
        .filter(|o| {
            o.library
                .parent()
                .is_some_and(|d| d.join("libonnxruntime_providers_cuda.so").is_file())
        })
        .map(|o| o.library.clone())
        .or_else(|| gpu_build.as_ref().map(|g| g.library.clone()));
    let dirs = dylib::library_dirs(
        provider_dir.as_deref().and_then(Path::parent),
        dylib::site_packages(),
    );
    let (deps, deps_source) = match &provider_dir {
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
    let facts = Facts {
        driver: request.driver.clone(),
        ort: ort_facts.clone(),
        deps: deps.clone(),
    };
    let sonames: Vec<String> = deps.iter().map(|d| d.soname.clone()).collect();
    let cuda_major = dylib::cuda_major(&sonames);

    let checks: Vec<(Kind, Result<(), backend::Reason>)> = [Kind::Cpu, Kind::Cuda, Kind::Trt]
        .into_iter()
        .map(|k| {
            let r = if k == Kind::Cpu {
                Ok(())
            } else {
                backend::check(k, opts.device, &facts)
            };
            (k, r)
        })
        .collect();
    let cpu_ok = ort_error.is_none();
    // What each backend's row says, in the text and the JSON alike: without ONNX Runtime no
    // backend runs, whatever its own check found.
    let verdicts: Vec<(Kind, Result<(), String>)> = checks
        .iter()
        .map(|(k, r)| {
            let v = match r {
                _ if !cpu_ok => Err("ONNX Runtime is not loaded".to_string()),
                Ok(()) => Ok(()),
                Err(e) => Err(e.to_string()),
            };
            (*k, v)
        })
        .collect();
    let auto = if !cpu_ok {
        None
    } else {
        checks
            .iter()
            .find(|(_, r)| r.is_ok())
            .map(|(k, _)| *k)
            .or(Some(Kind::Cpu))
    };

    // The caches.
    let cache_json = match crate::cache::Cache::default_path(&home) {
        None => json!({"off": true}),
        Some(path) if !path.exists() => json!({"path": path, "exists": false}),
        Some(path) => match crate::cache::Cache::open(&path).and_then(|c| c.stats()) {
            Ok(s) => {
                let lookups = s.hits + s.misses;
                json!({
                    "path": path, "exists": true, "bytes": s.bytes, "images": s.images,
                    "results": s.results, "hits": s.hits, "misses": s.misses,
                    "hit_rate": if lookups > 0 { Some(s.hits as f64 / lookups as f64) } else { None },
                })
            }
            Err(e) => json!({"path": path, "error": format!("{e:#}")}),
        },
    };
    let trt_dir = home.trt_dir();
    let engines = std::fs::read_dir(&trt_dir)
        .map(|d| {
            d.flatten()
                .filter(|e| crate::trt::has_engine(&e.path()))
                .count()
        })
        .unwrap_or(0);
    let (trt_files, trt_bytes) = dir_size(&trt_dir);

    // Our own CUDA kernels (the GPU letterbox): NVRTC compiles them.
    let nvrtc = dylib::nvrtc_location();
    let nvrtc_fix = "`pip install \"nvidia-cuda-nvrtc==13.*\"`, or the CUDA toolkit";
    // nvJPEG, for --decode gpu: found and loaded (its version asks no GPU), or why not.
    let nvjpeg = crate::gpu::jpeg::probe();
    // The GPU's JPEG engine (A100, H100, H200...), which --decode gpu uses where there is one:
    // only a GPU can say. `None` without a driver or nvJPEG.
    let jpeg_engine =
        (matches!(request.driver, DriverState::Present(_)) && nvjpeg.is_ok()).then(|| {
            crate::gpu::Gpu::new(opts.device as usize)
                .and_then(|gpu| crate::gpu::jpeg_hw::HwJpeg::open(&gpu, 1, 100))
                .map(drop)
                .map_err(|e| format!("{e:#}"))
        });

    let code = if !cpu_ok {
        exit_codes::ERROR
    } else if let Some(k) = opts.require
        && checks.iter().any(|(c, r)| *c == k && r.is_err())
    {
        exit_codes::NO_GPU_BACKEND
    } else {
        exit_codes::SUCCESS
    };

    if opts.json {
        let driver_json = match &request.driver {
            DriverState::Missing(why) => json!({"present": false, "error": why}),
            DriverState::Failed(why) => json!({"present": true, "error": why}),
            DriverState::Present(d) => json!({
                "present": true, "cuda_version": d.cuda_version_text(), "gpus": d.gpus,
            }),
        };
        let value = json!({
            "onnxruntime": ort_json,
            "onnxruntime_error": ort_error,
            "gpu_build": gpu_build.as_ref().map(|g| &g.library),
            "driver": driver_json,
            "libraries": deps.iter().map(|d| json!({
                "provider": d.provider.name(), "name": d.soname, "found": d.found,
                "fix": d.found.is_none().then(|| dylib::fix(&d.soname, cuda_major)),
            })).collect::<Vec<_>>(),
            "libraries_source": deps_source,
            "kernels": {"nvrtc": nvrtc, "fix": nvrtc.is_none().then_some(nvrtc_fix)},
            "nvjpeg": match &nvjpeg {
                Ok((path, version)) => json!({"library": path, "version": version}),
                Err(why) => json!({"library": null, "error": why}),
            },
            "jpeg_engine": match &jpeg_engine {
                None => serde_json::Value::Null,
                Some(Ok(())) => json!({"available": true}),
                Some(Err(why)) => json!({"available": false, "reason": why}),
            },
            "backends": verdicts.iter().map(|(k, r)| json!({
                "backend": k.name(),
                "ok": r.is_ok(),
                "reason": r.as_ref().err(),
            })).collect::<Vec<_>>(),
            "auto": auto.map(Kind::name),
            "problems": problems,
            "cache": cache_json,
            "trt_cache": {"path": trt_dir, "engines": engines, "files": trt_files, "bytes": trt_bytes},
            "exit_code": code,
        });
        // Written, not printed: a closed pipe is an error that ends the command quietly.
        writeln!(std::io::stdout(), "{value}")?;
        return Ok(code);
    }

    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line("ONNX Runtime".into());
    match (&ort_json, &ort_error) {
        (_, Some(e)) => line(format!("  error      {e}")),
        (o, None) => {
            line(format!(
                "  library    {} (found through {})",
                o["library"].as_str().unwrap_or("?"),
                o["found_through"].as_str().unwrap_or("?")
            ));
            line(format!(
                "  version    {}",
                o["version"].as_str().unwrap_or("(not in the file name)")
            ));
            let providers: Vec<&str> = o["providers"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            line(format!("  providers  {}", providers.join(", ")));
        }
    }
    match &gpu_build {
        Some(g) => line(format!("  GPU build  {}", g.library.display())),
        None => line(
            "  GPU build  not installed (`anylabel runtime install --gpu`; 256 MB)".to_string(),
        ),
    }
    for p in &problems {
        line(format!("  problem    {p}"));
    }
    line("NVIDIA driver".into());
    match &request.driver {
        DriverState::Missing(why) => line(format!(
            "  none       libcuda.so.1 not found ({why}); the CPU backend is what runs here"
        )),
        DriverState::Failed(why) => line(format!("  failed     {why}")),
        DriverState::Present(d) => {
            line(format!(
                "  CUDA       {} (the newest the driver supports)",
                d.cuda_version_text()
            ));
            if d.gpus.is_empty() {
                line("  GPUs       none visible (CUDA_VISIBLE_DEVICES?)".into());
            }
            for g in &d.gpus {
                line(format!(
                    "  GPU {}      {}{}",
                    g.index,
                    g.name,
                    g.memory.map_or(String::new(), |m| format!(
                        ", {:.0} GiB",
                        m as f64 / (1u64 << 30) as f64
                    ))
                ));
            }
        }
    }
    line(format!("GPU libraries: {deps_source}"));
    let width = deps.iter().map(|d| d.soname.len()).max().unwrap_or(10);
    for d in &deps {
        match &d.found {
            Some(p) => line(format!(
                "  {:<width$}  {:<4}  {}",
                d.soname,
                d.provider.name(),
                p.display()
            )),
            None => line(format!(
                "  {:<width$}  {:<4}  missing: {}",
                d.soname,
                d.provider.name(),
                dylib::fix(&d.soname, cuda_major)
            )),
        }
    }
    if deps.is_empty() {
        line("  (the providers link against nothing outside the system)".into());
    }
    line("Our CUDA kernels (the GPU letterbox: --preprocess auto|gpu)".into());
    match &nvrtc {
        Some(p) => line(format!("  NVRTC      {}", p.display())),
        None => line(format!("  NVRTC      missing: {nvrtc_fix}")),
    }
    match &nvjpeg {
        Ok((path, version)) => line(format!(
            "  nvJPEG     {version}, {} (--decode gpu)",
            path.display()
        )),
        Err(why) => line(format!("  nvJPEG     missing (--decode gpu): {why}")),
    }
    match &jpeg_engine {
        None => {}
        Some(Ok(())) => line(format!(
            "  JPEG engine  on GPU {}: --decode gpu hands it the JPEGs it supports",
            opts.device
        )),
        Some(Err(why)) => line(format!("  JPEG engine  none: {why}")),
    }
    line("Backends".into());
    for (k, r) in &verdicts {
        match r {
            Ok(()) if *k != Kind::Cpu && ort_facts.is_some() => line(format!(
                "  {:<4}  ready (ONNX Runtime's own check happens when a model starts on it)",
                k.name()
            )),
            Ok(()) => line(format!("  {:<4}  ready", k.name())),
            Err(e) => line(format!("  {:<4}  no: {e}", k.name())),
        }
    }
    if let Some(a) = auto {
        line(format!("  --backend auto would use: {a}"));
    }
    line("Result cache".into());
    match cache_json.get("path") {
        None => line("  off (ANYLABEL_CACHE=off)".into()),
        Some(p) => {
            line(format!("  path       {}", p.as_str().unwrap_or("?")));
            if cache_json["exists"] == json!(false) {
                line("  empty      (created by the first infer run)".into());
            } else if let Some(e) = cache_json.get("error") {
                line(format!("  error      {}", e.as_str().unwrap_or("?")));
            } else {
                line(format!(
                    "  size       {:.1} MB, {} results for {} images",
                    cache_json["bytes"].as_u64().unwrap_or(0) as f64 / 1e6,
                    cache_json["results"],
                    cache_json["images"]
                ));
                if let Some(rate) = cache_json["hit_rate"].as_f64() {
                    line(format!(
                        "  hit rate   {:.1}% of {} lookups",
                        100.0 * rate,
                        cache_json["hits"].as_u64().unwrap_or(0)
                            + cache_json["misses"].as_u64().unwrap_or(0)
                    ));
                }
            }
        }
    }
    line("TensorRT engines".into());
    line(format!(
        "  {}: {engines} engine{}, {:.1} MB",
        trt_dir.display(),
        if engines == 1 { "" } else { "s" },
        trt_bytes as f64 / 1e6
    ));
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(code)
}
