//! anylabel against a pipeline we did not write: the same model through Python
//! `onnxruntime` and `opencv-python-headless` (imread, an Ultralytics-style letterbox,
//! `cv2.dnn.NMSBoxesBatched`), on the bundled fixtures (`tests/python/reference.py`).
//!
//! Needs a Python with the packages of `tests/python/requirements.txt`, named by
//! `ANYLABEL_TEST_PYTHON`; `scripts/test.sh` makes one. The catalogue models and ONNX
//! Runtime are fetched into the shared test home on first use.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{anylabel, fixtures, records};
use serde_json::Value;

fn python() -> PathBuf {
    common::python("the cross-checks need a Python with onnxruntime and opencv-python-headless")
}

fn iou(a: &[f64], b: &[f64]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

fn dets(r: &Value) -> Vec<(u64, f64, Vec<f64>)> {
    r["detections"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    let b = d["bbox"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect();
                    (
                        d["class_id"].as_u64().unwrap(),
                        d["score"].as_f64().unwrap(),
                        b,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Runs both on the fixtures and checks the criterion: at least 99% of the
/// reference boxes have a box of the same class with IoU >= 0.9 and a score within 0.01,
/// and no more than 1% extra boxes.
fn cross_check(model: &str, imgsz: u32) {
    let (matched, extra) = cross_check_on(model, imgsz, &fixtures(), &[], "linear", 0.01);
    assert!(
        matched >= 0.99,
        "fewer than 99% of the reference boxes matched"
    );
    assert!(extra <= 0.01, "more than 1% extra boxes");
}

/// Runs anylabel (with `flags`) and the Python reference (resizing with `interp`) on the
/// images in `dir`, and returns the share of the reference boxes that have a box of the
/// same class with IoU >= 0.9 and a score within `score_tol`, and the share of extra
/// boxes. The report goes to stderr and to `target/tmp/crosscheck-*.txt`.
fn cross_check_on(
    model: &str,
    imgsz: u32,
    dir: &std::path::Path,
    flags: &[&str],
    interp: &str,
    score_tol: f64,
) -> (f64, f64) {
    let out = anylabel()
        .arg("infer")
        .arg(dir)
        .args(["--model", model, "--imgsz", &imgsz.to_string()])
        .args(flags)
        .assert()
        .success();
    let ours = records(&out.get_output().stdout);
    let names: Vec<String> = ours
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names.len() >= 8,
        "{} holds {} images",
        dir.display(),
        names.len()
    );

    let model_path = anylabel()
        .args(["models", "path", model])
        .assert()
        .success();
    let model_path = String::from_utf8_lossy(&model_path.get_output().stdout)
        .trim()
        .to_string();
    let reference = Command::new(python())
        .arg(common::root().join("tests/python/reference.py"))
        .args([
            "--model",
            &model_path,
            "--imgsz",
            &imgsz.to_string(),
            &imgsz.to_string(),
            "--interp",
            interp,
            "--root",
        ])
        .arg(dir)
        .args(&names)
        .output()
        .expect("run the Python reference");
    assert!(
        reference.status.success(),
        "the reference failed: {}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let theirs = records(&reference.stdout);

    let (mut total, mut matched, mut extra, mut unreadable) = (0usize, 0usize, 0usize, Vec::new());
    let mut report = Vec::new();
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o["path"], t["path"]);
        if t.get("error").is_some_and(|e| !e.is_null()) {
            unreadable.push(t["path"].as_str().unwrap().to_string());
            continue;
        }
        assert!(
            o["error"].is_null(),
            "{} failed here but not in Python: {}",
            o["path"],
            o["error"]
        );
        assert_eq!(
            (&o["width"], &o["height"]),
            (&t["width"], &t["height"]),
            "{}",
            o["path"]
        );
        let (od, td) = (dets(o), dets(t));
        let mut used = vec![false; od.len()];
        for (tc, ts, tb) in &td {
            total += 1;
            let best = od
                .iter()
                .enumerate()
                .filter(|(i, (oc, os, ob))| {
                    !used[*i] && oc == tc && (os - ts).abs() <= score_tol && iou(ob, tb) >= 0.9
                })
                .max_by(|a, b| iou(&a.1.2, tb).total_cmp(&iou(&b.1.2, tb)));
            match best {
                Some((i, _)) => {
                    used[i] = true;
                    matched += 1;
                }
                None => report.push(format!(
                    "  missing in {}: class {tc} score {ts:.4} box {tb:.1?}",
                    o["path"]
                )),
            }
        }
        for (i, (oc, os, ob)) in od.iter().enumerate() {
            if !used[i] {
                extra += 1;
                report.push(format!(
                    "  extra in {}: class {oc} score {os:.4} box {ob:.1?}",
                    o["path"]
                ));
            }
        }
    }
    let summary = format!(
        "{model} at {imgsz}: {} images, {total} reference boxes, {matched} matched ({:.2}%), {extra} extra; \
         images OpenCV cannot read (not compared): {unreadable:?}\n{}",
        ours.len(),
        100.0 * matched as f64 / total.max(1) as f64,
        report.join("\n")
    );
    eprintln!("{summary}");
    std::fs::create_dir_all(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::write(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("crosscheck-{model}-{interp}{}.txt", flags.concat())),
        &summary,
    )
    .unwrap();
    assert!(
        total >= 20,
        "too few reference boxes for a meaningful check:\n{summary}"
    );
    (matched as f64 / total as f64, extra as f64 / total as f64)
}

#[test]
fn nudenet_at_640_matches_python_onnxruntime_and_opencv() {
    cross_check("nudenet-320n", 640);
}

#[test]
fn doclaynet_at_1024_matches_python_onnxruntime_and_opencv() {
    cross_check("yolov8n-doclaynet", 1024);
}

/// The letterbox (decode, EXIF orientation, resize, padding) gives the same bytes as
/// OpenCV's imread and the Ultralytics-style letterbox in Python, for every fixture.
/// 12-megapixel photos, which `infer` decodes at a quarter of their size (libjpeg-turbo's
/// scaled IDCT, `decode::jpeg_reduction`), give the boxes of OpenCV's area-filtered resize
/// of the full-size image (`INTER_AREA`), the reduction being an area filter of its own;
/// and they agree with it at least as well as a full-size decode with a bilinear resize
/// (`--exact-decode`, which samples one pixel in six at this scale) does.
#[test]
fn large_jpegs_decoded_reduced_match_an_area_filtered_resize() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(python())
        .arg(common::root().join("bench/make_12mp.py"))
        .arg(dir.path())
        .args(["--count", "10", "--fixtures"])
        .arg(fixtures().join("people"))
        .output()
        .expect("run bench/make_12mp.py");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (reduced, extra) = cross_check_on("nudenet-320n", 640, dir.path(), &[], "area", 0.1);
    let (exact, _) = cross_check_on(
        "nudenet-320n",
        640,
        dir.path(),
        &["--exact-decode"],
        "area",
        0.1,
    );
    assert!(
        reduced >= 0.9 && extra <= 0.1,
        "reduced decoding against INTER_AREA: {:.1}% matched, {:.1}% extra",
        100.0 * reduced,
        100.0 * extra
    );
    assert!(
        reduced >= exact,
        "reduced decoding agrees less with INTER_AREA ({:.1}%) than a full-size decode \
         with a bilinear resize does ({:.1}%)",
        100.0 * reduced,
        100.0 * exact
    );
}

#[test]
fn letterbox_is_bit_exact_with_opencv_on_every_fixture() {
    use anylabel::decode::{DecodeOptions, decode_file};
    use anylabel::letterbox::{Letterbox, Preprocessor};
    use anylabel::scan::{Input, scan};

    let items: Vec<_> = scan(vec![Input::Dir(fixtures())])
        .map(Result::unwrap)
        .collect();
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    let out = tempfile::tempdir().unwrap();
    for (h, w) in [(640usize, 640usize), (480, 800)] {
        let status = Command::new(python())
            .arg(common::root().join("tests/python/reference.py"))
            .args([
                "--imgsz",
                &h.to_string(),
                &w.to_string(),
                "--letterbox-only",
            ])
            .arg(out.path())
            .arg("--root")
            .arg(fixtures())
            .args(&names)
            .status()
            .unwrap();
        assert!(status.success());
        let mut pre = Preprocessor::new();
        let mut tensor = vec![0f32; 3 * h * w];
        let mut differing = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let theirs = std::fs::read(out.path().join(format!("{i}.rgb"))).unwrap();
            let img = decode_file(&item.path, &DecodeOptions::default()).unwrap();
            let lb = Letterbox::new(img.width, img.height, w as u32, h as u32);
            pre.run(&img.pixels, &lb, &mut tensor).unwrap();
            let plane = h * w;
            let diff = (0..plane * 3)
                .filter(|&k| {
                    let (p, c) = (k / 3, k % 3);
                    (tensor[c * plane + p] * 255.0).round() as u8 != theirs[k]
                })
                .count();
            if diff > 0 {
                differing.push(format!("{}: {diff} values differ", item.name));
            }
        }
        assert!(
            differing.is_empty(),
            "at {w}×{h}:\n{}",
            differing.join("\n")
        );
    }
}

/// The bilinear resize against cv2.resize(INTER_LINEAR) on ~500 size pairs and sources,
/// with the SIMD kernels and with the portable code (tests/python/resize_check.py).
#[test]
fn resize_is_bit_exact_with_opencv_on_many_sizes() {
    // cargo test builds the examples next to the test binaries.
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("resize_check");
    assert!(bin.is_file(), "{} is not built", bin.display());
    let out = Command::new(python())
        .arg(common::root().join("tests/python/resize_check.py"))
        .arg("--bin")
        .arg(&bin)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "{text}");
}

/// Polygon areas, exact IoU and point-in-polygon against Shapely on a fixed set of cases:
/// convex and concave, overlapping, disjoint, touching, nested, identical, either
/// orientation, collinear vertices, large and small coordinates.
#[test]
fn polygons_match_shapely() {
    use anylabel::polygon::{Point, area, contains, iou};

    fn star(n: usize, cx: f64, cy: f64, r0: f64, r1: f64, seed: u64) -> Vec<Point> {
        let mut rng = anylabel::rng::XorShift(seed | 1);
        let mut rnd = move || rng.unit_f64();
        (0..n)
            .map(|i| {
                let t = (i as f64 + 0.7 * rnd()) / n as f64 * std::f64::consts::TAU;
                let r = r0 + (r1 - r0) * rnd();
                [cx + r * t.cos(), cy + r * t.sin()]
            })
            .collect()
    }
    let rect =
        |x: f64, y: f64, w: f64, h: f64| vec![[x, y], [x + w, y], [x + w, y + h], [x, y + h]];
    let c_shape = vec![
        [0.0, 0.0],
        [3.0, 0.0],
        [3.0, 1.0],
        [1.0, 1.0],
        [1.0, 2.0],
        [3.0, 2.0],
        [3.0, 3.0],
        [0.0, 3.0],
    ];
    let mut pairs: Vec<(Vec<Point>, Vec<Point>)> = vec![
        (rect(0.0, 0.0, 2.0, 2.0), rect(1.0, 0.0, 2.0, 2.0)),
        (rect(0.0, 0.0, 2.0, 2.0), rect(5.0, 5.0, 1.0, 1.0)),
        (rect(0.0, 0.0, 2.0, 2.0), rect(2.0, 0.0, 2.0, 2.0)), // touching
        (rect(0.0, 0.0, 4.0, 4.0), rect(1.0, 1.0, 1.0, 1.0)), // nested
        (c_shape.clone(), rect(0.0, 0.0, 3.0, 3.0)),
        (c_shape.clone(), rect(1.5, 0.5, 1.0, 2.0)), // the notch
        (c_shape.iter().rev().copied().collect(), c_shape.clone()), // clockwise, identical
        (
            vec![[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]],
            rect(1.0, 1.0, 2.0, 2.0),
        ), // collinear
        (
            rect(1000.0, 2000.0, 3000.0, 1500.0),
            star(30, 2500.0, 2700.0, 300.0, 1200.0, 7),
        ),
        (rect(0.0, 0.0, 0.01, 0.02), rect(0.005, 0.0, 0.01, 0.02)),
    ];
    for seed in 0..30u64 {
        pairs.push((
            star(5 + (seed as usize % 25), 0.0, 0.0, 10.0, 50.0, seed * 2 + 1),
            star(
                4 + (seed as usize % 13),
                15.0 - seed as f64,
                5.0,
                5.0,
                40.0,
                seed * 2 + 2,
            ),
        ));
    }
    let points: Vec<(Vec<Point>, Point)> = vec![
        (c_shape.clone(), [0.5, 1.5]),
        (c_shape.clone(), [2.0, 1.5]),
        (c_shape.clone(), [3.0, 0.5]), // on the boundary
        (rect(0.0, 0.0, 2.0, 2.0), [2.0, 2.0]),
        (star(12, 0.0, 0.0, 10.0, 50.0, 3), [0.0, 0.0]),
        (star(12, 0.0, 0.0, 10.0, 50.0, 3), [45.0, 3.0]),
        (star(12, 0.0, 0.0, 10.0, 50.0, 3), [-30.0, 20.0]),
    ];
    let input = serde_json::json!({"pairs": pairs, "points": points});
    let mut child = Command::new(python())
        .arg(common::root().join("tests/python/polygons.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    for (k, ((a, b), t)) in pairs
        .iter()
        .zip(theirs["pairs"].as_array().unwrap())
        .enumerate()
    {
        let t: Vec<f64> = t
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let ours = [area(a), area(b), iou(a, b)];
        assert!(
            close(ours[0], t[0]) && close(ours[1], t[1]) && close(ours[2], t[2]),
            "pair {k}: ours {ours:?}, Shapely {t:?}"
        );
        assert!(close(iou(b, a), t[2]), "pair {k}: IoU is not symmetric");
    }
    for (k, ((p, q), t)) in points
        .iter()
        .zip(theirs["points"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(contains(p, *q), t.as_bool().unwrap(), "point {k}: {q:?}");
    }
}
