//! `anylabel config` and the config file's defaults: precedence (flag > environment > file >
//! built-in) seen through `config get`/`list` and through a real `infer` run, `set`'s
//! checks, `unset`, `path`, broken files. (The man pages in man/, generated from the clap
//! definitions, are checked by the binary's own tests: src/cli/generated.rs.)

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const ENVS: [&str; 10] = [
    "ANYLABEL_CACHE_MAX_SIZE",
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

/// `anylabel` with its home at `home` and none of the settings' variables set.
fn anylabel_at(home: &Path) -> Command {
    let mut cmd = common::anylabel();
    cmd.env("ANYLABEL_HOME", home);
    for var in ENVS {
        cmd.env_remove(var);
    }
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

/// The line of `config list` for a key.
fn list_line(home: &Path, key: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = anylabel_at(home);
    cmd.envs(env.iter().copied()).args(["config", "list"]);
    stdout(&mut cmd)
        .lines()
        .find(|l| l.starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("config list has no {key}"))
        .to_string()
}

#[test]
fn precedence_env_over_file_over_built_in() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = h.join("config.toml");
    let get = |env: &[(&str, &str)]| {
        let mut cmd = anylabel_at(h);
        cmd.envs(env.iter().copied())
            .args(["config", "get", "--show-origin", "infer.conf"]);
        stdout(&mut cmd)
    };
    // Built-in: no single value; get says so and fails.
    anylabel_at(h)
        .args(["config", "get", "infer.conf"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("0.25"));
    assert!(
        list_line(h, "infer.batch", &[]).contains("1 ")
            && list_line(h, "infer.batch", &[]).ends_with("built-in")
    );

    anylabel_at(h)
        .args(["config", "set", "infer.conf", "0.4"])
        .assert()
        .success();
    assert_eq!(get(&[]), format!("file {}:2\t0.4\n", file.display()));
    anylabel_at(h)
        .args(["config", "get", "infer.conf"])
        .assert()
        .success()
        .stdout("0.4\n")
        .stderr(predicate::str::contains(file.display().to_string()));
    assert_eq!(get(&[("ANYLABEL_CONF", "0.6")]), "env ANYLABEL_CONF\t0.6\n");
    // An empty variable is unset.
    assert_eq!(
        get(&[("ANYLABEL_CONF", "")]),
        format!("file {}:2\t0.4\n", file.display())
    );
    let line = list_line(h, "infer.conf", &[("ANYLABEL_CONF", "0.6")]);
    assert!(
        line.contains("0.6") && line.ends_with("env ANYLABEL_CONF"),
        "{line}"
    );
    let line = list_line(h, "infer.conf", &[]);
    assert!(
        line.contains("0.4") && line.ends_with(&format!("{}:2", file.display())),
        "{line}"
    );

    // A bad variable is an error naming it (for `config` too, where it is read).
    anylabel_at(h)
        .env("ANYLABEL_CONF", "2")
        .args(["config", "get", "infer.conf"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ANYLABEL_CONF=2"));
}

#[test]
fn set_checks_values_as_the_flags_do_and_refuses_unknown_keys() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = h.join("config.toml");
    let refuse = |key: &str, value: &str, why: &str| {
        anylabel_at(h)
            .args(["config", "set", key, value])
            .assert()
            .failure()
            .stderr(predicate::str::contains(why));
    };
    refuse("infer.conf", "1.5", "outside 0..1");
    refuse("infer.conf", "x", "not a number");
    refuse("infer.imgsz", "641", "multiple of 32");
    refuse("infer.batch", "0", "1..=1024");
    refuse("infer.backend", "gpu", "gpu");
    refuse("infer.device", "first", "not a GPU index");
    refuse("cache.max_size", "lots", "lots");
    refuse(
        "infer.confidence",
        "0.3",
        "infer.conf, infer.iou, infer.imgsz",
    );
    assert!(!file.exists(), "a refused value wrote the file");

    std::fs::write(&file, "# my settings\n[cache]\nmax_size = \"5GB\" # keep\n").unwrap();
    for (k, v) in [
        ("infer.imgsz", "480,640"),
        ("infer.conf", "0.3"),
        ("cache.max_size", "2GB"),
        ("infer.backend", "cpu"),
        ("infer.model", "nudenet-320n"),
    ] {
        anylabel_at(h)
            .args(["config", "set", k, v])
            .assert()
            .success();
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# my settings\n[cache]\nmax_size = \"2GB\" # keep\n"),
        "{text}"
    );
    for (k, v) in [
        ("infer.imgsz", "480,640"),
        ("infer.conf", "0.3"),
        ("cache.max_size", "2GB"),
        ("infer.backend", "cpu"),
    ] {
        anylabel_at(h)
            .args(["config", "get", k])
            .assert()
            .success()
            .stdout(format!("{v}\n"));
    }

    anylabel_at(h)
        .args(["config", "unset", "cache.max_size"])
        .assert()
        .success();
    let line = list_line(h, "cache.max_size", &[]);
    assert!(line.ends_with("built-in: no limit"), "{line}");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("# my settings\n")
    );
    // Unsetting what is not set is fine, and says so.
    anylabel_at(h)
        .args(["config", "unset", "cache.max_size"])
        .assert()
        .success()
        .stderr(predicate::str::contains("was not set"));

    anylabel_at(h)
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(format!("{}\n", file.display()));
}

#[test]
fn a_broken_file_is_an_error_naming_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = h.join("config.toml");
    std::fs::write(&file, "[infer]\nbatch = 4\nconf = 3\n").unwrap();
    let names = || {
        predicate::str::contains(format!("{}:3", file.display()))
            .and(predicate::str::contains("infer.conf"))
    };
    anylabel_at(h)
        .args(["scan", "."])
        .assert()
        .code(1)
        .stderr(names());
    anylabel_at(h)
        .args(["config", "list"])
        .assert()
        .code(1)
        .stderr(names());
    // `config` still runs, to fix it.
    anylabel_at(h).args(["config", "path"]).assert().success();
    anylabel_at(h)
        .args(["config", "set", "infer.conf", "0.3"])
        .assert()
        .success();
    anylabel_at(h).args(["config", "list"]).assert().success();

    std::fs::write(&file, "[infer]\nmodle = \"x\"\n").unwrap();
    anylabel_at(h)
        .args(["config", "list"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(format!("{}:2", file.display()))
                .and(predicate::str::contains("infer.modle"))
                .and(predicate::str::contains("infer.model")),
        );
    std::fs::write(&file, "[infer\n").unwrap();
    anylabel_at(h)
        .args(["config", "get", "infer.conf"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(file.display().to_string())
                .and(predicate::str::contains("line 1")),
        );
}

/// A bad variable or file value is the error shown, even where it leaves a flag the file
/// makes optional missing (it said "--model is required"); `config list` still lists
/// every row, the bad one marked.
#[test]
fn a_bad_value_is_named_even_when_the_model_comes_from_the_file() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(h.join("config.toml"), "[infer]\nmodel = \"nudenet-320n\"\n").unwrap();
    // `infer` with `var=value`: refused with exit code 1, saying `why`.
    let refused = |var: &str, value: &str, why: &str| {
        anylabel_at(h)
            .args(["infer", ".", "-o", "x.jsonl"])
            .env(var, value)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(why));
    };
    refused("ANYLABEL_CONF", "2", "ANYLABEL_CONF=2: 2 is outside 0..1");
    anylabel_at(h)
        .args(["infer", "--help"])
        .env("ANYLABEL_CONF", "2")
        .assert()
        .success();
    refused(
        "ANYLABEL_BACKEND",
        "gpu",
        "ANYLABEL_BACKEND=gpu: 'gpu' is not a backend; one of: auto, cpu, cuda, trt",
    );
    let out = anylabel_at(h)
        .args(["config", "list"])
        .env("ANYLABEL_CONF", "2")
        .assert()
        .code(1);
    let listed = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(listed.lines().count(), ENVS.len(), "{listed}");
    assert!(listed.contains("INVALID: ANYLABEL_CONF=2"), "{listed}");
}

/// The records of one `infer` run in `home` on one fixture image.
fn infer_records(home: &Path, env: &[(&str, &str)], flags: &[&str]) -> Vec<serde_json::Value> {
    let img = common::fixtures()
        .join("people")
        .join("astronaut_eileen_collins.jpg");
    let mut cmd = anylabel_at(home);
    cmd.envs(env.iter().copied())
        .arg("infer")
        .arg(img)
        .args(["--imgsz", "320"])
        .args(flags);
    common::records(stdout(&mut cmd).as_bytes())
}

/// A home of its own whose ONNX Runtime and models are the shared test home's (linked),
/// nudenet-320n among them.
fn home_with_nudenet() -> tempfile::TempDir {
    common::anylabel()
        .args(["models", "fetch", "nudenet-320n"])
        .assert()
        .success();
    let home = tempfile::tempdir().unwrap();
    for dir in ["runtime", "models"] {
        std::fs::create_dir_all(common::home().join(dir)).unwrap();
        std::os::unix::fs::symlink(common::home().join(dir), home.path().join(dir)).unwrap();
    }
    home
}

#[test]
fn infer_takes_its_defaults_from_the_file_and_the_environment_and_flags_win() {
    let home = home_with_nudenet();
    let h = home.path();
    let model = ["--model", "nudenet-320n"];
    let at = |conf: &str| infer_records(h, &[], &[&model[..], &["--conf", conf]].concat());
    let (low, default) = (at("0.05"), at("0.25"));
    assert_eq!(infer_records(h, &[], &model), default);
    let n = |r: &[serde_json::Value]| r[0]["detections"].as_array().unwrap().len();
    assert!(n(&low) > n(&default), "the image must tell 0.05 from 0.25");

    // The model and the threshold from the file: --model is no longer required.
    std::fs::write(
        h.join("config.toml"),
        "[infer]\nmodel = \"nudenet-320n\"\nconf = 0.05\n",
    )
    .unwrap();
    assert_eq!(infer_records(h, &[], &[]), low);
    // The environment beats the file, the flag beats both.
    assert_eq!(infer_records(h, &[("ANYLABEL_CONF", "0.25")], &[]), default);
    assert_eq!(infer_records(h, &[], &["--conf", "0.25"]), default);
    assert_eq!(
        infer_records(h, &[("ANYLABEL_CONF", "0.05")], &["--conf", "0.25"]),
        default
    );
    // ANYLABEL_MODEL names a model too; a bad one fails the run.
    std::fs::remove_file(h.join("config.toml")).unwrap();
    assert_eq!(
        infer_records(
            h,
            &[("ANYLABEL_MODEL", "nudenet-320n")],
            &["--conf", "0.05"]
        ),
        low
    );
    anylabel_at(h)
        .args(["infer", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--model"));
}

/// `config` and `infer` agree on a value with surrounding whitespace: both ignore it (infer
/// used to refuse ` 2` with an error about a --batch flag that was never given).
#[test]
fn surrounding_whitespace_in_a_value_is_ignored_by_config_and_infer_alike() {
    let home = home_with_nudenet();
    let h = home.path();
    let model = ["--model", "nudenet-320n"];
    let plain = infer_records(h, &[], &model);
    let padded = [
        ("ANYLABEL_BATCH", " 2"),
        ("ANYLABEL_WORKERS", "2 "),
        ("ANYLABEL_DEVICE", " 0"),
        ("ANYLABEL_CONF", " 0.25 "),
    ];
    assert_eq!(infer_records(h, &padded, &model), plain);
    let mut get = anylabel_at(h);
    get.envs(padded).args(["config", "get", "infer.batch"]);
    assert_eq!(stdout(&mut get), "2\n");

    std::fs::write(
        h.join("config.toml"),
        "[infer]\nmodel = \" nudenet-320n\"\nworkers = \"2 \"\nbatch = \" 2\"\n",
    )
    .unwrap();
    let line = list_line(h, "infer.workers", &[]);
    assert_eq!(line.split_whitespace().nth(1), Some("2"), "{line}");
    assert_eq!(infer_records(h, &[], &[]), plain);
}

#[test]
fn filter_and_preload_take_the_defaults_without_needing_model() {
    // filter's --conf requires --model; a default from the file must not trip that.
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(
        h.join("config.toml"),
        "[infer]\nconf = 0.3\niou = 0.5\nimgsz = 320\nworkers = 2\n",
    )
    .unwrap();
    let results = h.join("r.jsonl");
    std::fs::write(
        &results,
        "{\"path\":\"a.png\",\"width\":10,\"height\":10,\"model\":\"m\",\"detections\":[{\"class_id\":0,\"label\":\"x\",\"score\":0.9,\"bbox\":[0,0,5,5]}]}\n",
    )
    .unwrap();
    anylabel_at(h)
        .arg("filter")
        .arg(&results)
        .arg("--paths")
        .assert()
        .success()
        .stdout("a.png\n");
    let imgs = h.join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    common::write_png(&imgs.join("a.png"), 64, 48);
    anylabel_at(h)
        .env("ANYLABEL_CACHE", h.join("cache.db"))
        .arg("preload")
        .arg(&imgs)
        .assert()
        .success();
}

#[test]
fn config_help_documents_every_key_with_its_variable_and_default() {
    let home = tempfile::tempdir().unwrap();
    let help = stdout(anylabel_at(home.path()).args(["config", "--help"]));
    for st in anylabel::config::SETTINGS {
        assert!(
            help.contains(st.key) && help.contains(st.env) && help.contains(st.builtin_help),
            "config --help lacks {}:\n{help}",
            st.key
        );
    }
    let doc = std::fs::read_to_string(common::root().join("docs/config.md")).unwrap();
    for st in anylabel::config::SETTINGS {
        assert!(
            doc.contains(&format!("`{}`", st.key)) && doc.contains(&format!("`{}`", st.env)),
            "docs/config.md lacks {}",
            st.key
        );
    }
}
