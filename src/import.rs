//! `anylabel import`: an existing YOLO, COCO, Pascal VOC or LabelMe dataset turned into
//! result records, so that `filter` and `export` also convert datasets no model labelled.
//!
//! The parsing of each format lives beside its writer in [`crate::export`]; this module
//! finds the files, the image sizes and the class names, and streams the records out in a
//! stable order (sorted by file name, folders depth-first, as `scan` walks; COCO in its
//! `images` order). Records are named `import:<format>`; a format without scores gets 1.0.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

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
            let images_abs = match &opts.images {
                Some(d) if opts.format == ImportFormat::Labelme => Some(absolute(d)?),
                _ => None,
            };
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
                        path: images_abs
                            .as_deref()
                            .and_then(|root| image_under(root, p, &name))
                            .unwrap_or_else(|| join_rel(&rel_dir, file_name(&name))),
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
    path: &Path,
    ids: &mut ClassIds,
) -> Result<Option<Annotation>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
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
                Ok(p) => {
                    for why in &p.skipped {
                        tracing::warn!("{}: {why}", path.display());
                    }
                    Ok(Some((p.image_path, p.width, p.height, p.detections)))
                }
                // Other JSON files may sit beside the images; only LabelMe files count.
                Err(_) if !looks_like_labelme => Ok(None),
                Err(e) => Err(format!("not a LabelMe file: {e}")),
            }
        }
    }
}

/// The last part of a path written with `/` or `\\` (LabelMe files saved on Windows).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A LabelMe file's `imagePath`, taken from the JSON file's folder, relative to `root`
/// (absolute, normalised) with `/` separators; `None` where it is not inside `root`.
fn image_under(root: &Path, json: &Path, image_path: &str) -> Option<String> {
    let dir = std::path::absolute(json.parent()?).ok()?;
    let image = crate::export::normalize(&dir.join(image_path.replace('\\', "/")));
    let rel = image.strip_prefix(root).ok()?;
    let parts: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
    (!parts.is_empty()).then(|| parts.join("/"))
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
    let (images, base) = yolo_images(opts, &dataset, yaml.as_deref(), yaml_path.as_deref())?;
    let mut labelled = 0u64;
    let mut first: Option<(PathBuf, PathBuf)> = None;
    let mut count = 0u64;
    for image in images {
        let (path, name) = match image {
            Ok(i) => i,
            Err(why) => {
                tracing::warn!("{why}");
                continue;
            }
        };
        count += 1;
        let record = |detections, error| Record {
            path: name.clone(),
            width: 0,
            height: 0,
            model: ImportFormat::Yolo.model().to_string(),
            detections,
            error,
        };
        let (w, h) = match image_size(&path) {
            Ok(s) => s,
            Err(why) => {
                tracing::warn!("{}: {why}", path.display());
                out(record(Vec::new(), Some(why)))?;
                continue;
            }
        };
        let candidates = label_candidates(&path, &labels, &base);
        let label = candidates
            .iter()
            .find(|p| p.is_file())
            .unwrap_or(&candidates[0])
            .clone();
        first.get_or_insert_with(|| (path.clone(), label.clone()));
        let text = match std::fs::read_to_string(&label) {
            Ok(t) => {
                labelled += 1;
                t
            }
            // No label file: an image with nothing in it, as Ultralytics reads it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                let why = format!("cannot read {}: {e}", label.display());
                tracing::warn!("{name}: {why}");
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
                tracing::warn!("{name}: {why}");
                let mut r = record(Vec::new(), Some(why));
                (r.width, r.height) = (w, h);
                out(r)?;
            }
        }
    }
    // Ultralytics reads an image without a label file as one with nothing in it, and so
    // does this; but none at all is a layout this did not understand, not a dataset.
    if let (0, Some((image, label))) = (labelled, first) {
        tracing::warn!(
            "none of the {count} images has a label file (for {}, looked for {}): \
             is --images or data.yaml's path/train right?",
            image.display(),
            label.display()
        );
    }
    Ok(())
}

/// One image to import: where it is and its record's path; or why a folder was not read.
type YoloImage = Result<(PathBuf, String), String>;

/// The images of a YOLO dataset and the folder their records' paths are relative to.
///
/// `--images DIR`: the images under DIR. Else data.yaml's `train`, `val` and `test` (each
/// a folder, a `.txt` list of images or a list of those, joined to `path`), as
/// Ultralytics reads them, each image once; else `images/` beside `labels/`. Paths are
/// relative to the deepest folder holding every image (`images/` for the usual
/// `images/train` + `images/val`); where only lists name the images (`export --format
/// yolo`'s `images.txt`), to data.yaml's `path` when it holds them all.
fn yolo_images(
    opts: &ImportOptions,
    dataset: &Path,
    yaml: Option<&str>,
    yaml_path: Option<&Path>,
) -> Result<(Box<dyn Iterator<Item = YoloImage>>, PathBuf)> {
    let abs = absolute;
    let (splits, yaml_base) = match (&opts.images, yaml, yaml_path) {
        (Some(d), _, _) => (vec![d.clone()], None),
        (None, Some(text), Some(p)) => {
            let dir = p.parent().unwrap_or(Path::new("."));
            let (splits, base) = yolo::splits_from_yaml(text, dir);
            let found: Vec<PathBuf> = splits.into_iter().filter(|s| s.exists()).collect();
            if found.is_empty() {
                (vec![dataset.join("images")], None)
            } else {
                (found, Some(base))
            }
        }
        _ => (vec![dataset.join("images")], None),
    };
    let mut dirs = Vec::new();
    let mut lists = Vec::new();
    for split in &splits {
        if split.is_dir() {
            let d = abs(split)?;
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        } else if split.is_file() {
            lists.push(split.clone());
        } else {
            bail!(
                "the images folder {} does not exist: YOLO labels need the images for their sizes; name it with --images",
                split.display()
            );
        }
    }
    let dirs = std::sync::Arc::new(dirs);
    // A listed image inside a folder that is read anyway is read once, from the folder.
    let outside = {
        let dirs = dirs.clone();
        move |p: &PathBuf| !dirs.iter().any(|d| p.starts_with(d))
    };
    // One pass over the lists, keeping nothing but the folder that holds their images.
    let mut listed_in: Option<PathBuf> = None;
    for list in &lists {
        for p in list_images(list)? {
            let p = p?;
            if outside(&p) {
                let parent = p.parent().unwrap_or(Path::new("/"));
                listed_in = Some(match listed_in {
                    None => parent.to_path_buf(),
                    Some(c) => common_ancestor([c.as_path(), parent].into_iter()),
                });
            }
        }
    }
    let yaml_base = match yaml_base {
        Some(b) => Some(abs(&b)?),
        None => None,
    };
    let base = match (&yaml_base, &listed_in) {
        (Some(b), Some(l)) if dirs.is_empty() && l.starts_with(b) => b.clone(),
        _ => common_ancestor(
            dirs.iter()
                .map(PathBuf::as_path)
                .chain(listed_in.as_deref()),
        ),
    };
    let name = {
        let base = base.clone();
        move |p: &Path| -> String {
            let rel = p.strip_prefix(&base).unwrap_or(p);
            rel.iter()
                .map(|c| c.to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        }
    };
    let name2 = name.clone();
    let from_dirs = (0..dirs.len()).flat_map({
        let dirs = dirs.clone();
        move |i| {
            let name = name.clone();
            crate::scan::walk_dir(dirs[i].clone(), false, Default::default()).map(move |item| {
                match item {
                    Ok(i) => Ok((i.path.clone(), name(&i.path))),
                    Err(e) => Err(format!("{}: {}", e.path.display(), e.reason)),
                }
            })
        }
    });
    let from_lists = lists.into_iter().flat_map(move |list| {
        let name = name2.clone();
        let outside = outside.clone();
        let images: Box<dyn Iterator<Item = Result<PathBuf>>> = match list_images(&list) {
            Ok(it) => Box::new(it),
            Err(e) => Box::new(std::iter::once(Err(e))),
        };
        images.filter_map(move |p| match p {
            Ok(p) if outside(&p) => {
                let n = name(&p);
                Some(Ok((p, n)))
            }
            Ok(_) => None,
            Err(e) => Some(Err(format!("{e:#}"))),
        })
    });
    Ok((Box::new(from_dirs.chain(from_lists)), base))
}

/// The images a `.txt` list names, read as Ultralytics reads them: one a line, `./x`
/// relative to the list's folder, anything else as it is; made absolute.
fn list_images(list: &Path) -> Result<impl Iterator<Item = Result<PathBuf>> + use<>> {
    use std::io::BufRead;
    let file =
        std::fs::File::open(list).with_context(|| format!("cannot read {}", list.display()))?;
    let parent = list.parent().unwrap_or(Path::new(".")).to_path_buf();
    let shown = list.to_path_buf();
    Ok(std::io::BufReader::new(file)
        .lines()
        .filter_map(move |line| {
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(anyhow!("cannot read {}: {e}", shown.display()))),
            };
            let line = line.trim();
            if line.is_empty() {
                return None;
            }
            let p = match line.strip_prefix("./") {
                Some(rest) => parent.join(rest),
                None => PathBuf::from(line),
            };
            Some(absolute(&p))
        }))
}

/// `p` made absolute (from the working folder) and normalised, `.` and `..` resolved.
fn absolute(p: &Path) -> Result<PathBuf> {
    let a = std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))?;
    Ok(crate::export::normalize(&a))
}

/// The deepest folder that holds every one of `dirs` (absolute, normalised).
fn common_ancestor<'a>(mut dirs: impl Iterator<Item = &'a Path>) -> PathBuf {
    let Some(first) = dirs.next() else {
        return PathBuf::new();
    };
    let mut common = first.to_path_buf();
    for d in dirs {
        while !d.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// Where an image's label file may be, in order: Ultralytics' place (the image's path
/// with its last `images` folder replaced by `labels`, `.txt` for the extension), then
/// the labels folder mirroring the image's path under `base` (an export whose images are
/// not under an `images` folder).
fn label_candidates(image: &Path, labels: &Path, base: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = crate::export::yolo::ultralytics_label(image)
        .into_iter()
        .collect();
    let rel = image.strip_prefix(base).unwrap_or(image);
    let mirrored = labels.join(rel).with_extension("txt");
    if !out.contains(&mirrored) {
        out.push(mirrored);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_where_ultralytics_looks_then_mirrored() {
        let p = |s: &str| PathBuf::from(s);
        // The usual layout: the last `images` folder becomes `labels`.
        assert_eq!(
            label_candidates(
                &p("/d/images/train/a.jpg"),
                &p("/d/labels"),
                &p("/d/images")
            ),
            [p("/d/labels/train/a.txt")]
        );
        assert_eq!(
            label_candidates(
                &p("/d/images/x/images/b.png"),
                &p("/d/labels"),
                &p("/d/images")
            ),
            [p("/d/images/x/labels/b.txt"), p("/d/labels/x/images/b.txt")]
        );
        // Images not under an `images` folder: the labels folder, mirrored.
        assert_eq!(
            label_candidates(&p("/photos/s/c.jpg"), &p("/out/labels"), &p("/photos")),
            [p("/out/labels/s/c.txt")]
        );
        // A file named `images` is not a folder.
        assert_eq!(
            label_candidates(&p("/d/images"), &p("/l"), &p("/d")),
            [p("/l/images.txt")]
        );
    }

    #[test]
    fn the_common_ancestor_of_folders() {
        let p = |s: &str| PathBuf::from(s);
        let dirs = [p("/d/images/train"), p("/d/images/val/x")];
        assert_eq!(
            common_ancestor(dirs.iter().map(PathBuf::as_path)),
            p("/d/images")
        );
        assert_eq!(common_ancestor([Path::new("/d/a")].into_iter()), p("/d/a"));
    }
}
