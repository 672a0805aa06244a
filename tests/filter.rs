//! `anylabel filter`: each rule type from flags and from rule files, nested presets,
//! --keep matching, --paths, --stats, errors at `file:line:column`, bad input lines, and
//! `filter <DIR> --model` against `infer | filter`.

mod common;

use std::path::Path;

use common::{anylabel, fixtures};
use predicates::prelude::*;
use serde_json::json;

/// Six images on a 100×100 canvas (so a 10×10 box is 1% of the image).
fn sample() -> String {
    let det = |id: u32, label: &str, score: f64, side: f64| json!({"class_id": id, "label": label, "score": score, "bbox": [0.0, 0.0, side, side]});
    let rec = |path: &str, dets: Vec<serde_json::Value>| {
        json!({"path": path, "width": 100, "height": 100, "model": "m@sha256:00",
               "detections": dets, "error": null})
        .to_string()
    };
    [
        rec("empty.jpg", vec![]),
        rec("one_person.jpg", vec![det(0, "person", 0.9, 10.0)]),
        rec(
            "two_people.jpg",
            vec![det(0, "person", 0.8, 20.0), det(0, "person", 0.3, 10.0)],
        ),
        rec(
            "crowd.jpg",
            vec![
                det(0, "person", 0.95, 50.0),
                det(0, "person", 0.7, 10.0),
                det(0, "person", 0.6, 10.0),
                det(2, "car", 0.5, 40.0),
            ],
        ),
        rec("car.jpg", vec![det(2, "car", 0.85, 80.0)]),
        rec(
            "dog_and_car.jpg",
            vec![det(16, "dog", 0.4, 5.0), det(2, "car", 0.45, 30.0)],
        ),
    ]
    .join("\n")
        + "\n"
}

/// The paths `filter` prints for these flags on the sample.
fn paths(args: &[&str]) -> Vec<String> {
    let out = anylabel()
        .args(["filter", "-", "--paths"])
        .args(args)
        .write_stdin(sample())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "filter {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_end_matches(".jpg").to_string())
        .collect()
}

/// The paths a rule file selects.
fn paths_by_rule(rule: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rule.json");
    std::fs::write(&file, rule).unwrap();
    paths(&["--rules", file.to_str().unwrap()])
}

#[test]
fn class_rules_any_all_none_by_name_or_id() {
    assert_eq!(paths(&["--class", "car"]), ["crowd", "car", "dog_and_car"]);
    assert_eq!(
        paths(&["--class", "dog,person"]),
        ["one_person", "two_people", "crowd", "dog_and_car"]
    );
    assert_eq!(paths(&["--class", "16"]), ["dog_and_car"]);
    assert_eq!(paths(&["--all-classes", "person,car"]), ["crowd"]);
    assert_eq!(
        paths(&["--no-class", "person"]),
        ["empty", "car", "dog_and_car"]
    );
    assert_eq!(
        paths_by_rule(r#"{"class": {"all": ["car", 16]}}"#),
        ["dog_and_car"]
    );
    assert_eq!(
        paths_by_rule(r#"{"class": {"none": ["car", "person"]}}"#),
        ["empty"]
    );
}

#[test]
fn confidence_rules_select_detections() {
    // Some detection scores 0.9 or more.
    assert_eq!(paths(&["--min-conf", "0.9"]), ["one_person", "crowd"]);
    // Some detection scores at most 0.4 (bounds are inclusive).
    assert_eq!(paths(&["--max-conf", "0.4"]), ["two_people", "dog_and_car"]);
    assert_eq!(
        paths(&["--min-conf", "0.45", "--max-conf", "0.5"]),
        ["crowd", "dog_and_car"]
    );
    // Every detection below 0.5: NOT (some detection at 0.5 or more).
    assert_eq!(
        paths_by_rule(r#"{"not": {"conf": {"min": 0.5}}}"#),
        ["empty", "dog_and_car"]
    );
}

#[test]
fn count_rules_in_total_and_per_class() {
    assert_eq!(
        paths(&["--class", "person", "--min-count", "2"]),
        ["two_people", "crowd"]
    );
    // The example from the help: the count applies to the detections the conditions select.
    assert_eq!(
        paths(&["--class", "person", "--min-count", "2", "--min-conf", "0.5"]),
        ["crowd"]
    );
    assert_eq!(paths(&["--count", "1"]), ["one_person", "car"]);
    assert_eq!(paths(&["--max-count", "0"]), ["empty"]);
    assert_eq!(
        paths(&["--class", "person", "--max-count", "1"]),
        ["empty", "one_person", "car", "dog_and_car"]
    );
    assert_eq!(
        paths(&["--all-classes", "person,car", "--max-count", "1"]),
        ["empty", "one_person", "car", "dog_and_car"]
    );
    assert_eq!(
        paths_by_rule(r#"{"count": {"class": ["person", "car"], "exactly": 2}}"#),
        ["two_people"]
    );
    assert_eq!(
        paths_by_rule(
            r#"{"count": {"class": ["person", "car"], "per_class": true, "at_least": 1, "at_most": 3}}"#
        ),
        ["crowd"]
    );
}

#[test]
fn area_rules_as_fractions_percentages_and_pixels() {
    // Boxes of at most 1% of the image: the 10×10 ones and the dog's 5×5.
    assert_eq!(
        paths(&["--max-area", "0.01"]),
        ["one_person", "two_people", "crowd", "dog_and_car"]
    );
    assert_eq!(paths(&["--min-area", "50%"]), ["car"]);
    assert_eq!(
        paths(&["--min-area", "1600px", "--class", "car"]),
        ["crowd", "car"]
    );
    assert_eq!(
        paths(&[
            "--class",
            "person",
            "--max-area",
            "100px",
            "--min-count",
            "2"
        ]),
        ["crowd"]
    );
    assert_eq!(
        paths_by_rule(r#"{"area": {"min": "2000px", "max": 0.5}}"#),
        ["crowd"]
    );
}

#[test]
fn nested_rules_saved_as_presets_and_used_by_name() {
    let home = tempfile::tempdir().unwrap();
    let rule = tempfile::NamedTempFile::new().unwrap();
    // Two or more people and no car, or a car and a dog.
    std::fs::write(
        rule.path(),
        r#"{"or": [
             {"and": [{"count": {"class": "person", "at_least": 2}},
                      {"not": {"class": {"any": ["car"]}}}]},
             {"class": {"all": ["car", "dog"]}}
           ]}"#,
    )
    .unwrap();
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .args(["filter", "--rules"])
        .arg(rule.path())
        .args(["--save-preset", "mixed"])
        .assert()
        .success();
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .args([
            "filter",
            "--class",
            "person",
            "--min-conf",
            "0.9",
            "--save-preset",
            "sure-person",
        ])
        .assert()
        .success();
    let saved = home.path().join("presets/mixed.json");
    assert!(saved.exists());
    let run = |preset: &str| -> Vec<String> {
        let out = anylabel()
            .env("ANYLABEL_HOME", home.path())
            .args(["filter", "-", "--paths", "--preset", preset])
            .write_stdin(sample())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    };
    assert_eq!(run("mixed"), ["two_people.jpg", "dog_and_car.jpg"]);
    assert_eq!(run("sure-person"), ["one_person.jpg", "crowd.jpg"]);
    // Flags and a preset must both match.
    let out = anylabel()
        .env("ANYLABEL_HOME", home.path())
        .args([
            "filter", "-", "--paths", "--preset", "mixed", "--class", "dog",
        ])
        .write_stdin(sample())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "dog_and_car.jpg\n");
    // Also with ANYLABEL_OFFLINE set, which clap counts as the global --offline given.
    for offline in ["0", "1"] {
        anylabel()
            .env("ANYLABEL_HOME", home.path())
            .env("ANYLABEL_OFFLINE", offline)
            .args(["filter", "--list-presets"])
            .assert()
            .success()
            .stdout(
                predicate::str::starts_with("mixed\t{\"or\":")
                    .and(predicate::str::contains("sure-person\t")),
            );
    }
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .args(["filter", "--list-presets", "--class", "dog"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    anylabel()
        .env("ANYLABEL_HOME", home.path())
        .args(["filter", "-", "--preset", "nope"])
        .write_stdin(sample())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no preset is called nope")
                .and(predicate::str::contains("mixed, sure-person")),
        );
}

#[test]
fn keep_matching_keeps_the_detections_that_matched() {
    let out = anylabel()
        .args([
            "filter",
            "-",
            "--class",
            "person",
            "--min-conf",
            "0.65",
            "--keep",
            "matching",
        ])
        .write_stdin(sample())
        .output()
        .unwrap();
    assert!(out.status.success());
    let recs = common::records(&out.stdout);
    let scores: Vec<(String, Vec<f64>)> = recs
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["detections"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["score"].as_f64().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        scores,
        [
            ("one_person.jpg".to_string(), vec![0.9]),
            ("two_people.jpg".to_string(), vec![0.8]),
            ("crowd.jpg".to_string(), vec![0.95, 0.7]),
        ]
    );
    // --keep all writes the matching lines exactly as they were read.
    let out = anylabel()
        .args(["filter", "-", "--class", "dog"])
        .write_stdin(sample())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", sample().lines().last().unwrap())
    );
}

#[test]
fn stats_alone_or_beside_an_output_file() {
    let out = anylabel()
        .args(["filter", "-", "--class", "person", "--stats"])
        .write_stdin(sample())
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("images read:     6"), "{text}");
    assert!(text.contains("images matched:  3 (50.0%)"), "{text}");
    assert!(
        text.contains("detections in the matched images: 7"),
        "{text}"
    );
    assert!(text.contains("  person  6\n  car     1\n"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("people.jsonl");
    let out = anylabel()
        .args([
            "filter", "-", "--class", "person", "--stats", "--keep", "matching", "-o",
        ])
        .arg(&dest)
        .write_stdin(sample())
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("detections in the matched images: 6"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap().lines().count(), 3);
    // No leftover temporary file beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

fn rule_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preset.json");
    std::fs::write(&file, text).unwrap();
    let out = anylabel()
        .args(["filter", "-", "--rules"])
        .arg(&file)
        .write_stdin(sample())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing is written for a bad rule");
    let err = String::from_utf8(out.stderr).unwrap();
    let (_, after) = err
        .split_once("preset.json:")
        .unwrap_or_else(|| panic!("no file name in: {err}"));
    after.trim().to_string()
}

#[test]
fn bad_rule_files_are_errors_at_their_line_and_column() {
    let syntax =
        rule_error("{\"and\": [\n  {\"class\": {\"any\": [\"person\"]}},\n  {\"count\": }\n]}\n");
    assert!(
        syntax.starts_with("3:13: not valid JSON: expected value"),
        "{syntax}"
    );
    // A file that ends too soon, after a newline: column 1 of the line after, not 0.
    let early = rule_error("{\"and\": [\n\n   ]\n");
    assert!(
        early.starts_with("4:1: not valid JSON: EOF while parsing"),
        "{early}"
    );
    let unknown_class = rule_error(
        "{\"and\": [\n  {\"class\": {\"any\": [\"person\"]}},\n  {\"class\": {\"none\": [\"persn\"]}}\n]}\n",
    );
    assert!(
        unknown_class.starts_with("3:23: unknown class 'persn'")
            && unknown_class.contains("car, dog, person"),
        "{unknown_class}"
    );
    let range = rule_error("{\"count\": {\n    \"at_least\": 4,\n    \"at_most\": 2}}");
    assert!(range.starts_with("2:5: impossible range"), "{range}");
    let negative = rule_error("{\"count\": {\"class\": \"car\",\n  \"at_least\": -2}}");
    assert!(
        negative.starts_with("2:15:") && negative.contains("negative"),
        "{negative}"
    );
    let fraction = rule_error("{\"area\": {\"max\": 1.5}}");
    assert!(
        fraction.starts_with("1:18:") && fraction.contains("above 1"),
        "{fraction}"
    );
    let key = rule_error("{\"or\": [\n  {\"count\": {\"class\": \"car\", \"atleast\": 2}}]}");
    assert!(key.starts_with("2:30: unknown key \"atleast\""), "{key}");
}

#[test]
fn bad_flags_are_usage_errors() {
    anylabel()
        .args(["filter", "-", "--min-count", "3", "--max-count", "1"])
        .write_stdin(sample())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--min-count 3 is above --max-count 1",
        ));
    anylabel()
        .args(["filter", "-", "--max-area", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("above 1"));
    anylabel()
        .args(["filter", "-", "--class", "persn"])
        .write_stdin(sample())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--class: unknown class 'persn'"));
}

#[test]
fn bad_input_lines_are_reported_by_line_and_the_rest_is_filtered() {
    let mut lines: Vec<String> = sample().lines().map(String::from).collect();
    lines.insert(4, "{\"path\": 3}".into());
    let input = lines.join("\n") + "\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.jsonl");
    std::fs::write(&file, input).unwrap();
    let missing = dir.path().join("missing.jsonl");
    anylabel()
        .args(["filter", "--class", "car", "--paths"])
        .arg(&file)
        .arg(&missing)
        .assert()
        .code(3)
        .stdout("crowd.jpg\ncar.jpg\ndog_and_car.jpg\n")
        .stderr(
            predicate::str::contains("r.jsonl, line 5: not a result record")
                .and(predicate::str::contains("missing.jsonl")),
        );
}

/// Copies a few fixture images into a folder.
fn some_images(dir: &Path) {
    for f in [
        "grace_hopper.jpg",
        "kpa_bar55_couple.jpg",
        "kpa_pool_players.jpg",
        "astronaut_eileen_collins.jpg",
    ] {
        std::fs::copy(fixtures().join("people").join(f), dir.join(f)).unwrap();
    }
}

#[test]
fn filter_of_a_folder_with_a_model_equals_infer_then_filter() {
    let dir = tempfile::tempdir().unwrap();
    some_images(dir.path());
    let model = ["--model", "nudenet-320n", "--imgsz", "320"];
    let infer = anylabel()
        .arg("infer")
        .arg(dir.path())
        .args(model)
        .output()
        .unwrap();
    assert!(
        infer.status.success(),
        "{}",
        String::from_utf8_lossy(&infer.stderr)
    );
    for rule in [
        &["--class", "FACE_FEMALE"][..],
        &[
            "--class",
            "FACE_FEMALE,FACE_MALE",
            "--min-count",
            "2",
            "--keep",
            "matching",
        ],
        &["--no-class", "FACE_MALE", "--min-conf", "0.5"],
    ] {
        let piped = anylabel()
            .args(["filter", "-"])
            .args(rule)
            .write_stdin(infer.stdout.clone())
            .output()
            .unwrap();
        let direct = anylabel()
            .arg("filter")
            .arg(dir.path())
            .args(model)
            .args(rule)
            .output()
            .unwrap();
        assert!(
            direct.status.success(),
            "{}",
            String::from_utf8_lossy(&direct.stderr)
        );
        assert_eq!(
            String::from_utf8(direct.stdout).unwrap(),
            String::from_utf8(piped.stdout).unwrap(),
            "{rule:?}"
        );
    }
    // With a model, classes are checked against the model's names.
    anylabel()
        .arg("filter")
        .arg(dir.path())
        .args(model)
        .args(["--class", "FACE_FEMAL"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown class 'FACE_FEMAL'; the model's classes are:",
        ));
}
