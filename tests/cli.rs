//! The command line itself: help, usage errors, scan, runtime paths.

mod common;

use common::anylabel;
use predicates::prelude::*;

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let out = anylabel().arg("--help").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for cmd in [
        "scan", "preload", "infer", "nms", "filter", "export", "import", "bench", "runtime",
        "models", "config", "doctor",
    ] {
        assert!(
            text.contains(&format!("  {cmd}")),
            "--help does not list {cmd}:\n{text}"
        );
    }
    assert!(text.contains("Exit codes:") && text.contains("3  finished, but some inputs failed"));
    anylabel()
        .args(["infer", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--conf").and(predicate::str::contains("catalogue")));
}

#[test]
fn bench_without_a_suite_is_a_usage_error() {
    anylabel()
        .args(["bench", "whatever"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'whatever'"));
}

#[test]
fn usage_errors_exit_with_2() {
    anylabel().args(["infer", "x"]).assert().code(2); // no --model
    anylabel()
        .args(["infer", "x", "--model", "m", "--conf", "1.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("outside 0..1"));
}

#[test]
fn scan_lists_images_sorted_case_insensitively_and_recursively() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "b.JPG",
        "a.png",
        "sub/c.WebP",
        "sub/deeper/d.tiff",
        "notes.txt",
        "sub/e.jpeg.bak",
    ] {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }
    let out = anylabel().arg("scan").arg(dir.path()).assert().success();
    let lines: Vec<String> = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| {
            l.strip_prefix(&format!("{}/", dir.path().display()))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(lines, ["a.png", "b.JPG", "sub/c.WebP", "sub/deeper/d.tiff"]);
}

#[test]
fn scan_of_a_missing_folder_is_an_error_naming_it() {
    anylabel()
        .args(["scan", "/no/such/folder"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/no/such/folder"));
}

#[test]
fn offline_without_a_runtime_says_what_to_do() {
    let empty_home = tempfile::tempdir().unwrap();
    anylabel()
        .env("ANYLABEL_HOME", empty_home.path())
        .env("PATH", "/nonexistent") // no python3 with an onnxruntime package either
        .env("LD_LIBRARY_PATH", "")
        .args(["--offline", "runtime", "path"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("--offline")
                .and(predicate::str::contains("anylabel runtime install")),
        );
}

#[test]
fn models_list_names_the_catalogue_with_licences() {
    anylabel()
        .args(["models", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("yolov8n-doclaynet").and(predicate::str::contains("AGPL-3.0")),
        );
    anylabel()
        .args(["--offline", "models", "path", "yolo-nonexistent"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nudenet-320n"));
}

/// Every command that prints to stdout ends quietly, with exit code 0, when stdout is a
/// pipe nobody reads (`anylabel cache stats | head -1`); they panicked with exit code 101.
#[test]
fn a_closed_pipe_ends_every_listing_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["cache", "stats"][..],
        &["cache", "path"],
        &["cache", "verify"],
        &["config", "list"],
        &["config", "path"],
        &["models", "list"],
        &["doctor"],
        &["doctor", "--json"],
        &["bench", "filter", "--quick"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("anylabel"));
        for var in common::SETTING_VARS {
            cmd.env_remove(var);
        }
        let out = cmd
            .args(args)
            .env("ANYLABEL_HOME", dir.path())
            .env("ANYLABEL_CACHE", dir.path().join("cache.db"))
            .env_remove("ANYLABEL_CACHE_MAX_SIZE")
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
