//! What `--model` names: an ONNX file, an AnyLabeling / X-AnyLabeling model config
//! (YAML), or a catalogue name; and the class names and defaults that come with it.
//!
//! A config's `model_path` is relative to the YAML file (or a catalogue name). Its
//! thresholds, input size, classes, `filter_classes` and `agnostic` become the defaults
//! that flags on the command line override.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::catalogue;
use crate::home::Home;

/// A model config in the AnyLabeling / X-AnyLabeling format. Unknown keys are ignored.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ModelConfig {
    #[serde(rename = "type")]
    pub model_type: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub model_path: Option<String>,
    pub input_width: Option<u32>,
    pub input_height: Option<u32>,
    #[serde(alias = "iou_threshold")]
    pub nms_threshold: Option<f32>,
    #[serde(alias = "conf_threshold")]
    pub confidence_threshold: Option<f32>,
    pub classes: Option<ClassList>,
    pub filter_classes: Option<Vec<String>>,
    pub agnostic: Option<bool>,
}

impl ModelConfig {
    /// `[input_height, input_width]`, where the config gives both.
    pub fn input_size(&self) -> Option<[u32; 2]> {
        Some([self.input_height?, self.input_width?])
    }
}

/// `classes:` as a list of names, or a map from index to name.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ClassList {
    List(Vec<String>),
    Map(BTreeMap<usize, String>),
}

impl ClassList {
    pub fn names(&self) -> Vec<String> {
        match self {
            ClassList::List(v) => v.clone(),
            ClassList::Map(m) => names_from_map(m),
        }
    }
}

fn names_from_map(m: &BTreeMap<usize, String>) -> Vec<String> {
    let n = m.keys().next_back().map_or(0, |k| k + 1);
    (0..n)
        .map(|i| m.get(&i).cloned().unwrap_or_else(|| format!("class_{i}")))
        .collect()
}

/// Parses the `names` metadata Ultralytics writes into ONNX files, a Python dict literal
/// such as `{0: 'person', 1: 'bicycle'}`. It is also a YAML flow mapping.
pub fn parse_metadata_names(text: &str) -> Option<Vec<String>> {
    let map: BTreeMap<usize, String> = serde_yaml_ng::from_str(text).ok()?;
    (!map.is_empty()).then(|| names_from_map(&map))
}

/// A model ready to load: the ONNX file and what came with it.
#[derive(Debug, Clone)]
pub struct ModelSource {
    pub onnx: PathBuf,
    /// A short name for records and logs: the catalogue or config name, else the file stem.
    pub name: String,
    pub config: Option<ModelConfig>,
}

/// Resolves a `--model` argument. Fetches catalogue models unless `offline`.
pub fn resolve(arg: &str, home: &Home, offline: bool) -> Result<ModelSource> {
    let path = Path::new(arg);
    let is_yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if is_yaml {
        return resolve_config(path, home, offline);
    }
    if path.is_file() {
        return Ok(ModelSource {
            onnx: path.to_path_buf(),
            name: stem(path),
            config: None,
        });
    }
    if let Some(entry) = catalogue::find(arg) {
        let onnx = entry.ensure(home, offline)?;
        return Ok(ModelSource {
            onnx,
            name: entry.name.to_string(),
            config: None,
        });
    }
    if path.exists() {
        bail!("model {arg} is not a file");
    }
    bail!(
        "model {arg} not found: it is not a file, a model config (.yaml) or a catalogue name ({})",
        catalogue::names()
    )
}

fn resolve_config(path: &Path, home: &Home, offline: bool) -> Result<ModelSource> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read model config {}", path.display()))?;
    let config: ModelConfig = serde_yaml_ng::from_str(&text)
        .map_err(|e| anyhow!("model config {} is not valid: {e}", path.display()))?;
    let model_path = config
        .model_path
        .as_deref()
        .ok_or_else(|| anyhow!("model config {} has no model_path", path.display()))?;
    if model_path.starts_with("http://") || model_path.starts_with("https://") {
        bail!(
            "model config {}: model_path is a URL ({model_path}); download the file and set model_path to its path (relative to the config)",
            path.display()
        );
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let candidate = base.join(model_path);
    let onnx = if candidate.is_file() {
        candidate
    } else if let Some(entry) = catalogue::find(model_path) {
        entry.ensure(home, offline)?
    } else {
        bail!(
            "model config {}: model_path {} does not exist (it is read relative to the config's folder)",
            path.display(),
            candidate.display()
        );
    };
    let name = config.name.clone().unwrap_or_else(|| stem(&onnx));
    Ok(ModelSource {
        onnx,
        name,
        config: Some(config),
    })
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map_or_else(|| "model".to_string(), |s| s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ultralytics_names() {
        let names = parse_metadata_names("{0: 'Caption', 1: 'Footnote', 10: 'Title', 2: \"it's\"}")
            .unwrap();
        assert_eq!(names.len(), 11);
        assert_eq!(
            (names[0].as_str(), names[2].as_str(), names[10].as_str()),
            ("Caption", "it's", "Title")
        );
        assert_eq!(names[3], "class_3");
        assert!(parse_metadata_names("not a dict").is_none());
    }

    #[test]
    fn reads_anylabeling_and_x_anylabeling_configs() {
        let any = "type: yolov8\nname: yolov8n-r20230415\ndisplay_name: YOLOv8n\nmodel_path: m.onnx\n\
                   input_width: 640\ninput_height: 640\nnms_threshold: 0.5\nconfidence_threshold: 0.3\n\
                   classes:\n  - person\n  - bicycle\n";
        let c: ModelConfig = serde_yaml_ng::from_str(any).unwrap();
        assert_eq!(c.nms_threshold, Some(0.5));
        assert_eq!(c.confidence_threshold, Some(0.3));
        assert_eq!(c.classes.unwrap().names(), ["person", "bicycle"]);
        let x = "type: yolov5\nmodel_path: m.onnx\niou_threshold: 0.6\nconf_threshold: 0.2\nagnostic: true\n\
                 filter_classes: [person]\nclasses: {0: person, 2: car}\n";
        let c: ModelConfig = serde_yaml_ng::from_str(x).unwrap();
        assert_eq!(
            (c.nms_threshold, c.confidence_threshold, c.agnostic),
            (Some(0.6), Some(0.2), Some(true))
        );
        assert_eq!(c.classes.unwrap().names(), ["person", "class_1", "car"]);
    }

    #[test]
    fn explains_what_it_could_not_find() {
        let home = Home::at(std::env::temp_dir().join("anylabel-test-none"));
        let err = resolve("no-such-model", &home, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not found") && err.contains("nudenet-320n"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("m.yaml");
        std::fs::write(&yaml, "type: yolov8\nmodel_path: missing.onnx\n").unwrap();
        let err = resolve(yaml.to_str().unwrap(), &home, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing.onnx") && err.contains("relative"),
            "{err}"
        );
        std::fs::write(&yaml, "type: [unclosed\n").unwrap();
        assert!(
            resolve(yaml.to_str().unwrap(), &home, true)
                .unwrap_err()
                .to_string()
                .contains("not valid")
        );
    }
}
