//! COCO object detection: one JSON file with `images`, `annotations` and `categories`.
//!
//! Ids are stable: images are numbered from 1 in input order, annotations from 1 in input
//! order, and a category's id is the class id + 1 (COCO's and CVAT's ids start at 1;
//! supervision writes `class_id + 1` too). Boxes are absolute `[x, y, w, h]`. Each
//! annotation carries the detection's `score`, so the file is also a results file for
//! `COCOeval`. This is the one format that collects everything before writing.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
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

pub struct CocoWriter {
    out: Option<Output>,
    images: Vec<Image>,
    annotations: Vec<Annotation>,
}

impl CocoWriter {
    pub fn new(t: &Target) -> Result<CocoWriter> {
        Ok(CocoWriter {
            out: Some(Output::open(&t.opts.output)?),
            images: Vec::new(),
            annotations: Vec::new(),
        })
    }
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

impl Writer for CocoWriter {
    fn write(&mut self, r: &Record, _rel: &Path, _: &Classes) -> Result<Written> {
        let image_id = self.images.len() as u64 + 1;
        self.images.push(Image {
            id: image_id,
            file_name: r.path.clone(),
            width: r.width,
            height: r.height,
        });
        for d in &r.detections {
            let id = self.annotations.len() as u64 + 1;
            self.annotations.push(annotation(id, image_id, d));
        }
        Ok(Written::Yes)
    }

    fn finish(mut self: Box<Self>, classes: &Classes) -> Result<()> {
        let dataset = Dataset {
            info: serde_json::json!({
                "description": "exported by anylabel",
                "version": env!("CARGO_PKG_VERSION"),
            }),
            licenses: Vec::new(),
            images: std::mem::take(&mut self.images),
            annotations: std::mem::take(&mut self.annotations),
            categories: classes
                .names
                .iter()
                .map(|(id, name)| Category {
                    id: *id as u64 + 1,
                    name: name.clone(),
                    supercategory: String::new(),
                })
                .collect(),
        };
        let mut out = self.out.take().expect("finished once");
        serde_json::to_writer(out.writer(), &dataset)?;
        out.writer().write_all(b"\n")?;
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
