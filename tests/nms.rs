//! `anylabel nms`: the CLI's contract (row indices, score order, --conf, --max-det,
//! --agnostic, JSON, results JSONL, errors naming the row), and its kept sets against
//! OpenCV's `NMSBoxesBatched` / `NMSBoxes` (`tests/python/nms_reference.py`), which we did
//! not write. The OpenCV check needs `ANYLABEL_TEST_PYTHON` (`scripts/test.sh` sets it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::anylabel;

const HEADER: &str = "x1,y1,x2,y2,score,class_id\n";

fn run_nms(input: &str, args: &[&str]) -> (bool, String, String) {
    let out = anylabel()
        .arg("nms")
        .arg("-")
        .args(args)
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn kept(input: &str, args: &[&str]) -> Vec<usize> {
    let (ok, stdout, stderr) = run_nms(input, args);
    assert!(ok, "anylabel nms {args:?} failed: {stderr}");
    stdout.lines().map(|l| l.parse().unwrap()).collect()
}

/// Four boxes: rows 0 and 2 overlap heavily (IoU 0.81), row 1 is of another class on top of
/// row 0, row 3 stands alone.
const SMALL: &str = "x1,y1,x2,y2,score,class_id\n\
                     0,0,10,10,0.6,0\n\
                     0,0,10,10,0.7,1\n\
                     0,0,9,9,0.9,0\n\
                     50,50,60,60,0.3,0\n";

#[test]
fn prints_kept_rows_highest_score_first() {
    assert_eq!(kept(SMALL, &[]), vec![2, 1, 3]);
    // Classes never suppress each other unless --agnostic.
    assert_eq!(kept(SMALL, &["--agnostic"]), vec![2, 3]);
    // IoU(0, 2) = 81/100: kept at a threshold above it.
    assert_eq!(kept(SMALL, &["--iou", "0.85"]), vec![2, 1, 0, 3]);
    assert_eq!(kept(SMALL, &["--max-det", "2"]), vec![2, 1]);
    assert_eq!(kept(SMALL, &["--conf", "0.3"]), vec![2, 1]);
    let (ok, stdout, _) = run_nms(SMALL, &["--format", "json"]);
    assert!(ok);
    assert_eq!(stdout.trim(), "[2,1,3]");
    // Equal scores: the lower row wins.
    let tie = format!("{HEADER}0,0,10,10,0.5,0\n0,0,10,10,0.5,0\n");
    assert_eq!(kept(&tie, &[]), vec![0]);
    // An empty table keeps nothing.
    assert_eq!(kept(HEADER, &[]), Vec::<usize>::new());
}

#[test]
fn reads_a_file_with_columns_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boxes.csv");
    std::fs::write(
        &path,
        "class_id,score,x1,y1,x2,y2,source\n0,0.6,0,0,10,10,a\n0,0.9,0,0,9,9,b\n",
    )
    .unwrap();
    let out = anylabel().arg("nms").arg(&path).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1\n");
}

#[test]
fn bad_rows_are_errors_that_name_the_row_and_line() {
    for (body, want) in [
        (
            "0,0,1,1,0.5,0\n0,0,1,1,NaN,0\n",
            "row 1 (line 3): score is NaN",
        ),
        (
            "0,0,1,1,0.5,0\n5,0,3,1,0.5,0\n",
            "row 1 (line 3): x2 (3) is less than x1 (5)",
        ),
        (
            "0,0,1,1,0.5\n",
            "row 0 (line 2): the class_id column is missing",
        ),
        ("0,0,1,x,0.5,0\n", "row 0 (line 2): y2 is 'x', not a number"),
    ] {
        let (ok, stdout, stderr) = run_nms(&format!("{HEADER}{body}"), &[]);
        assert!(!ok, "{body:?} was accepted");
        assert!(stdout.is_empty(), "{body:?} printed {stdout}");
        assert!(
            stderr.contains(&format!("<stdin>: {want}")) || stderr.contains(want),
            "{body:?}: {stderr}"
        );
    }
    let (ok, _, stderr) = run_nms("x1,y1,x2,score,class_id\n0,0,1,0.5,0\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("the header has no y2 column"), "{stderr}");
}

#[test]
fn reruns_nms_on_result_records() {
    let record = |dets: &str| {
        format!(
            r#"{{"path":"a.jpg","width":100,"height":100,"model":"m@sha256:00","detections":[{dets}],"error":null}}"#
        )
    };
    let det = |c: u32, s: f32, b: [f32; 4]| {
        format!(
            r#"{{"class_id":{c},"label":"c{c}","score":{s},"bbox":[{},{},{},{}]}}"#,
            b[0], b[1], b[2], b[3]
        )
    };
    // IoU between the two class-0 boxes is 0.64: both kept at 0.7, one at 0.5.
    let dets = [
        det(0, 0.9, [0.0, 0.0, 10.0, 10.0]),
        det(0, 0.8, [0.0, 0.0, 8.0, 8.0]),
        det(1, 0.7, [0.0, 0.0, 10.0, 10.0]),
    ]
    .join(",");
    let input = format!("{}\n{}\n", record(&dets), record(""));
    let (ok, stdout, stderr) = run_nms(&input, &["--iou", "0.5"]);
    assert!(ok, "{stderr}");
    let records = common::records(stdout.as_bytes());
    assert_eq!(records.len(), 2);
    let scores: Vec<f64> = records[0]["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, vec![0.9, 0.7]);
    assert_eq!(records[1]["detections"], serde_json::json!([]));
    // A UTF-8 byte order mark (a Windows editor's) does not make it CSV.
    let (ok, with_bom, stderr) = run_nms(&format!("\u{feff}{input}"), &["--iou", "0.5"]);
    assert!(ok, "{stderr}");
    assert_eq!(with_bom, stdout);
    let (_, stdout, _) = run_nms(&input, &["--iou", "0.5", "--agnostic"]);
    assert_eq!(
        common::records(stdout.as_bytes())[0]["detections"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (ok, _, stderr) = run_nms("{\"path\": 3}\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("line 1: not a result record"), "{stderr}");
}

fn python() -> PathBuf {
    common::python("the OpenCV cross-check needs a Python with opencv-python-headless")
}

/// A seeded table of clustered boxes in `classes` classes with distinct scores.
fn clustered_csv(path: &Path, n: usize, classes: u32, seed: u64) {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let clusters = (n / 8).max(1);
    let extent = (clusters as f64).sqrt() * 80.0;
    let centres: Vec<(f64, f64, f64)> = (0..clusters)
        .map(|_| (next() * extent, next() * extent, 20.0 + next() * 60.0))
        .collect();
    // Distinct scores: a shuffled ramp.
    let mut scores: Vec<usize> = (1..=n).collect();
    for i in (1..n).rev() {
        let j = (next() * (i + 1) as f64) as usize;
        scores.swap(i, j.min(i));
    }
    let mut text = String::from(HEADER);
    for rank in &scores {
        let (cx, cy, size) = centres[(next() * clusters as f64) as usize % clusters];
        let (x, y) = (cx + (next() - 0.5) * 16.0, cy + (next() - 0.5) * 16.0);
        let (w, h) = (size * (0.85 + next() * 0.3), size * (0.85 + next() * 0.3));
        let b = [x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0].map(|v| v as f32);
        let score = *rank as f32 / (n + 1) as f32;
        let class = (next() * classes as f64) as u32 % classes;
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            b[0], b[1], b[2], b[3], score, class
        ));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn keeps_exactly_what_opencv_keeps() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (n, classes, seed) in [(50, 1, 1), (500, 3, 2), (2000, 10, 3), (20_000, 80, 4)] {
        let path = dir.path().join(format!("boxes-{n}.csv"));
        clustered_csv(&path, n, classes, seed);
        for iou in ["0.3", "0.45", "0.7"] {
            for agnostic in [false, true] {
                let mut args = vec!["--iou", iou];
                let mut reference = Command::new(&python);
                reference
                    .arg(common::root().join("tests/python/nms_reference.py"))
                    .arg(&path)
                    .arg(iou);
                if agnostic {
                    args.push("--agnostic");
                    reference.arg("--agnostic");
                }
                let theirs = reference.output().unwrap();
                assert!(
                    theirs.status.success(),
                    "nms_reference.py: {}",
                    String::from_utf8_lossy(&theirs.stderr)
                );
                let theirs: Vec<usize> = String::from_utf8(theirs.stdout)
                    .unwrap()
                    .lines()
                    .map(|l| l.parse().unwrap())
                    .collect();
                let out = anylabel()
                    .arg("nms")
                    .arg(&path)
                    .args(&args)
                    .output()
                    .unwrap();
                assert!(out.status.success());
                let ours: Vec<usize> = String::from_utf8(out.stdout)
                    .unwrap()
                    .lines()
                    .map(|l| l.parse().unwrap())
                    .collect();
                assert!(
                    !ours.is_empty() && ours.len() < n,
                    "a test that suppresses nothing"
                );
                assert_eq!(
                    ours, theirs,
                    "{n} boxes, {classes} classes, IoU {iou}, agnostic {agnostic}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 24);
}

/// `anylabel nms results.jsonl | head -1` ends quietly with exit 0, as every command does
/// when its reader goes (serde_json's write error once hid the closed pipe).
#[test]
fn a_closed_pipe_ends_nms_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("r.jsonl");
    let line = r#"{"path":"a.jpg","width":1,"height":1,"model":"m","detections":[],"error":null}"#;
    std::fs::write(&input, format!("{line}\n").repeat(200_000)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("anylabel");
    let script = format!(
        "'{}' nms '{}' | head -n 1 > /dev/null; echo ${{PIPESTATUS[0]}}",
        bin.display(),
        input.display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
