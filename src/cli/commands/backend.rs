//! `--backend`, `--device`, `--precision`, `--calib`, `--preprocess` and `--decode`
//! (shared by `infer`, `filter --model` and `bench`) as the library takes them, and the
//! combinations of them that are usage errors.

use anyhow::{Result, bail};
use anylabel::backend;
use anylabel::driver::DriverState;
use anylabel::pipeline::Preprocess;

use crate::cli::args::{Backend, BackendArgs, DecodeAt, Precision, PreprocessAt};

/// `--backend`, `--device` and `--precision` as the library takes them; the driver is
/// probed here, so an explicit GPU backend on a machine without one fails at once.
pub(super) fn backend_request(
    args: &BackendArgs,
) -> Result<(backend::Request, anylabel::trt::Precision)> {
    Ok((
        backend::Request::new(args.backend.into(), args.device)?,
        args.precision.into(),
    ))
}

/// `--preprocess` for the pipeline; `--preprocess gpu` on a machine whose NVIDIA driver is
/// missing or does not start fails here, before any image is read. `auto` letterboxes on
/// the GPU where the model may run on one (the pipeline falls back to the CPU, saying why,
/// where it does not or the kernel cannot start), on the CPU otherwise.
pub(super) fn preprocess_at(args: &BackendArgs, request: &backend::Request) -> Result<Preprocess> {
    // nvJPEG's images are letterboxed where they are: --decode gpu makes auto gpu.
    let at = match (args.preprocess, args.decode) {
        (PreprocessAt::Auto, DecodeAt::Gpu) => PreprocessAt::Gpu,
        (at, _) => at,
    };
    let what = if at == args.preprocess {
        "--preprocess gpu"
    } else {
        "--decode gpu"
    };
    Ok(match at {
        PreprocessAt::Cpu => Preprocess::Cpu,
        PreprocessAt::Auto => {
            let gpu_backend = args.backend != Backend::Cpu;
            let driver = matches!(request.driver, DriverState::Present(_));
            if gpu_backend && driver {
                Preprocess::Gpu {
                    device: request.device,
                    required: false,
                }
            } else {
                Preprocess::Cpu
            }
        }
        PreprocessAt::Gpu => {
            match &request.driver {
                // The same reason, with what to install or check, as --backend cuda gives.
                DriverState::Missing(why) => {
                    bail!(
                        "{what} needs an NVIDIA GPU: {}",
                        backend::Reason::NoDriver(why.clone())
                    )
                }
                DriverState::Failed(why) => {
                    bail!(
                        "{what} needs an NVIDIA GPU: {}",
                        backend::Reason::DriverFailed(why.clone())
                    )
                }
                DriverState::Present(_) => {}
            }
            Preprocess::Gpu {
                device: request.device,
                required: true,
            }
        }
    })
}

/// `--precision fp16|int8` with a backend that has no such setting, int8 without
/// `--calib` (or `--calib` without int8), `--preprocess gpu` or `--decode gpu` with the
/// CPU backend, or `--decode gpu` with `--preprocess cpu`: a usage error (exit 2).
pub(super) fn precision_misuse(args: &BackendArgs) -> Option<String> {
    if args.preprocess == PreprocessAt::Gpu && args.backend == Backend::Cpu {
        return Some(
            "--preprocess gpu letterboxes into the tensor the model reads on the GPU: use it with --backend cuda, trt or auto".into(),
        );
    }
    if args.decode == DecodeAt::Gpu {
        if args.backend == Backend::Cpu {
            return Some(
                "--decode gpu decodes on the GPU the model runs on: use it with --backend cuda, trt or auto".into(),
            );
        }
        if args.preprocess == PreprocessAt::Cpu {
            return Some(
                "--decode gpu leaves the pixels on the GPU, where only the GPU letterbox reads them: drop --preprocess cpu".into(),
            );
        }
    }
    let int8 = args.precision == Precision::Int8;
    if int8 && args.calib.is_none() {
        return Some(
            "--precision int8 needs --calib DIR: a folder of images like those to label (a few hundred), to measure the ranges TensorRT quantizes to".into(),
        );
    }
    if !int8 && args.calib.is_some() {
        return Some("--calib is for --precision int8".into());
    }
    let name = match args.backend {
        Backend::Cpu => "cpu",
        Backend::Cuda => "cuda",
        _ => return None,
    };
    let precision = anylabel::trt::Precision::from(args.precision);
    if precision == anylabel::trt::Precision::Fp32 {
        return None;
    }
    let precision = precision.name();
    Some(format!(
        "--precision {precision} is TensorRT's: use it with --backend trt (or auto); the {name} backend runs in fp32"
    ))
}
