//! `anylabel export` and `anylabel import`: every label format round-trips (import of the
//! export gives the records back), the files are read by pycocotools and supervision
//! (`tests/python/export_check.py`, through `ANYLABEL_TEST_PYTHON`, which `scripts/test.sh`
//! sets), awkward names survive CSV and XML, and nothing is written outside the output.

mod common;

use std::path::{Path, PathBuf};

use common::anylabel;
use serde_json::{Value, json};

/// Class names that CSV, XML, YAML and JSON must each escape.
const NAMES: [&str; 3] = ["person", "a, \"b\" <&> 'c'", "Käfer: ü/ß"];

/// A folder of real images (fixtures, one with EXIF orientation 8 whose stored size is
/// 600×512 and shown size 512×600, and a PNG in a subfolder) and hand-made records for
/// them, sorted by path as `scan` and `import` walk; one image has no detections, and
/// one record is a failed image.
fn dataset(dir: &Path) -> (PathBuf, Vec<Value>) {
    let images = dir.join("images");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    let mut files: Vec<(String, u32, u32)> = Vec::new();
    for name in [
        "chelsea_cat.jpg",
        "coffee_cup.jpg",
        "kpa_dog_in_forest.jpg",
        "kpa_rabbit_on_grass.jpg",
    ] {
        let src = common::fixtures().join("other").join(name);
        std::fs::copy(&src, images.join(name)).unwrap();
        let (w, h) = image::image_dimensions(&src).unwrap();
        files.push((name.to_string(), w, h));
    }
    let turned = "grace_hopper_exif_orientation_8.jpg";
    let src = common::fixtures().join("formats").join(turned);
    assert_eq!(image::image_dimensions(&src).unwrap(), (600, 512));
    std::fs::copy(&src, images.join(turned)).unwrap();
    files.push((turned.to_string(), 512, 600));
    common::write_png(&images.join("sub/tiny.png"), 33, 17);
    files.push(("sub/tiny.png".to_string(), 33, 17));
    files.sort();
    let mut records = Vec::new();
    for (i, (path, w, h)) in files.iter().enumerate() {
        let (w_, h_) = (*w as f64, *h as f64);
        let detections: Vec<Value> = (0..(i % 3) * 2)
            .map(|k| {
                let k_ = k as f64;
                let x1 = ((w_ * (0.05 + 0.1 * k_)) * 4.0).round() / 4.0 + 0.13;
                let y1 = ((h_ * (0.1 + 0.07 * k_)) * 4.0).round() / 4.0 + 0.37;
                let x2 = (x1 + w_ * 0.3).min(w_).floor() + 0.5;
                let y2 = (y1 + h_ * 0.4).min(h_).floor() + 0.25;
                let class = (i + k) % NAMES.len();
                json!({"class_id": class, "label": NAMES[class],
                       "score": 0.9 - 0.05 * k_ - 0.01 * i as f64,
                       "bbox": [x1, y1, x2.min(w_), y2.min(h_)]})
            })
            .collect();
        records.push(
            json!({"path": path, "width": w, "height": h, "model": "m@sha256:00",
                            "detections": detections, "error": null}),
        );
    }
    assert!(
        records
            .iter()
            .any(|r| r["detections"].as_array().unwrap().is_empty())
    );
    (images, records)
}

fn write_jsonl(path: &Path, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn failed_record() -> Value {
    json!({"path": "broken.jpg", "width": 0, "height": 0, "model": "m@sha256:00",
           "detections": [], "error": "empty file"})
}

fn export(input: &Path, format: &str, out: &Path, root: &Path) -> std::process::Output {
    anylabel()
        .arg("export")
        .arg(input)
        .args(["--format", format, "-o"])
        .arg(out)
        .arg("--root")
        .arg(root)
        .output()
        .unwrap()
}

fn import(format: &str, path: &Path, extra: &[&str]) -> Vec<Value> {
    let out = anylabel()
        .args(["import", "--format", format])
        .arg(path)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "import {format}: {stderr}");
    common::records(&out.stdout)
}

/// Imported records equal the originals: paths, sizes, classes, boxes (within 0.01 px),
/// and scores where the format keeps them.
fn assert_same(format: &str, got: &[Value], want: &[Value], scores: bool) {
    let paths = |r: &[Value]| -> Vec<String> {
        r.iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(got), paths(want), "{format}: paths");
    for (g, w) in got.iter().zip(want) {
        let p = &w["path"];
        assert_eq!(
            (&g["width"], &g["height"]),
            (&w["width"], &w["height"]),
            "{format} {p}: size"
        );
        assert_eq!(g["model"], format!("import:{format}"));
        let (gd, wd) = (
            g["detections"].as_array().unwrap(),
            w["detections"].as_array().unwrap(),
        );
        assert_eq!(gd.len(), wd.len(), "{format} {p}: detections");
        for (a, b) in gd.iter().zip(wd) {
            assert_eq!(a["class_id"], b["class_id"], "{format} {p}");
            assert_eq!(a["label"], b["label"], "{format} {p}");
            for i in 0..4 {
                let (x, y) = (
                    a["bbox"][i].as_f64().unwrap(),
                    b["bbox"][i].as_f64().unwrap(),
                );
                assert!(
                    (x - y).abs() <= 0.01 + 1e-9,
                    "{format} {p}: bbox {} vs {}",
                    a["bbox"],
                    b["bbox"]
                );
            }
            let s = a["score"].as_f64().unwrap();
            if scores {
                assert!(
                    (s - b["score"].as_f64().unwrap()).abs() < 1e-5,
                    "{format} {p}: score"
                );
            } else {
                assert_eq!(s, 1.0, "{format} {p}: a format without scores gives 1.0");
            }
        }
    }
}

#[test]
fn label_formats_round_trip_and_the_tools_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let (images, records) = dataset(dir.path());
    let input = dir.path().join("records.jsonl");
    let mut with_failed = records.clone();
    with_failed.insert(2, failed_record());
    write_jsonl(&input, &with_failed);

    let out = |name: &str| dir.path().join(name);
    for format in ["yolo", "voc", "labelme"] {
        let o = export(&input, format, &out(format), &images);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{format}: {stderr}");
        assert!(
            stderr.contains("broken.jpg: skipped") && stderr.contains("empty file"),
            "{stderr}"
        );
        assert!(stderr.contains("1 skipped"), "{stderr}");
    }
    let o = export(&input, "coco", &out("coco.json"), &images);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // An image without detections keeps an (empty) YOLO label file.
    let empty = records
        .iter()
        .find(|r| r["detections"].as_array().unwrap().is_empty())
        .unwrap();
    let label =
        out("yolo/labels").join(Path::new(empty["path"].as_str().unwrap()).with_extension("txt"));
    assert_eq!(std::fs::read_to_string(&label).unwrap(), "");

    let images_arg = images.to_str().unwrap();
    assert_same(
        "yolo",
        &import("yolo", &out("yolo"), &["--images", images_arg]),
        &records,
        false,
    );
    // Without --images, data.yaml says where the images are.
    assert_same("yolo", &import("yolo", &out("yolo"), &[]), &records, false);
    assert_same(
        "coco",
        &import("coco", &out("coco.json"), &[]),
        &records,
        true,
    );
    assert_same("voc", &import("voc", &out("voc"), &[]), &records, false);
    // VOC's image set (datumaro, and CVAT's dataset import, find the annotations by it) and
    // the label map they read the classes from.
    let ids: Vec<String> = records
        .iter()
        .filter(|r| r["error"].is_null())
        .map(|r| {
            let p = r["path"].as_str().unwrap();
            p[..p.rfind('.').unwrap()].to_string()
        })
        .collect();
    let set = std::fs::read_to_string(out("voc/ImageSets/Main/default.txt")).unwrap();
    assert_eq!(set.lines().collect::<Vec<_>>(), ids);
    for id in &ids {
        assert!(
            out("voc/Annotations").join(format!("{id}.xml")).is_file(),
            "{id}"
        );
    }
    let labelmap = std::fs::read_to_string(out("voc/labelmap.txt")).unwrap();
    let classes = std::fs::read_to_string(out("voc/classes.txt")).unwrap();
    assert_eq!(
        labelmap.lines().skip(1).collect::<Vec<_>>(),
        classes
            .lines()
            .map(|n| format!("{n}:::"))
            .collect::<Vec<_>>()
    );
    // Flat, as the GUIs look for them (OUT/<stem>.json), imagePath from OUT to the image;
    // --images gives the records' paths back under their folders.
    assert!(out("labelme/tiny.json").is_file());
    assert_same(
        "labelme",
        &import("labelme", &out("labelme"), &["--images", images_arg]),
        &records,
        true,
    );

    // LabelMe beside the images: imagePath is the file name; import reads the folder.
    let o = anylabel()
        .arg("export")
        .arg(&input)
        .args(["--format", "labelme", "--beside-images", "--root"])
        .arg(&images)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let beside: Value =
        serde_json::from_str(&std::fs::read_to_string(images.join("sub/tiny.json")).unwrap())
            .unwrap();
    assert_eq!(beside["imagePath"], "tiny.png");
    let back = import(
        "labelme",
        &images,
        &["--classes", out("labelme/classes.txt").to_str().unwrap()],
    );
    assert_same("labelme", &back, &records, true);

    let python = python();
    let check = std::process::Command::new(&python)
        .arg(common::root().join("tests/python/export_check.py"))
        .arg(&input)
        .arg(&images)
        .arg(out("coco.json"))
        .arg(out("yolo"))
        .arg(out("voc"))
        .arg(out("labelme"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "export_check.py:\n{stdout}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        stdout.contains("mAP 1.000")
            && stdout.contains("supervision pascal_voc")
            && stdout.contains("ultralytics layout"),
        "{stdout}"
    );
}

fn python() -> PathBuf {
    common::python("the export checks need a Python with pycocotools and supervision")
}

#[test]
fn paths_that_escape_the_output_are_refused_and_bad_lines_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("images");
    std::fs::create_dir_all(&root).unwrap();
    let rec = |p: &str| {
        json!({"path": p, "width": 10, "height": 10, "model": "m",
        "detections": [{"class_id": 0, "label": "x", "score": 0.5, "bbox": [1, 1, 5, 5]}], "error": null})
    };
    let inside_abs = root.join("abs.jpg");
    let text = format!(
        "{}\n{}\n{{\"path\": 3}}\n{}\n{}\n{}\n",
        rec("ok.jpg"),
        rec("../../escape.jpg"),
        rec("/tmp/elsewhere/escape2.jpg"),
        rec("a/../fine.jpg"),
        rec(inside_abs.to_str().unwrap()),
    );
    let input = dir.path().join("r.jsonl");
    std::fs::write(&input, text).unwrap();
    for format in ["yolo", "voc", "labelme"] {
        let out = dir.path().join("deep/out").join(format);
        let o = export(&input, format, &out, &root);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{format}: {stderr}");
        assert!(stderr.contains("../../escape.jpg: refused"), "{stderr}");
        assert!(
            stderr.contains("/tmp/elsewhere/escape2.jpg: refused"),
            "{stderr}"
        );
        assert!(
            stderr.contains("r.jsonl, line 3: not a result record"),
            "{stderr}"
        );
        assert!(stderr.contains("exported 3 of 5 records"), "{stderr}");
        assert!(!dir.path().join("deep/escape.txt").exists());
        let mut written: Vec<String> = walk(&out);
        written.sort();
        let ext = match format {
            "yolo" => "labels/{}.txt",
            "voc" => "Annotations/{}.xml",
            _ => "{}.json",
        };
        let want: Vec<String> = ["abs", "fine", "ok"]
            .iter()
            .map(|s| ext.replace("{}", s))
            .collect();
        let labels: Vec<String> = written
            .into_iter()
            .filter(|f| {
                ![
                    "classes.txt",
                    "data.yaml",
                    "images.txt",
                    "default.txt",
                    "labelmap.txt",
                ]
                .iter()
                .any(|n| f.ends_with(n))
            })
            .collect();
        assert_eq!(labels, want, "{format}");
    }
    // Nothing landed anywhere else in the temporary folder either.
    let stray: Vec<String> = walk(dir.path())
        .into_iter()
        .filter(|f| f.contains("escape"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

fn walk(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn csv_json_and_txt_keep_awkward_names_order_and_empty_images() {
    let dir = tempfile::tempdir().unwrap();
    let (images, records) = dataset(dir.path());
    let mut all = records.clone();
    all.push(json!({"path": "x, \"y\".jpg", "width": 5, "height": 5, "model": "m",
        "detections": [{"class_id": 1, "label": NAMES[1], "score": 0.5, "bbox": [0, 0, 1, 1]}], "error": null}));
    all.push(failed_record());
    let input = dir.path().join("r.jsonl");
    write_jsonl(&input, &all);

    let o = export(&input, "csv", &dir.path().join("out.csv"), &images);
    assert!(o.status.success());
    let mut reader = csv::Reader::from_path(dir.path().join("out.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "path", "width", "height", "class_id", "label", "score", "x1", "y1", "x2", "y2"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let want_rows: usize = all[..all.len() - 1]
        .iter()
        .map(|r| r["detections"].as_array().unwrap().len().max(1))
        .sum();
    assert_eq!(
        rows.len(),
        want_rows,
        "one row a detection, one per empty image, none for the failed one"
    );
    let last = rows.last().unwrap();
    assert_eq!((&last[0], &last[4]), ("x, \"y\".jpg", NAMES[1]));
    let empty = rows
        .iter()
        .find(|r| r[3].is_empty())
        .expect("a row for the empty image");
    assert!(empty.iter().skip(3).all(str::is_empty));
    let mut paths: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    paths.dedup();
    let want_paths: Vec<&str> = all[..all.len() - 1]
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, want_paths, "input order");

    // json keeps every record, the failed one too, as they were.
    let o = export(&input, "json", &dir.path().join("out.json"), &images);
    assert!(o.status.success());
    let back: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    assert_eq!(back.len(), all.len());
    assert_eq!(back.last().unwrap()["error"], "empty file");
    assert_eq!(back[all.len() - 2]["detections"][0]["label"], NAMES[1]);

    // jsonl to stdout, txt joined to --root.
    let o = anylabel()
        .arg("export")
        .arg(&input)
        .args(["-f", "jsonl", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(common::records(&o.stdout).len(), all.len());
    let o = export(&input, "txt", &dir.path().join("list.txt"), &images);
    assert!(o.status.success());
    let list = std::fs::read_to_string(dir.path().join("list.txt")).unwrap();
    assert_eq!(list.lines().count(), all.len() - 1);
    assert!(
        list.lines().all(|l| Path::new(l).starts_with(&images)),
        "{list}"
    );
    assert!(Path::new(list.lines().next().unwrap()).is_file());
}

/// `export --format html` writes the gallery of `src/report.rs` (which tests/report.rs
/// opens in Chromium): one tile per record, every thumbnail, escaped names, exit 3 for a
/// record that failed.
#[test]
fn html_writes_the_gallery() {
    let dir = tempfile::tempdir().unwrap();
    let (images, mut records) = dataset(dir.path());
    let input = dir.path().join("results.jsonl");
    write_jsonl(&input, &records);
    let out = dir.path().join("report");
    let run = export(&input, "html", &out, &images);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for r in &records {
        assert!(html.contains(r["path"].as_str().unwrap()), "{}", r["path"]);
    }
    assert!(
        html.contains("a, &quot;b&quot; &lt;&amp;&gt; &#39;c&#39;")
            || html.contains("a, &quot;b&quot; &lt;&amp;&gt; &#x27;c&#x27;")
    );
    assert!(!html.contains("<&>"));
    let thumbs = walk(&out.join("thumbs"));
    assert_eq!(thumbs.len(), records.len(), "{thumbs:?}");
    // A failed record: still a tile, and exit 3.
    records.push(failed_record());
    write_jsonl(&input, &records);
    let again = dir.path().join("report2");
    let run = export(&input, "html", &again, &images);
    assert_eq!(run.status.code(), Some(3));
    assert!(
        std::fs::read_to_string(again.join("index.html"))
            .unwrap()
            .contains("empty file")
    );
    // It needs a folder, not stdout.
    let run = export(&input, "html", Path::new("-"), &images);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("-o FOLDER"));
}

/// data.yaml's names read back as written by PyYAML, the YAML 1.1 reader Ultralytics uses
/// (`yes` was read as True, `1_000` as 1000); boxes past the image are clipped into 0..1;
/// a record with boxes and no image size is refused, with exit code 3.
#[test]
fn yolo_names_survive_pyyaml_and_boxes_stay_inside() {
    let dir = tempfile::tempdir().unwrap();
    let labels = [
        "yes",
        "No",
        "off",
        "on",
        "null",
        "~",
        "1_000",
        "12:30",
        "0x1F",
        "1e3",
        "true",
        "a: b",
        "\"q\"",
        "ü",
        // Characters YAML must have escaped: DEL, C1 controls, YAML 1.1's line breaks,
        // a tab, a newline, a backslash, the byte order mark; and one outside the BMP.
        "a\u{7f}b",
        "g\u{9b}h",
        "c\u{85}d",
        "e\u{2028}f",
        "tab\there",
        "new\nline",
        "back\\slash",
        "\u{feff}bom",
        "😀",
    ];
    let detections: Vec<Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            serde_json::json!({"class_id": i, "label": l, "score": 0.5, "bbox": [-10.0, -5.0, 120.0, 60.0]})
        })
        .collect();
    let records = [
        serde_json::json!({"path": "a.jpg", "width": 100, "height": 50, "model": "m",
            "detections": detections, "error": null}),
        serde_json::json!({"path": "nosize.jpg", "width": 0, "height": 0, "model": "m",
            "detections": [{"class_id": 0, "label": "yes", "score": 0.9, "bbox": [1.0, 1.0, 2.0, 2.0]}],
            "error": null}),
    ];
    let input = dir.path().join("r.jsonl");
    write_jsonl(&input, &records);
    let out = dir.path().join("yolo");
    let o = export(&input, "yolo", &out, dir.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("nosize.jpg: refused: the record has boxes but no image size"),
        "{stderr}"
    );
    assert!(!out.join("labels/nosize.txt").exists());
    let lines = std::fs::read_to_string(out.join("labels/a.txt")).unwrap();
    assert_eq!(lines.lines().count(), labels.len());
    for line in lines.lines() {
        assert!(
            line.ends_with(" 0.500000 0.500000 1.000000 1.000000"),
            "{line}"
        );
    }
    let read = std::process::Command::new(python())
        .args([
            "-c",
            "import json, sys, yaml; d = yaml.safe_load(open(sys.argv[1])); \
             print(json.dumps([d['names'][i] for i in range(d['nc'])]))",
        ])
        .arg(out.join("data.yaml"))
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let names: Vec<String> = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(names, labels);
}

/// A record of `path` (an image of 40×30) with one box of class `label`.
fn boxed(path: &str, label: &str) -> Value {
    json!({"path": path, "width": 40, "height": 30, "model": "m",
           "detections": [{"class_id": 0, "label": label, "score": 0.5, "bbox": [1, 2, 20, 25]}],
           "error": null})
}

#[test]
fn labelme_keeps_reviewed_files_and_refuses_a_second_image_of_one_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("images");
    for p in ["top.jpg", "a/x.jpg", "b/x.jpg"] {
        std::fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
        std::fs::write(root.join(p), b"").unwrap();
    }
    let input = dir.path().join("r.jsonl");
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        anylabel()
            .arg("export")
            .arg(&input)
            .args(["--format", "labelme", "-o"])
            .arg(&out)
            .arg("--root")
            .arg(&root)
            .args(extra)
            .output()
            .unwrap()
    };
    let json =
        |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };

    // Flat, as the GUIs look for OUT/<stem>.json: b/x.jpg would land on a/x.jpg's file.
    write_jsonl(
        &input,
        &[
            boxed("top.jpg", "cat"),
            boxed("a/x.jpg", "cat"),
            boxed("b/x.jpg", "dog"),
        ],
    );
    let o = run(&[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("b/x.jpg: refused:")
            && stderr.contains("holds the labels of ../images/a/x.jpg")
            && stderr.contains("--beside-images"),
        "{stderr}"
    );
    assert!(stderr.contains("exported 2 of 3 records"), "{stderr}");
    assert_eq!(json(&out.join("x.json"))["imagePath"], "../images/a/x.jpg");
    assert_eq!(json(&out.join("x.json"))["shapes"][0]["label"], "cat");

    // Again, with a review of top.jpg saved by a GUI (its own version): that file is kept;
    // ours for the same image (x.json) is replaced.
    let reviewed = json!({"version": "3.2.1", "flags": {}, "checked": true,
        "shapes": [{"label": "REVIEWED", "points": [[1, 1], [5, 5]], "shape_type": "rectangle"}],
        "imagePath": "top.jpg", "imageData": null, "imageHeight": 30, "imageWidth": 40});
    std::fs::write(out.join("top.json"), reviewed.to_string()).unwrap();
    write_jsonl(&input, &[boxed("top.jpg", "cat"), boxed("a/x.jpg", "bird")]);
    let o = run(&[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("top.json: kept as it is (version 3.2.1")
            && stderr.contains("1 not written: their label files were saved by another tool"),
        "{stderr}"
    );
    assert_eq!(
        json(&out.join("top.json"))["shapes"][0]["label"],
        "REVIEWED"
    );
    assert_eq!(json(&out.join("x.json"))["shapes"][0]["label"], "bird");

    // --overwrite replaces it.
    let o = run(&["--overwrite"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&out.join("top.json"))["shapes"][0]["label"], "cat");

    // Beside the images too: a review there is kept.
    std::fs::write(root.join("top.json"), reviewed.to_string()).unwrap();
    let o = anylabel()
        .arg("export")
        .arg(&input)
        .args(["--format", "labelme", "--beside-images", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        json(&root.join("top.json"))["shapes"][0]["label"],
        "REVIEWED"
    );
    assert_eq!(json(&root.join("a/x.json"))["imagePath"], "x.jpg");

    // --overwrite is for labelme only.
    let o = anylabel()
        .arg("export")
        .arg(&input)
        .args(["--format", "yolo", "--overwrite", "-o"])
        .arg(dir.path().join("y"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--overwrite is for --format labelme"));
}

#[test]
fn yolo_import_reads_the_ultralytics_layout_and_its_splits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("u8");
    for (img, label) in [
        ("images/train/t1.png", Some("0 0.5 0.5 0.2 0.2\n")),
        ("images/val/v1.png", Some("1 0.4 0.4 0.1 0.1\n")),
        ("images/extra/e1.png", Some("1 0.5 0.5 1 1\n")),
        ("images/train/t2.png", None),
    ] {
        std::fs::create_dir_all(d.join(img).parent().unwrap()).unwrap();
        common::write_png(&d.join(img), 50, 40);
        if let Some(l) = label {
            let txt = d
                .join(img.replace("images/", "labels/"))
                .with_extension("txt");
            std::fs::create_dir_all(txt.parent().unwrap()).unwrap();
            std::fs::write(txt, l).unwrap();
        }
    }
    // train and val folders, test a list ("./" from the list's folder), val again in it.
    std::fs::write(
        d.join("extra.txt"),
        "./images/extra/e1.png\n./images/val/v1.png\n",
    )
    .unwrap();
    std::fs::write(
        d.join("data.yaml"),
        "path: .\ntrain: images/train\nval: images/val\ntest: extra.txt\nnames:\n  0: person\n  1: dog\n",
    )
    .unwrap();
    let records = import("yolo", &d, &[]);
    let summary: Vec<(String, Vec<String>)> = records
        .iter()
        .map(|r| {
            let labels = r["detections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["label"].as_str().unwrap().to_string())
                .collect();
            (r["path"].as_str().unwrap().to_string(), labels)
        })
        .collect();
    let s = |p: &str, l: &[&str]| (p.to_string(), l.iter().map(|x| x.to_string()).collect());
    assert_eq!(
        summary,
        [
            s("train/t1.png", &["person"]),
            s("train/t2.png", &[]),
            s("val/v1.png", &["dog"]),
            s("extra/e1.png", &["dog"]),
        ]
    );
    assert_eq!(
        records[0]["detections"][0]["bbox"],
        json!([20.0, 16.0, 30.0, 24.0])
    );

    // No label file anywhere: a layout not understood, said, not a dataset of empty images.
    std::fs::remove_dir_all(d.join("labels")).unwrap();
    std::fs::create_dir_all(d.join("labels")).unwrap();
    let o = anylabel()
        .args(["import", "--format", "yolo"])
        .arg(&d)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("none of the 4 images has a label file")
            && stderr.contains("labels/train/t1.txt"),
        "{stderr}"
    );
}

#[test]
fn a_yolo_export_of_a_subset_trains_on_that_subset() {
    let dir = tempfile::tempdir().unwrap();
    let (images, records) = dataset(dir.path());
    let all = dir.path().join("all.jsonl");
    write_jsonl(&all, &records);
    let out = dir.path().join("yolo");
    assert!(export(&all, "yolo", &out, &images).status.success());
    // Then two of them into the same folder, as `filter | export` would.
    let some = dir.path().join("some.jsonl");
    write_jsonl(&some, &records[1..3]);
    let o = export(&some, "yolo", &out, &images);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed: Vec<String> = std::fs::read_to_string(out.join("images.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Ultralytics finds a label from the image's path (its last `images` folder replaced
    // by `labels`), and the images are not in OUT/images: the list names links there.
    let abs = std::path::absolute(&images).unwrap();
    let links = std::path::absolute(out.join("images")).unwrap();
    let want: Vec<String> = records[1..3]
        .iter()
        .map(|r| {
            links
                .join(r["path"].as_str().unwrap())
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(listed, want);
    for r in &records[1..3] {
        let rel = r["path"].as_str().unwrap();
        assert_eq!(
            std::fs::read_link(links.join(rel)).unwrap(),
            abs.join(rel),
            "{rel}"
        );
        assert!(out.join("labels").join(rel).with_extension("txt").is_file());
    }
    assert_eq!(ultralytics_finds(&out), (2, 2));
    // data.yaml trains on the list, as PyYAML (Ultralytics' reader) reads it.
    let read = std::process::Command::new(python())
        .args([
            "-c",
            "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(d['train']); print(d['val']); print(d['path'])",
        ])
        .arg(out.join("data.yaml"))
        .output()
        .unwrap();
    let list = std::path::absolute(out.join("images.txt")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        format!("{0}\n{0}\n{1}\n", list.display(), links.display())
    );
    // Import reads what the list names: the subset, under its paths, not the earlier
    // export's labels left beside them.
    assert_same("yolo", &import("yolo", &out, &[]), &records[1..3], false);

    // Into the folder above the images' `images` folder, Ultralytics finds the labels from
    // the images' own paths: the list names them, and no link is made among them.
    let o = export(&all, "yolo", dir.path(), &images);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed = std::fs::read_to_string(dir.path().join("images.txt")).unwrap();
    let first = records[0]["path"].as_str().unwrap();
    assert_eq!(
        listed.lines().next().unwrap(),
        abs.join(first).to_string_lossy()
    );
    assert!(
        dir.path()
            .join("labels")
            .join(first)
            .with_extension("txt")
            .is_file()
    );
    let links_among_images = walkdir::WalkDir::new(&images)
        .into_iter()
        .filter(|e| e.as_ref().unwrap().path_is_symlink())
        .count();
    assert_eq!(links_among_images, 0);
    assert_eq!(
        ultralytics_finds(dir.path()),
        (records.len(), records.len())
    );
    assert_same("yolo", &import("yolo", dir.path(), &[]), &records, false);

    // An `images` folder inside --root (records `images/…` of --root DIR), into another
    // folder: listed through links, each label where Ultralytics looks from the link.
    let prefixed: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["path"] = json!(format!("images/{}", r["path"].as_str().unwrap()));
            r
        })
        .collect();
    let above = dir.path().join("above.jsonl");
    write_jsonl(&above, &prefixed);
    let up = dir.path().join("up");
    let o = export(&above, "yolo", &up, dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ultralytics_finds(&up), (records.len(), records.len()));
    // And into DIR itself: the images as they are, the labels in DIR/labels.
    let o = export(&above, "yolo", dir.path(), dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        ultralytics_finds(dir.path()),
        (records.len(), records.len())
    );
    let listed = std::fs::read_to_string(dir.path().join("images.txt")).unwrap();
    assert_eq!(
        listed.lines().next().unwrap(),
        abs.join(first).to_string_lossy()
    );
    assert_same("yolo", &import("yolo", dir.path(), &[]), &prefixed, false);
}

/// How many images the YOLO export in `out` lists for training (data.yaml's `train`), and
/// for how many of them a label file is where Ultralytics looks: Ultralytics 8.4's
/// `img2label_paths` (ultralytics/data/utils.py), run by Python on the list.
fn ultralytics_finds(out: &Path) -> (usize, usize) {
    let o = std::process::Command::new(python())
        .args([
            "-c",
            r#"
import os, sys, yaml
def img2label_path(x):
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return sb.join(x.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"
d = yaml.safe_load(open(sys.argv[1]))
listed = [l.strip() for l in open(d["train"]) if l.strip()]
print(len(listed), sum(os.path.isfile(img2label_path(p)) and os.path.isfile(p) for p in listed))
"#,
        ])
        .arg(out.join("data.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let n: Vec<usize> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    (n[0], n[1])
}

/// Two images of one name with another extension in one folder would share a YOLO label
/// file (Ultralytics derives it from the name) and a VOC annotation: the later is refused,
/// not written over the first, so that neither trains on the other's boxes.
#[test]
fn yolo_and_voc_refuse_a_second_image_of_one_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("images");
    std::fs::create_dir_all(&root).unwrap();
    for p in ["x.jpg", "x.png", "y.jpg"] {
        common::write_png(&root.join(p), 40, 30);
    }
    let input = dir.path().join("r.jsonl");
    let mut dog = boxed("x.png", "dog");
    dog["detections"][0]["class_id"] = json!(1);
    let mut other_dog = boxed("y.jpg", "dog");
    other_dog["detections"][0]["class_id"] = json!(1);
    write_jsonl(&input, &[boxed("x.jpg", "cat"), dog, other_dog]);
    for (format, file) in [("yolo", "labels/x.txt"), ("voc", "Annotations/x.xml")] {
        let out = dir.path().join(format);
        let o = export(&input, format, &out, &root);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{format}: {stderr}");
        assert!(
            stderr.contains("x.png: refused:") && stderr.contains("the same name"),
            "{format}: {stderr}"
        );
        let back = import(format, &out, &[]);
        let paths: Vec<&str> = back.iter().map(|r| r["path"].as_str().unwrap()).collect();
        assert!(!paths.contains(&"x.png"), "{format}: {paths:?}");
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        if format == "yolo" {
            // x.jpg's cat (class 0), not x.png's dog.
            assert!(text.starts_with("0 "), "{text}");
            let listed = std::fs::read_to_string(out.join("images.txt")).unwrap();
            assert_eq!(listed.lines().count(), 2, "{listed}");
        } else {
            assert!(text.contains("<name>cat</name>"), "{text}");
        }
    }
}
