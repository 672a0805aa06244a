//! LabelMe JSON as AnyLabeling and X-AnyLabeling open it: one file per image, written into
//! the output folder mirroring the images' relative paths (with `imagePath` relative to
//! the JSON file, pointing back at the image), or beside the images (`--beside-images`),
//! where the GUIs look for them when a folder of images is opened.
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

use super::{Classes, Target, Writer, normalize, relative_path, round};
use crate::outfile::write as write_atomic;
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
        })
    }
}

impl Writer for LabelmeWriter {
    fn write(&mut self, r: &Record, rel: &Path, _: &Classes) -> Result<()> {
        let json_rel = rel.with_extension("json");
        let image_path = if self.beside {
            rel.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            let json_dir = self
                .dir_abs
                .join(json_rel.parent().unwrap_or(Path::new("")));
            relative_path(&json_dir, &self.root_abs.join(rel))
        };
        write_atomic(
            &self.dir.join(json_rel),
            to_json(r, &image_path)?.as_bytes(),
        )
    }

    fn finish(self: Box<Self>, classes: &Classes) -> Result<()> {
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

/// What a LabelMe file says: the image's file name (from `imagePath`), its size, and its
/// shapes as boxes (the bounding box of each shape's points), with class ids from `id_of`.
pub struct Parsed {
    pub image_name: String,
    pub width: u32,
    pub height: u32,
    pub detections: Vec<Detection>,
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
    // Written on Windows, imagePath may use backslashes.
    let image_name = image_path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(image_path)
        .to_string();
    let size = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0) as u32;
    let mut detections = Vec::new();
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
            tracing::warn!("shape {i} ({label}) has fewer than 2 points: skipped");
            continue;
        }
        let (mut x1, mut y1, mut x2, mut y2) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for [x, y] in &points {
            (x1, y1, x2, y2) = (x1.min(*x), y1.min(*y), x2.max(*x), y2.max(*y));
        }
        detections.push(Detection {
            class_id: id_of(label),
            label: label.to_string(),
            score: s.get("score").and_then(Value::as_f64).unwrap_or(1.0) as f32,
            bbox: [x1, y1, x2, y2].map(|v| v as f32),
        });
    }
    Ok(Parsed {
        image_name,
        width: size("imageWidth"),
        height: size("imageHeight"),
        detections,
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
        assert_eq!(p.image_name, "a.jpg");
        assert_eq!((p.width, p.height), (100, 50));
        assert_eq!(p.detections, r.detections);
    }
}
