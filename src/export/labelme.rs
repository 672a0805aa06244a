//! LabelMe JSON as AnyLabeling and X-AnyLabeling open it: one file per image, written
//! where the GUIs look for it. Into the output folder, flat: with an output folder set
//! ("Change Output Dir"), X-AnyLabeling, AnyLabeling and labelme all look for
//! `OUT/<image's stem>.json`, whatever subfolder the image is in (`label_widget.py`'s
//! `load_file` in X-AnyLabeling at 87da3399). `imagePath` is the path from the output
//! folder to the image: AnyLabeling and labelme join it to the JSON's folder,
//! X-AnyLabeling takes its file name and joins that to the image's folder. Or beside the
//! images (`--beside-images`), where they look when no output folder is set; `imagePath`
//! is then the file name.
//!
//! A label file that exists is replaced only if anylabel wrote it for the same image
//! (`version` `anylabel-…`, same `imagePath`). One saved by a GUI (which writes its own
//! `version`), a review, is kept unless `--overwrite`; one of ours for another image (two
//! images with one stem in a flat output folder, or `x.jpg` and `x.png` side by side) is
//! not overwritten: that record is refused.
//!
//! The keys are the ones their loaders read, `LabelFile.load` in
//! `anylabeling/views/labeling/label_file.py` of CVHub520/X-AnyLabeling and of
//! vietanhdev/anylabeling (read at commit 38ebb7e7): top level `version`, `flags`,
//! `shapes`, `imagePath`, `imageData` (indexed directly, so it must be present, `null`
//! to load the image from `imagePath`), `imageHeight`, `imageWidth`; per shape `label` and
//! `points` (indexed directly), `shape_type` (defaults to polygon, so it is written),
//! `group_id`, `flags`, `description`, `difficult`, `attributes`, and X-AnyLabeling's
//! `score`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::{Classes, Target, Writer, Written, normalize, relative_path, round};
use crate::outfile::{Batch, write as write_atomic};
use crate::record::{Detection, Record};

#[derive(Serialize)]
struct Shape<'a> {
    label: &'a str,
    score: f64,
    points: [[f64; 2]; 2],
    group_id: Option<u32>,
    description: &'a str,
    difficult: bool,
    shape_type: &'a str,
    flags: serde_json::Map<String, Value>,
    attributes: serde_json::Map<String, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LabelFile<'a> {
    version: String,
    flags: serde_json::Map<String, Value>,
    shapes: Vec<Shape<'a>>,
    image_path: &'a str,
    image_data: Option<()>,
    image_height: u32,
    image_width: u32,
}

/// The LabelMe JSON of one record, with `image_path` as its `imagePath`.
pub fn to_json(r: &Record, image_path: &str) -> Result<String> {
    let file = LabelFile {
        version: format!("anylabel-{}", env!("CARGO_PKG_VERSION")),
        flags: Default::default(),
        shapes: r
            .detections
            .iter()
            .map(|d| {
                let [x1, y1, x2, y2] = d.bbox.map(|v| round(v as f64, 2));
                Shape {
                    label: &d.label,
                    score: round(d.score as f64, 5),
                    points: [[x1, y1], [x2, y2]],
                    group_id: None,
                    description: "",
                    difficult: false,
                    shape_type: "rectangle",
                    flags: Default::default(),
                    attributes: Default::default(),
                }
            })
            .collect(),
        image_path,
        image_data: None,
        image_height: r.height,
        image_width: r.width,
    };
    let mut s = serde_json::to_string_pretty(&file)?;
    s.push('\n');
    Ok(s)
}

pub struct LabelmeWriter {
    /// Where the JSON files go: the output folder, or the images' folder.
    dir: PathBuf,
    dir_abs: PathBuf,
    root_abs: PathBuf,
    beside: bool,
    overwrite: bool,
    /// Whether a kept file has been reported (the first is; the summary counts them all).
    said_kept: bool,
    /// The JSON files, synced together at the end.
    files: Batch,
}

/// What is at a label file's path before it is written.
#[derive(Debug, PartialEq)]
enum Existing {
    Nothing,
    /// A file anylabel wrote, for the image at this `imagePath`.
    Ours(String),
    /// A file another tool wrote or saved (its `version`), or one that does not read as
    /// LabelMe.
    Theirs(String),
}

fn existing(path: &Path) -> Existing {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Existing::Nothing,
        Err(e) => return Existing::Theirs(format!("unreadable: {e}")),
    };
    let v: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Existing::Theirs("not JSON".into()),
    };
    match v.get("version").and_then(Value::as_str) {
        Some(ver) if ver.starts_with("anylabel-") => Existing::Ours(
            v.get("imagePath")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        Some(ver) => Existing::Theirs(format!("version {ver}")),
        None => Existing::Theirs("no version".into()),
    }
}

impl LabelmeWriter {
    pub fn new(t: &Target) -> Result<LabelmeWriter> {
        let dir = if t.opts.beside_images {
            t.opts.root.clone()
        } else {
            t.opts.output.clone()
        };
        Ok(LabelmeWriter {
            dir_abs: normalize(&std::path::absolute(&dir)?),
            dir,
            root_abs: t.root_abs.clone(),
            beside: t.opts.beside_images,
            overwrite: t.opts.overwrite,
            said_kept: false,
            files: Batch::default(),
        })
    }
}

impl Writer for LabelmeWriter {
    fn write(&mut self, r: &Record, rel: &Path, _: &Classes) -> Result<Written> {
        let file_name = rel.file_name().unwrap_or_default();
        let (json, image_path) = if self.beside {
            (
                self.dir.join(rel.with_extension("json")),
                file_name.to_string_lossy().into_owned(),
            )
        } else {
            (
                self.dir.join(Path::new(file_name).with_extension("json")),
                relative_path(&self.dir_abs, &self.root_abs.join(rel)),
            )
        };
        match existing(&json) {
            Existing::Nothing => {}
            Existing::Ours(theirs) if theirs == image_path => {}
            Existing::Ours(theirs) => {
                return Ok(Written::Refused(format!(
                    "{} holds the labels of {theirs}, another image of the same name{}",
                    json.display(),
                    if self.beside {
                        ""
                    } else {
                        " (the GUIs look for <name>.json in the output folder, whatever \
                         folder the image is in); --beside-images puts each beside its image"
                    }
                )));
            }
            Existing::Theirs(_) if self.overwrite => {}
            Existing::Theirs(what) => {
                if !std::mem::replace(&mut self.said_kept, true) {
                    tracing::warn!(
                        "{}: kept as it is ({what}: saved by another tool, a review perhaps); \
                         --overwrite replaces such files. The summary counts the others.",
                        json.display()
                    );
                }
                return Ok(Written::Kept);
            }
        }
        self.files
            .write(&json, to_json(r, &image_path)?.as_bytes())?;
        Ok(Written::Yes)
    }

    fn finish(self: Box<Self>, classes: &Classes) -> Result<()> {
        self.files.sync()?;
        // Beside the images there is no folder of ours to put a class list in.
        if !self.beside {
            write_atomic(
                &self.dir.join("classes.txt"),
                super::yolo::classes_txt(&classes.dense()).as_bytes(),
            )?;
        }
        Ok(())
    }
}

/// What a LabelMe file says: its `imagePath` as written (relative to the JSON's folder;
/// `\` separators where saved on Windows), the image's size, and its shapes as boxes (the
/// bounding box of each shape), with class ids from `id_of`.
pub struct Parsed {
    pub image_path: String,
    pub width: u32,
    pub height: u32,
    pub detections: Vec<Detection>,
    /// Why shapes were left out, one line each, for a warning that names the file.
    pub skipped: Vec<String>,
}

pub fn parse(text: &str, mut id_of: impl FnMut(&str) -> u32) -> Result<Parsed, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let image_path = v
        .get("imagePath")
        .and_then(Value::as_str)
        .ok_or("no imagePath: not a LabelMe file")?;
    let shapes = v
        .get("shapes")
        .and_then(Value::as_array)
        .ok_or("no shapes: not a LabelMe file")?;
    let size = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0) as u32;
    let mut detections = Vec::new();
    let mut skipped = Vec::new();
    for (i, s) in shapes.iter().enumerate() {
        let label = s
            .get("label")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("shape {i} has no label"))?;
        let points: Vec<[f64; 2]> = s
            .get("points")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("shape {i} has no points"))?
            .iter()
            .map(|p| {
                let xy = p.as_array().filter(|a| a.len() == 2)?;
                Some([xy[0].as_f64()?, xy[1].as_f64()?])
            })
            .collect::<Option<_>>()
            .ok_or_else(|| format!("shape {i}: a point is not [x, y]"))?;
        if points.len() < 2 {
            skipped.push(format!(
                "shape {i} ({label}) has fewer than 2 points: skipped"
            ));
            continue;
        }
        let (mut x1, mut y1, mut x2, mut y2) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        if s.get("shape_type").and_then(Value::as_str) == Some("circle") {
            // LabelMe's circle is its centre and a point on it.
            let ([cx, cy], [px, py]) = (points[0], points[1]);
            let r = (px - cx).hypot(py - cy);
            (x1, y1, x2, y2) = (cx - r, cy - r, cx + r, cy + r);
        } else {
            for [x, y] in &points {
                (x1, y1, x2, y2) = (x1.min(*x), y1.min(*y), x2.max(*x), y2.max(*y));
            }
        }
        detections.push(Detection {
            class_id: id_of(label),
            label: label.to_string(),
            score: s.get("score").and_then(Value::as_f64).unwrap_or(1.0) as f32,
            bbox: [x1, y1, x2, y2].map(|v| v as f32),
        });
    }
    Ok(Parsed {
        image_path: image_path.to_string(),
        width: size("imageWidth"),
        height: size("imageHeight"),
        detections,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_key_the_loaders_read_and_reads_it_back() {
        let r = Record {
            path: "a.jpg".into(),
            width: 100,
            height: 50,
            model: "m".into(),
            detections: vec![Detection {
                class_id: 1,
                label: "ü, \"x\"".into(),
                score: 0.25,
                bbox: [1.0, 2.0, 30.5, 40.0],
            }],
            error: None,
        };
        let text = to_json(&r, "../img/a.jpg").unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        for k in [
            "version",
            "flags",
            "shapes",
            "imagePath",
            "imageData",
            "imageHeight",
            "imageWidth",
        ] {
            assert!(v.get(k).is_some(), "no {k}");
        }
        assert!(v["imageData"].is_null());
        let s = &v["shapes"][0];
        for k in [
            "label",
            "points",
            "group_id",
            "description",
            "difficult",
            "shape_type",
            "flags",
            "attributes",
        ] {
            assert!(s.get(k).is_some(), "no shape {k}");
        }
        assert_eq!(s["shape_type"], "rectangle");
        let p = parse(&text, |_| 1).unwrap();
        assert!(p.skipped.is_empty());
        assert_eq!(p.image_path, "../img/a.jpg");
        assert_eq!((p.width, p.height), (100, 50));
        assert_eq!(p.detections, r.detections);
    }

    #[test]
    fn circles_become_their_bounding_box_and_skipped_shapes_are_said() {
        let text = r#"{"imagePath": "a.jpg", "imageWidth": 200, "imageHeight": 200, "shapes": [
            {"label": "ball", "shape_type": "circle", "points": [[100, 100], [130, 140]]},
            {"label": "pt", "shape_type": "point", "points": [[10, 10]]}]}"#;
        let p = parse(text, |_| 0).unwrap();
        // The radius is 50: the distance from the centre to the point on the circle.
        assert_eq!(p.detections.len(), 1);
        assert_eq!(p.detections[0].bbox, [50.0, 50.0, 150.0, 150.0]);
        assert_eq!(p.skipped, ["shape 1 (pt) has fewer than 2 points: skipped"]);
    }
}
