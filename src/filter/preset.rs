//! Presets: named rule files in `~/.anylabeling/presets/NAME.json` (`ANYLABEL_HOME` moves
//! it), saved with `--save-preset NAME` and used with `--preset NAME`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::rule::Rule;
use crate::home::Home;

/// The presets folder.
pub fn dir(home: &Home) -> PathBuf {
    home.root().join("presets")
}

/// A preset's file. Names are letters, digits, `-`, `_` and `.`, so that a name is never
/// a path.
pub fn path(home: &Home, name: &str) -> Result<PathBuf> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !ok {
        bail!("'{name}' is not a preset name: use letters, digits, '-', '_' and '.' (not first)");
    }
    Ok(dir(home).join(format!("{name}.json")))
}

/// Writes `rule` as preset `name` (atomically), replacing one of that name. Returns its path.
pub fn save(home: &Home, name: &str, rule: &Rule) -> Result<PathBuf> {
    let dest = path(home, name)?;
    let dir = dir(home);
    Home::ensure_dir(&dir)?;
    let mut text = serde_json::to_string_pretty(&rule.to_json())?;
    text.push('\n');
    let temp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::fs::write(temp.path(), text)
        .with_context(|| format!("cannot write {}", temp.path().display()))?;
    temp.persist(&dest)
        .with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(dest)
}

/// The saved presets, sorted by name: (name, path).
pub fn list(home: &Home) -> Result<Vec<(String, PathBuf)>> {
    let dir = dir(home);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let name = p.file_name()?.to_str()?.strip_suffix(".json")?.to_string();
            (!name.starts_with('.')).then_some((name, p))
        })
        .collect();
    out.sort();
    Ok(out)
}
