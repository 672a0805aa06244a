//! `infer` end to end on small generated models with known outputs, and on every kind of
//! bad input: each bad image gets its record and a warning, the run goes on, the exit code
//! says so; a bad model stops everything before any work.

mod common;

use std::path::Path;

use common::{anylabel, boxes, records, test_model, write_png};
use predicates::prelude::*;

fn v5() -> String {
    test_model("yolov5_head.onnx").display().to_string()
}

/// A folder with one 640×480 image, `img.png`.
fn one_image() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("img.png"), 640, 480);
    dir
}

#[test]
fn decodes_a_yolov5_head_applies_nms_and_maps_boxes_back() {
    let dir = one_image();
    let out = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5()])
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(
        (
            r["path"].as_str(),
            r["width"].as_u64(),
            r["height"].as_u64()
        ),
        (Some("img.png"), Some(640), Some(480))
    );
    assert!(
        r["model"]
            .as_str()
            .unwrap()
            .starts_with("yolov5_head@sha256:")
    );
    assert!(r["error"].is_null());
    // Sorted by score; the 0.72 cat overlapping the 0.81 cat is gone; the 0.72 dog stays;
    // the box reaching above the image is clipped.
    assert_eq!(
        boxes(r),
        vec![
            (2, 0.9025, [610.0, 0.0, 640.0, 30.0]),
            (0, 0.81, [100.0, 100.0, 200.0, 200.0]),
            (1, 0.72, [105.0, 105.0, 205.0, 205.0]),
            (2, 0.3, [375.0, 190.0, 425.0, 250.0]),
        ]
    );
    let labels: Vec<&str> = r["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["bird", "cat", "dog", "bird"]);
}

#[test]
fn agnostic_nms_classes_and_thresholds() {
    let dir = one_image();
    let run = |extra: &[&str]| {
        let out = anylabel()
            .arg("infer")
            .arg(dir.path())
            .args(["--model", &v5()])
            .args(extra)
            .assert()
            .success();
        boxes(&records(&out.get_output().stdout)[0])
            .iter()
            .map(|b| (b.0, b.1))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&["--agnostic"]), vec![(2, 0.9025), (0, 0.81), (2, 0.3)]);
    assert_eq!(run(&["--classes", "bird"]), vec![(2, 0.9025), (2, 0.3)]);
    assert_eq!(run(&["--classes", "0,dog"]), vec![(0, 0.81), (1, 0.72)]);
    assert_eq!(run(&["--conf", "0.75"]), vec![(2, 0.9025), (0, 0.81)]);
    assert_eq!(run(&["--max-det", "1"]), vec![(2, 0.9025)]);
    // With IoU 0.9 the two cats (IoU 0.82) no longer suppress each other.
    assert_eq!(
        run(&["--iou", "0.9"]),
        vec![(2, 0.9025), (0, 0.81), (0, 0.72), (1, 0.72), (2, 0.3)]
    );
    let refused = |classes: &str| {
        anylabel()
            .arg("infer")
            .arg(dir.path())
            .args(["--model", &v5(), "--classes", classes])
            .assert()
            .code(1)
    };
    refused("horse").stderr(
        predicate::str::contains("unknown class 'horse'")
            .and(predicate::str::contains("cat, dog, bird")),
    );
    // A list of no class would keep nothing: an error, not an empty run.
    refused(",")
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "--classes names no class; give names or ids, such as --classes cat",
        ));
}

#[test]
fn batches_give_the_same_records_as_single_images() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..5 {
        write_png(&dir.path().join(format!("{i}.png")), 640, 480);
    }
    let single = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5()])
        .assert()
        .success();
    let batched = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5(), "--batch", "2"])
        .assert()
        .success();
    assert_eq!(
        records(&single.get_output().stdout),
        records(&batched.get_output().stdout)
    );
    assert_eq!(records(&single.get_output().stdout).len(), 5);
}

/// `-o` to a named pipe writes into the pipe, and to a link writes the file it points at:
/// neither is replaced by a plain file (as root, `-o /dev/null` once replaced the device).
#[test]
fn output_to_a_pipe_or_a_link_keeps_it() {
    let dir = one_image();
    let out = tempfile::tempdir().unwrap();
    let fifo = out.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let infer_into = |to: &Path| {
        anylabel()
            .arg("infer")
            .arg(dir.path())
            .args(["--model", &v5(), "-o"])
            .arg(to)
            .assert()
            .success();
    };
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    infer_into(&fifo);
    let got = reader.join().unwrap();
    assert_eq!(records(&got).len(), 1);
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind));

    let link = out.path().join("results.jsonl");
    std::os::unix::fs::symlink("real.jsonl", &link).unwrap();
    infer_into(&link);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    let written = std::fs::read(out.path().join("real.jsonl")).unwrap();
    assert_eq!(records(&written), records(&got));
}

#[test]
fn decodes_an_nms_free_head_with_a_fixed_input_size() {
    let dir = one_image();
    let model = test_model("yolov10_head.onnx");
    let out = anylabel()
        .arg("infer")
        .arg(dir.path())
        .arg("--model")
        .arg(&model)
        .assert()
        .success();
    let r = &records(&out.get_output().stdout)[0];
    assert_eq!(
        boxes(r),
        vec![
            (1, 0.9, [100.0, 100.0, 200.0, 200.0]),
            (2, 0.5, [20.0, 20.0, 40.0, 40.0])
        ]
    );
    assert_eq!(r["detections"][0]["label"], "b");
    // Its input is fixed at 320: another size is refused before any work.
    anylabel()
        .arg("infer")
        .arg(dir.path())
        .arg("--model")
        .arg(&model)
        .args(["--imgsz", "640"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("fixed at 320×320"));
}

/// A config whose class list disagrees with the model is refused before any image is read,
/// saying how many classes the model scores (it was once read as 3 classes and 15 mask
/// coefficients, and those results cached as the model's).
#[test]
fn a_model_config_with_the_wrong_class_count_is_refused() {
    let dir = one_image();
    let cfg = tempfile::tempdir().unwrap();
    let yaml = cfg.path().join("nn.yaml");
    std::fs::write(
        &yaml,
        "type: yolov8\nname: nn\nmodel_path: nudenet-320n\nclasses: [a, b, c]\n",
    )
    .unwrap();
    anylabel()
        .arg("infer")
        .arg(dir.path())
        .arg("--model")
        .arg(&yaml)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "for the 3 class names given; as a YOLOv8 head it scores 18 classes",
        ));
}

#[test]
fn a_model_config_yaml_sets_classes_and_thresholds() {
    let dir = one_image();
    let cfg = tempfile::tempdir().unwrap();
    std::fs::copy(test_model("yolov5_head.onnx"), cfg.path().join("head.onnx")).unwrap();
    std::fs::write(
        cfg.path().join("head.yaml"),
        "type: yolov5\nname: animals\ndisplay_name: Animals\nmodel_path: head.onnx\n\
         input_width: 640\ninput_height: 640\nnms_threshold: 0.45\nconfidence_threshold: 0.5\n\
         classes:\n  - kitten\n  - puppy\n  - parrot\n",
    )
    .unwrap();
    let head = cfg.path().join("head.yaml");
    // `infer` on the image with `model` (and `extra` flags), through `cmd`.
    let infer = |mut cmd: assert_cmd::Command, model: &std::ffi::OsStr, extra: &[&str]| {
        cmd.arg("infer")
            .arg(dir.path())
            .arg("--model")
            .arg(model)
            .args(extra)
            .assert()
            .success()
    };
    let out = infer(anylabel(), head.as_os_str(), &[]);
    let r = &records(&out.get_output().stdout)[0];
    assert!(r["model"].as_str().unwrap().starts_with("animals@sha256:"));
    let got: Vec<(u64, &str)> = r["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["class_id"].as_u64().unwrap(),
                d["label"].as_str().unwrap(),
            )
        })
        .collect();
    // confidence_threshold 0.5 drops the 0.3 parrot; the config's names are used.
    assert_eq!(got, vec![(2, "parrot"), (0, "kitten"), (1, "puppy")]);
    // A flag overrides the config.
    let out = infer(anylabel(), head.as_os_str(), &["--conf", "0.25"]);
    assert_eq!(
        records(&out.get_output().stdout)[0]["detections"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // The config reads the output as the model file alone does (a YOLOv5 head of 3
    // classes): the same results in the cache, under the key they always had.
    let db = cfg.path().join("cache.db");
    infer(common::anylabel_cached(&db), v5().as_ref(), &[]);
    let again = infer(common::anylabel_cached(&db), head.as_os_str(), &[]);
    assert_eq!(common::cache_hits(&again.get_output().stderr), (1, 1));
}

#[test]
fn bad_models_fail_before_any_work() {
    let dir = one_image();
    let not_onnx = dir.path().join("model.onnx");
    std::fs::write(&not_onnx, "this is not a model").unwrap();
    let output = dir.path().join("results.jsonl");
    let cases: Vec<(String, &str)> = vec![
        ("/no/such/model.onnx".to_string(), "not found"),
        (not_onnx.display().to_string(), "is not a valid ONNX model"),
        (
            test_model("classifier_output.onnx").display().to_string(),
            "not a detection head",
        ),
    ];
    for (model, message) in cases {
        anylabel()
            .arg("infer")
            .arg(dir.path().join("img.png"))
            .args(["--model", &model, "-o"])
            .arg(&output)
            .assert()
            .code(1)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(message));
        assert!(
            !output.exists(),
            "no output is written when the model is bad"
        );
    }
}

/// The bad inputs the issue names, next to two good images.
fn bad_inputs(dir: &Path) -> Vec<(&'static str, &'static str)> {
    write_png(&dir.join("a_good.png"), 640, 480);
    write_png(&dir.join("z_good.png"), 320, 240);
    // A PNG named .jpg is read as the PNG it is.
    write_png(&dir.join("png_named.jpg"), 64, 48);
    let mut jpeg = Vec::new();
    image::RgbImage::from_pixel(64, 48, image::Rgb([10, 200, 30]))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    std::fs::write(dir.join("truncated.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    let mut corrupt = jpeg.clone();
    // Keep the markers, wreck the frame header (SOF0 follows the quantisation tables).
    let sof = corrupt.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    corrupt[sof + 5..sof + 9].fill(0); // height and width 0
    std::fs::write(dir.join("corrupt.jpg"), &corrupt).unwrap();
    std::fs::write(dir.join("empty.jpg"), b"").unwrap();
    std::fs::write(
        dir.join("text_named.png"),
        b"just some text, not an image\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("phone.heic"),
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic and then data",
    )
    .unwrap();
    // A decompression bomb: a PNG header claiming 100000×100000 pixels.
    let mut bomb = Vec::new();
    bomb.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR");
    let ihdr = [
        &100_000u32.to_be_bytes()[..],
        &100_000u32.to_be_bytes()[..],
        &[8, 2, 0, 0, 0],
    ]
    .concat();
    bomb.extend_from_slice(&ihdr);
    let mut crc_input = b"IHDR".to_vec();
    crc_input.extend_from_slice(&ihdr);
    bomb.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    // and the start of its data, as a real bomb has: a few KB of zlib-compressed zeros.
    let idat = [
        &[0x78u8, 0x9C][..],
        &[0x63, 0x60, 0x18, 0x05, 0xA3, 0x60, 0x14, 0x0C][..],
    ]
    .concat();
    bomb.extend_from_slice(&(idat.len() as u32).to_be_bytes());
    let mut chunk = b"IDAT".to_vec();
    chunk.extend_from_slice(&idat);
    bomb.extend_from_slice(&chunk);
    bomb.extend_from_slice(&crc32(&chunk).to_be_bytes());
    std::fs::write(dir.join("bomb.png"), &bomb).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("nowhere.jpg"), dir.join("dangling_link.jpg")).unwrap();
    std::fs::create_dir(dir.join("folder.jpg")).unwrap();
    // A named pipe nobody writes to (reading it once blocked the run forever) and a link
    // to a device that never ends (reading it filled the memory).
    assert!(
        std::process::Command::new("mkfifo")
            .arg(dir.join("pipe.jpg"))
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.jpg")).unwrap();
    vec![
        ("bomb.png", "over the limit"),
        ("pipe.jpg", "it is a named pipe, not a file"),
        ("zero.jpg", "it is a character device, not a file"),
        ("corrupt.jpg", "corrupt JPEG"),
        ("dangling_link.jpg", "cannot read the file"),
        ("empty.jpg", "empty file"),
        ("phone.heic", "unsupported image format: HEIC"),
        ("text_named.png", "not an image"),
        ("truncated.jpg", "truncated JPEG"),
    ]
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn every_bad_input_gets_its_record_and_a_warning_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let expected = bad_inputs(dir.path());
    let out_file = dir.path().join("out").join("results.jsonl");
    std::fs::create_dir(out_file.parent().unwrap()).unwrap();
    let assert = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5(), "-o"])
        .arg(&out_file)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let recs = records(&std::fs::read(&out_file).unwrap());
    let paths: Vec<&str> = recs.iter().map(|r| r["path"].as_str().unwrap()).collect();
    // Every file with an image extension has exactly one record, in sorted order; the
    // folder named folder.jpg is a folder, not an image.
    assert_eq!(
        paths,
        [
            "a_good.png",
            "bomb.png",
            "corrupt.jpg",
            "dangling_link.jpg",
            "empty.jpg",
            "phone.heic",
            "pipe.jpg",
            "png_named.jpg",
            "text_named.png",
            "truncated.jpg",
            "z_good.png",
            "zero.jpg"
        ]
    );
    for (name, reason) in &expected {
        let r = recs.iter().find(|r| r["path"] == *name).unwrap();
        let error = r["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no error: {r}"));
        assert!(
            error.contains(reason),
            "{name}: {error:?} does not say {reason:?}"
        );
        assert_eq!(r["detections"], serde_json::json!([]));
        assert!(
            stderr.contains(&format!("warning: {}: ", dir.path().join(name).display())),
            "no warning names {name}:\n{stderr}"
        );
    }
    for good in ["a_good.png", "z_good.png", "png_named.jpg"] {
        let r = recs.iter().find(|r| r["path"] == good).unwrap();
        assert!(r["error"].is_null(), "{good}: {r}");
    }
    assert_eq!(
        recs.iter().find(|r| r["path"] == "a_good.png").unwrap()["detections"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert!(stderr.contains("9 failed"), "{stderr}");
    // The output appeared whole, with no temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(out_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["results.jsonl"]);
}

#[test]
fn the_pixel_limit_is_a_flag() {
    let dir = one_image();
    let out = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5(), "--max-pixels", "1000"])
        .assert()
        .code(3);
    let r = &records(&out.get_output().stdout)[0];
    assert!(r["error"].as_str().unwrap().contains("640×480"));
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = one_image();
    let locked = dir.path().join("locked.png");
    write_png(&locked, 32, 32);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        eprintln!(
            "skipped: running as root, a mode-000 file is still readable (dangling links cover this case)"
        );
        return;
    }
    let out = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5()])
        .assert()
        .code(3);
    let recs = records(&out.get_output().stdout);
    assert!(
        recs[1]["error"]
            .as_str()
            .unwrap()
            .contains("Permission denied")
    );
}

#[test]
fn reads_a_list_of_paths_on_stdin_and_single_files() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("x.png"), 640, 480);
    write_png(&dir.path().join("y.png"), 640, 480);
    let list = format!(
        "{}\n\n{}\n",
        dir.path().join("y.png").display(),
        dir.path().join("x.png").display()
    );
    let out = anylabel()
        .args(["infer", "-", "--model", &v5()])
        .write_stdin(list)
        .assert()
        .success();
    let paths: Vec<String> = records(&out.get_output().stdout)
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            dir.path().join("y.png").display().to_string(),
            dir.path().join("x.png").display().to_string()
        ]
    );
    let out = anylabel()
        .arg("infer")
        .arg(dir.path().join("x.png"))
        .args(["--model", &v5()])
        .assert()
        .success();
    assert_eq!(records(&out.get_output().stdout).len(), 1);
}

#[test]
fn a_closed_pipe_stops_the_run_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        write_png(&dir.path().join(format!("{i:02}.png")), 64, 48);
    }
    let bin = assert_cmd::cargo::cargo_bin("anylabel");
    let script = format!(
        "'{}' infer '{}' --model '{}' | head -n 1 > /dev/null; echo ${{PIPESTATUS[0]}}",
        bin.display(),
        dir.path().display(),
        v5()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("ANYLABEL_HOME", common::home())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn records_have_exactly_the_fields_the_json_schema_lists() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("docs/results.schema.json")).unwrap(),
    )
    .unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let names = |v: &serde_json::Value| {
        let mut k: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("img.png"), 640, 480);
    std::fs::write(dir.path().join("bad.png"), b"nope").unwrap();
    let out = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5()])
        .assert()
        .code(3);
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs.len(), 2);
    let det_schema = &schema["properties"]["detections"]["items"];
    for r in &recs {
        assert_eq!(keys(r), names(&schema["required"]));
        assert_eq!(keys(r), keys(&schema["properties"]));
        for d in r["detections"].as_array().unwrap() {
            assert_eq!(keys(d), names(&det_schema["required"]));
            assert_eq!(d["bbox"].as_array().unwrap().len(), 4);
        }
    }
    let model_pattern = schema["properties"]["model"]["pattern"].as_str().unwrap();
    assert_eq!(model_pattern, "^.+@sha256:[0-9a-f]{16}$");
    let model = recs[0]["model"].as_str().unwrap();
    let hash = model.rsplit_once("@sha256:").unwrap().1;
    assert!(
        hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

#[test]
fn json_writes_a_summary_for_scripts() {
    let dir = one_image();
    let summary = dir.path().join("summary.json");
    let out = dir.path().join("out.jsonl");
    anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5(), "-o"])
        .arg(&out)
        .arg("--json")
        .arg(&summary)
        .assert()
        .success();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["images"], 1);
    assert_eq!(s["ok"], 1);
    assert_eq!(s["failed"], 0);
    assert_eq!(s["detections"], 4);
    assert_eq!(s["exit_code"], 0);
    assert!(s["cache"].is_null(), "the tests run with the cache off");
    assert!(s["stage_seconds"]["inference"].as_f64().unwrap() >= 0.0);
    // To stdout when the records go to a file; refused when they go to stdout too.
    let o = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5(), "-q", "--json", "-", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["images"], 1);
    anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5(), "--json", "-"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--json -"));
    // The file -o writes, by any name, is refused: the summary would replace the records.
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(&out, dir.path().join("link.jsonl")).unwrap();
    for same in ["out.jsonl", "./sub/../out.jsonl", "link.jsonl"] {
        std::fs::write(&out, "records\n").unwrap();
        anylabel()
            .current_dir(dir.path())
            .arg("infer")
            .arg("img.png")
            .args(["--model", &v5(), "-o", "out.jsonl", "--json", same])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("the summary would replace them"));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "records\n",
            "{same}"
        );
    }
    // A summary that cannot be written is found before the run, not after it.
    let fresh = dir.path().join("fresh.jsonl");
    anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(["--model", &v5(), "-o"])
        .arg(&fresh)
        .arg("--json")
        .arg(dir.path().join("no/such/folder/s.json"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("does not exist"));
    assert!(!fresh.exists());
}

/// A temporary file left by a killed run goes with the next run, also where -o is a bare
/// name in the current folder.
#[test]
fn a_left_partial_goes_also_beside_a_bare_name() {
    let dir = one_image();
    for name in ["r.jsonl", "sub/r.jsonl"] {
        let left = dir
            .path()
            .join(name)
            .with_file_name(".r.jsonl.AAAAAA.partial");
        std::fs::create_dir_all(left.parent().unwrap()).unwrap();
        std::fs::write(&left, "half a record").unwrap();
        anylabel()
            .current_dir(dir.path())
            .arg("infer")
            .arg("img.png")
            .args(["--model", &v5(), "-q", "-o", name])
            .assert()
            .success();
        assert!(dir.path().join(name).exists());
        assert!(!left.exists(), "{name}: {} is still there", left.display());
    }
}

/// The records of one `pipeline::run` over `dir`, through the library.
fn run_pipeline(
    dir: &Path,
    batch: usize,
    preprocess: anylabel::pipeline::Preprocess,
) -> Vec<anylabel::record::Record> {
    use anylabel::pipeline::{self, EngineSlot, InferOptions, Sink};
    struct Keep(Vec<anylabel::record::Record>);
    impl Sink for Keep {
        fn write(&mut self, r: &anylabel::record::Record) -> std::io::Result<()> {
            self.0.push(r.clone());
            Ok(())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let home = anylabel::home::Home::at(common::home());
    let source = anylabel::model::resolve("nudenet-320n", &home, false).unwrap();
    let env =
        anylabel::runtime::environment(&home, false, anylabel::runtime::Flavour::Cpu).unwrap();
    let (engine, facts) = anylabel::engine::Engine::load(
        env,
        &source.onnx,
        &anylabel::engine::EngineOptions::default(),
    )
    .unwrap();
    let sha = anylabel::fetch::sha256_file(&source.onnx).unwrap();
    let info = anylabel::engine::ModelInfo::new(&facts, &source, &sha).unwrap();
    let size = info.input_size(None).unwrap();
    let opts = InferOptions {
        inputs: vec![anylabel::scan::Input::Dir(dir.to_path_buf())].into(),
        conf: 0.1,
        batch,
        workers: 2,
        preprocess,
        ..InferOptions::default()
    };
    let mut sink = Keep(Vec::new());
    let summary = pipeline::run(
        &mut EngineSlot::Loaded(engine),
        &info,
        size,
        &opts,
        None,
        &std::sync::atomic::AtomicBool::new(false),
        &mut sink,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    assert_eq!(summary.images, sink.0.len());
    sink.0
}

/// `ANYLABEL_GPU_UPLOAD` (docs/gpu.md) is read strictly: a value it does not know stops
/// the run before any image and names the variable; `decode` where the batches are
/// letterboxed on the CPU changes nothing.
#[test]
fn the_gpu_upload_variable_is_read_strictly_and_changes_nothing_on_the_cpu() {
    let dir = one_image();
    let run = |value: Option<&str>| {
        let mut cmd = anylabel();
        if let Some(v) = value {
            cmd.env("ANYLABEL_GPU_UPLOAD", v);
        }
        cmd.arg("infer")
            .arg(dir.path())
            .args(["--model", &v5(), "--backend", "cpu"])
            .output()
            .unwrap()
    };
    let bad = run(Some("threads"));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{err}");
    assert!(
        err.contains("ANYLABEL_GPU_UPLOAD=\"threads\"") && err.contains("`decode`"),
        "{err}"
    );
    assert!(bad.stdout.is_empty());
    let plain = run(None);
    let decode = run(Some("decode"));
    assert!(plain.status.success() && decode.status.success());
    assert_eq!(records(&decode.stdout), records(&plain.stdout));
    assert_eq!(records(&plain.stdout).len(), 1);
}

/// With the GPU letterbox asked for but not required and the model on the CPU, the decode
/// threads only decode and the inference thread letterboxes each batch on the CPU: the
/// path a run takes when the GPU letterbox cannot start or fails. Its records must be the
/// decode threads' letterbox's exactly.
#[test]
fn batches_letterboxed_by_the_inference_thread_give_the_same_records() {
    use anylabel::pipeline::Preprocess;
    let dir = common::fixtures().join("people");
    let want = run_pipeline(&dir, 1, Preprocess::Cpu);
    assert!(want.iter().map(|r| r.detections.len()).sum::<usize>() > 10);
    for batch in [1, 4] {
        let got = run_pipeline(
            &dir,
            batch,
            Preprocess::Gpu {
                device: 0,
                required: false,
            },
        );
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&want).unwrap(),
            "batch {batch}"
        );
    }
}

/// The I/O binding `--preprocess gpu` runs the model through (`Engine::run_bound`, the
/// input bound through ONNX Runtime's C API, the output bound to host memory, or written
/// straight into the caller's buffer once its shape is known), on a batch in host memory
/// here: the same output as `Engine::run`, bit for bit, both ways. On a GPU the only
/// difference is the memory info (`run_on_gpu`) and the buffer's being page-locked.
#[test]
fn the_io_binding_gives_the_same_output_as_a_plain_run() {
    let home = anylabel::home::Home::at(common::home());
    let source = anylabel::model::resolve("nudenet-320n", &home, false).unwrap();
    let env =
        anylabel::runtime::environment(&home, false, anylabel::runtime::Flavour::Cpu).unwrap();
    let (mut engine, _) = anylabel::engine::Engine::load(
        env,
        &source.onnx,
        &anylabel::engine::EngineOptions::default(),
    )
    .unwrap();
    let shape = [2, 3, 320, 320];
    // Two different images' worth of values: a gradient, and its mirror.
    let plane = 3 * 320 * 320;
    let mut input: Vec<f32> = (0..plane).map(|i| (i % 251) as f32 / 250.0).collect();
    input.extend((0..plane).map(|i| ((plane - i) % 241) as f32 / 240.0));
    let mut plain = Vec::new();
    let dims = engine.run(&input, shape, &mut plain).unwrap();
    let mut bound = vec![7.0; 3]; // overwritten, whatever it held
    // SAFETY: `input` holds the whole batch in host memory and outlives the call.
    let bound_dims = unsafe {
        engine.run_bound(
            ort::memory::MemoryInfo::default(),
            input.as_mut_ptr().cast(),
            shape,
            anylabel::engine::OutputTo::Copy(&mut bound),
        )
    }
    .unwrap();
    assert_eq!(bound_dims, dims);
    assert_eq!(dims[0], 2);
    assert_eq!(bound.len(), plain.len());
    assert!(
        bound == plain,
        "the bound run's output differs from the plain run's"
    );

    // Written straight into a buffer of ours, one value longer than the output: the
    // output fills its start, the rest is left alone.
    let mut into = vec![f32::NAN; plain.len() + 1];
    let into_dims = engine.run_into(&input, shape, &mut into, dims).unwrap();
    assert_eq!(into_dims, dims);
    assert!(
        into[..plain.len()] == plain[..],
        "the output ONNX Runtime wrote into our buffer differs from the plain run's"
    );
    assert!(into[plain.len()].is_nan());
    // A buffer too small is an error, not a write past its end.
    let mut short = vec![0.0; plain.len() - 1];
    let err = engine
        .run_into(&input, shape, &mut short, dims)
        .unwrap_err();
    assert!(format!("{err:#}").contains("output buffer"), "{err:#}");
}

/// `RUST_LOG=anylabel::pipeline=trace` is a timeline of the run: each line says when and
/// on which thread, each image decoded is a line of its decode thread, and
/// `bench/timeline.py` (docs/gpu.md) reads it back into one run of those images.
#[test]
fn a_trace_log_is_a_timeline_that_bench_timeline_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = anylabel()
        .env("RUST_LOG", "anylabel::pipeline=trace")
        .arg("infer")
        .arg(common::fixtures().join("people"))
        .args([
            "--model",
            &v5(),
            "--imgsz",
            "64",
            "--batch",
            "4",
            "--workers",
            "2",
        ])
        .arg("-o")
        .arg(dir.path().join("r.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let decoded = log
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.len() > 4
                && f[0] == "trace:"
                && f[1].parse::<f64>().is_ok()
                && f[2].starts_with("decode-")
                && f[3] == "[anylabel::pipeline::decode]"
        })
        .count();
    assert_eq!(decoded, 18, "{log}");
    for thread in ["main", "batcher"] {
        assert!(
            log.contains(&format!(" {thread} [anylabel::pipeline")),
            "{log}"
        );
    }
    let path = dir.path().join("timeline.txt");
    std::fs::write(&path, &log).unwrap();
    let summary = std::process::Command::new(common::python("bench/timeline.py needs a Python"))
        .arg(common::root().join("bench/timeline.py"))
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(
        summary.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&summary.stderr)
    );
    assert!(text.starts_with("run 1: run of "), "{text}");
    assert!(text.contains("18 images decoded on the CPU"), "{text}");
    assert!(text.contains("model runs: first ended"), "{text}");
}

/// The records of the fixtures, byte for byte as anylabel wrote them before the redesign
/// of issue 21 (9f9cd2f, `infer fixtures/images --model nudenet-320n --threads 1`): a
/// change to the code's shape that changes a result fails here. A deliberate change of
/// results regenerates the file with the same command and says why in its commit.
#[test]
fn the_fixtures_give_the_same_bytes_as_before_the_redesign() {
    let golden = common::root().join("tests/golden/fixtures-nudenet-320n.jsonl");
    let out = anylabel()
        .arg("infer")
        .arg(common::fixtures())
        .args(["--model", "nudenet-320n", "--threads", "1"])
        .output()
        .unwrap();
    let want = std::fs::read(&golden).unwrap();
    assert!(
        out.stdout == want,
        "infer on the fixtures differs from {}:\n{}",
        golden.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}
