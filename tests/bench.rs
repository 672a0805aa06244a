//! `anylabel bench`: the JSON report, the comparison with a baseline and its exit code,
//! a very short `infer` run, and the HTML report opened in headless Chromium.
//!
//! Only the quick, small suites run here; what the figures are is not asserted (that
//! would be a timed test), only that they are there, positive and well formed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::anylabel;
use predicates::prelude::*;
use serde_json::Value;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn names(report: &Value) -> Vec<String> {
    report["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

/// `bench nms --quick --json FILE`, its report.
fn nms_report(dir: &Path) -> (PathBuf, Value) {
    let path = dir.join("nms.json");
    anylabel()
        .args(["bench", "nms", "--quick", "--json"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("100,000 boxes"));
    let v = read_json(&path);
    (path, v)
}

#[test]
fn nms_quick_writes_a_json_report_with_the_machine_and_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (_, r) = nms_report(dir.path());
    let m = &r["machine"];
    for key in ["cpu", "os", "gpu", "anylabel", "date"] {
        assert!(
            m[key].as_str().is_some_and(|s| !s.is_empty()),
            "machine.{key}: {m}"
        );
    }
    assert!(m["cores"].as_u64().unwrap() >= 1);
    assert!(m["memory_mb"].as_u64().unwrap() > 0);
    assert!(m["load_average"].as_f64().unwrap() >= 0.0);
    assert!(m["onnxruntime"].is_null(), "nms loads no ONNX Runtime");
    assert_eq!(m["anylabel"], env!("CARGO_PKG_VERSION"));
    let date = m["date"].as_str().unwrap();
    assert!(
        date.len() == 20 && date.ends_with('Z') && date.starts_with("20"),
        "{date}"
    );
    if Command::new("nvidia-smi").output().is_err() {
        assert_eq!(m["gpu"], "none found");
    }
    assert_eq!(r["quick"], true);
    assert_eq!(names(&r), ["1,000 boxes", "10,000 boxes", "100,000 boxes"]);
    for f in r["figures"].as_array().unwrap() {
        assert_eq!(f["suite"], "nms");
        assert_eq!(f["unit"], "ms");
        assert_eq!(f["better"], "lower");
        assert!(f["value"].as_f64().unwrap() > 0.0, "{f}");
        assert!(f["detail"].as_str().unwrap().contains("median of 5 runs"));
    }
    assert!(
        r["notes"][0]["text"]
            .as_str()
            .unwrap()
            .contains("bench/nms_peers.py")
    );
}

#[test]
fn json_to_stdout_puts_the_table_on_stderr() {
    let out = anylabel()
        .args(["bench", "filter", "--quick", "--json", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    let expected: Vec<String> = (1..=cores)
        .map(|t| {
            format!(
                "20,000 records, {t} thread{}",
                if t == 1 { "" } else { "s" }
            )
        })
        .collect();
    assert_eq!(names(&r), expected);
    assert!(r["figures"][0]["unit"] == "records/s" && r["figures"][0]["better"] == "higher");
    assert!(String::from_utf8_lossy(&out.stderr).contains("records/s"));
}

#[test]
fn a_baseline_lists_regressions_and_fail_on_regression_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let (path, r) = nms_report(dir.path());
    // The comparisons read the measured report back (`--from`) instead of measuring again:
    // a second measurement would make the outcome depend on the machine's speed.

    // The same report against itself: nothing got worse.
    anylabel()
        .args(["bench", "nms", "--from"])
        .arg(&path)
        .arg("--baseline")
        .arg(&path)
        .args(["--fail-on-regression", "10"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "no figure is more than 10% worse than the baseline",
        ))
        .stdout(predicate::str::contains("regression:").not());

    // A baseline where one figure was 50% better (half the time).
    let mut doctored = r.clone();
    let f = &mut doctored["figures"][1];
    assert_eq!(f["name"], "10,000 boxes");
    f["value"] = Value::from(f["value"].as_f64().unwrap() * 0.5);
    let base = dir.path().join("doctored.json");
    std::fs::write(&base, serde_json::to_string(&doctored).unwrap()).unwrap();
    let listed = || {
        predicate::str::contains("1 figure more than 10% worse than the baseline")
            .and(predicate::str::contains("regression: nms / 10,000 boxes"))
            .and(predicate::str::contains("100.0% worse"))
            .and(predicate::str::contains("regression: nms / 1,000 boxes").not())
    };
    anylabel()
        .args(["bench", "nms", "--from"])
        .arg(&path)
        .arg("--baseline")
        .arg(&base)
        .args(["--fail-on-regression", "10"])
        .assert()
        .code(4)
        .stdout(listed());
    // Without --fail-on-regression it is listed, and the exit code stays 0.
    anylabel()
        .args(["bench", "nms", "--from"])
        .arg(&path)
        .arg("--baseline")
        .arg(&base)
        .assert()
        .code(0)
        .stdout(listed());
}

/// A baseline that has none of the figures compares nothing: it says so, and
/// --fail-on-regression fails (it passed, saying no figure got worse); one that has some
/// says how many were compared.
#[test]
fn a_baseline_without_the_figures_says_so_and_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let (path, r) = nms_report(dir.path());
    let total = r["figures"].as_array().unwrap().len();
    assert!(total >= 2, "{r}");
    let compare = |base: &Path, gate: bool| {
        let mut cmd = anylabel();
        cmd.args(["bench", "nms", "--from"])
            .arg(&path)
            .arg("--baseline")
            .arg(base);
        if gate {
            cmd.args(["--fail-on-regression", "10"]);
        }
        cmd.assert()
    };

    let mut other = r.clone();
    for f in other["figures"].as_array_mut().unwrap() {
        f["name"] = Value::from(format!("{} (other)", f["name"].as_str().unwrap()));
    }
    let base = dir.path().join("other.json");
    std::fs::write(&base, serde_json::to_string(&other).unwrap()).unwrap();
    let nothing = format!("nothing compared: none of the {total} figures is in the baseline");
    compare(&base, true)
        .code(1)
        .stdout(predicate::str::contains(nothing.as_str()))
        .stdout(predicate::str::contains("no figure is more than").not())
        .stderr(predicate::str::contains("nothing was compared"));
    compare(&base, false)
        .code(0)
        .stdout(predicate::str::contains(nothing.as_str()));

    let mut fewer = r.clone();
    fewer["figures"].as_array_mut().unwrap().remove(0);
    let base = dir.path().join("fewer.json");
    std::fs::write(&base, serde_json::to_string(&fewer).unwrap()).unwrap();
    compare(&base, true)
        .code(0)
        .stdout(predicate::str::contains(format!(
            "{} of {total} figures compared (the others are not in the baseline)",
            total - 1
        )))
        .stdout(predicate::str::contains(
            "no figure is more than 10% worse than the baseline",
        ));
}

#[test]
fn a_baseline_that_is_not_a_report_is_an_error_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    anylabel()
        .args(["bench", "nms", "--baseline"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "not a report of `anylabel bench --json`",
        ));
    anylabel()
        .args(["bench", "nms", "--fail-on-regression", "10"])
        .assert()
        .code(2); // needs --baseline
}

#[test]
fn imgsz_is_checked_as_infer_checks_it() {
    for suite in ["infer", "cache"] {
        for bad in ["321", "100000", "0"] {
            anylabel()
                .args(["bench", suite, "--quick", "--imgsz", bad])
                .assert()
                .code(2)
                .stderr(predicate::str::contains(
                    "is not a multiple of 32 between 32 and 8192",
                ));
        }
    }
}

/// `bench infer` with the small test model on `n` tiny PNGs and `args`: its JSON report.
fn bench_infer(n: u32, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    for i in 0..n {
        common::write_png(&images.join(format!("{i}.png")), 40 + i * 8, 32);
    }
    let json = dir.path().join("infer.json");
    anylabel()
        .args(["bench", "infer", "--imgsz", "64"])
        .args(args)
        .arg("--model")
        .arg(common::test_model("yolov5_head.onnx"))
        .arg("--images")
        .arg(&images)
        .arg("--json")
        .arg(&json)
        .assert()
        .success();
    read_json(&json)
}

#[test]
fn infer_on_three_tiny_images_with_the_small_test_model() {
    let r = bench_infer(3, &["--quick", "--batch", "1"]);
    let ort = &r["machine"]["onnxruntime"];
    assert!(ort["version"].as_str().unwrap().starts_with("1."), "{ort}");
    assert!(
        ort["providers"]
            .as_array()
            .unwrap()
            .contains(&Value::from("CPUExecutionProvider"))
    );
    let n = names(&r);
    for want in [
        "latency min",
        "latency median",
        "latency p95",
        "latency max",
        "throughput, batch 1",
        "inference only, batch 1",
        "end to end / inference only, batch 1",
        "stage share: inference",
    ] {
        assert!(n.iter().any(|x| x == want), "{want} missing from {n:?}");
    }
    let throughput = r["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "throughput, batch 1")
        .unwrap();
    assert!(
        throughput["detail"]
            .as_str()
            .unwrap()
            .starts_with("3 images")
    );
    let shares: f64 = r["figures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"].as_str().unwrap().starts_with("stage share: "))
        .map(|f| f["value"].as_f64().unwrap())
        .sum();
    assert!(
        (shares - 100.0).abs() < 0.01,
        "stage shares sum to {shares}"
    );
    // The backend it ran on (auto: the CPU on a machine without an NVIDIA driver).
    let backend = r["machine"]["onnxruntime"]["backend"].as_str().unwrap();
    assert!(["cpu", "cuda", "trt"].contains(&backend), "{backend}");
}

// ---- the HTML report in headless Chromium (as tests/report.rs does it) ----

const WINDOW: (u32, u32) = (1000, 1400);

/// After load: each chart's bars as the browser laid them out.
const PROBE: &str = r#"<script>
window.addEventListener('load', function () { setTimeout(function () {
  var all = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var out = {
    svgs: all('svg.chart').length,
    suites: all('section.suite').map(function (s) { return s.getAttribute('data-suite'); }),
    bars: all('svg.chart rect.bar').map(function (r) {
      var b = r.getBoundingClientRect();
      return { w: b.width, h: b.height, top: b.top, title: r.querySelector('title').textContent };
    })
  };
  var s = document.createElement('script');
  s.type = 'application/json';
  s.id = 'probe';
  s.textContent = JSON.stringify(out).replace(/</g, '\\u003c');
  document.body.appendChild(s);
}, 200); });
</script>"#;

#[test]
fn the_html_report_draws_its_charts_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    anylabel()
        .args(["bench", "nms", "--quick", "--report"])
        .arg(&out)
        .assert()
        .success();
    for f in ["report.json", "report.md", "report.html"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## nms") && md.contains("| 100,000 boxes |"));
    // report.json is the same report --json writes.
    assert_eq!(
        names(&read_json(&out.join("report.json")))[0],
        "1,000 boxes"
    );

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let at = html.rfind("</body>").unwrap();
    let probe = out.join("probe.html");
    std::fs::write(&probe, format!("{}{PROBE}{}", &html[..at], &html[at..])).unwrap();
    let dom = common::run_chromium(&common::file_url(&probe), WINDOW, &["--dump-dom"]);
    let start = "<script type=\"application/json\" id=\"probe\">";
    let json = &dom[dom.find(start).expect("the probe ran") + start.len()..];
    let v: Value = serde_json::from_str(&json[..json.find("</script>").unwrap()]).unwrap();
    assert_eq!(v["svgs"], 1, "{v}");
    assert_eq!(v["suites"], serde_json::json!(["nms"]));
    let bars = v["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 3);
    let widths: Vec<f64> = bars.iter().map(|b| b["w"].as_f64().unwrap()).collect();
    assert!(widths.iter().all(|&w| w >= 1.0), "{widths:?}");
    // 100,000 boxes take longer than 1,000: its bar is the longest.
    assert!(widths[2] > widths[0], "{widths:?}");
    assert!(bars.iter().all(|b| b["h"].as_f64().unwrap() > 10.0));

    // The pixels: the bars' colour is on the screen, where the DOM says a bar is.
    let png = dir.path().join("shot.png");
    common::run_chromium(
        &common::file_url(&probe),
        WINDOW,
        &[&format!("--screenshot={}", png.display())],
    );
    let shot = image::open(&png).unwrap().into_rgb8();
    assert_eq!(shot.dimensions(), WINDOW);
    let bar_colour = image::Rgb([0x3b, 0x6f, 0xb6]);
    let coloured = shot.pixels().filter(|p| **p == bar_colour).count();
    let expected: f64 = bars
        .iter()
        .map(|b| b["w"].as_f64().unwrap() * b["h"].as_f64().unwrap())
        .sum();
    assert!(
        coloured as f64 > 0.8 * expected,
        "{coloured} pixels of the bars' colour on the screenshot, {expected} expected"
    );
    let non_white = shot.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(non_white > coloured, "text besides the bars");
}

/// `--threads` and `--workers` reach the runs (their details say so), and the three runs
/// of a batch size give the same records (bench notes any run that does not).
#[test]
fn infer_with_set_threads_gives_the_same_records_in_every_run() {
    let r = bench_infer(5, &["--batch", "2", "--threads", "1", "--workers", "2"]);
    let throughput = r["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "throughput, batch 2")
        .unwrap();
    let detail = throughput["detail"].as_str().unwrap();
    assert!(detail.contains("median of 3 runs"), "{detail}");
    assert!(
        detail.ends_with("1 intra-op thread, 2 decode threads"),
        "{detail}"
    );
    let notes = r["notes"].to_string();
    assert!(!notes.contains("unlike run 1"), "{notes}");
}
