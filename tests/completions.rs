//! Shell completions in completions/ are generated from the clap definitions; this test
//! fails when they are stale. Regenerate them with
//! `ANYLABEL_UPDATE_COMPLETIONS=1 cargo test --release --test completions`.

use clap::CommandFactory;
use clap_complete::{Shell, generate};

#[test]
fn completions_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("ANYLABEL_UPDATE_COMPLETIONS").is_some();
    let mut stale = Vec::new();
    for (shell, file) in [
        (Shell::Bash, "anylabel.bash"),
        (Shell::Zsh, "_anylabel"),
        (Shell::Fish, "anylabel.fish"),
        (Shell::PowerShell, "_anylabel.ps1"),
    ] {
        let mut buf = Vec::new();
        generate(
            shell,
            &mut anylabel::cli::Cli::command(),
            "anylabel",
            &mut buf,
        );
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
        "completions/{stale:?} do not match the CLI; run ANYLABEL_UPDATE_COMPLETIONS=1 cargo test --release --test completions"
    );
}
