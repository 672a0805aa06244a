//! The files generated from the clap definitions, checked against them: shell completions
//! in completions/ and man pages in man/. Each test fails when its files are stale;
//! regenerate them with `ANYLABEL_UPDATE_COMPLETIONS=1 cargo test --release --bin anylabel
//! completions` and `ANYLABEL_UPDATE_MAN=1 cargo test --release --bin anylabel man_pages`.
//! (Unit tests of the binary, since the clap definitions are the binary's alone.)

use std::path::Path;

use clap::CommandFactory;
use clap_complete::{Shell, generate};

use super::args::Cli;

#[test]
fn completions_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("ANYLABEL_UPDATE_COMPLETIONS").is_some();
    let mut stale = Vec::new();
    for (shell, file) in [
        (Shell::Bash, "anylabel.bash"),
        (Shell::Zsh, "_anylabel"),
        (Shell::Fish, "anylabel.fish"),
        (Shell::PowerShell, "_anylabel.ps1"),
    ] {
        let mut buf = Vec::new();
        generate(shell, &mut Cli::command(), "anylabel", &mut buf);
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &buf).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&buf[..]) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "completions/{stale:?} do not match the CLI; run ANYLABEL_UPDATE_COMPLETIONS=1 cargo test --release --bin anylabel completions"
    );
}

#[test]
fn man_pages_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let fresh = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(Cli::command(), fresh.path()).unwrap();
    let read = |d: &Path| -> std::collections::BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(d)
            .map(|rd| {
                rd.map(|e| e.unwrap())
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read(e.path()).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (want, have) = (read(fresh.path()), read(&dir));
    for page in [
        "anylabel.1",
        "anylabel-infer.1",
        "anylabel-config.1",
        "anylabel-config-set.1",
    ] {
        assert!(want.contains_key(page), "clap_mangen did not write {page}");
    }
    if std::env::var_os("ANYLABEL_UPDATE_MAN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for old in have.keys() {
            std::fs::remove_file(dir.join(old)).unwrap();
        }
        for (name, bytes) in &want {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        return;
    }
    let stale: Vec<&String> = want
        .keys()
        .chain(have.keys())
        .filter(|k| want.get(*k) != have.get(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "man/{stale:?} do not match the CLI; run ANYLABEL_UPDATE_MAN=1 cargo test --release --bin anylabel man_pages"
    );
}
