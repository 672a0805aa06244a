//! INT8 calibration (`src/calib.rs`) against ONNX Runtime's own calibrator.
//!
//! The same letterboxed fixtures go through anylabel's calibration and through
//! `onnxruntime.quantization`'s MinMax calibrator (`tests/python/calib_reference.py`); every
//! tensor the reference calibrates must be in anylabel's table with the same range, and the
//! table must read back with ONNX Runtime's own FlatBuffers reader. Needs the test Python
//! (`ANYLABEL_TEST_PYTHON`, which `scripts/test.sh` sets up).

mod common;

use std::io::Write;
use std::path::PathBuf;

fn python() -> PathBuf {
    common::python("the calibration cross-check needs a Python with onnxruntime and onnx")
}

fn model() -> (&'static ort::environment::Environment, PathBuf) {
    let home = anylabel::home::Home::at(common::home());
    let source = anylabel::model::resolve("nudenet-320n", &home, false).unwrap();
    let env =
        anylabel::runtime::environment(&home, false, anylabel::runtime::Flavour::Cpu).unwrap();
    (env, source.onnx)
}

#[test]
fn the_table_has_onnx_runtimes_ranges_and_reads_back_with_its_reader() {
    let (env, onnx) = model();
    let images: Vec<PathBuf> = anylabel::calib::images_in(&common::fixtures().join("people"))
        .unwrap()
        .into_iter()
        .take(6)
        .collect();
    assert!(images.len() >= 3, "too few fixtures: {images:?}");
    let size = [320u32, 320];
    let tensors: Vec<Vec<f32>> = images
        .iter()
        .map(|p| anylabel::calib::letterboxed(p, size).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("tensors.f32");
    let mut f = std::fs::File::create(&raw).unwrap();
    for t in &tensors {
        for v in t {
            f.write_all(&v.to_le_bytes()).unwrap();
        }
    }
    drop(f);
    let mut calls = 0;
    let ranges = anylabel::calib::calibrate_tensors(
        env,
        &onnx,
        [1, 3, 320, 320],
        tensors.iter().cloned().map(Ok),
        || calls += 1,
    )
    .unwrap();
    assert_eq!(ranges.images, images.len());
    assert_eq!(calls, images.len());
    // The input is letterboxed pixels over 255: its range is at most 1.
    let (lo, hi) = ranges.ranges["images"];
    assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi) && lo < hi);
    let table = dir.path().join("calibration.flatbuffers");
    std::fs::write(&table, anylabel::calib::write_table(&ranges)).unwrap();

    let out = std::process::Command::new(python())
        .arg(common::root().join("tests/python/calib_reference.py"))
        .arg("--model")
        .arg(&onnx)
        .arg("--tensors")
        .arg(&raw)
        .args(["--shape", "1", "3", "320", "320", "--table"])
        .arg(&table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "calib_reference.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("{report}");
    let reference = report["reference_tensors"].as_u64().unwrap();
    assert!(
        reference > 100,
        "the reference calibrated only {reference} tensors"
    );
    assert_eq!(report["missing"], serde_json::json!([]), "{report}");
    assert_eq!(report["mismatched_count"], 0, "{report}");
    assert_eq!(
        report["table_tensors"].as_u64().unwrap(),
        ranges.ranges.len() as u64
    );
}

#[test]
fn the_table_is_cached_by_model_size_and_images() {
    let (env, onnx) = model();
    let cache = tempfile::tempdir().unwrap();
    let calib = tempfile::tempdir().unwrap();
    let fixtures: Vec<PathBuf> = anylabel::calib::images_in(&common::fixtures().join("people"))
        .unwrap()
        .into_iter()
        .take(2)
        .collect();
    for p in &fixtures {
        std::fs::copy(p, calib.path().join(p.file_name().unwrap())).unwrap();
    }
    let t = std::time::Instant::now();
    let (path, sha) =
        anylabel::calib::table_for(env, cache.path(), "abc", &onnx, calib.path(), [320, 320])
            .unwrap();
    let first = t.elapsed();
    assert!(path.starts_with(cache.path()) && path.exists());
    // Again: the same file, from the cache (its modification time is unchanged).
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let (again, sha_again) =
        anylabel::calib::table_for(env, cache.path(), "abc", &onnx, calib.path(), [320, 320])
            .unwrap();
    assert_eq!((&again, &sha_again), (&path, &sha));
    assert_eq!(
        std::fs::metadata(&again).unwrap().modified().unwrap(),
        modified
    );
    eprintln!("calibrated 2 images in {first:?}");
    // Another size, another model or other images: another table.
    let other_size =
        anylabel::calib::table_for(env, cache.path(), "abc", &onnx, calib.path(), [320, 256])
            .unwrap();
    let other_model =
        anylabel::calib::table_for(env, cache.path(), "abd", &onnx, calib.path(), [320, 320])
            .unwrap();
    assert_ne!(other_size.0, path);
    assert_ne!(other_model.0, path);
    std::fs::remove_file(calib.path().join(fixtures[0].file_name().unwrap())).unwrap();
    let fewer =
        anylabel::calib::table_for(env, cache.path(), "abc", &onnx, calib.path(), [320, 320])
            .unwrap();
    assert_ne!(fewer.0, path);

    // A folder with no images, and no folder at all: errors that name it.
    let empty = tempfile::tempdir().unwrap();
    let e = anylabel::calib::table_for(env, cache.path(), "abc", &onnx, empty.path(), [320, 320])
        .unwrap_err();
    assert!(format!("{e:#}").contains("no images"), "{e:#}");
    let e = anylabel::calib::table_for(
        env,
        cache.path(),
        "abc",
        &onnx,
        &empty.path().join("nope"),
        [320, 320],
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("not a folder"), "{e:#}");
}
