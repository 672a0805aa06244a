//! `anylabel export`: result records into the files that annotation tools and training
//! pipelines read (YOLO, COCO, Pascal VOC, LabelMe, CSV, JSON, a list of images), and the
//! parsers `anylabel import` uses to read those formats back.
//!
//! One file per format. Each keeps the pure conversion (a record to text, text to
//! detections) apart from the file I/O, so the conversions are tested on strings. The
//! driver here owns what every format shares: the input order, the records with `error`
//! set, the refusal of paths that would escape the output folder, atomic writes, and the
//! summary. Every format streams: a record is written and forgotten (COCO spools its
//! annotations to a temporary file, since they follow all the images).

pub mod coco;
pub mod labelme;
pub mod table;
pub mod voc;
pub mod yolo;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use crate::outfile::OutFile;
use crate::record::Record;

/// The output formats. `html` (the gallery) will be one more variant with its writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One image path a line.
    Txt,
    /// A JSON array of records.
    Json,
    /// One record a line, as `infer` writes them.
    Jsonl,
    /// One row per detection; images without detections get one row with empty fields.
    Csv,
    /// Ultralytics: `labels/<path>.txt`, `classes.txt`, `data.yaml`.
    Yolo,
    /// One COCO detection JSON file.
    Coco,
    /// Pascal VOC: `Annotations/<path>.xml`.
    Voc,
    /// AnyLabeling / X-AnyLabeling / LabelMe JSON, one file per image.
    Labelme,
}

impl Format {
    /// Whether the format writes files named after the records' paths (and so must refuse
    /// paths that would land outside the output folder).
    pub fn writes_per_image(self) -> bool {
        matches!(self, Format::Yolo | Format::Voc | Format::Labelme)
    }

    /// Whether the format is a dataset's labels, placed in their image (normalised or
    /// with the image's size written beside them).
    pub fn is_label_format(self) -> bool {
        matches!(
            self,
            Format::Yolo | Format::Coco | Format::Voc | Format::Labelme
        )
    }

    /// Whether records with `error` set are written (as they are) or skipped.
    pub fn keeps_failed_records(self) -> bool {
        matches!(self, Format::Json | Format::Jsonl)
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Yolo => "yolo",
            Format::Coco => "coco",
            Format::Voc => "voc",
            Format::Labelme => "labelme",
        }
    }
}

/// What `export` is asked to do, free of the command line.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: Format,
    /// A file (`-` for stdout, for the single-file formats) or a folder.
    pub output: PathBuf,
    /// The folder the records' paths are relative to (the folder that was scanned).
    pub root: PathBuf,
    /// LabelMe only: write each JSON beside its image instead of into `output`.
    pub beside_images: bool,
    /// LabelMe only: replace label files another tool saved (a review in a GUI) instead of
    /// keeping them.
    pub overwrite: bool,
}

/// What an export did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Records read.
    pub records: u64,
    /// Records written.
    pub written: u64,
    pub detections: u64,
    /// Records with `error` set, skipped by the label formats.
    pub skipped_failed: u64,
    /// Records refused because their path would escape the output folder.
    pub refused: u64,
    /// Records refused by the label formats because they have boxes and no image size.
    pub no_size: u64,
    /// Input lines that are not records.
    pub bad_lines: u64,
    /// Records not written because their label file exists, saved by another tool (a
    /// review), and is kept (LabelMe without `--overwrite`).
    pub kept: u64,
    /// Records a format refused, each with a warning: their label file would be another
    /// image's (LabelMe), or their path cannot be listed (YOLO's images.txt).
    pub refused_by_format: u64,
}

impl Summary {
    /// Whether some inputs could not be exported (exit code 3).
    pub fn partial(&self) -> bool {
        self.refused > 0 || self.no_size > 0 || self.bad_lines > 0 || self.refused_by_format > 0
    }
}

/// What a writer did with one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Yes,
    /// Its label file exists, saved by another tool, and was left as it is.
    Kept,
    /// Not written, for the reason given (its label file would be another image's, say).
    Refused(String),
}

/// Everything a format writer may need besides the record.
pub struct Target {
    pub opts: ExportOptions,
    /// `opts.root`, absolute and normalised.
    pub root_abs: PathBuf,
}

/// A format's writer: fed every exported record in input order, then finished.
pub trait Writer {
    /// Writes one record. `rel` is its path made safe (relative, inside the output) for
    /// the formats that write per-image files, else the record's path as it is.
    fn write(&mut self, record: &Record, rel: &Path, classes: &Classes) -> Result<Written>;
    /// Writes what can only be written at the end (class lists, COCO's annotations) and moves
    /// the output into place.
    fn finish(self: Box<Self>, classes: &Classes) -> Result<()>;
}

/// Class names by id, as the records give them. The first name seen for an id wins; a
/// different name for the same id is reported once.
#[derive(Debug, Default, Clone)]
pub struct Classes {
    pub names: BTreeMap<u32, String>,
    warned: std::collections::HashSet<u32>,
}

impl Classes {
    pub fn see(&mut self, record: &Record) {
        for d in &record.detections {
            match self.names.get(&d.class_id) {
                None => {
                    self.names.insert(d.class_id, d.label.clone());
                }
                Some(name) if *name != d.label && self.warned.insert(d.class_id) => {
                    tracing::warn!(
                        "{}: class {} is called '{}' here and '{}' before; the first name is kept",
                        record.path,
                        d.class_id,
                        d.label,
                        name
                    );
                }
                Some(_) => {}
            }
        }
    }

    /// Names for ids `0..=max`, gaps filled with `class_N`, as classes.txt lists them.
    pub fn dense(&self) -> Vec<String> {
        let Some((&max, _)) = self.names.last_key_value() else {
            return Vec::new();
        };
        (0..=max)
            .map(|i| {
                self.names
                    .get(&i)
                    .cloned()
                    .unwrap_or_else(|| format!("class_{i}"))
            })
            .collect()
    }
}

/// Exports `records` as `opts` says. Per-record problems (a line that is not a record, a
/// path that would escape the output) are reported on stderr and counted, and the export
/// goes on; an output that cannot be written stops it.
pub fn export(
    records: impl Iterator<Item = Result<Record>>,
    opts: &ExportOptions,
) -> Result<Summary> {
    let root_abs = normalize(&std::path::absolute(&opts.root).context("cannot resolve --root")?);
    let ctx = Target {
        opts: opts.clone(),
        root_abs,
    };
    let mut writer: Box<dyn Writer> = match opts.format {
        Format::Txt | Format::Json | Format::Jsonl | Format::Csv => {
            Box::new(table::TableWriter::new(&ctx)?)
        }
        Format::Yolo => Box::new(yolo::YoloWriter::new(&ctx)?),
        Format::Coco => Box::new(coco::CocoWriter::new(&ctx)?),
        Format::Voc => Box::new(voc::VocWriter::new(&ctx)?),
        Format::Labelme => Box::new(labelme::LabelmeWriter::new(&ctx)?),
    };
    let mut summary = Summary::default();
    let mut classes = Classes::default();
    for record in records {
        let record = match record {
            Ok(r) => r,
            // A line that is not a record costs that line; a read error stops the export.
            Err(e) if e.to_string().contains("not a result record") => {
                tracing::warn!("{e}");
                summary.bad_lines += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        summary.records += 1;
        if let Some(reason) = &record.error
            && !opts.format.keeps_failed_records()
        {
            tracing::warn!(
                "{}: skipped, the image could not be labelled: {reason}",
                record.path
            );
            summary.skipped_failed += 1;
            continue;
        }
        // Boxes on an image of no known size cannot be placed in a label format (txt and
        // csv list paths and pixel boxes, which need no size).
        if opts.format.is_label_format()
            && (record.width == 0 || record.height == 0)
            && !record.detections.is_empty()
        {
            tracing::warn!(
                "{}: refused: the record has boxes but no image size (width {}, height {})",
                record.path,
                record.width,
                record.height
            );
            summary.no_size += 1;
            continue;
        }
        let rel = if opts.format.writes_per_image() {
            match safe_relative(&record.path, &ctx.root_abs) {
                Ok(p) => p,
                Err(why) => {
                    tracing::warn!("{}: refused: {why}", record.path);
                    summary.refused += 1;
                    continue;
                }
            }
        } else {
            PathBuf::from(&record.path)
        };
        classes.see(&record);
        match writer.write(&record, &rel, &classes)? {
            Written::Yes => {
                summary.written += 1;
                summary.detections += record.detections.len() as u64;
            }
            Written::Kept => summary.kept += 1,
            Written::Refused(why) => {
                tracing::warn!("{}: refused: {why}", record.path);
                summary.refused_by_format += 1;
            }
        }
    }
    writer.finish(&classes)?;
    Ok(summary)
}

/// The record's path as a relative path that stays inside the folder it is joined to: an
/// absolute path inside `root` is made relative to it; `.` and `..` that stay inside are
/// resolved; anything else is refused with the reason.
pub fn safe_relative(path: &str, root: &Path) -> std::result::Result<PathBuf, String> {
    let p = Path::new(path);
    let p = if p.is_absolute() {
        match normalize(p).strip_prefix(root) {
            Ok(inside) => inside.to_path_buf(),
            Err(_) => {
                return Err(format!(
                    "the path is absolute and not inside --root {}, so its label file would be written outside the output folder",
                    root.display()
                ));
            }
        }
    } else {
        p.to_path_buf()
    };
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(
                        "the path climbs out of its folder with '..', so its label file would be written outside the output folder"
                            .to_string(),
                    );
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("the path is absolute".to_string());
            }
        }
    }
    if out.file_name().is_none() {
        return Err("the path names no file".to_string());
    }
    Ok(out)
}

/// Resolves `.` and `..` lexically (no file system access) in an absolute path.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The path from folder `from` to `to`, both absolute and normalised, with `/` separators.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), f.len() - common).collect();
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// `rel` with its extension replaced by `ext` (appended when it has none).
pub fn with_extension(rel: &Path, ext: &str) -> PathBuf {
    rel.with_extension(ext)
}

/// A single output file ([`crate::outfile`]), or stdout for `-`.
pub enum Output {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File(std::io::BufWriter<OutFile>),
}

impl Output {
    pub fn open(path: &Path) -> Result<Output> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout(std::io::BufWriter::with_capacity(
                1 << 16,
                std::io::stdout(),
            )));
        }
        if path.is_dir() {
            anyhow::bail!(
                "{} is a folder; this format writes one file",
                path.display()
            );
        }
        let out = OutFile::create(path)?;
        Ok(Output::File(std::io::BufWriter::with_capacity(
            1 << 16,
            out,
        )))
    }

    /// The folder its temporary file is in, where it is written through one (not stdout,
    /// a device or a pipe): where to put other temporary files of the same size.
    pub fn temp_folder(&self) -> Option<&Path> {
        match self {
            Output::Stdout(_) => None,
            Output::File(w) => w.get_ref().temp_path().and_then(Path::parent),
        }
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File(w) => w,
        }
    }

    /// Flushes and, for a file, moves it into place.
    pub fn finish(self) -> Result<()> {
        match self {
            Output::Stdout(mut w) => Ok(w.flush()?),
            Output::File(w) => {
                let shown = w.get_ref().path().to_path_buf();
                w.into_inner()
                    .map_err(|e| anyhow!("cannot write {}: {}", shown.display(), e.error()))?
                    .finish()
            }
        }
    }
}

/// Rounds to `places` decimals, for numbers written as text.
pub fn round(v: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (v * m).round() / m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_escape_are_refused_and_others_made_relative() {
        let root = Path::new("/data/images");
        assert_eq!(
            safe_relative("a/b.jpg", root).unwrap(),
            PathBuf::from("a/b.jpg")
        );
        assert_eq!(
            safe_relative("./a/../b.jpg", root).unwrap(),
            PathBuf::from("b.jpg")
        );
        assert_eq!(
            safe_relative("/data/images/x/y.png", root).unwrap(),
            PathBuf::from("x/y.png")
        );
        assert!(
            safe_relative("../b.jpg", root)
                .unwrap_err()
                .contains("climbs out")
        );
        assert!(safe_relative("a/../../b.jpg", root).is_err());
        assert!(
            safe_relative("/etc/passwd", root)
                .unwrap_err()
                .contains("absolute")
        );
        assert!(safe_relative("/data/images/../x.jpg", root).is_err());
        assert!(safe_relative(".", root).is_err());
    }

    #[test]
    fn relative_paths_between_folders() {
        assert_eq!(
            relative_path(Path::new("/o/sub"), Path::new("/r/sub/a.jpg")),
            "../../r/sub/a.jpg"
        );
        assert_eq!(
            relative_path(Path::new("/r"), Path::new("/r/a.jpg")),
            "a.jpg"
        );
    }

    /// Where COCO spools its annotations: beside the output's temporary file, and never in
    /// a device's folder (`-o /dev/stdout` put it in /dev, which only root may write).
    #[test]
    fn only_a_file_output_has_a_temporary_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = Output::open(&dir.path().join("out.json")).unwrap();
        assert_eq!(file.temp_folder(), Some(dir.path()));
        assert_eq!(
            Output::open(Path::new("/dev/null")).unwrap().temp_folder(),
            None
        );
        assert_eq!(Output::open(Path::new("-")).unwrap().temp_folder(), None);
    }

    #[test]
    fn class_lists_fill_gaps() {
        let mut c = Classes::default();
        c.names.insert(0, "a".into());
        c.names.insert(2, "c".into());
        assert_eq!(c.dense(), vec!["a", "class_1", "c"]);
    }
}
