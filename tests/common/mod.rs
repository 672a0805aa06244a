//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    root().join("fixtures").join("images")
}

pub fn test_model(name: &str) -> PathBuf {
    root().join("tests").join("models").join(name)
}

/// The anylabel home the tests share: ONNX Runtime and the catalogue models are fetched
/// into it once (the first test that needs them does it; a lock keeps the others waiting).
/// `ANYLABEL_TEST_HOME` moves it.
pub fn home() -> PathBuf {
    match std::env::var_os("ANYLABEL_TEST_HOME") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("anylabel-home"),
    }
}

/// The variables of `anylabel config`'s settings (besides ANYLABEL_CACHE_MAX_SIZE), which
/// would change what the tests run.
pub const SETTING_VARS: [&str; 9] = [
    "ANYLABEL_MODEL",
    "ANYLABEL_CONF",
    "ANYLABEL_IOU",
    "ANYLABEL_IMGSZ",
    "ANYLABEL_BATCH",
    "ANYLABEL_WORKERS",
    "ANYLABEL_THREADS",
    "ANYLABEL_BACKEND",
    "ANYLABEL_DEVICE",
];

/// `anylabel` with the shared test home, no inherited ONNX Runtime path, and the result
/// cache off, so that every test computes what it checks (the cache tests use
/// [`anylabel_cached`]).
pub fn anylabel() -> Command {
    let mut cmd = Command::cargo_bin("anylabel").expect("the binary is built");
    cmd.env("ANYLABEL_HOME", home())
        .env("ANYLABEL_CACHE", "off")
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("RUST_LOG")
        .env_remove("ANYLABEL_OFFLINE")
        .env_remove("ANYLABEL_CACHE_MAX_SIZE")
        .env_remove("ANYLABEL_GPU_UPLOAD");
    for var in SETTING_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// `anylabel` with the result cache at `cache`.
pub fn anylabel_cached(cache: &Path) -> Command {
    let mut cmd = anylabel();
    cmd.env("ANYLABEL_CACHE", cache);
    cmd
}

/// Writes an RGB PNG with a gradient, so it is a real image of the given size.
pub fn write_png(path: &Path, w: u32, h: u32) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    img.save(path).expect("write png");
}

/// The records of a JSONL text.
pub fn records(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON record: {l}: {e}")))
        .collect()
}

/// `[class_id, score, x1, y1, x2, y2]` of a record's detections, rounded for comparison.
pub fn boxes(record: &serde_json::Value) -> Vec<(u64, f64, [f64; 4])> {
    record["detections"]
        .as_array()
        .expect("detections")
        .iter()
        .map(|d| {
            let b: Vec<f64> = d["bbox"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            (
                d["class_id"].as_u64().unwrap(),
                (d["score"].as_f64().unwrap() * 1e4).round() / 1e4,
                [b[0], b[1], b[2], b[3]],
            )
        })
        .collect()
}

/// [`anylabel_cached`] as a plain `std::process::Command`, for tests that spawn and kill it.
pub fn spawnable_cached(cache: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("anylabel"));
    cmd.env("ANYLABEL_HOME", home())
        .env("ANYLABEL_CACHE", cache)
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("RUST_LOG")
        .env_remove("ANYLABEL_OFFLINE")
        .env_remove("ANYLABEL_CACHE_MAX_SIZE")
        .env_remove("ANYLABEL_GPU_UPLOAD");
    for var in SETTING_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// The Chromium the HTML tests open pages in: `ANYLABEL_TEST_CHROMIUM`, else `chromium` on
/// PATH; without one the test fails and says how to install it.
pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("ANYLABEL_TEST_CHROMIUM").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "this test needs Chromium to open an HTML page: `chromium` is not on PATH. \
             Install it (Debian/Ubuntu: `apt-get install chromium`; scripts/test.sh does it \
             when it can), or set ANYLABEL_TEST_CHROMIUM to a Chromium or Chrome binary."
        )
    })
}

/// A `file://` URL for a local file, percent-encoding what is not plain ASCII.
pub fn file_url(path: &Path) -> String {
    let path = path.canonicalize().unwrap();
    let mut url = String::from("file://");
    for b in path.to_str().unwrap().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Runs headless Chromium on `url` in a `window` (width, height) with `args`; its stdout.
pub fn run_chromium(url: &str, window: (u32, u32), args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--no-first-run",
            "--disable-extensions",
            "--virtual-time-budget=5000",
            &format!("--window-size={},{}", window.0, window.1),
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium().display()));
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// "cache: N of M images answered from the cache" from a run's stderr.
pub fn cache_hits(stderr: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find(|l| l.starts_with("cache: ") && l.contains("answered from the cache"))
        .unwrap_or_else(|| panic!("no cache line in:\n{text}"));
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(2)
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1])
}

/// The test Python (`ANYLABEL_TEST_PYTHON`, which `scripts/test.sh` makes from
/// tests/python/requirements*.txt); `needs` says what the calling check needs of it.
pub fn python(needs: &str) -> PathBuf {
    match std::env::var_os("ANYLABEL_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "{needs} (tests/python/requirements*.txt): set ANYLABEL_TEST_PYTHON to it, or run \
             scripts/test.sh, which makes one"
        ),
    }
}
