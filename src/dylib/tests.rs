//! The library search on folders made in temporary directories.

use super::*;

/// Creates `rel` under `root` (its folders too) and returns its path.
fn touch(root: &Path, rel: &str) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, b"x").unwrap();
    p
}

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
fn a_folder_gives_its_newest_compatible_onnx_runtime() {
    if cfg!(windows) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "libonnxruntime.so.1.20.1",
        "libonnxruntime.so.1.31.1",
        "libonnxruntime.so.1.32.0",
        "libonnxruntime_providers_cuda.so",
        "libonnxruntime_providers_shared.so",
        "onnxruntime_pybind11_state.so",
    ] {
        touch(dir.path(), name);
    }
    let (lib, version) = onnxruntime_in(dir.path()).unwrap();
    assert_eq!(lib, dir.path().join("libonnxruntime.so.1.32.0"));
    assert_eq!(version.as_deref(), Some("1.32.0"));
    assert!(has_gpu_providers(dir.path()));
    // Only too old a version: none.
    let old = tempfile::tempdir().unwrap();
    touch(old.path(), "libonnxruntime.so.1.20.1");
    assert_eq!(onnxruntime_in(old.path()), None);
    assert!(!has_gpu_providers(old.path()));
    assert_eq!(onnxruntime_in(&old.path().join("nowhere")), None);
}

#[test]
fn the_home_gives_complete_cpu_installs_before_gpu_ones_newest_first() {
    let root = tempfile::tempdir().unwrap();
    let home = Home::at(root.path().to_path_buf());
    assert!(home_installs(&home, false).is_empty());
    let rt = home.runtime_dir();
    for d in [
        "onnxruntime-1.31.0",
        "onnxruntime-1.31.1",
        "onnxruntime-gpu-1.31.1",
        "onnxruntime-gpu-1.32.0",
    ] {
        touch(&rt, &format!("{d}/{COMPLETE_MARKER}"));
    }
    // Interrupted (no marker), or not ONNX Runtime's: never looked in.
    touch(&rt, "onnxruntime-1.33.0/libonnxruntime.so.1.33.0");
    touch(&rt, ".install-x/.complete");
    let names = |dirs: Vec<PathBuf>| -> Vec<String> {
        dirs.iter()
            .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(
        names(home_installs(&home, false)),
        [
            "onnxruntime-1.31.1",
            "onnxruntime-1.31.0",
            "onnxruntime-gpu-1.32.0",
            "onnxruntime-gpu-1.31.1"
        ]
    );
    assert_eq!(
        names(home_installs(&home, true)),
        ["onnxruntime-gpu-1.32.0", "onnxruntime-gpu-1.31.1"]
    );
}

#[test]
fn gpu_libraries_are_looked_for_in_cuda_toolkits_and_python_packages_in_order() {
    let root = tempfile::tempdir().unwrap();
    for d in [
        "cuda-12.4/lib64",
        "cuda/lib64",
        "cuda/targets/x86_64-linux/lib",
    ] {
        std::fs::create_dir_all(root.path().join(d)).unwrap();
    }
    std::fs::create_dir_all(root.path().join("lib")).unwrap();
    let cuda = cuda_toolkit_dirs(root.path());
    let rel: Vec<_> = cuda
        .iter()
        .map(|p| p.strip_prefix(root.path()).unwrap().to_path_buf())
        .collect();
    assert_eq!(
        rel,
        [
            "cuda/lib64",
            "cuda/targets/x86_64-linux/lib",
            "cuda/targets/sbsa-linux/lib",
            "cuda-12.4/lib64",
            "cuda-12.4/targets/x86_64-linux/lib",
            "cuda-12.4/targets/sbsa-linux/lib",
        ]
        .map(PathBuf::from)
    );
    let site = tempfile::tempdir().unwrap();
    for d in ["nvidia/cudnn/lib", "nvidia/cu13/lib", "tensorrt_libs"] {
        std::fs::create_dir_all(site.path().join(d)).unwrap();
    }
    let s = site.path();
    assert_eq!(
        python_gpu_dirs(s),
        [
            s.join("nvidia/cu13/lib"),
            s.join("nvidia/cudnn/lib"),
            s.join("tensorrt_libs"),
            s.join("tensorrt"),
        ]
    );
    // library_dirs keeps the folders that exist, each once, the Python ones last.
    let dirs = library_dirs(Some(s), &[s.to_path_buf(), s.to_path_buf()]);
    assert!(dirs.iter().all(|d| d.is_dir()));
    let tail: Vec<&PathBuf> = dirs.iter().filter(|d| d.starts_with(s)).collect();
    assert_eq!(
        tail,
        [
            &s.to_path_buf(),
            &s.join("nvidia/cu13/lib"),
            &s.join("nvidia/cudnn/lib"),
            &s.join("tensorrt_libs"),
        ]
    );
}

#[test]
fn finds_libraries_in_python_nvidia_packages() {
    let site = tempfile::tempdir().unwrap();
    let cudnn = touch(site.path(), "nvidia/cudnn/lib/libcudnn.so.9");
    let cublas = touch(site.path(), "nvidia/cu13/lib/libcublasLt.so.13");
    let dirs = library_dirs(None, &[site.path().to_path_buf()]);
    assert_eq!(find_library("libcudnn.so.9", &dirs), Some(cudnn));
    assert_eq!(find_library("libcublasLt.so.13", &dirs), Some(cublas));
    assert_eq!(find_library("libnvinfer.so.10.nope", &dirs), None);
    // The first folder that has it wins.
    let first = tempfile::tempdir().unwrap();
    let early = touch(first.path(), "libcudnn.so.9");
    let dirs = [
        first.path().to_path_buf(),
        site.path().join("nvidia/cudnn/lib"),
    ];
    assert_eq!(find_library("libcudnn.so.9", &dirs), Some(early));
}

#[test]
fn what_every_system_has_is_not_looked_for() {
    for s in [
        "libc.so.6",
        "libstdc++.so.6",
        "ld-linux-x86-64.so.2",
        "libcuda.so.1",
    ] {
        assert!(is_system(s), "{s}");
    }
    for s in ["libcudnn.so.9", "libnvinfer.so.10", "libcublasLt.so.13"] {
        assert!(!is_system(s), "{s}");
    }
    if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
        return;
    }
    // libstdc++ links against libm, libc and libgcc_s only: nothing to look for.
    let Some(lib) = [
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6",
    ]
    .iter()
    .map(Path::new)
    .find(|p| p.is_file()) else {
        eprintln!("skipped: no libstdc++.so.6 in the usual places");
        return;
    };
    assert_eq!(linked(lib, &[]).unwrap(), []);
    assert!(linked(Path::new("/nonexistent/libx.so"), &[]).is_err());
    assert!(open(lib));
    assert!(!open(Path::new("/nonexistent/libx.so")));
}

#[test]
fn fixes_follow_the_cuda_version_of_the_build() {
    let cu12 = vec!["libcublasLt.so.12".to_string(), "libcudart.so.12".into()];
    assert_eq!(cuda_major(&cu12), Some(12));
    assert_eq!(
        fixes(&cu12)[0],
        "`pip install nvidia-cublas-cu12`".to_string()
    );
    assert_eq!(
        fix("libcudnn.so.9", Some(12)),
        "`pip install nvidia-cudnn-cu12`"
    );
    assert!(fix("libfoo.so.1", None).contains("libfoo.so.1"));
    let cu13 = vec!["libcublas.so.13".to_string(), "libcublasLt.so.13".into()];
    assert_eq!(
        fixes(&cu13),
        [
            "`pip install \"nvidia-cublas==13.*\"`",
            "pip packages need no LD_LIBRARY_PATH: anylabel finds them in the Python environment"
        ]
    );
}

#[test]
fn a_loader_message_names_the_libraries_it_could_not_open() {
    let message = "libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot \
        open shared object file: No such file or directory; '/x/libcudnn.so.9: cannot open \
        shared object file'; libcublasLt.so.13: cannot open shared object file";
    assert_eq!(
        unopened_libraries(message),
        ["libcublasLt.so.13", "libcudnn.so.9"]
    );
    assert!(unopened_libraries("CUDA driver version is insufficient").is_empty());
}
