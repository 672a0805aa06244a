//! Ultralytics YOLO detection labels: `labels/<path>.txt` with one `class cx cy w h` line
//! per box, normalised to the image size, 6 decimals; `classes.txt`; `images.txt`, the
//! exported images, one absolute path a line; `data.yaml` with the names as a mapping
//! id → name (as Ultralytics writes it), `path` the folder the listed images are in and
//! `train`/`val` the list. An image without detections gets an empty label file, so that "labelled,
//! nothing found" is not confused with "never labelled" (Ultralytics writes no file).
//!
//! The list, not the images' folder, is what trains: Ultralytics takes an image with no
//! label file for one with nothing in it, so after `filter | export` the images left out
//! would be trained as background, and so would, with stale labels, those of an earlier
//! export into the same folder.
//!
//! Ultralytics finds an image's label by its path alone (the last `images` folder replaced
//! by `labels`), so each label file goes where Ultralytics looks for it from the path the
//! list names: the image's own where that place is inside OUT (OUT is the folder above
//! the images' `images` folder), else a link `OUT/images/<path>` to the image, made by the
//! export, whose place is `OUT/labels/<path>.txt`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_yaml_ng::Value;

use super::{Classes, Output, Target, Writer, Written};
use crate::outfile::{Batch, write as write_atomic};
use crate::record::{Detection, Record};

pub struct YoloWriter {
    out: PathBuf,
    /// OUT, absolute and normalised.
    out_abs: PathBuf,
    root_abs: PathBuf,
    /// The folders made for links, so that each is made once.
    link_folders: std::collections::HashSet<PathBuf>,
    /// How many images the list names as they are, and how many through links.
    direct: u64,
    linked: u64,
    /// `images.txt`, written as the labels are.
    list: Output,
    /// The label files, synced together at the end.
    labels: Batch,
}

/// The image list's name in the output folder.
pub const LIST: &str = "images.txt";

/// The folder of links to the images in the output folder, for images whose labels
/// Ultralytics would look for outside it.
pub const IMAGES: &str = "images";

/// Where Ultralytics looks for an image's label file (`img2label_paths` in
/// `ultralytics/data/utils.py`, 8.4): the image's path with its last `images` folder
/// replaced by `labels` and `.txt` for its extension; `None` where no folder of its path
/// is called `images`.
pub fn ultralytics_label(image: &Path) -> Option<PathBuf> {
    let parts: Vec<_> = image.iter().collect();
    let i = parts[..parts.len().saturating_sub(1)]
        .iter()
        .rposition(|c| *c == "images")?;
    let mut p: PathBuf = parts[..i].iter().collect();
    p.push("labels");
    p.extend(&parts[i + 1..]);
    Some(p.with_extension("txt"))
}

/// Makes `at` a link to `to`, replacing a link that leads elsewhere; `Err(why)` where
/// something else is at `at`.
fn link(at: &Path, to: &Path) -> Result<std::result::Result<(), String>> {
    match std::fs::symlink_metadata(at) {
        Ok(m) if m.file_type().is_symlink() => {
            if std::fs::read_link(at).ok().as_deref() == Some(to) {
                return Ok(Ok(()));
            }
            // Replaced whole: a new link beside it, renamed over it.
            let name = at.file_name().unwrap_or_default().to_string_lossy();
            let temp = at.with_file_name(format!(".{name}.anylabel-link"));
            let _ = std::fs::remove_file(&temp);
            std::os::unix::fs::symlink(to, &temp)
                .with_context(|| format!("cannot make the link {}", temp.display()))?;
            std::fs::rename(&temp, at)
                .with_context(|| format!("cannot make the link {}", at.display()))?;
        }
        Ok(_) => {
            return Ok(Err(format!(
                "{} is there and is not a link, so the image cannot be listed through it \
                 (export into another folder, or into the one above the images' `images` folder)",
                at.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::os::unix::fs::symlink(to, at)
                .with_context(|| format!("cannot make the link {}", at.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", at.display())),
    }
    Ok(Ok(()))
}

impl YoloWriter {
    pub fn new(t: &Target) -> Result<YoloWriter> {
        let out = t.opts.output.clone();
        std::fs::create_dir_all(out.join("labels"))
            .with_context(|| format!("cannot create {}", out.join("labels").display()))?;
        let out_abs = super::normalize(&std::path::absolute(&out)?);
        Ok(YoloWriter {
            list: Output::open(&out.join(LIST))?,
            out,
            out_abs,
            root_abs: t.root_abs.clone(),
            link_folders: Default::default(),
            direct: 0,
            linked: 0,
            labels: Batch::default(),
        })
    }
}

/// The label file of one record: one line per detection, its box clipped to the image
/// (Ultralytics drops a whole image whose labels go outside 0..1 as corrupt; `infer`'s
/// boxes are inside already, imported ones may not be). A box with nothing left inside
/// the image is left out.
pub fn to_lines(r: &Record) -> String {
    let (w, h) = (r.width as f64, r.height as f64);
    let mut s = String::new();
    for d in &r.detections {
        let [x1, y1, x2, y2] = d.bbox.map(|v| v as f64);
        let (x1, x2) = (x1.clamp(0.0, w), x2.clamp(0.0, w));
        let (y1, y2) = (y1.clamp(0.0, h), y2.clamp(0.0, h));
        if x2 <= x1 || y2 <= y1 {
            tracing::debug!("{}: a box outside the image left out", r.path);
            continue;
        }
        s.push_str(&format!(
            "{} {:.6} {:.6} {:.6} {:.6}\n",
            d.class_id,
            (x1 + x2) / 2.0 / w,
            (y1 + y2) / 2.0 / h,
            (x2 - x1) / w,
            (y2 - y1) / h
        ));
    }
    s
}

/// `data.yaml`: where the images are, the list of those exported (`list`, absolute), and
/// the class names by id. Every string is written double-quoted, so that YAML 1.1
/// readers (PyYAML, which Ultralytics uses) read a class named `yes`, `off` or `1_000` as
/// that name, not as a boolean or a number.
pub fn data_yaml(images: &Path, list: &Path, names: &[String]) -> Result<String> {
    let q = yaml_quoted;
    let list = q(&list.to_string_lossy());
    let mut out = format!(
        "# Written by anylabel export --format yolo. Each image's label file is where Ultralytics\n\
         # looks for it (labels/ beside this file, mostly); {LIST} lists the images exported.\n\
         path: {}\ntrain: {list}\nval: {list}\nnc: {}\nnames:\n",
        q(&images.to_string_lossy()),
        names.len()
    );
    for (i, name) in names.iter().enumerate() {
        out.push_str(&format!("  {i}: {}\n", q(name)));
    }
    if names.is_empty() {
        out.truncate(out.len() - 1);
        out.push_str(" {}\n");
    }
    Ok(out)
}

/// `s` as a YAML double-quoted scalar that YAML 1.1 (PyYAML) and 1.2 readers read back as
/// `s`: `"` and `\` escaped, and every character outside YAML's printable set, and the
/// ones YAML 1.1 takes for line breaks (U+0085, U+2028, U+2029), written as `\xNN` or
/// `\uNNNN`.
fn yaml_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            '\u{A0}'..='\u{2027}'
            | '\u{202A}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FEFE}'
            | '\u{FF00}'..='\u{FFFD}'
            | '\u{10000}'.. => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// `classes.txt`: one name a line, line N for class N.
pub fn classes_txt(names: &[String]) -> String {
    names.iter().map(|n| format!("{n}\n")).collect()
}

impl Writer for YoloWriter {
    fn write(&mut self, r: &Record, rel: &Path, _: &Classes) -> Result<Written> {
        let image = self.root_abs.join(rel);
        // Where Ultralytics will look for the label of the path the list names.
        let (listed, label) = match ultralytics_label(&image) {
            Some(label) if label.starts_with(&self.out_abs) => (image.clone(), label),
            _ => {
                let at = self.out_abs.join(IMAGES).join(rel);
                let label = ultralytics_label(&at).expect("a path under OUT/images");
                (at, label)
            }
        };
        let line = listed.to_string_lossy();
        if line.contains(['\n', '\r']) {
            return Ok(Written::Refused(format!(
                "its name holds a line break, which {LIST} (one image a line) cannot list"
            )));
        }
        if !self.labels.claim(&label) {
            return Ok(Written::Refused(format!(
                "its label file {} is an image's before it (the same name with another \
                 extension): Ultralytics would train both on one's labels",
                label.display()
            )));
        }
        if listed != image {
            let folder = listed.parent().expect("under OUT/images");
            if !self.link_folders.contains(folder) {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("cannot create {}", folder.display()))?;
                self.link_folders.insert(folder.to_path_buf());
            }
            if let Err(why) = link(&listed, &image)? {
                return Ok(Written::Refused(why));
            }
            self.linked += 1;
        } else {
            self.direct += 1;
        }
        self.labels.write(&label, to_lines(r).as_bytes())?;
        writeln!(self.list.writer(), "{line}")?;
        Ok(Written::Yes)
    }

    fn finish(self: Box<Self>, classes: &Classes) -> Result<()> {
        self.labels.sync()?;
        self.list.finish()?;
        let list = super::normalize(&std::path::absolute(self.out.join(LIST))?);
        let names = classes.dense();
        write_atomic(
            &self.out.join("classes.txt"),
            classes_txt(&names).as_bytes(),
        )?;
        // The folder the listed images are in: both, where some are linked and some not.
        let links = self.out_abs.join(IMAGES);
        let images = match (self.direct, self.linked) {
            (_, 0) => self.root_abs.clone(),
            (0, _) => links,
            _ => self
                .root_abs
                .components()
                .zip(links.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        };
        write_atomic(
            &self.out.join("data.yaml"),
            data_yaml(&images, &list, &names)?.as_bytes(),
        )
    }
}

/// Class names from a `data.yaml` (`names` as a list or an id → name mapping).
pub fn names_from_yaml(text: &str) -> Result<Vec<String>, String> {
    let v: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let names = v.get("names").ok_or("it has no `names`")?;
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    match names {
        Value::Sequence(list) => Ok(list.iter().map(as_text).collect()),
        Value::Mapping(map) => {
            let mut pairs = Vec::new();
            for (k, v) in map {
                let id = match k {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }
                .ok_or_else(|| format!("the name key {k:?} is not a class id"))?;
                pairs.push((id as usize, as_text(v)));
            }
            let len = pairs.iter().map(|p| p.0 + 1).max().unwrap_or(0);
            let mut out: Vec<String> = (0..len).map(|i| format!("class_{i}")).collect();
            for (i, n) in pairs {
                out[i] = n;
            }
            Ok(out)
        }
        _ => Err("`names` is neither a list nor a mapping".to_string()),
    }
}

/// The image sources a `data.yaml` names, as Ultralytics reads them: `train`, `val` and
/// `test` in that order, each a string or a list of strings (a folder, or a `.txt` list
/// of images), joined to `path` (itself relative to the YAML's folder), each once; and
/// that `path`. Sources that do not exist are left for the caller to judge.
pub fn splits_from_yaml(text: &str, yaml_dir: &Path) -> (Vec<PathBuf>, PathBuf) {
    let Ok(v) = serde_yaml_ng::from_str::<Value>(text) else {
        return (Vec::new(), yaml_dir.to_path_buf());
    };
    let base = match v.get("path").and_then(Value::as_str) {
        Some(p) => yaml_dir.join(p),
        None => yaml_dir.to_path_buf(),
    };
    let mut out: Vec<PathBuf> = Vec::new();
    for key in ["train", "val", "test"] {
        let entries: Vec<&str> = match v.get(key) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Sequence(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for e in entries {
            let p = base.join(e);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    (out, base)
}

/// The detections of a label file for an image of `w`×`h`: `class cx cy w h` with an
/// optional sixth column, the confidence (as Ultralytics' `save_conf` writes it), or a
/// segmentation polygon `class x1 y1 x2 y2 ...`, taken as its bounding box. An error names
/// the line (1-based).
pub fn parse_label(text: &str, w: u32, h: u32, names: &[String]) -> Result<Vec<Detection>, String> {
    let (w, h) = (w as f64, h as f64);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let bad = |why: String| format!("line {}: {why}", i + 1);
        let class_id: u32 = fields[0]
            .parse()
            .or_else(|_| {
                fields[0]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.fract() == 0.0 && *v >= 0.0)
                    .map(|v| v as u32)
                    .ok_or(())
            })
            .map_err(|_| bad(format!("'{}' is not a class id", fields[0])))?;
        let nums: Vec<f64> = fields[1..]
            .iter()
            .map(|f| {
                f.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(format!("'{f}' is not a number")))
            })
            .collect::<Result<_, _>>()?;
        let (bbox, score) = match nums.len() {
            4 | 5 => {
                let [cx, cy, bw, bh] = [nums[0] * w, nums[1] * h, nums[2] * w, nums[3] * h];
                (
                    [cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0],
                    nums.get(4).copied().unwrap_or(1.0),
                )
            }
            n if n >= 6 && n % 2 == 0 => {
                let xs = nums.iter().step_by(2).map(|x| x * w);
                let ys = nums.iter().skip(1).step_by(2).map(|y| y * h);
                let (x1, x2) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
                let (y1, y2) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
                ([x1, y1, x2, y2], 1.0)
            }
            n => return Err(bad(format!("{} numbers after the class; a box has 4", n))),
        };
        out.push(Detection {
            class_id,
            label: names
                .get(class_id as usize)
                .cloned()
                .unwrap_or_else(|| format!("class_{class_id}")),
            score: score as f32,
            bbox: bbox.map(|v| v as f32),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_round_trip_through_label_lines() {
        let r = Record {
            path: "a.jpg".into(),
            width: 640,
            height: 480,
            model: "m".into(),
            detections: vec![Detection {
                class_id: 2,
                label: "car".into(),
                score: 0.9,
                bbox: [10.5, 20.25, 110.0, 220.75],
            }],
            error: None,
        };
        let text = to_lines(&r);
        assert_eq!(text, "2 0.094141 0.251042 0.155469 0.417708\n");
        let names = vec!["a".into(), "b".into(), "car".into()];
        let back = parse_label(&text, 640, 480, &names).unwrap();
        assert_eq!(back[0].label, "car");
        for (a, b) in back[0].bbox.iter().zip(r.detections[0].bbox) {
            assert!((a - b).abs() < 0.01, "{a} vs {b}");
        }
        assert!(
            parse_label("0 0.5 0.5 x 0.1\n", 10, 10, &names)
                .unwrap_err()
                .starts_with("line 1:")
        );
        assert!(
            parse_label("\n0 0.5 0.5 0.1\n", 10, 10, &names)
                .unwrap_err()
                .starts_with("line 2:")
        );
        let poly = parse_label("1 0.1 0.1 0.5 0.1 0.5 0.6\n", 100, 100, &names).unwrap();
        assert_eq!(poly[0].bbox, [10.0, 10.0, 50.0, 60.0]);
    }

    #[test]
    fn names_from_a_list_or_a_mapping() {
        assert_eq!(names_from_yaml("names: [a, b]").unwrap(), vec!["a", "b"]);
        assert_eq!(
            names_from_yaml("names:\n  0: a\n  2: 'x, \"y\"'\n").unwrap(),
            vec!["a", "class_1", "x, \"y\""]
        );
        let yaml = data_yaml(
            Path::new("/img"),
            Path::new("/out/images.txt"),
            &["a: b".into(), "ü".into()],
        )
        .unwrap();
        assert_eq!(names_from_yaml(&yaml).unwrap(), vec!["a: b", "ü"]);
        // train and val are both the list: one source.
        assert_eq!(
            splits_from_yaml(&yaml, Path::new("/x")),
            (
                vec![PathBuf::from("/out/images.txt")],
                PathBuf::from("/img")
            )
        );
    }

    #[test]
    fn splits_as_ultralytics_names_them() {
        let yaml = "path: ../ds\ntrain: images/train\nval: [images/val, extra.txt]\n\
                    test: images/train\nnames: [a]\n";
        let (splits, base) = splits_from_yaml(yaml, Path::new("/y"));
        assert_eq!(base, PathBuf::from("/y/../ds"));
        assert_eq!(
            splits,
            ["images/train", "images/val", "extra.txt"].map(|s| base.join(s))
        );
        // No path: the YAML's folder; no splits: none.
        assert_eq!(
            splits_from_yaml("names: [a]", Path::new("/y")),
            (vec![], PathBuf::from("/y"))
        );
    }

    #[test]
    fn links_are_made_kept_replaced_and_never_over_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.jpg"), dir.path().join("b.jpg"));
        let at = dir.path().join("link.jpg");
        assert_eq!(link(&at, &a).unwrap(), Ok(()));
        assert_eq!(std::fs::read_link(&at).unwrap(), a);
        // Again to the same image: kept; to another (an earlier export of another root):
        // replaced, with no temporary link left.
        assert_eq!(link(&at, &a).unwrap(), Ok(()));
        assert_eq!(link(&at, &b).unwrap(), Ok(()));
        assert_eq!(std::fs::read_link(&at).unwrap(), b);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A file of the user's at that place is left, and the image refused.
        let file = dir.path().join("real.jpg");
        std::fs::write(&file, b"pixels").unwrap();
        assert!(link(&file, &a).unwrap().is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"pixels");
    }

    #[test]
    fn labels_are_where_ultralytics_looks() {
        let p = Path::new;
        assert_eq!(
            ultralytics_label(p("/d/images/train/a.jpg")),
            Some(PathBuf::from("/d/labels/train/a.txt"))
        );
        // The last `images` folder; a file called `images` is not a folder.
        assert_eq!(
            ultralytics_label(p("/d/images/x/images/b.png")),
            Some(PathBuf::from("/d/images/x/labels/b.txt"))
        );
        assert_eq!(ultralytics_label(p("/d/photos/images")), None);
    }
}
