//! Installing ONNX Runtime and catalogue models from a package index, against a small
//! local index served by the test (PEP 691 JSON pages and wheels), so the checks on
//! hashes and on what is unpacked are exercised without the network.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

use common::anylabel;
use predicates::prelude::*;
use sha2::{Digest, Sha256};

/// Serves `files` (path -> body) over HTTP on 127.0.0.1 until the test ends; returns the base URL.
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let files = Arc::clone(&files);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, body) = match files.get(&path) {
                    Some(b) => ("200 OK", b.clone()),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            });
        }
    });
    base
}

fn sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A wheel holding the given members.
fn wheel(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    for (name, data) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
    buf.into_inner()
}

fn project_page(files: &[(&str, &str, &str)]) -> Vec<u8> {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, url, hash)| serde_json::json!({"filename": name, "url": url, "hashes": {"sha256": hash}}))
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"meta": {"api-version": "1.1"}, "name": "x", "files": files}),
    )
    .unwrap()
}

const PLATFORM_OK: bool = cfg!(all(target_os = "linux", target_arch = "x86_64"));
const WHEEL: &str = "onnxruntime-1.31.9-cp312-cp312-manylinux_2_28_x86_64.whl";

/// A local package index whose `project` holds one file, `name`, listed with its sha256
/// under a relative URL (as mirrors list them).
fn one_wheel_index(project: &str, name: &str, wheel: &[u8]) -> String {
    let mut files = HashMap::new();
    files.insert(format!("/files/{name}"), wheel.to_vec());
    files.insert(
        format!("/simple/{project}/"),
        project_page(&[(name, &format!("/files/{name}"), &sha256(wheel))]),
    );
    serve(files)
}

/// The names in a folder, sorted.
fn sorted_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn runtime_wheel() -> Vec<u8> {
    wheel(&[
        ("onnxruntime/__init__.py", b"# python"),
        (
            "onnxruntime/capi/libonnxruntime.so.1.31.9",
            b"\x7fELF not really",
        ),
        (
            "onnxruntime/capi/libonnxruntime_providers_shared.so",
            b"\x7fELF shared",
        ),
        (
            "onnxruntime/capi/onnxruntime_pybind11_state.cpython-312-x86_64-linux-gnu.so",
            b"\x7fELF python",
        ),
        ("onnxruntime-1.31.9.dist-info/RECORD", b""),
    ])
}

#[test]
fn installs_only_the_library_files_of_a_verified_wheel() {
    if !PLATFORM_OK {
        eprintln!("skipped: the fake wheel is for Linux x86-64");
        return;
    }
    let whl = runtime_wheel();
    let base = one_wheel_index("onnxruntime", WHEEL, &whl);
    let home = tempfile::tempdir().unwrap();
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .env("ANYLABEL_PYPI_INDEX", format!("{base}/simple"))
        .args(["runtime", "install"])
        .assert()
        .success()
        .stdout(predicate::str::ends_with(
            "onnxruntime-1.31.9/libonnxruntime.so.1.31.9\n",
        ))
        .stderr(predicate::str::contains("installed ONNX Runtime 1.31.9"));
    let dir = home.path().join("runtime/onnxruntime-1.31.9");
    assert_eq!(
        sorted_names(&dir),
        [
            ".complete",
            "libonnxruntime.so.1.31.9",
            "libonnxruntime_providers_shared.so"
        ]
    );
    assert!(
        std::fs::read_to_string(dir.join(".complete"))
            .unwrap()
            .contains(&sha256(&whl))
    );
    // Nothing else is left in runtime/ (no wheel, no staging folder).
    let left: Vec<_> = std::fs::read_dir(home.path().join("runtime"))
        .unwrap()
        .collect();
    assert_eq!(left.len(), 1);
    // Found there afterwards, without the network.
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .env("PATH", "/nonexistent")
        .args(["--offline", "runtime", "path"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "onnxruntime-1.31.9/libonnxruntime.so.1.31.9",
        ))
        .stderr(predicate::str::contains("the anylabel home"));
}

const GPU_WHEEL: &str =
    "onnxruntime_gpu-1.31.9-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl";

/// A stand-in for the 256 MB onnxruntime-gpu wheel: the same members, tiny.
fn gpu_wheel() -> Vec<u8> {
    wheel(&[
        ("onnxruntime/__init__.py", b"# python"),
        (
            "onnxruntime/capi/libonnxruntime.so.1.31.9",
            b"\x7fELF not really",
        ),
        (
            "onnxruntime/capi/libonnxruntime_providers_shared.so",
            b"\x7fELF shared",
        ),
        (
            "onnxruntime/capi/libonnxruntime_providers_cuda.so",
            b"\x7fELF cuda",
        ),
        (
            "onnxruntime/capi/libonnxruntime_providers_tensorrt.so",
            b"\x7fELF tensorrt",
        ),
        (
            "onnxruntime/capi/onnxruntime_pybind11_state.cpython-312-x86_64-linux-gnu.so",
            b"\x7fELF python",
        ),
        ("onnxruntime_gpu-1.31.9.dist-info/RECORD", b""),
    ])
}

#[test]
fn installs_the_gpu_build_with_its_providers_beside_the_cpu_build() {
    if !PLATFORM_OK {
        eprintln!("skipped: the fake wheel is for Linux x86-64");
        return;
    }
    let (cpu, gpu) = (runtime_wheel(), gpu_wheel());
    let mut files = HashMap::new();
    files.insert(format!("/files/{WHEEL}"), cpu.clone());
    files.insert(format!("/files/{GPU_WHEEL}"), gpu.clone());
    files.insert(
        "/simple/onnxruntime/".to_string(),
        project_page(&[(WHEEL, &format!("/files/{WHEEL}"), &sha256(&cpu))]),
    );
    // An older release and a Windows wheel beside the one to pick.
    let old = "onnxruntime_gpu-1.31.0-cp312-cp312-manylinux_2_28_x86_64.whl";
    files.insert(
        "/simple/onnxruntime-gpu/".to_string(),
        project_page(&[
            (old, &format!("/files/{old}"), &"1".repeat(64)),
            (
                "onnxruntime_gpu-1.31.9-cp312-cp312-win_amd64.whl",
                "/files/win.whl",
                &"2".repeat(64),
            ),
            (GPU_WHEEL, &format!("/files/{GPU_WHEEL}"), &sha256(&gpu)),
        ]),
    );
    let base = serve(files);
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        anylabel()
            .env("ANYLABEL_HOME", home.path())
            .env("ANYLABEL_PYPI_INDEX", format!("{base}/simple"))
            .args(args)
            .assert()
    };
    run(&["runtime", "install", "--gpu"])
        .success()
        .stdout(predicate::str::ends_with(
            "onnxruntime-gpu-1.31.9/libonnxruntime.so.1.31.9\n",
        ))
        .stderr(predicate::str::contains(
            "installed ONNX Runtime 1.31.9 (GPU: CUDA and TensorRT providers)",
        ));
    let dir = home.path().join("runtime/onnxruntime-gpu-1.31.9");
    assert_eq!(
        sorted_names(&dir),
        [
            ".complete",
            "libonnxruntime.so.1.31.9",
            "libonnxruntime_providers_cuda.so",
            "libonnxruntime_providers_shared.so",
            "libonnxruntime_providers_tensorrt.so",
        ]
    );
    assert!(
        std::fs::read_to_string(dir.join(".complete"))
            .unwrap()
            .contains(&sha256(&gpu))
    );
    // Installed twice: nothing is fetched the second time.
    run(&["runtime", "install", "--gpu"])
        .success()
        .stderr(predicate::str::contains("is already installed"));
    // The CPU build installs beside it, and plain runs prefer it.
    run(&["runtime", "install"]).success();
    run(&["--offline", "runtime", "path"])
        .success()
        .stdout(predicate::str::contains("/onnxruntime-1.31.9/"));
}

#[test]
fn a_gpu_wheel_without_the_cuda_provider_is_refused() {
    if !PLATFORM_OK {
        eprintln!("skipped: the fake wheel is for Linux x86-64");
        return;
    }
    // A CPU wheel published under the GPU project's name.
    let whl = runtime_wheel();
    let name = "onnxruntime_gpu-1.31.9-cp312-cp312-manylinux_2_28_x86_64.whl";
    let base = one_wheel_index("onnxruntime-gpu", name, &whl);
    let home = tempfile::tempdir().unwrap();
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .env("ANYLABEL_PYPI_INDEX", format!("{base}/simple"))
        .args(["runtime", "install", "--gpu"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("holds no CUDA provider"));
    assert!(!home.path().join("runtime/onnxruntime-gpu-1.31.9").exists());
    // And --offline never installs the GPU build.
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .args(["--offline", "runtime", "install", "--gpu"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--offline"));
}

#[test]
fn a_wheel_whose_hash_differs_from_the_index_is_refused() {
    if !PLATFORM_OK {
        eprintln!("skipped: the fake wheel is for Linux x86-64");
        return;
    }
    let whl = runtime_wheel();
    let mut files = HashMap::new();
    files.insert(format!("/files/{WHEEL}"), whl);
    let listed = "0".repeat(64);
    files.insert(
        "/simple/onnxruntime/".to_string(),
        project_page(&[(WHEEL, &format!("/files/{WHEEL}"), &listed)]),
    );
    let base = serve(files);
    let home = tempfile::tempdir().unwrap();
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .env("ANYLABEL_PYPI_INDEX", format!("{base}/simple"))
        .args(["runtime", "install"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("failed its integrity check")
                .and(predicate::str::contains(&listed)),
        );
    let left: Vec<_> = std::fs::read_dir(home.path().join("runtime"))
        .unwrap()
        .collect();
    assert!(
        left.is_empty(),
        "a refused download leaves nothing behind: {left:?}"
    );
}

#[test]
fn a_catalogue_wheel_that_is_not_the_pinned_one_is_refused() {
    let fake = wheel(&[("nudenet/320n.onnx", b"not the model")]);
    let name = "nudenet-3.4.2-py3-none-any.whl";
    let base = one_wheel_index("nudenet", name, &fake);
    let home = tempfile::tempdir().unwrap();
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .env("ANYLABEL_PYPI_INDEX", format!("{base}/simple"))
        .args(["models", "fetch", "nudenet-320n"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("catalogue pins 5937dbd8"));
    assert!(!home.path().join("models/nudenet-320n/320n.onnx").exists());
}

#[test]
fn a_missing_explicit_library_is_an_error_not_a_fallback() {
    anylabel()
        .env("ORT_DYLIB_PATH", "/no/such/libonnxruntime.so")
        .args(["runtime", "path"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "ORT_DYLIB_PATH is set to /no/such/libonnxruntime.so",
        ));
}

/// The refusals say what made the run offline: ANYLABEL_OFFLINE, which the user may have
/// set long ago, or --offline; and a damaged model is called damaged, not missing.
#[test]
fn offline_refusals_name_what_made_the_run_offline() {
    let home = tempfile::tempdir().unwrap();
    let refused = |env: bool, args: &[&str], want: &str| {
        let mut cmd = common::anylabel();
        cmd.env("ANYLABEL_HOME", home.path()).args(args);
        if env {
            cmd.env("ANYLABEL_OFFLINE", "1");
        } else {
            cmd.arg("--offline");
        }
        let out = cmd.assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        stderr
    };
    refused(
        true,
        &["runtime", "install"],
        "ANYLABEL_OFFLINE forbids installing",
    );
    refused(
        false,
        &["runtime", "install"],
        "--offline forbids installing",
    );
    let fetch = ["models", "fetch", "nudenet-320n"];
    refused(true, &fetch, "is not in");
    refused(true, &fetch, "ANYLABEL_OFFLINE forbids fetching it");
    refused(false, &fetch, "--offline forbids fetching it");
    let dir = home.path().join("models").join("nudenet-320n");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("320n.onnx"), b"not a model").unwrap();
    let stderr = refused(
        true,
        &fetch,
        "is damaged (wrong sha256) and ANYLABEL_OFFLINE forbids fetching it",
    );
    assert!(!stderr.contains("fetching it again"), "{stderr}");
}
