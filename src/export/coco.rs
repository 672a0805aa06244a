//! COCO object detection: one JSON file with `images`, `annotations` and `categories`.
//!
//! Ids are stable: images are numbered from 1 in input order, annotations from 1 in input
//! order, and a category's id is the class id + 1 (COCO's and CVAT's ids start at 1;
//! supervision writes `class_id + 1` too). Boxes are absolute `[x, y, w, h]`. Each
//! annotation carries the detection's `score`, so the file is also a results file for
//! `COCOeval`. Images are written as they come and annotations spooled to a temporary file,
//! so memory stays flat however many records there are.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Classes, Output, Target, Writer, Written, round};
use crate::record::{Detection, Record};

#[derive(Debug, Serialize, Deserialize)]
pub struct Image {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Annotation {
    pub id: u64,
    pub image_id: u64,
    pub category_id: u64,
    pub bbox: [f64; 4],
    #[serde(default)]
    pub area: f64,
    #[serde(default)]
    pub iscrowd: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Empty for boxes; present because some readers expect the key.
    #[serde(default, skip_deserializing)]
    pub segmentation: Vec<()>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Category {
    pub id: u64,
    pub name: String,
    #[serde(default, skip_deserializing)]
    pub supercategory: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Dataset {
    #[serde(default)]
    pub info: serde_json::Value,
    #[serde(default)]
    pub licenses: Vec<serde_json::Value>,
    pub images: Vec<Image>,
    #[serde(default)]
    pub annotations: Vec<Annotation>,
    #[serde(default)]
    pub categories: Vec<Category>,
}

/// Writes the COCO file as the records come: each image goes straight to the output, each
/// annotation to a spool file beside it (beside the output's temporary file, or in the
/// temporary folder for stdout, a device or a pipe), copied in after the images at the end. Memory stays flat on millions of
/// records; the bytes are those `serde_json` writes for the whole [`Dataset`].
pub struct CocoWriter {
    out: Output,
    images: u64,
    annotations: u64,
    spool: std::io::BufWriter<std::fs::File>,
}

impl CocoWriter {
    pub fn new(t: &Target) -> Result<CocoWriter> {
        let mut out = Output::open(&t.opts.output)?;
        let dir = out
            .temp_folder()
            .map_or_else(std::env::temp_dir, Path::to_path_buf);
        let spool = tempfile::tempfile_in(&dir).with_context(|| {
            format!(
                "cannot create a temporary file in {} for the annotations",
                dir.display()
            )
        })?;
        let w = out.writer();
        w.write_all(b"{\"info\":")?;
        serde_json::to_writer(&mut *w, &info())?;
        w.write_all(b",\"licenses\":[],\"images\":[")?;
        Ok(CocoWriter {
            out,
            images: 0,
            annotations: 0,
            spool: std::io::BufWriter::with_capacity(1 << 16, spool),
        })
    }
}

/// The file's `info`.
fn info() -> serde_json::Value {
    serde_json::json!({
        "description": "exported by anylabel",
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// The annotation of one detection.
pub fn annotation(id: u64, image_id: u64, d: &Detection) -> Annotation {
    let [x1, y1, x2, y2] = d.bbox.map(|v| round(v as f64, 2));
    let (w, h) = (round(x2 - x1, 2), round(y2 - y1, 2));
    Annotation {
        id,
        image_id,
        category_id: d.class_id as u64 + 1,
        bbox: [x1, y1, w, h],
        area: round(w * h, 4),
        iscrowd: 0,
        score: Some(round(d.score as f64, 5)),
        segmentation: Vec::new(),
    }
}

/// The file's `categories`, one for each class seen.
fn categories(classes: &Classes) -> Vec<Category> {
    classes
        .names
        .iter()
        .map(|(id, name)| Category {
            id: *id as u64 + 1,
            name: name.clone(),
            supercategory: String::new(),
        })
        .collect()
}

impl Writer for CocoWriter {
    fn write(&mut self, r: &Record, _rel: &Path, _: &Classes) -> Result<Written> {
        self.images += 1;
        let image_id = self.images;
        let w = self.out.writer();
        if image_id > 1 {
            w.write_all(b",")?;
        }
        let image = Image {
            id: image_id,
            file_name: r.path.clone(),
            width: r.width,
            height: r.height,
        };
        serde_json::to_writer(&mut *w, &image)?;
        for d in &r.detections {
            self.annotations += 1;
            if self.annotations > 1 {
                self.spool.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.spool, &annotation(self.annotations, image_id, d))
                .context("cannot write the annotations' temporary file")?;
        }
        Ok(Written::Yes)
    }

    fn finish(self: Box<Self>, classes: &Classes) -> Result<()> {
        let CocoWriter { mut out, spool, .. } = *self;
        let mut spool = spool.into_inner().map_err(|e| {
            anyhow::anyhow!(
                "cannot write the annotations' temporary file: {}",
                e.error()
            )
        })?;
        spool.seek(SeekFrom::Start(0))?;
        let w = out.writer();
        w.write_all(b"],\"annotations\":[")?;
        std::io::copy(&mut spool, w)?;
        w.write_all(b"],\"categories\":")?;
        serde_json::to_writer(&mut *w, &categories(classes))?;
        w.write_all(b"}\n")?;
        out.finish()
    }
}

/// The records of a COCO file, in its `images` order. A category's class id is its id − 1
/// when every id is at least 1 (as COCO numbers them, and as `export` writes them), else
/// its id.
pub fn to_records(d: &Dataset, model: &str) -> Vec<Record> {
    let shift = u64::from(d.categories.iter().all(|c| c.id >= 1) && !d.categories.is_empty());
    let names: BTreeMap<u64, &str> = d
        .categories
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();
    let mut by_image: BTreeMap<u64, Vec<&Annotation>> = BTreeMap::new();
    for a in &d.annotations {
        by_image.entry(a.image_id).or_default().push(a);
    }
    d.images
        .iter()
        .map(|img| Record {
            path: img.file_name.clone(),
            width: img.width,
            height: img.height,
            model: model.to_string(),
            detections: by_image
                .get(&img.id)
                .map(|anns| {
                    anns.iter()
                        .map(|a| {
                            let [x, y, w, h] = a.bbox;
                            let class_id = a.category_id.saturating_sub(shift) as u32;
                            Detection {
                                class_id,
                                label: names
                                    .get(&a.category_id)
                                    .map(|s| s.to_string())
                                    .unwrap_or_else(|| format!("class_{class_id}")),
                                score: a.score.unwrap_or(1.0) as f32,
                                bbox: [x, y, x + w, y + h].map(|v| v as f32),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
            error: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{ExportOptions, Format, export};

    fn record(path: &str, boxes: &[(u32, &str, f32)]) -> Record {
        Record {
            path: path.into(),
            width: 640,
            height: 480,
            model: "m".into(),
            detections: boxes
                .iter()
                .enumerate()
                .map(|(i, &(class_id, label, score))| Detection {
                    class_id,
                    label: label.into(),
                    score,
                    bbox: [i as f32 + 0.5, 2.25, 100.125, 200.0 + i as f32],
                })
                .collect(),
            error: None,
        }
    }

    /// The streamed file is byte for byte the one serde_json writes for the whole dataset
    /// (which is what the writer held in memory before it streamed), with images without
    /// detections first, last and between, and with no detection at all.
    #[test]
    fn the_streamed_file_is_the_whole_dataset_serialised() {
        let sets = [
            vec![
                record("empty-first.jpg", &[]),
                record("a/cat.jpg", &[(2, "cat", 0.9), (0, "person", 0.51234)]),
                record("between.jpg", &[]),
                record("b/dog.jpg", &[(5, "dog", 0.3)]),
                record("empty-last.jpg", &[]),
            ],
            vec![record("none.jpg", &[])],
            vec![],
        ];
        for records in sets {
            let dir = tempfile::tempdir().unwrap();
            let output = dir.path().join("out.json");
            let opts = ExportOptions {
                format: Format::Coco,
                output: output.clone(),
                root: dir.path().to_path_buf(),
                beside_images: false,
                overwrite: false,
            };
            export(records.iter().cloned().map(Ok), &opts).unwrap();
            let mut classes = Classes::default();
            let mut images = Vec::new();
            let mut annotations = Vec::new();
            for (i, r) in records.iter().enumerate() {
                classes.see(r);
                let image_id = i as u64 + 1;
                images.push(Image {
                    id: image_id,
                    file_name: r.path.clone(),
                    width: r.width,
                    height: r.height,
                });
                for d in &r.detections {
                    annotations.push(annotation(annotations.len() as u64 + 1, image_id, d));
                }
            }
            let whole = Dataset {
                info: info(),
                licenses: Vec::new(),
                images,
                annotations,
                categories: categories(&classes),
            };
            let expected = serde_json::to_string(&whole).unwrap() + "\n";
            assert_eq!(std::fs::read_to_string(&output).unwrap(), expected);
            // The spool is gone with the writer: only the output is left in its folder.
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert_eq!(left.len(), 1);
        }
    }
}
