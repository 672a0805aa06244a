//! Pascal VOC: one XML file per image, `Annotations/<path>.xml` (the image's folders
//! mirrored, so that `a/x.jpg` and `b/x.jpg` do not share a file; for a flat folder this is
//! the usual `Annotations/<stem>.xml`), and `classes.txt` (as labelImg writes it) so that
//! `import` gives the classes their ids back. Coordinates follow VOC's convention of
//! 1-based, inclusive pixel indices: `xmin = x1 + 1`, `ymin = y1 + 1`, `xmax = x2`,
//! `ymax = y2` for the records' 0-based, continuous `[x1, y1, x2, y2]`, as supervision
//! writes and reads them (`object_to_pascal_voc`, `detections_from_xml_obj`); they keep
//! the records' 2 decimals.
//! Text is escaped with quick-xml; characters XML 1.0 cannot hold become U+FFFD.
//!
//! Beside them, as VOC's own layout has them: `ImageSets/Main/default.txt`, the exported
//! images' ids (the XML's path under `Annotations`, without `.xml`), by which datumaro
//! (and CVAT's dataset import, built on it) finds the annotations, and `labelmap.txt`
//! (`name:::` a line, datumaro's and CVAT's label map), without which they know only VOC's
//! 20 classes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use super::{Classes, Output, Target, Writer, Written, round};
use crate::outfile::{Batch, write as write_atomic};
use crate::record::{Detection, Record};

pub struct VocWriter {
    out: PathBuf,
    root_name: String,
    /// The XML files, synced together at the end.
    files: Batch,
    /// `ImageSets/Main/default.txt`, written as the XML files are.
    set: Output,
}

/// The image set's path in the output folder.
pub const SET: &str = "ImageSets/Main/default.txt";

impl VocWriter {
    pub fn new(t: &Target) -> Result<VocWriter> {
        let out = t.opts.output.clone();
        std::fs::create_dir_all(out.join("Annotations"))
            .with_context(|| format!("cannot create {}", out.join("Annotations").display()))?;
        Ok(VocWriter {
            set: Output::open(&out.join(SET))?,
            out,
            root_name: t
                .root_abs
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            files: Batch::default(),
        })
    }
}

/// Escapes text for an XML element.
pub fn esc(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect();
    quick_xml::escape::escape(clean.as_str()).into_owned()
}

/// The VOC XML of one record; `rel` is its safe relative path, `root_name` the name of the
/// folder the images are in (VOC's `folder` for images at the top).
pub fn to_xml(r: &Record, rel: &Path, root_name: &str) -> String {
    let filename = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let folder = match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_string_lossy().into_owned(),
        None => root_name.to_string(),
    };
    let mut s = String::from("<annotation>\n");
    s.push_str(&format!("  <folder>{}</folder>\n", esc(&folder)));
    s.push_str(&format!("  <filename>{}</filename>\n", esc(&filename)));
    s.push_str(&format!("  <path>{}</path>\n", esc(&rel.to_string_lossy())));
    s.push_str("  <source>\n    <database>anylabel</database>\n  </source>\n");
    s.push_str(&format!(
        "  <size>\n    <width>{}</width>\n    <height>{}</height>\n    <depth>3</depth>\n  </size>\n",
        r.width, r.height
    ));
    s.push_str("  <segmented>0</segmented>\n");
    for d in &r.detections {
        let [x1, y1, x2, y2] = d.bbox.map(|v| round(v as f64, 2));
        let (x1, y1) = (round(x1 + 1.0, 2), round(y1 + 1.0, 2));
        s.push_str(&format!(
            "  <object>\n    <name>{}</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <bndbox>\n      <xmin>{x1}</xmin>\n      <ymin>{y1}</ymin>\n      <xmax>{x2}</xmax>\n      <ymax>{y2}</ymax>\n    </bndbox>\n  </object>\n",
            esc(&d.label)
        ));
    }
    s.push_str("</annotation>\n");
    s
}

impl Writer for VocWriter {
    fn write(&mut self, r: &Record, rel: &Path, _: &Classes) -> Result<Written> {
        let id = rel.with_extension("");
        if id.to_string_lossy().contains(['\n', '\r']) {
            return Ok(Written::Refused(format!(
                "its name holds a line break, which {SET} (one image a line) cannot list"
            )));
        }
        let path = self.out.join("Annotations").join(rel.with_extension("xml"));
        if !self.files.claim(&path) {
            return Ok(Written::Refused(format!(
                "its annotation {} is an image's before it (the same name with another \
                 extension)",
                path.display()
            )));
        }
        self.files
            .write(&path, to_xml(r, rel, &self.root_name).as_bytes())?;
        writeln!(self.set.writer(), "{}", id.to_string_lossy())?;
        Ok(Written::Yes)
    }

    fn finish(self: Box<Self>, classes: &Classes) -> Result<()> {
        self.files.sync()?;
        self.set.finish()?;
        let names = classes.dense();
        write_atomic(
            &self.out.join("classes.txt"),
            super::yolo::classes_txt(&names).as_bytes(),
        )?;
        if let Some(name) = names.iter().find(|n| n.contains(':')) {
            tracing::warn!(
                "class '{name}' holds a ':', which labelmap.txt uses between fields: \
                 datumaro and CVAT will read another name"
            );
        }
        write_atomic(&self.out.join("labelmap.txt"), labelmap(&names).as_bytes())
    }
}

/// `labelmap.txt` as datumaro and CVAT read it: `name:color:parts:actions` a line, the
/// colour and the rest left empty.
pub fn labelmap(names: &[String]) -> String {
    let mut s = String::from("# label:color_rgb:parts:actions\n");
    for n in names {
        s.push_str(n);
        s.push_str(":::\n");
    }
    s
}

#[derive(Debug, Deserialize)]
pub struct VocAnnotation {
    pub filename: String,
    pub size: Option<VocSize>,
    #[serde(default, rename = "object")]
    pub objects: Vec<VocObject>,
}

#[derive(Debug, Deserialize)]
pub struct VocSize {
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Deserialize)]
pub struct VocObject {
    pub name: String,
    pub bndbox: VocBox,
}

#[derive(Debug, Deserialize)]
pub struct VocBox {
    pub xmin: f64,
    pub ymin: f64,
    pub xmax: f64,
    pub ymax: f64,
}

/// Parses one VOC file. Class ids come from `class_id` (a name's index in the class list,
/// growing it with names not seen before).
pub fn parse(text: &str) -> Result<VocAnnotation, String> {
    quick_xml::de::from_str(text).map_err(|e| e.to_string())
}

/// The detections of a parsed VOC file, with class ids from `id_of`.
pub fn detections(a: &VocAnnotation, mut id_of: impl FnMut(&str) -> u32) -> Vec<Detection> {
    a.objects
        .iter()
        .map(|o| {
            let b = &o.bndbox;
            Detection {
                class_id: id_of(&o.name),
                label: o.name.clone(),
                score: 1.0,
                bbox: [
                    b.xmin.min(b.xmax) - 1.0,
                    b.ymin.min(b.ymax) - 1.0,
                    b.xmin.max(b.xmax),
                    b.ymin.max(b.ymax),
                ]
                .map(|v| v as f32),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awkward_names_survive_the_xml() {
        let name = "a <b> & \"c\", 'd' ü\u{1}";
        let r = Record {
            path: "sub/x & y.jpg".into(),
            width: 10,
            height: 20,
            model: "m".into(),
            detections: vec![Detection {
                class_id: 0,
                label: name.into(),
                score: 0.5,
                bbox: [1.0, 2.0, 3.5, 4.25],
            }],
            error: None,
        };
        let xml = to_xml(&r, Path::new("sub/x & y.jpg"), "images");
        assert!(xml.contains("<filename>x &amp; y.jpg</filename>"), "{xml}");
        assert!(
            xml.contains("<xmin>2</xmin>") && xml.contains("<ymin>3</ymin>"),
            "{xml}"
        );
        assert!(xml.contains("<xmax>3.5</xmax>"), "{xml}");
        let back = parse(&xml).unwrap();
        assert_eq!(back.filename, "x & y.jpg");
        assert_eq!(back.objects[0].name, "a <b> & \"c\", 'd' ü\u{FFFD}");
        let d = detections(&back, |_| 7);
        assert_eq!(d[0].bbox, [1.0, 2.0, 3.5, 4.25]);
        assert_eq!(d[0].class_id, 7);
        assert_eq!(back.size.unwrap().height, 20.0);
    }
}
