//! Backends end to end: an explicit GPU backend that cannot start fails fast with the
//! reason and the fix (before anything is installed), `auto` says what it skipped in the
//! run summary, and `anylabel doctor` reports the machine. The selection itself is
//! unit-tested in src/backend.rs with simulated machines; the tests here that need an
//! NVIDIA GPU skip, saying so, on a machine without its driver.

mod common;

use common::{anylabel, fixtures};
use predicates::prelude::*;

/// `doctor --json` on this machine.
fn doctor() -> serde_json::Value {
    let out = anylabel().args(["doctor", "--json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Makes sure the shared test home has ONNX Runtime (installing it the first time).
fn ensure_runtime() {
    anylabel().args(["runtime", "path"]).assert().success();
}

fn has_driver() -> bool {
    // Asked the same way anylabel asks, so the skip and the code agree.
    doctor()["driver"]["present"] == serde_json::json!(true)
}

fn image() -> std::path::PathBuf {
    walkdir::WalkDir::new(fixtures())
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .map(|e| e.into_path())
        .find(|p| p.extension().is_some_and(|x| x == "jpg"))
        .expect("a JPEG among the fixtures")
}

#[test]
fn an_explicit_gpu_backend_without_a_driver_fails_fast_and_installs_nothing() {
    ensure_runtime();
    if has_driver() {
        eprintln!("skipped: this machine has an NVIDIA driver (the test is for one without)");
        return;
    }
    for backend in ["cuda", "trt"] {
        let home = tempfile::tempdir().unwrap();
        anylabel()
            .env("ANYLABEL_HOME", home.path())
            // Nothing may be fetched: an index that answers nothing.
            .env("ANYLABEL_PYPI_INDEX", "http://127.0.0.1:9/simple")
            .args(["infer", "--backend", backend, "--model", "nudenet-320n"])
            .arg(image())
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains(format!("--backend {backend} cannot start"))
                    .and(predicate::str::contains("libcuda.so.1 not found"))
                    .and(predicate::str::contains("nvidia-smi")),
            );
        // Neither ONNX Runtime nor the model was fetched.
        assert!(!home.path().join("runtime").exists());
        assert!(!home.path().join("models").exists());
    }
    // --device is checked after the driver: still the driver's reason.
    anylabel()
        .args([
            "infer",
            "--backend",
            "cuda",
            "--device",
            "3",
            "-m",
            "nudenet-320n",
        ])
        .arg(image())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("libcuda.so.1 not found"));
    // filter --model takes the same flags.
    anylabel()
        .args([
            "filter",
            "--backend",
            "trt",
            "-m",
            "nudenet-320n",
            "--class",
            "x",
        ])
        .arg(image())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--backend trt cannot start"));
    // --preprocess gpu with auto: the same, before any image is read or fetched; and
    // --decode gpu, which makes auto's letterbox the GPU's.
    let home = tempfile::tempdir().unwrap();
    for flag in ["--preprocess", "--decode"] {
        anylabel()
            .env("ANYLABEL_HOME", home.path())
            .env("ANYLABEL_PYPI_INDEX", "http://127.0.0.1:9/simple")
            .args(["infer", flag, "gpu", "-m", "nudenet-320n"])
            .arg(image())
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains(format!(
                    "{flag} gpu needs an NVIDIA GPU: no NVIDIA driver"
                ))
                .and(predicate::str::contains("Install the NVIDIA driver")),
            );
    }
    assert!(!home.path().join("models").exists());
}

#[test]
fn precision_is_tensorrts_and_a_misuse_is_a_usage_error() {
    let usage_error = |args: &[&str], says: &str| {
        anylabel()
            .arg("infer")
            .args(args)
            .args(["-m", "x"])
            .arg(image())
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    };
    usage_error(
        &["--backend", "cpu", "--precision", "fp16"],
        "--precision fp16 is TensorRT's",
    );
    // INT8 needs its calibration images, and only TensorRT has it.
    usage_error(
        &["--precision", "int8"],
        "--precision int8 needs --calib DIR",
    );
    usage_error(
        &["--backend", "cpu", "--precision", "int8", "--calib", "."],
        "--precision int8 is TensorRT's",
    );
    usage_error(&["--calib", "."], "--calib is for --precision int8");
    // The GPU letterbox writes the tensor a GPU backend reads: not with the CPU's.
    usage_error(
        &["--backend", "cpu", "--preprocess", "gpu"],
        "--preprocess gpu letterboxes into the tensor the model reads on the GPU",
    );
    // nvJPEG's pixels stay on the GPU the model runs on, for the GPU letterbox.
    usage_error(
        &["--backend", "cpu", "--decode", "gpu"],
        "--decode gpu decodes on the GPU the model runs on",
    );
    usage_error(
        &["--preprocess", "cpu", "--decode", "gpu"],
        "--decode gpu leaves the pixels on the GPU",
    );
}

#[test]
fn auto_without_a_driver_runs_on_the_cpu_and_says_why_in_the_summary() {
    ensure_runtime();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let out = anylabel()
        .args(["infer", "-m", "nudenet-320n", "-o"])
        .arg(dir.path().join("out.jsonl"))
        .arg("--json")
        .arg(&summary)
        .arg(image())
        .assert()
        .success();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let b = &s["backend"];
    assert_eq!(b["requested"], "auto");
    assert_eq!(b["device"], 0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    if has_driver() {
        eprintln!(
            "note: this machine has an NVIDIA driver; auto chose {}",
            b["chosen"]
        );
        return;
    }
    assert_eq!(b["chosen"], "cpu");
    let skipped: Vec<(&str, &str)> = b["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["backend"].as_str().unwrap(),
                k["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!((skipped[0].0, skipped[1].0), ("trt", "cuda"));
    assert!(skipped.iter().all(|(_, r)| r.contains("libcuda.so.1")));
    // A run answered wholly from the cache loads no model: `chosen` is null, and the
    // skips the driver alone decides are there all the same.
    let db = dir.path().join("cache.db");
    for _ in 0..2 {
        anylabel()
            .env("ANYLABEL_CACHE", &db)
            .args(["infer", "-m", "nudenet-320n", "-o", "/dev/null", "--json"])
            .arg(&summary)
            .arg(image())
            .assert()
            .success();
    }
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        cached["backend"]["chosen"],
        serde_json::Value::Null,
        "{cached}"
    );
    assert_eq!(cached["backend"]["skipped"], b["skipped"], "{cached}");
    // No driver at all: the skips are -v detail, not warnings.
    assert!(!stderr.contains("skipped"), "{stderr}");
    assert!(stderr.contains("(backend cpu)"), "{stderr}");
    let verbose = anylabel()
        .args(["-v", "infer", "-m", "nudenet-320n"])
        .arg(image())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&verbose.get_output().stderr).to_string();
    assert!(
        stderr.contains("backend auto: trt skipped: no NVIDIA driver"),
        "{stderr}"
    );
}

#[test]
fn doctor_reports_the_runtime_the_driver_the_libraries_and_the_backends() {
    ensure_runtime();
    let out = anylabel().arg("doctor").assert().code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for part in [
        "ONNX Runtime",
        "libonnxruntime",
        "CPUExecutionProvider",
        "NVIDIA driver",
        "GPU libraries",
        "Backends",
        "cpu   ready",
        "Result cache",
        "TensorRT engines",
    ] {
        assert!(text.contains(part), "doctor does not say {part:?}:\n{text}");
    }
    let j = doctor();
    assert_eq!(j["exit_code"], 0);
    let library = j["onnxruntime"]["library"].as_str().unwrap().to_string();
    // The CPU build named by ORT_DYLIB_PATH is no problem where no GPU backend can run.
    if !has_driver() {
        let out = anylabel()
            .args(["doctor", "--json"])
            .env("ORT_DYLIB_PATH", &library)
            .output()
            .unwrap();
        let with_env: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(with_env["problems"], serde_json::json!([]), "{with_env}");
    }
    // NVRTC for our kernels: where it is, or the command that installs it.
    assert!(
        text.contains("Our CUDA kernels (the GPU letterbox: --preprocess auto|gpu)"),
        "{text}"
    );
    // nvJPEG for --decode gpu: its version, or the command that installs it.
    assert!(
        j["nvjpeg"]["version"].as_str().is_some()
            || j["nvjpeg"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("nvidia-nvjpeg")),
        "{}",
        j["nvjpeg"]
    );
    // The GPU's JPEG engine: only asked where a GPU can answer; a yes or a reason there.
    if j["driver"]["gpus"].is_array() && j["nvjpeg"]["version"].is_string() {
        let e = &j["jpeg_engine"];
        assert!(e["available"] == true || e["reason"].is_string(), "{e}");
    } else {
        assert!(j["jpeg_engine"].is_null(), "{}", j["jpeg_engine"]);
    }
    let k = &j["kernels"];
    assert!(
        k["nvrtc"]
            .as_str()
            .is_some_and(|p| std::path::Path::new(p).is_file())
            || k["fix"]
                .as_str()
                .is_some_and(|f| f.contains("nvidia-cuda-nvrtc")),
        "{k}"
    );
    // In a Python environment with the nvidia-cuda-nvrtc wheel (the test Python's), found.
    if let Some(python) = std::env::var_os("ANYLABEL_TEST_PYTHON") {
        let prefix = std::path::Path::new(&python)
            .parent()
            .unwrap()
            .parent()
            .unwrap();
        let out = anylabel()
            .args(["doctor", "--json"])
            .env("VIRTUAL_ENV", prefix)
            .output()
            .unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let found = j["kernels"]["nvrtc"].as_str().unwrap_or_default();
        assert!(
            found.contains("nvidia") && found.ends_with("libnvrtc.so.13"),
            "NVRTC not found in {}: {}",
            prefix.display(),
            j["kernels"]
        );
        // nvJPEG from the nvidia-nvjpeg wheel: found, opened, every entry point resolved
        // and its version read (none of which needs a GPU).
        let nvjpeg = &j["nvjpeg"];
        assert!(
            nvjpeg["library"]
                .as_str()
                .is_some_and(|p| p.contains("nvidia") && p.ends_with("libnvjpeg.so.13"))
                && nvjpeg["version"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("13.")),
            "nvJPEG not found in {}: {nvjpeg}",
            prefix.display()
        );
    }
    let backends = j["backends"].as_array().unwrap();
    assert_eq!(backends[0]["backend"], "cpu");
    assert_eq!(backends[0]["ok"], true);
    if has_driver() {
        eprintln!("note: this machine has an NVIDIA driver; the no-driver checks are skipped");
        return;
    }
    assert!(text.contains("libcuda.so.1 not found"), "{text}");
    assert_eq!(j["driver"]["present"], false);
    assert_eq!(j["auto"], "cpu");
    for b in &backends[1..] {
        assert_eq!(b["ok"], false);
        assert!(b["reason"].as_str().unwrap().contains("no NVIDIA driver"));
    }
    // Every missing library comes with the command that installs it.
    for lib in j["libraries"].as_array().unwrap() {
        if lib["found"].is_null() {
            assert!(lib["fix"].as_str().is_some_and(|f| !f.is_empty()), "{lib}");
        }
    }
    // --require-gpu: exit 5 where the GPU backend cannot start.
    anylabel()
        .args(["doctor", "--require-gpu"])
        .assert()
        .code(5);
    anylabel()
        .args(["doctor", "--require-gpu", "trt", "--json"])
        .assert()
        .code(5);
}

#[test]
fn doctor_without_onnx_runtime_exits_1_and_says_how_to_install_it() {
    let home = tempfile::tempdir().unwrap();
    // No runtime in the home, none on the library path, no Python to find one with.
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .env("PATH", "/nonexistent")
        .env("LD_LIBRARY_PATH", "")
        .env_remove("VIRTUAL_ENV")
        .env_remove("CONDA_PREFIX")
        .arg("doctor")
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("no ONNX Runtime found")
                .and(predicate::str::contains("anylabel runtime install"))
                .and(predicate::str::contains(
                    "cpu   no: ONNX Runtime is not loaded",
                )),
        );
    // --json gives every backend the reason the text gives (it gave the CPU's as null).
    let out = anylabel()
        .env("ANYLABEL_HOME", home.path())
        .env("PATH", "/nonexistent")
        .env("LD_LIBRARY_PATH", "")
        .env_remove("VIRTUAL_ENV")
        .env_remove("CONDA_PREFIX")
        .args(["doctor", "--json"])
        .assert()
        .code(1);
    let j: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let backends = j["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 3, "{j}");
    for b in backends {
        assert_eq!(b["ok"], false, "{b}");
        assert_eq!(b["reason"], "ONNX Runtime is not loaded", "{b}");
    }
}

#[test]
fn help_teaches_the_backends() {
    anylabel()
        .args(["infer", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--backend <BACKEND>")
                .and(predicate::str::contains("--device <N>"))
                .and(predicate::str::contains("--precision <PRECISION>"))
                .and(predicate::str::contains("never falls back"))
                .and(predicate::str::contains("anylabel doctor")),
        );
    anylabel()
        .args(["runtime", "install", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--gpu").and(predicate::str::contains("onnxruntime-gpu")));
    anylabel()
        .args(["doctor", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Exit codes: 0 when the CPU backend works")
                .and(predicate::str::contains("--require-gpu")),
        );
    anylabel()
        .args(["bench", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--backend"));
}

/// On a machine with an NVIDIA GPU and the GPU build of ONNX Runtime (ORT_DYLIB_PATH, as
/// the device machine's unpack script sets it): the CUDA backend labels the same boxes as
/// the CPU, within float tolerance.
#[test]
fn the_cuda_backend_finds_the_boxes_the_cpu_finds() {
    let Some(ort) = std::env::var_os("ANYLABEL_TEST_ORT_GPU") else {
        eprintln!(
            "skipped: needs an NVIDIA GPU and ANYLABEL_TEST_ORT_GPU=<the onnxruntime-gpu library>"
        );
        return;
    };
    if !has_driver() {
        eprintln!("skipped: no NVIDIA driver on this machine (libcuda.so.1 not found)");
        return;
    }
    let run = |args: &[&str]| {
        let out = anylabel()
            .env("ORT_DYLIB_PATH", &ort)
            .args([
                "infer",
                "-m",
                "nudenet-320n",
                "--conf",
                "0.1",
                "--batch",
                "4",
            ])
            .args(args)
            .arg(fixtures())
            .output()
            .unwrap();
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(3),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        common::records(&out.stdout)
    };
    let cpu = run(&["--backend", "cpu"]);
    // The measure: at least 99% of the boxes found again, same class, IoU >= 0.9
    // (the GPU's convolutions round differently; bench/compare_records.py is the same).
    for args in [
        &["--backend", "cuda"][..],
        &["--backend", "cuda", "--preprocess", "gpu"][..],
        &["--backend", "cuda", "--decode", "gpu"][..],
    ] {
        let cuda = run(args);
        assert_eq!(cpu.len(), cuda.len());
        let (mut matched, mut total) = (0, 0);
        for (a, b) in cpu.iter().zip(&cuda) {
            assert_eq!(a["path"], b["path"]);
            let (ba, mut bb) = (common::boxes(a), common::boxes(b));
            total += ba.len().max(bb.len());
            for x in &ba {
                let best = bb
                    .iter()
                    .enumerate()
                    .filter(|(_, y)| y.0 == x.0)
                    .map(|(i, y)| (i, iou(&x.2, &y.2)))
                    .filter(|&(_, v)| v >= 0.9)
                    .max_by(|p, q| p.1.total_cmp(&q.1));
                if let Some((i, _)) = best {
                    bb.remove(i);
                    matched += 1;
                }
            }
        }
        assert!(total > 50, "{args:?}: only {total} boxes");
        assert!(
            matched as f64 >= 0.99 * total as f64,
            "{args:?}: {matched} of {total} boxes agree with the CPU's"
        );
    }
}

fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}
