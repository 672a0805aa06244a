//! Where anylabel keeps what it fetches and computes: `~/.anylabeling`, or `ANYLABEL_HOME`.
//!
//! The layout is fixed by the design (runtime/, models/, cache.db, trt/), shared with the
//! AnyLabeling GUI's folder so that users find everything in one place.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The environment variable that moves the home folder.
pub const HOME_ENV: &str = "ANYLABEL_HOME";

/// The anylabel home folder and the paths inside it.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `ANYLABEL_HOME` when set and not empty, else `~/.anylabeling`.
    pub fn from_env() -> Result<Home> {
        if let Some(dir) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Home::at(PathBuf::from(dir)));
        }
        let user_home = std::env::home_dir().context(
            "cannot tell the home folder (HOME is not set); set ANYLABEL_HOME to a folder anylabel may write to",
        )?;
        Ok(Home::at(user_home.join(".anylabeling")))
    }

    pub fn at(root: PathBuf) -> Home {
        Home { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `runtime/`: ONNX Runtime libraries extracted from the official wheels.
    pub fn runtime_dir(&self) -> PathBuf {
        self.root.join("runtime")
    }

    /// `trt/`: TensorRT engine and timing caches, one folder per key
    /// ([`crate::trt::cache_key`]).
    pub fn trt_dir(&self) -> PathBuf {
        self.root.join("trt")
    }

    /// `models/`: catalogue models, one folder each.
    pub fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    /// `locks/`: lock files that keep two processes from installing the same thing at once.
    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// Creates `dir` (and its parents), naming it in the error.
    pub fn ensure_dir(dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))
    }

    /// Holds an exclusive lock on `locks/<name>.lock` until the guard is dropped, so that two
    /// processes (two shards, parallel tests) never download and unpack the same thing at once.
    pub fn lock(&self, name: &str) -> Result<std::fs::File> {
        let dir = self.locks_dir();
        Home::ensure_dir(&dir)?;
        let path = dir.join(format!("{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open lock file {}", path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(file)
    }
}
