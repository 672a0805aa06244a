//! The parts of the Python Package Index that anylabel uses: the JSON simple API
//! (PEP 691) to list a project's files with their sha256, and wheels (zip files) to take
//! a few named files out of.
//!
//! ONNX Runtime's official builds and the catalogue models are published as wheels, so
//! this is how anylabel installs them on a machine without Python. `ANYLABEL_PYPI_INDEX`
//! points it at a mirror (`https://pypi.org/simple` by default).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::fetch;

/// The environment variable that replaces the index URL.
pub const INDEX_ENV: &str = "ANYLABEL_PYPI_INDEX";
pub const DEFAULT_INDEX: &str = "https://pypi.org/simple";

/// One file a project publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexFile {
    pub filename: String,
    pub url: String,
    pub sha256: String,
    pub yanked: bool,
}

#[derive(Deserialize)]
struct ProjectPage {
    files: Vec<RawFile>,
}

#[derive(Deserialize)]
struct RawFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::HashMap<String, String>,
    #[serde(default)]
    yanked: serde_json::Value,
}

/// The index in use.
pub fn index_url() -> String {
    std::env::var(INDEX_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_INDEX.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// Lists a project's files with the sha256 the index publishes for each.
pub fn project_files(agent: &ureq::Agent, project: &str) -> Result<Vec<IndexFile>> {
    let page_url = format!("{}/{}/", index_url(), project);
    let text = fetch::get_text(agent, &page_url, "application/vnd.pypi.simple.v1+json")?;
    parse_project_page(&text, &page_url)
}

/// Parses a PEP 691 JSON project page; relative file URLs are resolved against `page_url`.
pub fn parse_project_page(text: &str, page_url: &str) -> Result<Vec<IndexFile>> {
    let page: ProjectPage = serde_json::from_str(text)
        .map_err(|e| anyhow!("{page_url} did not answer with a PEP 691 JSON project page: {e}"))?;
    Ok(page
        .files
        .into_iter()
        .filter_map(|f| {
            let sha256 = f.hashes.get("sha256")?.to_lowercase();
            let yanked = !matches!(
                f.yanked,
                serde_json::Value::Null | serde_json::Value::Bool(false)
            );
            Some(IndexFile {
                url: resolve_url(page_url, &f.url),
                filename: f.filename,
                sha256,
                yanked,
            })
        })
        .collect())
}

fn resolve_url(base: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.to_string();
    }
    if let Some(rest) = url.strip_prefix('/') {
        // Scheme and host of the base.
        let host_end = base
            .find("://")
            .map(|i| i + 3)
            .and_then(|s| base[s..].find('/').map(|j| s + j));
        return match host_end {
            Some(end) => format!("{}/{}", &base[..end], rest),
            None => format!("{}/{}", base.trim_end_matches('/'), rest),
        };
    }
    let dir_end = base.rfind('/').map_or(base.len(), |i| i + 1);
    format!("{}{}", &base[..dir_end], url)
}

/// The parts of a wheel's file name: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
#[derive(Debug, Clone, PartialEq)]
pub struct WheelName {
    pub name: String,
    pub version: String,
    pub python: String,
    pub abi: String,
    pub platform: String,
}

impl WheelName {
    pub fn parse(filename: &str) -> Option<WheelName> {
        let stem = filename.strip_suffix(".whl")?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, python, abi, platform) = match parts.as_slice() {
            [n, v, py, abi, plat] | [n, v, _, py, abi, plat] => (*n, *v, *py, *abi, *plat),
            _ => return None,
        };
        Some(WheelName {
            name: name.to_string(),
            version: version.to_string(),
            python: python.to_string(),
            abi: abi.to_string(),
            platform: platform.to_string(),
        })
    }

    /// The numeric parts of the version (`1.31.1` -> `[1, 31, 1]`); pre-releases give `None`.
    pub fn release(&self) -> Option<Vec<u64>> {
        self.version.split('.').map(|p| p.parse().ok()).collect()
    }
}

/// Copies the members of `wheel` that `select` names into `dest_dir`: `select(member)`
/// returns the file name to write it as. Returns the files written.
pub fn extract(
    wheel: &Path,
    dest_dir: &Path,
    select: impl Fn(&str) -> Option<String>,
) -> Result<Vec<PathBuf>> {
    let file =
        std::fs::File::open(wheel).with_context(|| format!("cannot open {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| anyhow!("{} is not a valid wheel: {e}", wheel.display()))?;
    let mut written = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| anyhow!("{} is damaged: {e}", wheel.display()))?;
        let member = entry
            .name()
            .map_err(|e| anyhow!("{} has a member with a bad name: {e}", wheel.display()))?
            .into_owned();
        let Some(out_name) = select(&member) else {
            continue;
        };
        if out_name.contains('/') || out_name.contains('\\') || out_name.starts_with('.') {
            bail!("refusing to extract {member} to {out_name}");
        }
        let out_path = dest_dir.join(&out_name);
        let mut out = std::fs::File::create(&out_path)
            .with_context(|| format!("cannot create {}", out_path.display()))?;
        let mut buf = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| anyhow!("cannot unpack {member} from {}: {e}", wheel.display()))?;
        std::io::Write::write_all(&mut out, &buf)
            .with_context(|| format!("cannot write {}", out_path.display()))?;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let _ =
                std::fs::set_permissions(&out_path, std::fs::Permissions::from_mode(mode & 0o755));
        }
        written.push(out_path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_json_project_page() {
        let page = r#"{"meta": {"api-version": "1.1"}, "name": "onnxruntime", "files": [
            {"filename": "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
             "url": "https://files.example/ort.whl", "hashes": {"sha256": "ABCD"}, "yanked": false},
            {"filename": "old.whl", "url": "../../files/old.whl", "hashes": {"sha256": "ef"}, "yanked": "bad build"},
            {"filename": "nohash.whl", "url": "/x.whl", "hashes": {}}
        ]}"#;
        let files = parse_project_page(page, "https://mirror.example/simple/onnxruntime/").unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].sha256, "abcd");
        assert!(!files[0].yanked && files[1].yanked);
        assert_eq!(
            files[1].url,
            "https://mirror.example/simple/onnxruntime/../../files/old.whl"
        );
        assert_eq!(
            resolve_url("https://m.example/simple/p/", "/f/x.whl"),
            "https://m.example/f/x.whl"
        );
        assert!(parse_project_page("<html>", "u").is_err());
    }

    #[test]
    fn parses_wheel_names() {
        let w =
            WheelName::parse("onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl").unwrap();
        assert_eq!(
            (w.name.as_str(), w.python.as_str(), w.platform.as_str()),
            ("onnxruntime", "cp311", "manylinux_2_28_x86_64")
        );
        assert_eq!(w.release(), Some(vec![1, 31, 1]));
        assert_eq!(
            WheelName::parse("x-1.0rc1-py3-none-any.whl")
                .unwrap()
                .release(),
            None
        );
        assert!(WheelName::parse("x-1.0.tar.gz").is_none());
    }
}
