//! The result cache, preload and resume: nothing is computed twice, nothing is lost.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{anylabel, anylabel_cached, fixtures, records, test_model, write_png};
use predicates::prelude::*;

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(result, "ok", "{}", db.display());
}

const FAST: [&str; 4] = ["--model", "nudenet-320n", "--imgsz", "320"];

/// `anylabel infer IMAGES --model yolov5_head.onnx` on the cache `db`, to add flags to.
fn infer_head(db: &Path, images: &Path) -> assert_cmd::Command {
    let mut cmd = anylabel_cached(db);
    cmd.arg("infer")
        .arg(images)
        .arg("--model")
        .arg(test_model("yolov5_head.onnx"));
    cmd
}

#[test]
fn other_conf_max_det_and_classes_come_from_the_cache_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let first = anylabel_cached(&db)
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .assert()
        .success();
    assert_eq!(common::cache_hits(&first.get_output().stderr), (0, 50));
    for flags in [
        &["--conf", "0.4", "--max-det", "2"][..],
        &["--conf", "0.01"],
        &["--conf", "0.6", "--classes", "FACE_FEMALE,FACE_MALE"],
        &["--max-det", "1"],
    ] {
        let cached = anylabel_cached(&db)
            .arg("infer")
            .arg(fixtures())
            .args(FAST)
            .args(flags)
            .assert()
            .success();
        let out = cached.get_output();
        assert_eq!(common::cache_hits(&out.stderr), (50, 50), "{flags:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("the model was not loaded"));
        let fresh = anylabel()
            .arg("infer")
            .arg(fixtures())
            .args(FAST)
            .args(flags)
            .args(["--no-cache"])
            .assert()
            .success();
        assert_eq!(
            out.stdout,
            fresh.get_output().stdout,
            "{flags:?}: the cached answer differs from a fresh run"
        );
    }
    // Below the floor the cache cannot answer: it computes, and then can.
    let low = anylabel_cached(&db)
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .args(["--conf", "0.005"])
        .assert()
        .success();
    assert_eq!(common::cache_hits(&low.get_output().stderr), (0, 50));
    let fresh = anylabel()
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .args(["--conf", "0.005"])
        .assert()
        .success();
    assert_eq!(low.get_output().stdout, fresh.get_output().stdout);
    // Another IoU is another set of results.
    let iou = anylabel_cached(&db)
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .args(["--iou", "0.6"])
        .assert()
        .success();
    assert_eq!(common::cache_hits(&iou.get_output().stderr), (0, 50));
    integrity_ok(&db);
}

#[test]
fn a_changed_file_is_recomputed_and_a_renamed_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    write_png(&images.join("a.png"), 640, 480);
    write_png(&images.join("b.png"), 320, 240);
    let run = || {
        let a = infer_head(&db, &images).assert().success();
        let out = a.get_output();
        (common::cache_hits(&out.stderr), records(&out.stdout))
    };
    assert_eq!(run().0, (0, 2));
    assert_eq!(run().0, (2, 2));
    // a.png changes (other content, other size): recomputed; b.png still cached.
    std::thread::sleep(Duration::from_millis(20));
    write_png(&images.join("a.png"), 800, 600);
    let (h, recs) = run();
    assert_eq!(h, (1, 2));
    assert_eq!(
        (recs[0]["width"].as_u64(), recs[0]["height"].as_u64()),
        (Some(800), Some(600))
    );
    // b.png renamed: same content, found by its hash, not recomputed.
    std::fs::rename(images.join("b.png"), images.join("c.png")).unwrap();
    let (h, recs) = run();
    assert_eq!(h, (2, 2));
    assert_eq!(recs[1]["path"], "c.png");
    integrity_ok(&db);
}

#[test]
fn two_processes_share_one_cache() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let reference = anylabel()
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .assert()
        .success();
    let reference = reference.get_output().stdout.clone();
    for round in 0..2 {
        let spawn = |out: &Path| {
            common::spawnable_cached(&db)
                .arg("infer")
                .arg(fixtures())
                .args(FAST)
                .arg("-o")
                .arg(out)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (o1, o2) = (dir.path().join("one.jsonl"), dir.path().join("two.jsonl"));
        let (p1, p2) = (spawn(&o1), spawn(&o2));
        for p in [p1, p2] {
            let out = p.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(std::fs::read(&o1).unwrap(), reference);
        assert_eq!(std::fs::read(&o2).unwrap(), reference);
        integrity_ok(&db);
    }
}

/// A small deterministic generator, so the kill moments are random but repeatable.
fn moments(seed: u64, n: usize, max_ms: u64) -> Vec<u64> {
    let mut rng = anylabel::rng::XorShift(seed);
    (0..n).map(|_| rng.next_u64() % max_ms).collect()
}

#[cfg(unix)]
#[test]
fn a_run_killed_at_any_moment_resumes_to_the_same_output() {
    let dir = tempfile::tempdir().unwrap();
    let clean = anylabel()
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .assert()
        .success();
    let clean = clean.get_output().stdout.clone();
    let mut resumed_with_hits = 0;
    let kills = moments(0x5EED_2026, 12, 2500);
    for (trial, ms) in kills.iter().enumerate() {
        let db = dir.path().join(format!("cache-{trial}.db"));
        let out = dir.path().join(format!("out-{trial}.jsonl"));
        let mut child = common::spawnable_cached(&db)
            .arg("infer")
            .arg(fixtures())
            .args(FAST)
            .arg("-o")
            .arg(&out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*ms));
        let _ = child.kill(); // SIGKILL (a no-op if the run already finished)
        child.wait().unwrap();
        // The output is written whole or not at all.
        if out.exists() {
            assert_eq!(
                std::fs::read(&out).unwrap(),
                clean,
                "trial {trial}: a killed run left a partial output"
            );
        }
        if db.exists() {
            integrity_ok(&db);
        }
        let again = anylabel_cached(&db)
            .arg("infer")
            .arg(fixtures())
            .args(FAST)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let (h, total) = common::cache_hits(&again.get_output().stderr);
        assert_eq!(total, 50);
        resumed_with_hits += (h > 0) as usize;
        assert_eq!(
            std::fs::read(&out).unwrap(),
            clean,
            "trial {trial} (killed at {ms} ms)"
        );
        integrity_ok(&db);
        // The killed run's temporary file is gone too.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(left.is_empty(), "trial {trial}: left behind {left:?}");
    }
    assert!(
        resumed_with_hits >= 3,
        "only {resumed_with_hits} of {} restarts found work done before the kill: {kills:?}",
        kills.len()
    );
}

/// Generated images the Ctrl-C test adds to the fixtures, each of its own content (so that
/// none is answered from the cache by another), so that its run cannot end in the moment
/// between its first records and the signal.
const EXTRA_IMAGES: u32 = 100;

/// One image a batch, one decode thread: many batch boundaries, each a place to stop.
const ONE_BY_ONE: [&str; 4] = ["--batch", "1", "--workers", "1"];

/// Whether the run writing into `dir` has written records into its output's temporary file
/// (it writes a batch's records after the cache holds them).
fn wrote_records(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let e = e.unwrap();
        e.file_name().to_string_lossy().ends_with(".partial")
            && e.metadata().is_ok_and(|m| m.len() > 0)
    })
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_at_a_batch_boundary_and_says_how_to_resume() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let out = dir.path().join("out.jsonl");
    let summary = dir.path().join("summary.json");
    let extra = dir.path().join("extra");
    std::fs::create_dir(&extra).unwrap();
    for i in 0..EXTRA_IMAGES {
        write_png(&extra.join(format!("{i:03}.png")), 64 + i, 48);
    }
    let total = 50 + EXTRA_IMAGES as u64;
    let mut child = common::spawnable_cached(&db)
        .arg("infer")
        .arg(fixtures())
        .arg(&extra)
        .args(FAST)
        .args(ONE_BY_ONE)
        .arg("-o")
        .arg(&out)
        .arg("--json")
        .arg(&summary)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C as soon as the run has written its first records: by then its Ctrl-C handler is
    // set (before it opens its output) and the cache holds work to resume from.
    while !wrote_records(dir.path()) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("the run ended ({status}) before it wrote a record:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_ne!(
        result.status.code(),
        Some(0),
        "the run labelled all {total} images before Ctrl-C arrived, so nothing was \
         interrupted: give it more work (EXTRA_IMAGES)\n{stderr}"
    );
    assert_eq!(result.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted after") && stderr.contains("run the same command again"),
        "{stderr}"
    );
    assert!(!out.exists());
    // The summary is written too, and says how the run ended.
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["exit_code"], 130);
    let done = s["images"].as_u64().unwrap();
    assert!((1..total).contains(&done), "{s}");
    eprintln!("Ctrl-C stopped the run after {done} of {total} images");
    let again = anylabel_cached(&db)
        .arg("infer")
        .arg(fixtures())
        .arg(&extra)
        .args(FAST)
        .args(ONE_BY_ONE)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let (h, n) = common::cache_hits(&again.get_output().stderr);
    assert_eq!(n as u64, total);
    assert!(h > 0, "the resumed run computed everything again");
    integrity_ok(&db);
}

#[test]
fn preload_finds_the_bad_files_and_infer_knows_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    write_png(&images.join("good.png"), 64, 48);
    std::fs::write(images.join("broken.jpg"), b"\xFF\xD8\xFF\xE0 not really").unwrap();
    std::fs::write(images.join("empty.png"), b"").unwrap();
    let pre = anylabel_cached(&db)
        .arg("preload")
        .arg(&images)
        .args(["--model", test_model("yolov5_head.onnx").to_str().unwrap()])
        .assert()
        .code(3);
    let out = pre.get_output();
    let listed = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0]
            .ends_with("broken.jpg\ttruncated JPEG: the data ends before the end-of-image marker"),
        "{listed}"
    );
    assert!(lines[1].ends_with("empty.png\tempty file (0 bytes)"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("preloaded 3 images") && stderr.contains("2 will not decode"),
        "{stderr}"
    );
    assert!(
        stderr.contains("0 of 1 decodable images already have results"),
        "{stderr}"
    );
    // infer knows the bad files from the preload: answered without reading them again.
    let run = anylabel_cached(&db)
        .arg("infer")
        .arg(&images)
        .args(["--model", test_model("yolov5_head.onnx").to_str().unwrap()])
        .assert()
        .code(3);
    assert_eq!(common::cache_hits(&run.get_output().stderr), (2, 3));
    anylabel_cached(&db)
        .arg("preload")
        .arg(&images)
        .args(["--model", test_model("yolov5_head.onnx").to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "1 of 1 decodable images already have results",
        ));
    // The cache knows good.png (64×48) and has its result, but a run's --max-pixels is
    // its own: under it, infer and preload refuse it as they would a file never seen.
    let over = "image is 64×48 (3072 pixels), over the limit";
    let run = anylabel_cached(&db)
        .arg("infer")
        .arg(images.join("good.png"))
        .args(["--model", test_model("yolov5_head.onnx").to_str().unwrap()])
        .args(["--max-pixels", "1000"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(over));
    assert_eq!(
        records(&run.get_output().stdout)[0]["error"]
            .as_str()
            .unwrap()
            .split(';')
            .next(),
        Some("image is 64×48 (3072 pixels), over the limit of 1000 pixels")
    );
    anylabel_cached(&db)
        .arg("preload")
        .arg(images.join("good.png"))
        .args(["--max-pixels", "1000"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(over));
}

#[test]
fn cache_commands_report_verify_prune_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    for i in 0..20 {
        write_png(&images.join(format!("{i:02}.png")), 64 + i, 48);
    }
    let infer = || infer_head(&db, &images);
    infer().assert().success();
    anylabel_cached(&db)
        .args(["cache", "stats"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("results:   20")
                .and(predicate::str::contains("input 640x640")),
        );
    anylabel_cached(&db)
        .args(["cache", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok:"));
    // A cache made before auto_vacuum was set in the right order keeps its free pages:
    // prune converts it, and the file shrinks.
    let auto_vacuum = || -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .unwrap()
    };
    assert_eq!(auto_vacuum(), 2);
    // 200 more results of 8 KB each (copies of one under other contents), so that there
    // is something to give back.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "PRAGMA auto_vacuum = NONE; VACUUM;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
             INSERT INTO results SELECT randomblob(16), key, floor, cap, truncated,
                 zeroblob(8192), used FROM results, n WHERE content = (SELECT min(content) FROM results);
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    assert_eq!(auto_vacuum(), 0);
    let size = || std::fs::metadata(&db).unwrap().len();
    let before = size();
    assert!(before > 1_600_000, "{before}");
    anylabel_cached(&db)
        .args(["cache", "prune", "--max-size", "1KB"])
        .assert()
        .success()
        .stdout(predicate::str::contains("evicted 220 results"));
    assert_eq!(auto_vacuum(), 2);
    assert!(size() < 200_000, "{} -> {}", before, size());
    anylabel_cached(&db)
        .args(["cache", "clear"])
        .assert()
        .success();
    anylabel_cached(&db)
        .args(["cache", "stats"])
        .assert()
        .success()
        .stdout(predicate::str::contains("results:   0"));
    anylabel_cached(&db)
        .args(["cache", "prune", "--max-size", "lots"])
        .assert()
        .code(2);
    // A size limit in the environment (or config.toml) prunes after a run.
    let run = infer()
        .env("ANYLABEL_CACHE_MAX_SIZE", "1KB")
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&run.get_output().stderr).contains("least recently used"));
    integrity_ok(&db);

    // A file that is not SQLite's is not a damaged cache: never removed.
    let precious = dir.path().join("results.jsonl");
    std::fs::write(&precious, b"{\"path\": \"a.jpg\"}\n").unwrap();
    anylabel_cached(&precious)
        .args(["cache", "clear"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not an SQLite file"));
    // And infer does not send one there: it says what the file is and what to do.
    infer_head(&precious, &images).assert().code(1).stderr(
        predicate::str::contains("it is not an SQLite file")
            .and(predicate::str::contains(
                "point ANYLABEL_CACHE at another file",
            ))
            .and(predicate::str::contains("starts it afresh").not()),
    );
    assert_eq!(
        std::fs::read(&precious).unwrap(),
        b"{\"path\": \"a.jpg\"}\n"
    );
    // A damaged cache (SQLite's, cut short): infer says how to start afresh, and
    // `cache clear` does it.
    let len = std::fs::metadata(&db).unwrap().len();
    assert!(len > 8192, "{len}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let _ = std::fs::remove_file(dir.path().join("cache.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("cache.db-shm"));
    infer().assert().code(1).stderr(predicate::str::contains(
        "`anylabel cache clear` starts it afresh",
    ));
    anylabel_cached(&db)
        .args(["cache", "clear"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "is damaged: removing it to start afresh",
        ));
    anylabel_cached(&db)
        .args(["cache", "verify"])
        .assert()
        .success();
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    write_png(&images.join("a.png"), 64, 48);
    infer_head(&db, &images)
        .arg("--no-cache")
        .assert()
        .success()
        .stderr(predicate::str::contains("cache: off"));
    assert!(!db.exists());
}

/// preload lists a bad file by its name's own bytes, as scan does, so that a name that is
/// not UTF-8 still finds its file (it printed U+FFFD in its place).
#[test]
fn preload_lists_names_that_are_not_utf8_as_they_are() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"bad\xffx.jpg");
    std::fs::write(dir.path().join(name), b"not an image").unwrap();
    let out = anylabel_cached(&dir.path().join("cache.db"))
        .arg("preload")
        .arg(dir.path())
        .assert()
        .code(3);
    let listed = &out.get_output().stdout;
    let mut want = dir.path().join(name).as_os_str().as_bytes().to_vec();
    want.extend_from_slice(b"\tnot an image");
    assert!(listed.starts_with(&want), "{listed:?}");
}

/// The index keeps a path's own bytes: two names that differ only in bytes that are not
/// UTF-8 (`caf\xe8`, `caf\xe9`), with the same size and modification time, are two files
/// (they shared one row, and one image got the other's result).
#[test]
fn names_that_are_not_utf8_are_two_files_in_the_index() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    // BMPs of 64x48 and 48x64: the same number of bytes, other content.
    let names =
        [b"caf\xe8.bmp", b"caf\xe9.bmp"].map(|n| images.join(std::ffi::OsStr::from_bytes(n)));
    for (name, (w, h)) in names.iter().zip([(64, 48), (48, 64)]) {
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]))
            .save_with_format(name, image::ImageFormat::Bmp)
            .unwrap();
    }
    let len = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert_eq!(len(&names[0]), len(&names[1]));
    let when = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for name in &names {
        std::fs::File::options()
            .write(true)
            .open(name)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
    let sizes = || {
        let out = infer_head(&db, &images).assert().success();
        records(&out.get_output().stdout)
            .iter()
            .map(|r| (r["width"].as_u64(), r["height"].as_u64()))
            .collect::<Vec<_>>()
    };
    let want = vec![(Some(64), Some(48)), (Some(48), Some(64))];
    for run in 0..3 {
        assert_eq!(sizes(), want, "run {run}");
    }
    let rows: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2);
}

/// A result served from the cache is marked used (for pruning, least recently used first)
/// when its last mark is an hour old or more, and not again within the hour, so that a
/// rerun over a large cached folder does not rewrite a row a result.
#[test]
fn a_served_result_is_marked_used_at_most_once_an_hour() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    write_png(&images.join("a.png"), 64, 48);
    write_png(&images.join("b.png"), 48, 64);
    infer_head(&db, &images).assert().success();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let set_used = |t: i64| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute("UPDATE results SET used = ?1", [t])
            .unwrap();
    };
    let used = || -> Vec<i64> {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn.prepare("SELECT used FROM results").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    // Marked 59 minutes ago: served, not marked again.
    set_used(now - 59 * 60);
    let a = infer_head(&db, &images).assert().success();
    assert_eq!(common::cache_hits(&a.get_output().stderr), (2, 2));
    assert_eq!(used(), [now - 59 * 60; 2]);
    // Marked two hours ago: marked now.
    set_used(now - 7200);
    infer_head(&db, &images).assert().success();
    assert!(used().iter().all(|&t| t >= now), "{:?}", used());
    integrity_ok(&db);
}
