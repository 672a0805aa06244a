//! `doctor`'s output on hand-made reports: the text, the JSON and the exit code.

use super::*;
use crate::driver::{Driver, Gpu};

const NO_DRIVER: &str = "libcuda.so.1: cannot open shared object file: No such file or directory";

/// An H100 machine with the GPU build, every library and a used cache.
fn gpu_machine() -> Report {
    let lib = |provider, name: &str| Library {
        provider,
        name: name.into(),
        found: Some(PathBuf::from("/site/nvidia/cu13/lib").join(name)),
        fix: None,
    };
    Report {
        onnxruntime: Some(Onnxruntime {
            library: "/h/runtime/onnxruntime-gpu-1.31.1/libonnxruntime.so.1.31.1".into(),
            found_through: "the anylabel home".into(),
            version: Some("1.31.1".into()),
            gpu_build: true,
            providers: vec![
                "TensorrtExecutionProvider".into(),
                "CUDAExecutionProvider".into(),
                "CPUExecutionProvider".into(),
            ],
        }),
        onnxruntime_error: None,
        gpu_build: Some("/h/runtime/onnxruntime-gpu-1.31.1/libonnxruntime.so.1.31.1".into()),
        problems: vec![],
        driver: DriverState::Present(Driver {
            cuda_version: 13000,
            gpus: vec![Gpu {
                index: 0,
                name: "NVIDIA H100 80GB HBM3".into(),
                memory: Some(80 << 30),
            }],
        }),
        libraries: vec![
            lib(Kind::Cuda, "libcudnn.so.9"),
            lib(Kind::Cuda, "libcublasLt.so.13"),
            lib(Kind::Trt, "libnvinfer.so.10"),
        ],
        libraries_source: "read from the providers beside /h/runtime/onnxruntime-gpu-1.31.1/libonnxruntime.so.1.31.1".into(),
        kernels: Kernels {
            nvrtc: Some("/site/nvidia/cu13/lib/libnvrtc.so.13".into()),
            fix: None,
        },
        nvjpeg: Ok(("/site/nvidia/cu13/lib/libnvjpeg.so.13".into(), "13.0.4".into())),
        jpeg_engine: Some(Ok(())),
        backends: [Kind::Cpu, Kind::Cuda, Kind::Trt]
            .map(|backend| Backend {
                backend,
                verdict: Ok(()),
            })
            .to_vec(),
        cache: CacheReport::Stats {
            path: "/h/cache.db".into(),
            bytes: 2_500_000,
            images: 40,
            results: 41,
            hits: 3,
            misses: 1,
        },
        trt_cache: TrtCache {
            path: "/h/trt".into(),
            engines: 1,
            files: 2,
            bytes: 31_400_000,
        },
        device: 0,
        require: None,
    }
}

/// A machine without a driver or ONNX Runtime.
fn bare_machine() -> Report {
    let mut r = gpu_machine();
    r.onnxruntime = None;
    r.onnxruntime_error = Some("no ONNX Runtime found (...)".into());
    r.gpu_build = None;
    r.driver = DriverState::Missing(NO_DRIVER.into());
    r.libraries = vec![
        Library {
            provider: Kind::Cuda,
            name: "libcudart.so.13".into(),
            found: None,
            fix: Some(dylib::fix("libcudart.so.13", Some(13))),
        },
        Library {
            provider: Kind::Trt,
            name: "libnvinfer.so.10".into(),
            found: None,
            fix: Some(dylib::fix("libnvinfer.so.10", Some(13))),
        },
    ];
    r.libraries_source = "what onnxruntime-gpu 1.31 needs".into();
    r.kernels = Kernels {
        nvrtc: None,
        fix: Some(NVRTC_FIX.into()),
    };
    r.nvjpeg = Err("nvJPEG (libnvjpeg.so.13) is not installed".into());
    r.jpeg_engine = None;
    for b in &mut r.backends {
        b.verdict = Err("ONNX Runtime is not loaded".into());
    }
    r.cache = CacheReport::Empty {
        path: "/h/cache.db".into(),
    };
    r.trt_cache = TrtCache {
        path: "/h/trt".into(),
        engines: 0,
        files: 0,
        bytes: 0,
    };
    r
}

fn lines(r: &Report) -> Vec<String> {
    render(r).lines().map(str::to_string).collect()
}

#[test]
fn a_gpu_machine_with_everything_reads_as_ready() {
    let r = gpu_machine();
    let expected = "\
ONNX Runtime
  library    /h/runtime/onnxruntime-gpu-1.31.1/libonnxruntime.so.1.31.1 (found through the anylabel home)
  version    1.31.1
  providers  TensorrtExecutionProvider, CUDAExecutionProvider, CPUExecutionProvider
  GPU build  /h/runtime/onnxruntime-gpu-1.31.1/libonnxruntime.so.1.31.1
NVIDIA driver
  CUDA       13.0 (the newest the driver supports)
  GPU 0      NVIDIA H100 80GB HBM3, 80 GiB
GPU libraries: read from the providers beside /h/runtime/onnxruntime-gpu-1.31.1/libonnxruntime.so.1.31.1
  libcudnn.so.9      cuda  /site/nvidia/cu13/lib/libcudnn.so.9
  libcublasLt.so.13  cuda  /site/nvidia/cu13/lib/libcublasLt.so.13
  libnvinfer.so.10   trt   /site/nvidia/cu13/lib/libnvinfer.so.10
Our CUDA kernels (the GPU letterbox: --preprocess auto|gpu)
  NVRTC      /site/nvidia/cu13/lib/libnvrtc.so.13
  nvJPEG     13.0.4, /site/nvidia/cu13/lib/libnvjpeg.so.13 (--decode gpu)
  JPEG engine  on GPU 0: --decode gpu hands it the JPEGs it supports
Backends
  cpu   ready
  cuda  ready (ONNX Runtime's own check happens when a model starts on it)
  trt   ready (ONNX Runtime's own check happens when a model starts on it)
  --backend auto would use: cpu
Result cache
  path       /h/cache.db
  size       2.5 MB, 41 results for 40 images
  hit rate   75.0% of 4 lookups
TensorRT engines
  /h/trt: 1 engine, 31.4 MB
";
    assert_eq!(render(&r), expected);
    assert_eq!(exit_code(&r), exit_codes::SUCCESS);
    let j = json(&r).unwrap();
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["auto"], "cpu");
    assert_eq!(
        j["driver"],
        serde_json::json!({"present": true, "cuda_version": "13.0",
            "gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory": 80u64 << 30}]})
    );
    assert_eq!(j["jpeg_engine"], serde_json::json!({"available": true}));
    assert_eq!(
        j["nvjpeg"],
        serde_json::json!({"library": "/site/nvidia/cu13/lib/libnvjpeg.so.13", "version": "13.0.4"})
    );
    assert_eq!(
        j["cache"],
        serde_json::json!({"path": "/h/cache.db", "exists": true, "bytes": 2_500_000,
            "images": 40, "results": 41, "hits": 3, "misses": 1, "hit_rate": 0.75})
    );
    assert_eq!(
        j["backends"][1],
        serde_json::json!({"backend": "cuda", "ok": true, "reason": null})
    );
    assert_eq!(
        j["libraries"][2],
        serde_json::json!({"provider": "trt", "name": "libnvinfer.so.10",
            "found": "/site/nvidia/cu13/lib/libnvinfer.so.10", "fix": null})
    );
    assert_eq!(j["onnxruntime"]["gpu_build"], true);
    assert_eq!(
        j["kernels"],
        serde_json::json!({"nvrtc": "/site/nvidia/cu13/lib/libnvrtc.so.13", "fix": null})
    );
    // The JSON carries what the text shows and no more: device and require stay out.
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "auto",
            "backends",
            "cache",
            "driver",
            "exit_code",
            "gpu_build",
            "jpeg_engine",
            "kernels",
            "libraries",
            "libraries_source",
            "nvjpeg",
            "onnxruntime",
            "onnxruntime_error",
            "problems",
            "trt_cache"
        ]
    );
}

#[test]
fn without_onnx_runtime_every_backend_says_so_and_the_exit_code_is_1() {
    let r = bare_machine();
    let expected = format!(
        "\
ONNX Runtime
  error      no ONNX Runtime found (...)
  GPU build  not installed (`anylabel runtime install --gpu`; 256 MB)
NVIDIA driver
  none       libcuda.so.1 not found ({NO_DRIVER}); the CPU backend is what runs here
GPU libraries: what onnxruntime-gpu 1.31 needs
  libcudart.so.13   cuda  missing: `pip install \"nvidia-cuda-runtime==13.*\"`
  libnvinfer.so.10  trt   missing: {}
Our CUDA kernels (the GPU letterbox: --preprocess auto|gpu)
  NVRTC      missing: {NVRTC_FIX}
  nvJPEG     missing (--decode gpu): nvJPEG (libnvjpeg.so.13) is not installed
Backends
  cpu   no: ONNX Runtime is not loaded
  cuda  no: ONNX Runtime is not loaded
  trt   no: ONNX Runtime is not loaded
Result cache
  path       /h/cache.db
  empty      (created by the first infer run)
TensorRT engines
  /h/trt: 0 engines, 0.0 MB
",
        dylib::fix("libnvinfer.so.10", Some(13))
    );
    assert_eq!(render(&r), expected);
    assert_eq!(exit_code(&r), exit_codes::ERROR);
    let j = json(&r).unwrap();
    assert_eq!(j["exit_code"], 1);
    assert!(j["auto"].is_null() && j["onnxruntime"].is_null() && j["jpeg_engine"].is_null());
    assert_eq!(j["onnxruntime_error"], "no ONNX Runtime found (...)");
    assert_eq!(
        j["driver"],
        serde_json::json!({"present": false, "error": NO_DRIVER})
    );
    assert_eq!(
        j["nvjpeg"],
        serde_json::json!({"library": null, "error": "nvJPEG (libnvjpeg.so.13) is not installed"})
    );
    assert_eq!(
        j["cache"],
        serde_json::json!({"path": "/h/cache.db", "exists": false})
    );
    assert_eq!(
        j["backends"][0],
        serde_json::json!({"backend": "cpu", "ok": false, "reason": "ONNX Runtime is not loaded"})
    );
    assert_eq!(j["kernels"]["fix"], NVRTC_FIX);
    // --require-gpu does not hide that nothing runs.
    let mut r = r;
    r.require = Some(Kind::Cuda);
    assert_eq!(exit_code(&r), exit_codes::ERROR);
}

#[test]
fn tensorrt_missing_is_a_missing_library_and_fails_only_require_gpu_trt() {
    let mut r = gpu_machine();
    r.libraries[2].found = None;
    r.libraries[2].fix = Some(dylib::fix("libnvinfer.so.10", Some(13)));
    r.backends[2].verdict = Err("ONNX Runtime's TensorRT provider needs libnvinfer.so.10".into());
    let text = lines(&r);
    assert!(
        text.contains(&format!(
            "  libnvinfer.so.10   trt   missing: {}",
            dylib::fix("libnvinfer.so.10", Some(13))
        )),
        "{text:#?}"
    );
    assert!(text.contains(
        &"  trt   no: ONNX Runtime's TensorRT provider needs libnvinfer.so.10".to_string()
    ));
    assert_eq!(exit_code(&r), exit_codes::SUCCESS);
    r.require = Some(Kind::Cuda);
    assert_eq!(exit_code(&r), exit_codes::SUCCESS);
    r.require = Some(Kind::Trt);
    assert_eq!(exit_code(&r), exit_codes::NO_GPU_BACKEND);
    let j = json(&r).unwrap();
    assert_eq!(j["exit_code"], 5);
    assert_eq!(j["backends"][2]["ok"], false);
    assert!(j["libraries"][2]["found"].is_null());
    assert!(
        j["libraries"][2]["fix"]
            .as_str()
            .unwrap()
            .contains("tensorrt-cu13")
    );
}

#[test]
fn a_driver_that_failed_or_sees_no_gpu_says_so() {
    let mut r = gpu_machine();
    r.driver = DriverState::Present(Driver {
        cuda_version: 12040,
        gpus: vec![],
    });
    let text = lines(&r);
    assert!(text.contains(&"  CUDA       12.4 (the newest the driver supports)".to_string()));
    assert!(text.contains(&"  GPUs       none visible (CUDA_VISIBLE_DEVICES?)".to_string()));
    r.driver = DriverState::Failed("cuInit failed with CUDA_ERROR_UNKNOWN (999)".into());
    r.jpeg_engine = Some(Err("no GPU for our kernels".into()));
    r.device = 1;
    let text = lines(&r);
    assert!(text.contains(&"  failed     cuInit failed with CUDA_ERROR_UNKNOWN (999)".to_string()));
    assert!(text.contains(&"  JPEG engine  none: no GPU for our kernels".to_string()));
    let j = json(&r).unwrap();
    assert_eq!(
        j["driver"],
        serde_json::json!({"present": true, "error": "cuInit failed with CUDA_ERROR_UNKNOWN (999)"})
    );
    assert_eq!(
        j["jpeg_engine"],
        serde_json::json!({"available": false, "reason": "no GPU for our kernels"})
    );
}

#[test]
fn caches_off_unreadable_or_never_looked_up_and_problems_have_their_lines() {
    let mut r = gpu_machine();
    r.cache = CacheReport::Off;
    r.problems = vec!["ORT_DYLIB_PATH points at a CPU-only build".into()];
    r.libraries.clear();
    r.onnxruntime.as_mut().unwrap().version = None;
    r.trt_cache.engines = 2;
    let text = render(&r);
    assert!(text.contains("\n  off (ANYLABEL_CACHE=off)\n"), "{text}");
    assert!(text.contains("\n  problem    ORT_DYLIB_PATH points at a CPU-only build\n"));
    assert!(text.contains("\n  (the providers link against nothing outside the system)\n"));
    assert!(text.contains("\n  version    (not in the file name)\n"));
    assert!(text.contains("/h/trt: 2 engines, 31.4 MB\n"));
    assert_eq!(json(&r).unwrap()["cache"], serde_json::json!({"off": true}));
    r.cache = CacheReport::Error {
        path: "/h/cache.db".into(),
        error: "file is not a database".into(),
    };
    assert!(
        render(&r).contains("\n  path       /h/cache.db\n  error      file is not a database\n")
    );
    assert_eq!(
        json(&r).unwrap()["cache"],
        serde_json::json!({"path": "/h/cache.db", "error": "file is not a database"})
    );
    // A cache never looked up has no hit rate.
    r.cache = CacheReport::Stats {
        path: "/h/cache.db".into(),
        bytes: 0,
        images: 0,
        results: 0,
        hits: 0,
        misses: 0,
    };
    let text = render(&r);
    assert!(
        text.contains("\n  size       0.0 MB, 0 results for 0 images\nTensorRT engines\n"),
        "{text}"
    );
    assert!(json(&r).unwrap()["cache"]["hit_rate"].is_null());
}
