//! Where the model runs: ONNX Runtime's CPU, CUDA or TensorRT provider.
//!
//! The choice is a pure function, [`plan`], over [`Facts`] probed on the machine: the
//! NVIDIA driver and its GPUs ([`crate::driver`]), the ONNX Runtime library in use and
//! the providers it was built with, and each library the GPU providers link against
//! (read from their ELF files) with where it was found ([`crate::dylib`] owns the search). So every combination (no driver,
//! a driver but a CPU-only ONNX Runtime, CUDA but no TensorRT, a device index out of
//! range...) is tested without a GPU, and the reasons printed are the ones tested.
//!
//! `auto` tries TensorRT, then CUDA, then the CPU, and keeps why it skipped each one. An
//! explicit backend that cannot start is an error that says why and what to install; it
//! never falls back to the CPU.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::driver::DriverState;
use crate::dylib;

/// A backend that runs a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Trt,
    Cuda,
    Cpu,
}

impl Kind {
    /// ONNX Runtime's name for the provider.
    pub fn provider(self) -> &'static str {
        match self {
            Kind::Trt => "TensorrtExecutionProvider",
            Kind::Cuda => "CUDAExecutionProvider",
            Kind::Cpu => "CPUExecutionProvider",
        }
    }

    /// The provider's library beside ONNX Runtime's (the CPU provider is built in).
    pub fn provider_library(self) -> Option<&'static str> {
        match self {
            Kind::Trt => Some("libonnxruntime_providers_tensorrt.so"),
            Kind::Cuda => Some("libonnxruntime_providers_cuda.so"),
            Kind::Cpu => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Trt => "trt",
            Kind::Cuda => "cuda",
            Kind::Cpu => "cpu",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Trt => "TensorRT",
            Kind::Cuda => "CUDA",
            Kind::Cpu => "CPU",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The fastest backend that starts: TensorRT, then CUDA, then the CPU.
    Auto,
    Only(Kind),
}

impl Wanted {
    /// Whether this asks for a GPU backend by name.
    pub fn explicit_gpu(self) -> bool {
        matches!(self, Wanted::Only(Kind::Cuda | Kind::Trt))
    }

    pub fn name(self) -> &'static str {
        match self {
            Wanted::Auto => "auto",
            Wanted::Only(k) => k.name(),
        }
    }
}

/// The ONNX Runtime library loaded in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrtFacts {
    pub library: PathBuf,
    pub version: Option<String>,
    /// `GetAvailableProviders`: the providers the build has.
    pub providers: Vec<String>,
    /// Whether the library came from ORT_DYLIB_PATH (the fix then names it).
    pub from_env: bool,
}

/// A library a GPU provider links against, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub provider: Kind,
    pub soname: String,
    pub found: Option<PathBuf>,
}

/// Everything the choice depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub driver: DriverState,
    /// `None` until ONNX Runtime is loaded (the driver is checked before it is).
    pub ort: Option<OrtFacts>,
    /// What the providers beside the library link against.
    pub deps: Vec<Dep>,
}

/// Why a backend cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No `libcuda.so.1`: the loader's message.
    NoDriver(String),
    /// The driver is there and did not start.
    DriverFailed(String),
    /// The driver runs and sees no GPU.
    NoGpu { cuda: String },
    /// `--device N` past the GPUs there are.
    DeviceOutOfRange { device: u32, gpus: Vec<String> },
    /// The ONNX Runtime in use was built without this provider.
    ProviderNotBuilt {
        kind: Kind,
        library: PathBuf,
        providers: Vec<String>,
        from_env: bool,
    },
    /// Libraries the provider links against that are nowhere on the machine.
    MissingLibraries { kind: Kind, sonames: Vec<String> },
    /// ONNX Runtime itself refused the provider (its message).
    ProviderFailed { kind: Kind, message: String },
}

impl Reason {
    /// Whether the machine has no NVIDIA driver at all (a skip of a GPU backend is then
    /// expected, and not worth a warning under `auto`).
    pub fn is_no_driver(&self) -> bool {
        matches!(self, Reason::NoDriver(_))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NoDriver(why) => write!(
                f,
                "no NVIDIA driver: libcuda.so.1 not found ({why}). Install the NVIDIA driver \
                 (for example `sudo apt install nvidia-driver-580`, or the installer from \
                 https://www.nvidia.com/drivers) and check it with `nvidia-smi`; in a container, \
                 run it with the GPU passed through (docker --gpus all)"
            ),
            Reason::DriverFailed(why) => write!(
                f,
                "the NVIDIA driver did not start: {why}. Check `nvidia-smi`; a driver that was \
                 just upgraded needs a reboot, and CUDA_VISIBLE_DEVICES must name GPUs that exist"
            ),
            Reason::NoGpu { cuda } => write!(
                f,
                "the NVIDIA driver (CUDA {cuda}) sees no GPU. Check `nvidia-smi` and \
                 CUDA_VISIBLE_DEVICES (an empty value, or -1, hides every GPU)"
            ),
            Reason::DeviceOutOfRange { device, gpus } => write!(
                f,
                "--device {device} is out of range: this machine has {} GPU{} ({})",
                gpus.len(),
                if gpus.len() == 1 { "" } else { "s" },
                gpus.iter()
                    .enumerate()
                    .map(|(i, g)| format!("{i}: {g}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Reason::ProviderNotBuilt {
                kind,
                library,
                providers,
                from_env,
            } => {
                write!(
                    f,
                    "the ONNX Runtime in use ({}) has no {} provider (it has {}). ",
                    library.display(),
                    kind.title(),
                    providers.join(", ")
                )?;
                if *from_env {
                    write!(
                        f,
                        "ORT_DYLIB_PATH points at it: point it at the library of an onnxruntime-gpu \
                         build, or unset it and run `anylabel runtime install --gpu`"
                    )
                } else {
                    write!(
                        f,
                        "Install the GPU build with `anylabel runtime install --gpu`"
                    )
                }
            }
            Reason::MissingLibraries { kind, sonames } => {
                write!(
                    f,
                    "ONNX Runtime's {} provider needs {}, not found on this machine \
                     (looked on LD_LIBRARY_PATH, in /usr/local/cuda*/lib64, the system library \
                     folders and Python nvidia-*/tensorrt packages). Install: {}",
                    kind.title(),
                    sonames.join(", "),
                    dylib::fixes(sonames).join("; ")
                )
            }
            Reason::ProviderFailed { kind, message } => {
                write!(
                    f,
                    "ONNX Runtime could not start its {} provider: {}",
                    kind.title(),
                    message.trim()
                )?;
                let missing = dylib::unopened_libraries(message);
                if !missing.is_empty() {
                    write!(f, ". Install: {}", dylib::fixes(&missing).join("; "))?;
                }
                Ok(())
            }
        }
    }
}

/// A backend `auto` passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub kind: Kind,
    pub reason: Reason,
}

/// The backends to try, in order, and the ones passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub wanted: Wanted,
    pub device: u32,
    pub candidates: Vec<Kind>,
    pub skipped: Vec<Skip>,
}

/// Whether `kind` can start on device `device`, as far as the facts tell. With no ONNX
/// Runtime loaded yet, only the driver and the device are checked.
pub fn check(kind: Kind, device: u32, facts: &Facts) -> Result<(), Reason> {
    if kind == Kind::Cpu {
        return Ok(());
    }
    let driver = match &facts.driver {
        DriverState::Missing(why) => return Err(Reason::NoDriver(why.clone())),
        DriverState::Failed(why) => return Err(Reason::DriverFailed(why.clone())),
        DriverState::Present(d) => d,
    };
    if driver.gpus.is_empty() {
        return Err(Reason::NoGpu {
            cuda: driver.cuda_version_text(),
        });
    }
    if device as usize >= driver.gpus.len() {
        return Err(Reason::DeviceOutOfRange {
            device,
            gpus: driver.gpus.iter().map(|g| g.name.clone()).collect(),
        });
    }
    let Some(ort) = &facts.ort else {
        return Ok(());
    };
    if !ort.providers.iter().any(|p| p == kind.provider()) {
        return Err(Reason::ProviderNotBuilt {
            kind,
            library: ort.library.clone(),
            providers: ort.providers.clone(),
            from_env: ort.from_env,
        });
    }
    let missing: Vec<String> = facts
        .deps
        .iter()
        .filter(|d| d.provider == kind && d.found.is_none())
        .map(|d| d.soname.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        return Err(Reason::MissingLibraries {
            kind,
            sonames: missing,
        });
    }
    Ok(())
}

/// The backends to try for `wanted`: an explicit one that cannot start is the error;
/// `auto` lists the GPU backends that pass [`check`], then the CPU.
pub fn plan(wanted: Wanted, device: u32, facts: &Facts) -> Result<Plan, Reason> {
    match wanted {
        Wanted::Only(kind) => {
            check(kind, device, facts)?;
            Ok(Plan {
                wanted,
                device,
                candidates: vec![kind],
                skipped: Vec::new(),
            })
        }
        Wanted::Auto => {
            let mut candidates = Vec::new();
            let mut skipped = Vec::new();
            for kind in [Kind::Trt, Kind::Cuda] {
                match check(kind, device, facts) {
                    Ok(()) => candidates.push(kind),
                    Err(reason) => skipped.push(Skip { kind, reason }),
                }
            }
            candidates.push(Kind::Cpu);
            Ok(Plan {
                wanted,
                device,
                candidates,
                skipped,
            })
        }
    }
}

/// Whether `auto` skipping a GPU backend deserves a warning at default verbosity: where
/// the machine has an NVIDIA driver (or one that failed), a GPU was meant to be used.
/// Where it has none, the skip is the expected case and a -v line says it.
pub fn skip_is_notable(skip: &Skip) -> bool {
    !skip.reason.is_no_driver()
}

/// What the GPU providers beside `ort_library` link against, and where each was found in
/// `dirs` ([`dylib::library_dirs`]).
pub fn provider_deps(ort_library: &Path, dirs: &[PathBuf]) -> Vec<Dep> {
    let Some(ort_dir) = ort_library.parent() else {
        return Vec::new();
    };
    let mut deps = Vec::new();
    for kind in [Kind::Cuda, Kind::Trt] {
        let Some(lib) = kind.provider_library() else {
            continue;
        };
        let path = ort_dir.join(lib);
        if !path.is_file() {
            continue;
        }
        match dylib::linked(&path, dirs) {
            Ok(linked) => deps.extend(linked.into_iter().map(|(soname, found)| Dep {
                provider: kind,
                soname,
                found,
            })),
            Err(e) => tracing::debug!("cannot read what {} needs: {e:#}", path.display()),
        }
    }
    deps
}

/// A run's backend as asked for, with the NVIDIA driver probed.
#[derive(Debug, Clone)]
pub struct Request {
    pub wanted: Wanted,
    pub device: u32,
    pub driver: DriverState,
}

/// ONNX Runtime loaded, and the backends to try on it.
pub struct Started {
    pub env: &'static ort::environment::Environment,
    pub plan: Plan,
    pub facts: Facts,
}

impl Request {
    /// Probes the driver. For an explicit GPU backend, a missing driver, no GPU or a
    /// `--device` out of range is the error here, before ONNX Runtime is looked for (or
    /// its 256 MB GPU build downloaded).
    pub fn new(wanted: Wanted, device: u32) -> anyhow::Result<Request> {
        let driver = match wanted {
            Wanted::Only(Kind::Cpu) => DriverState::Missing("not probed (--backend cpu)".into()),
            _ => crate::driver::probe(),
        };
        let request = Request {
            wanted,
            device,
            driver,
        };
        if let Wanted::Only(kind) = wanted {
            check(kind, device, &request.facts(None, Vec::new()))
                .map_err(|r| anyhow::anyhow!("--backend {kind} cannot start: {r}"))?;
        }
        Ok(request)
    }

    fn facts(&self, ort: Option<OrtFacts>, deps: Vec<Dep>) -> Facts {
        Facts {
            driver: self.driver.clone(),
            ort,
            deps,
        }
    }

    /// What `auto` passes over for the driver alone (nothing loaded): the skips of a run
    /// that never needed the model.
    pub fn driver_skips(&self) -> Vec<Skip> {
        plan(self.wanted, self.device, &self.facts(None, Vec::new()))
            .map(|p| p.skipped)
            .unwrap_or_default()
    }

    /// The build of ONNX Runtime to load: the GPU build for an explicit GPU backend; for
    /// `auto`, a GPU build already on the machine where the driver sees the device (auto
    /// never downloads it).
    pub fn flavour(&self, home: &crate::home::Home) -> crate::runtime::Flavour {
        use crate::runtime::{Flavour, locate};
        match self.wanted {
            Wanted::Only(Kind::Cpu) => Flavour::Cpu,
            Wanted::Only(_) => Flavour::Gpu,
            Wanted::Auto => {
                let driver_ok =
                    check(Kind::Cuda, self.device, &self.facts(None, Vec::new())).is_ok();
                if driver_ok && matches!(locate(home, Flavour::Gpu), Ok(Some(_))) {
                    Flavour::Gpu
                } else {
                    Flavour::Cpu
                }
            }
        }
    }

    /// Loads ONNX Runtime (installing the GPU build for an explicit GPU backend, unless
    /// offline), reads its providers and what they link against, and plans. The skipped
    /// backends of `auto` are logged: a warning where the machine has an NVIDIA driver,
    /// a -v line where it has none.
    pub fn start(&self, home: &crate::home::Home, offline: bool) -> anyhow::Result<Started> {
        let flavour = self.flavour(home);
        let loaded = crate::runtime::load(home, offline, flavour)?;
        let providers = crate::runtime::available_providers()?;
        let rt = &loaded.runtime;
        // What the GPU providers link against matters only where one could start: not for
        // `--backend cpu`, nor for `auto` on a machine whose driver sees no device (finding
        // Python's site-packages spawns `python3`, a fifth of a second through pyenv).
        let gpu_possible = match self.wanted {
            Wanted::Only(Kind::Cpu) => false,
            Wanted::Only(_) => true,
            Wanted::Auto => check(Kind::Cuda, self.device, &self.facts(None, Vec::new())).is_ok(),
        };
        let deps = if !gpu_possible {
            Vec::new()
        } else {
            let dirs = dylib::library_dirs(rt.library.parent(), dylib::site_packages());
            provider_deps(&rt.library, &dirs)
        };
        let facts = self.facts(
            Some(OrtFacts {
                library: rt.library.clone(),
                version: rt.version.clone(),
                providers,
                from_env: rt.source == dylib::Source::EnvVar,
            }),
            deps,
        );
        let plan = plan(self.wanted, self.device, &facts)
            .map_err(|r| anyhow::anyhow!("--backend {} cannot start: {r}", self.wanted.name()))?;
        for skip in &plan.skipped {
            if skip_is_notable(skip) {
                tracing::warn!("backend auto: {} skipped: {}", skip.kind, skip.reason);
            } else {
                tracing::debug!("backend auto: {} skipped: {}", skip.kind, skip.reason);
            }
        }
        if plan.candidates.iter().any(|k| *k != Kind::Cpu) {
            dylib::preload(facts.deps.iter().filter_map(|d| d.found.as_deref()));
        }
        Ok(Started {
            env: &loaded.env,
            plan,
            facts,
        })
    }
}

/// The backend a run used, for the `--json` summary.
pub fn summary_json(
    wanted: Wanted,
    device: u32,
    chosen: Option<Kind>,
    skipped: &[Skip],
) -> serde_json::Value {
    serde_json::json!({
        "requested": wanted.name(),
        "device": device,
        "chosen": chosen.map(Kind::name),
        "skipped": skipped.iter().map(|s| serde_json::json!({
            "backend": s.kind.name(),
            "reason": s.reason.to_string(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{Driver, Gpu};

    fn driver(gpus: &[&str]) -> DriverState {
        DriverState::Present(Driver {
            cuda_version: 13000,
            gpus: gpus
                .iter()
                .enumerate()
                .map(|(i, n)| Gpu {
                    index: i as u32,
                    name: n.to_string(),
                    memory: None,
                })
                .collect(),
        })
    }

    fn ort(providers: &[&str]) -> Option<OrtFacts> {
        Some(OrtFacts {
            library: "/rt/libonnxruntime.so.1.31.1".into(),
            version: Some("1.31.1".into()),
            providers: providers.iter().map(|s| s.to_string()).collect(),
            from_env: false,
        })
    }

    const GPU_BUILD: &[&str] = &[
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ];

    fn deps(missing: &[&str]) -> Vec<Dep> {
        let all = [
            (Kind::Cuda, "libcublasLt.so.13"),
            (Kind::Cuda, "libcudnn.so.9"),
            (Kind::Cuda, "libcudart.so.13"),
            (Kind::Trt, "libnvinfer.so.10"),
            (Kind::Trt, "libcudart.so.13"),
        ];
        all.iter()
            .map(|(k, s)| Dep {
                provider: *k,
                soname: s.to_string(),
                found: (!missing.contains(s)).then(|| PathBuf::from("/lib").join(s)),
            })
            .collect()
    }

    fn facts(driver: DriverState, ort: Option<OrtFacts>, deps: Vec<Dep>) -> Facts {
        Facts { driver, ort, deps }
    }

    fn kinds(skipped: &[Skip]) -> Vec<Kind> {
        skipped.iter().map(|s| s.kind).collect()
    }

    #[test]
    fn without_a_driver_auto_takes_the_cpu_and_gpu_backends_say_why() {
        let f = facts(
            DriverState::Missing("libcuda.so.1: cannot open shared object file".into()),
            None,
            vec![],
        );
        let p = plan(Wanted::Auto, 0, &f).unwrap();
        assert_eq!(p.candidates, [Kind::Cpu]);
        assert_eq!(kinds(&p.skipped), [Kind::Trt, Kind::Cuda]);
        assert!(p.skipped.iter().all(|s| !skip_is_notable(s)));
        for k in [Kind::Cuda, Kind::Trt] {
            let e = plan(Wanted::Only(k), 0, &f).unwrap_err();
            assert!(e.is_no_driver());
            let text = e.to_string();
            assert!(text.contains("libcuda.so.1 not found"), "{text}");
            assert!(text.contains("nvidia-smi"), "{text}");
        }
        assert_eq!(
            plan(Wanted::Only(Kind::Cpu), 0, &f).unwrap().candidates,
            [Kind::Cpu]
        );
    }

    #[test]
    fn a_driver_that_fails_or_sees_no_gpu_is_named() {
        let f = facts(
            DriverState::Failed("cuInit failed with CUDA_ERROR_UNKNOWN (999)".into()),
            None,
            vec![],
        );
        let e = plan(Wanted::Only(Kind::Cuda), 0, &f).unwrap_err();
        assert!(e.to_string().contains("CUDA_ERROR_UNKNOWN"));
        let p = plan(Wanted::Auto, 0, &f).unwrap();
        assert!(p.skipped.iter().all(skip_is_notable));

        let f = facts(driver(&[]), ort(GPU_BUILD), deps(&[]));
        let e = plan(Wanted::Only(Kind::Trt), 0, &f).unwrap_err();
        assert!(matches!(e, Reason::NoGpu { .. }));
        assert!(e.to_string().contains("CUDA 13.0"), "{e}");
    }

    #[test]
    fn a_device_index_out_of_range_lists_the_gpus() {
        let f = facts(driver(&["NVIDIA H200"]), ort(GPU_BUILD), deps(&[]));
        let e = plan(Wanted::Only(Kind::Cuda), 1, &f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--device 1 is out of range: this machine has 1 GPU (0: NVIDIA H200)"
        );
        assert!(plan(Wanted::Only(Kind::Cuda), 0, &f).is_ok());
        // auto skips both GPU backends for the same reason, loudly.
        let p = plan(Wanted::Auto, 3, &f).unwrap();
        assert_eq!(p.candidates, [Kind::Cpu]);
        assert!(p.skipped.iter().all(skip_is_notable));
    }

    #[test]
    fn the_driver_alone_is_checked_before_onnx_runtime_is_loaded() {
        let f = facts(driver(&["A", "B"]), None, vec![]);
        assert!(check(Kind::Trt, 1, &f).is_ok());
        assert!(check(Kind::Cuda, 2, &f).is_err());
    }

    #[test]
    fn a_cpu_only_onnx_runtime_is_named_with_the_fix() {
        let mut f = facts(
            driver(&["NVIDIA H100"]),
            ort(&["CPUExecutionProvider"]),
            vec![],
        );
        let e = plan(Wanted::Only(Kind::Cuda), 0, &f).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("has no CUDA provider"), "{text}");
        assert!(text.contains("anylabel runtime install --gpu"), "{text}");
        let p = plan(Wanted::Auto, 0, &f).unwrap();
        assert_eq!(p.candidates, [Kind::Cpu]);
        assert!(p.skipped.iter().all(skip_is_notable));
        // From ORT_DYLIB_PATH: the fix is to point it elsewhere.
        f.ort.as_mut().unwrap().from_env = true;
        let text = plan(Wanted::Only(Kind::Trt), 0, &f)
            .unwrap_err()
            .to_string();
        assert!(text.contains("ORT_DYLIB_PATH points at it"), "{text}");
    }

    #[test]
    fn cuda_without_tensorrt_is_what_auto_picks() {
        let f = facts(
            driver(&["NVIDIA H200"]),
            ort(GPU_BUILD),
            deps(&["libnvinfer.so.10"]),
        );
        let p = plan(Wanted::Auto, 0, &f).unwrap();
        assert_eq!(p.candidates, [Kind::Cuda, Kind::Cpu]);
        assert_eq!(kinds(&p.skipped), [Kind::Trt]);
        let text = p.skipped[0].reason.to_string();
        assert!(text.contains("libnvinfer.so.10"), "{text}");
        assert!(text.contains("tensorrt-cu13==10.*"), "{text}");
        let e = plan(Wanted::Only(Kind::Trt), 0, &f).unwrap_err();
        assert!(matches!(
            e,
            Reason::MissingLibraries {
                kind: Kind::Trt,
                ..
            }
        ));
        assert!(plan(Wanted::Only(Kind::Cuda), 0, &f).is_ok());
    }

    #[test]
    fn missing_cuda_libraries_are_named_with_their_pip_packages() {
        let f = facts(
            driver(&["NVIDIA H200"]),
            ort(GPU_BUILD),
            deps(&["libcudnn.so.9", "libcublasLt.so.13", "libnvinfer.so.10"]),
        );
        let e = plan(Wanted::Only(Kind::Cuda), 0, &f).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("libcublasLt.so.13, libcudnn.so.9"), "{text}");
        assert!(text.contains("pip install nvidia-cudnn-cu13"), "{text}");
        assert!(
            text.contains("pip install \"nvidia-cublas==13.*\""),
            "{text}"
        );
        let p = plan(Wanted::Auto, 0, &f).unwrap();
        assert_eq!(p.candidates, [Kind::Cpu]);
    }

    #[test]
    fn everything_present_puts_tensorrt_first() {
        let f = facts(driver(&["NVIDIA H200"]), ort(GPU_BUILD), deps(&[]));
        let p = plan(Wanted::Auto, 0, &f).unwrap();
        assert_eq!(p.candidates, [Kind::Trt, Kind::Cuda, Kind::Cpu]);
        assert!(p.skipped.is_empty());
        assert_eq!(
            plan(Wanted::Only(Kind::Trt), 0, &f).unwrap().candidates,
            [Kind::Trt]
        );
    }

    #[test]
    fn onnx_runtimes_own_failure_names_the_library_and_its_fix() {
        let message = "/rt/libonnxruntime_providers_shared.so: Failed to load library \
            libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared \
            object file: No such file or directory";
        assert_eq!(dylib::unopened_libraries(message), ["libcublasLt.so.13"]);
        let text = Reason::ProviderFailed {
            kind: Kind::Cuda,
            message: message.into(),
        }
        .to_string();
        assert!(text.starts_with("ONNX Runtime could not start its CUDA provider: "));
        assert!(text.ends_with("Install: `pip install \"nvidia-cublas==13.*\"`; pip packages need no LD_LIBRARY_PATH: anylabel finds them in the Python environment"), "{text}");
        let plain = Reason::ProviderFailed {
            kind: Kind::Trt,
            message: "CUDA failure 35: CUDA driver version is insufficient".into(),
        };
        assert!(!plain.to_string().contains("Install:"));
    }
}
