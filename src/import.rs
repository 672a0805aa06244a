//! `anylabel import`: an existing YOLO, COCO, Pascal VOC or LabelMe dataset turned into
//! result records, so that `filter` and `export` also convert datasets no model labelled.
//!
//! The parsing of each format lives beside its writer in [`crate::export`]; this module
//! finds the files, the image sizes and the class names, and streams the records out in a
//! stable order (sorted by file name, folders depth-first, as `scan` walks; COCO in its
//! `images` order). Records are named `import:<format>`; a format without scores gets 1.0.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::export::{coco, labelme, voc, yolo};
use crate::record::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Yolo,
    Coco,
    Voc,
    Labelme,
}

impl ImportFormat {
    pub fn model(self) -> &'static str {
        match self {
            ImportFormat::Yolo => "import:yolo",
            ImportFormat::Coco => "import:coco",
            ImportFormat::Voc => "import:voc",
            ImportFormat::Labelme => "import:labelme",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: ImportFormat,
    /// The dataset: a folder (YOLO, VOC, LabelMe) or a JSON file (COCO).
    pub path: PathBuf,
    /// YOLO: the images' folder (default: from data.yaml, else `images/` beside `labels/`).
    pub images: Option<PathBuf>,
    /// VOC, LabelMe: a class list (one name a line) giving names their ids; default: a
    /// `classes.txt` in the dataset folder, else ids in order of first appearance.
    pub classes: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportSummary {
    pub records: u64,
    pub detections: u64,
    /// Images or label files that could not be read (each reported on stderr).
    pub failed: u64,
}

/// Reads the dataset and hands each record to `emit`, in order.
pub fn import(
    opts: &ImportOptions,
    mut emit: impl FnMut(&Record) -> Result<()>,
) -> Result<ImportSummary> {
    let mut s = ImportSummary::default();
    let mut out = |r: Record, s: &mut ImportSummary| -> Result<()> {
        s.records += 1;
        s.detections += r.detections.len() as u64;
        if r.error.is_some() {
            s.failed += 1;
        }
        emit(&r)
    };
    let model = opts.format.model();
    match opts.format {
        ImportFormat::Coco => {
            let text = std::fs::read_to_string(&opts.path)
                .with_context(|| format!("cannot read {}", opts.path.display()))?;
            let d: coco::Dataset = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a COCO file", opts.path.display()))?;
            for r in coco::to_records(&d, model) {
                out(r, &mut s)?;
            }
        }
        ImportFormat::Yolo => import_yolo(opts, |r| out(r, &mut s))?,
        ImportFormat::Voc | ImportFormat::Labelme => {
            let (dir, ext) = match opts.format {
                ImportFormat::Voc if opts.path.join("Annotations").is_dir() => {
                    (opts.path.join("Annotations"), "xml")
                }
                ImportFormat::Voc => (opts.path.clone(), "xml"),
                _ => (opts.path.clone(), "json"),
            };
            if !dir.is_dir() {
                bail!("{} is not a folder", dir.display());
            }
            let mut ids = ClassIds::load(opts.classes.as_deref(), &opts.path)?;
            for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
                let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
                let p = entry.path();
                if entry.file_type().is_dir()
                    || !p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext))
                {
                    continue;
                }
                let rel_dir = p
                    .parent()
                    .and_then(|d| d.strip_prefix(&dir).ok())
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                let record = match read_annotation(opts.format, p, &mut ids) {
                    Ok(Some((name, w, h, detections))) => Record {
                        path: join_rel(&rel_dir, &name),
                        width: w,
                        height: h,
                        model: model.to_string(),
                        detections,
                        error: None,
                    },
                    Ok(None) => continue,
                    Err(why) => {
                        tracing::warn!("{}: {why}", p.display());
                        s.failed += 1;
                        continue;
                    }
                };
                out(record, &mut s)?;
            }
        }
    }
    Ok(s)
}

type Annotation = (String, u32, u32, Vec<crate::record::Detection>);

/// One VOC or LabelMe file. `Ok(None)` for a JSON file that is not a LabelMe file.
fn read_annotation(
    format: ImportFormat,
    p: &Path,
    ids: &mut ClassIds,
) -> Result<Option<Annotation>, String> {
    let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read it: {e}"))?;
    match format {
        ImportFormat::Voc => {
            let a = voc::parse(&text).map_err(|e| format!("not a Pascal VOC file: {e}"))?;
            let (w, h) = a
                .size
                .as_ref()
                .map(|s| (s.width.round() as u32, s.height.round() as u32))
                .unwrap_or((0, 0));
            let dets = voc::detections(&a, |n| ids.id(n));
            Ok(Some((a.filename.clone(), w, h, dets)))
        }
        _ => {
            let looks_like_labelme = text.contains("\"shapes\"");
            match labelme::parse(&text, |n| ids.id(n)) {
                Ok(p) => Ok(Some((p.image_name, p.width, p.height, p.detections))),
                // Other JSON files may sit beside the images; only LabelMe files count.
                Err(_) if !looks_like_labelme => Ok(None),
                Err(e) => Err(format!("not a LabelMe file: {e}")),
            }
        }
    }
}

fn join_rel(dir: &Path, name: &str) -> String {
    if dir.as_os_str().is_empty() {
        name.to_string()
    } else {
        dir.join(name).to_string_lossy().into_owned()
    }
}

/// Class names to ids: a given list first, then new names in order of first appearance.
struct ClassIds {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl ClassIds {
    fn load(given: Option<&Path>, dataset: &Path) -> Result<ClassIds> {
        let file = match given {
            Some(p) => Some(p.to_path_buf()),
            None => Some(dataset.join("classes.txt")).filter(|p| p.is_file()),
        };
        let names: Vec<String> = match file {
            Some(p) => std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .lines()
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        };
        let mut index = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            index.entry(n.clone()).or_insert(i as u32);
        }
        Ok(ClassIds { names, index })
    }

    fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }
}

fn import_yolo(opts: &ImportOptions, mut out: impl FnMut(Record) -> Result<()>) -> Result<()> {
    let (dataset, labels) = if opts.path.join("labels").is_dir() {
        (opts.path.clone(), opts.path.join("labels"))
    } else {
        let parent = opts
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        (parent, opts.path.clone())
    };
    if !labels.is_dir() {
        bail!(
            "{} is neither a YOLO dataset folder (with labels/) nor a labels folder",
            opts.path.display()
        );
    }
    let yaml_path = [dataset.join("data.yaml"), labels.join("data.yaml")]
        .into_iter()
        .find(|p| p.is_file());
    let yaml = match &yaml_path {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    let names = match (&yaml, &yaml_path) {
        (Some(text), Some(p)) => {
            yolo::names_from_yaml(text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        _ => {
            let classes = [dataset.join("classes.txt"), labels.join("classes.txt")]
                .into_iter()
                .find(|p| p.is_file());
            match classes {
                Some(p) => std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read {}", p.display()))?
                    .lines()
                    .map(str::to_string)
                    .collect(),
                None => {
                    tracing::warn!(
                        "no data.yaml or classes.txt in {}: classes are named class_N",
                        dataset.display()
                    );
                    Vec::new()
                }
            }
        }
    };
    let images = match &opts.images {
        Some(d) => d.clone(),
        None => {
            let from_yaml = match (&yaml, &yaml_path) {
                (Some(text), Some(p)) => {
                    yolo::images_from_yaml(text, p.parent().unwrap_or(Path::new(".")))
                }
                _ => None,
            };
            match from_yaml.filter(|d| d.is_dir()) {
                Some(d) => d,
                None => dataset.join("images"),
            }
        }
    };
    if !images.is_dir() {
        bail!(
            "the images folder {} does not exist: YOLO labels need the images for their sizes; name it with --images",
            images.display()
        );
    }
    for item in crate::scan::walk_dir(images.clone(), true, Default::default()) {
        let item = match item {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!("{}: {}", e.path.display(), e.reason);
                continue;
            }
        };
        let record = |detections, error| Record {
            path: item.name.clone(),
            width: 0,
            height: 0,
            model: ImportFormat::Yolo.model().to_string(),
            detections,
            error,
        };
        let (w, h) = match image_size(&item.path) {
            Ok(s) => s,
            Err(why) => {
                tracing::warn!("{}: {why}", item.path.display());
                out(record(Vec::new(), Some(why)))?;
                continue;
            }
        };
        let label = labels.join(Path::new(&item.name).with_extension("txt"));
        let text = match std::fs::read_to_string(&label) {
            Ok(t) => t,
            // No label file: an image with nothing in it, as Ultralytics reads it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                let why = format!("cannot read {}: {e}", label.display());
                tracing::warn!("{}: {why}", item.name);
                out(record(Vec::new(), Some(why)))?;
                continue;
            }
        };
        match yolo::parse_label(&text, w, h, &names) {
            Ok(dets) => {
                let mut r = record(dets, None);
                (r.width, r.height) = (w, h);
                out(r)?
            }
            Err(why) => {
                let why = format!("{}, {why}", label.display());
                tracing::warn!("{}: {why}", item.name);
                let mut r = record(Vec::new(), Some(why));
                (r.width, r.height) = (w, h);
                out(r)?;
            }
        }
    }
    Ok(())
}

/// An image's width and height as a viewer shows it (EXIF orientation applied), from its
/// header alone: nothing is decoded.
pub fn image_size(path: &Path) -> Result<(u32, u32), String> {
    use image::ImageDecoder;
    use image::metadata::Orientation;
    let reader = image::ImageReader::open(path)
        .map_err(|e| format!("cannot read the file: {e}"))?
        .with_guessed_format()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("not an image: {e}"))?;
    let (w, h) = decoder.dimensions();
    let turned = matches!(
        decoder.orientation().unwrap_or(Orientation::NoTransforms),
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    Ok(if turned { (h, w) } else { (w, h) })
}
